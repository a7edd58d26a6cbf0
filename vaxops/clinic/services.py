"""Writes to a person's vaccination record. Each function is atomic, audited, checks the actor's role
and scope, and refreshes the person's campaign status in the same transaction."""

from __future__ import annotations

import dataclasses
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

from .models import (
    Consent,
    ConsentText,
    Contraindication,
    Deferral,
    Dose,
    Observation,
    ReactionNote,
    RecordLink,
    ScreeningRecord,
)

_CAMPAIGN_MODULES = {"vaxops.campaign", "vaxops.campaign.services"}


def _campaign_services():
    """The campaign app's services when that app is installed, else None.

    Imported at call time, not at module load: campaign reads this app, and an import cycle must not
    turn into a silently missing refresh.
    """
    if not apps.is_installed("vaxops.campaign"):
        return None
    try:
        from vaxops.campaign import services
    except ImportError as e:
        if e.name in _CAMPAIGN_MODULES:  # the campaign app is not there yet
            return None
        raise
    return services


def _status_refresh(resident_ids: list[int]) -> None:
    """Bring the people's campaign status (mobilisation lists) up to date, when the campaign app exists."""
    campaign = _campaign_services()
    if campaign is not None:
        campaign.status_refresh(resident_ids=resident_ids)


def _status_store(resident: Resident, inputs, *, on: dt.date) -> None:
    """Store one person's campaign status from engine inputs the caller has just read and extended (the
    desk's dose: no second read of the person's history)."""
    campaign = _campaign_services()
    if campaign is not None:
        campaign.status_store(resident=resident, inputs=inputs, on=on)


def _given(dose: Dose) -> domain.GivenDose:
    """A dose row as the rules engine sees it (as ``person_inputs`` reads it)."""
    return domain.GivenDose(
        product_code=dose.product_code,
        date=dose.given_on,
        place=dose.place or None,
        external=dose.external,
        ref=str(dose.pk),
    )


def _user(actor) -> Any:
    """The user row to store as recorder, or ``None`` for the command line's system actor."""
    return actor if getattr(actor, "pk", None) else None


def _resident(actor, resident_id: int) -> Resident:
    """The resident in the actor's scope — or, for site staff, anyone checked in at their site today (a
    site serves people from anywhere in the county)."""
    try:
        return resident_get(user=actor, resident_id=resident_id)
    except NotFound:
        site_id = _staff_site_id(actor)
        if site_id is not None:
            from vaxops.booking.models import Appointment, AppointmentStatus

            if Appointment.objects.filter(
                resident_id=resident_id,
                status=AppointmentStatus.CHECKED_IN,
                slot__session__site_id=site_id,
                slot__session__day=clock.today(),
            ).exists():
                return Resident.objects.select_related("priority_group", "employer", "village").get(
                    pk=resident_id
                )
        raise


def _staff_site_id(actor) -> int | None:
    from vaxops.sites.models import StaffMember

    if not getattr(actor, "pk", None):
        return None
    return StaffMember.objects.filter(user=actor, active=True).values_list("site_id", flat=True).first()


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
def dose_record_external(
    *, actor, resident_id: int, product: str, given_on: dt.date | str, place: str
) -> Dose:
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
    if Dose.objects.filter(
        resident=resident, given_on=day, product_code=found.code, voided_at__isnull=True
    ).exists():
        raise ValidationFailed(duplicate, field="given_on")
    dose = Dose(
        resident=resident,
        product_code=found.code,
        given_on=day,
        place=place,
        external=True,
        recorded_by=_user(actor),
    )
    try:
        with transaction.atomic():
            dose.save()
    except IntegrityError:
        # A concurrent request recorded the same dose between the check and the insert.
        raise ValidationFailed(duplicate, field="given_on") from None
    audit_record(
        actor=actor,
        action="dose.record_external",
        obj=dose,
        new={
            "resident_id": resident.pk,
            "product_code": found.code,
            "given_on": day.isoformat(),
            "place": place,
            "external": True,
        },
    )
    _status_refresh([resident.pk])
    return dose


