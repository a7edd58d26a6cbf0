"""The vaccination desk's writes (接种台): the staff member's desk assignment, check-in, informed consent, the
scan's hard stops and recording a dose from a code (一人一苗一扫码 / 三查七对一验证), the observation.

The person's record they write to (``Dose``, ``Consent``, ``Observation``) belongs to ``clinic``; the supply
ledger, the appointment and the campaign status are changed through those apps' services in the same
transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from vaxops.accounts.scope import require
from vaxops.audit.services import audit_record
from vaxops.catalog.domain import GivenDose
from vaxops.clinic.models import Consent, ConsentText, Dose, Observation, ReactionNote
from vaxops.clinic.services import recorder as _user
from vaxops.clinic.services import status_store as _status_store
from vaxops.core import clock
from vaxops.core.errors import NotFound, PermissionDenied, ValidationFailed
from vaxops.core.joined import ctes as joined_ctes
from vaxops.core.joined import joined
from vaxops.core.joined import take as joined_take
from vaxops.core.prepared import numbered, prepared_cursor, row_values
from vaxops.exchange import services as exchange
from vaxops.registry.models import Resident
from vaxops.sites.models import SessionStatus
from vaxops.supply.domain import lot_usable

from . import domain as desk
from .errors import DeskError
from .selectors import DoseInputs, dose_inputs_read

# ------------------------------------------------------------------------------------ the vaccination desk
#
# 一人一苗一扫码 / 三查七对一验证: a dose is recorded only from a scanned traceability code, after every hard
# stop of ``desk.scan_checks`` passed, and the recipient confirmed who they are. One transaction writes the
# dose, the code's new state and its ledger row (supply), the appointment's completion, the observation
# and the audit event; the client's id makes a retry return the first record instead of a second dose.


def desk_assignment(*, actor, desk_id: int | None = None, on: dt.date | None = None):
    """The vaccination-desk assignment of the signed-in staff member in today's open session at their
    site (the desk they may record doses at). Raises ValidationFailed with the reason when there is none."""
    from vaxops.sites.models import Assignment, DeskKind, StaffMember

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
            raise PermissionDenied("您的账号未登记为接种单位工作人员", code=DeskError.NOT_STAFF)
        raise ValidationFailed(
            f"接种人员{staff.name}今天未排班在接种台，请先排班", field="desk", code=DeskError.NOT_ASSIGNED
        )
    return _assignment_usable(assignment)


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
    today = clock.today()
    scanned = _normalised(code)
    found = dose_inputs_read(
        user=_user(actor), resident_id=resident_id, code=scanned, desk_id=desk_id, on=today
    )
    if found.assignment is None:
        desk_assignment(actor=actor, desk_id=desk_id, on=today)  # raises the reason there is none
    _assignment_usable(found.assignment)
    if found.appointment is None:
        raise ValidationFailed(
            "受种者今天尚未在本接种单位登记签到，请先到登记台",
            field="resident",
            code=DeskError.NOT_CHECKED_IN,
        )
    inputs = _scan_facts(found, scanned=scanned, now=now)
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
            "confirm_by_code": desk.one_time_code_required(found.appointment.resident.phone),
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
    returns the first dose; the same id for another person or code is refused (``client_id_reused``); a
    code another desk has just used is refused with ``code_used``."""

    client_id = (client_id or "").strip()
    if not 8 <= len(client_id) <= 64:
        raise ValidationFailed(
            "缺少客户端请求标识（client_id，8–64个字符）", field="client_id", code=DeskError.CLIENT_ID_MISSING
        )
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
        )
    except (IntegrityError, ValidationFailed) as e:
        # A retry (sequential, or one that raced its own first attempt): answer with the dose the first one
        # recorded.
        existing = Dose.objects.filter(client_id=client_id).select_related("trace_code").first()
        if existing is not None:
            return _same_request(existing, resident_id, code)
        if isinstance(e, IntegrityError):
            raise _lost_race(resident_id=resident_id, code=code) from None
        raise


