"""One place that says what time it is, so tests and reports agree on "today".

Product code asks this module, never ``timezone.now()``, ``timezone.localdate()``/``localtime()`` without an
argument, ``datetime.now()`` or ``date.today()`` (ruff's TID251 and ``core/tests/test_clock.py`` refuse them
elsewhere). Call it through the module (``clock.now()``, not ``from vaxops.core.clock import now``) so a test
that patches ``vaxops.core.clock.now`` moves every reading; ``today()`` and ``localnow()`` are derived from
``now()`` for the same reason.
"""

from datetime import date, datetime

from django.utils import timezone


def now() -> datetime:
    """The aware current moment (UTC)."""
    return timezone.now()


def localnow() -> datetime:
    """The aware current moment in the local time zone (Asia/Shanghai)."""
    return timezone.localtime(now())


def today() -> date:
    """The local (Asia/Shanghai) calendar date, not UTC's."""
    return localnow().date()