@transaction.atomic
def dose_void(*, actor, dose_id: int, reason: str, disposition: str | None = None) -> Dose:
    """Void a dose recorded in error; it stays on file and leaves every evaluation.

    Those who enter paper records may void doses given elsewhere; a dose given here needs
    ``clinic.void_dose`` (the county CDC). A dose recorded from a traceability code needs a
    ``disposition``: ``returned`` (the package was not opened: back into stock) or ``wasted``; the code
    and the stock ledger follow in the same transaction.
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
    if dose.trace_code_id and disposition not in ("returned", "wasted"):
        raise ValidationFailed("请选择疫苗去向：未开启退回库存，或已开启报损", field="disposition")
    now = clock.now()
    # Conditional update: of two concurrent voids exactly one wins (SQLite ignores select_for_update).
    if not Dose.objects.filter(pk=dose.pk, voided_at__isnull=True).update(
        voided_at=now, voided_by=_user(actor), void_reason=reason
    ):
        raise ValidationFailed("该接种记录已作废", field="dose_id")
    dose.refresh_from_db()
    if dose.trace_code_id:
        from vaxops.supply.services import code_after_void

        code_after_void(actor=actor, code=dose.trace_code, returned=disposition == "returned", reason=reason)
    if apps.is_installed("vaxops.certs"):
        from vaxops.certs.services import certificates_revoke_for_dose

        certificates_revoke_for_dose(dose, f"接种记录作废：{reason}", actor=actor)
    _links_revoke(RecordLink.objects.filter(dose=dose), actor=actor, reason=f"接种记录作废：{reason}")
    if dose.appointment_id:
        from vaxops.booking.models import Appointment, AppointmentStatus

        # The visit no longer counts as done; the dose is due again and may be booked anew.
        Appointment.objects.filter(pk=dose.appointment_id, status=AppointmentStatus.COMPLETED).update(
            status=AppointmentStatus.CANCELLED, changed_at=now, reason=f"接种记录作废：{reason}"[:200]
        )
    audit_record(
        actor=actor,
        action="dose.void",
        obj=dose,
        purpose=reason,
        old={"voided_at": None},
        new={
            "resident_id": dose.resident_id,
            "product_code": dose.product_code,
            "given_on": dose.given_on.isoformat(),
            "voided_at": now.isoformat(),
            "void_reason": reason,
        },
    )
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
            question_set=question_set,
            answers=parsed,
            temperature_c=temperature,
            bp_systolic=bp_systolic,
            bp_diastolic=bp_diastolic,
            on=on,
            catalogue=catalogue_current(),
        )
    except ValueError as e:
        field, sep, message = str(e).partition(": ")
        raise ValidationFailed(message if sep else str(e), field=field if sep else None) from None

    now = clock.now()
    contra = result.contraindicated_products
    record = ScreeningRecord.objects.create(
        resident=resident,
        at=now,
        screened_on=on,
        question_set_version=result.question_set_version,
        answers=_jsonable(parsed),
        temperature_c=Decimal(str(round(temperature or 0, 1))),
        bp_systolic=bp_systolic,
        bp_diastolic=bp_diastolic,
        outcome=result.outcome.value,
        defer_until=result.defer_until,
        defer_condition=result.defer_condition or "",
        contraindicated_products="all" if contra is domain.ALL else list(contra),
        reasons=list(result.reasons),
        notes=list(result.notes),
        screener=_user(actor),
    )
    superseded = Deferral.objects.filter(
        resident=resident, ended_at__isnull=True, screening__screened_on__lte=on
    ).exclude(screening=record)
    ended = superseded.update(ended_at=now, end_reason=f"由{on.isoformat()}的预检结果取代")
    Deferral.objects.bulk_create(
        Deferral(
            resident=resident, screening=record, until=d.until, condition=d.condition or "", reason=d.reason
        )
        for d in result.deferrals
    )
    if result.contraindication is not None:
        c = result.contraindication
        Contraindication.objects.create(
            resident=resident,
            screening=record,
            reason=c.reason,
            products="all" if c.products is domain.ALL else list(c.products),
        )
    # Answers and reasons are health data; the audit log keeps the outcome only.
    audit_record(
        actor=actor,
        action="screening.record",
        obj=record,
        new={
            "resident_id": resident.pk,
            "question_set_version": record.question_set_version,
            "outcome": record.outcome,
            "defer_until": result.defer_until.isoformat() if result.defer_until else None,
            "contraindicated_products": record.contraindicated_products,
            "deferrals_ended": ended,
        },
    )
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
    audit_record(
        actor=actor,
        action="contraindication.lift",
        obj=c,
        purpose=reason[:200],
        old={"lifted_at": None},
        new={"resident_id": c.resident_id, "lifted_at": now.isoformat()},
    )
    _status_refresh([c.resident_id])
    return c


# ------------------------------------------------------------------------------------ the vaccination desk
#
# 一人一苗一扫码 / 三查七对一验证: a dose is recorded only from a scanned traceability code, after every hard
# stop of ``desk.scan_checks`` passed, and the recipient confirmed who they are. One transaction writes the
# dose, the code's new state and its ledger row (supply), the appointment's completion, the observation
# and the audit event; the client's id makes a retry return the first record instead of a second dose.


def desk_assignment(*, actor, desk_id: int | None = None, on: dt.date | None = None):
    """The vaccination-desk assignment of the signed-in staff member in today's open session at their
    site (the desk they may record doses at). Raises ValidationFailed with the reason when there is none."""
    from vaxops.sites.models import Assignment, DeskKind, SessionStatus, StaffMember

    on = on or clock.today()
    user = _user(actor)
    # One query when there is an assignment (the hot path of every scan); the reason there is none is
    # looked up only then.
    qs = Assignment.objects.filter(
        staff__user=user, staff__active=True, session__day=on, desk__kind=DeskKind.VACCINATION
    ).select_related("session", "desk", "session__site__stock_place", "staff")
    if desk_id is not None:
        qs = qs.filter(desk_id=desk_id)
    assignment = qs.first()
    if assignment is None:
        staff = StaffMember.objects.filter(user=user, active=True).first()
        if staff is None:
            raise PermissionDenied("您的账号未登记为接种单位工作人员")
        raise ValidationFailed(f"接种人员{staff.name}今天未排班在接种台，请先排班", field="desk")
    if assignment.session.status != SessionStatus.OPEN:
        raise ValidationFailed("本场次尚未开诊（“四有”确认后开诊），不能接种", field="desk")
    if assignment.session.site.stock_place_id is None:
        raise ValidationFailed(
            f"{assignment.session.site.name}未关联冷链库存地点，无法扫码出库", field="desk"
        )
    return assignment


def _checked_in(*, resident_id: int, site, on: dt.date):
    from vaxops.booking.models import Appointment, AppointmentStatus

    return (
        Appointment.objects.filter(
            resident_id=resident_id,
            status=AppointmentStatus.CHECKED_IN,
            slot__session__site=site,
            slot__session__day=on,
        )
        .select_related("resident")
        .first()
    )


def scan_inputs(*, assignment, resident: Resident, code: str, now: dt.datetime):
    """What is known at the moment the code is scanned, read in a few queries: ``desk.ScanInputs``, the
    code, the screening and consent rows, and the person's history (the rules engine's inputs)."""
    from vaxops.catalog.selectors import catalogue_current
    from vaxops.clinic.selectors import forecast_for, person_inputs
    from vaxops.sites.domain import Certificate as CertificateFacts
    from vaxops.sites.models import Certificate
    from vaxops.supply.domain import normalise_trace_code
    from vaxops.supply.models import TraceCode

    from . import desk

    s = ScreeningRecord.objects.filter(resident=resident).order_by("-at").first()
    screening = (
        None
        if s is None
        else desk.ScreeningFacts(
            outcome=s.outcome,
            at=s.at,
            defer_until=s.defer_until,
            defer_condition=s.defer_condition or None,
            contraindicated_products=s.contraindicated_products or (),
            reasons=tuple(s.reasons or ()),
        )
    )
    c = Consent.objects.filter(resident=resident).select_related("text").order_by("-at").first()
    consent = (
        None
        if c is None
        else desk.ConsentFacts(
            at=c.at, refused=c.refused, refusal_reason=c.refusal_reason, product_code=c.text.product_code
        )
    )
    try:
        text = normalise_trace_code(code)
    except Exception:  # noqa: BLE001 - a float from a spreadsheet: the check reports it as malformed
        text = str(code)
    tc = TraceCode.objects.select_related("lot__product", "place").filter(code=text).first()
    code_facts = lot = product = None
    if tc is not None:
        code_facts = desk.CodeFacts(
            state=tc.state,
            place_code=tc.place.code if tc.place_id else None,
            administered_at=tc.administered_at,
        )
        lot = desk.LotFacts(
            number=tc.lot.lot_number,
            status=tc.lot.status,
            expiry=tc.lot.expiry,
            product_code=tc.lot.product.code,
        )
        product = desk.ProductFacts.from_product(tc.lot.product)
    history = person_inputs(resident_ids=[resident.pk])[resident.pk]
    try:
        forecast = forecast_for(
            resident=resident, on=clock.today(), inputs=history, catalogue=catalogue_current()
        )
        next_dose, no_dose_reason = desk.due_dose_of(forecast)
    except ValidationFailed as e:
        next_dose, no_dose_reason = None, e.message
    certs = tuple(
        CertificateFacts(kind=x.kind, number=x.number, valid_from=x.valid_from, valid_to=x.valid_to)
        for x in Certificate.objects.filter(staff=assignment.staff)
    )
    return (
        desk.ScanInputs(
            recipient=desk.Recipient(
                name=resident.name, birth_date=resident.birth_date, id_masked=resident.id_number_masked
            ),
            screening=screening,
            consent=consent,
            scanned_code=text,
            code=code_facts,
            site_place_code=assignment.session.site.stock_place.code,
            lot=lot,
            product=product,
            next_dose=next_dose,
            vaccinator=desk.VaccinatorFacts(
                name=assignment.staff.name, certificates=certs, assigned_to_desk=True
            ),
            now=now,
            no_dose_reason=no_dose_reason,
        ),
        tc,
        s,
        c,
        history,
    )


def dose_check(
    *,
    actor,
    resident_id: int,
    code: str,
    desk_id: int | None = None,
    injection_site: str = "",
    now: dt.datetime | None = None,
) -> dict:
    """Scan a code for a checked-in person: every hard stop, and when all pass the card to read aloud.
    Writes nothing. Returns ``{"ok", "failures": [{code, message}], "confirmation": {...} | None}``."""
    from . import desk

    now = now or clock.now()
    assignment = desk_assignment(actor=actor, desk_id=desk_id, on=clock.today())
    appointment = _checked_in(resident_id=resident_id, site=assignment.session.site, on=clock.today())
    if appointment is None:
        raise ValidationFailed("受种者今天尚未在本接种单位登记签到，请先到登记台", field="resident")
    inputs, *_ = scan_inputs(assignment=assignment, resident=appointment.resident, code=code, now=now)
    failures = desk.scan_checks(inputs)
    card = None
    if not failures:
        c = desk.confirmation_card(inputs, injection_site=injection_site or None)
        card = {
            "lines": list(c.lines_zh()),
            "name": c.name,
            "age_years": c.age_years,
            "vaccine": c.vaccine,
            "product_code": c.product_code,
            "dose_label": c.dose_label,
            "dose_number": c.dose_number,
            "dose_volume": c.dose_volume,
            "route": c.route,
            "injection_site": c.injection_site,
            "lot_number": c.lot_number,
            "expiry": c.expiry.isoformat(),
            "confirm_by_code": desk.one_time_code_required(appointment.resident.phone),
        }
    return {
        "ok": not failures,
        "failures": [{"code": f.code.value, "message": f.message_zh} for f in failures],
        "confirmation": card,
    }


def dose_administer(
    *,
    actor,
    resident_id: int,
    code: str,
    client_id: str,
    phone_last4: str,
    injection_site: str = "",
    injection_note: str = "",
    desk_id: int | None = None,
    now: dt.datetime | None = None,
) -> Dose:
    """Record one dose from a scanned code (see the section comment). A retry with the same ``client_id``
    returns the first dose; the same id for another person or code is refused."""
    from . import desk

    client_id = (client_id or "").strip()
    if not 8 <= len(client_id) <= 64:
        raise ValidationFailed("缺少客户端请求标识（client_id，8–64个字符）", field="client_id")
    # No look-up of the client id first: a retry of a recorded dose fails its checks (the code is used) or
    # the unique client id, and is then answered below with the first dose.
    try:
        return _dose_administer(
            actor=actor,
            resident_id=resident_id,
            code=code,
            client_id=client_id,
            phone_last4=phone_last4,
            injection_site=injection_site,
            injection_note=injection_note,
            desk_id=desk_id,
            now=now or clock.now(),
            desk=desk,
        )
    except (IntegrityError, ValidationFailed) as e:
        # A retry (sequential, or one that raced its own first attempt): answer with the dose the first one
        # recorded.
        existing = Dose.objects.filter(client_id=client_id).select_related("trace_code").first()
        if existing is not None:
            return _same_request(existing, resident_id, code)
        if isinstance(e, IntegrityError):
            raise ValidationFailed("该追溯码刚被登记，一人一苗一扫码，不得重复使用", field="code") from None
        raise


def _same_request(dose: Dose, resident_id: int, code: str) -> Dose:
    from vaxops.supply.domain import normalise_trace_code

    if dose.resident_id != resident_id or (
        dose.trace_code and dose.trace_code.code != normalise_trace_code(code)
    ):
        raise ValidationFailed("该请求标识已用于另一条接种记录", field="client_id")
    return dose


@transaction.atomic
def _dose_administer(
    *, actor, resident_id, code, client_id, phone_last4, injection_site, injection_note, desk_id, now, desk
) -> Dose:
    from vaxops.booking.services import appointment_complete
    from vaxops.supply import services as supply

    today = clock.today()
    assignment = desk_assignment(actor=actor, desk_id=desk_id, on=today)
    site = assignment.session.site
    appointment = _checked_in(resident_id=resident_id, site=site, on=today)
    if appointment is None:
        raise ValidationFailed("受种者今天尚未在本接种单位登记签到，请先到登记台", field="resident")
    resident = appointment.resident
    inputs, tc, screening, consent, history = scan_inputs(
        assignment=assignment, resident=resident, code=code, now=now
    )
    failures = desk.scan_checks(inputs)
    if failures:
        raise ValidationFailed(
            "；".join(f.message_zh for f in failures), field="code", code=failures[0].code.value
        )
    ok, why = desk.recipient_confirms(phone_last4_given=phone_last4, phone=resident.phone)
    if not ok:
        raise ValidationFailed(why, field="phone_last4")
    site_text = injection_site or inputs.product.site
    if injection_site:
        ok, why = desk.injection_site_valid(injection_site, note=injection_note)
        if not ok:
            raise ValidationFailed(why, field="injection_site")
        site_text = desk.injection_site_text(injection_site, note=injection_note)
    # The dose first: its unique indexes decide a race for the same code, person and day, or client id. The
    # code and the stock come last, since the site's stock balance is one row that every desk updates: its
    # lock is then held only from that update to the commit, not across the rest of the writes.
    dose = Dose.objects.create(
        resident=resident,
        product_code=tc.lot.product.code,
        given_on=today,
        given_at=now,
        place=site.name,
        dose_number=inputs.next_dose.number,
        is_booster=inputs.next_dose.is_booster,
        lot=tc.lot,
        trace_code=tc,
        site=site,
        desk=assignment.desk,
        vaccinator=assignment.staff,
        injection_site=site_text[:40],
        appointment=appointment,
        screening=screening,
        consent=consent,
        client_id=client_id,
        recorded_by=_user(actor),
    )
    appointment_complete(appointment_id=appointment.pk, now=now)
    Observation.objects.create(dose=dose, site=site, started_at=now)
    audit_record(
        actor=actor,
        action="dose.administer",
        obj=dose,
        new={
            "resident_id": resident.pk,
            "product_code": dose.product_code,
            "lot": tc.lot.lot_number,
            "code": tc.code,
            "dose_number": dose.dose_number,
            "site": site.code,
            "desk": str(assignment.desk),
            "vaccinator": assignment.staff.name,
            "injection_site": dose.injection_site,
        },
    )
    # The person's stored status from the history just read plus this dose (no second read of it).
    _status_store(resident, dataclasses.replace(history, doses=(*history.doses, _given(dose))), on=today)
    # Last, so the site's shared balance row stays locked only until the commit.
    supply.code_administer(
        actor=actor,
        code=tc,
        resident=resident,
        place=site.stock_place,
        at=now,
        reference=client_id[:60],
        refresh=False,
        savepoint=False,
    )
    return dose


@transaction.atomic
def consent_record(
    *,
    actor,
    resident_id: int,
    product_code: str,
    signer_name: str,
    signer_relation: str = "本人",
    signature: str = "",
    refused: bool = False,
    refusal_reason: str = "",
) -> Consent:
    """Keep a signed consent (a PNG data URL of the signature drawn on the tablet) for the product's
    consent text in force today, or a recorded refusal."""
    from vaxops.booking.models import Appointment, AppointmentStatus

    require(actor, "clinic.add_consent")
    resident = Resident.objects.filter(pk=resident_id).first()
    today = clock.today()
    if (
        resident is None
        or not Appointment.objects.filter(
            resident_id=resident_id, status=AppointmentStatus.CHECKED_IN, slot__session__day=today
        ).exists()
    ):
        raise ValidationFailed("受种者今天尚未登记签到", field="resident")
    text = (
        ConsentText.objects.filter(product_code=product_code, effective_from__lte=today)
        .order_by("-effective_from")
        .first()
    )
    if text is None:
        raise ValidationFailed(f"疫苗品种“{product_code}”没有知情同意书", field="product_code")
    signer_name = (signer_name or "").strip()
    if not signer_name:
        raise ValidationFailed("请填写签署人姓名", field="signer_name")
    if refused:
        if len((refusal_reason or "").strip()) < 2:
            raise ValidationFailed("拒绝签署须记录原因", field="refusal_reason")
        signature = ""
    else:
        if not signature.startswith("data:image/png;base64,") or len(signature) < 200:
            raise ValidationFailed("请在平板上签名", field="signature")
        if len(signature) > 400_000:
            raise ValidationFailed("签名图像过大", field="signature")
    now = clock.now()
    consent = Consent.objects.create(
        resident=resident,
        text=text,
        at=now,
        signed_on=today,
        signer_name=signer_name[:50],
        signer_relation=(signer_relation or "本人")[:20],
        signature=signature,
        refused=refused,
        refusal_reason=(refusal_reason or "").strip()[:200],
        recorded_by=_user(actor),
    )
    audit_record(
        actor=actor,
        action="consent.record",
        obj=consent,
        new={
            "resident_id": resident.pk,
            "product_code": product_code,
            "version": text.version,
            "refused": refused,
            "signer_relation": consent.signer_relation,
        },
    )
    return consent


@transaction.atomic
def observation_release(*, actor, observation_id: int, reason: str = "") -> Observation:
    """Let a person go after their 30 minutes (earlier only with a stated reason)."""
    from . import desk

    if not (actor.has_perm("clinic.change_observation") or actor.has_perm("clinic.administer_dose")):
        raise PermissionDenied("您的角色无权放行留观人员")
    o = Observation.objects.select_for_update().filter(pk=observation_id).first()
    if o is None:
        raise NotFound("留观记录不存在")
    if o.released_at is not None:
        raise ValidationFailed("该受种者已离开留观区", field="observation")
    now = clock.now()
    ok, note = desk.may_release(o.started_at, now, reason=reason)
    if not ok:
        raise ValidationFailed(note, field="reason")
    Observation.objects.filter(pk=o.pk).update(
        released_at=now, released_by=_user(actor), release_note=note[:200]
    )
    o.refresh_from_db()
    audit_record(actor=actor, action="observation.release", obj=o, new={"dose": o.dose_id, "note": note})
    return o


@transaction.atomic
def reaction_note_add(
    *, actor, observation_id: int, severity: str, description: str, transferred: bool = False
) -> ReactionNote:
    """Open an adverse-reaction note during observation (the safety work builds on it)."""
    if not (actor.has_perm("clinic.add_reactionnote") or actor.has_perm("clinic.administer_dose")):
        raise PermissionDenied("您的角色无权记录异常反应")
    o = Observation.objects.filter(pk=observation_id).first()
    if o is None:
        raise NotFound("留观记录不存在")
    if severity not in ReactionNote.Severity.values:
        raise ValidationFailed("请选择反应程度", field="severity")
    if len((description or "").strip()) < 2:
        raise ValidationFailed("请描述反应表现与处置", field="description")
    note = ReactionNote.objects.create(
        observation=o,
        at=clock.now(),
        severity=severity,
        description=description.strip(),
        transferred=transferred,
        recorded_by=_user(actor),
    )
    audit_record(
        actor=actor,
        action="reaction.note",
        obj=note,
        new={"dose": o.dose_id, "severity": severity, "transferred": transferred},
    )
    return note


# ------------------------------------------------------------------------------------------- check-in


def desk_check_in(*, actor, session, scan: str, now: dt.datetime | None = None) -> dict:
    """The registration desk's scan: an ID number typed by a card reader (digits + Enter) or the QR of an
    appointment. Finds today's appointment at this site and checks the person in, or says how to register
    them as a walk-in. Looking a person up by ID number is done for the stated purpose "现场登记" and
    audited. Returns ``{"appointment": Appointment | None, "resident": Resident | None, "message": str}``."""
    from vaxops.booking.models import Appointment, AppointmentStatus
    from vaxops.booking.selfservice import appointment_from_qr
    from vaxops.booking.services import appointment_check_in
    from vaxops.registry import domain as registry_domain

    require(actor, "booking.change_appointment")
    now = now or clock.now()
    scan = (scan or "").strip()
    if not scan:
        raise ValidationFailed("请扫描身份证或预约二维码", field="scan")
    if session.day != clock.today():
        raise ValidationFailed("只能为今天的场次登记", field="session")
    if scan.upper().startswith("VXA:"):
        appointment = appointment_from_qr(scan)
        if appointment is None:
            raise ValidationFailed("预约二维码无效或已过期", field="scan")
        resident = appointment.resident
    else:
        try:
            doc = registry_domain.parse_document(registry_domain.parse_id_type(""), scan, today=clock.today())
        except registry_domain.DocumentError as e:
            raise ValidationFailed(e.message, field="scan") from None
        resident = Resident.objects.filter(id_type=doc.id_type.value, id_number=doc.number).first()
        audit_record(
            actor=actor,
            action="resident.search_by_document",
            object_type="registry.resident",
            object_id=resident.pk if resident else "",
            purpose="现场登记",
            new={
                "query": registry_domain.mask_id(doc.number),
                "found": resident is not None,
                "site": session.site.code,
            },
        )
        if resident is None:
            return {
                "appointment": None,
                "resident": None,
                "message": "未找到该居民，请到村（社区）或由登记台补录档案后现场登记",
            }
        appointment = (
            Appointment.objects.filter(
                resident=resident,
                slot__session=session,
                status__in=(AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN),
            )
            .select_related("slot")
            .first()
        )
    if appointment is None or appointment.slot.session_id != session.pk:
        return {
            "appointment": None,
            "resident": resident,
            "message": "今天在本接种单位没有预约，可使用现场号登记",
        }
    if appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN):
        return {
            "appointment": appointment,
            "resident": resident,
            "message": f"该预约{appointment.get_status_display()}，不能签到",
        }
    if appointment.status == AppointmentStatus.BOOKED:
        appointment = appointment_check_in(actor=actor, appointment=appointment, now=now)
    return {"appointment": appointment, "resident": resident, "message": "已签到"}


# ------------------------------------------------------------------------- the person's record, by link
#
# A link (``/r/<token>/`` for the record, ``/certs/<token>/`` for the certificate) is a ``RecordLink`` row; the
# token is that row's id signed with the secret key, so it cannot be guessed, and the row says whether it still
# works (30 days, unless revoked). Opening it needs no login; each successful use is audited.

RECORD_SALT = "vaxops.record-link"  # not the salt of the stateless tokens before links were stored
RECORD_LINK_DAYS = 30
SHARE_PERM = "clinic.share_record_link"


def may_share_record_link(user) -> bool:
    """The roles that hand a person their link at the site or in the office (registration and observation
    desks, the county CDC): ``clinic.share_record_link``. Others never see a link."""
    return bool(user.has_perm(SHARE_PERM))


def record_link_token(link: RecordLink) -> str:
    """The signed token naming ``link`` (the same whether the link works or not)."""
    from django.core.signing import Signer

    return Signer(salt=RECORD_SALT).sign(str(link.pk))


def record_link_url(link: RecordLink, *, base_url: str = "/", page: str = "r") -> str:
    return f"{base_url.rstrip('/')}/{page}/{record_link_token(link)}/"


def record_link_from_token(token: str) -> RecordLink | None:
    """The working link a token names: None for a forged, unknown, expired or revoked one (one answer for all)."""
    from django.core.signing import BadSignature, Signer

    try:
        pk = int(Signer(salt=RECORD_SALT).unsign(token))
    except (BadSignature, ValueError):
        return None
    return (
        RecordLink.objects.select_related("resident")
        .filter(pk=pk, revoked_at__isnull=True, expires_at__gt=clock.now())
        .first()
    )


def record_link_active(*, resident_id: int, dose_id: int | None = None) -> list[RecordLink]:
    """The person's working links (newest first), or those made for one dose. A read: nothing is created."""
    qs = RecordLink.objects.filter(
        resident_id=resident_id, revoked_at__isnull=True, expires_at__gt=clock.now()
    )
    if dose_id is not None:
        qs = qs.filter(dose_id=dose_id)
    return list(qs.order_by("-created_at", "-id"))


