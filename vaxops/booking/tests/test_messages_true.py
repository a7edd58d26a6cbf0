"""Messages say what is true (issue 17, item 7): a same-day booking's reminder says 今天, not 明天; the
confirmation is handed to the channel at once (after the commit and the answer), and the resident's page
says "已发送" only once it has been."""

import datetime as dt

import pytest
from django.utils import timezone

from vaxops.booking import services
from vaxops.notify.models import Notification, NotificationStatus

from .factories import resident, session, site


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def six_in_the_morning(monkeypatch):
    fixed = _at(timezone.localdate(), 6).astimezone(dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: fixed)
    return fixed


def test_a_same_day_bookings_reminder_says_today(village_a1, cdc, six_in_the_morning):
    today = session(site(village_a1), cdc, day=timezone.localdate())
    slot = today.slots.order_by("-start").first()  # 11:30, more than two hours away
    services.appointment_book(
        actor=cdc, resident=resident(village_a1, 1, phone="13800000001"), slot=slot, channel="community"
    )
    reminder = Notification.objects.get(template="reminder")
    assert "提醒您今天接种" in reminder.text and "明天" not in reminder.text
    assert "11:30" in reminder.text


def test_a_booking_for_tomorrow_is_reminded_the_evening_before_as_tomorrow(
    village_a1, cdc, six_in_the_morning
):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    slot = session(site(village_a1), cdc, day=tomorrow).slots.order_by("start").first()
    services.appointment_book(
        actor=cdc, resident=resident(village_a1, 1, phone="13800000001"), slot=slot, channel="community"
    )
    reminder = Notification.objects.get(template="reminder")
    assert timezone.localtime(reminder.due_at) == _at(timezone.localdate(), 18)
    assert "提醒您明天接种" in reminder.text


def test_the_confirmation_is_sent_at_once(village_a1, cdc, sms_outbox, django_capture_on_commit_callbacks):
    slot = session(site(village_a1), cdc).slots.order_by("start").first()
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_book(
            actor=cdc, resident=resident(village_a1, 1, phone="13800000001"), slot=slot, channel="community"
        )
    confirmation = Notification.objects.get(template="booking_confirmed")
    assert confirmation.status == NotificationStatus.SENT and confirmation.sent_at is not None
    assert [m.text for m in sms_outbox] == [confirmation.text]
    assert (
        Notification.objects.get(template="reminder").status == NotificationStatus.QUEUED
    )  # still due later


def test_the_residents_page_says_sent_only_once_it_was(client, village_a1, cdc, monkeypatch):
    from vaxops.booking import views

    person = resident(village_a1, 1, phone="13800000001")
    slot = session(site(village_a1), cdc).slots.order_by("start").first()
    a = services.appointment_book(actor=cdc, resident=person, slot=slot, channel="community")  # not committed
    monkeypatch.setattr(views, "_self_resident", lambda request: person)
    queued = client.get("/book/me/").content.decode()
    assert "正在发送" in queued and "已发送" not in queued
    Notification.objects.filter(template="booking_confirmed", reference=f"A:{a.pk}").update(
        status=NotificationStatus.SENT
    )
    sent = client.get("/book/me/").content.decode()
    assert "预约确认短信已发送到您的手机" in sent
