"""Reads of the messages sent to people."""

from .models import Notification


def notification_status(*, template: str, reference: str) -> str | None:
    """The status (``queued``, ``sent``, ``failed``) of the message of ``template`` for ``reference``, or None
    when there is none (no phone number on file)."""
    return (
        Notification.objects.filter(template=template, reference=reference)
        .order_by("-id")
        .values_list("status", flat=True)
        .first()
    )