def _lost_race(*, resident_id: int, code: str) -> ValidationFailed:
    """The refusal for a dose whose insert another transaction beat: the code was used a moment ago (by any
    desk, for anyone), or this person was given this product today."""
    text = _normalised(code)
    if Dose.objects.filter(trace_code__code=text, voided_at__isnull=True).exists():
        return ValidationFailed(
            f"追溯码{text}刚被登记，一人一苗一扫码，不得重复使用", field="code", code=desk.CheckCode.CODE_USED
        )
    return ValidationFailed(
        "该受种者今天已接种该疫苗，不能重复登记", field="resident", code=DeskError.DOSE_ALREADY_TODAY
    )


def _normalised(code: str) -> str:
    from vaxops.supply.domain import normalise_trace_code

    try:
        return normalise_trace_code(code)
    except Exception:  # noqa: BLE001 - a float from a spreadsheet: the check reports it as malformed
        return str(code)


def _same_request(dose: Dose, resident_id: int, code: str) -> Dose:
    if dose.resident_id != resident_id or (dose.trace_code and dose.trace_code.code != _normalised(code)):
        raise ValidationFailed(
            "该请求标识已用于另一条接种记录", field="client_id", code=DeskError.CLIENT_ID_REUSED
        )
    return dose


def _scan_facts(found: DoseInputs, *, scanned: str, now: dt.datetime) -> desk.ScanInputs:
    """``desk.ScanInputs`` from the rows read for a dose (pure: no query)."""
    from vaxops.catalog.selectors import catalogue_current
    from vaxops.clinic.selectors import forecast_for

    assignment, resident = found.assignment, found.appointment.resident
    s, c, tc = found.screening, found.consent, found.code
    try:
        forecast = forecast_for(
            resident=resident, on=clock.today(), inputs=found.history, catalogue=catalogue_current()
        )
        next_dose, no_dose_reason = desk.due_dose_of(forecast)
    except ValidationFailed as e:
        next_dose, no_dose_reason = None, e.message
    return desk.ScanInputs(
        recipient=desk.Recipient(
            name=resident.name, birth_date=resident.birth_date, id_masked=resident.id_number_masked
        ),
        screening=None
        if s is None
        else desk.ScreeningFacts(
            outcome=s.outcome,
            at=s.at,
            defer_until=s.defer_until,
            defer_condition=s.defer_condition or None,
            contraindicated_products=s.contraindicated_products or (),
            reasons=tuple(s.reasons or ()),
        ),
        consent=None
        if c is None
        else desk.ConsentFacts(
            at=c.at, refused=c.refused, refusal_reason=c.refusal_reason, product_code=c.text.product_code
        ),
        scanned_code=scanned,
        code=None
        if tc is None
        else desk.CodeFacts(
            state=tc.state, place_code=found.code_place_code, administered_at=tc.administered_at
        ),
        site_place_code=assignment.session.site.stock_place.code,
        lot=None
        if tc is None
        else desk.LotFacts(
            number=tc.lot.lot_number,
            status=tc.lot.status,
            expiry=tc.lot.expiry,
            product_code=tc.lot.product.code,
        ),
        product=None if tc is None else desk.ProductFacts.from_product(tc.lot.product),
        next_dose=next_dose,
        vaccinator=desk.VaccinatorFacts(
            name=assignment.staff.name, certificates=found.certificates, assigned_to_desk=True
        ),
        now=now,
        no_dose_reason=no_dose_reason,
        product_names={p.code: p.short_zh for p in catalogue_current().products},
    )


