"""Pure rules of the vaccination desk (接种台): the hard stops when a traceability code is scanned
("三查七对一验证"), the card the vaccinator reads aloud before saving, how the recipient confirms who
they are, the 30-minute observation (留观), voiding a dose, and the injection site.

No Django, no ORM, no clock: every function takes the moment it reasons about (``now``) and returns
plain, frozen values, so the same input always gives the same answer and tests need no database.
Moments are time-zone aware and are read in the county's local time zone (:data:`LOCAL_TZ`,
Asia/Shanghai) whatever zone they arrive in (the database hands them back in UTC): "today" is the
local day of ``now``. User-facing messages are Chinese.

In software the "三查七对一验证" of the technical guide become:

* 三查 — the recipient's health and contraindications (today's screening, the schedule engine's
  forecast), the vaccine's label and expiry (the scanned code, its lot) — checked by
  :func:`scan_checks`; the vial's appearance and the syringe remain the vaccinator's eyes;
* 七对 — name, age, vaccine, specification, dose, site and route, shown by :func:`confirmation_card`
  and read aloud;
* 一验证 — the recipient confirms (:func:`recipient_confirms`) before the dose is saved.

The database enforces what must hold under concurrency (a code is used once, a dose is saved once);
the functions here state the rules and explain a refusal.
"""

from __future__ import annotations

import datetime as dt
import enum
import hmac
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from vaxops.booking.domain import LOCAL_TZ
from vaxops.catalog.domain import ALL, Forecast, Outcome, Product, ProductScope, Status, age_on
from vaxops.sites.domain import Certificate, StaffRole, qualified
from vaxops.supply.domain import LotStatus, TraceCodeError, lot_usable, parse_trace_code

__all__ = [
    "INJECTION_SITES",
    "INJECTION_SITE_NOTE_MAX",
    "INJECTION_SITE_OTHER",
    "LOCAL_TZ",
    "OBSERVATION_MINUTES",
    "VOID_REASON_MIN_CHARS",
    "CheckCode",
    "CheckFailure",
    "CodeFacts",
    "CodeState",
    "Confirmation",
    "ConsentFacts",
    "DueDose",
    "LotFacts",
    "ObservationStatus",
    "ProductFacts",
    "Recipient",
    "ScanInputs",
    "ScreeningFacts",
    "VaccinatorFacts",
    "VoidDisposition",
    "confirmation_card",
    "due_dose_of",
    "injection_site_text",
    "injection_site_valid",
    "may_release",
    "observation_ends",
    "observation_left",
    "observation_status",
    "one_time_code_required",
    "recipient_confirms",
    "scan_checks",
    "void_reason_valid",
]

OBSERVATION_MINUTES: Final = 30


def _require_aware(*moments: tuple[str, dt.datetime | None]) -> None:
    for label, moment in moments:
        if moment is None:
            continue
        if not isinstance(moment, dt.datetime):
            raise ValueError(f"{label}须为日期时间")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{label}须带时区")


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(LOCAL_TZ)


def _local_day(moment: dt.datetime) -> dt.date:
    return _local(moment).date()


def _when(moment: dt.datetime) -> str:
    """A moment for a Chinese message, in local time: ``2021-06-22 09:30``."""
    return _local(moment).strftime("%Y-%m-%d %H:%M")


def _dose_label(number: int, is_booster: bool) -> str:
    return "加强针" if is_booster else f"第{number}剂"


def _ml(volume: float | int | Decimal) -> str:
    """``0.5`` → ``"0.5 mL"``, ``1.0`` → ``"1 mL"`` (a float is read as the decimal it prints as)."""
    exact = Decimal(repr(volume)) if isinstance(volume, float) else Decimal(volume)
    return f"{exact.normalize():f} mL"


# --------------------------------------------------------------------------------------------------
# What is known when a code is scanned (扫码时的已知信息)
# --------------------------------------------------------------------------------------------------


class CodeState(enum.StrEnum):
    """The one current state of a traceability code; the values match ``vaxops.supply.models.CodeState``."""

    IN_STOCK = "in_stock"
    IN_TRANSIT = "in_transit"
    ADMINISTERED = "administered"
    WASTED = "wasted"
    RECALLED = "recalled"
    QUARANTINED = "quarantined"

    @property
    def label_zh(self) -> str:
        return _CODE_STATE_ZH[self]


