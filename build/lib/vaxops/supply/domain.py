"""Pure rules of the vaccine supply chain: traceability codes, lot status, FEFO dispatch, allocation
across places, the stock ledger, stock counts, open-vial discard and stock alerts.

No Django, no ORM, no clock: every function takes the day or moment it reasons about (``on``/``now``)
and returns plain, frozen values, so the same input always gives the same answer and tests need no
database. Quantities are whole doses or whole packs (``int``); cold-chain volumes and weights may be
``int``, ``float`` or ``Decimal`` and are computed exactly (as fractions of their decimal text), so a
result never depends on floating-point summation order. User-facing messages are Chinese.

The database enforces the same invariants (a code enters once and is used once; a balance never goes
negative); the functions here are the plain statement of those rules, used to propose and to explain.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final, Protocol, TypeVar

from vaxops.core.rounding import largest_remainder

__all__ = [
    "TRACE_CODE_LENGTH",
    "Allocation",
    "AllocationLine",
    "AllocationWeights",
    "DispatchLine",
    "DispatchProposal",
    "LotStatus",
    "Movement",
    "MovementKind",
    "PlaceNeed",
    "StockCountResult",
    "StockLine",
    "TraceCode",
    "TraceCodeError",
    "WastageReason",
    "allocate",
    "balance",
    "check_non_negative",
    "check_prefix",
    "days_of_cover",
    "expand_package",
    "expiring_soon",
    "lot_usable",
    "normalise_trace_code",
    "open_vial_expired",
    "parse_trace_code",
    "propose_dispatch",
    "receipt_overdue",
    "stock_count_differences",
]

Number = int | float | Decimal | Fraction


def _exact(value: Number, what: str) -> Fraction:
    """``value`` as an exact fraction; a float is read as the decimal it prints as (0.1 → 1/10)."""
    if isinstance(value, bool):
        raise ValueError(f"{what}须为数值")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what}须为有限数值")
        return Fraction(repr(value))
    return Fraction(value)


def _show(value: Fraction | int, places: int = 1) -> str:
    """A number for a Chinese message: thousands separators, no trailing zeros (1,200 / 1.3 / 0.25)."""
    if isinstance(value, int) or value.denominator == 1:
        return f"{int(value):,}"
    text = f"{float(value):,.{places}f}".rstrip("0").rstrip(".")
    return text


# --------------------------------------------------------------------------------------------------
# Traceability codes (疫苗追溯码)
# --------------------------------------------------------------------------------------------------

TRACE_CODE_LENGTH: Final = 20
_PREFIX_LEN: Final = 7
_SERIAL_LEN: Final = 9
_CHECK_LEN: Final = 4

# Full-width ASCII (U+FF01–FF5E) → half-width, ideographic space → space; zero-width characters and the
# BOM that Excel and WeChat copies carry are dropped.
_HALF_WIDTH: dict[int, int | None] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_HALF_WIDTH.update({0x3000: 0x20, 0x200B: None, 0x200C: None, 0x200D: None, 0x2060: None, 0xFEFF: None})
_SCIENTIFIC = re.compile(r"^\d+(?:\.\d+)?E\+?\d+$", re.IGNORECASE)
_ASCII_DIGITS = re.compile(r"^[0-9]+$")


class TraceCodeError(ValueError):
    """A traceability code that cannot be accepted. ``message`` is Chinese, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class TraceCode:
    """A well-formed 20-digit traceability code: 7-digit product/package prefix, 9-digit serial, and
    4 check digits.

    The check digits' algorithm is not public, so they are kept as opaque digits and never verified
    here: a code with wrong check digits is only caught by the receipt file (the code is unknown) or by
    the database (the code is already used).
    """

    code: str
    product_prefix: str
    serial: str
    check: str

    def __str__(self) -> str:
        return self.code


def normalise_trace_code(raw: object) -> str:
    """The text of ``raw`` half-width, without whitespace or Excel's leading apostrophe; ``None`` → ``""``.

    Not validated: use :func:`parse_trace_code` for that. Raises :class:`TraceCodeError` only for a
    float, since Excel has then already rounded the code away.
    """
    if raw is None:
        return ""
    if isinstance(raw, float):
        raise TraceCodeError("追溯码被Excel存成了数字，末几位已丢失；请把该列设为文本格式后重新导入")
    text = "".join(str(raw).translate(_HALF_WIDTH).split())
    return text.lstrip("'")


