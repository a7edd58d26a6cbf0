"""Writes of booking: book, cancel, reschedule, check in, no-shows, the waiting list.

Correctness under any concurrency comes from the database, never from reading then writing: a place is
taken by one conditional UPDATE of a counter (``booked < capacity``; a check constraint backs it), and a
person can hold one active appointment per dose number (a partial unique index). A request that loses
either race is refused with a Chinese reason, and its transaction leaves nothing behind.
"""

import time
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from vaxops.audit.services import audit_record
from vaxops.campaign.models import ImmunizationStatus
from vaxops.clinic.selectors import eligibility_for, forecast_for
from vaxops.core import clock, ratelimit
from vaxops.core.actors import SystemActor
from vaxops.core.errors import CoreErrorCode, PermissionDenied, RateLimited, ValidationFailed
from vaxops.core.rounding import largest_remainder
from vaxops.notify.models import Notification
from vaxops.notify.services import (
    notification_queue,
    notification_send_soon,
    otp_issue,
    otp_subject,
    otp_verify,
)
from vaxops.registry import domain as registry_domain
from vaxops.registry.errors import RegistryErrorCode
from vaxops.registry.models import Resident
from vaxops.sites.errors import SitesErrorCode
from vaxops.sites.models import Session, SessionStatus

from . import domain
from .errors import BookingErrorCode, not_eligible_for
from .models import (
    ACTIVE,
    Appointment,
    AppointmentStatus,
    Channel,
    Slot,
    SlotQuota,
    WaitlistEntry,
    WaitlistStatus,
)


class SlotFull(ValidationFailed):
    """No place left in the slot for this person (open places and their quota are taken)."""

    code = BookingErrorCode.SLOT_FULL


def quota_keys(resident: Resident) -> list[str]:
    """The quota buckets a person may use: their employer's, then their village's."""
    keys = []
    if resident.employer_id:
        keys.append(f"E:{resident.employer_id}")
    if resident.village_code:
        keys.append(f"V:{resident.village_code}")
    return keys


def _local_day(moment) -> date:
    return timezone.localtime(moment).date()


def _actor_user(actor):
    return actor if getattr(actor, "pk", None) else None


def booking_check(*, resident: Resident, slot: Slot, now=None):
    """What the rules engine says about booking ``resident`` into ``slot``: the forecast's next dose, or a
    ValidationFailed with the plain-Chinese reason (not eligible, not yet due, slot past, session closed)."""
    now = now or clock.now()
    if slot.start <= now:
        raise ValidationFailed(
            _("该时段已开始或已过，请选择之后的时段"), field="slot", code=BookingErrorCode.SLOT_PAST
        )
    session = slot.session
    if session.status == SessionStatus.CLOSED:
        raise ValidationFailed(_("该场次已结束"), field="slot", code=SitesErrorCode.SESSION_CLOSED)
    if not session.site.active:
        raise ValidationFailed(_("该接种单位已停用"), field="slot", code=SitesErrorCode.SITE_INACTIVE)
    day = _local_day(slot.start)
    forecast = forecast_for(resident=resident, on=day)
    verdict = eligibility_for(resident=resident, on=day, forecast=forecast)
    if not verdict.allowed:
        raise ValidationFailed(verdict.reason_zh, field="resident", code=not_eligible_for(verdict.code))
    return forecast.next_dose


def _take_place(*, slot: Slot, resident: Resident) -> SlotQuota | None:
    """Take one place: from a quota of the person's employer or village if the slot has one with room,
    else from the open places. Raises SlotFull. Each step is one conditional UPDATE; a slot without
    reserved places (capacity = walk-in + open) is not asked for quotas at all."""
    keys = quota_keys(resident)
    if keys and slot.capacity - slot.walk_in > slot.open_capacity:
        for quota_id in SlotQuota.objects.filter(slot=slot, key__in=keys).values_list("id", flat=True):
            if SlotQuota.objects.filter(pk=quota_id, booked__lt=F("capacity")).update(booked=F("booked") + 1):
                return SlotQuota.objects.get(pk=quota_id)
    if Slot.objects.filter(pk=slot.pk, open_booked__lt=F("open_capacity")).update(
        open_booked=F("open_booked") + 1
    ):
        return None
    raise SlotFull("该时段已约满，可选择其他时段或登记候补", field="slot")