@transaction.atomic
def _dose_administer(
    *, actor, resident_id, code, client_id, phone_last4, injection_site, injection_note, desk_id, now
) -> Dose:
    # Read everything once, decide in the pure rules, write everything once.
    today = clock.today()
    user = _user(actor)
    scanned = _normalised(code)
    found = dose_inputs_read(user=user, resident_id=resident_id, code=scanned, desk_id=desk_id, on=today)
    if found.assignment is None:
        desk_assignment(actor=actor, desk_id=desk_id, on=today)  # raises the reason there is none
    assignment = _assignment_usable(found.assignment)
    if found.appointment is None:
        raise ValidationFailed(
            "受种者今天尚未在本接种单位登记签到，请先到登记台",
            field="resident",
            code=DeskError.NOT_CHECKED_IN,
        )
    inputs = _scan_facts(found, scanned=scanned, now=now)
    failures = desk.scan_checks(inputs)
    if failures:
        raise ValidationFailed(
            "；".join(f.message_zh for f in failures), field="code", code=failures[0].code.value
        )
    resident = found.appointment.resident
    ok, why = desk.recipient_confirms(phone_last4_given=phone_last4, phone=resident.phone)
    if not ok:
        raise ValidationFailed(why, field="phone_last4", code=DeskError.RECIPIENT_NOT_CONFIRMED)
    site_text = injection_site or inputs.product.site
    if injection_site:
        ok, why = desk.injection_site_valid(injection_site, note=injection_note)
        if not ok:
            raise ValidationFailed(why, field="injection_site", code=DeskError.INJECTION_SITE_INVALID)
        site_text = desk.injection_site_text(injection_site, note=injection_note)
    site, tc = assignment.session.site, found.code
    dose = Dose(
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
        appointment=found.appointment,
        screening=found.screening,
        consent=found.consent,
        client_id=client_id,
        recorded_by=user,
    )
    # The person's stored status from the history just read plus this dose (no second read of it), and the
    # progress facts: the receivers' writes join the dose's own statement (on PostgreSQL; after it elsewhere).
    given = GivenDose(product_code=dose.product_code, date=today, place=site.name, external=False, ref=None)
    with joined():
        _status_store(
            resident,
            dataclasses.replace(found.history, doses=(*found.history.doses, given)),
            on=today,
            dose=dose,
        )
        dose_write(actor=actor, dose=dose, now=now)
    return dose


def _assignment_usable(assignment):
    if assignment.session.status != SessionStatus.OPEN:
        raise ValidationFailed(
            "本场次尚未开诊（“四有”确认后开诊），不能接种", field="desk", code=DeskError.SESSION_NOT_OPEN
        )
    if assignment.session.site.stock_place_id is None:
        raise ValidationFailed(
            f"{assignment.session.site.name}未关联冷链库存地点，无法扫码出库",
            field="desk",
            code=DeskError.SITE_WITHOUT_STOCK_PLACE,
        )
    return assignment


def _insert(model, *, source: str = "", refs: tuple[tuple[str, str], ...] = ()) -> str:
    """``INSERT INTO <table> (<columns>) SELECT <values> [FROM source] RETURNING id`` for ``model``;
    ``refs`` gives SQL expressions for columns that come from another part of the statement (the dose's
    id); every other column is a placeholder, filled by ``_insert_params``."""
    given = dict(refs)
    columns, values = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(f'"{f.column}"')
        values.append(given.get(f.column, "%s"))
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)}"
    return sql + (f" FROM {source}" if source else "") + " RETURNING id"


def _insert_params(instance, *, refs: tuple[tuple[str, str], ...] = ()) -> list:
    """The values of ``_insert``'s placeholders for an unsaved ``instance``."""
    return row_values(instance, skip=tuple(column for column, _ in refs))


_OBSERVATION_REFS = (("dose_id", "dose.id"),)
_AUDIT_DOSE_REFS = (("object_id", "dose.id::text"),)
_AUDIT_MOVEMENT_REFS = (("object_id", "movement.id::text"),)


