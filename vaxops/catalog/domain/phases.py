"""Campaign phases (阶段) and priority groups: who may be booked, and which mobilisation list
(应接尽接) a person is on.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from .dates import add_years
from .forecast import Forecast, Status

__all__ = [
    "Eligibility",
    "EligibilityCode",
    "MobilisationCategory",
    "Phase",
    "booking_eligibility",
    "mobilisation_category",
]


@dataclass(frozen=True)
class Phase:
    """A campaign phase (阶段): who may start a course, and when. ``priority_groups`` empty = everyone;
    ages are completed years, inclusive (``max_age`` 59 admits people until the day before they turn
    60); ``None`` = no limit. ``ends_on`` is inclusive, ``None`` = open-ended."""

    code: str
    name_zh: str
    name_en: str
    priority_groups: tuple[str, ...]
    min_age: int | None
    max_age: int | None
    starts_on: dt.date
    ends_on: dt.date | None = None

    def first_admission(
        self, *, birth_date: dt.date, priority_group: str | None, not_before: dt.date
    ) -> dt.date | None:
        """The first day on or after ``not_before`` this phase admits the person; ``None`` if never."""
        if self.priority_groups and priority_group not in self.priority_groups:
            return None
        day = max(not_before, self.starts_on)
        if self.min_age is not None:
            day = max(day, add_years(birth_date, self.min_age))
        if self.max_age is not None and day >= add_years(birth_date, self.max_age + 1):
            return None
        if self.ends_on is not None and day > self.ends_on:
            return None
        return day

    def admits(self, *, birth_date: dt.date, priority_group: str | None, on: dt.date) -> bool:
        return self.first_admission(birth_date=birth_date, priority_group=priority_group, not_before=on) == on


class EligibilityCode(enum.StrEnum):
    ALLOWED = "allowed"
    NOT_DUE = "not_due"
    NO_OPEN_PHASE = "no_open_phase"
    NO_PHASE = "no_phase"
    DEFERRED = "deferred"
    CONTRAINDICATED = "contraindicated"
    COMPLETE = "complete"


@dataclass(frozen=True)
class Eligibility:
    """Whether the person may be booked for ``on``; if not, why and from when (``earliest`` ``None``
    when no date can be given: contraindicated, complete, open-ended deferral, no future phase)."""

    allowed: bool
    reason_zh: str
    earliest: dt.date | None
    code: EligibilityCode


def booking_eligibility(
    *,
    birth_date: dt.date,
    priority_group: str | None,
    forecast: Forecast,
    phases: Sequence[Phase],
    on: dt.date,
) -> Eligibility:
    """May this person be booked for a session on ``on``? ``forecast`` is from ``evaluate`` on or
    before ``on``.

    Phases only gate the first dose: once a course has started, later doses and the booster are
    booked whatever phase is open, because a started course must be finished (补种).
    """
    nd = forecast.next_dose
    if forecast.status is Status.CONTRAINDICATED:
        return Eligibility(False, "存在接种禁忌，不能预约", None, EligibilityCode.CONTRAINDICATED)
    if nd is None:
        msg = "已完成加强免疫" if forecast.booster_given_on else "已完成全程接种，目前无需再接种"
        return Eligibility(False, msg, None, EligibilityCode.COMPLETE)
    until = forecast.deferred_until
    # The forecast may be from an earlier day than the session; a dated deferral may have run out by then.
    deferred = forecast.status is Status.DEFERRED and (until is None or until > on)
    if deferred and until is None:
        msg = f"暂缓接种（{forecast.deferred_condition}）"
        return Eligibility(False, msg, None, EligibilityCode.DEFERRED)

    label = "加强针" if nd.is_booster else f"第{nd.number}剂"
    due_from = max(on, nd.earliest)
    first = due_from
    if nd.number == 1:
        dates = [
            d
            for p in phases
            if (
                d := p.first_admission(
                    birth_date=birth_date, priority_group=priority_group, not_before=due_from
                )
            )
        ]
        if not dates:
            return Eligibility(False, "没有面向其所属人群或年龄的接种阶段", None, EligibilityCode.NO_PHASE)
        first = min(dates)
    if deferred:
        return Eligibility(False, f"暂缓接种，{first.isoformat()}起可预约", first, EligibilityCode.DEFERRED)
    if first > due_from:
        msg = f"所属人群尚未开放接种，{first.isoformat()}起可预约"
        return Eligibility(False, msg, first, EligibilityCode.NO_OPEN_PHASE)
    if nd.earliest > on:
        msg = f"未到接种时间，{label}最早可于{nd.earliest.isoformat()}接种"
        return Eligibility(False, msg, nd.earliest, EligibilityCode.NOT_DUE)
    msg = f"可以预约{label}"
    if nd.overdue or (nd.latest is not None and on > nd.latest):
        msg += "（已超过建议的最晚日期，请尽快补种）"
    return Eligibility(True, msg, on, EligibilityCode.ALLOWED)


class MobilisationCategory(enum.StrEnum):
    NOT_STARTED = "not_started"
    DOSE_DUE = "dose_due"
    OVERDUE = "overdue"
    BOOSTER_DUE = "booster_due"
    COMPLETE = "complete"
    CONTRAINDICATED = "contraindicated"
    DEFERRED = "deferred"
    NOT_YET_DUE = "not_yet_due"


def mobilisation_category(forecast: Forecast, on: dt.date) -> MobilisationCategory:
    """Which mobilisation list (应接尽接) the person belongs on, judged on ``on``.

    Someone whose primary course is complete and whose booster is not yet due counts as ``complete``;
    ``not_yet_due`` is for a course waiting out an interval, or a person too young to start.
    A deferral that has lapsed by ``on`` no longer counts.
    """
    nd = forecast.next_dose
    if forecast.status is Status.CONTRAINDICATED:
        return MobilisationCategory.CONTRAINDICATED
    if nd is None:
        return MobilisationCategory.COMPLETE
    if forecast.status is Status.DEFERRED and (
        forecast.deferred_until is None or forecast.deferred_until > on
    ):
        return MobilisationCategory.DEFERRED
    if nd.earliest > on:
        return MobilisationCategory.COMPLETE if nd.is_booster else MobilisationCategory.NOT_YET_DUE
    if nd.number == 1:
        return MobilisationCategory.NOT_STARTED
    if nd.overdue or (nd.latest is not None and on > nd.latest):
        return MobilisationCategory.OVERDUE
    if nd.is_booster:
        return MobilisationCategory.BOOSTER_DUE
    return MobilisationCategory.DOSE_DUE


def eligible_since(
    *,
    birth_date: dt.date,
    priority_group: str | None,
    dose_number: int | None,
    earliest: dt.date | None,
    phases: Sequence[Phase],
) -> dt.date | None:
    """The day a village worker can act on: since when the person may have their next dose. For a first
    dose, the later of the schedule's earliest day and the day a phase first admits them (an 87-year-old
    of the older people's phase is eligible since that phase opened, not since turning 18); for later
    doses, the schedule's earliest day. ``None`` when no phase will ever admit them (or nothing is due)."""
    if earliest is None or dose_number is None:
        return None
    if dose_number != 1:
        return earliest
    dates = [
        d
        for p in phases
        if (d := p.first_admission(birth_date=birth_date, priority_group=priority_group, not_before=earliest))
    ]
    return min(dates) if dates else None


def due_note(
    *,
    on: dt.date,
    dose_number: int | None,
    since: dt.date | None,
    latest: dt.date | None,
    window_missed: bool = False,
) -> tuple[str, int | None]:
    """What the 最晚 column says, and the days overdue (``None`` when not overdue):

    - a dose with a latest day passed: "逾期N天" (N days after the latest day);
    - a window that cannot be met any more: "已超出接种时限";
    - a latest day still ahead: "YYYY-MM-DD前（还有N天）";
    - a first dose (no latest day in the schedule) eligible since a day passed: "已可接种N天";
    - otherwise (not yet eligible, a booster without a deadline, nothing due): "无时限" or "".
    """
    if dose_number is None:
        return "", None
    if window_missed:
        return "已超出接种时限", None
    if latest is not None:
        if on > latest:
            n = (on - latest).days
            return f"逾期{n}天", n
        return f"{latest.isoformat()}前（还有{(latest - on).days}天）", None
    if since is not None and since <= on and dose_number == 1:
        return f"已可接种{(on - since).days}天", None
    if since is None and dose_number == 1:
        return "尚无开放的接种阶段", None
    return "无时限", None