def _give_place_back(appointment: Appointment) -> None:
    if appointment.walk_in:
        Slot.objects.filter(pk=appointment.slot_id, walk_in_used__gt=0).update(
            walk_in_used=F("walk_in_used") - 1
        )
    elif appointment.quota_id:
        SlotQuota.objects.filter(pk=appointment.quota_id, booked__gt=0).update(booked=F("booked") - 1)
    else:
        Slot.objects.filter(pk=appointment.slot_id, open_booked__gt=0).update(
            open_booked=F("open_booked") - 1
        )


SIGN = "清溪县疫苗接种"


def _sms(template: domain.Template, **context) -> str:
    return domain.render(template, sign=SIGN, tz=timezone.get_current_timezone(), **context)


def _notify_booked(appointment: Appointment, resident: Resident, slot: Slot) -> None:
    """Queue the confirmation now and the reminder for the evening before (18:00; booked later than that,
    at once — unless the slot is only hours away). One INSERT for both: a new appointment's messages
    cannot exist yet."""

    if not resident.phone:
        return
    ref = f"A:{appointment.pk}"
    context = {
        "name": resident.name,
        "site": slot.session.site.name,
        "start": slot.start,
        "end": slot.end,
        "dose_number": appointment.dose_number,
        "is_booster": appointment.is_booster,
    }
    now = clock.now()
    rows = [
        Notification(
            template=domain.Template.BOOKING_CONFIRMED,
            phone=resident.phone,
            resident=resident,
            reference=ref,
            text=_sms(domain.Template.BOOKING_CONFIRMED, **context),
            due_at=now,
        )
    ]
    due = domain.reminder_due_at(slot.start, booked_at=now, tz=timezone.get_current_timezone())
    if slot.start - due > timedelta(hours=2):
        rows.append(
            Notification(
                template=domain.Template.REMINDER,
                phone=resident.phone,
                resident=resident,
                reference=ref,
                text=_sms(
                    domain.Template.REMINDER,
                    sent_on=due.astimezone(timezone.get_current_timezone()).date(),
                    **context,
                ),
                due_at=due,
            )
        )
    Notification.objects.bulk_create(rows)
    # The confirmation goes out at once (after the commit and the answer), not on the worker's next round: the
    # page the person sees next says it is on its way.
    confirmation = (
        rows[0] if rows[0].pk else Notification.objects.get(template=rows[0].template, reference=ref)
    )
    notification_send_soon(confirmation)


def appointment_book(*, actor, resident: Resident, slot: Slot, channel: str, now=None) -> Appointment:
    """Book ``resident`` into ``slot``: the rules engine first (eligible now? which dose?), then one place
    taken by a conditional UPDATE, then the appointment (one active per person and dose, enforced by a
    unique index), its audit event and its confirmation and reminder messages — all or nothing.

    The caller has already decided that ``actor`` may book this person (scope, employer, or the person
    themselves after a one-time code). A second active booking for the same dose is refused by the
    unique index (the whole transaction, place included, is rolled back) and explained from the
    existing appointment.
    """
    if channel not in Channel.values:
        raise ValidationFailed(
            _("未知的预约渠道：%(channel)s") % {"channel": channel},
            field="channel",
            code=BookingErrorCode.CHANNEL_UNKNOWN,
        )
    try:
        return _book(actor=actor, resident=resident, slot=slot, channel=channel, now=now)
    except IntegrityError:
        existing = (
            Appointment.objects.filter(resident=resident, status__in=ACTIVE)
            .select_related("slot__session__site")
            .order_by("slot__start")
            .first()
        )
        if existing is None:
            raise
        raise ValidationFailed(
            f"已预约{timezone.localtime(existing.slot.start):%m月%d日 %H:%M}在{existing.slot.session.site.name}"
            f"接种第{existing.dose_number}剂，如需改约请先取消或改约",
            field="resident",
            code=BookingErrorCode.ALREADY_BOOKED,
        ) from None


