"""Queue, send and record messages; issue and check one-time codes."""

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from vaxops.core import clock
from vaxops.core.afterresponse import after_response
from vaxops.core.errors import RateLimited, ValidationFailed

from .channels import ChannelError, Message, channel_get
from .errors import NotifyErrorCode
from .models import Notification, NotificationStatus, OneTimeCode

MAX_ATTEMPTS = 5
CODE_TTL = timedelta(minutes=10)
RESEND_AFTER = timedelta(seconds=60)
MAX_PER_HOUR = 5
OTP_TEMPLATE = "otp"
CODE_MASK = "******"


def notification_queue(
    *,
    template: str,
    phone: str,
    text: str,
    resident=None,
    reference: str = "",
    due_at=None,
    send_now: bool = False,
) -> Notification | None:
    """Queue a message for ``due_at`` (now by default). A message with a ``reference`` is queued once per
    template (a planner that runs twice sends nothing twice); returns ``None`` when it was already queued
    or the person has no phone number. ``send_now``: hand it to the channel as soon as the transaction has
    committed and the answer has been sent (``notification_send_soon``) instead of waiting for the worker's
    next round — for a message the page the person sees next speaks of (a booking's confirmation)."""
    if not phone:
        return None
    try:
        with transaction.atomic():
            n = Notification.objects.create(
                template=template,
                phone=phone,
                text=text[:300],
                resident=resident,
                reference=reference,
                due_at=due_at or clock.now(),
            )
    except IntegrityError:
        return None
    if send_now:
        notification_send_soon(n)
    return n


def notification_send_soon(notification: Notification) -> None:
    """Send a queued message once the current transaction has committed, after the answer has left (like a
    one-time code): the person has it by the time they read the next page. A channel failure leaves it
    queued, and the worker tries again."""
    transaction.on_commit(lambda: after_response(lambda: notification_send(notification)))


def notification_send(notification: Notification, *, channel=None, text: str | None = None) -> bool:
    """Hand one message to the channel and record the outcome; True when sent.

    ``text``: what to deliver when it is not what the row keeps — a one-time code's message, whose row
    holds the code masked. Such a message is not retried (the code is not kept anywhere to retry with)."""
    channel = channel or channel_get()
    claimed = Notification.objects.filter(pk=notification.pk, status=NotificationStatus.QUEUED).update(
        attempts=F("attempts") + 1
    )
    if not claimed:
        return False
    try:
        channel.send(
            Message(
                phone=notification.phone,
                text=notification.text if text is None else text,
                reference=notification.reference,
                kept_text=None if text is None else notification.text,
            )
        )
    except ChannelError as e:
        failed = text is not None or notification.attempts + 1 >= 3
        Notification.objects.filter(pk=notification.pk).update(
            error=str(e)[:200],
            channel=channel.name,
            status=NotificationStatus.FAILED if failed else NotificationStatus.QUEUED,
            due_at=clock.now() + timedelta(minutes=5),
        )
        return False
    Notification.objects.filter(pk=notification.pk).update(
        status=NotificationStatus.SENT, sent_at=clock.now(), channel=channel.name, error=""
    )
    return True


def notifications_send_due(*, now=None, limit: int = 500) -> int:
    """Send the queued messages that are due (the worker runs this every minute); returns how many were sent."""
    now = now or clock.now()
    # A code's message is sent only from memory by the process that made the code; one still queued after
    # the code expired was never handed over (that process stopped): it fails, it is never sent masked.
    Notification.objects.filter(
        template=OTP_TEMPLATE, status=NotificationStatus.QUEUED, due_at__lt=now - CODE_TTL
    ).update(status=NotificationStatus.FAILED, error="验证码短信未发出（验证码不保存，不重发）")
    channel = channel_get()
    sent = 0
    for n in (
        Notification.objects.filter(status=NotificationStatus.QUEUED, due_at__lte=now)
        .exclude(template=OTP_TEMPLATE)
        .order_by("due_at", "id")[:limit]
    ):
        sent += notification_send(n, channel=channel)
    return sent