def record_link_issue(*, actor, resident: Resident, channel: str, dose: Dose | None = None) -> RecordLink:
    """Store a new link (the caller has checked the actor may give it: a service of this or another app)."""
    now = clock.now()
    link = RecordLink.objects.create(
        resident=resident,
        dose=dose,
        channel=channel,
        created_at=now,
        created_by=_user(actor),
        expires_at=now + dt.timedelta(days=RECORD_LINK_DAYS),
    )
    audit_record(
        actor=actor,
        action="record_link.create",
        obj=link,
        new={
            "resident_id": resident.pk,
            "dose_id": dose.pk if dose else None,
            "channel": channel,
            "expires_at": link.expires_at.isoformat(),
        },
    )
    return link


@transaction.atomic
def record_link_create(*, actor, dose_id: int) -> RecordLink:
    """A new link for the person of a dose, to be handed to them by the staff member (who sees it once on the
    page). Needs ``clinic.share_record_link`` and the dose's person in the actor's scope."""
    if not may_share_record_link(actor):
        raise PermissionDenied("您的角色无权向受种者提供电子接种记录链接")
    dose = _dose_for_link(actor, dose_id)
    return record_link_issue(actor=actor, resident=dose.resident, channel=RecordLink.Channel.STAFF, dose=dose)