def _full_without_quotas(open_booked: int, open_capacity: int, capacity: int, walk_in: int) -> bool:
    return open_booked >= open_capacity and capacity - walk_in == open_capacity


# Slots this process has just seen full (slot id → monotonic time): for ``VAXOPS_SLOT_FULL_MEMO_SECONDS``
# (default 1) a further attempt at one is refused without reading it. A place freed meanwhile (a cancel)
# goes to the waiting list first anyway; a new booker sees it at most that long later.
_full_seen: dict[int, float] = {}
_monotonic = time.monotonic  # a seam for tests


def slot_full_refuse(slot_id: int) -> None:
    """Raise ``SlotFull`` when the slot's open places are taken and it reserves none for villages or
    employers — the stampede's common answer, from one read without a transaction (or none, when this
    process saw the slot full a moment ago). Only a refusal is decided here (a place is taken only by the
    conditional UPDATE of the booking); an unknown slot is left to the booking to report."""
    memo = getattr(settings, "VAXOPS_SLOT_FULL_MEMO_SECONDS", 1.0)
    seen = _full_seen.get(slot_id)
    if memo and seen is not None and _monotonic() - seen < memo:
        raise SlotFull("该时段已约满，可选择其他时段或登记候补", field="slot")
    row = (
        Slot.objects.filter(pk=slot_id)
        .values_list("open_booked", "open_capacity", "capacity", "walk_in")
        .first()
    )
    if row is not None and _full_without_quotas(*row):
        if memo:
            if len(_full_seen) > 10_000:
                _full_seen.clear()
            _full_seen[slot_id] = _monotonic()
        raise SlotFull("该时段已约满，可选择其他时段或登记候补", field="slot")
    _full_seen.pop(slot_id, None)


@transaction.atomic
def _book(*, actor, resident: Resident, slot: Slot, channel: str, now=None) -> Appointment:
    slot = Slot.objects.select_related("session__site").get(pk=slot.pk)
    if _full_without_quotas(slot.open_booked, slot.open_capacity, slot.capacity, slot.walk_in):
        # Full, with no reserved places to look at: say so before the rules engine's work (the stampede's
        # common answer). Only a refusal is decided on this read; a place is still taken by the conditional
        # UPDATE below.
        raise SlotFull("该时段已约满，可选择其他时段或登记候补", field="slot")
    next_dose = booking_check(resident=resident, slot=slot, now=now)
    quota = _take_place(slot=slot, resident=resident)
    appointment = Appointment.objects.create(
        resident=resident,
        slot=slot,
        quota=quota,
        dose_number=next_dose.number,
        is_booster=next_dose.is_booster,
        channel=channel,
        created_by=_actor_user(actor),
    )
    audit_record(
        actor=actor,
        action="booking.appointment_book",
        obj=appointment,
        new={
            "resident": resident.pk,
            "slot": slot.pk,
            "dose_number": next_dose.number,
            "channel": channel,
            "quota": quota.key if quota else None,
        },
    )
    _notify_booked(appointment, resident, slot)
    return appointment


@transaction.atomic
def appointment_cancel(
    *, actor, appointment: Appointment, reason: str = "", fill_waitlist: bool = True
) -> Appointment:
    """Cancel a booked appointment, give its place back, and offer it to the first person waiting."""
    changed = Appointment.objects.filter(pk=appointment.pk, status=AppointmentStatus.BOOKED).update(
        status=AppointmentStatus.CANCELLED, changed_at=clock.now(), reason=(reason or "")[:200]
    )
    if not changed:
        appointment.refresh_from_db()
        raise ValidationFailed(
            _("该预约当前为“%(status)s”，不能取消") % {"status": appointment.get_status_display()},
            field="status",
            code=BookingErrorCode.APPOINTMENT_NOT_CANCELLABLE,
        )
    appointment.refresh_from_db()
    _give_place_back(appointment)
    audit_record(
        actor=actor,
        action="booking.appointment_cancel",
        obj=appointment,
        old={"status": AppointmentStatus.BOOKED.value},
        new={"status": AppointmentStatus.CANCELLED.value, "reason": reason},
    )
    if fill_waitlist:
        waitlist_fill(session_id=appointment.slot.session_id, actor=actor)
    return appointment