def _digest(purpose: str, subject: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{purpose}:{subject}:{code}".encode(), hashlib.sha256).hexdigest()


def otp_subject(*parts: str) -> str:
    """A stable key for whom a code is about (e.g. an ID number and a phone): keyed, so the table cannot be
    reversed by hashing every ID number and phone."""
    return hmac.new(settings.SECRET_KEY.encode(), ":".join(parts).encode(), hashlib.sha256).hexdigest()


# How long handing a code's message over takes in this process (a moving average), so that a request that
# matched nobody keeps its server thread busy as long after the answer as one that sent a code: a client
# timing its next request on the same connection learns nothing either.
_code_send_seconds = 0.0


def _code_send(notification: Notification, text: str) -> None:
    global _code_send_seconds
    started = time.perf_counter()
    notification_send(notification, text=text)
    took = time.perf_counter() - started
    _code_send_seconds = took if not _code_send_seconds else 0.8 * _code_send_seconds + 0.2 * took


def _code_send_decoy() -> None:
    time.sleep(min(_code_send_seconds, 5.0))


def otp_issue(*, purpose: str, subject: str, phone: str | None, text_for, resident=None) -> OneTimeCode:
    """Make a fresh 6-digit code for ``subject`` and send ``text_for(code)`` to ``phone`` once the answer
    has been sent (``core.afterresponse``). With ``phone=None`` (the details given matched nobody) the
    same work is done, nothing is sent, and the thread waits after the answer about as long as a send
    takes, so the two cannot be told apart from outside; a code nobody received cannot be guessed in five
    tries. At most one a minute and five an hour per subject (``RateLimited``).

    Only the code's keyed hash is stored; the message row keeps the text with the code masked, and the
    plain text lives only in this process's memory until the channel has it."""

    now = clock.now()
    with transaction.atomic():
        recent = OneTimeCode.objects.filter(
            purpose=purpose, subject=subject, issued_at__gte=now - timedelta(hours=1)
        )
        if recent.filter(issued_at__gte=now - RESEND_AFTER).exists():
            raise RateLimited(
                _("1分钟内只能获取一次验证码，请稍后再试"),
                retry_after=60,
                field="phone",
                code=NotifyErrorCode.OTP_TOO_SOON,
            )
        if recent.count() >= MAX_PER_HOUR:
            raise RateLimited(
                _("验证码发送过于频繁，请1小时后再试"),
                retry_after=3600,
                field="phone",
                code=NotifyErrorCode.OTP_TOO_MANY_SENT,
            )
        code = f"{secrets.randbelow(1_000_000):06d}"
        row = OneTimeCode.objects.create(
            purpose=purpose, subject=subject, code_hash=_digest(purpose, subject, code), issued_at=now
        )
        text = text_for(code)
        kept = text.replace(code, CODE_MASK)[:300]
        if phone:
            n = Notification.objects.create(
                template=OTP_TEMPLATE, phone=phone, resident=resident, text=kept, due_at=now
            )
            transaction.on_commit(lambda: after_response(lambda: _code_send(n, text)))
        else:
            transaction.on_commit(lambda: after_response(_code_send_decoy))
    return row


def otp_verify(*, purpose: str, subject: str, code: str) -> None:
    """Accept the latest unused, unexpired code for the subject once. Every try, right or wrong, first takes
    one of the code's five tries by a conditional ``UPDATE … WHERE attempts < 5`` (its row count says
    whether it got one), so concurrent guesses get five tries in all, never more. Raises ValidationFailed
    with the reason."""
    now = clock.now()
    row = (
        OneTimeCode.objects.filter(purpose=purpose, subject=subject, used_at__isnull=True)
        .order_by("-issued_at")
        .first()
    )
    if row is None:
        raise ValidationFailed(_("请先获取验证码"), field="code", code=NotifyErrorCode.OTP_NOT_REQUESTED)
    if now - row.issued_at > CODE_TTL:
        raise ValidationFailed(_("验证码已过期，请重新获取"), field="code", code=NotifyErrorCode.OTP_EXPIRED)
    tried = OneTimeCode.objects.filter(pk=row.pk, used_at__isnull=True, attempts__lt=MAX_ATTEMPTS).update(
        attempts=F("attempts") + 1
    )
    if not tried:
        if OneTimeCode.objects.filter(pk=row.pk, used_at__isnull=False).exists():
            raise ValidationFailed(_("验证码已使用，请重新获取"), field="code", code=NotifyErrorCode.OTP_USED)
        raise ValidationFailed(
            _("验证码错误次数过多，请重新获取"), field="code", code=NotifyErrorCode.OTP_TOO_MANY_ATTEMPTS
        )
    if not hmac.compare_digest(row.code_hash, _digest(purpose, subject, (code or "").strip())):
        raise ValidationFailed(_("验证码不正确"), field="code", code=NotifyErrorCode.OTP_WRONG)
    used = OneTimeCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
    if not used:
        raise ValidationFailed(_("验证码已使用，请重新获取"), field="code", code=NotifyErrorCode.OTP_USED)


def otp_prune(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete codes issued more than ``older_than`` ago (long dead: a code lives ten minutes)."""
    deleted, _ = OneTimeCode.objects.filter(issued_at__lt=clock.now() - older_than).delete()
    return deleted
