"""Pure rules of vaccination sites: opening hours, the slots and capacity of a session, how a slot's
places are split between walk-ins, village/employer quotas and open booking, the "四有" readiness a
session needs before it opens, and which certified staff may work at which desk (持证上岗).

No Django, no ORM, no clock: every function takes the day it reasons about (``day``/``on``) and
returns plain, frozen values, so the same input always gives the same answer and tests need no
database. Times of day are local wall-clock times (Asia/Shanghai) without a time zone; a site never
opens across midnight. Capacities are whole people (``int``); rates and shares may be ``int``,
``float``, ``Decimal`` or ``Fraction`` and are computed exactly (a float as the decimal it prints
as), so no result depends on floating-point rounding. User-facing messages are Chinese.

The enums (values and Chinese labels) are defined here once; ``vaxops.sites.models`` builds its choices
from them, so the stored values can be handed back to these functions as they are.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Final

from vaxops.core.rounding import largest_remainder

__all__ = [
    "DESK_FOR_ROLE",
    "REQUIRED_CERTIFICATES",
    "Certificate",
    "CertificateKind",
    "DeskKind",
    "HoursException",
    "ReadinessItem",
    "SiteKind",
    "SlotSpec",
    "Split",
    "StaffRole",
    "TimeRange",
    "WeeklyHours",
    "certificate_valid",
    "desk_label",
    "desk_serves",
    "may_assign",
    "open_intervals",
    "qualified",
    "readiness_missing",
    "session_may_open",
    "slots_for_day",
    "split_capacity",
    "validate_intervals",
]

Number = int | float | Decimal | Fraction
TimeRange = tuple[dt.time, dt.time]


def _exact(value: Number, what: str) -> Fraction:
    """``value`` as an exact fraction; a float is read as the decimal it prints as (0.2 → 1/5)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | Fraction):
        raise ValueError(f"{what}须为数值")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what}须为有限数值")
        return Fraction(repr(value))
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{what}须为有限数值")
    return Fraction(value)


def _hm(t: dt.time) -> str:
    return t.strftime("%H:%M")


