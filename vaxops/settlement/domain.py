"""The money rules of the monthly settlement, pure (no Django, no clock).

Money is ``Decimal`` yuan with two places, never a float. Every amount that is not already a whole fen — only
the fiscal subsidy, a share of the payable sum — is rounded once, at the end, to the fen with ROUND_HALF_UP
(half a fen goes up, the rule of Chinese financial statements, 四舍五入); sums of lines are exact and never
rounded. Rules are effective-dated versions: the version in force on a day is the one with the latest
``effective_from`` on or before it, and a settlement line takes the price in force on its dose's day, so a
change within a month splits the month at the change.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Generic, TypeVar

FEN = Decimal("0.01")
ZERO = Decimal("0.00")

T = TypeVar("T")


def yuan(value: Decimal | int | str) -> Decimal:
    """``value`` as yuan with two places, rounded half up (``Decimal("0.005")`` → ``0.01``). Floats are refused:
    a float cannot hold most fen exactly."""
    if isinstance(value, float):
        raise TypeError("money is never a float")
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the month ``month`` falls in."""
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def parse_month(text: str) -> dt.date:
    """``"2026-11"`` → ``date(2026, 11, 1)``; ``ValueError`` for anything else."""
    try:
        year, month = text.strip().split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        return dt.date(int(year), int(month), 1)
    except ValueError:
        raise ValueError(f"month must be YYYY-MM, got {text!r}") from None


def next_month(month: dt.date) -> dt.date:
    first = month.replace(day=1)
    return (first + dt.timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Version(Generic[T]):
    """One version of a rule: its value from ``effective_from`` on (until the next version)."""

    effective_from: dt.date
    value: T


@dataclass(frozen=True)
class Segment(Generic[T]):
    """The days ``start``–``end`` (both included) over which ``value`` is in force."""

    start: dt.date
    end: dt.date
    value: T


def in_force(versions: Iterable[Version[T]], day: dt.date) -> T | None:
    """The value of the version in force on ``day`` (``None`` before the first version)."""
    best: Version[T] | None = None
    for v in versions:
        if v.effective_from <= day and (best is None or v.effective_from > best.effective_from):
            best = v
    return None if best is None else best.value


def segments(versions: Iterable[Version[T]], start: dt.date, end: dt.date) -> list[Segment[T]]:
    """The days ``start``–``end`` cut where a version takes effect, each with the value in force; the days
    before the first version have none and are left out."""
    ordered = sorted(versions, key=lambda v: v.effective_from)
    out: list[Segment[T]] = []
    for i, v in enumerate(ordered):
        following = ordered[i + 1].effective_from if i + 1 < len(ordered) else None
        seg_start = max(v.effective_from, start)
        seg_end = end if following is None else min(end, following - dt.timedelta(days=1))
        if seg_start <= seg_end:
            out.append(Segment(seg_start, seg_end, v.value))
    return out


def uncovered_from(segs: Sequence[Segment[T]], start: dt.date) -> dt.date | None:
    """The first day from ``start`` on with no segment (``None`` when the segments start on ``start``)."""
    if not segs or segs[0].start > start:
        return start
    return None


@dataclass(frozen=True)
class Rule:
    """The county's settlement rule in force over some days: the service fee per dose (syringe included),
    the fiscal subsidy's share of the sum the fund pays, and the funding channel's cut-over date (a dose
    given before it is paid through the old channel)."""

    service_fee: Decimal
    subsidy_share: Decimal
    cutover: dt.date


def channel(given_on: dt.date, cutover: dt.date) -> str:
    """``"old"`` for a dose before the cut-over (原资金渠道), else ``"fund"`` (医保基金)."""
    return "old" if given_on < cutover else "fund"


@dataclass(frozen=True)
class Group:
    """Lines of one kind and channel, counted and summed: ``dose`` (the month's doses), ``late`` (doses of a
    settled month recorded after it, paid now: a positive adjustment), ``adjustment`` (voided after their
    statement was approved, taken back: negative amounts)."""

    kind: str
    channel: str
    lines: int
    vaccine: Decimal
    service: Decimal


@dataclass(frozen=True)
class Totals:
    doses: int
    service_fee: Decimal
    vaccine_cost: Decimal
    payable: Decimal
    fiscal_subsidy: Decimal
    old_channel_doses: int
    old_channel_amount: Decimal
    adjustment_lines: int
    adjustment_amount: Decimal


def totals(groups: Iterable[Group], subsidy_share: Decimal) -> Totals:
    """A settlement's totals from its line groups. ``doses`` is the net count paid by the fund (a dose or late
    line +1, an adjustment −1); adjustments are the late lines (positive) and the taken-back ones (negative); fees and vaccine cost are the fund's lines summed (adjustments negative); the
    payable sum is their sum; the fiscal subsidy is ``subsidy_share`` of it, rounded half up to the fen.
    Old-channel lines are counted and summed apart and never payable by the fund."""
    doses = old_doses = adjustments = 0
    service = vaccine = old_amount = adjustment_amount = ZERO
    for g in groups:
        sign = -1 if g.kind == "adjustment" else 1
        if g.kind in ("adjustment", "late"):
            adjustments += g.lines
            adjustment_amount += g.vaccine + g.service
        if g.channel == "old":
            old_doses += sign * g.lines
            old_amount += g.vaccine + g.service
            continue
        doses += sign * g.lines
        service += g.service
        vaccine += g.vaccine
    payable = service + vaccine
    return Totals(
        doses=doses,
        service_fee=yuan(service),
        vaccine_cost=yuan(vaccine),
        payable=yuan(payable),
        fiscal_subsidy=yuan(payable * subsidy_share),
        old_channel_doses=old_doses,
        old_channel_amount=yuan(old_amount),
        adjustment_lines=adjustments,
        adjustment_amount=yuan(adjustment_amount),
    )


def mask_code(code: str) -> str:
    """A traceability code shown on a statement: its first and last four characters (the SQL that writes the
    lines does the same)."""
    if not code:
        return ""
    return f"{code[:4]}****{code[-4:]}"


@dataclass(frozen=True)
class LotCount:
    lot: str
    ledger: int
    settled: int
    voided: int

    @property
    def difference(self) -> int:
        return self.ledger - self.settled - self.voided


def reconcile(counts: Iterable[LotCount]) -> tuple[bool, list[LotCount]]:
    """Per lot, the ledger's administrations in the month against the settled lines plus the voided doses
    of the month that had used a code (each administration is one dose record, standing or voided): agreed
    when every lot's difference is zero."""
    rows = sorted(counts, key=lambda c: c.lot)
    return all(c.difference == 0 for c in rows), rows


STATUSES = ("draft", "confirmed", "approved", "paid")
FROZEN = frozenset({"approved", "paid"})
MOVES = {"draft": "confirmed", "confirmed": "approved", "approved": "paid"}


def can_move(current: str, target: str) -> bool:
    """draft → confirmed (the site) → approved (the medical-insurance office) → paid; also confirmed → draft
    (the office sends a statement back); nothing leaves approved but paid, nothing leaves paid."""
    return MOVES.get(current) == target or (current, target) == ("confirmed", "draft")
