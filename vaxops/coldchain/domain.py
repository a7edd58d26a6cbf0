"""Temperature excursions of cold-chain units (冷链温度超标), as pure rules.

The rules are data per unit (:class:`Rules`); the defaults are those for 2–8 °C vaccines in the WHO
performance specification for 30-day temperature recorders:

- **freeze** (冻结): at or below −0.5 °C for 60 minutes continuously;
- **heat** (高温): above +8.0 °C for 10 hours continuously;
- **warning** (超出范围): any reading outside the unit's range (2–8 °C by default), however short;
- **silent** (传感器无数据): no reading for 60 minutes.

"Continuously" is measured between readings: a run is the consecutive readings meeting the condition, its
duration is from its first reading to its last, and a gap longer than the silent time breaks it (nobody
knows what happened in the gap). So with a reading a minute, 60 readings at −1 °C (59 minutes) open
nothing and the 61st (60 minutes) opens a freeze excursion.

Readings may arrive late and out of order: :func:`excursions` sorts them first, and readings at the same
moment are reduced to one (the lowest temperature when one of them is at or below the freeze limit, else
the highest — the more alarming one, whatever the order they came in), so the same readings always give the
same excursions.

No Django here; the services store the excursions as rows and keep them up to date.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

__all__ = [
    "Excursion",
    "ExcursionKind",
    "ExcursionStatus",
    "HOLDING_KINDS",
    "ManualSlot",
    "Reading",
    "Rules",
    "excursions",
    "excursions_sorted",
    "manual_log_missing",
    "parse_celsius",
    "window_breaks",
]


class ExcursionKind(enum.StrEnum):
    FREEZE = "freeze"
    HEAT = "heat"
    WARNING = "warning"
    SILENT = "silent"
    # Not found by the engine: a dispatch received with its temperature on arrival outside the range.
    ARRIVAL = "arrival"

    @property
    def label_zh(self) -> str:
        return _KIND_ZH[self]


_KIND_ZH: Final[dict[ExcursionKind, str]] = {
    ExcursionKind.FREEZE: "冻结",
    ExcursionKind.HEAT: "高温",
    ExcursionKind.WARNING: "超出温度范围",
    ExcursionKind.SILENT: "传感器无数据",
    ExcursionKind.ARRIVAL: "到货温度异常",
}

# The kinds that put the unit's stock on hold (quarantine); a warning or a silent sensor only notifies.
HOLDING_KINDS: Final[frozenset[ExcursionKind]] = frozenset({ExcursionKind.FREEZE, ExcursionKind.HEAT})


class ExcursionStatus(enum.StrEnum):
    """open → acknowledged → assessed → closed (each step only forward, one at a time)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ASSESSED = "assessed"
    CLOSED = "closed"

    @property
    def label_zh(self) -> str:
        return _STATUS_ZH[self]

    def can_become(self, other: ExcursionStatus) -> bool:
        order = list(ExcursionStatus)
        return order.index(other) == order.index(self) + 1


_STATUS_ZH: Final[dict[ExcursionStatus, str]] = {
    ExcursionStatus.OPEN: "待确认",
    ExcursionStatus.ACKNOWLEDGED: "已确认",
    ExcursionStatus.ASSESSED: "已评估",
    ExcursionStatus.CLOSED: "已关闭",
}


@dataclass(frozen=True)
class Rules:
    """A unit's excursion rules; temperatures in °C, times in minutes."""

    low_c: Decimal = Decimal("2.0")
    high_c: Decimal = Decimal("8.0")
    freeze_at_or_below_c: Decimal = Decimal("-0.5")
    freeze_minutes: int = 60
    heat_above_c: Decimal = Decimal("8.0")
    heat_minutes: int = 600
    silent_minutes: int = 60

    def __post_init__(self) -> None:
        for name in ("low_c", "high_c", "freeze_at_or_below_c", "heat_above_c"):
            object.__setattr__(self, name, Decimal(str(getattr(self, name))))
        if self.low_c >= self.high_c:
            raise ValueError(f"温度范围下限{self.low_c}℃须低于上限{self.high_c}℃")
        if self.heat_above_c < self.high_c:
            raise ValueError(f"高温限值{self.heat_above_c}℃不得低于范围上限{self.high_c}℃")
        if self.freeze_at_or_below_c >= self.low_c:
            raise ValueError(f"冻结限值{self.freeze_at_or_below_c}℃须低于范围下限{self.low_c}℃")
        for name in ("freeze_minutes", "heat_minutes", "silent_minutes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}须为正整数（分钟）")

    @property
    def longest_minutes(self) -> int:
        return max(self.freeze_minutes, self.heat_minutes, self.silent_minutes)

    def in_range(self, celsius: Decimal) -> bool:
        return self.low_c <= celsius <= self.high_c

    def freezing(self, celsius: Decimal) -> bool:
        return celsius <= self.freeze_at_or_below_c

    def hot(self, celsius: Decimal) -> bool:
        return celsius > self.heat_above_c


