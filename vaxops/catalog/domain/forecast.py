"""Pure rules of the vaccine catalogue: products, versioned schedules, dose evaluation and forecasting,
pre-screening, campaign phases and booking eligibility.

No Django, no ORM, no clock: every function takes the day it reasons about (``on``) and returns plain,
frozen values, so the same input always gives the same answer and tests need no database.
The default data (the five Chinese products, the 2021/2022 policies, the question sets) is in
``vaxops.catalog.defaults``; the database copy is seeded from it and handed back to these functions
as the same dataclasses.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Final, Literal

__all__ = [
    "ALL",
    "AnswerType",
    "BoosterRule",
    "Catalogue",
    "Contraindication",
    "Deferral",
    "Eligibility",
    "EligibilityCode",
    "Forecast",
    "GivenDose",
    "Interval",
    "JudgedDose",
    "MobilisationCategory",
    "NextDose",
    "Outcome",
    "Phase",
    "Platform",
    "Product",
    "ProductScope",
    "Question",
    "QuestionSet",
    "Reason",
    "ReasonCode",
    "Rule",
    "RuleAction",
    "RuleScope",
    "SchedulePolicy",
    "ScreeningResult",
    "Scope",
    "Status",
    "add_years",
    "age_on",
    "booking_eligibility",
    "contraindication_from_screening",
    "deferrals_from_screening",
    "evaluate",
    "forecast_to_dict",
    "mobilisation_category",
    "question_set_for",
    "screen",
    "to_fhir_recommendation",
]


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` later; 29 February maps to 1 March in common years.

    1 March rather than 28 February because an age limit must never be reached a day early.
    """
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Completed years (周岁) on ``on``; negative if ``on`` is before the birth date."""
    years = on.year - birth_date.year
    if on < add_years(birth_date, years):
        years -= 1
    return years


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


# --------------------------------------------------------------------------------------------------
# Products and the catalogue
# --------------------------------------------------------------------------------------------------


class Platform(enum.StrEnum):
    """Technical route (技术路线); a course may only be completed within one platform."""

    INACTIVATED = "inactivated"
    ADENOVIRUS = "adenovirus"
    PROTEIN = "protein"
    MRNA = "mrna"

    @property
    def label_zh(self) -> str:
        return _PLATFORM_ZH[self]


_PLATFORM_ZH: Final[dict[Platform, str]] = {
    Platform.INACTIVATED: "灭活疫苗",
    Platform.ADENOVIRUS: "腺病毒载体疫苗",
    Platform.PROTEIN: "重组蛋白疫苗",
    Platform.MRNA: "mRNA疫苗",
}


class Scope(enum.Enum):
    """Sentinel type for "every product"; use the module constant ``ALL``."""

    ALL = "all"


ALL: Final = Scope.ALL
ProductScope = tuple[str, ...] | Literal[Scope.ALL]


@dataclass(frozen=True)
class Product:
    """One vaccine product (品种) as the county's catalogue knows it.

    ``dcc_mp``/``dcc_ma``/``dcc_vp`` are EU DCC value-set codes (medicinal product, marketing
    authorisation holder or manufacturer, vaccine/prophylaxis); ``None`` where the value set has none.
    ``open_vial_discard_hours`` is ``None`` for single-dose presentations. ``max_age_years`` ``None``
    means no upper age limit.
    """

    code: str
    name_zh: str
    name_en: str
    manufacturer_zh: str
    manufacturer_en: str
    mah: str
    platform: Platform
    dcc_mp: str | None
    dcc_ma: str | None
    dcc_vp: str | None
    presentation: str
    doses_per_vial: int
    open_vial_discard_hours: int | None
    dose_volume_ml: float
    route: str
    site: str
    storage_min_c: float
    storage_max_c: float
    trace_prefixes: tuple[str, ...]
    min_age_years: int
    max_age_years: int | None = None

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("产品编码不能为空")
        for prefix in self.trace_prefixes:
            if len(prefix) != 7 or not prefix.isdigit():
                raise ValueError(f"{self.code}: 追溯码前缀必须是7位数字，收到“{prefix}”")
        if self.doses_per_vial < 1:
            raise ValueError(f"{self.code}: 每瓶剂数必须≥1")
        if self.storage_min_c > self.storage_max_c:
            raise ValueError(f"{self.code}: 储存温度下限高于上限")
        if self.min_age_years < 0 or (
            self.max_age_years is not None and self.max_age_years < self.min_age_years
        ):
            raise ValueError(f"{self.code}: 适用年龄范围无效")

    @property
    def label_zh(self) -> str:
        """Name as shown at the desk: generic name plus manufacturer, since three products share a name."""
        return f"{self.name_zh}（{self.manufacturer_zh}）"

    def min_age_date(self, birth_date: dt.date) -> dt.date:
        """First day the person is old enough for this product."""
        return add_years(birth_date, self.min_age_years)

    def too_old_on(self, birth_date: dt.date, on: dt.date) -> bool:
        return self.max_age_years is not None and age_on(birth_date, on) > self.max_age_years


@dataclass(frozen=True)
class Interval:
    """Gap before the next primary dose, counted from the previous valid dose.

    ``latest_days`` (from the previous dose) and ``latest_from_dose1_days`` (from dose 1) are the
    recommended completion windows; missing them never invalidates a dose (an interrupted course is
    continued), it only makes the next dose overdue. ``None`` means no such limit.
    """

    min_days: int
    recommended_days: int
    latest_days: int | None = None
    latest_from_dose1_days: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.min_days <= self.recommended_days:
            raise ValueError("间隔设置无效：须 0 ≤ 最短间隔 ≤ 推荐间隔")
        for latest in (self.latest_days, self.latest_from_dose1_days):
            if latest is not None and latest < self.recommended_days:
                raise ValueError("间隔设置无效：最晚间隔不能短于推荐间隔")


@dataclass(frozen=True)
class BoosterRule:
    """One booster dose after the primary course; ``allowed_products`` lists homologous and
    heterologous (序贯) products in order of preference. ``recommended_days_after_primary`` ``None``
    means the minimum is also the recommendation."""

    min_days_after_primary: int
    allowed_products: tuple[str, ...]
    recommended_days_after_primary: int | None = None
    min_age_years: int = 18

    def __post_init__(self) -> None:
        if not self.allowed_products:
            raise ValueError("加强免疫须至少允许一个品种")
        rec = self.recommended_days_after_primary
        if self.min_days_after_primary < 0 or (rec is not None and rec < self.min_days_after_primary):
            raise ValueError("加强免疫间隔设置无效")

    @property
    def recommended_days(self) -> int:
        return self.recommended_days_after_primary or self.min_days_after_primary


@dataclass(frozen=True)
class SchedulePolicy:
    """The schedule (免疫程序) for courses started with ``product_code``, in force from
    ``effective_from`` to ``effective_to`` inclusive (``None`` = still in force).

    ``intervals[i]`` is the gap between dose i+1 and dose i+2. ``completion_products`` are the
    same-platform products that may complete a course begun with this product (the product itself is
    always allowed). ``booster`` is ``None`` when the policy has no booster.
    """

    product_code: str
    effective_from: dt.date
    effective_to: dt.date | None
    primary_doses: int
    intervals: tuple[Interval, ...]
    completion_products: tuple[str, ...]
    booster: BoosterRule | None = None
    grace_days: int = 4
    min_gap_other_vaccines_days: int = 14

    def __post_init__(self) -> None:
        if self.primary_doses < 1:
            raise ValueError(f"{self.product_code}: 基础免疫剂次必须≥1")
        if len(self.intervals) != self.primary_doses - 1:
            raise ValueError(f"{self.product_code}: 间隔数量应为剂次数减一")
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(f"{self.product_code}: 失效日期早于生效日期")
        if self.grace_days < 0 or self.min_gap_other_vaccines_days < 0:
            raise ValueError(f"{self.product_code}: 宽限期和间隔天数不能为负")

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def allows_completion_with(self, product_code: str) -> bool:
        return product_code == self.product_code or product_code in self.completion_products


@dataclass(frozen=True)
class Catalogue:
    """Products plus their versioned schedules, with look-ups. Construction validates cross-references
    (unknown codes, completion across platforms, overlapping versions) and raises ``ValueError``."""

    products: tuple[Product, ...]
    policies: tuple[SchedulePolicy, ...]
    _by_code: dict[str, Product] = field(init=False, repr=False, compare=False)
    _by_mp: dict[str, Product] = field(init=False, repr=False, compare=False)
    _policies: dict[str, tuple[SchedulePolicy, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code: dict[str, Product] = {}
        by_mp: dict[str, Product] = {}
        for p in self.products:
            if p.code in by_code:
                raise ValueError(f"产品编码重复：{p.code}")
            by_code[p.code] = p
            if p.dcc_mp:
                by_mp.setdefault(p.dcc_mp, p)
        grouped: dict[str, list[SchedulePolicy]] = {}
        for pol in self.policies:
            course = by_code.get(pol.product_code)
            if course is None:
                raise ValueError(f"免疫程序引用了未知产品：{pol.product_code}")
            for code in pol.completion_products:
                other = by_code.get(code)
                if other is None:
                    raise ValueError(f"{pol.product_code}: 续种品种未知：{code}")
                if other.platform is not course.platform:
                    raise ValueError(f"{pol.product_code}: 续种品种{code}技术路线不同")
            if pol.booster is not None:
                for code in pol.booster.allowed_products:
                    if code not in by_code:
                        raise ValueError(f"{pol.product_code}: 加强品种未知：{code}")
            grouped.setdefault(pol.product_code, []).append(pol)
        ordered: dict[str, tuple[SchedulePolicy, ...]] = {}
        for code, versions in grouped.items():
            versions.sort(key=lambda v: v.effective_from)
            for a, b in zip(versions, versions[1:], strict=False):
                if a.effective_to is None or a.effective_to >= b.effective_from:
                    raise ValueError(
                        f"{code}: 免疫程序版本的有效期重叠（{a.effective_from}与{b.effective_from}）"
                    )
            ordered[code] = tuple(versions)
        object.__setattr__(self, "_by_code", by_code)
        object.__setattr__(self, "_by_mp", by_mp)
        object.__setattr__(self, "_policies", ordered)

    def find_product(self, code: str) -> Product | None:
        """The product with this catalogue code, else with this DCC ``mp`` code; ``None`` if neither."""
        return self._by_code.get(code) or self._by_mp.get(code)

    def product(self, code: str) -> Product:
        """Like ``find_product`` but raises ``KeyError`` for an unknown code."""
        found = self.find_product(code)
        if found is None:
            raise KeyError(f"疫苗品种“{code}”不在目录中")
        return found

    def product_for_trace_code(self, trace_code: str) -> Product | None:
        """The product whose 7-digit prefix starts a 20-digit traceability code; ``None`` if none does."""
        prefix = trace_code.strip()[:7]
        for p in self.products:
            if prefix in p.trace_prefixes:
                return p
        return None

    def policies_for(self, product_code: str) -> tuple[SchedulePolicy, ...]:
        """All versions for courses begun with this product, oldest first (empty if none)."""
        return self._policies.get(product_code, ())

    def policy_in_force(self, product_code: str, day: dt.date) -> SchedulePolicy | None:
        """The version in force on ``day``; ``None`` if no version covers that day."""
        for pol in self.policies_for(product_code):
            if pol.in_force(day):
                return pol
        return None

    def policy_for(self, product_code: str, day: dt.date) -> SchedulePolicy | None:
        """The version that governs a dose or forecast on ``day``: the one in force, else the nearest.

        Emergency-use doses given before the first published version follow the first version, and a
        course begun with a product whose schedule has since lapsed is still completed under its last
        version (an interrupted course is never abandoned). ``None`` only if the product has no
        schedule at all.
        """
        versions = self.policies_for(product_code)
        if not versions:
            return None
        in_force = self.policy_in_force(product_code, day)
        if in_force is not None:
            return in_force
        if day < versions[0].effective_from:
            return versions[0]
        earlier = [v for v in versions if v.effective_from <= day]
        return earlier[-1] if earlier else versions[-1]

    def products_in_use(self, day: dt.date) -> tuple[Product, ...]:
        """Products with which a new course may be started on ``day``, in catalogue order."""
        return tuple(p for p in self.products if self.policy_in_force(p.code, day) is not None)

    def codes_on_platform(self, platform: Platform) -> tuple[str, ...]:
        return tuple(p.code for p in self.products if p.platform is platform)


# --------------------------------------------------------------------------------------------------
# Inputs of an evaluation
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GivenDose:
    """A dose on record. ``product_code`` may be a catalogue code or a DCC ``mp`` code; ``external``
    marks doses given elsewhere (another county, abroad); ``ref`` is the caller's record id, echoed back
    so results can be matched to rows."""

    product_code: str
    date: dt.date
    place: str | None = None
    external: bool = False
    ref: str | None = None


@dataclass(frozen=True)
class Contraindication:
    """The person must not receive ``products`` (catalogue codes, or ``ALL``)."""

    products: ProductScope
    reason: str

    def __post_init__(self) -> None:
        if self.products is not ALL and not self.products:
            raise ValueError("禁忌须指明品种或全部品种")

    def applies_to(self, product_code: str) -> bool:
        return self.products is ALL or product_code in self.products


@dataclass(frozen=True)
class Deferral:
    """Vaccination is postponed until ``until`` (exclusive: vaccination allowed on that day) or, when
    ``until`` is ``None``, until ``condition`` is met (e.g. "妊娠结束后") and someone clears it."""

    until: dt.date | None
    condition: str | None
    reason: str

    def __post_init__(self) -> None:
        if self.until is None and not self.condition:
            raise ValueError("暂缓须给出日期或条件")

    def active_on(self, on: dt.date) -> bool:
        return self.until > on if self.until is not None else True


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
            return _no(product, ReasonCode.NO_POLICY, f"{product.code}没有适用的免疫程序")
        return _yes(product, 1, ReasonCode.VALID, "有效", booster=False)

    pol = catalogue.policy_for(course.product.code, dose.date)
    if pol is None:  # pragma: no cover - a course only starts with a product that has a schedule
        return _no(product, ReasonCode.NO_POLICY, f"{course.product.code}没有适用的免疫程序")
    number = len(course.valid) + 1

    if course.primary_done is None and len(course.valid) < pol.primary_doses:
        if not pol.allows_completion_with(product.code):
            if product.platform is not course.product.platform:
                first = f"{course.product.code}，{course.product.platform.label_zh}"
                return _no(
                    product, ReasonCode.WRONG_PRODUCT, f"与第1剂（{first}）技术路线不同，不能用于完成全程接种"
                )
            return _no(product, ReasonCode.WRONG_PRODUCT, f"不在{course.product.code}可替换续种的品种范围内")
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
        message = f"{product.code}不能用于{course.product.code}全程接种后的加强免疫"
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
        limits.append(previous + _days(interval.latest_days))
    if interval.latest_from_dose1_days is not None:
        limits.append(first + _days(interval.latest_from_dose1_days))
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
            base = previous + _days(interval.min_days)
            recommended_raw = previous + _days(interval.recommended_days)
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
            base = completed + _days(rule.min_days_after_primary)
            recommended_raw = completed + _days(rule.recommended_days)
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
                earliest = max(earliest, other + _days(policy.min_gap_other_vaccines_days))
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


# --------------------------------------------------------------------------------------------------
# Output formats
# --------------------------------------------------------------------------------------------------

SNOMED: Final = "http://snomed.info/sct"
LOINC: Final = "http://loinc.org"
ATC: Final = "http://www.whocc.no/atc"
PRODUCT_SYSTEM: Final = "urn:vaxops:vaccine-product"
FORECAST_STATUS_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status"

_FORECAST_DISPLAY: Final = {
    "due": "Due",
    "overdue": "Overdue",
    "complete": "Complete",
    "contraindicated": "Contraindicated",
}


def _vaccine_concept(code: str, catalogue: Catalogue | None) -> dict[str, Any]:
    product = catalogue.find_product(code) if catalogue else None
    coding: list[dict[str, str]] = [
        {"system": PRODUCT_SYSTEM, "code": code, **({"display": product.name_en} if product else {})}
    ]
    if product is not None and product.dcc_vp:
        system = ATC if product.dcc_vp[:1].isalpha() else SNOMED
        coding.append({"system": system, "code": product.dcc_vp})
    concept: dict[str, Any] = {"coding": coding}
    if product is not None:
        concept["text"] = product.label_zh
    return concept


def _criterion(code: str, display: str, day: dt.date) -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "value": day.isoformat(),
    }


def to_fhir_recommendation(
    forecast: Forecast, *, patient_ref: str, catalogue: Catalogue | None = None
) -> dict[str, Any]:
    """A FHIR R4 ``ImmunizationRecommendation`` for the forecast (one recommendation entry).

    ``forecastStatus`` is ``contraindicated``, ``complete`` (nothing more due), ``overdue`` or ``due``
    (deferred and not-yet-due people are ``due`` with a later earliest date). Pass ``catalogue`` to add
    product names and DCC vaccine-type codings to ``vaccineCode``.
    """
    nd = forecast.next_dose
    if forecast.status is Status.CONTRAINDICATED:
        status = "contraindicated"
    elif nd is None:
        status = "complete"
    elif nd.overdue:
        status = "overdue"
    else:
        status = "due"
    rec: dict[str, Any] = {
        "targetDisease": {"coding": [{"system": SNOMED, "code": "840539006", "display": "COVID-19"}]},
        "forecastStatus": {
            "coding": [
                {"system": FORECAST_STATUS_SYSTEM, "code": status, "display": _FORECAST_DISPLAY[status]}
            ],
            "text": forecast.status_zh,
        },
    }
    codes = nd.allowed_products if nd else ((forecast.course_product,) if forecast.course_product else ())
    if codes:
        rec["vaccineCode"] = [_vaccine_concept(c, catalogue) for c in codes]
    if nd is not None:
        rec["doseNumberPositiveInt"] = nd.number
        rec["series"] = "加强免疫" if nd.is_booster else "基础免疫"
        if nd.series_doses:
            rec["seriesDosesPositiveInt"] = nd.series_doses
        criteria = [
            _criterion("30981-5", "Earliest date to give", nd.earliest),
            _criterion("30980-7", "Date vaccine due", nd.recommended),
        ]
        if nd.latest is not None:
            criteria.append(_criterion("59777-3", "Latest date to give immunization", nd.latest))
        rec["dateCriterion"] = criteria
    if forecast.reasons:
        rec["forecastReason"] = [{"text": r} for r in forecast.reasons]
    return {
        "resourceType": "ImmunizationRecommendation",
        "patient": {"reference": patient_ref},
        "date": forecast.on.isoformat(),
        "recommendation": [rec],
    }


def _jsonable(value: Any) -> Any:
    if value is ALL:
        return "all"
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _jsonable(getattr(value, f.name)) for f in fields(value) if not f.name.startswith("_")
        }
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def forecast_to_dict(forecast: Forecast) -> dict[str, Any]:
    """The forecast as JSON-ready data: dates as ISO strings, enums as their values, tuples as lists."""
    data: dict[str, Any] = _jsonable(forecast)
    return data


# --------------------------------------------------------------------------------------------------
# Campaign phases and booking eligibility
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Pre-screening (预检)
# --------------------------------------------------------------------------------------------------


class AnswerType(enum.StrEnum):
    BOOL = "bool"
    CHOICE = "choice"
    TEXT = "text"
    DATE = "date"


class RuleAction(enum.StrEnum):
    NOTE = "note"  # recorded and shown, never blocks
    DEFER = "defer"
    CONTRAINDICATE = "contraindicate"


class RuleScope(enum.StrEnum):
    ALL_PRODUCTS = "all_products"
    ANSWERED_PLATFORM = "answered_platform"  # the platform of the product named in the answer


@dataclass(frozen=True)
class Rule:
    """What a positive answer means.

    A positive answer is ``True`` (BOOL), any choice but ``"no"`` (CHOICE), non-empty text (TEXT) or a
    date (DATE). Deferrals last ``defer_days`` from the screening day, or — for DATE answers —
    ``defer_days_after_answer`` from the answered date; with neither they are open-ended until
    ``defer_condition`` is met.
    """

    action: RuleAction
    reason_zh: str
    scope: RuleScope = RuleScope.ALL_PRODUCTS
    defer_days: int | None = None
    defer_days_after_answer: int | None = None
    defer_condition: str | None = None

    def __post_init__(self) -> None:
        if (
            self.action is RuleAction.DEFER
            and self.defer_days is None
            and self.defer_days_after_answer is None
            and not self.defer_condition
        ):
            raise ValueError("暂缓规则须给出天数或条件")


@dataclass(frozen=True)
class Question:
    """One pre-screening question. ``choices`` lists the accepted values of a CHOICE question
    (``"no"`` is the negative answer)."""

    code: str
    text_zh: str
    text_en: str
    answer_type: AnswerType
    rule: Rule
    required: bool = True
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuestionSet:
    """A versioned questionnaire with vital-sign thresholds: a temperature at or above ``temp_max_c``,
    or a blood pressure at or above either BP limit, defers vaccination by ``vitals_defer_days``."""

    version: str
    effective_from: dt.date
    questions: tuple[Question, ...]
    temp_max_c: float = 37.3
    bp_systolic_max: int = 140
    bp_diastolic_max: int = 90
    vitals_defer_days: int = 7

    def __post_init__(self) -> None:
        codes = [q.code for q in self.questions]
        if len(codes) != len(set(codes)):
            raise ValueError(f"问题集{self.version}中问题编码重复")

    def question(self, code: str) -> Question | None:
        return next((q for q in self.questions if q.code == code), None)


def question_set_for(question_sets: Iterable[QuestionSet], on: dt.date) -> QuestionSet | None:
    """The latest version in effect on ``on``; ``None`` if every version starts later."""
    usable = [qs for qs in question_sets if qs.effective_from <= on]
    return max(usable, key=lambda qs: qs.effective_from) if usable else None


class Outcome(enum.StrEnum):
    PROCEED = "proceed"
    DEFER = "defer"
    CONTRAINDICATED = "contraindicated"

    @property
    def label_zh(self) -> str:
        return _OUTCOME_ZH[self]


_OUTCOME_ZH: Final[dict[Outcome, str]] = {
    Outcome.PROCEED: "可以接种",
    Outcome.DEFER: "暂缓接种",
    Outcome.CONTRAINDICATED: "禁止接种",
}
_SEVERITY: Final[dict[Outcome, int]] = {Outcome.PROCEED: 0, Outcome.DEFER: 1, Outcome.CONTRAINDICATED: 2}


@dataclass(frozen=True)
class ScreeningResult:
    """The outcome of pre-screening; the worst finding wins.

    ``defer_until`` is the latest dated deferral (``None`` if there is none); ``defer_condition``
    joins the open-ended ones (``None`` if there is none). ``contraindicated_products`` is ``ALL``, or
    the catalogue codes to avoid (empty when none). Deferral fields are kept even when the outcome is
    CONTRAINDICATED, since a contraindication may cover only some products. ``notes`` are non-blocking
    remarks. ``deferrals`` and ``contraindication`` are the records to store and pass to ``evaluate``:
    a dated and an open-ended deferral stay separate so the open one does not lapse with the date.
    """

    outcome: Outcome
    outcome_zh: str
    defer_until: dt.date | None
    defer_condition: str | None
    contraindicated_products: ProductScope
    reasons: tuple[str, ...]
    notes: tuple[str, ...]
    question_set_version: str
    deferrals: tuple[Deferral, ...] = ()
    contraindication: Contraindication | None = None


_MISSING: Final = object()


def _is_positive(q: Question, value: Any) -> bool:
    """Validate ``value`` for ``q`` and say whether it triggers the rule; raises ``ValueError``."""
    if q.answer_type is AnswerType.BOOL:
        if not isinstance(value, bool):
            raise ValueError(f"{q.code}: “{q.text_zh}”须回答是或否")
        return value
    if q.answer_type is AnswerType.CHOICE:
        if not isinstance(value, str) or (q.choices and value not in q.choices):
            raise ValueError(f"{q.code}: “{q.text_zh}”的回答“{value}”不在可选范围内")
        return value != "no"
    if q.answer_type is AnswerType.TEXT:
        if not isinstance(value, str):
            raise ValueError(f"{q.code}: “{q.text_zh}”须填写文字")
        return bool(value.strip())
    if value is None:
        return False
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValueError(f"{q.code}: “{q.text_zh}”须填写日期")
    return True


def screen(
    *,
    question_set: QuestionSet,
    answers: Mapping[str, Any],
    temperature_c: float | None,
    bp_systolic: int | None,
    bp_diastolic: int | None,
    on: dt.date,
    catalogue: Catalogue | None = None,
) -> ScreeningResult:
    """Apply the question set to the answers and vital signs measured on ``on``.

    Raises ``ValueError`` (message starts with the question code, then Chinese) for a missing answer to
    a required question, an answer of the wrong type, an answer to a question not in the set, a missing
    or implausible temperature, or half a blood pressure. Blood pressure may be omitted altogether.
    A DATE answer of ``None`` means "no". ``catalogue`` lets a severe-reaction answer that names a
    product contraindicate that product's whole platform; without it the answer contraindicates all.
    """
    unknown = sorted(set(answers) - {q.code for q in question_set.questions})
    if unknown:
        raise ValueError(f"{unknown[0]}: 不是预检问题集{question_set.version}中的问题")
    if temperature_c is None:
        raise ValueError("temperature_c: 未测量体温")
    if not 30.0 <= temperature_c <= 45.0:
        raise ValueError(f"temperature_c: 体温{temperature_c}℃不合理")
    if (bp_systolic is None) != (bp_diastolic is None):
        raise ValueError("bp: 收缩压和舒张压须同时填写")

    outcome = Outcome.PROCEED
    dated_reasons: list[str] = []
    open_reasons: list[str] = []
    contra_reasons: list[str] = []
    notes: list[str] = []
    defer_dates: list[dt.date] = []
    conditions: list[str] = []
    contra_all = False
    contra_codes: list[str] = []

    def worsen(to: Outcome) -> None:
        nonlocal outcome
        if _SEVERITY[to] > _SEVERITY[outcome]:
            outcome = to

    for q in question_set.questions:
        value = answers.get(q.code, _MISSING)
        if value is _MISSING or (value is None and q.answer_type is not AnswerType.DATE):
            if q.required:
                raise ValueError(f"{q.code}: 未回答预检问题“{q.text_zh}”")
            continue
        if not _is_positive(q, value):
            continue
        rule = q.rule
        if rule.action is RuleAction.NOTE:
            notes.append(rule.reason_zh)
        elif rule.action is RuleAction.DEFER:
            until = None
            if rule.defer_days_after_answer is not None and isinstance(value, dt.date):
                until = value + _days(rule.defer_days_after_answer)
                if until <= on:
                    # The gap has already passed; nothing to defer.
                    continue
            elif rule.defer_days is not None:
                until = on + _days(rule.defer_days)
            worsen(Outcome.DEFER)
            if until is not None:
                defer_dates.append(until)
                condition = f"（{rule.defer_condition}）" if rule.defer_condition else ""
                dated_reasons.append(f"{rule.reason_zh}，暂缓至{until.isoformat()}{condition}")
            else:
                conditions.append(rule.defer_condition or "")
                open_reasons.append(rule.reason_zh)
        else:
            worsen(Outcome.CONTRAINDICATED)
            contra_reasons.append(rule.reason_zh)
            named = (
                catalogue.find_product(value)
                if catalogue is not None
                and rule.scope is RuleScope.ANSWERED_PLATFORM
                and isinstance(value, str)
                else None
            )
            if catalogue is not None and named is not None:
                contra_codes += catalogue.codes_on_platform(named.platform)
            else:
                # Unknown which product reacted (or no catalogue to tell): avoid them all.
                contra_all = True

    if temperature_c >= question_set.temp_max_c:
        worsen(Outcome.DEFER)
        until = on + _days(question_set.vitals_defer_days)
        defer_dates.append(until)
        dated_reasons.append(
            f"体温{temperature_c:.1f}℃，≥{question_set.temp_max_c:.1f}℃，暂缓至{until.isoformat()}"
        )
    if (
        bp_systolic is not None
        and bp_diastolic is not None
        and (bp_systolic >= question_set.bp_systolic_max or bp_diastolic >= question_set.bp_diastolic_max)
    ):
        worsen(Outcome.DEFER)
        until = on + _days(question_set.vitals_defer_days)
        defer_dates.append(until)
        dated_reasons.append(
            f"血压{bp_systolic}/{bp_diastolic}mmHg，达到{question_set.bp_systolic_max}/"
            f"{question_set.bp_diastolic_max}mmHg，暂缓至{until.isoformat()}（血压控制稳定后再接种）"
        )

    scope: ProductScope = ALL if contra_all else tuple(dict.fromkeys(contra_codes))
    defer_until = max(defer_dates) if defer_dates else None
    defer_condition = "；".join(dict.fromkeys(conditions)) or None
    deferrals: list[Deferral] = []
    if defer_until is not None:
        deferrals.append(
            Deferral(until=defer_until, condition=None, reason="预检暂缓：" + "；".join(dated_reasons))
        )
    if defer_condition is not None:
        deferrals.append(
            Deferral(until=None, condition=defer_condition, reason="预检暂缓：" + "；".join(open_reasons))
        )
    contraindication = (
        Contraindication(products=scope, reason="预检禁忌：" + "；".join(contra_reasons))
        if contra_reasons
        else None
    )
    return ScreeningResult(
        outcome=outcome,
        outcome_zh=outcome.label_zh,
        defer_until=defer_until,
        defer_condition=defer_condition,
        contraindicated_products=scope,
        reasons=tuple(contra_reasons + dated_reasons + open_reasons),
        notes=tuple(notes),
        question_set_version=question_set.version,
        deferrals=tuple(deferrals),
        contraindication=contraindication,
    )


def deferrals_from_screening(result: ScreeningResult) -> tuple[Deferral, ...]:
    """The deferrals to store and pass to ``evaluate`` (empty if screening deferred nothing)."""
    return result.deferrals


def contraindication_from_screening(result: ScreeningResult) -> Contraindication | None:
    """The contraindication to store and pass to ``evaluate``; ``None`` if screening found none."""
    return result.contraindication
