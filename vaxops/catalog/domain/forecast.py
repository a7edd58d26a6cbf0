"""Dose evaluation and forecasting: each dose judged by the schedule in force on its day, the next dose
forecast by the schedule in force on the day asked about (``evaluate`` → ``Forecast``).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from .catalogue import ALL, Catalogue, Interval, Product, ProductScope, SchedulePolicy
from .dates import add_years, days
from .records import Contraindication, Deferral, GivenDose

__all__ = [
    "Forecast",
    "JudgedDose",
    "NextDose",
    "Reason",
    "ReasonCode",
    "Status",
    "evaluate",
]


# --------------------------------------------------------------------------------------------------
# Results of an evaluation
# --------------------------------------------------------------------------------------------------


class ReasonCode(enum.StrEnum):
    VALID = "VALID"
    VALID_GRACE = "VALID_GRACE"
    VALID_LATE = "VALID_LATE"
    TOO_EARLY = "TOO_EARLY"
    TOO_YOUNG = "TOO_YOUNG"
    TOO_OLD = "TOO_OLD"
    WRONG_PRODUCT = "WRONG_PRODUCT"
    EXTRA = "EXTRA"
    UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"
    NO_POLICY = "NO_POLICY"


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    message_zh: str


@dataclass(frozen=True)
class JudgedDose:
    """One input dose and the verdict. ``product`` is the canonical catalogue code (``None`` if the
    product is unknown); ``dose_number`` is the position among valid doses, ``None`` when invalid;
    ``is_booster`` is true when the dose was judged as a booster, valid or not."""

    dose: GivenDose
    product: str | None
    valid: bool
    dose_number: int | None
    is_booster: bool
    reason: Reason


@dataclass(frozen=True)
class NextDose:
    """What to give next. ``latest`` is ``None`` when there is no deadline, or when the recommended
    window can no longer be met (then ``overdue`` is ``True``). ``series_doses`` is the number of doses
    in the series this dose belongs to (primary doses, or 1 for the booster); ``None`` for a first dose
    whose allowed products differ in course length."""

    number: int
    is_booster: bool
    allowed_products: tuple[str, ...]
    earliest: dt.date
    recommended: dt.date
    latest: dt.date | None
    overdue: bool
    series_doses: int | None


class Status(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    PRIMARY_COMPLETE = "primary_complete"
    BOOSTER_DUE = "booster_due"
    BOOSTER_COMPLETE = "booster_complete"
    CONTRAINDICATED = "contraindicated"
    DEFERRED = "deferred"


_STATUS_ZH: Final[dict[Status, str]] = {
    Status.NOT_STARTED: "未接种",
    Status.IN_PROGRESS: "接种中",
    Status.PRIMARY_COMPLETE: "已完成全程",
    Status.BOOSTER_DUE: "可加强",
    Status.BOOSTER_COMPLETE: "已加强",
    Status.CONTRAINDICATED: "禁忌",
    Status.DEFERRED: "暂缓",
}


@dataclass(frozen=True)
class Forecast:
    """The state of one person's COVID-19 vaccination as of ``on``.

    ``doses`` are the input doses given on or before ``on``, in chronological order (doses dated after
    ``on`` are left out, so a forecast for a past day sees only what had happened by then).
    ``next_dose`` is ``None`` when nothing more is due (complete) or nothing may be given
    (contraindicated). ``deferred_until``/``deferred_condition`` describe the active deferral, if any.
    ``course_product`` is the product of the first valid dose (``None`` before the course starts).
    """

    on: dt.date
    status: Status
    status_zh: str
    doses: tuple[JudgedDose, ...]
    next_dose: NextDose | None
    deferred_until: dt.date | None
    deferred_condition: str | None
    course_product: str | None
    primary_doses: int | None
    primary_completed_on: dt.date | None
    booster_given_on: dt.date | None
    valid_dose_count: int
    reasons: tuple[str, ...] = ()

    @property
    def valid_doses(self) -> tuple[JudgedDose, ...]:
        return tuple(d for d in self.doses if d.valid)


# --------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------


def _dose_sort_key(d: GivenDose) -> tuple[dt.date, str, str, str, bool]:
    # A total order on every field makes the verdicts independent of the order records arrive in,
    # even for two doses on the same day.
    return (d.date, d.product_code, d.ref or "", d.place or "", d.external)


@dataclass
class _Course:
    product: Product | None = None
    valid: list[tuple[GivenDose, Product]] = field(default_factory=list)
    primary_done: dt.date | None = None
    booster_on: dt.date | None = None


_Verdict = tuple[Product | None, int | None, bool, Reason]


def _no(product: Product | None, code: ReasonCode, message_zh: str, *, booster: bool = False) -> _Verdict:
    return product, None, booster, Reason(code, message_zh)


def _yes(product: Product, number: int, code: ReasonCode, message_zh: str, *, booster: bool) -> _Verdict:
    return product, number, booster, Reason(code, message_zh)


def _grace_message(early: int, grace: int) -> str:
    return f"较最短间隔提前{early}天，在{grace}天宽限期内，计为有效"


def _judge(dose: GivenDose, *, birth_date: dt.date, course: _Course, catalogue: Catalogue) -> _Verdict:
    """Verdict for one dose given the valid doses before it: (product, dose number or None, booster?, reason)."""
    product = catalogue.find_product(dose.product_code)
    if product is None:
        return _no(None, ReasonCode.UNKNOWN_PRODUCT, f"疫苗品种“{dose.product_code}”不在目录中")
    if dose.date < product.min_age_date(birth_date):
        return _no(product, ReasonCode.TOO_YOUNG, f"接种时未满{product.min_age_years}周岁")
    if product.too_old_on(birth_date, dose.date):
        return _no(product, ReasonCode.TOO_OLD, f"接种时已超过{product.max_age_years}周岁")

    if course.product is None:
        if catalogue.policy_for(product.code, dose.date) is None:
            return _no(product, ReasonCode.NO_POLICY, f"{product.short_zh}没有适用的免疫程序")
        return _yes(product, 1, ReasonCode.VALID, "有效", booster=False)

    pol = catalogue.policy_for(course.product.code, dose.date)
    if pol is None:  # pragma: no cover - a course only starts with a product that has a schedule
        return _no(product, ReasonCode.NO_POLICY, f"{course.product.short_zh}没有适用的免疫程序")
    number = len(course.valid) + 1

    if course.primary_done is None and len(course.valid) < pol.primary_doses:
        if not pol.allows_completion_with(product.code):
            if product.platform is not course.product.platform:
                first = f"{course.product.short_zh}，{course.product.platform.label_zh}"
                return _no(
                    product, ReasonCode.WRONG_PRODUCT, f"与第1剂（{first}）技术路线不同，不能用于完成全程接种"
                )
            return _no(
                product, ReasonCode.WRONG_PRODUCT, f"不在{course.product.short_zh}可替换续种的品种范围内"
            )
        interval = pol.intervals[number - 2]
        previous = course.valid[-1][0].date
        gap = (dose.date - previous).days
        if gap < interval.min_days - pol.grace_days:
            return _no(product, ReasonCode.TOO_EARLY, f"距上一剂间隔不足{interval.min_days}天")
        if gap < interval.min_days:
            message = _grace_message(interval.min_days - gap, pol.grace_days)
            return _yes(product, number, ReasonCode.VALID_GRACE, message, booster=False)
        latest = _primary_latest(interval, previous, course.valid[0][0].date)
        if latest is not None and dose.date > latest:
            message = f"晚于建议的最晚接种日期{latest.isoformat()}，仍计为有效（中断后继续，无需重新开始）"
            return _yes(product, number, ReasonCode.VALID_LATE, message, booster=False)
        return _yes(product, number, ReasonCode.VALID, "有效", booster=False)

    if course.booster_on is not None:
        return _no(product, ReasonCode.EXTRA, "已完成全程及加强免疫，此剂不计入")
    rule = pol.booster
    if rule is None:
        return _no(product, ReasonCode.EXTRA, "已完成全程接种，该程序无加强免疫，此剂不计入")
    if product.code not in rule.allowed_products:
        message = f"{product.short_zh}不能用于{course.product.short_zh}全程接种后的加强免疫"
        return _no(product, ReasonCode.WRONG_PRODUCT, message, booster=True)
    if dose.date < add_years(birth_date, rule.min_age_years):
        return _no(product, ReasonCode.TOO_YOUNG, f"加强免疫须年满{rule.min_age_years}周岁", booster=True)
    completed = course.primary_done or course.valid[-1][0].date
    gap = (dose.date - completed).days
    if gap < rule.min_days_after_primary - pol.grace_days:
        message = f"距完成全程接种不足{rule.min_days_after_primary}天"
        return _no(product, ReasonCode.TOO_EARLY, message, booster=True)
    if gap < rule.min_days_after_primary:
        message = _grace_message(rule.min_days_after_primary - gap, pol.grace_days)
        return _yes(product, number, ReasonCode.VALID_GRACE, message, booster=True)
    return _yes(product, number, ReasonCode.VALID, "有效", booster=True)


def _primary_latest(interval: Interval, previous: dt.date, first: dt.date) -> dt.date | None:
    limits = []
    if interval.latest_days is not None:
        limits.append(previous + days(interval.latest_days))
    if interval.latest_from_dose1_days is not None:
        limits.append(first + days(interval.latest_from_dose1_days))
    return min(limits) if limits else None


def _canonical_scope(c: Contraindication, catalogue: Catalogue) -> ProductScope:
    if c.products is ALL:
        return ALL
    codes = []
    for code in c.products:
        p = catalogue.find_product(code)
        codes.append(p.code if p is not None else code)
    return tuple(codes)


def evaluate(
    *,
    birth_date: dt.date,
    doses: Iterable[GivenDose],
    contraindications: Iterable[Contraindication] = (),
    deferrals: Iterable[Deferral] = (),
    on: dt.date,
    catalogue: Catalogue,
    other_vaccine_dates: Iterable[dt.date] = (),
) -> Forecast:
    """Judge every dose and forecast the next one, as of ``on``.

    Each dose is judged by the schedule version in force on the day it was given; the next dose uses
    the version in force on ``on``. ``other_vaccine_dates`` are non-COVID vaccinations; the next dose
    keeps the policy's gap (14 days) from them. Always returns a ``Forecast``; never raises for odd
    records (they come back as invalid doses with a reason).
    """
    ordered = sorted((d for d in doses if d.date <= on), key=_dose_sort_key)
    course = _Course()
    judged: list[JudgedDose] = []
    for dose in ordered:
        product, number, is_booster, reason = _judge(
            dose, birth_date=birth_date, course=course, catalogue=catalogue
        )
        valid = number is not None
        judged.append(
            JudgedDose(
                dose=dose,
                product=product.code if product else None,
                valid=valid,
                dose_number=number,
                is_booster=is_booster,
                reason=reason,
            )
        )
        if not valid or product is None:
            continue
        if course.product is None:
            course.product = product
        course.valid.append((dose, product))
        if is_booster:
            course.booster_on = dose.date
        else:
            pol = catalogue.policy_for(course.product.code, dose.date)
            if pol is not None and len(course.valid) >= pol.primary_doses:
                course.primary_done = dose.date

    scopes = [_canonical_scope(c, catalogue) for c in contraindications]
    contraindicated_all = any(s is ALL for s in scopes)
    excluded = {code for s in scopes if s is not ALL for code in s}
    active = [d for d in deferrals if d.active_on(on)]
    dated = [d.until for d in active if d.until is not None]
    deferred_until = max(dated) if dated else None
    conditions = [d.condition for d in active if d.condition]
    deferred_condition = "；".join(dict.fromkeys(conditions)) or None
    reasons: list[str] = []
    reasons += [c.reason for c in contraindications]
    reasons += [d.reason for d in active]

    primary_doses = None
    if course.product is not None:
        pol_now = catalogue.policy_for(course.product.code, on)
        primary_doses = pol_now.primary_doses if pol_now else None

    next_dose: NextDose | None = None
    blocked_primary = False
    if not contraindicated_all:
        next_dose, blocked_primary, note = _next_dose(
            birth_date=birth_date,
            course=course,
            excluded=excluded,
            deferred_until=deferred_until,
            other_vaccine_dates=tuple(other_vaccine_dates),
            on=on,
            catalogue=catalogue,
        )
        if note:
            reasons.append(note)

    if contraindicated_all or blocked_primary:
        status = Status.CONTRAINDICATED
    elif next_dose is None:
        status = Status.BOOSTER_COMPLETE if course.booster_on is not None else Status.PRIMARY_COMPLETE
    elif active:
        status = Status.DEFERRED
    elif not course.valid:
        status = Status.NOT_STARTED
    elif not next_dose.is_booster:
        status = Status.IN_PROGRESS
    elif next_dose.earliest <= on:
        status = Status.BOOSTER_DUE
    else:
        status = Status.PRIMARY_COMPLETE

    if status is Status.DEFERRED:
        status_zh = (
            f"暂缓至{deferred_until.isoformat()}" if deferred_until else f"暂缓（{deferred_condition}）"
        )
    else:
        status_zh = _STATUS_ZH[status]

    return Forecast(
        on=on,
        status=status,
        status_zh=status_zh,
        doses=tuple(judged),
        next_dose=next_dose,
        deferred_until=deferred_until,
        deferred_condition=deferred_condition,
        course_product=course.product.code if course.product else None,
        primary_doses=primary_doses,
        primary_completed_on=course.primary_done,
        booster_given_on=course.booster_on,
        valid_dose_count=len(course.valid),
        reasons=tuple(reasons),
    )


def _next_dose(
    *,
    birth_date: dt.date,
    course: _Course,
    excluded: set[str],
    deferred_until: dt.date | None,
    other_vaccine_dates: tuple[dt.date, ...],
    on: dt.date,
    catalogue: Catalogue,
) -> tuple[NextDose | None, bool, str | None]:
    """(next dose or None, True if a primary dose is blocked for want of a usable product, note)."""
    latest: dt.date | None = None
    rule_min_age = 0
    course_policy: SchedulePolicy | None = None
    series_doses: int | None
    if course.product is None:
        number, is_booster = 1, False
        candidates = [p.code for p in catalogue.products_in_use(on)]
        base = birth_date
        recommended_raw = birth_date
        series_doses = None
    else:
        pol = catalogue.policy_for(course.product.code, on)
        if pol is None:  # pragma: no cover - a course only starts with a product that has a schedule
            return None, False, None
        course_policy = pol
        number = len(course.valid) + 1
        if course.primary_done is None and len(course.valid) < pol.primary_doses:
            is_booster = False
            interval = pol.intervals[number - 2]
            previous = course.valid[-1][0].date
            base = previous + days(interval.min_days)
            recommended_raw = previous + days(interval.recommended_days)
            latest = _primary_latest(interval, previous, course.valid[0][0].date)
            # Same product first, then same-platform substitutes: never restart with another platform.
            candidates = [course.product.code] + [
                c for c in pol.completion_products if c != course.product.code
            ]
            series_doses = pol.primary_doses
        elif course.booster_on is None and pol.booster is not None:
            is_booster = True
            rule = pol.booster
            completed = course.primary_done or course.valid[-1][0].date
            base = completed + days(rule.min_days_after_primary)
            recommended_raw = completed + days(rule.recommended_days)
            first = [course.product.code] if course.product.code in rule.allowed_products else []
            candidates = first + [c for c in rule.allowed_products if c != course.product.code]
            rule_min_age = rule.min_age_years
            series_doses = 1
        else:
            return None, False, None

    if deferred_until is not None:
        base = max(base, deferred_until)

    # Each product has its own age limit and gap to other vaccines, so each gets its own earliest day;
    # the forecast offers the products usable on the first such day.
    per_product: list[tuple[str, dt.date]] = []
    for code in dict.fromkeys(candidates):
        if code in excluded:
            continue
        product = catalogue.find_product(code)
        if product is None:
            continue
        earliest = max(base, product.min_age_date(birth_date), add_years(birth_date, rule_min_age))
        # A started course follows its own schedule; a first dose follows the chosen product's.
        policy = course_policy or catalogue.policy_in_force(code, on)
        if policy is not None:
            for other in other_vaccine_dates:
                earliest = max(earliest, other + days(policy.min_gap_other_vaccines_days))
        # The dose can only be given from today on, so an upper age limit is checked then, not at a
        # first-eligible day that may lie decades back.
        if product.too_old_on(birth_date, max(earliest, on)):
            continue
        per_product.append((code, earliest))

    if not per_product:
        if is_booster:
            return None, False, "没有可用于加强免疫的品种（禁忌或年龄限制）"
        return None, True, "没有可用于本剂次的品种（禁忌或年龄限制）"

    earliest = min(e for _, e in per_product)
    allowed = tuple(code for code, e in per_product if e == earliest)
    recommended = max(recommended_raw, earliest)
    overdue = False
    if latest is not None:
        if earliest > latest:
            # The window can no longer be met; a deadline nobody can keep would only mislead.
            latest, overdue = None, True
        else:
            recommended = min(recommended, latest)
            overdue = on > latest
    return (
        NextDose(
            number=number,
            is_booster=is_booster,
            allowed_products=allowed,
            earliest=earliest,
            recommended=recommended,
            latest=latest,
            overdue=overdue,
            series_doses=series_doses
            if series_doses is not None
            else _common_primary_doses(allowed, on, catalogue),
        ),
        False,
        None,
    )


def _common_primary_doses(codes: Iterable[str], on: dt.date, catalogue: Catalogue) -> int | None:
    counts = {pol.primary_doses for c in codes if (pol := catalogue.policy_for(c, on)) is not None}
    return counts.pop() if len(counts) == 1 else None