_CODE_STATE_ZH: Final[dict[CodeState, str]] = {
    CodeState.IN_STOCK: "在库",
    CodeState.IN_TRANSIT: "在途",
    CodeState.ADMINISTERED: "已接种",
    CodeState.WASTED: "已损耗",
    CodeState.RECALLED: "已召回",
    CodeState.QUARANTINED: "温度异常隔离",
}


@dataclass(frozen=True)
class Recipient:
    """The person at the desk. ``name`` is shown in full (the vaccinator must match it to the person);
    ``id_masked`` is the masked document number (``110105********002X``), never the full one."""

    name: str
    birth_date: dt.date
    id_masked: str = ""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("受种者姓名不能为空")


@dataclass(frozen=True)
class ScreeningFacts:
    """The person's latest pre-screening (预检), whatever day it was: :func:`scan_checks` decides
    whether it counts today. The fields mirror ``ScreeningRecord`` (and ``catalog.domain.ScreeningResult``):
    ``contraindicated_products`` is ``ALL`` or the catalogue codes a contraindication covers."""

    outcome: Outcome
    at: dt.datetime
    defer_until: dt.date | None = None
    defer_condition: str | None = None
    contraindicated_products: ProductScope = ALL
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", Outcome(self.outcome))
        _require_aware(("预检时间", self.at))
        # The database stores "all" or a list of catalogue codes.
        scope: ProductScope | str | list[str] = self.contraindicated_products
        normalised: ProductScope = ALL if scope is ALL or scope == "all" else tuple(scope)
        object.__setattr__(self, "contraindicated_products", normalised)
        object.__setattr__(self, "reasons", tuple(self.reasons))


@dataclass(frozen=True)
class ConsentFacts:
    """The person's latest informed-consent record (知情同意书): signed at ``at``, or a refusal
    recorded at ``at``. ``product_code`` is the product whose consent text was signed (``None`` when
    the text is not product-specific)."""

    at: dt.datetime
    refused: bool = False
    refusal_reason: str = ""
    product_code: str | None = None

    def __post_init__(self) -> None:
        _require_aware(("知情同意时间", self.at))


@dataclass(frozen=True)
class CodeFacts:
    """The scanned code as the database knows it: its state, the stock place it is at (``None`` when
    it is at none, e.g. in transit) and, once used, when it was administered."""

    state: CodeState
    place_code: str | None
    administered_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", CodeState(self.state))
        _require_aware(("接种时间", self.administered_at))


@dataclass(frozen=True)
class LotFacts:
    """The lot (批号) of the scanned code; its status applies everywhere at once."""

    number: str
    status: LotStatus
    expiry: dt.date
    product_code: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", LotStatus(self.status))
        if not self.number.strip():
            raise ValueError("批号不能为空")


@dataclass(frozen=True)
class ProductFacts:
    """What the desk needs of the lot's product: the "七对" items (name, specification, dose volume,
    route, injection site) and its age range in completed years (``max_age_years`` ``None`` = no
    upper limit). Build it from a catalogue product with :meth:`from_product`."""

    code: str
    name_zh: str
    presentation: str
    dose_volume_ml: float | Decimal
    route: str
    site: str
    min_age_years: int
    max_age_years: int | None = None
    manufacturer_zh: str = ""
    short_name_zh: str = ""

    @property
    def short(self) -> str:
        """The short Chinese name nurses know (国药北京…), else the code."""
        return self.short_name_zh or self.code

    @classmethod
    def from_product(cls, product: Product) -> ProductFacts:
        return cls(
            code=product.code,
            name_zh=product.name_zh,
            presentation=product.presentation,
            dose_volume_ml=product.dose_volume_ml,
            route=product.route,
            site=product.site,
            min_age_years=product.min_age_years,
            max_age_years=product.max_age_years,
            manufacturer_zh=product.manufacturer_zh,
            short_name_zh=getattr(product, "short_name_zh", "") or "",
        )

    @property
    def label_zh(self) -> str:
        """The name with its manufacturer, since three products share one generic name."""
        return f"{self.name_zh}（{self.manufacturer_zh}）" if self.manufacturer_zh else self.name_zh


