"""Background jobs of booking and notifications, run by ``vaxops worker`` on the schedules made at migrate."""

from datetime import timedelta

from django_q.models import Schedule

from vaxops.core import clock
from vaxops.core.actors import SystemActor
from vaxops.core.ratelimit import counters_prune
from vaxops.notify.services import notifications_send_due, otp_prune

from .services import appointments_mark_no_show, dose_reminders_plan


def notifications_send_task() -> int:
    return notifications_send_due()


def dose_reminders_task() -> dict:
    return dose_reminders_plan(on=clock.today())


def no_shows_task() -> int:
    return appointments_mark_no_show(before=clock.today(), actor=SystemActor("worker"))


def public_door_prune_task() -> dict:
    """Forget the rate-limit counters of past windows and the one-time codes of past days."""
    return {"counters": counters_prune(), "codes": otp_prune()}


SCHEDULES = (
    # name, function, schedule type (django-q: "I" minutes interval, "D" daily), minutes, first run hour
    ("发送到期通知", "vaxops.booking.tasks.notifications_send_task", "I", 1, None),
    ("第二剂到期与逾期提醒", "vaxops.booking.tasks.dose_reminders_task", "D", None, 9),
    ("标记爽约", "vaxops.booking.tasks.no_shows_task", "D", None, 1),
    ("清理限流计数与过期验证码", "vaxops.booking.tasks.public_door_prune_task", "D", None, 3),
)


def schedules_ensure() -> None:
    """Create the periodic jobs once (idempotent; run after migrate)."""
    now = clock.localnow()
    for name, func, kind, minutes, hour in SCHEDULES:
        if Schedule.objects.filter(func=func).exists():
            continue
        first = now + timedelta(minutes=1)
        if hour is not None:
            first = now.replace(hour=hour, minute=0, second=0, microsecond=0)
            if first <= now:
                first += timedelta(days=1)
        Schedule.objects.create(
            name=name, func=func, schedule_type=kind, minutes=minutes, next_run=first, repeats=-1
        )
