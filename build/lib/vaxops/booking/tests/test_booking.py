"""Booking against the real database: capacity, quotas, one active appointment per dose, cancel,
reschedule, waiting list, check-in, no-shows, and the rules engine's verdict in plain Chinese."""

import datetime as dt
import re

import pytest
from django.db.models import F
from django.utils import timezone

from vaxops.audit.models import AuditEvent
from vaxops.booking import services
from vaxops.booking.errors import BookingErrorCode
from vaxops.booking.models import (
    Appointment,
    AppointmentStatus,
    Slot,
    SlotQuota,
    WaitlistEntry,
    WaitlistStatus,
)
from vaxops.clinic.models import Dose
from vaxops.notify.errors import NotifyErrorCode
from vaxops.notify.models import Notification, OneTimeCode
from vaxops.sites import services as site_services
from vaxops.sites.errors import SitesErrorCode
from vaxops.testing.refusals import refused

from .factories import resident, session, site, tomorrow


@pytest.fixture
def planned(village_a1, cdc):
    return session(site(village_a1), cdc)


def _first_slot(s):
    return s.slots.order_by("start").first()


def test_a_session_is_cut_into_slots_with_capacity_from_desks_and_throughput(village_a1, cdc):
    s = session(site(village_a1, walk_in_share="0.25"), cdc)
    slots = list(s.slots.order_by("start"))
    assert len(slots) == 8
    assert [timezone.localtime(x.start).strftime("%H:%M") for x in slots[:2]] == ["08:00", "08:30"]
    assert {(x.capacity, x.walk_in, x.open_capacity) for x in slots} == {(20, 5, 15)}
    with refused(SitesErrorCode.SESSION_EXISTS):
        session(s.site, cdc)


def test_booking_takes_a_place_sends_a_confirmation_and_refuses_a_second_active_booking(
    planned, village_a1, cdc
):
    person = resident(village_a1, 1, phone="13800000001")
    slot = _first_slot(planned)

    a = services.appointment_book(actor=cdc, resident=person, slot=slot, channel="community")

    assert (a.dose_number, a.status, a.is_booster) == (1, AppointmentStatus.BOOKED, False)
    assert Slot.objects.get(pk=slot.pk).open_booked == 1
    assert set(Notification.objects.values_list("template", flat=True)) == {"booking_confirmed", "reminder"}
    text = Notification.objects.get(template="booking_confirmed").text
    assert (
        "王*明" in text and "甲镇卫生院接种门诊" in text and "第1剂" in text and person.id_number not in text
    )
    assert AuditEvent.objects.filter(action="booking.appointment_book").count() == 1
    with refused(BookingErrorCode.ALREADY_BOOKED):
        services.appointment_book(
            actor=cdc, resident=person, slot=slot.session.slots.last(), channel="community"
        )
    assert Slot.objects.get(pk=slot.pk).open_booked == 1


def test_a_full_slot_refuses_and_the_waiting_list_fills_a_freed_place(village_a1, cdc):
    s = session(site(village_a1, per_hour=2, desks=1), cdc)  # one place a slot
    slots = list(s.slots.order_by("start"))
    Slot.objects.filter(pk__in=[x.pk for x in slots[1:]]).update(open_capacity=0)
    first, second = resident(village_a1, 1), resident(village_a1, 2, name="李四")
    booked = services.appointment_book(actor=cdc, resident=first, slot=slots[0], channel="community")
    with refused(BookingErrorCode.SLOT_FULL):
        services.appointment_book(actor=cdc, resident=second, slot=slots[0], channel="community")
    entry = services.waitlist_join(actor=cdc, resident=second, session=s, channel="community")

    services.appointment_cancel(actor=cdc, appointment=booked, reason="临时出差")

    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED
    assert entry.appointment.resident == second and entry.appointment.slot == slots[0]
    assert Slot.objects.get(pk=slots[0].pk).open_booked == 1
    assert WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING).count() == 0


def test_a_quota_keeps_places_for_its_village_only(planned, village_a1, village_b1, cdc):
    slot = _first_slot(planned)
    Slot.objects.filter(session=planned).exclude(pk=slot.pk).update(open_capacity=0)
    services.session_reserve(
        actor=cdc, session=planned, key=f"V:{village_a1.code}", label="甲镇1村", places=20
    )
    assert Slot.objects.get(pk=slot.pk).open_capacity == 0
    assert SlotQuota.objects.get(slot=slot).capacity == 20

    outsider = resident(village_b1, 5, name="赵六")
    with refused(BookingErrorCode.SLOT_FULL):
        services.appointment_book(actor=cdc, resident=outsider, slot=slot, channel="community")
    a = services.appointment_book(actor=cdc, resident=resident(village_a1, 6), slot=slot, channel="community")
    assert a.quota.key == f"V:{village_a1.code}"
    assert SlotQuota.objects.get(slot=slot).booked == 1
    services.appointment_cancel(actor=cdc, appointment=a)
    assert SlotQuota.objects.get(slot=slot).booked == 0


