"""Writes to a person's vaccination record. Each function is atomic, audited, checks the actor's role
and scope, and refreshes the person's campaign status in the same transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction

from vaxops.accounts.scope import require
from vaxops.audit.services import audit_record
from vaxops.catalog import domain
from vaxops.catalog.selectors import catalogue_current, question_set_on
from vaxops.core import clock
from vaxops.core.errors import NotFound, PermissionDenied, ValidationFailed
from vaxops.registry.models import Resident
from vaxops.registry.selectors import resident_get, residents_visible

from .models import Contraindication, Deferral, Dose, ScreeningRecord

_CAMPAIGN_MODULES = {"vaxops.campaign", "vaxops.campaign.services"}


def _status_refresh(resident_ids: list[int]) -> None:
    """Bring the people's campaign status (mobilisation lists) up to date, when the campaign app exists.

    Imported at call time, not at module load: campaign reads this app, and an import cycle must not
    turn into a silently missing refresh.
    """
    if not apps.is_installed("vaxops.campaign"):
        return
    try:
        from vaxops.campaign.services import status_refresh
    except ImportError as e:
        if e.name in _CAMPAIGN_MODULES:  # the campaign app is not there yet
            return
        raise
    status_refresh(resident_ids=resident_ids)


def _user(actor) -> Any:
    """The user row to store as recorder, or ``None`` for the command line's system actor."""
    return actor if getattr(actor, "pk", None) else None


def _resident(actor, resident_id: int) -> Resident:
    return resident_get(user=actor, resident_id=resident_id)


