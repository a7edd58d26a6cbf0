"""/api/v1/catalog (products, schedules, phases, question sets) and /api/v1/forecast."""

from __future__ import annotations

import enum
from dataclasses import asdict
from datetime import date
from typing import Any

from ninja import Router, Schema

from vaxops.core import clock
from vaxops.core.schemas import Day, ErrorOut  # noqa: F401  (ErrorOut: other routers import it from here)

from . import domain
from .selectors import catalogue_current, forecast_from_inputs, phases_current, question_set_on

router = Router(tags=["catalog"])
forecast_router = Router(tags=["forecast"])


class IntervalOut(Schema):
    min_days: int
    recommended_days: int
    latest_days: int | None
    latest_from_dose1_days: int | None


class BoosterOut(Schema):
    min_days_after_primary: int
    allowed_products: list[str]
    recommended_days_after_primary: int | None
    min_age_years: int


class PolicyOut(Schema):
    product_code: str
    effective_from: date
    effective_to: date | None
    primary_doses: int
    intervals: list[IntervalOut]
    completion_products: list[str]
    booster: BoosterOut | None
    grace_days: int
    min_gap_other_vaccines_days: int


class ProductOut(Schema):
    code: str
    name_zh: str
    name_en: str
    manufacturer_zh: str
    manufacturer_en: str
    mah: str
    platform: str
    platform_zh: str
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
    trace_prefixes: list[str]
    min_age_years: int
    max_age_years: int | None
    policies: list[PolicyOut]


class PhaseOut(Schema):
    code: str
    name_zh: str
    name_en: str
    priority_groups: list[str]
    min_age: int | None
    max_age: int | None
    starts_on: date
    ends_on: date | None


class RuleOut(Schema):
    action: str
    reason_zh: str
    scope: str
    defer_days: int | None
    defer_days_after_answer: int | None
    defer_condition: str | None


class QuestionOut(Schema):
    code: str
    text_zh: str
    text_en: str
    answer_type: str
    rule: RuleOut
    required: bool
    choices: list[str]


class QuestionSetOut(Schema):
    version: str
    effective_from: date
    questions: list[QuestionOut]
    temp_max_c: float
    bp_systolic_max: int
    bp_diastolic_max: int
    vitals_defer_days: int


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` output with enums as their values, for the schemas above."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


@router.get("/products", response=list[ProductOut], summary="疫苗品种及其各版本免疫程序")
def list_products(request):
    catalogue = catalogue_current()
    return [
        {
            **_plain(asdict(p)),
            "platform_zh": p.platform.label_zh,
            "policies": [_plain(asdict(pol)) for pol in catalogue.policies_for(p.code)],
        }
        for p in catalogue.products
    ]


@router.get("/phases", response=list[PhaseOut], summary="接种阶段")
def list_phases(request):
    return [_plain(asdict(p)) for p in phases_current()]


@router.get(
    "/question-set",
    response={200: QuestionSetOut, 404: ErrorOut},
    summary="指定日期生效的预检问题集（默认今天）",
)
def get_question_set(request, on: Day | None = None):
    return _plain(asdict(question_set_on(on or clock.today())))


class ForecastIn(Schema):
    birth_date: str
    doses: list[str] = []
    on: str | None = None
    contraindicated: list[str] = []
    deferred_until: str | None = None


class DoseInputOut(Schema):
    product_code: str
    date: str
    place: str | None
    external: bool
    ref: str | None


class ReasonOut(Schema):
    code: str
    message_zh: str


class JudgedDoseOut(Schema):
    dose: DoseInputOut
    product: str | None
    valid: bool
    dose_number: int | None
    is_booster: bool
    reason: ReasonOut


class NextDoseOut(Schema):
    number: int
    is_booster: bool
    allowed_products: list[str]
    earliest: str
    recommended: str
    latest: str | None
    overdue: bool
    series_doses: int | None


class ForecastOut(Schema):
    """``domain.forecast_to_dict``: dates as ISO strings, exactly what ``vaxops forecast --json`` prints."""

    on: str
    status: str
    status_zh: str
    doses: list[JudgedDoseOut]
    next_dose: NextDoseOut | None
    deferred_until: str | None
    deferred_condition: str | None
    course_product: str | None
    primary_doses: int | None
    primary_completed_on: str | None
    booster_given_on: str | None
    valid_dose_count: int
    reasons: list[str]


@forecast_router.post(
    "", response={200: ForecastOut, 400: ErrorOut}, summary="接种评估（与 vaxops forecast --json 相同）"
)
def forecast(request, payload: ForecastIn):
    """Doses as ``PRODUCT@YYYY-MM-DD`` (catalogue or DCC ``mp`` code); ``contraindicated`` lists products
    or ``all``; ``on`` defaults to today."""
    result = forecast_from_inputs(
        birth_date=payload.birth_date,
        doses=payload.doses,
        on=payload.on or clock.today(),
        contraindicated=payload.contraindicated,
        deferred_until=payload.deferred_until,
    )
    return domain.forecast_to_dict(result)