@dataclass(frozen=True)
class DueDose:
    """The next dose of the engine's forecast for today (``catalog.domain.NextDose``, the parts the
    desk needs). Build it with :func:`due_dose_of`."""

    number: int
    is_booster: bool
    allowed_products: tuple[str, ...]
    earliest: dt.date

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_products", tuple(self.allowed_products))

    @property
    def label_zh(self) -> str:
        return _dose_label(self.number, self.is_booster)


def due_dose_of(forecast: Forecast) -> tuple[DueDose | None, str]:
    """The dose the forecast allows, or ``None`` and the engine's reason why nothing may be given.

    ``forecast`` comes from ``catalog.domain.evaluate`` for today. Nothing may be given when the person
    is contraindicated, when the course is complete, or while a deferral without a date (until a
    condition is met, e.g. "妊娠结束后") is in force; a dated deferral has already moved the next
    dose's earliest day, which :func:`scan_checks` compares with today.
    """
    nd = forecast.next_dose
    if forecast.status is Status.CONTRAINDICATED:
        detail = "；".join(forecast.reasons)
        return None, "存在接种禁忌" + (f"（{detail}）" if detail else "")
    if nd is None:
        if forecast.booster_given_on is not None:
            return None, "已完成全程接种和加强免疫，目前无需再接种"
        return None, "已完成全程接种，目前无需再接种"
    if forecast.status is Status.DEFERRED and forecast.deferred_condition:
        return None, f"暂缓接种（{forecast.deferred_condition}），条件解除前不能接种"
    return DueDose(nd.number, nd.is_booster, nd.allowed_products, nd.earliest), ""


@dataclass(frozen=True)
class VaccinatorFacts:
    """The vaccinator logged in at the desk: their certificates, and whether they hold an assignment
    to this vaccination desk (接种台) in today's open session."""

    name: str
    certificates: tuple[Certificate, ...]
    assigned_to_desk: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "certificates", tuple(self.certificates))


@dataclass(frozen=True)
class ScanInputs:
    """Everything known at the moment a vaccinator scans a code, as plain values.

    A service fills it in a few queries: the resident (``recipient``); their latest screening and
    latest consent (one row each, newest first); the code with its lot and product
    (``select_related``; ``code``, ``lot`` and ``product`` are all ``None`` when no such code exists);
    the forecast from the schedule engine for today (:func:`due_dose_of` turns it into ``next_dose``
    and ``no_dose_reason``); the staff member with their certificates and whether they hold an
    assignment to this desk in today's open session. ``scanned_code`` is the scanner's text as typed;
    ``site_place_code`` is the stock place of the scanning site.

    Raises ``ValueError`` for a naive moment, a code without its lot and product (or the reverse) and a
    lot whose product is not ``product``.
    """

    recipient: Recipient
    screening: ScreeningFacts | None
    consent: ConsentFacts | None
    scanned_code: str
    code: CodeFacts | None
    site_place_code: str
    lot: LotFacts | None
    product: ProductFacts | None
    next_dose: DueDose | None
    vaccinator: VaccinatorFacts
    now: dt.datetime
    no_dose_reason: str = ""
    # Product code → the short Chinese name people read, for the messages (codes stay in the data).
    product_names: Mapping[str, str] = field(default_factory=dict)

    def name_of(self, code: str) -> str:
        return self.product_names.get(code) or code

    def __post_init__(self) -> None:
        _require_aware(("当前时间", self.now))
        known = (self.code is not None, self.lot is not None, self.product is not None)
        if any(known) and not all(known):
            raise ValueError("追溯码、批号和疫苗品种须同时给出（追溯码不存在时三者都为空）")
        if self.lot is not None and self.product is not None and self.lot.product_code != self.product.code:
            raise ValueError(f"批号{self.lot.number}属于{self.lot.product_code}，不是{self.product.code}")

    @property
    def today(self) -> dt.date:
        """The local (Asia/Shanghai) day of ``now``."""
        return _local_day(self.now)


# --------------------------------------------------------------------------------------------------
# Hard stops at the scan (扫码硬性拦截)
# --------------------------------------------------------------------------------------------------


