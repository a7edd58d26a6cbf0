"""One place that says what time it is, so tests and reports agree on "today"."""

from datetime import date, datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def today() -> date:
    """The local (Asia/Shanghai) calendar date, not UTC's."""
    return timezone.localdate()