def _as_date(value: Any, *, field: str, label: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValidationFailed(f"{label}须为日期", field=field)
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed(f"{label}“{value}”无效，应为 YYYY-MM-DD", field=field) from None


# ------------------------------------------------------------------------------------------ doses


@transaction.atomic
def dose_record_external(*, actor, resident_id: int, product: str, given_on: dt.date | str, place: str) -> Dose:
    """Enter a dose the person received elsewhere, from their paper record (接种凭证).

    ``product`` is a catalogue or DCC ``mp`` code; the catalogue code is stored. Refuses a date in the
    future or before birth, a missing place, and a second dose of the same product on the same day.
    """
    require(actor, "clinic.add_dose")
    resident = _resident(actor, resident_id)
    found = catalogue_current().find_product((product or "").strip())
    if found is None:
        raise ValidationFailed(f"疫苗品种“{product}”不在目录中", field="product")
    day = _as_date(given_on, field="given_on", label="接种日期")
    if day > clock.today():
        raise ValidationFailed(f"接种日期{day.isoformat()}晚于今天", field="given_on")
    if resident.birth_date and day < resident.birth_date:
        raise ValidationFailed(f"接种日期{day.isoformat()}早于出生日期", field="given_on")
    place = (place or "").strip()
    if not place:
        raise ValidationFailed("请填写接种地点（接种单位或地区）", field="place")
    if len(place) > 200:
        raise ValidationFailed("接种地点超过200个字符", field="place")
    duplicate = f"该居民{day.isoformat()}已有{found.code}的接种记录"
    if Dose.objects.filter(resident=resident, given_on=day, product_code=found.code, voided_at__isnull=True).exists():
        raise ValidationFailed(duplicate, field="given_on")
    dose = Dose(resident=resident, product_code=found.code, given_on=day, place=place, external=True,
                recorded_by=_user(actor))
    try:
        with transaction.atomic():
            dose.save()
    except IntegrityError:
        # A concurrent request recorded the same dose between the check and the insert.
        raise ValidationFailed(duplicate, field="given_on") from None
    audit_record(actor=actor, action="dose.record_external", obj=dose,
                 new={"resident_id": resident.pk, "product_code": found.code, "given_on": day.isoformat(),
                      "place": place, "external": True})
    _status_refresh([resident.pk])
    return dose


@transaction.atomic
def dose_void(*, actor, dose_id: int, reason: str) -> Dose:
    """Void a dose recorded in error; it stays on file and leaves every evaluation.

    Those who enter paper records may void doses given elsewhere; a dose given here needs
    ``clinic.void_dose`` (the county CDC).
    """
    may_void_any = actor.has_perm("clinic.void_dose")
    if not (may_void_any or actor.has_perm("clinic.add_dose")):
        raise PermissionDenied("您的角色无权作废接种记录")
    dose = Dose.objects.filter(pk=dose_id).first()
    if dose is None or not residents_visible(user=actor).filter(pk=dose.resident_id).exists():
        raise NotFound("接种记录不存在或不在您的管辖范围内")
    if not (may_void_any or dose.external):
        raise PermissionDenied("本地接种记录只能由县疾控中心作废")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed("请填写作废原因", field="reason")
    if len(reason) > 200:
        raise ValidationFailed("作废原因超过200个字符", field="reason")
    now = clock.now()
    # Conditional update: of two concurrent voids exactly one wins (SQLite ignores select_for_update).
    if not Dose.objects.filter(pk=dose.pk, voided_at__isnull=True).update(
        voided_at=now, voided_by=_user(actor), void_reason=reason
    ):
        raise ValidationFailed("该接种记录已作废", field="dose_id")
    dose.refresh_from_db()
    audit_record(actor=actor, action="dose.void", obj=dose, purpose=reason,
                 old={"voided_at": None},
                 new={"resident_id": dose.resident_id, "product_code": dose.product_code,
                      "given_on": dose.given_on.isoformat(), "voided_at": now.isoformat(), "void_reason": reason})
    _status_refresh([dose.resident_id])
    return dose


# ------------------------------------------------------------------------------------------ screening


def _answers_for(question_set: domain.QuestionSet, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers with dates parsed (JSON and forms send ``YYYY-MM-DD``; blank means "no")."""
    out: dict[str, Any] = {}
    for code, value in answers.items():
        q = question_set.question(code)
        if q is not None and q.answer_type is domain.AnswerType.DATE and not isinstance(value, dt.date):
            if value is None or (isinstance(value, str) and not value.strip()):
                value = None
            else:
                value = _as_date(value, field=code, label=f"“{q.text_zh}”的日期")
        out[code] = value
    return out


def _jsonable(answers: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in answers.items()}


def _temperature(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(f"体温“{value}”不是数字", field="temperature_c") from None


@transaction.atomic
def screening_record(
    *,
    actor,
    resident_id: int,
    answers: Mapping[str, Any],
    temperature_c: float | Decimal | str | None,
    bp_systolic: int | None,
    bp_diastolic: int | None,
    on: dt.date | None = None,
) -> ScreeningRecord:
    """Pre-screen a person with the question set in force on ``on`` (default today) and store the record.

    The deferrals it yields replace the person's earlier standing ones (the newer screening is the
    current word on their health); a contraindication is added and stays until lifted. Refuses
    (``ValidationFailed``, ``field`` = question code or vital sign) a missing or malformed answer.
    """
    require(actor, "clinic.add_screeningrecord")
    resident = _resident(actor, resident_id)
    today = clock.today()
    on = on or today
    if on > today:
        raise ValidationFailed(f"预检日期{on.isoformat()}晚于今天", field="on")
    try:
        question_set = question_set_on(on)
    except NotFound as e:
        raise ValidationFailed(e.message, field="on") from None
    parsed = _answers_for(question_set, answers)
    temperature = _temperature(temperature_c)
    try:
        result = domain.screen(
            question_set=question_set, answers=parsed, temperature_c=temperature, bp_systolic=bp_systolic,
            bp_diastolic=bp_diastolic, on=on, catalogue=catalogue_current(),
        )
    except ValueError as e:
        field, sep, message = str(e).partition(": ")
        raise ValidationFailed(message if sep else str(e), field=field if sep else None) from None

    now = clock.now()
    contra = result.contraindicated_products
    record = ScreeningRecord.objects.create(
        resident=resident, at=now, screened_on=on, question_set_version=result.question_set_version,
        answers=_jsonable(parsed), temperature_c=Decimal(str(round(temperature or 0, 1))),
        bp_systolic=bp_systolic, bp_diastolic=bp_diastolic, outcome=result.outcome.value,
        defer_until=result.defer_until, defer_condition=result.defer_condition or "",
        contraindicated_products="all" if contra is domain.ALL else list(contra),
        reasons=list(result.reasons), notes=list(result.notes), screener=_user(actor),
    )
    superseded = Deferral.objects.filter(
        resident=resident, ended_at__isnull=True, screening__screened_on__lte=on
    ).exclude(screening=record)
    ended = superseded.update(ended_at=now, end_reason=f"由{on.isoformat()}的预检结果取代")
    Deferral.objects.bulk_create(
        Deferral(resident=resident, screening=record, until=d.until, condition=d.condition or "", reason=d.reason)
        for d in result.deferrals
    )
    if result.contraindication is not None:
        c = result.contraindication
        Contraindication.objects.create(
            resident=resident, screening=record, reason=c.reason,
            products="all" if c.products is domain.ALL else list(c.products),
        )
    # Answers and reasons are health data; the audit log keeps the outcome only.
    audit_record(actor=actor, action="screening.record", obj=record,
                 new={"resident_id": resident.pk, "question_set_version": record.question_set_version,
                      "outcome": record.outcome, "defer_until": result.defer_until.isoformat()
                      if result.defer_until else None, "contraindicated_products": record.contraindicated_products,
                      "deferrals_ended": ended})
    _status_refresh([resident.pk])
    return record


@transaction.atomic
def contraindication_lift(*, actor, contraindication_id: int, reason: str) -> Contraindication:
    """Lift a standing contraindication found to be wrong (e.g. a mistaken answer), with a reason."""
    require(actor, "clinic.change_contraindication")
    c = Contraindication.objects.filter(pk=contraindication_id).first()
    if c is None or not residents_visible(user=actor).filter(pk=c.resident_id).exists():
        raise NotFound("接种禁忌记录不存在或不在您的管辖范围内")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed("请填写解除原因", field="reason")
    now = clock.now()
    if not Contraindication.objects.filter(pk=c.pk, lifted_at__isnull=True).update(
        lifted_at=now, lift_reason=reason[:200]
    ):
        raise ValidationFailed("该接种禁忌已解除", field="contraindication_id")
    c.refresh_from_db()
    audit_record(actor=actor, action="contraindication.lift", obj=c, purpose=reason[:200],
                 old={"lifted_at": None}, new={"resident_id": c.resident_id, "lifted_at": now.isoformat()})
    _status_refresh([c.resident_id])
    return c