@dataclass(frozen=True, order=True)
class Reading:
    """One temperature at one moment (aware)."""

    at: dt.datetime
    celsius: Decimal

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("读数时间须带时区")
        object.__setattr__(self, "celsius", Decimal(str(self.celsius)))


@dataclass(frozen=True)
class Excursion:
    """One excursion found in readings.

    ``start`` is the first reading meeting the condition (for a silent sensor: the last reading before
    the gap), ``last_seen`` the last one meeting it, ``end`` the first reading after it that no longer
    does (``None``: still going on at the last reading). ``extreme`` is the lowest temperature of a
    freeze, the highest of a heat excursion, the furthest from the range of a warning, ``None`` for a
    silent sensor.
    """

    kind: ExcursionKind
    start: dt.datetime
    last_seen: dt.datetime
    end: dt.datetime | None
    extreme: Decimal | None
    readings: int = field(default=0, compare=False)

    @property
    def duration(self) -> dt.timedelta:
        if self.kind is ExcursionKind.SILENT:
            return (self.end or self.last_seen) - self.start
        return self.last_seen - self.start

    @property
    def ongoing(self) -> bool:
        return self.end is None

    def overlaps(self, start: dt.datetime, end: dt.datetime | None) -> bool:
        """Whether this excursion's span [start, end or forever) shares time with [``start``, ``end`` or forever).

        The end is the first reading that no longer meets the condition, so it is not part of the run: two runs
        that only touch there are two excursions (a silent sensor's gaps on either side of one reading, a
        warning ending where a stored one of the same kind began), never one stretched over both.
        """
        mine_end = self.end
        return (end is None or self.start < end) and (mine_end is None or start < mine_end)


def parse_celsius(raw: object) -> Decimal:
    """A temperature from a file cell, a JSON number or a form field; refuses what no logger would write."""
    if isinstance(raw, bool) or raw is None:
        raise ValueError("温度为空")
    text = str(raw).strip().replace("℃", "").replace("°C", "").replace("°", "").strip()
    if not text:
        raise ValueError("温度为空")
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise ValueError(f"温度“{text[:20]}”不是数字") from None
    if not value.is_finite():
        raise ValueError(f"温度“{text[:20]}”不是数字")
    if not Decimal("-90") <= value <= Decimal("90"):
        raise ValueError(f"温度{value}℃超出可记录范围（−90～90℃）")
    return value.quantize(Decimal("0.01"))


def _normalise(readings: Iterable[Reading], rules: Rules) -> list[tuple[dt.datetime, Decimal]]:
    """Sorted by time, one reading per moment (the more alarming one), whatever the input order."""
    by_moment: dict[dt.datetime, Decimal] = {}
    for r in readings:
        seen = by_moment.get(r.at)
        if seen is None:
            by_moment[r.at] = r.celsius
            continue
        low, high = min(seen, r.celsius), max(seen, r.celsius)
        by_moment[r.at] = low if rules.freezing(low) else high
    return sorted(by_moment.items())


def _distance_outside(c: Decimal, rules: Rules) -> Decimal:
    if c < rules.low_c:
        return rules.low_c - c
    if c > rules.high_c:
        return c - rules.high_c
    return Decimal(0)


_KIND_ORDER: Final[dict[ExcursionKind, int]] = {k: i for i, k in enumerate(ExcursionKind)}


def _scan(
    ordered: Sequence[tuple[dt.datetime, Decimal]], rules: Rules, now: dt.datetime | None
) -> list[Excursion]:
    """One pass over sorted readings (unique moments) finding the freeze, heat and warning runs and the
    silences together. A run is the consecutive readings meeting its condition; a reading that does not
    meet it, or a gap longer than the silent time before a reading, ends it at that reading; a run is an
    excursion when its first and last readings are at least the kind's minimum apart. Most readings are in
    range and close nothing, so they cost two comparisons."""
    gap = dt.timedelta(minutes=rules.silent_minutes)
    low, high = rules.low_c, rules.high_c
    freeze_c, heat_c = rules.freeze_at_or_below_c, rules.heat_above_c
    minimum = {
        ExcursionKind.FREEZE: dt.timedelta(minutes=rules.freeze_minutes),
        ExcursionKind.HEAT: dt.timedelta(minutes=rules.heat_minutes),
        ExcursionKind.WARNING: dt.timedelta(0),
    }
    found: list[Excursion] = []
    # kind -> [first moment, last moment, extreme, readings]
    runs: dict[ExcursionKind, list[Any]] = {}

    def close(kind: ExcursionKind, end: dt.datetime | None) -> None:
        first, last, extreme, n = runs.pop(kind)
        if last - first >= minimum[kind]:
            found.append(Excursion(kind, first, last, end, extreme, n))

    def close_all(end: dt.datetime | None) -> None:
        for kind in list(runs):
            close(kind, end)

    prev: dt.datetime | None = None
    for at, c in ordered:
        if prev is not None and at - prev > gap:
            # The sensor was silent: nobody knows the temperature in between, so every run is broken there.
            found.append(Excursion(ExcursionKind.SILENT, prev, prev, at, None, 0))
            if runs:
                close_all(at)
        prev = at
        if low <= c <= high:
            if runs:
                close_all(at)
            continue
        run = runs.get(ExcursionKind.WARNING)
        if run is None:
            runs[ExcursionKind.WARNING] = [at, at, c, 1]
        else:
            run[1] = at
            run[3] += 1
            if (_distance_outside(c, rules), c) > (_distance_outside(run[2], rules), run[2]):
                run[2] = c
        for kind, meets, lower in (
            (ExcursionKind.FREEZE, c <= freeze_c, True),
            (ExcursionKind.HEAT, c > heat_c, False),
        ):
            run = runs.get(kind)
            if meets:
                if run is None:
                    runs[kind] = [at, at, c, 1]
                else:
                    run[1] = at
                    run[3] += 1
                    if (c < run[2]) if lower else (c > run[2]):
                        run[2] = c
            elif run is not None:
                close(kind, at)
    close_all(None)
    if now is not None and prev is not None and now - prev > gap:
        found.append(Excursion(ExcursionKind.SILENT, prev, prev, None, None, 0))
    found.sort(key=lambda e: (e.start, _KIND_ORDER[e.kind]))
    return found