def _links_revoke(qs, *, actor, reason: str) -> int:
    reason = (reason or "").strip()[:200]
    if len(reason) < 2:
        raise ValidationFailed("请填写撤销原因", field="reason")
    now = clock.now()
    ids = list(qs.filter(revoked_at__isnull=True).values_list("pk", flat=True))
    if not ids:
        return 0
    n = RecordLink.objects.filter(pk__in=ids, revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason=reason
    )
    for pk in ids:
        audit_record(
            actor=actor,
            action="record_link.revoke",
            object_type="clinic.recordlink",
            object_id=pk,
            old={"revoked_at": None},
            new={"revoked_at": now.isoformat()},
            purpose=reason,
        )
    return n


def _dose_for_link(actor, dose_id: int) -> Dose:
    """A dose whose person is in the actor's scope, or given at the actor's own site (a walk-in from elsewhere)."""
    dose = Dose.objects.select_related("resident").filter(pk=dose_id).first()
    if dose is not None and (
        (dose.site_id is not None and dose.site_id == _staff_site_id(actor))
        or residents_visible(user=actor).filter(pk=dose.resident_id).exists()
    ):
        return dose
    raise NotFound("接种记录不存在或不在您的管辖范围内", field="dose")


@transaction.atomic
def record_links_revoke(*, actor, dose_id: int, reason: str, link_id: int | None = None) -> int:
    """Staff revoke the links of a dose's person at their request (one, or all when ``link_id`` is None);
    returns how many stopped working. Needs ``clinic.share_record_link`` and the dose visible to the actor."""
    if not may_share_record_link(actor):
        raise PermissionDenied("您的角色无权撤销电子接种记录链接")
    dose = _dose_for_link(actor, dose_id)
    qs = RecordLink.objects.filter(resident_id=dose.resident_id)
    if link_id is not None:
        qs = qs.filter(pk=link_id)
    return _links_revoke(qs, actor=actor, reason=reason)