@transaction.atomic
def appointment_reschedule(*, actor, appointment: Appointment, slot: Slot, reason: str = "") -> Appointment:
    """Move a booking to another slot: the old place is given back and the new one taken in one
    transaction; if the new slot is full or not allowed, the old appointment stands."""
    old = Appointment.objects.select_related("resident").get(pk=appointment.pk)
    appointment_cancel(actor=actor, appointment=old, reason=reason or "改约", fill_waitlist=False)
    new = appointment_book(actor=actor, resident=old.resident, slot=slot, channel=old.channel)
    waitlist_fill(session_id=old.slot.session_id, actor=actor)
    return new


@transaction.atomic
def appointment_check_in(*, actor, appointment: Appointment, now=None) -> Appointment:
    """Mark a booked person arrived (登记签到), on the day of the appointment only."""
    now = now or clock.now()
    a = Appointment.objects.select_related("slot").get(pk=appointment.pk)
    if _local_day(a.slot.start) != timezone.localdate(now):
        raise ValidationFailed(
            _("预约日期为%(day)s，只能当天签到") % {"day": format(_local_day(a.slot.start), "%Y-%m-%d")},
            field="status",
            code=BookingErrorCode.CHECKIN_WRONG_DAY,
        )
    changed = Appointment.objects.filter(pk=a.pk, status=AppointmentStatus.BOOKED).update(
        status=AppointmentStatus.CHECKED_IN, changed_at=now
    )
    if not changed:
        raise ValidationFailed(
            _("该预约当前为“%(status)s”，不能签到") % {"status": a.get_status_display()},
            field="status",
            code=BookingErrorCode.APPOINTMENT_NOT_CHECKABLE,
        )
    a.refresh_from_db()
    audit_record(
        actor=actor,
        action="booking.appointment_check_in",
        obj=a,
        old={"status": AppointmentStatus.BOOKED.value},
        new={"status": a.status},
    )
    return a


def appointments_mark_no_show(*, before: date, actor) -> int:
    """Appointments still 'booked' in slots before ``before`` become no-shows (run daily); returns how many."""
    ids = list(
        Appointment.objects.filter(status=AppointmentStatus.BOOKED, slot__start__date__lt=before).values_list(
            "id", flat=True
        )[:50_000]
    )
    if not ids:
        return 0
    with transaction.atomic():
        n = Appointment.objects.filter(id__in=ids, status=AppointmentStatus.BOOKED).update(
            status=AppointmentStatus.NO_SHOW, changed_at=clock.now()
        )
        audit_record(
            actor=actor,
            action="booking.no_show",
            object_type="booking.appointment",
            object_id="*",
            new={"count": n, "before": before.isoformat()},
        )
    return n


@transaction.atomic
def waitlist_join(*, actor, resident: Resident, session, channel: str) -> WaitlistEntry:
    """Put a person on a full session's waiting list (once per session); they are booked automatically
    when a place frees."""

    session = Session.objects.select_related("site").get(pk=session.pk)
    first = session.slots.order_by("start").first()
    if first is None:
        raise ValidationFailed(
            _("该场次没有预约时段"), field="session", code=BookingErrorCode.SESSION_NO_SLOTS
        )
    next_dose = booking_check(resident=resident, slot=first)
    try:
        with transaction.atomic():
            entry = WaitlistEntry.objects.create(
                resident=resident, session=session, dose_number=next_dose.number, channel=channel
            )
    except IntegrityError:
        raise ValidationFailed(
            _("该居民已在此场次的候补名单中"), field="resident", code=BookingErrorCode.WAITLIST_DUPLICATE
        ) from None
    audit_record(
        actor=actor,
        action="booking.waitlist_join",
        obj=entry,
        new={"resident": resident.pk, "session": session.pk},
    )
    return entry


