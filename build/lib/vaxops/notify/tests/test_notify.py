import json
from datetime import timedelta

import pytest
from django.utils import timezone

from vaxops.core.errors import ValidationFailed
from vaxops.notify import services
from vaxops.notify.channels import ChannelError
from vaxops.notify.errors import NotifyErrorCode
from vaxops.notify.models import Notification, NotificationStatus, OneTimeCode
from vaxops.testing.refusals import refused


@pytest.fixture
def outbox(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.VAXOPS_NOTIFY_CHANNEL = "file"
    path = tmp_path / "notifications.log"

    def read():
        return (
            [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            if path.exists()
            else []
        )

    return read


@pytest.mark.django_db
def test_a_queued_message_is_sent_once_when_due_and_recorded(outbox):
    later = timezone.now() + timedelta(hours=1)
    services.notification_queue(
        template="reminder", phone="13800000001", text="明天接种", reference="A:1", due_at=later
    )
    assert (
        services.notification_queue(
            template="reminder", phone="13800000001", text="明天接种", reference="A:1"
        )
        is None
    )
    assert services.notifications_send_due() == 0
    assert services.notifications_send_due(now=later) == 1
    assert services.notifications_send_due(now=later) == 0
    assert outbox() == [{"phone": "13800000001", "text": "明天接种", "reference": "A:1"}]
    n = Notification.objects.get()
    assert (n.status, n.channel, n.attempts) == (NotificationStatus.SENT, "file", 1)


@pytest.mark.django_db
def test_a_failing_channel_keeps_the_message_for_a_retry_then_marks_it_failed():
    class Down:
        name = "sms"

        def send(self, message):
            raise ChannelError("短信网关不可达")

    n = services.notification_queue(template="booked", phone="13800000002", text="预约成功")
    for _ in range(3):
        n.refresh_from_db()
        assert not services.notification_send(n, channel=Down())
        Notification.objects.filter(pk=n.pk).update(due_at=timezone.now())
    n.refresh_from_db()
    assert (n.status, n.attempts, n.error) == (NotificationStatus.FAILED, 3, "短信网关不可达")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_a_one_time_code_works_once_and_wrong_tries_count(sms_outbox):
    subject = services.otp_subject("330199197001010021", "13800000003")
    services.otp_issue(
        purpose="self_booking", subject=subject, phone="13800000003", text_for=lambda code: f"验证码{code}"
    )
    sent = sms_outbox[-1]
    code = sent.text.removeprefix("验证码")
    assert code.isdigit() and len(code) == 6 and sent.phone == "13800000003"
    assert OneTimeCode.objects.get().code_hash != code

    with refused(NotifyErrorCode.OTP_WRONG):
        services.otp_verify(
            purpose="self_booking", subject=subject, code="000000" if code != "000000" else "111111"
        )
    assert OneTimeCode.objects.get().attempts == 1
    with refused(NotifyErrorCode.OTP_TOO_SOON):
        services.otp_issue(purpose="self_booking", subject=subject, phone="13800000003", text_for=str)
    services.otp_verify(purpose="self_booking", subject=subject, code=code)
    with refused(NotifyErrorCode.OTP_NOT_REQUESTED):
        services.otp_verify(purpose="self_booking", subject=subject, code=code)


def _issue_known_code(subject: str, code: str = "123456") -> OneTimeCode:
    return OneTimeCode.objects.create(
        purpose="p", subject=subject, code_hash=services._digest("p", subject, code), issued_at=timezone.now()
    )


@pytest.mark.django_db
def test_a_code_expires_and_five_wrong_tries_end_it():
    subject = services.otp_subject("x")
    row = services.otp_issue(purpose="p", subject=subject, phone="13800000004", text_for=lambda c: c)
    OneTimeCode.objects.filter(pk=row.pk).update(attempts=5)
    with refused(NotifyErrorCode.OTP_TOO_MANY_ATTEMPTS):
        services.otp_verify(purpose="p", subject=subject, code="123456")
    OneTimeCode.objects.filter(pk=row.pk).update(attempts=0, issued_at=timezone.now() - timedelta(minutes=11))
    with refused(NotifyErrorCode.OTP_EXPIRED):
        services.otp_verify(purpose="p", subject=subject, code="123456")


@pytest.mark.django_db
def test_every_try_takes_one_of_five_so_the_right_code_on_the_sixth_is_refused():
    subject = services.otp_subject("y")
    row = _issue_known_code(subject)
    outcomes = []
    for guess in ("000001", "000002", "000003", "000004", "000005", "123456"):
        try:
            services.otp_verify(purpose="p", subject=subject, code=guess)
            outcomes.append("ok")
        except ValidationFailed as e:
            outcomes.append(e.message)
    assert outcomes == ["验证码不正确"] * 5 + ["验证码错误次数过多，请重新获取"]
    row.refresh_from_db()
    assert (row.attempts, row.used_at) == (5, None)


@pytest.mark.django_db
def test_the_right_code_counts_as_a_try_and_works_once():
    subject = services.otp_subject("z")
    row = _issue_known_code(subject)
    services.otp_verify(purpose="p", subject=subject, code="123456")
    row.refresh_from_db()
    assert row.attempts == 1 and row.used_at is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_the_plain_code_is_kept_nowhere_and_the_file_is_private(outbox, settings, tmp_path):
    """The code reaches the channel; the message row keeps it masked, the code row only its keyed hash, and
    the demo's file channel writes the masked text to a file only its owner can read."""
    settings.VAXOPS_NOTIFY_CHANNEL = "memory"
    from vaxops.notify.channels import outbox as memory

    memory.clear()
    subject = services.otp_subject("330199197001010021", "13800000005")
    services.otp_issue(
        purpose="p",
        subject=subject,
        phone="13800000005",
        text_for=lambda code: f"您的验证码为{code}，10分钟内有效",
    )
    code = memory[-1].text.removeprefix("您的验证码为")[:6]
    memory.clear()
    assert code.isdigit()
    n = Notification.objects.get()
    assert n.text == "您的验证码为******，10分钟内有效" and n.status == NotificationStatus.SENT
    stored = [json.dumps(list(m.objects.values()), default=str) for m in (Notification, OneTimeCode)]
    assert all(code not in rows for rows in stored)

    settings.VAXOPS_NOTIFY_CHANNEL = "file"
    OneTimeCode.objects.update(issued_at=timezone.now() - timedelta(minutes=2))
    services.otp_issue(
        purpose="p",
        subject=subject,
        phone="13800000005",
        text_for=lambda code: f"您的验证码为{code}，10分钟内有效",
    )
    path = tmp_path / "notifications.log"
    assert outbox() == [{"phone": "13800000005", "text": "您的验证码为******，10分钟内有效", "reference": ""}]
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.django_db
def test_a_file_made_by_an_older_version_is_narrowed_to_its_owner(outbox, tmp_path):
    path = tmp_path / "notifications.log"
    path.write_text("", encoding="utf-8")
    path.chmod(0o644)
    services.notification_queue(template="booked", phone="13800000006", text="预约成功")
    services.notifications_send_due()
    assert path.stat().st_mode & 0o777 == 0o600 and outbox()[-1]["text"] == "预约成功"


@pytest.mark.django_db
def test_a_code_message_is_never_sent_later_by_the_worker(outbox, sms_outbox):
    """Its row holds the code masked: the worker marks a stale one failed instead of sending stars."""
    n = Notification.objects.create(
        template="otp",
        phone="13800000007",
        text="验证码为******",
        due_at=timezone.now() - timedelta(minutes=11),
    )
    fresh = Notification.objects.create(
        template="otp", phone="13800000007", text="验证码为******", due_at=timezone.now()
    )
    assert services.notifications_send_due() == 0
    assert outbox() == []
    n.refresh_from_db()
    fresh.refresh_from_db()
    assert n.status == NotificationStatus.FAILED and fresh.status == NotificationStatus.QUEUED


@pytest.mark.django_db
def test_a_code_message_that_cannot_be_handed_over_fails_at_once():
    class Down:
        name = "sms"

        def send(self, message):
            raise ChannelError("短信网关不可达")

    n = Notification.objects.create(
        template="otp", phone="13800000008", text="验证码为******", due_at=timezone.now()
    )
    assert not services.notification_send(n, channel=Down(), text="验证码为123456")
    n.refresh_from_db()
    assert (n.status, n.attempts) == (NotificationStatus.FAILED, 1)