def excursions(
    readings: Iterable[Reading], rules: Rules | None = None, *, now: dt.datetime | None = None
) -> tuple[Excursion, ...]:
    """Every excursion in one sensor's ``readings`` (any order), sorted by start then kind.

    With ``now`` (aware) a sensor whose last reading is older than the silent time gives an ongoing
    silent excursion; without it only the gaps between readings count.
    """
    rules = rules or Rules()
    if now is not None and (now.tzinfo is None or now.utcoffset() is None):
        raise ValueError("now须带时区")
    return tuple(_scan(_normalise(readings, rules), rules, now))


def excursions_sorted(
    readings: Sequence[tuple[dt.datetime, Decimal]], rules: Rules | None = None
) -> tuple[Excursion, ...]:
    """:func:`excursions` of readings already sorted by time with one per moment, as ``(aware moment,
    Decimal)`` pairs (the services' window, read from the database): no copy, no re-sorting."""
    return tuple(_scan(readings, rules or Rules(), None))


def window_breaks(celsius: Decimal, rules: Rules) -> bool:
    """Whether a reading ends every run (in range): the stored readings between two such readings around
    the new ones are all the engine needs to see again (with the gap rule as a second boundary)."""
    return rules.in_range(celsius)


# --------------------------------------------------------------------------------------------------
# The manual twice-daily log (每日两次人工温度记录)
# --------------------------------------------------------------------------------------------------


class ManualSlot(enum.StrEnum):
    MORNING = "am"
    AFTERNOON = "pm"

    @property
    def label_zh(self) -> str:
        return "上午" if self is ManualSlot.MORNING else "下午"


MANUAL_MIN_APART: Final[dt.timedelta] = dt.timedelta(hours=6)


def manual_slot(local_at: dt.datetime) -> ManualSlot:
    """上午 before noon (local time), 下午 from noon."""
    return ManualSlot.MORNING if local_at.hour < 12 else ManualSlot.AFTERNOON


def manual_log_missing(
    entries: Iterable[dt.datetime], *, day: dt.date, local_now: dt.datetime
) -> tuple[ManualSlot, ...]:
    """The slots of ``day`` still missing in the manual log at ``local_now`` (both local, aware).

    The morning entry is due by 12:00, the afternoon one by 18:00 and at least six hours after the
    morning one (an afternoon entry closer than that does not count). A day not yet over only misses what
    is already due.
    """
    of_day = sorted(e for e in entries if e.date() == day)
    morning = [e for e in of_day if manual_slot(e) is ManualSlot.MORNING]
    afternoon = [e for e in of_day if manual_slot(e) is ManualSlot.AFTERNOON]
    if morning:
        afternoon = [e for e in afternoon if e - morning[0] >= MANUAL_MIN_APART]
    missing: list[ManualSlot] = []
    due_morning = dt.datetime.combine(day, dt.time(12), tzinfo=local_now.tzinfo)
    due_afternoon = dt.datetime.combine(day, dt.time(18), tzinfo=local_now.tzinfo)
    if not morning and local_now >= due_morning:
        missing.append(ManualSlot.MORNING)
    if not afternoon and local_now >= due_afternoon:
        missing.append(ManualSlot.AFTERNOON)
    return tuple(missing)


def arrival_in_range(celsius: Decimal, low: Decimal, high: Decimal) -> bool:
    """Whether a dispatch's temperature on arrival lies in the product's storage range (bounds included)."""
    return low <= celsius <= high