def waitlist_fill(*, session_id: int, actor) -> int:
    """Book waiting people, first come first served, into free places of the session's future slots;
    someone who can no longer be booked (not eligible, already booked elsewhere) is skipped. Returns how
    many were booked. Runs inside the caller's transaction (a cancel frees a place and fills it at once)."""
    now = clock.now()
    booked = 0
    slots = list(
        Slot.objects.filter(session_id=session_id, start__gt=now)
        .select_related("session__site")
        .order_by("start")
    )
    if not slots:
        return 0
    for entry in (
        WaitlistEntry.objects.filter(session_id=session_id, status=WaitlistStatus.WAITING)
        .select_related("resident")
        .order_by("created_at", "id")
    ):
        done = None
        for slot in slots:
            try:
                with transaction.atomic():
                    done = appointment_book(
                        actor=actor, resident=entry.resident, slot=slot, channel=entry.channel
                    )
                break
            except SlotFull:
                continue
            except ValidationFailed:
                break
        if done is None:
            if not any(_has_room(s, entry.resident) for s in slots):
                break  # nothing free for anyone like them; stop scanning
            continue
        WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistStatus.BOOKED, appointment=done)
        booked += 1
    return booked


def _has_room(slot: Slot, resident: Resident) -> bool:
    s = Slot.objects.filter(pk=slot.pk).values_list("open_booked", "open_capacity").get()
    if s[0] < s[1]:
        return True
    return SlotQuota.objects.filter(
        slot=slot, key__in=quota_keys(resident), booked__lt=F("capacity")
    ).exists()


# --------------------------------------------------------------------------------------------------
# The employer's door: book a staff list at once, spread over the employer's reserved places
# --------------------------------------------------------------------------------------------------


def employer_book(*, actor, employer, session, residents=None) -> dict:
    """Book the employer's staff (by default everyone registered with the employer who holds no active
    appointment) into the session: the employer's reserved places first, wherever they are in the session,
    then open places, each in time order. Each person is booked in their own savepoint, so one refusal (not eligible, already
    booked) never stops the others. Returns ``{"booked": [...], "refused": [(resident, reason)], "unplaced":
    [...]}`` (unplaced: no place left)."""

    session = Session.objects.select_related("site").get(pk=session.pk)
    people = list(
        residents
        if residents is not None
        else Resident.objects.filter(employer=employer)
        .exclude(appointments__status__in=ACTIVE)
        .order_by("name", "id")
    )
    if any(p.employer_id != employer.pk for p in people):
        raise ValidationFailed(
            _("只能为本单位人员集体预约"),
            field="residents",
            code=BookingErrorCode.GROUP_BOOKING_OTHER_EMPLOYER,
        )
    slots = list(Slot.objects.filter(session=session, start__gt=clock.now()).order_by("start"))
    key = f"E:{employer.pk}"
    reserved = {
        slot_id: cap - used
        for slot_id, cap, used in SlotQuota.objects.filter(slot__in=slots, key=key).values_list(
            "slot_id", "capacity", "booked"
        )
    }
    booked, refused, unplaced = [], [], []
    for person in people:
        done = None
        reason = None
        # The employer's reserved places anywhere in the session first, then open places, each in time order.
        for slot in sorted(slots, key=lambda s: (reserved.get(s.pk, 0) <= 0, s.start)):
            try:
                with transaction.atomic():
                    done = appointment_book(actor=actor, resident=person, slot=slot, channel=Channel.EMPLOYER)
                break
            except SlotFull:
                continue
            except ValidationFailed as e:
                reason = e.message
                break
        if done is not None:
            booked.append(done)
            if done.quota_id and done.slot_id in reserved:
                reserved[done.slot_id] -= 1
        elif reason is not None:
            refused.append((person, reason))
        else:
            unplaced.append(person)
    audit_record(
        actor=actor,
        action="booking.employer_book",
        obj=session,
        new={
            "employer": employer.pk,
            "booked": len(booked),
            "refused": len(refused),
            "unplaced": len(unplaced),
        },
    )
    return {"booked": booked, "refused": refused, "unplaced": unplaced}


