"""The vaccination desk's writes (接种台): the staff member's desk assignment, check-in, informed consent, the
scan's hard stops and recording a dose from a code (一人一苗一扫码 / 三查七对一验证), the observation.

The person's record they write to (``Dose``, ``Consent``, ``Observation``) belongs to ``clinic``; the supply
ledger, the appointment and the campaign status are changed through those apps' services in the same
transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.db import IntegrityError, transaction

from vaxops.accounts.scope import require
from vaxops.audit.services import audit_record
from vaxops.clinic.models import Consent, ConsentText, Dose, Observation, ReactionNote, ScreeningRecord
from vaxops.clinic.services import given_dose as _given
from vaxops.clinic.services import recorder as _user
from vaxops.clinic.services import status_store as _status_store
from vaxops.core import clock
from vaxops.core.errors import NotFound, PermissionDenied, ValidationFailed
from vaxops.registry.models import Resident

from . import domain as desk

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