@functools.lru_cache(maxsize=64)
def _write_sql(joined_texts: tuple[str, ...] = ()) -> str:
    """The dose's one data-modifying statement, with ``$n`` placeholders (built once per process and shape),
    with the writes the apps above joined to the dose (``core.joined.take``: the person's stored status and
    progress facts) as further parts of it."""
    from vaxops.audit.models import AuditEvent
    from vaxops.booking.models import Appointment
    from vaxops.supply.models import Lot, StockBalance, StockMovement, TraceCode

    t = TraceCode._meta.db_table
    # Only table and column names from the models are formatted in; every value is a parameter.
    sql = f"""
WITH code AS (
  UPDATE {t} SET state = %s, administered_to_id = %s, administered_at = %s
  WHERE id = %s AND state = %s AND place_id = %s
    AND lot_id IN (SELECT id FROM {Lot._meta.db_table} WHERE id = %s AND status = %s AND expiry >= %s)
  RETURNING id
), balance AS (
  UPDATE {StockBalance._meta.db_table} SET doses = doses - %s
  WHERE place_id = %s AND lot_id = %s AND doses >= %s AND EXISTS (SELECT 1 FROM code)
  RETURNING id
), dose AS ({_insert(Dose, source="code")}
), observation AS ({_insert(Observation, source="dose", refs=_OBSERVATION_REFS)}
), movement AS ({_insert(StockMovement, source="code, balance")}
), appointment AS (
  UPDATE {Appointment._meta.db_table} SET status = %s, changed_at = %s
  WHERE id = %s AND status = ANY(%s) AND EXISTS (SELECT 1 FROM dose)
  RETURNING id
), audit_dose AS ({_insert(AuditEvent, source="dose", refs=_AUDIT_DOSE_REFS)}
), audit_movement AS ({_insert(AuditEvent, source="movement", refs=_AUDIT_MOVEMENT_REFS)}
), outbox AS ({exchange.outbox_cte(source="dose")}
){", " + joined_ctes(joined_texts) if joined_texts else ""}
SELECT (SELECT id FROM code), (SELECT id FROM balance), (SELECT id FROM dose), (SELECT id FROM observation),
  (SELECT count(*) FROM audit_dose) + (SELECT count(*) FROM audit_movement), (SELECT count(*) FROM appointment)
"""  # noqa: S608
    return numbered(sql)[0]


