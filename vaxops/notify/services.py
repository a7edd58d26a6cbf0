"""Queue, send and record messages; issue and check one-time codes."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from vaxops.core.errors import ValidationFailed

from .channels import ChannelError, Message, channel_get
from .models import Notification, NotificationStatus, OneTimeCode

MAX_ATTEMPTS = 5
CODE_TTL = timedelta(minutes=10)
RESEND_AFTER = timedelta(seconds=60)
MAX_PER_HOUR = 5


def notification_queue(
    *, template: str, phone: str, text: str, resident=None, reference: str = "", due_at=None
) -> Notification | None:
    """Queue a message for ``due_at`` (now by default). A message with a ``reference`` is queued once per
    template (a planner that runs twice sends nothing twice); returns ``None`` when it was already queued
    or the person has no phone number."""
    if not phone:
        return None
    try:
        with transaction.atomic():
            return Notification.objects.create(
                template=template,
                phone=phone,
                text=text[:300],
                resident=resident,
                reference=reference,
                due_at=due_at or timezone.now(),
            )
    except IntegrityError:
        return None


def notification_send(notification: Notification, *, channel=None) -> bool:
    """Hand one message to the channel and record the outcome; True when sent."""
    channel = channel or channel_get()
    claimed = Notification.objects.filter(pk=notification.pk, status=NotificationStatus.QUEUED).update(
        attempts=F("attempts") + 1
    )
    if not claimed:
        return False
    try:
        channel.send(
            Message(phone=notification.phone, text=notification.text, reference=notification.reference)
        )
    except ChannelError as e:
        failed = notification.attempts + 1 >= 3
        Notification.objects.filter(pk=notification.pk).update(
            error=str(e)[:200],
            channel=channel.name,
            status=NotificationStatus.FAILED if failed else NotificationStatus.QUEUED,
            due_at=timezone.now() + timedelta(minutes=5),
        )
        return False
    Notification.objects.filter(pk=notification.pk).update(
        status=NotificationStatus.SENT, sent_at=timezone.now(), channel=channel.name, error=""
    )
    return True


def notifications_send_due(*, now=None, limit: int = 500) -> int:
    """Send the queued messages that are due (the worker runs this every minute); returns how many were sent."""
    now = now or timezone.now()
    channel = channel_get()
    sent = 0
    for n in Notification.objects.filter(status=NotificationStatus.QUEUED, due_at__lte=now).order_by(
        "due_at", "id"
    )[:limit]:
        sent += notification_send(n, channel=channel)
    return sent


def _digest(purpose: str, subject: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{purpose}:{subject}:{code}".encode(), hashlib.sha256).hexdigest()


def otp_subject(*parts: str) -> str:
    """A stable, non-reversible key for whom a code is about (e.g. an ID number and a phone)."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


@transaction.atomic
def otp_issue(*, purpose: str, subject: str, phone: str, text_for) -> OneTimeCode:
    """Send a fresh 6-digit code to ``phone``; at most one a minute and five an hour per subject.
    ``text_for(code)`` gives the message text. Only the code's keyed hash is stored."""
    now = timezone.now()
    recent = OneTimeCode.objects.filter(
        purpose=purpose, subject=subject, issued_at__gte=now - timedelta(hours=1)
    )
    if recent.filter(issued_at__gte=now - RESEND_AFTER).exists():
        raise ValidationFailed("验证码已发送，请1分钟后再试", field="phone")
    if recent.count() >= MAX_PER_HOUR:
        raise ValidationFailed("验证码发送过于频繁，请1小时后再试", field="phone")
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = OneTimeCode.objects.create(
        purpose=purpose, subject=subject, code_hash=_digest(purpose, subject, code), issued_at=now
    )
    n = Notification.objects.create(template="otp", phone=phone, text=text_for(code), due_at=now)
    transaction.on_commit(lambda: notification_send(n))
    return row


def otp_verify(*, purpose: str, subject: str, code: str) -> None:
    """Accept the latest unused, unexpired code for the subject once; each wrong try counts, five end it.
    Raises ValidationFailed with the reason."""
    now = timezone.now()
    row = (
        OneTimeCode.objects.filter(purpose=purpose, subject=subject, used_at__isnull=True)
        .order_by("-issued_at")
        .first()
    )
    if row is None:
        raise ValidationFailed("请先获取验证码", field="code")
    if now - row.issued_at > CODE_TTL:
        raise ValidationFailed("验证码已过期，请重新获取", field="code")
    if row.attempts >= MAX_ATTEMPTS:
        raise ValidationFailed("验证码错误次数过多，请重新获取", field="code")
    if not hmac.compare_digest(row.code_hash, _digest(purpose, subject, (code or "").strip())):
        OneTimeCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        raise ValidationFailed("验证码不正确", field="code")
    used = OneTimeCode.objects.filter(pk=row.pk, used_at__isnull=True, attempts__lt=MAX_ATTEMPTS).update(
        used_at=now
    )
    if not used:
        raise ValidationFailed("验证码已使用，请重新获取", field="code")