class CheckCode(enum.StrEnum):
    """Why a scan is stopped; the members are in the fixed order :func:`scan_checks` reports them."""

    SCREENING = "screening"
    CONSENT = "consent"
    CODE_MALFORMED = "code_malformed"
    CODE_UNKNOWN = "code_unknown"
    CODE_USED = "code_used"
    CODE_WASTED = "code_wasted"
    CODE_RECALLED = "code_recalled"
    CODE_QUARANTINED = "code_quarantined"
    CODE_IN_TRANSIT = "code_in_transit"
    CODE_ELSEWHERE = "code_elsewhere"
    LOT_RECALLED = "lot_recalled"
    LOT_ON_HOLD = "lot_on_hold"
    LOT_EXPIRED = "lot_expired"
    NO_DOSE_DUE = "no_dose_due"
    PRODUCT_NOT_ALLOWED = "product_not_allowed"
    NOT_DUE = "not_due"
    AGE = "age"
    VACCINATOR_UNQUALIFIED = "vaccinator_unqualified"
    VACCINATOR_NOT_ASSIGNED = "vaccinator_not_assigned"

    @property
    def label_zh(self) -> str:
        return _CHECK_ZH[self]


_CHECK_ZH: Final[dict[CheckCode, str]] = {
    CheckCode.SCREENING: "预检未通过",
    CheckCode.CONSENT: "知情同意",
    CheckCode.CODE_MALFORMED: "追溯码格式错误",
    CheckCode.CODE_UNKNOWN: "追溯码不存在",
    CheckCode.CODE_USED: "追溯码已使用",
    CheckCode.CODE_WASTED: "追溯码已损耗",
    CheckCode.CODE_RECALLED: "追溯码已召回",
    CheckCode.CODE_QUARANTINED: "冷链温度异常隔离",
    CheckCode.CODE_IN_TRANSIT: "追溯码在途",
    CheckCode.CODE_ELSEWHERE: "追溯码不在本单位",
    CheckCode.LOT_RECALLED: "批号已召回",
    CheckCode.LOT_ON_HOLD: "批号暂停使用",
    CheckCode.LOT_EXPIRED: "批号已过期",
    CheckCode.NO_DOSE_DUE: "无应种剂次",
    CheckCode.PRODUCT_NOT_ALLOWED: "品种不符",
    CheckCode.NOT_DUE: "未到接种时间",
    CheckCode.AGE: "年龄不符",
    CheckCode.VACCINATOR_UNQUALIFIED: "接种人员未持证",
    CheckCode.VACCINATOR_NOT_ASSIGNED: "接种人员未排班",
}


@dataclass(frozen=True)
class CheckFailure:
    """One hard stop: a stable English ``code`` for tests and the UI, and a Chinese message naming
    what is wrong."""

    code: CheckCode
    message_zh: str

    @property
    def label_zh(self) -> str:
        return self.code.label_zh


def _screening(inputs: ScanInputs) -> str | None:
    s = inputs.screening
    if s is None:
        return "今日尚未预检，请先到预检台预检"
    if _local_day(s.at) != inputs.today:
        return f"今日尚未预检（最近一次预检于{_when(s.at)}，不是今天），请先到预检台预检"
    detail = "；".join(s.reasons)
    tail = f"：{detail}" if detail else ""
    if s.outcome is Outcome.DEFER:
        if s.defer_until is not None:
            return f"今日预检未通过（暂缓接种至{s.defer_until.isoformat()}）{tail}"
        return f"今日预检未通过（暂缓接种：{s.defer_condition or '条件解除前'}）{tail}"
    if s.outcome is Outcome.CONTRAINDICATED:
        # A contraindication may cover only some products (e.g. one platform); any deferral found at the
        # same screening still stands.
        scope = s.contraindicated_products
        product = inputs.product
        covers = scope == ALL or product is None or product.code in scope
        deferred = (s.defer_until is not None and s.defer_until > inputs.today) or bool(s.defer_condition)
        if covers or deferred:
            return f"今日预检未通过（禁止接种）{tail}"
    return None


def _consent(inputs: ScanInputs) -> str | None:
    c = inputs.consent
    if c is None:
        return "未签署知情同意书"
    if _local_day(c.at) != inputs.today:
        return f"今日未签署知情同意书（最近一次签署于{_when(c.at)}），请重新签署"
    if c.refused:
        why = f"：{c.refusal_reason.strip()}" if c.refusal_reason.strip() else ""
        return f"受种者已拒绝签署知情同意书（{_when(c.at)}）{why}"
    product = inputs.product
    if c.product_code and product is not None and c.product_code != product.code:
        return (
            f"知情同意书签署的是{inputs.name_of(c.product_code)}，与所扫疫苗{product.short}不符，"
            f"请为所扫疫苗重新签署知情同意书"
        )
    return None