def dose_write(*, actor, dose: Dose, now: dt.datetime) -> None:
    """Write one checked dose: the code's new state (a conditional update: still in stock here, its lot
    usable), the stock balance (a conditional update under its CHECK), the dose (its unique indexes: one per
    code, one per person, day and product, one per client id), the ledger row, the appointment's completion,
    the observation, the two audit events and the exchange's outbox messages. One statement on PostgreSQL (a data-modifying CTE); a plain
    sequence elsewhere. Raises ``ValidationFailed`` (``code_used`` …) when the code is no longer usable and
    ``IntegrityError`` when a unique index refuses the dose; the caller's transaction then rolls back."""
    if connection.vendor != "postgresql":
        return _dose_write_orm(actor=actor, dose=dose, now=now)
    from vaxops.audit.services import audit_event
    from vaxops.booking.models import ACTIVE, AppointmentStatus
    from vaxops.supply.domain import LotStatus
    from vaxops.supply.models import CodeState, StockMovement

    tc, lot, site = dose.trace_code, dose.lot, dose.site
    place = site.stock_place
    doses = lot.product.doses_per_vial
    reference = dose.client_id[:60]
    movement = StockMovement(
        kind="administration",
        place=place,
        lot=lot,
        doses=-doses,
        code=tc,
        reference=reference,
        reason="",
        actor=_user(actor),
        actor_label=getattr(actor, "username", str(actor)),
        at=now,
    )
    dose_audit = audit_event(
        actor=actor,
        action="dose.administer",
        object_type=Dose._meta.label_lower,
        object_repr=str(dose),
        new=_dose_audit(dose),
    )
    movement_audit = audit_event(
        actor=actor,
        action="supply.movement_record",
        object_type=StockMovement._meta.label_lower,
        object_repr=str(movement),
        new={
            "kind": movement.kind,
            "place": place.code,
            "lot": lot.lot_number,
            "doses": -doses,
            "code": tc.code,
            "reason": "",
            "reference": reference,
            "resident": dose.resident_id,
        },
    )
    observation = Observation(dose=dose, site=site, started_at=now)
    params = [
        CodeState.ADMINISTERED,
        dose.resident_id,
        now,
        tc.pk,
        CodeState.IN_STOCK,
        place.pk,
        lot.pk,
        LotStatus.RELEASED.value,
        clock.today(),
        doses,
        place.pk,
        lot.pk,
        doses,
        *_insert_params(dose),
        *_insert_params(observation, refs=_OBSERVATION_REFS),
        *_insert_params(movement),
        AppointmentStatus.COMPLETED,
        now,
        dose.appointment_id,
        [str(x) for x in ACTIVE],
        *_insert_params(dose_audit, refs=_AUDIT_DOSE_REFS),
        *_insert_params(movement_audit, refs=_AUDIT_MOVEMENT_REFS),
        *exchange.outbox_cte_params(resident_id=dose.resident_id, now=now),
    ]
    # The writes the receivers of ``record_changed`` joined (the caller's ``joined()`` block) go in this
    # statement too: one round trip, and their shared counters locked only from here to the commit.
    extra = joined_take()
    params.extend(p for _, ps in extra for p in ps)
    with prepared_cursor() as cursor:
        cursor.execute(_write_sql(tuple(sql for sql, _ in extra)), params)
        code_id, balance_id, dose_id, observation_id, _, _ = cursor.fetchone()
    if code_id is None:
        raise _code_not_usable(tc, dose)
    if balance_id is None:
        raise ValidationFailed(
            f"库存不足：{place.name}批号{lot.lot_number}结存不足{doses}剂",
            field="code",
            code=DeskError.STOCK_SHORT,
        )
    dose.pk = dose_id
    dose._state.adding = False
    observation.pk = observation_id
    observation._state.adding = False
    return None


def _code_not_usable(tc, dose: Dose) -> ValidationFailed:
    """Why the code's conditional update changed nothing: read its state now (another desk used it a
    moment ago: ``code_used``; or it was wasted, recalled or its lot stopped since the scan)."""
    from vaxops.supply.models import CodeState, TraceCode

    state, place_id, lot_status, lot_expiry = (
        TraceCode.objects.filter(pk=tc.pk)
        .values_list("state", "place_id", "lot__status", "lot__expiry")
        .get()
    )
    if state == CodeState.ADMINISTERED:
        return ValidationFailed(
            f"追溯码{tc.code}刚被登记，一人一苗一扫码，不得重复使用",
            field="code",
            code=desk.CheckCode.CODE_USED,
        )
    if state == CodeState.WASTED:
        return ValidationFailed(
            f"追溯码{tc.code}已损耗，不得使用", field="code", code=desk.CheckCode.CODE_WASTED
        )
    if state == CodeState.RECALLED:
        return ValidationFailed(
            f"追溯码{tc.code}已召回，不得使用", field="code", code=desk.CheckCode.CODE_RECALLED
        )
    if state == CodeState.QUARANTINED:
        return ValidationFailed(
            f"追溯码{tc.code}所在冷链设备温度异常，已隔离，不得使用",
            field="code",
            code=desk.CheckCode.CODE_QUARANTINED,
        )
    if state != CodeState.IN_STOCK or place_id != dose.site.stock_place_id:
        return ValidationFailed(
            f"追溯码{tc.code}不在本接种单位", field="code", code=desk.CheckCode.CODE_ELSEWHERE
        )
    usable, why = lot_usable(status=lot_status, expiry=lot_expiry, on=clock.today())
    return ValidationFailed(
        f"批号{tc.lot.lot_number}：{why}",
        field="code",
        code=desk.CheckCode.LOT_EXPIRED if lot_status == "released" else desk.CheckCode.LOT_ON_HOLD,
    )