def test_the_rules_engine_says_why_not_in_plain_chinese(planned, village_a1, cdc):
    child = resident(village_a1, 3, birth=timezone.localdate() - dt.timedelta(days=365 * 5))
    with refused(BookingErrorCode.NOT_ELIGIBLE_NOT_DUE, field="resident") as e:
        services.appointment_book(actor=cdc, resident=child, slot=_first_slot(planned), channel="community")
    assert re.fullmatch(r"未到接种时间，第1剂最早可于20\d\d-\d\d-\d\d接种", e.value.message)

    recent = resident(village_a1, 4)
    Dose.objects.create(
        resident=recent, product_code="BBIBP-CorV", given_on=timezone.localdate(), place="甲镇"
    )
    with refused(BookingErrorCode.NOT_ELIGIBLE_NOT_DUE) as e:
        services.appointment_book(actor=cdc, resident=recent, slot=_first_slot(planned), channel="community")
    assert "第2剂最早可于" in e.value.message
    assert not Appointment.objects.exists()


def test_reschedule_moves_the_place_or_keeps_the_old_booking(planned, village_a1, cdc):
    slots = list(planned.slots.order_by("start"))
    person = resident(village_a1, 1)
    a = services.appointment_book(actor=cdc, resident=person, slot=slots[0], channel="community")
    moved = services.appointment_reschedule(actor=cdc, appointment=a, slot=slots[3])
    assert moved.slot == slots[3] and moved.status == AppointmentStatus.BOOKED
    assert [Slot.objects.get(pk=x.pk).open_booked for x in (slots[0], slots[3])] == [0, 1]

    Slot.objects.filter(pk=slots[5].pk).update(open_capacity=0)
    with refused(BookingErrorCode.SLOT_FULL):
        services.appointment_reschedule(actor=cdc, appointment=moved, slot=slots[5])
    moved.refresh_from_db()
    assert moved.status == AppointmentStatus.BOOKED and Slot.objects.get(pk=slots[3].pk).open_booked == 1


def test_check_in_only_on_the_day_and_no_shows_after_it(village_a1, cdc):
    s = session(site(village_a1), cdc, day=tomorrow())
    a = services.appointment_book(
        actor=cdc, resident=resident(village_a1, 1), slot=_first_slot(s), channel="self"
    )
    with refused(BookingErrorCode.CHECKIN_WRONG_DAY):
        services.appointment_check_in(actor=cdc, appointment=a)
    day_of = timezone.localtime(a.slot.start) + dt.timedelta(minutes=5)
    assert (
        services.appointment_check_in(actor=cdc, appointment=a, now=day_of).status
        == AppointmentStatus.CHECKED_IN
    )

    b = services.appointment_book(
        actor=cdc, resident=resident(village_a1, 2), slot=_first_slot(s), channel="self"
    )
    assert services.appointments_mark_no_show(before=tomorrow() + dt.timedelta(days=1), actor=cdc) == 1
    b.refresh_from_db()
    assert b.status == AppointmentStatus.NO_SHOW


def test_a_session_opens_only_when_ready_and_staffed_by_certified_people(planned, cdc):
    from vaxops.sites.models import Certificate, Desk, StaffMember

    with refused(SitesErrorCode.SESSION_NOT_READY):
        site_services.session_open(actor=cdc, session=planned)
    vaccinator = StaffMember.objects.create(site=planned.site, name="护士甲", roles=["vaccination"])
    desk = Desk.objects.get(site=planned.site, kind="vaccination", number=1)
    with refused(SitesErrorCode.STAFF_UNQUALIFIED):
        site_services.assignment_add(
            actor=cdc, session=planned, staff=vaccinator, desk=desk, role="vaccination"
        )
    Certificate.objects.create(
        staff=vaccinator,
        kind="training",
        number="PX-1",
        valid_from=dt.date(2021, 1, 1),
        valid_to=planned.day - dt.timedelta(days=1),
    )
    with refused(SitesErrorCode.STAFF_UNQUALIFIED, field="staff") as e:
        site_services.assignment_add(
            actor=cdc, session=planned, staff=vaccinator, desk=desk, role="vaccination"
        )
    assert "PX-1" in e.value.message  # names the certificate that lapsed
    Certificate.objects.create(
        staff=vaccinator, kind="training", number="PX-2", valid_from=dt.date(2021, 1, 1), valid_to=planned.day
    )
    site_services.assignment_add(actor=cdc, session=planned, staff=vaccinator, desk=desk, role="vaccination")
    for kind in ("registration", "screening", "observation"):
        person = StaffMember.objects.create(site=planned.site, name=f"{kind}员", roles=[kind])
        Certificate.objects.create(
            staff=person, kind="training", number=f"PX-{kind}", valid_from=dt.date(2021, 1, 1)
        )
        site_services.assignment_add(
            actor=cdc,
            session=planned,
            staff=person,
            desk=Desk.objects.get(site=planned.site, kind=kind),
            role=kind,
        )
    for item in ("medical_staff", "emergency_kit", "ambulance"):
        site_services.readiness_confirm(actor=cdc, session=planned, item=item)
    with refused(SitesErrorCode.SESSION_NOT_READY):
        site_services.session_open(actor=cdc, session=planned)
    site_services.readiness_confirm(
        actor=cdc, session=planned, item="green_channel", note="已与县人民医院确认"
    )
    assert site_services.session_open(actor=cdc, session=planned).status == "open"