def _code(inputs: ScanInputs) -> CheckFailure | None:
    try:
        code = parse_trace_code(inputs.scanned_code).code
    except TraceCodeError as error:
        if inputs.code is None:
            return CheckFailure(CheckCode.CODE_MALFORMED, f"{error.message}，请重新扫码")
        code = inputs.scanned_code.strip()
    facts = inputs.code
    if facts is None:
        return CheckFailure(CheckCode.CODE_UNKNOWN, f"追溯码{code}不存在（未入库登记），请核对疫苗后重新扫码")
    if facts.state is CodeState.ADMINISTERED:
        when = f"（于{_when(facts.administered_at)}）" if facts.administered_at else ""
        return CheckFailure(CheckCode.CODE_USED, f"追溯码{code}已使用{when}，一人一苗一扫码，不得重复使用")
    if facts.state is CodeState.WASTED:
        return CheckFailure(CheckCode.CODE_WASTED, f"追溯码{code}已报损，不得使用")
    if facts.state is CodeState.RECALLED:
        return CheckFailure(CheckCode.CODE_RECALLED, f"追溯码{code}已召回，不得使用")
    if facts.state is CodeState.QUARANTINED:
        return CheckFailure(
            CheckCode.CODE_QUARANTINED, f"追溯码{code}所在冷链设备温度异常，已隔离待县疾控评估，不得使用"
        )
    if facts.state is CodeState.IN_TRANSIT:
        return CheckFailure(CheckCode.CODE_IN_TRANSIT, f"追溯码{code}在途（尚未签收入库），请先签收")
    if facts.place_code != inputs.site_place_code:
        where = f"（库存地点：{facts.place_code}）" if facts.place_code else ""
        return CheckFailure(CheckCode.CODE_ELSEWHERE, f"追溯码{code}不在本接种单位{where}")
    return None


def _lot(inputs: ScanInputs) -> CheckFailure | None:
    lot = inputs.lot
    if lot is None:
        return None
    usable, why = lot_usable(status=lot.status, expiry=lot.expiry, on=inputs.today)
    if usable:
        return None
    code = {
        LotStatus.RECALLED: CheckCode.LOT_RECALLED,
        LotStatus.ON_HOLD: CheckCode.LOT_ON_HOLD,
    }.get(lot.status, CheckCode.LOT_EXPIRED)
    return CheckFailure(code, f"批号{lot.number}{why.removeprefix('批号')}")


def _schedule(inputs: ScanInputs) -> list[CheckFailure]:
    product = inputs.product
    if product is None:
        return []
    failures: list[CheckFailure] = []
    nd = inputs.next_dose
    today = inputs.today
    if nd is None:
        reason = inputs.no_dose_reason.strip() or "目前没有应种剂次"
        failures.append(CheckFailure(CheckCode.NO_DOSE_DUE, f"该受种者不能接种该疫苗：{reason}"))
    else:
        if product.code not in nd.allowed_products:
            allowed = "、".join(inputs.name_of(c) for c in nd.allowed_products)
            message = (
                f"该受种者不能接种该疫苗：{product.short}（{product.label_zh}）不能用于本剂次"
                f"（应接种{nd.label_zh}，可用品种：{allowed}）"
            )
            failures.append(CheckFailure(CheckCode.PRODUCT_NOT_ALLOWED, message))
        if nd.earliest > today:
            message = f"未到接种时间：{nd.label_zh}最早可于{nd.earliest.isoformat()}接种"
            failures.append(CheckFailure(CheckCode.NOT_DUE, message))
    age = age_on(inputs.recipient.birth_date, today)
    if age < product.min_age_years:
        message = f"受种者{age}周岁，未满{product.short}的最低接种年龄{product.min_age_years}周岁"
        failures.append(CheckFailure(CheckCode.AGE, message))
    elif product.max_age_years is not None and age > product.max_age_years:
        message = f"受种者{age}周岁，超过{product.short}的接种年龄上限{product.max_age_years}周岁"
        failures.append(CheckFailure(CheckCode.AGE, message))
    return failures


