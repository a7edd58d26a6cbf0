"""/api/v1/clinic: a resident's forecast, eligibility, doses and pre-screenings (scoped to the user)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from django.utils import timezone
from ninja import Router, Schema
from pydantic import Field

from vaxops.accounts.scope import require
from vaxops.catalog import domain
from vaxops.catalog.api import ForecastOut
from vaxops.catalog.selectors import catalogue_current
from vaxops.core import clock
from vaxops.core.idempotency import idempotent_status
from vaxops.core.schemas import Day, ErrorOut, Id

from . import selectors, services
from .models import Dose, ScreeningRecord

router = Router(tags=["clinic"])


class ForecastResponse(Schema):
    resident_id: int
    forecast: ForecastOut
    recommendation: dict[str, Any]


class EligibilityOut(Schema):
    resident_id: int
    on: date
    allowed: bool
    code: str
    reason_zh: str
    earliest: date | None
    priority_group: str | None


class DoseOut(Schema):
    id: int
    resident_id: int
    product_code: str
    given_on: date
    place: str
    external: bool
    recorded_at: datetime
    voided_at: datetime | None
    void_reason: str


class DoseIn(Schema):
    product: str
    given_on: Day
    place: str


class VoidIn(Schema):
    reason: str


class CorrectIn(Schema):
    reason: str
    given_at: datetime | None = Field(
        None, description="接种时间（如 2026-03-02T09:30:00+08:00；不带时区按北京时间）"
    )
    injection_site: str | None = Field(None, max_length=40, description="接种部位")


class CorrectedOut(DoseOut):
    given_at: datetime | None
    injection_site: str


class ScreeningIn(Schema):
    answers: dict[str, Any]
    temperature_c: (
        Annotated[float, Field(ge=30, le=45, allow_inf_nan=False, description="体温（℃，30–45）")] | None
    ) = None
    bp_systolic: Annotated[int, Field(ge=0, le=400, description="收缩压（mmHg）")] | None = None
    bp_diastolic: Annotated[int, Field(ge=0, le=400, description="舒张压（mmHg）")] | None = None
    on: Day | None = None


class ScreeningOut(Schema):
    id: int
    resident_id: int
    at: datetime
    screened_on: date
    question_set_version: str
    outcome: str
    outcome_zh: str
    defer_until: date | None
    defer_condition: str
    contraindicated_products: list[str] | str
    reasons: list[str]
    notes: list[str]


def _aware(moment: datetime | None) -> datetime | None:
    """A time sent without its offset is Beijing time (the county's)."""
    if moment is None or timezone.is_aware(moment):
        return moment
    return timezone.make_aware(moment)


def _dose(d: Dose) -> dict:
    return DoseOut.from_orm(d).dict()


def _screening(s: ScreeningRecord) -> dict:
    fields = set(ScreeningOut.model_fields) - {"outcome_zh"}
    return {**{f: getattr(s, f) for f in fields}, "outcome_zh": s.get_outcome_display()}


@router.get(
    "/residents/{resident_id}/forecast",
    response={200: ForecastResponse, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="居民接种评估（含 FHIR ImmunizationRecommendation）",
)
def resident_forecast(request, resident_id: Id, on: Day | None = None):
    require(request.user, "clinic.view_dose")
    resident = selectors.resident_for_clinic(user=request.user, resident_id=resident_id)
    forecast = selectors.forecast_for(resident=resident, on=on or clock.today())
    return {
        "resident_id": resident.pk,
        "forecast": domain.forecast_to_dict(forecast),
        "recommendation": domain.to_fhir_recommendation(
            forecast, patient_ref=f"Patient/{resident.pk}", catalogue=catalogue_current()
        ),
    }


@router.get(
    "/residents/{resident_id}/eligibility",
    response={200: EligibilityOut, 400: ErrorOut, 404: ErrorOut},
    summary="能否预约（按接种阶段、人群分类和接种评估）",
)
def resident_eligibility(request, resident_id: Id, on: Day | None = None):
    require(request.user, "clinic.view_dose")  # the reasons can name a deferral (e.g. pregnancy)
    resident = selectors.resident_for_clinic(user=request.user, resident_id=resident_id)
    day = on or clock.today()
    e = selectors.eligibility_for(resident=resident, on=day)
    return {
        "resident_id": resident.pk,
        "on": day,
        "allowed": e.allowed,
        "code": e.code.value,
        "reason_zh": e.reason_zh,
        "earliest": e.earliest,
        "priority_group": resident.priority_group.code if resident.priority_group_id else None,
    }


@router.get(
    "/residents/{resident_id}/doses",
    response={200: list[DoseOut], 403: ErrorOut, 404: ErrorOut},
    summary="接种记录（含已作废）",
)
def resident_doses(request, resident_id: Id):
    require(request.user, "clinic.view_dose")
    resident = selectors.resident_for_clinic(user=request.user, resident_id=resident_id)
    return selectors.doses_of(resident=resident)


@router.post(
    "/residents/{resident_id}/doses",
    response={201: DoseOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="补录外地接种记录（支持 Idempotency-Key）",
)
def record_external_dose(request, resident_id: Id, payload: DoseIn):
    data = {"resident_id": resident_id, **payload.dict()}
    return idempotent_status(
        request,
        data,
        lambda: (
            201,
            _dose(
                services.dose_record_external(
                    actor=request.user,
                    resident_id=resident_id,
                    product=payload.product,
                    given_on=payload.given_on,
                    place=payload.place,
                )
            ),
        ),
    )


@router.post(
    "/doses/{dose_id}/void",
    response={200: DoseOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="作废接种记录（须说明原因，留痕；支持 Idempotency-Key）",
)
def void_dose(request, dose_id: Id, payload: VoidIn):
    data = {"dose_id": dose_id, **payload.dict()}
    return idempotent_status(
        request,
        data,
        lambda: (200, _dose(services.dose_void(actor=request.user, dose_id=dose_id, reason=payload.reason))),
    )


@router.post(
    "/doses/{dose_id}/correct",
    response={200: CorrectedOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="更正本地接种记录的接种时间或部位（县疾控；须说明原因，留痕，向各平台重新上报；支持 Idempotency-Key）",
)
def correct_dose(request, dose_id: Id, payload: CorrectIn):
    """Refusals: ``role_forbidden``, ``dose_not_found`` (absent or outside the user's scope),
    ``dose_correction_local_only``, ``dose_already_voided``, ``reason_required``, ``reason_too_long``,
    ``dose_in_future``, ``dose_correction_after_record``, ``dose_before_birth``, ``dose_duplicate``,
    ``dose_correction_empty``."""
    data = {"dose_id": dose_id, **payload.dict()}
    return idempotent_status(
        request,
        data,
        lambda: (
            200,
            CorrectedOut.from_orm(
                services.dose_correct(
                    actor=request.user,
                    dose_id=dose_id,
                    reason=payload.reason,
                    given_at=_aware(payload.given_at),
                    injection_site=payload.injection_site,
                )
            ).dict(),
        ),
    )


@router.post(
    "/residents/{resident_id}/screenings",
    response={201: ScreeningOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="预检（按生效的问题集判定；支持 Idempotency-Key）",
)
def record_screening(request, resident_id: Id, payload: ScreeningIn):
    """``answers`` maps question codes (see ``GET /api/v1/catalog/question-set``) to ``true``/``false``,
    a choice, text, or a ``YYYY-MM-DD`` date (``null`` = no)."""
    data = {"resident_id": resident_id, **payload.dict()}
    return idempotent_status(
        request,
        data,
        lambda: (
            201,
            _screening(
                services.screening_record(
                    actor=request.user,
                    resident_id=resident_id,
                    answers=payload.answers,
                    temperature_c=payload.temperature_c,
                    bp_systolic=payload.bp_systolic,
                    bp_diastolic=payload.bp_diastolic,
                    on=payload.on,
                )
            ),
        ),
    )