def parse_trace_code(raw: object) -> TraceCode:
    """The code in ``raw`` (scanner or file input: spaces, full-width digits and a trailing newline are
    accepted) split into its parts.

    Raises :class:`TraceCodeError` with a Chinese message when it is empty, contains anything but the
    digits 0–9, is in Excel's scientific notation, or is not exactly 20 digits long.
    """
    code = normalise_trace_code(raw)
    if not code:
        raise TraceCodeError("追溯码为空")
    if _SCIENTIFIC.match(code):
        raise TraceCodeError(f"追溯码“{code}”是Excel的科学计数法，原码已丢失；请把该列设为文本格式后重新导入")
    if not _ASCII_DIGITS.match(code):
        bad = next(ch for ch in code if not "0" <= ch <= "9")
        raise TraceCodeError(f"追溯码“{code}”含非数字字符“{bad}”，应为{TRACE_CODE_LENGTH}位数字")
    if len(code) != TRACE_CODE_LENGTH:
        raise TraceCodeError(f"追溯码“{code}”为{len(code)}位，应为{TRACE_CODE_LENGTH}位数字")
    serial_end = _PREFIX_LEN + _SERIAL_LEN
    return TraceCode(
        code=code,
        product_prefix=code[:_PREFIX_LEN],
        serial=code[_PREFIX_LEN:serial_end],
        check=code[serial_end:],
    )


def check_prefix(
    code: str | TraceCode, *, lot_product_prefixes: Iterable[str], lot_number: str | None = None
) -> None:
    """Raise :class:`TraceCodeError` unless the code's first 7 digits are one of the prefixes of the
    lot's product (``Product.trace_prefixes``); return ``None`` when they are.

    ``code`` may be raw text (it is parsed first, so a malformed code raises too). ``lot_number`` only
    makes the message name the lot. A product with no registered prefix accepts no code.
    """
    parsed = code if isinstance(code, TraceCode) else parse_trace_code(code)
    prefixes = tuple(dict.fromkeys(lot_product_prefixes))
    if parsed.product_prefix in prefixes:
        return None
    lot = f"批号{lot_number}" if lot_number else "该批号"
    expected = "、".join(prefixes) if prefixes else "未登记"
    raise TraceCodeError(
        f"追溯码前7位{parsed.product_prefix}与{lot}的品种不符（该品种的追溯码前缀：{expected}）：{parsed.code}"
    )