def _vaccinator(inputs: ScanInputs) -> list[CheckFailure]:
    v = inputs.vaccinator
    failures: list[CheckFailure] = []
    ok, why = qualified(StaffRole.VACCINATION, v.certificates, inputs.today)
    if not ok:
        _, sep, detail = why.partition("：")
        message = f"接种人员{v.name}不能上岗（持证上岗）：{detail if sep else why}"
        failures.append(CheckFailure(CheckCode.VACCINATOR_UNQUALIFIED, message))
    if not v.assigned_to_desk:
        message = f"接种人员{v.name}未排班在本接种台（今日开诊场次），请先排班"
        failures.append(CheckFailure(CheckCode.VACCINATOR_NOT_ASSIGNED, message))
    return failures


def scan_checks(inputs: ScanInputs) -> tuple[CheckFailure, ...]:
    """Every hard stop that applies to this scan, in the fixed order of :class:`CheckCode`; an empty
    tuple means the dose may go ahead to the confirmation card.

    1. ``screening`` — a screening today (the local day of ``now``; yesterday's does not count) whose
       outcome is "proceed" (a contraindication limited to other products than the scanned one, with
       no deferral, also passes);
    2. ``consent`` — informed consent signed today and not refused (for the scanned product, when the
       record names one);
    3. the code — well formed (``code_malformed``), known (``code_unknown``), not used, wasted,
       recalled or in transit, and in stock at this site (``code_elsewhere``): at most one of these;
    4. the lot — not recalled, not on hold, not expired today (usable on its expiry day; see
       ``supply.domain.lot_usable``): at most one;
    5. the schedule — something is due (``no_dose_due``), the product is one the forecast allows
       (``product_not_allowed``), today is on or after the earliest day (``not_due``), and the person's
       age in completed years is within the product's range (``age``);
    6. the vaccinator — qualified today for the vaccination role (``sites.domain.qualified``) and
       assigned to this desk in today's open session.

    Checks 4 and 5 need the lot and product, so they are skipped when the code is unknown.
    """
    failures: list[CheckFailure] = []
    if (message := _screening(inputs)) is not None:
        failures.append(CheckFailure(CheckCode.SCREENING, message))
    if (message := _consent(inputs)) is not None:
        failures.append(CheckFailure(CheckCode.CONSENT, message))
    if (failure := _code(inputs)) is not None:
        failures.append(failure)
    if (failure := _lot(inputs)) is not None:
        failures.append(failure)
    failures += _schedule(inputs)
    failures += _vaccinator(inputs)
    return tuple(failures)


# --------------------------------------------------------------------------------------------------
# The confirmation card (七对一验证)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    """What the vaccinator reads aloud and the recipient confirms before the dose is saved."""

    name: str
    id_masked: str
    age_years: int
    vaccine: str
    product_code: str
    specification: str
    dose_number: int
    is_booster: bool
    dose_volume: str
    route: str
    injection_site: str
    lot_number: str
    expiry: dt.date

    @property
    def dose_label(self) -> str:
        """``第2剂`` or ``加强针``."""
        return _dose_label(self.dose_number, self.is_booster)

    def lines_zh(self) -> tuple[str, ...]:
        """The read-aloud lines, in the order of "七对": name, age, vaccine, specification, dose, dose
        volume, route, site; then the lot and its expiry."""
        return (
            f"姓名：{self.name}",
            f"年龄：{self.age_years}周岁",
            f"疫苗：{self.vaccine}",
            f"规格：{self.specification}",
            f"剂次：{self.dose_label}",
            f"剂量：{self.dose_volume}",
            f"接种途径：{self.route}",
            f"接种部位：{self.injection_site}",
            f"批号：{self.lot_number}",
            f"有效期至：{self.expiry.isoformat()}",
        )