# --------------------------------------------------------------------------------------------------
# The resident's own door: name + ID number + phone, confirmed by a one-time code
# --------------------------------------------------------------------------------------------------

SELF_PURPOSE = "self_booking"
_MISMATCH = gettext_noop("姓名、证件号码与手机号不匹配，或尚未登记。请核对后重试，或联系所在村（社区）登记")
# The one answer to a request for a code, whether or not the details matched anyone.
SELF_CODE_SENT = "若信息已登记，验证码已发送至该手机号，10分钟内有效。未收到请核对姓名、证件号码和手机号，或联系所在村（社区）"


def _self_subject(id_number: str, phone: str) -> str:

    return otp_subject(SELF_PURPOSE, id_number, phone)


def _self_document(id_number: str):

    try:
        return registry_domain.parse_document(
            registry_domain.parse_id_type(""), id_number, today=clock.today()
        )
    except registry_domain.DocumentError as e:
        raise ValidationFailed(
            e.message, field="id_number", code=RegistryErrorCode.ID_NUMBER_INVALID
        ) from None


def self_identify(*, name: str, id_number: str, phone: str) -> None:
    """Start a resident's own booking: when name, ID number and phone match one registered person, a
    one-time code goes to that phone after the answer has been sent.

    Whether anything matched is never visible from outside: the same return (``SELF_CODE_SENT`` is the
    message to show), the same work (a code is made and hashed either way, see ``notify.otp_issue``), the
    same limits. Refusals are only about the request itself: a malformed ID number or phone (400), or too
    many requests (429 ``RateLimited``) from the client's address (the caller's ``throttle``) or about this
    ID number or this phone, whoever asks. A code sent is audited (number masked); a request that matched
    nobody is an anonymous refusal, counted per client (``core.ratelimit.refusal_note``: one audit event
    per client and window, not one per try)."""

    name, phone = (name or "").strip(), (phone or "").strip()
    doc = _self_document(id_number)
    if not phone.isdigit() or len(phone) != 11:
        raise ValidationFailed(_("请填写11位手机号码"), field="phone", code=BookingErrorCode.PHONE_INVALID)
    ratelimit.limit_hit("self.identify.person", ratelimit.identity_key("id", doc.number), field="id_number")
    ratelimit.limit_hit("self.identify.person", ratelimit.identity_key("phone", phone), field="phone")
    person = Resident.objects.filter(id_type=doc.id_type.value, id_number=doc.number).first()
    ok = person is not None and person.name == name and person.phone == phone
    try:
        with transaction.atomic():
            otp_issue(
                purpose=SELF_PURPOSE,
                subject=_self_subject(doc.number, phone),
                phone=phone if ok else None,
                resident=person if ok else None,
                text_for=lambda code: _sms(domain.Template.OTP, code=code),
            )
            if ok:
                audit_record(
                    actor=SystemActor("self-booking"),
                    action="booking.self_identify",
                    obj=person,
                    purpose="本人预约",
                    new={"query": registry_domain.mask_id(doc.number), "code_sent": True},
                )
    except RateLimited:
        ratelimit.refusal_note(scope="self.identify", reason="rate_limited")
        raise
    if not ok:
        ratelimit.refusal_note(scope="self.identify", reason="no_match")