def expand_package(code: str, children: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The unit codes inside ``code``, depth first in the order the hierarchy lists them.

    ``children`` maps a box or pack code to the codes directly inside it (as a receipt file gives the
    hierarchy); a code that is not a key is a unit, so a unit expands to itself. Raises
    :class:`TraceCodeError` when the hierarchy has a cycle, when one code sits in two places of the
    expanded tree, or when a package lists no children (an empty box cannot be received).
    """
    units: list[str] = []
    seen: set[str] = set()
    # Iterative depth-first walk; each stack entry carries its path so a cycle can be named.
    stack: list[tuple[str, tuple[str, ...]]] = [(code, ())]
    while stack:
        current, path = stack.pop()
        if current in path:
            loop = " → ".join((*path[path.index(current) :], current))
            raise TraceCodeError(f"包装层级存在循环：{loop}")
        if current in seen:
            raise TraceCodeError(f"追溯码{current}在包装{code}的层级中出现了不止一次")
        seen.add(current)
        inner = children.get(current)
        if inner is None:
            units.append(current)
            continue
        if len(inner) == 0:
            raise TraceCodeError(f"包装码{current}没有下级码")
        here = (*path, current)
        stack.extend((child, here) for child in reversed(inner))
    return tuple(units)


# --------------------------------------------------------------------------------------------------
# Lot status
# --------------------------------------------------------------------------------------------------


class LotStatus(enum.StrEnum):
    """Status of a lot (批号) everywhere at once; only RELEASED lots may be dispatched or given."""

    RELEASED = "released"
    ON_HOLD = "on_hold"
    RECALLED = "recalled"
    EXPIRED = "expired"

    @property
    def label_zh(self) -> str:
        return _LOT_STATUS_ZH[self]


_LOT_STATUS_ZH: Final[dict[LotStatus, str]] = {
    LotStatus.RELEASED: "已放行",
    LotStatus.ON_HOLD: "暂停使用",
    LotStatus.RECALLED: "已召回",
    LotStatus.EXPIRED: "已过期",
}


def lot_usable(*, status: LotStatus | str, expiry: dt.date, on: dt.date) -> tuple[bool, str]:
    """Whether a lot may be dispatched or given on ``on``, and why not.

    A lot expires at the END of its expiry date: it is usable on that day and not from the next.
    Returns ``(True, "")`` when usable, else ``(False, reason)`` with a Chinese reason; a recall is
    named before a hold, and a hold before expiry.
    """
    status = LotStatus(status)
    if status is LotStatus.RECALLED:
        return False, "批号已召回，不得使用"
    if status is LotStatus.ON_HOLD:
        return False, "批号暂停使用（待评估），不得使用"
    if status is LotStatus.EXPIRED:
        return False, f"批号已标记为过期（有效期至{expiry.isoformat()}），不得使用"
    if on > expiry:
        return False, f"已过有效期（有效期至{expiry.isoformat()}），不得使用"
    return True, ""


# --------------------------------------------------------------------------------------------------
# FEFO dispatch (先到期先出)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockLine:
    """Stock of one lot at the sending place: ``doses_available`` doses in packs of
    ``doses_per_pack``, each pack taking ``pack_volume_cm3`` of cold-chain space."""

    lot: str
    product: str
    expiry: dt.date
    status: LotStatus
    doses_available: int
    doses_per_pack: int
    pack_volume_cm3: Number

    def __post_init__(self) -> None:
        if not self.lot:
            raise ValueError("批号不能为空")
        if self.doses_available < 0:
            raise ValueError(f"批号{self.lot}: 库存剂数不能为负")
        if self.doses_per_pack < 1:
            raise ValueError(f"批号{self.lot}: 每盒剂数须≥1")
        if _exact(self.pack_volume_cm3, f"批号{self.lot}的每盒体积") <= 0:
            raise ValueError(f"批号{self.lot}: 每盒体积须大于0")
        object.__setattr__(self, "status", LotStatus(self.status))

    @property
    def whole_packs(self) -> int:
        return self.doses_available // self.doses_per_pack


@dataclass(frozen=True)
class DispatchLine:
    lot: str
    packs: int
    doses: int
    expiry: dt.date


@dataclass(frozen=True)
class DispatchProposal:
    """Lots to send, first-expiry-first-out.

    ``shortfall_doses`` is how many requested doses are not sent (for lack of usable stock or of cold
    chain space); ``volume_cut_doses`` is the part of it that the destination's free volume cut.
    ``reasons_zh`` explains skipped lots, each line, the volume cut and the shortfall, in that order.
    """

    product: str
    requested_doses: int
    lines: tuple[DispatchLine, ...]
    shortfall_doses: int
    volume_cut_doses: int
    reasons_zh: tuple[str, ...]

    @property
    def total_doses(self) -> int:
        return sum(line.doses for line in self.lines)

    @property
    def total_packs(self) -> int:
        return sum(line.packs for line in self.lines)


def _fefo_key(line: StockLine) -> tuple[dt.date, str]:
    return (line.expiry, line.lot)


def _fill(
    candidates: Sequence[StockLine], requested: int, free_volume: Fraction | None
) -> tuple[list[DispatchLine], StockLine | None, int]:
    """Take whole packs in the given order; stop at the first lot the volume cuts.

    Returns the lines, the lot the volume cut (or ``None``) and how many packs of it still fitted.
    """
    lines: list[DispatchLine] = []
    remaining = requested
    used = Fraction(0)
    for line in candidates:
        if remaining <= 0:
            break
        want = min(line.whole_packs, -(-remaining // line.doses_per_pack))
        take = want
        volume = _exact(line.pack_volume_cm3, "每盒体积")
        if free_volume is not None:
            fits = math.floor((free_volume - used) / volume)
            if fits < want:
                take = max(fits, 0)
                if take:
                    lines.append(DispatchLine(line.lot, take, take * line.doses_per_pack, line.expiry))
                # A later lot is never sent ahead of an earlier one, even if its packs would still fit.
                return lines, line, take
        lines.append(DispatchLine(line.lot, take, take * line.doses_per_pack, line.expiry))
        used += take * volume
        remaining -= take * line.doses_per_pack
    return lines, None, 0


def propose_dispatch(
    *,
    stock: Iterable[StockLine],
    product: str,
    doses: int,
    free_volume_cm3: Number,
    on: dt.date,
) -> DispatchProposal:
    """Propose which lots of ``product`` to send to cover ``doses``, on ``on``.

    Lots are taken first-expiry-first-out, ties broken by lot number, in whole packs (the last pack of
    a lot may take the total a little above the request). Lots that are not usable on ``on`` (see
    :func:`lot_usable`: recalled, on hold, expired) and lots with less than one whole pack are
    skipped and named in the reasons. The packs sent never take more than ``free_volume_cm3``; the
    proposal stops at the first lot whose packs no longer fit rather than sending a later-expiring lot
    ahead of it, and says how many doses the volume cut. Raises ``ValueError`` for a negative request
    or volume and for two stock lines of the same lot.
    """
    if doses < 0:
        raise ValueError("申请剂数不能为负")
    free = _exact(free_volume_cm3, "冷链剩余容积")
    if free < 0:
        raise ValueError("冷链剩余容积不能为负")
    mine = sorted((s for s in stock if s.product == product), key=_fefo_key)
    lots = [s.lot for s in mine]
    if len(set(lots)) != len(lots):
        dup = next(lot for lot in lots if lots.count(lot) > 1)
        raise ValueError(f"批号{dup}出现了不止一条库存行")

    reasons: list[str] = []
    candidates: list[StockLine] = []
    for line in mine:
        usable, why = lot_usable(status=line.status, expiry=line.expiry, on=on)
        if not usable:
            reasons.append(f"批号{line.lot}（有效期至{line.expiry.isoformat()}）：{why}，跳过")
        elif line.whole_packs == 0:
            if line.doses_available:
                reasons.append(
                    f"批号{line.lot}仅余{line.doses_available}剂，不足一整盒（每盒{line.doses_per_pack}剂），跳过"
                )
        else:
            candidates.append(line)

    unlimited, _, _ = _fill(candidates, doses, None)
    lines, cut_line, fitted = _fill(candidates, doses, free)
    sent_unlimited = sum(line.doses for line in unlimited)
    sent = sum(line.doses for line in lines)
    volume_cut = sent_unlimited - sent
    shortfall = max(0, doses - sent)

    for dl in lines:
        reasons.append(f"批号{dl.lot}（有效期至{dl.expiry.isoformat()}）：{dl.packs:,}盒（{dl.doses:,}剂）")
    if cut_line is not None and volume_cut > 0:
        reasons.append(
            f"目的地冷链剩余容积{_show(free)} cm³，批号{cut_line.lot}只能装下{fitted:,}盒"
            f"（每盒{_show(_exact(cut_line.pack_volume_cm3, '每盒体积'))} cm³）；"
            f"容积限制少发{volume_cut:,}剂（按先到期先出，不改发后到期的批号）"
        )
    stock_short = max(0, doses - sent_unlimited)
    if stock_short:
        reasons.append(
            f"可用库存不足：申请{doses:,}剂，可用库存最多可发{sent_unlimited:,}剂，缺{stock_short:,}剂"
        )
    if sent > doses:
        reasons.append(f"按整盒发放，比申请多{sent - doses:,}剂")
    return DispatchProposal(
        product=product,
        requested_doses=doses,
        lines=tuple(lines),
        shortfall_doses=shortfall,
        volume_cut_doses=volume_cut,
        reasons_zh=tuple(reasons),
    )


# --------------------------------------------------------------------------------------------------
# Allocation across places (疫苗分配)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllocationWeights:
    """County-set weights of a place's epidemic risk, population density and mobility indices."""

    risk: Number
    density: Number
    mobility: Number

    def __post_init__(self) -> None:
        for name, value in (("风险", self.risk), ("密度", self.density), ("流动性", self.mobility)):
            if _exact(value, f"{name}权重") < 0:
                raise ValueError(f"{name}权重不能为负")


@dataclass(frozen=True)
class PlaceNeed:
    """What a township or site needs: ``remaining_need`` people of the current phase's target group not
    yet covered, ``second_doses_due`` doses, its risk/density/mobility indices (≥ 0, scale set by the
    county), doses already in stock, and how many more packs its cold chain can hold."""

    code: str
    name: str
    remaining_need: int
    second_doses_due: int
    risk_weight: Number
    density_weight: Number
    mobility_weight: Number
    stock_on_hand_doses: int
    free_volume_packs: int

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("地点编码不能为空")
        for label, value in (
            ("剩余需求", self.remaining_need),
            ("到期第二剂", self.second_doses_due),
            ("库存", self.stock_on_hand_doses),
            ("冷链剩余容积", self.free_volume_packs),
        ):
            if value < 0:
                raise ValueError(f"{self.code}: {label}不能为负")
        for label, weight in (
            ("风险系数", self.risk_weight),
            ("密度系数", self.density_weight),
            ("流动性系数", self.mobility_weight),
        ):
            if _exact(weight, f"{self.code}的{label}") < 0:
                raise ValueError(f"{self.code}: {label}不能为负")

    @property
    def need_doses(self) -> int:
        """Doses needed now: one for each uncovered person plus each second dose due."""
        return self.remaining_need + self.second_doses_due

    @property
    def net_need_doses(self) -> int:
        """Need less stock on hand, never below 0."""
        return max(0, self.need_doses - self.stock_on_hand_doses)


@dataclass(frozen=True)
class AllocationLine:
    """One place's proposed allocation.

    ``need`` is its net need in doses (need − stock on hand, ≥ 0); ``share`` its proportional
    entitlement (weighted net need ÷ the sum over all places, 0–1, before caps and rounding);
    ``capped_by_volume`` is True when its free cold-chain volume, not its need or its share, limited
    the packs it gets.
    """

    place: str
    packs: int
    doses: int
    need: int
    share: float
    capped_by_volume: bool
    reasoning_zh: str


@dataclass(frozen=True)
class Allocation:
    """Lines sorted by place code; ``unallocated_doses`` stay at the county (loose doses that do not
    make a whole pack, and doses nobody needs or can store). ``notes_zh`` explains them."""

    lines: tuple[AllocationLine, ...]
    unallocated_doses: int
    notes_zh: tuple[str, ...] = ()

    @property
    def allocated_doses(self) -> int:
        return sum(line.doses for line in self.lines)

    def line_for(self, place: str) -> AllocationLine | None:
        """The line of ``place``; ``None`` if it was not among the places."""
        return next((line for line in self.lines if line.place == place), None)


def allocate(
    *,
    doses_arriving: int,
    pack_size: int,
    places: Sequence[PlaceNeed],
    weights: AllocationWeights,
) -> Allocation:
    """Propose how many whole packs of an arriving shipment each place gets.

    Method:

    1. Net need = remaining need (people) + second doses due − stock on hand, at least 0.
       Weight factor = 1 + risk×w_risk + density×w_density + mobility×w_mobility.
       Score = net need × factor; a place's share is its score over the sum of scores.
    2. Each place may take at most ``cap`` = min(free cold-chain volume in packs, net need rounded up
       to whole packs). Only whole packs are handed out: ``doses_arriving // pack_size`` packs.
    3. Quotas = packs to share × score ÷ total score over the places still sharing. Every place whose
       quota reaches its cap gets exactly its cap and leaves; the packs left are shared again among the
       rest, until no quota reaches a cap (a capped place's packs are re-distributed; this converges
       because removing capped places only raises the others' quotas).
    4. The remaining places get the integer part of their quota, and the packs still left go one each
       by the LARGEST REMAINDER (Hamilton) method: larger fractional remainder first, then larger net
       need, then smaller place code. No place exceeds its cap this way (its quota is below it).

    All arithmetic is exact (fractions), so the result is reproducible and independent of the order of
    ``places``. Never more than arrives, never more than a place's free volume or (rounded-up) need.
    Raises ``ValueError`` for a pack size below 1, negative arrivals and duplicate place codes.
    """
    if pack_size < 1:
        raise ValueError("每盒剂数须≥1")
    if doses_arriving < 0:
        raise ValueError("到货剂数不能为负")
    codes = [p.code for p in places]
    if len(set(codes)) != len(codes):
        dup = next(c for c in codes if codes.count(c) > 1)
        raise ValueError(f"地点编码重复：{dup}")

    w_risk = _exact(weights.risk, "风险权重")
    w_density = _exact(weights.density, "密度权重")
    w_mobility = _exact(weights.mobility, "流动性权重")
    by_code = {p.code: p for p in places}
    factor: dict[str, Fraction] = {}
    score: dict[str, Fraction] = {}
    cap: dict[str, int] = {}
    need_packs: dict[str, int] = {}
    for p in places:
        factor[p.code] = (
            1
            + w_risk * _exact(p.risk_weight, "风险系数")
            + w_density * _exact(p.density_weight, "密度系数")
            + w_mobility * _exact(p.mobility_weight, "流动性系数")
        )
        score[p.code] = p.net_need_doses * factor[p.code]
        need_packs[p.code] = -(-p.net_need_doses // pack_size)
        cap[p.code] = min(p.free_volume_packs, need_packs[p.code])
    total_score = sum(score.values(), Fraction(0))

    total_packs = doses_arriving // pack_size
    packs = dict.fromkeys(codes, 0)
    capped_quota: dict[str, Fraction] = {}
    active = sorted(c for c in codes if score[c] > 0 and cap[c] > 0)
    left = total_packs
    while active and left > 0:
        pool = sum((score[c] for c in active), Fraction(0))
        quota = {c: left * score[c] / pool for c in active}
        reached = [c for c in active if quota[c] >= cap[c]]
        if reached:
            for c in reached:
                packs[c] = cap[c]
                capped_quota[c] = quota[c]
                left -= cap[c]
            active = [c for c in active if c not in capped_quota]
            continue
        # Ties between equal remainders: larger net need first, then smaller code.
        ranked = sorted(active, key=lambda c: (-by_code[c].net_need_doses, c))
        for c, n in zip(ranked, largest_remainder(left, [score[c] for c in ranked]), strict=True):
            packs[c] = n
        left = 0

    lines: list[AllocationLine] = []
    for code in sorted(codes):
        p = by_code[code]
        share = score[code] / total_score if total_score else Fraction(0)
        volume_capped = (
            p.net_need_doses > 0
            and p.free_volume_packs < need_packs[code]
            and (code in capped_quota or p.free_volume_packs == 0)
        )
        lines.append(
            AllocationLine(
                place=code,
                packs=packs[code],
                doses=packs[code] * pack_size,
                need=p.net_need_doses,
                share=float(share),
                capped_by_volume=volume_capped,
                reasoning_zh=_reasoning(
                    p,
                    factor=factor[code],
                    share=share,
                    packs=packs[code],
                    pack_size=pack_size,
                    volume_capped=volume_capped,
                    need_capped=code in capped_quota and not volume_capped,
                    quota=capped_quota.get(code),
                ),
            )
        )
    allocated = sum(line.doses for line in lines)
    notes: list[str] = []
    loose = doses_arriving - total_packs * pack_size
    if loose:
        notes.append(
            f"到货{doses_arriving:,}剂，按每盒{pack_size}剂只能整盒分配{total_packs:,}盒，余{loose:,}剂留在县级"
        )
    spare = total_packs * pack_size - allocated
    if spare:
        notes.append(f"各地点净需求或冷链容积已满，{spare:,}剂（{spare // pack_size:,}盒）未分配，留在县级")
    return Allocation(lines=tuple(lines), unallocated_doses=doses_arriving - allocated, notes_zh=tuple(notes))


def _reasoning(
    p: PlaceNeed,
    *,
    factor: Fraction,
    share: Fraction,
    packs: int,
    pack_size: int,
    volume_capped: bool,
    need_capped: bool,
    quota: Fraction | None,
) -> str:
    text = f"剩余需求 {p.remaining_need:,} 人"
    if p.second_doses_due:
        text += f" + 到期第二剂 {p.second_doses_due:,} 剂"
    text += f" − 库存 {p.stock_on_hand_doses:,} 剂"
    if p.net_need_doses == 0:
        return text + "，无净需求，不分配"
    text += f" = 净需求 {p.net_need_doses:,} 剂，加权系数 {_show(factor, 2)} → 占 {float(share):.1%}"
    if p.free_volume_packs == 0:
        return text + "，冷链无剩余容积，未分配"
    if volume_capped and quota is not None:
        text += f"，按比例应得 {_show(quota)} 盒，受冷链容积限制（最多可再存 {p.free_volume_packs:,} 盒）"
    text += f"，分得 {packs:,} 盒（{packs * pack_size:,} 剂）"
    if need_capped:
        text += "，已满足全部净需求（按整盒向上取整）"
    return text


# --------------------------------------------------------------------------------------------------
# Stock ledger (库存台账)
# --------------------------------------------------------------------------------------------------


class MovementKind(enum.StrEnum):
    """Kinds of ledger movement. ``sign`` is +1 for stock coming into the place, −1 for stock leaving
    it, and 0 for an adjustment, whose quantity carries its own sign."""

    RECEIPT = "receipt"
    DISPATCH = "dispatch"
    RECEIPT_AT_DESTINATION = "receipt_at_destination"
    ADMINISTRATION = "administration"
    WASTAGE = "wastage"
    ADJUSTMENT = "adjustment"
    RECALL_RETURN = "recall_return"
    # Codes moved between cold-chain units of one place: a pair of rows (out −, in +) of the same lot, so
    # the place's balance is unchanged and the move is on the ledger, never a receipt.
    UNIT_MOVE = "unit_move"

    @property
    def sign(self) -> int:
        return _MOVEMENT_SIGN[self]

    @property
    def label_zh(self) -> str:
        return _MOVEMENT_ZH[self]


_MOVEMENT_SIGN: Final[dict[MovementKind, int]] = {
    MovementKind.RECEIPT: +1,
    MovementKind.DISPATCH: -1,
    MovementKind.RECEIPT_AT_DESTINATION: +1,
    MovementKind.ADMINISTRATION: -1,
    MovementKind.WASTAGE: -1,
    MovementKind.ADJUSTMENT: 0,
    MovementKind.RECALL_RETURN: -1,
    MovementKind.UNIT_MOVE: 0,
}
_MOVEMENT_ZH: Final[dict[MovementKind, str]] = {
    MovementKind.RECEIPT: "入库",
    MovementKind.DISPATCH: "调出",
    MovementKind.RECEIPT_AT_DESTINATION: "调入签收",
    MovementKind.ADMINISTRATION: "接种使用",
    MovementKind.WASTAGE: "损耗",
    MovementKind.ADJUSTMENT: "盘点调整",
    MovementKind.RECALL_RETURN: "召回退回",
    MovementKind.UNIT_MOVE: "移库（设备间）",
}


class WastageReason(enum.StrEnum):
    BROKEN = "broken"
    EXPIRED = "expired"
    TEMPERATURE = "temperature"
    OPEN_VIAL_DISCARD = "open_vial_discard"
    OTHER = "other"

    @property
    def label_zh(self) -> str:
        return _WASTAGE_ZH[self]


_WASTAGE_ZH: Final[dict[WastageReason, str]] = {
    WastageReason.BROKEN: "破损",
    WastageReason.EXPIRED: "过期",
    WastageReason.TEMPERATURE: "温度异常",
    WastageReason.OPEN_VIAL_DISCARD: "开瓶超时废弃",
    WastageReason.OTHER: "其他",
}


@dataclass(frozen=True)
class Movement:
    """One ledger movement of ``doses`` of ``lot`` at ``place``.

    ``doses`` is positive, except for an ADJUSTMENT where it is the signed correction (never 0).
    WASTAGE needs a ``wastage_reason``; an ADJUSTMENT and an OTHER wastage need ``reason_zh``. A
    dispatch is recorded at the sending place; the receiving place records RECEIPT_AT_DESTINATION with
    what actually arrived. RECALL_RETURN is stock sent back under a recall, so it leaves the place.
    Construction raises ``ValueError`` with a Chinese message when these do not hold.
    """

    kind: MovementKind
    place: str
    lot: str
    doses: int
    wastage_reason: WastageReason | None = None
    reason_zh: str = ""

    def __post_init__(self) -> None:
        kind = MovementKind(self.kind)
        object.__setattr__(self, "kind", kind)
        if self.wastage_reason is not None:
            object.__setattr__(self, "wastage_reason", WastageReason(self.wastage_reason))
        if kind is MovementKind.ADJUSTMENT or kind is MovementKind.UNIT_MOVE:
            if self.doses == 0:
                raise ValueError(f"{kind.label_zh}数量不能为0")
            if not self.reason_zh.strip():
                raise ValueError(f"{kind.label_zh}须填写原因")
        elif self.doses <= 0:
            raise ValueError(f"{kind.label_zh}数量须为正数")
        if kind is MovementKind.WASTAGE:
            if self.wastage_reason is None:
                raise ValueError("损耗须选择原因")
            if self.wastage_reason is WastageReason.OTHER and not self.reason_zh.strip():
                raise ValueError("损耗原因为“其他”时须说明")
        elif self.wastage_reason is not None:
            raise ValueError(f"{kind.label_zh}不应有损耗原因")

    @property
    def delta(self) -> int:
        """The signed change to the (place, lot) balance."""
        if self.kind is MovementKind.ADJUSTMENT or self.kind is MovementKind.UNIT_MOVE:
            return self.doses
        return self.kind.sign * self.doses

    @property
    def key(self) -> tuple[str, str]:
        return (self.place, self.lot)


def balance(movements: Iterable[Movement]) -> dict[tuple[str, str], int]:
    """Balance in doses per (place, lot); every pair that any movement touches is present, including
    those that balance to 0."""
    totals: dict[tuple[str, str], int] = {}
    for m in movements:
        totals[m.key] = totals.get(m.key, 0) + m.delta
    return totals


def check_non_negative(movements_in_order: Iterable[Movement]) -> Movement | None:
    """The first movement, in the given order, that would take its (place, lot) balance below 0;
    ``None`` if the balances never go negative. Balances start at 0."""
    running: dict[tuple[str, str], int] = {}
    for m in movements_in_order:
        after = running.get(m.key, 0) + m.delta
        if after < 0:
            return m
        running[m.key] = after
    return None


@dataclass(frozen=True)
class StockCountResult:
    """Differences of a stock count (盘点): ``missing`` codes the ledger holds but nobody scanned,
    ``unexpected`` codes scanned but not held there, each sorted; ``duplicates`` codes scanned more
    than once (counted once)."""

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    matched_count: int
    duplicates: tuple[str, ...] = ()

    @property
    def balanced(self) -> bool:
        return not self.missing and not self.unexpected


def stock_count_differences(*, scanned_codes: Iterable[str], ledger_codes: Iterable[str]) -> StockCountResult:
    """Compare the codes scanned at a place with the codes the ledger says are in stock there.

    Scanned text is normalised like scanner input (spaces, full-width digits, newlines) but not
    validated, so a malformed scan shows up as unexpected.
    """
    seen: set[str] = set()
    duplicates: set[str] = set()
    for raw in scanned_codes:
        code = normalise_trace_code(raw)
        if not code:
            continue
        if code in seen:
            duplicates.add(code)
        seen.add(code)
    held = {normalise_trace_code(c) for c in ledger_codes} - {""}
    return StockCountResult(
        missing=tuple(sorted(held - seen)),
        unexpected=tuple(sorted(seen - held)),
        matched_count=len(held & seen),
        duplicates=tuple(sorted(duplicates)),
    )


def _require_aware(*moments: tuple[str, dt.datetime]) -> None:
    for label, moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{label}须带时区")


def open_vial_expired(*, opened_at: dt.datetime, discard_hours: int | None, now: dt.datetime) -> bool:
    """Whether a multi-dose vial opened at ``opened_at`` must be discarded at ``now``: True from the
    moment ``discard_hours`` have passed (exactly N hours after opening is already too late).

    ``discard_hours`` ``None`` (a single-dose presentation) → False. Both moments must be time-zone
    aware (``ValueError`` otherwise).
    """
    _require_aware(("开瓶时间", opened_at), ("当前时间", now))
    if discard_hours is None:
        return False
    if discard_hours < 0:
        raise ValueError("开瓶后可用时限不能为负")
    return now >= opened_at + dt.timedelta(hours=discard_hours)


# --------------------------------------------------------------------------------------------------
# Alerts
# --------------------------------------------------------------------------------------------------


class _HasExpiry(Protocol):
    @property
    def expiry(self) -> dt.date: ...


_L = TypeVar("_L", bound=_HasExpiry)


def expiring_soon(lots: Iterable[_L], *, on: dt.date, days: int = 30) -> tuple[_L, ...]:
    """The lots (anything with an ``expiry`` date) whose last usable day is between ``on`` and
    ``on + days`` inclusive, soonest first (input order among equal dates).

    Lots already past their expiry are not included: they are expired, not expiring. Status is not
    looked at; pass the lots that matter (e.g. released lots with stock).
    """
    if days < 0:
        raise ValueError("预警天数不能为负")
    last = on + dt.timedelta(days=days)
    return tuple(sorted((lot for lot in lots if on <= lot.expiry <= last), key=lambda lot: lot.expiry))


def days_of_cover(*, stock_doses: int, recent_daily_use: Number) -> float | None:
    """How many days ``stock_doses`` last at ``recent_daily_use`` doses a day; ``None`` when there was
    no recent use (rate 0), since the stock then covers an unknown, not an infinite, time."""
    if stock_doses < 0:
        raise ValueError("库存剂数不能为负")
    rate = _exact(recent_daily_use, "日均用量")
    if rate < 0:
        raise ValueError("日均用量不能为负")
    if rate == 0:
        return None
    return float(stock_doses / rate)


def receipt_overdue(*, dispatched_at: dt.datetime, now: dt.datetime, hours: int = 24) -> bool:
    """Whether a dispatch not yet confirmed at its destination is overdue at ``now``: True once
    ``hours`` have passed since ``dispatched_at``. Both moments must be time-zone aware."""
    _require_aware(("调出时间", dispatched_at), ("当前时间", now))
    return now >= dispatched_at + dt.timedelta(hours=hours)