def _dose_audit(dose: Dose) -> dict:
    return {
        "resident_id": dose.resident_id,
        "product_code": dose.product_code,
        "lot": dose.lot.lot_number,
        "code": dose.trace_code.code,
        "dose_number": dose.dose_number,
        "site": dose.site.code,
        "desk": str(dose.desk),
        "vaccinator": dose.vaccinator.name,
        "injection_site": dose.injection_site,
    }


def _dose_write_orm(*, actor, dose: Dose, now: dt.datetime) -> None:
    from vaxops.booking.services import appointment_complete
    from vaxops.supply import services as supply

    # The dose first: its unique indexes decide a race for the same code, person and day, or client id. The
    # code and the stock come last, since the site's stock balance is one row that every desk updates.
    dose.save(force_insert=True)
    appointment_complete(appointment_id=dose.appointment_id, now=now)
    Observation.objects.create(dose=dose, site=dose.site, started_at=now)
    audit_record(actor=actor, action="dose.administer", obj=dose, new=_dose_audit(dose))
    exchange.outbox_dose(dose_id=dose.pk, resident_id=dose.resident_id, kind="create", now=now)
    supply.code_administer(
        actor=actor,
        code=dose.trace_code,
        resident=dose.resident,
        place=dose.site.stock_place,
        at=now,
        reference=dose.client_id[:60],
        refresh=False,
        savepoint=False,
    )


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
        raise ValidationFailed("受种者今天尚未登记签到", field="resident", code=DeskError.NOT_CHECKED_IN)
    text = (
        ConsentText.objects.filter(product_code=product_code, effective_from__lte=today)
        .order_by("-effective_from")
        .first()
    )
    if text is None:
        raise ValidationFailed(
            f"疫苗品种“{product_code}”没有知情同意书",
            field="product_code",
            code=DeskError.CONSENT_TEXT_MISSING,
        )
    signer_name = (signer_name or "").strip()
    if not signer_name:
        raise ValidationFailed("请填写签署人姓名", field="signer_name", code=DeskError.SIGNER_NAME_MISSING)
    if refused:
        if len((refusal_reason or "").strip()) < 2:
            raise ValidationFailed(
                "拒绝签署须记录原因", field="refusal_reason", code=DeskError.REFUSAL_REASON_MISSING
            )
        signature = ""
    else:
        if not signature.startswith("data:image/png;base64,") or len(signature) < 200:
            raise ValidationFailed("请在平板上签名", field="signature", code=DeskError.SIGNATURE_MISSING)
        if len(signature) > 400_000:
            raise ValidationFailed("签名图像过大", field="signature", code=DeskError.SIGNATURE_TOO_LARGE)
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
        raise PermissionDenied("您的角色无权放行留观人员", code=DeskError.ROLE_FORBIDDEN)
    o = Observation.objects.select_for_update().filter(pk=observation_id).first()
    if o is None:
        raise NotFound("留观记录不存在", code=DeskError.OBSERVATION_NOT_FOUND)
    if o.released_at is not None:
        raise ValidationFailed(
            "该受种者已离开留观区", field="observation", code=DeskError.OBSERVATION_RELEASED
        )
    now = clock.now()
    ok, note = desk.may_release(o.started_at, now, reason=reason)
    if not ok:
        raise ValidationFailed(note, field="reason", code=DeskError.OBSERVATION_NOT_OVER)
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
        raise PermissionDenied("您的角色无权记录异常反应", code=DeskError.ROLE_FORBIDDEN)
    o = Observation.objects.filter(pk=observation_id).first()
    if o is None:
        raise NotFound("留观记录不存在", code=DeskError.OBSERVATION_NOT_FOUND)
    if severity not in ReactionNote.Severity.values:
        raise ValidationFailed("请选择反应程度", field="severity", code=DeskError.SEVERITY_INVALID)
    if len((description or "").strip()) < 2:
        raise ValidationFailed(
            "请描述反应表现与处置", field="description", code=DeskError.DESCRIPTION_MISSING
        )
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