def self_verify(*, id_number: str, phone: str, code: str) -> Resident:
    """The person, once the one-time code sent to their phone is confirmed. Too many tries about one ID
    number are refused (429) whoever makes them; a wrong code is an anonymous refusal, counted per client."""

    doc = _self_document(id_number)
    phone = (phone or "").strip()
    ratelimit.limit_hit("self.verify.person", ratelimit.identity_key("id", doc.number), field="id_number")
    try:
        otp_verify(purpose=SELF_PURPOSE, subject=_self_subject(doc.number, phone), code=code)
    except ValidationFailed as e:
        ratelimit.refusal_note(scope="self.verify", reason=e.message)
        raise
    person = Resident.objects.filter(id_type=doc.id_type.value, id_number=doc.number, phone=phone).first()
    if person is None:
        ratelimit.refusal_note(scope="self.verify", reason="no_match")
        raise ValidationFailed(_(_MISMATCH), field="id_number", code=BookingErrorCode.SELF_MISMATCH)
    return person


# --------------------------------------------------------------------------------------------------
# Dose reminders (second dose due, overdue), planned daily
# --------------------------------------------------------------------------------------------------


def dose_reminders_plan(*, on: date) -> dict:
    """Queue "second dose due" for people whose next dose (2 or later) may be given from ``on`` and
    "overdue" for people past its latest date, when they hold no active appointment. Each is queued once
    per person and dose number (the message reference), so the daily run never repeats itself."""

    base = (
        ImmunizationStatus.objects.filter(next_number__gte=2, contraindicated=False)
        .exclude(resident__phone="")
        .exclude(resident__appointments__status__in=ACTIVE)
    )
    counts = {"dose_due": 0, "overdue": 0}
    due = base.filter(next_earliest=on, next_is_booster=False).select_related("resident")
    for st in due.iterator(chunk_size=2000):
        r = st.resident
        text = _sms(
            domain.Template.SECOND_DOSE_DUE,
            name=r.name,
            dose_number=st.next_number,
            earliest=st.next_earliest,
            latest=st.next_latest,
        )
        if notification_queue(
            template=domain.Template.SECOND_DOSE_DUE,
            phone=r.phone,
            resident=r,
            reference=f"D:{r.pk}:{st.next_number}",
            text=text,
        ):
            counts["dose_due"] += 1
    overdue = base.filter(next_latest__lt=on, next_is_booster=False).select_related("resident")
    for st in overdue.iterator(chunk_size=2000):
        r = st.resident
        text = _sms(domain.Template.OVERDUE, name=r.name, dose_number=st.next_number, latest=st.next_latest)
        if notification_queue(
            template=domain.Template.OVERDUE,
            phone=r.phone,
            resident=r,
            reference=f"O:{r.pk}:{st.next_number}",
            text=text,
        ):
            counts["overdue"] += 1
    return counts


# --------------------------------------------------------------------------------------------------
# At the site: walk-ins and completion
# --------------------------------------------------------------------------------------------------