def confirmation_card(inputs: ScanInputs, *, injection_site: str | None = None) -> Confirmation:
    """The card for this scan: the full name (this is at the desk), the age in completed years today,
    the product, the dose the forecast gives, the dose volume, route and injection site (the
    product's, unless the vaccinator chose one), the lot and its expiry.

    It does not repeat the checks: show it once :func:`scan_checks` returned nothing. Raises
    ``ValueError`` when the code is unknown or no dose is due, since there is then nothing to confirm.
    """
    product, lot, nd = inputs.product, inputs.lot, inputs.next_dose
    if product is None or lot is None:
        raise ValueError("追溯码不存在，无法生成核对信息")
    if nd is None:
        raise ValueError("没有应种剂次，无法生成核对信息")
    site = (injection_site or "").strip() or product.site
    return Confirmation(
        name=inputs.recipient.name.strip(),
        id_masked=inputs.recipient.id_masked,
        age_years=age_on(inputs.recipient.birth_date, inputs.today),
        vaccine=f"{product.short} · {product.name_zh}" if product.short_name_zh else product.label_zh,
        product_code=product.code,
        specification=product.presentation,
        dose_number=nd.number,
        is_booster=nd.is_booster,
        dose_volume=_ml(product.dose_volume_ml),
        route=product.route,
        injection_site=site,
        lot_number=lot.number,
        expiry=lot.expiry,
    )


# --------------------------------------------------------------------------------------------------
# The recipient confirms (一验证)
# --------------------------------------------------------------------------------------------------

_FOUR_DIGITS: Final = re.compile(r"^[0-9]{4}$")


def _phone_digits(phone: str | None) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", phone or "") if "0" <= ch <= "9")


def one_time_code_required(phone: str | None) -> bool:
    """Whether the recipient must be confirmed by a one-time code (sent to a guardian's phone, or
    shown on the booking) because no usable phone number is on record."""
    return len(_phone_digits(phone)) < 4


def recipient_confirms(*, phone_last4_given: str, phone: str | None) -> tuple[bool, str]:
    """Whether the last four digits the recipient gives match the phone on record.

    Full-width digits and spaces in the answer are accepted. A person with no phone on record cannot be
    confirmed this way (:func:`one_time_code_required`). Returns ``(True, "")`` or ``(False, reason)``.
    """
    if one_time_code_required(phone):
        return False, "档案中没有登记手机号码，无法核对手机尾号，请改用一次性验证码确认身份"
    given = "".join(unicodedata.normalize("NFKC", phone_last4_given or "").split())
    if not _FOUR_DIGITS.match(given):
        return False, "请输入登记手机号码的后4位数字"
    if not hmac.compare_digest(given, _phone_digits(phone)[-4:]):
        return False, "手机号码后4位与档案不符，请再次核对受种者身份"
    return True, ""


# --------------------------------------------------------------------------------------------------
# Observation (留观)
# --------------------------------------------------------------------------------------------------


class ObservationStatus(enum.StrEnum):
    OBSERVING = "observing"
    DUE = "due"
    RELEASED = "released"

    @property
    def label_zh(self) -> str:
        return _OBSERVATION_ZH[self]


_OBSERVATION_ZH: Final[dict[ObservationStatus, str]] = {
    ObservationStatus.OBSERVING: "留观中",
    ObservationStatus.DUE: "留观期满，可离开",
    ObservationStatus.RELEASED: "已离开",
}


def _check_minutes(minutes: int) -> None:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
        raise ValueError("留观时长须为正整数分钟")


def observation_ends(at: dt.datetime, minutes: int = OBSERVATION_MINUTES) -> dt.datetime:
    """The moment an observation begun at ``at`` is complete: ``minutes`` later (same time zone)."""
    _require_aware(("留观开始时间", at))
    _check_minutes(minutes)
    return at + dt.timedelta(minutes=minutes)


def observation_left(
    started_at: dt.datetime, now: dt.datetime, minutes: int = OBSERVATION_MINUTES
) -> dt.timedelta:
    """How long is left of the observation at ``now``; never negative (zero once it is complete)."""
    _require_aware(("当前时间", now))
    return max(observation_ends(started_at, minutes) - now, dt.timedelta(0))


def observation_status(
    started_at: dt.datetime,
    released_at: dt.datetime | None,
    now: dt.datetime,
    minutes: int = OBSERVATION_MINUTES,
) -> ObservationStatus:
    """``released`` once a release is recorded; else ``due`` from exactly ``minutes`` after the start,
    ``observing`` before."""
    _require_aware(("离开时间", released_at), ("当前时间", now))
    ends = observation_ends(started_at, minutes)
    if released_at is not None:
        return ObservationStatus.RELEASED
    return ObservationStatus.DUE if now >= ends else ObservationStatus.OBSERVING