def _range(r: TimeRange) -> str:
    return f"{_hm(r[0])}—{_hm(r[1])}"


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _time(minutes: int) -> dt.time:
    return dt.time(minutes // 60, minutes % 60)


# --------------------------------------------------------------------------------------------------
# Kinds of site, desk and staff
# --------------------------------------------------------------------------------------------------


class SiteKind(enum.StrEnum):
    """Kind of vaccination unit (接种单位)."""

    FIXED = "fixed"
    TEMPORARY = "temporary"
    MOBILE = "mobile"

    @property
    def label_zh(self) -> str:
        return _SITE_KIND_ZH[self]


_SITE_KIND_ZH: Final[dict[SiteKind, str]] = {
    SiteKind.FIXED: "固定接种门诊",
    SiteKind.TEMPORARY: "大规模临时接种点",
    SiteKind.MOBILE: "流动接种队",
}


class DeskKind(enum.StrEnum):
    """The stations a person passes through, in order: 登记 → 预检 → 接种 → 留观."""

    REGISTRATION = "registration"
    SCREENING = "screening"
    VACCINATION = "vaccination"
    OBSERVATION = "observation"

    @property
    def label_zh(self) -> str:
        return _DESK_ZH[self]


_DESK_ZH: Final[dict[DeskKind, str]] = {
    DeskKind.REGISTRATION: "登记台",
    DeskKind.SCREENING: "预检台",
    DeskKind.VACCINATION: "接种台",
    DeskKind.OBSERVATION: "留观区",
}


class StaffRole(enum.StrEnum):
    """What a staff member does at a session. ``RESCUE`` (医疗救治) staff are on duty for the whole site
    (the first of the "四有") and are never assigned to a desk."""

    SCREENING = "screening"
    REGISTRATION = "registration"
    VACCINATION = "vaccination"
    OBSERVATION = "observation"
    RESCUE = "rescue"

    @property
    def label_zh(self) -> str:
        return _ROLE_ZH[self]

    @property
    def desk_kind(self) -> DeskKind | None:
        """The desk this role staffs; ``None`` for medical rescue."""
        return DESK_FOR_ROLE[self]


_ROLE_ZH: Final[dict[StaffRole, str]] = {
    StaffRole.SCREENING: "预检",
    StaffRole.REGISTRATION: "登记",
    StaffRole.VACCINATION: "接种",
    StaffRole.OBSERVATION: "留观",
    StaffRole.RESCUE: "医疗救治",
}

DESK_FOR_ROLE: Final[Mapping[StaffRole, DeskKind | None]] = {
    StaffRole.SCREENING: DeskKind.SCREENING,
    StaffRole.REGISTRATION: DeskKind.REGISTRATION,
    StaffRole.VACCINATION: DeskKind.VACCINATION,
    StaffRole.OBSERVATION: DeskKind.OBSERVATION,
    StaffRole.RESCUE: None,
}


# --------------------------------------------------------------------------------------------------
# Opening hours (开放时间)
# --------------------------------------------------------------------------------------------------

_WEEKDAY_ZH: Final = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def validate_intervals(intervals: Iterable[TimeRange], *, what: str = "开放时段") -> tuple[TimeRange, ...]:
    """The intervals sorted by start, after checking them; raises ``ValueError`` (Chinese) otherwise.

    Each interval is ``(start, end)`` of naive times on whole minutes with ``start < end`` (a site does
    not open across midnight). Intervals may touch (08:00—12:00 and 12:00—14:00) but not overlap.
    ``what`` names the intervals in messages (e.g. "星期一的开放时段").
    """
    checked: list[TimeRange] = []
    for item in intervals:
        try:
            start, end = item
        except (TypeError, ValueError):
            raise ValueError(f"{what}须为（开始时间, 结束时间）") from None
        for t in (start, end):
            if not isinstance(t, dt.time):
                raise ValueError(f"{what}须为时间（时:分）")
            if t.tzinfo is not None:
                raise ValueError(f"{what}须为当地时间，不带时区")
            if t.second or t.microsecond:
                raise ValueError(f"{what}须精确到分钟：{t.isoformat()}")
        if start >= end:
            raise ValueError(f"{what}{_range((start, end))}无效：结束时间须晚于开始时间（不支持跨夜）")
        checked.append((start, end))
    checked.sort()
    for a, b in zip(checked, checked[1:], strict=False):
        if b[0] < a[1]:
            raise ValueError(f"{what}{_range(a)}与{_range(b)}重叠")
    return tuple(checked)


@dataclass(frozen=True)
class WeeklyHours:
    """Regular opening hours: ``by_weekday`` maps a weekday (0 = Monday … 6 = Sunday, as
    ``date.weekday()``) to its intervals; a missing weekday or an empty tuple means closed.

    Construction checks every day's intervals (see :func:`validate_intervals`) and stores them sorted.
    """

    by_weekday: Mapping[int, Sequence[TimeRange]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        normalised: dict[int, tuple[TimeRange, ...]] = {}
        for weekday, intervals in self.by_weekday.items():
            if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
                raise ValueError(f"星期须为0（星期一）到6（星期日），收到{weekday!r}")
            checked = validate_intervals(intervals, what=f"{_WEEKDAY_ZH[weekday]}的开放时段")
            if checked:
                normalised[weekday] = checked
        object.__setattr__(self, "by_weekday", dict(sorted(normalised.items())))

    def intervals_on(self, weekday: int) -> tuple[TimeRange, ...]:
        """The intervals of ``weekday`` (0 = Monday); empty when closed."""
        return tuple(self.by_weekday.get(weekday, ()))


@dataclass(frozen=True)
class HoursException:
    """A dated change to the regular hours: closed all day (``intervals`` empty, e.g. a holiday or the
    team is elsewhere) or open only in ``intervals`` that day (extended or reduced hours)."""

    day: dt.date
    intervals: tuple[TimeRange, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        what = f"{self.day.isoformat()}的特殊开放时段"
        object.__setattr__(self, "intervals", validate_intervals(self.intervals, what=what))

    @property
    def closed(self) -> bool:
        return not self.intervals


def open_intervals(
    hours: WeeklyHours, exceptions: Iterable[HoursException], day: dt.date
) -> tuple[TimeRange, ...]:
    """The intervals the site is open on ``day``, sorted; empty when it is closed.

    A dated exception for ``day`` replaces the weekly hours of that weekday entirely. Raises
    ``ValueError`` when two exceptions name the same day (which one wins would be a guess).
    """
    matching = [e for e in exceptions if e.day == day]
    if len(matching) > 1:
        raise ValueError(f"{day.isoformat()}有{len(matching)}条特殊开放安排，请合并为一条")
    if matching:
        return matching[0].intervals
    return hours.intervals_on(day.weekday())


# --------------------------------------------------------------------------------------------------
# Slots and capacity (预约时段与容量)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotSpec:
    """A bookable time slot of a session: ``start``–``end`` local time, ``capacity`` people."""

    start: dt.time
    end: dt.time
    capacity: int


def slots_for_day(
    intervals: Iterable[TimeRange],
    *,
    slot_minutes: int,
    desks: int,
    per_desk_per_hour: Number,
) -> tuple[SlotSpec, ...]:
    """The slots of one day, in time order.

    Each open interval is cut into consecutive slots of ``slot_minutes`` from its start; a trailing
    part shorter than a slot is dropped (08:00—11:45 in 30-minute slots ends with 11:00—11:30), and a
    slot never runs across two intervals. Every slot has the same capacity,
    ``floor(desks × per_desk_per_hour × slot_minutes / 60)``, computed exactly; a capacity that rounds
    to 0 (too few desks for so short a slot) is kept as 0 so the caller sees it. The vaccination desks
    set the pace, so ``desks`` counts 接种台 only.

    Raises ``ValueError`` for a slot length below 1 minute, negative desks or rate, and invalid
    intervals.
    """
    if isinstance(slot_minutes, bool) or not isinstance(slot_minutes, int) or slot_minutes < 1:
        raise ValueError("预约时段长度须为正整数分钟")
    if isinstance(desks, bool) or not isinstance(desks, int) or desks < 0:
        raise ValueError("接种台数须为非负整数")
    rate = _exact(per_desk_per_hour, "每台每小时接种人数")
    if rate < 0:
        raise ValueError("每台每小时接种人数不能为负")
    capacity = math.floor(desks * rate * slot_minutes / 60)
    slots: list[SlotSpec] = []
    for start, end in validate_intervals(intervals):
        first, last = _minutes(start), _minutes(end)
        for at in range(first, last - slot_minutes + 1, slot_minutes):
            slots.append(SlotSpec(_time(at), _time(at + slot_minutes), capacity))
    return tuple(slots)


@dataclass(frozen=True)
class Split:
    """How a slot's places are divided: ``walk_in`` kept for people who come without an appointment,
    ``quotas`` reserved per village/employer key (sorted by key), and ``open`` bookable by anyone.
    The parts always add up to the slot's capacity."""

    walk_in: int
    quotas: Mapping[str, int] = field(hash=False)
    open: int

    @property
    def total(self) -> int:
        return self.walk_in + sum(self.quotas.values()) + self.open


def split_capacity(
    capacity: int,
    *,
    quotas: Mapping[str, Number] | None = None,
    walk_in_share: Number = 0,
) -> Split:
    """Divide ``capacity`` places between walk-ins, quotas and open booking.

    ``walk_in_share`` is a share of the whole capacity (0.2 → 20 %). Each quota is a SHARE OF THE
    REST, the places left after the walk-in reserve (village A 0.5 with walk-in 0.2 → 40 % of the
    capacity); the quota shares may add up to at most 1, and whatever they leave is open to everyone.

    Exact entitlements are computed first and rounded together by the LARGEST REMAINDER (Hamilton)
    method, so every part is its exact entitlement rounded down or up, and the parts always add up to
    ``capacity``. Places left after rounding down go to the largest fractional remainders first; ties
    go to the walk-in reserve, then to quotas by key, then to the open part.

    Raises ``ValueError`` for a negative capacity, a share below 0 or above 1, quota shares adding up
    to more than 1, and an empty quota key.
    """
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
        raise ValueError("容量须为非负整数")
    walk = _exact(walk_in_share, "现场号比例")
    if not 0 <= walk <= 1:
        raise ValueError(f"现场号比例须在0到1之间，收到{walk_in_share}")
    shares: dict[str, Fraction] = {}
    for key in sorted(quotas or {}):
        if not isinstance(key, str) or not key.strip():
            raise ValueError("预留对象编码不能为空")
        share = _exact((quotas or {})[key], f"{key}的预留比例")
        if not 0 <= share <= 1:
            raise ValueError(f"{key}的预留比例须在0到1之间，收到{(quotas or {})[key]}")
        shares[key] = share
    total_share = sum(shares.values(), Fraction(0))
    if total_share > 1:
        raise ValueError(f"各预留对象的比例之和为{float(total_share):.4g}，不能超过1")

    # Parts (as shares of the capacity) in tie-break order: walk-in, quotas by key, open.
    keys = list(shares)
    parts = [walk, *((1 - walk) * shares[key] for key in keys), (1 - walk) * (1 - total_share)]
    counts = largest_remainder(capacity, parts)
    return Split(
        walk_in=counts[0],
        quotas={key: counts[1 + i] for i, key in enumerate(keys)},
        open=counts[-1],
    )


# --------------------------------------------------------------------------------------------------
# "四有" readiness (开诊前“四有”确认)
# --------------------------------------------------------------------------------------------------


class ReadinessItem(enum.StrEnum):
    """The "四有" every site must have before a session opens: medical staff on duty at the site,
    emergency drugs and equipment, a 120 ambulance on call, and a transfer route with a green channel
    at the designated hospital."""

    MEDICAL_STAFF = "medical_staff"
    EMERGENCY_KIT = "emergency_kit"
    AMBULANCE = "ambulance"
    GREEN_CHANNEL = "green_channel"

    @property
    def label_zh(self) -> str:
        return _READINESS_ZH[self]


_READINESS_ZH: Final[dict[ReadinessItem, str]] = {
    ReadinessItem.MEDICAL_STAFF: "医护人员在岗",
    ReadinessItem.EMERGENCY_KIT: "急救药品器械",
    ReadinessItem.AMBULANCE: "120救护车待命",
    ReadinessItem.GREEN_CHANNEL: "转诊路线与绿色通道",
}


def readiness_missing(confirmed: Mapping[ReadinessItem | str, str | None]) -> tuple[str, ...]:
    """Chinese labels of the "四有" items not yet confirmed, in the fixed order of :class:`ReadinessItem`.

    ``confirmed`` maps an item to who confirmed it; an item that is absent, or whose confirmer is
    ``None`` or blank, is missing. Raises ``ValueError`` for a key that is not a readiness item.
    """
    by_item: dict[ReadinessItem, str | None] = {}
    for key, who in confirmed.items():
        try:
            item = ReadinessItem(key)
        except ValueError:
            raise ValueError(f"未知的开诊准备项目：{key}") from None
        by_item[item] = who
    return tuple(item.label_zh for item in ReadinessItem if not (by_item.get(item) or "").strip())


def session_may_open(
    *,
    readiness: Mapping[ReadinessItem | str, str | None],
    designated_hospital: str | None,
    staffed_desks: Iterable[DeskKind | str],
    required_desks: Iterable[DeskKind | str] = tuple(DeskKind),
    more: Iterable[str] = (),
) -> tuple[bool, str]:
    """Whether a session may open, and why not.

    It opens only when all of the "四有" are confirmed (:func:`readiness_missing`), the site has a
    designated treatment hospital (定点救治医院) to transfer to, and every desk kind in
    ``required_desks`` (by default all four: 登记, 预检, 接种, 留观) has at least one staff member
    assigned (``staffed_desks``: the desk kinds the session's valid assignments staff — the desk kind of
    each assignment's role, repeats allowed). A mobile team (流动接种队) with combined desks, e.g. one
    登记+预检 desk and one 接种+留观 desk (:func:`desk_serves`), opens with two desks once its people cover
    the four steps. Returns ``(True, "")`` or ``(False, reason)``,
    the reason naming everything that is missing, separated by "；". ``more`` are further problems
    found by the apps above (the rescue roster and the ambulance, from safety).
    """
    problems: list[str] = []
    missing = readiness_missing(readiness)
    if missing:
        problems.append("“四有”未落实：" + "、".join(missing))
    if not (designated_hospital or "").strip():
        problems.append("未指定定点救治医院")
    have = {DeskKind(d) for d in staffed_desks}
    empty = [d.label_zh for d in DeskKind if d in {DeskKind(r) for r in required_desks} and d not in have]
    if empty:
        problems.append("以下岗位无人值守：" + "、".join(empty))
    problems.extend(more)
    if problems:
        return False, "不能开诊：" + "；".join(problems)
    return True, ""


# --------------------------------------------------------------------------------------------------
# Certificates and assignments (持证上岗)
# --------------------------------------------------------------------------------------------------


class CertificateKind(enum.StrEnum):
    """TRAINING: the COVID-19 vaccination training certificate issued after the county's training and
    assessment (培训考核合格证). LICENCE: a practising licence of a doctor, nurse or village doctor."""

    TRAINING = "training"
    LICENCE = "licence"

    @property
    def label_zh(self) -> str:
        return _CERT_ZH[self]


_CERT_ZH: Final[dict[CertificateKind, str]] = {
    CertificateKind.TRAINING: "培训合格证",
    CertificateKind.LICENCE: "执业资格证",
}

# Seed: "确保所有承担新冠疫苗接种和预检的人员考核合格后持证上岗"; "所有参与接种和医疗救治的医务人员经过
# 培训且考核合格后方可上岗". Registration clerks need no certificate. The county may add LICENCE (the
# Vaccine Administration Law asks for a doctor, nurse or village doctor) through ``requirements``.
REQUIRED_CERTIFICATES: Final[Mapping[StaffRole, tuple[CertificateKind, ...]]] = {
    StaffRole.SCREENING: (CertificateKind.TRAINING,),
    StaffRole.REGISTRATION: (),
    StaffRole.VACCINATION: (CertificateKind.TRAINING,),
    StaffRole.OBSERVATION: (CertificateKind.TRAINING,),
    StaffRole.RESCUE: (CertificateKind.TRAINING,),
}


@dataclass(frozen=True)
class Certificate:
    """A staff member's certificate, valid from ``valid_from`` to ``valid_to`` INCLUSIVE (usable on its
    expiry day, not the day after); ``valid_to`` ``None`` means it does not expire."""

    kind: CertificateKind
    number: str
    valid_from: dt.date
    valid_to: dt.date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", CertificateKind(self.kind))
        if not self.number.strip():
            raise ValueError(f"{self.kind.label_zh}编号不能为空")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"{self.kind.label_zh}（编号{self.number}）的有效期至早于生效日期")

    @property
    def label_zh(self) -> str:
        return f"{self.kind.label_zh}（编号{self.number}）"


def certificate_valid(cert: Certificate, on: dt.date) -> bool:
    """Whether ``cert`` is valid on ``on``: ``valid_from <= on <= valid_to``."""
    return cert.valid_from <= on and (cert.valid_to is None or on <= cert.valid_to)


def _why_not_valid(kind: CertificateKind, certificates: Sequence[Certificate], on: dt.date) -> str:
    mine = [c for c in certificates if c.kind is kind]
    if not mine:
        return f"未登记{kind.label_zh}"
    upcoming = sorted((c for c in mine if c.valid_from > on), key=lambda c: (c.valid_from, c.number))
    if upcoming:
        c = upcoming[0]
        return f"{c.label_zh}尚未生效，{c.valid_from.isoformat()}起有效"
    # Every one has expired (a non-expiring one would be valid); name the latest.
    c = max(mine, key=lambda c: (c.valid_to or dt.date.max, c.number))
    assert c.valid_to is not None
    return f"{c.label_zh}已于{c.valid_to.isoformat()}到期"


def qualified(
    role: StaffRole | str,
    certificates: Iterable[Certificate],
    on: dt.date,
    *,
    requirements: Mapping[StaffRole, Sequence[CertificateKind]] = REQUIRED_CERTIFICATES,
) -> tuple[bool, str]:
    """Whether someone holding ``certificates`` may work in ``role`` on ``on`` (any desk), and why not.

    Every certificate kind that ``requirements`` lists for the role must be valid on that day (one
    valid certificate of a kind is enough). The reason names the role, the certificate kind, and the
    certificate's number and expiry (or start) date; ``(True, "")`` when qualified.
    """
    role = StaffRole(role)
    certs = tuple(certificates)
    problems = [
        _why_not_valid(kind, certs, on)
        for kind in requirements.get(role, ())
        if not any(c.kind is kind and certificate_valid(c, on) for c in certs)
    ]
    if problems:
        kinds = "、".join(CertificateKind(k).label_zh for k in requirements.get(role, ()))
        return False, f"{role.label_zh}人员须持有效的{kinds}上岗（持证上岗）：" + "；".join(problems)
    return True, ""


def desk_serves(kind: DeskKind | str, also: Iterable[DeskKind | str] = ()) -> tuple[DeskKind, ...]:
    """The steps a desk serves: its own kind and the kinds it also serves (a combined desk of a mobile team
    or a small temporary site: 登记+预检, 接种+留观), in the fixed order of :class:`DeskKind`, no repeats.
    Raises ``ValueError`` for an unknown kind."""
    kinds = {DeskKind(kind)} | {DeskKind(k) for k in also}
    return tuple(k for k in DeskKind if k in kinds)


def desk_label(kind: DeskKind | str, also: Iterable[DeskKind | str] = ()) -> str:
    """A desk's Chinese name: "登记台" or, for a combined desk, "登记台+预检台"."""
    return "+".join(k.label_zh for k in desk_serves(kind, also))


def may_assign(
    role: StaffRole | str,
    desk_kind: DeskKind | str | None,
    certificates: Iterable[Certificate],
    on: dt.date,
    *,
    requirements: Mapping[StaffRole, Sequence[CertificateKind]] = REQUIRED_CERTIFICATES,
    also: Iterable[DeskKind | str] = (),
) -> tuple[bool, str]:
    """Whether a staff member in ``role`` may be assigned to a desk of ``desk_kind`` (which ``also``
    serves the steps listed there, see :func:`desk_serves`) on ``on``.

    Each role staffs its own desk (:data:`DESK_FOR_ROLE`: 预检 → 预检台, 登记 → 登记台, 接种 → 接种台,
    留观 → 留观区); medical rescue staff are on duty for the site and are not desk staff. The person
    must also be :func:`qualified` for the role that day: by default screening, vaccination and
    observation staff need a valid training certificate (a vaccinator at a 接种台 above all).
    Medical rescue staff are assigned with ``desk_kind`` ``None`` (on duty for the site), trained too.
    Returns ``(True, "")`` or ``(False, reason)`` with a Chinese reason.
    """
    role = StaffRole(role)
    own = DESK_FOR_ROLE[role]
    if desk_kind is None:
        # On duty for the whole site, at no desk: only medical rescue staff.
        if own is not None:
            return False, f"{role.label_zh}人员须安排到{own.label_zh}"
        return qualified(role, certificates, on, requirements=requirements)
    serves = desk_serves(desk_kind, also)
    where = desk_label(desk_kind, also)
    if own is None:
        return False, f"{role.label_zh}人员负责现场应急救治值守，不安排到{where}"
    if own not in serves:
        return False, f"{role.label_zh}人员不能安排到{where}（应安排到{own.label_zh}）"
    return qualified(role, certificates, on, requirements=requirements)