@transaction.atomic
def record_link_revoke_by_holder(*, token: str) -> bool:
    """The person revokes the link they hold (the button on their page); False for a link that does not work."""
    from vaxops.core.actors import SystemActor

    link = record_link_from_token(token)
    if link is None:
        return False
    _links_revoke(
        RecordLink.objects.filter(pk=link.pk), actor=SystemActor("resident-link"), reason="受种者本人申请撤销"
    )
    return True


def record_link_used(*, link: RecordLink, page: str) -> None:
    """Audit one successful use of a link (``page``: record, certificate, certificate_pdf, certificate_issue).
    Refused tokens are not recorded here: they are answered 404 and counted with the anonymous refusals."""
    from vaxops.core.actors import SystemActor

    audit_record(
        actor=SystemActor("resident-link"),
        action="record_link.use",
        obj=link,
        new={"resident_id": link.resident_id, "page": page},
    )


def record_link_send(
    *, actor, resident: Resident, base_url: str, dose: Dose | None = None
) -> RecordLink | None:
    """Text the person a new private link to their record (after each dose); None when no phone is on file.
    The link is made for the dose, so voiding the dose revokes it."""
    from vaxops.notify.services import notification_queue
    from vaxops.registry.domain import mask_name

    if not resident.phone:
        return None
    if (
        dose is not None
        and RecordLink.objects.filter(dose=dose, channel=RecordLink.Channel.DOSE_SMS).exists()
    ):
        return None  # already sent for this dose (the notification's reference is unique too)
    with transaction.atomic():
        link = record_link_issue(
            actor=actor, resident=resident, channel=RecordLink.Channel.DOSE_SMS, dose=dose
        )
        url = record_link_url(link, base_url=base_url)
        what = (
            f"第{dose.dose_number}剂"
            if dose and dose.dose_number and not dose.is_booster
            else "加强针"
            if dose
            else ""
        )
        notification_queue(
            template="record_link",
            phone=resident.phone,
            resident=resident,
            reference=f"R:{dose.pk}" if dose else "",
            text=f"【清溪县疫苗接种】{mask_name(resident.name)}，您已完成新冠疫苗{what}接种，"
            f"电子接种记录：{url} 请妥善保管，勿转发他人。",
        )
    return link