# A check-in more than this long before the session's first slot asks the desk to confirm (a person at 00:28
# for a session opening at 08:00 is most likely a mistake: a wrong day, a test scan, a stale tablet).
EARLY_CHECK_IN = dt.timedelta(hours=1)


def session_opens_at(session) -> dt.datetime | None:
    """When ``session`` opens: the start of its first slot (``None`` when it has none)."""
    from vaxops.booking.models import Slot

    return Slot.objects.filter(session=session).order_by("start").values_list("start", flat=True).first()


def check_in_too_early(session, now: dt.datetime) -> str:
    """A warning when ``now`` is more than ``EARLY_CHECK_IN`` before the session opens, else ``""``."""
    opens = session_opens_at(session)
    if opens is None or now >= opens - EARLY_CHECK_IN:
        return ""
    minutes = int((opens - now).total_seconds() // 60)
    return (
        f"本场次{timezone.localtime(opens):%H:%M}开诊，现在是{timezone.localtime(now):%H:%M}，"
        f"距开诊还有{minutes // 60}小时{minutes % 60}分钟。确认现在就签到吗？"
    )


def desk_check_in(
    *, actor, session, scan: str, now: dt.datetime | None = None, early_confirmed: bool = False
) -> dict:
    """The registration desk's scan: an ID number typed by a card reader (digits + Enter) or the QR of an
    appointment. Finds today's appointment at this site and checks the person in, or says how to register
    them as a walk-in. Looking a person up by ID number is done for the stated purpose "现场登记" and
    audited. Returns ``{"appointment": Appointment | None, "resident": Resident | None, "message": str}``."""
    from vaxops.booking.models import Appointment, AppointmentStatus
    from vaxops.booking.selfservice import appointment_from_qr
    from vaxops.booking.services import appointment_check_in

    require(actor, "booking.change_appointment")
    now = now or clock.now()
    scan = (scan or "").strip()
    if not scan:
        raise ValidationFailed("请扫描身份证或预约二维码", field="scan", code=DeskError.SCAN_EMPTY)
    if session.day != clock.today():
        raise ValidationFailed("只能为今天的场次登记", field="session", code=DeskError.SESSION_NOT_TODAY)
    if scan.upper().startswith("VXA:"):
        appointment = appointment_from_qr(scan)
        if appointment is None:
            raise ValidationFailed("预约二维码无效或已过期", field="scan", code=DeskError.QR_INVALID)
        resident = appointment.resident
    else:
        resident = desk_find(actor=actor, session=session, scan=scan, purpose="现场登记", now=now)
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
        early = "" if early_confirmed else check_in_too_early(session, now)
        if early:
            # Not checked in: the desk confirms first (the page re-posts the same scan with the confirmation).
            return {"appointment": appointment, "resident": resident, "message": early, "early": True}
        appointment = appointment_check_in(actor=actor, appointment=appointment, now=now)
    return {"appointment": appointment, "resident": resident, "message": "已签到"}


def desk_find(*, actor, session, scan: str, purpose: str, now: dt.datetime | None = None) -> Resident | None:
    """The person whose ID card was scanned at ``session``'s desks, from anywhere in the county (through
    ``registry.services.resident_find_by_document``, which audits it for ``purpose``), or ``None``. A find
    is kept as a ``DeskFind`` (this user, this person, this session, today) so that the same user may
    register them as a walk-in today. ``ValidationFailed`` (``document_invalid``) for a malformed number."""
    from vaxops.registry.services import resident_find_by_document

    from .models import DeskFind

    resident = resident_find_by_document(
        actor=actor,
        id_number=scan,
        purpose=purpose,
        county_wide=True,
        field="scan",
        note={"site": session.site.code},
    )
    if resident is not None and getattr(actor, "pk", None):
        now = now or clock.now()
        DeskFind.objects.create(user=actor, resident=resident, session=session, at=now, on=clock.today())
    return resident
