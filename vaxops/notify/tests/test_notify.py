import json
from datetime import timedelta

import pytest
from django.utils import timezone

from vaxops.core.errors import ValidationFailed
from vaxops.notify import services
from vaxops.notify.channels import ChannelError
from vaxops.notify.models import Notification, NotificationStatus, OneTimeCode


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
def test_a_one_time_code_works_once_and_wrong_tries_count(outbox):
    subject = services.otp_subject("330199197001010021", "13800000003")
    services.otp_issue(
        purpose="self_booking", subject=subject, phone="13800000003", text_for=lambda code: f"验证码{code}"
    )
    sent = outbox()[-1]
    code = sent["text"].removeprefix("验证码")
    assert len(code) == 6 and sent["phone"] == "13800000003"
    assert OneTimeCode.objects.get().code_hash != code

    with pytest.raises(ValidationFailed, match="不正确"):
        services.otp_verify(
            purpose="self_booking", subject=subject, code="000000" if code != "000000" else "111111"
        )
    assert OneTimeCode.objects.get().attempts == 1
    with pytest.raises(ValidationFailed, match="1分钟"):
        services.otp_issue(purpose="self_booking", subject=subject, phone="13800000003", text_for=str)
    services.otp_verify(purpose="self_booking", subject=subject, code=code)
    with pytest.raises(ValidationFailed, match="请先获取"):
        services.otp_verify(purpose="self_booking", subject=subject, code=code)


@pytest.mark.django_db
def test_a_code_expires_and_five_wrong_tries_end_it():
    subject = services.otp_subject("x")
    row = services.otp_issue(purpose="p", subject=subject, phone="13800000004", text_for=lambda c: c)
    OneTimeCode.objects.filter(pk=row.pk).update(attempts=5)
    with pytest.raises(ValidationFailed, match="次数过多"):
        services.otp_verify(purpose="p", subject=subject, code="123456")
    OneTimeCode.objects.filter(pk=row.pk).update(attempts=0, issued_at=timezone.now() - timedelta(minutes=11))
    with pytest.raises(ValidationFailed, match="过期"):
        services.otp_verify(purpose="p", subject=subject, code="123456")