@transaction.atomic
def walk_in_register(*, actor, resident: Resident, session, now=None) -> Appointment:
    """Register a person who came without an appointment into the current (or next) slot of today's
    session, within the walk-in share: one conditional UPDATE of ``walk_in_used``; checked in at once."""
    if not actor.has_perm("booking.add_appointment"):
        raise PermissionDenied(_("您的角色无权现场登记"), code=CoreErrorCode.ROLE_FORBIDDEN)
    now = now or clock.now()
    if session.day != timezone.localdate(now):
        raise ValidationFailed(
            _("现场登记只能用于当天的场次"), field="session", code=BookingErrorCode.WALK_IN_NOT_TODAY
        )
    existing = (
        Appointment.objects.filter(resident=resident, status__in=ACTIVE)
        .select_related("slot__session")
        .first()
    )
    if existing is not None and existing.slot.session_id == session.pk:
        if existing.status == AppointmentStatus.BOOKED:
            return appointment_check_in(actor=actor, appointment=existing, now=now)
        return existing
    slots = list(Slot.objects.filter(session=session, end__gt=now).order_by("start"))
    if not slots:
        raise ValidationFailed(
            _("今天的接种时段已结束"), field="session", code=BookingErrorCode.WALK_IN_ENDED
        )
    forecast = forecast_for(resident=resident, on=session.day)
    verdict = eligibility_for(resident=resident, on=session.day, forecast=forecast)
    if not verdict.allowed:
        raise ValidationFailed(verdict.reason_zh, field="resident", code=not_eligible_for(verdict.code))
    for slot in slots:
        if Slot.objects.filter(pk=slot.pk, walk_in_used__lt=F("walk_in")).update(
            walk_in_used=F("walk_in_used") + 1
        ):
            break
    else:
        raise SlotFull("今天的现场号已用完，请预约其他时段", field="session")
    try:
        with transaction.atomic():
            a = Appointment.objects.create(
                resident=resident,
                slot=slot,
                walk_in=True,
                dose_number=forecast.next_dose.number,
                is_booster=forecast.next_dose.is_booster,
                channel=Channel.WALK_IN,
                status=AppointmentStatus.CHECKED_IN,
                changed_at=now,
                created_by=_actor_user(actor),
            )
    except IntegrityError:
        raise ValidationFailed(
            "该居民已有其他有效预约，请先取消或改约", field="resident", code=BookingErrorCode.ALREADY_BOOKED
        ) from None
    audit_record(
        actor=actor,
        action="booking.walk_in_register",
        obj=a,
        new={"resident": resident.pk, "slot": slot.pk, "dose_number": a.dose_number},
    )
    return a


def appointment_complete(*, appointment_id: int, now=None) -> bool:
    """Mark the appointment done when its dose is recorded (inside the dose's transaction)."""
    return bool(
        Appointment.objects.filter(pk=appointment_id, status__in=ACTIVE).update(
            status=AppointmentStatus.COMPLETED, changed_at=now or clock.now()
        )
    )


# ------------------------------------------------------------------------------------------ sessions


@transaction.atomic
def session_reserve(*, actor, session, key: str, label: str, places: int) -> int:
    """Reserve ``places`` of the session's open places for one village (``V:<code>``) or employer
    (``E:<id>``), spread over its future slots in proportion to their free open places (largest
    remainder). Each slot's share moves by a conditional UPDATE, so places already booked are never
    taken away. Returns the places reserved."""
    if places < 1:
        raise ValidationFailed(
            _("预留名额须为正数"), field="places", code=SitesErrorCode.QUOTA_PLACES_INVALID
        )
    if not (key.startswith(("V:", "E:")) and len(key) > 2):
        raise ValidationFailed(
            _("预留对象须为村（V:区划代码）或单位（E:编号）"),
            field="key",
            code=SitesErrorCode.QUOTA_KEY_INVALID,
        )
    slots = list(
        Slot.objects.select_for_update().filter(session=session, start__gt=clock.now()).order_by("start")
    )
    free = {s.pk: s.open_capacity - s.open_booked for s in slots}
    total_free = sum(free.values())
    if places > total_free:
        raise ValidationFailed(
            _("该场次剩余可预约%(total_free)s个，不足%(places)s个")
            % {"total_free": total_free, "places": places},
            field="places",
            code=SitesErrorCode.QUOTA_EXCEEDS_FREE,
        )
    ids = sorted(free)  # equal remainders: the smaller slot id first
    for pk, n in zip(ids, largest_remainder(places, [free[pk] for pk in ids]), strict=True):
        if not n:
            continue
        if not Slot.objects.filter(pk=pk, open_capacity__gte=F("open_booked") + n).update(
            open_capacity=F("open_capacity") - n
        ):
            raise ValidationFailed(_("预约名额刚被占用，请重试"), code=SitesErrorCode.QUOTA_CONFLICT)
        quota, _created = SlotQuota.objects.get_or_create(
            slot_id=pk, key=key, defaults={"label": label, "capacity": 0}
        )
        SlotQuota.objects.filter(pk=quota.pk).update(capacity=F("capacity") + n)
    audit_record(
        actor=actor,
        action="sites.session_reserve",
        obj=session,
        new={"key": key, "label": label, "places": places},
    )
    return places