def may_release(
    started_at: dt.datetime,
    now: dt.datetime,
    minutes: int = OBSERVATION_MINUTES,
    *,
    reason: str = "",
) -> tuple[bool, str]:
    """Whether the person may leave observation at ``now``.

    From exactly ``minutes`` after the start: ``(True, "")``. Before that only with a stated reason
    (e.g. transferred to the designated hospital for an adverse reaction): ``(True, note)``, the note
    to keep with the release ("提前结束留观（已留观N分钟）：reason"). Otherwise ``(False, reason)`` saying
    how long is left and until when.
    """
    _require_aware(("当前时间", now))
    left = observation_left(started_at, now, minutes)
    if left == dt.timedelta(0):
        return True, ""
    stated = " ".join(reason.split())
    if stated:
        stayed = max(int((now - started_at).total_seconds() // 60), 0)
        return True, f"提前结束留观（已留观{stayed}分钟）：{stated}"
    remaining = math.ceil(left.total_seconds() / 60)
    ends = _local(observation_ends(started_at, minutes)).strftime("%H:%M")
    return False, (
        f"留观未满{minutes}分钟，还需{remaining}分钟（{ends}后可离开）；"
        "如需提前结束（如转诊定点救治医院），须注明原因"
    )


# --------------------------------------------------------------------------------------------------
# Corrections (作废)
# --------------------------------------------------------------------------------------------------


class VoidDisposition(enum.StrEnum):
    """What becomes of the vial when a dose record is voided: not opened, back to stock; or opened or
    used, written off as wastage."""

    RETURNED = "returned"
    WASTED = "wasted"

    @property
    def label_zh(self) -> str:
        return _VOID_ZH[self]


_VOID_ZH: Final[dict[VoidDisposition, str]] = {
    VoidDisposition.RETURNED: "疫苗未开启，退回库存",
    VoidDisposition.WASTED: "疫苗已开启或已使用，按损耗处理",
}

VOID_REASON_MIN_CHARS: Final = 4


def void_reason_valid(reason: str | None) -> tuple[bool, str]:
    """Whether ``reason`` may justify voiding a dose: at least 4 characters, whitespace not counted.
    Returns ``(True, "")`` or ``(False, reason)``."""
    text = "".join((reason or "").split())
    if not text:
        return False, "作废接种记录须填写原因"
    if len(text) < VOID_REASON_MIN_CHARS:
        return False, f"作废原因过于简单（{len(text)}个字），请至少写{VOID_REASON_MIN_CHARS}个字说明原因"
    return True, ""


# --------------------------------------------------------------------------------------------------
# Injection site (接种部位)
# --------------------------------------------------------------------------------------------------

INJECTION_SITE_OTHER: Final = "其他（注明）"
INJECTION_SITES: Final[tuple[str, ...]] = ("左上臂三角肌", "右上臂三角肌", INJECTION_SITE_OTHER)
INJECTION_SITE_NOTE_MAX: Final = 30


def injection_site_valid(site: str | None, *, note: str = "") -> tuple[bool, str]:
    """Whether ``site`` is one of :data:`INJECTION_SITES`; "其他（注明）" needs a ``note`` naming the
    site (at most 30 characters). Returns ``(True, "")`` or ``(False, reason)``."""
    chosen = (site or "").strip()
    if not chosen:
        return False, "请选择接种部位"
    if chosen not in INJECTION_SITES:
        return False, f"接种部位“{chosen}”无效，应为：" + "、".join(INJECTION_SITES)
    if chosen == INJECTION_SITE_OTHER:
        written = " ".join(note.split())
        if not written:
            return False, "选择“其他”时须注明接种部位"
        if len(written) > INJECTION_SITE_NOTE_MAX:
            return False, f"注明的接种部位不能超过{INJECTION_SITE_NOTE_MAX}个字"
    return True, ""


def injection_site_text(site: str, *, note: str = "") -> str:
    """The injection site to store: the choice itself, or "其他：<note>"; ``ValueError`` (Chinese) when
    :func:`injection_site_valid` refuses it."""
    ok, why = injection_site_valid(site, note=note)
    if not ok:
        raise ValueError(why)
    chosen = site.strip()
    return f"其他：{' '.join(note.split())}" if chosen == INJECTION_SITE_OTHER else chosen