def test_an_employer_books_its_staff_at_once_over_its_reserved_places(planned, village_a1, employer, cdc):
    from vaxops.booking.models import Channel

    slots = list(planned.slots.order_by("start"))
    Slot.objects.filter(session=planned).update(open_capacity=0)
    Slot.objects.filter(pk__in=[s.pk for s in slots[:2]]).update(open_capacity=2)
    services.session_reserve(
        actor=cdc, session=planned, key=f"E:{employer.pk}", label=employer.name, places=3
    )
    staff = [resident(village_a1, i, name=f"职工{i}", employer=employer) for i in range(5)]
    young = resident(
        village_a1,
        9,
        name="实习生",
        employer=employer,
        birth=timezone.localdate() - dt.timedelta(days=365 * 10),
    )

    result = services.employer_book(actor=cdc, employer=employer, session=planned)

    assert len(result["booked"]) == 4 and [p.name for p, _ in result["refused"]] == ["实习生"]
    assert len(result["unplaced"]) == 1
    assert {a.channel for a in result["booked"]} == {Channel.EMPLOYER}
    assert sum(1 for a in result["booked"] if a.quota is not None) == 3
    assert SlotQuota.objects.filter(key=f"E:{employer.pk}", booked__lt=F("capacity")).count() == 0
    assert young.pk not in {a.resident_id for a in result["booked"]}
    assert {a.resident_id for a in result["booked"]} <= {p.pk for p in staff}


def test_a_resident_books_themselves_after_a_one_time_code(
    planned, village_a1, sms_outbox, django_capture_on_commit_callbacks
):
    person = resident(village_a1, 1, name="张三丰", phone="13900000001")
    with django_capture_on_commit_callbacks(execute=True):
        services.self_identify(name="张三", id_number=person.id_number, phone="13900000001")
        services.self_identify(name="张三丰", id_number=person.id_number, phone="13900000009")
    assert sms_outbox == []
    assert not AuditEvent.objects.filter(action="booking.self_identify").exists()

    OneTimeCode.objects.update(issued_at=F("issued_at") - dt.timedelta(minutes=2))  # past the resend wait
    with django_capture_on_commit_callbacks(execute=True):
        services.self_identify(name="张三丰", id_number=person.id_number, phone="13900000001")
    code = sms_outbox[-1].text.split("验证码为")[1][:6]
    assert code.isdigit()
    with refused(NotifyErrorCode.OTP_WRONG):
        services.self_verify(id_number=person.id_number, phone="13900000001", code="x")
    assert services.self_verify(id_number=person.id_number, phone="13900000001", code=code) == person
    assert AuditEvent.objects.filter(action="booking.self_identify").count() == 1  # the code sent
    assert AuditEvent.objects.filter(action="public.refused").count() == 1  # three refusals, one client
    assert not AuditEvent.objects.filter(new__query=person.id_number).exists()


def test_dose_reminders_go_once_to_people_due_or_overdue_without_a_booking(village_a1, cdc):
    from vaxops.campaign.services import status_refresh

    today = timezone.localdate()
    due = resident(village_a1, 1, phone="13900000011")
    Dose.objects.create(
        resident=due, product_code="BBIBP-CorV", given_on=today - dt.timedelta(days=21), place="甲镇"
    )
    late = resident(village_a1, 2, phone="13900000012", name="李四")
    Dose.objects.create(
        resident=late, product_code="BBIBP-CorV", given_on=today - dt.timedelta(days=90), place="甲镇"
    )
    status_refresh(resident_ids=[due.pk, late.pk])

    counts = services.dose_reminders_plan(on=today)
    again = services.dose_reminders_plan(on=today)

    assert counts == {"dose_due": 1, "overdue": 1} and again == {"dose_due": 0, "overdue": 0}
    texts = dict(Notification.objects.values_list("template", "text"))
    assert "第2剂" in texts["second_dose_due"] and "起可以接种" in texts["second_dose_due"]
    assert "王*明" in texts["second_dose_due"]
    assert "第2剂已超过建议接种日期" in texts["overdue"] and "李*" in texts["overdue"]


def test_an_employer_fills_its_reserved_places_in_later_slots_before_open_ones(
    planned, village_a1, employer, cdc
):
    slots = list(planned.slots.order_by("start"))
    later = slots[3]
    SlotQuota.objects.create(slot=later, key=f"E:{employer.pk}", label=employer.name, capacity=2)
    Slot.objects.filter(pk=later.pk).update(open_capacity=F("open_capacity") - 2)
    staff = [resident(village_a1, 20 + i, name=f"员工{i}", employer=employer) for i in range(3)]

    result = services.employer_book(actor=cdc, employer=employer, session=planned, residents=staff)

    assert sorted((a.slot_id, a.quota is not None) for a in result["booked"]) == sorted(
        [(later.pk, True), (later.pk, True), (slots[0].pk, False)]
    )
