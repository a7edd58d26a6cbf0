"""Jobs of ``vaxops worker`` for the exchange: drain the outbox every minute; the 2-day rule's notifications
to the sites with a backlog every morning."""

from datetime import timedelta

from vaxops.core import clock


def outbox_drain() -> int:
    """Every minute: send what is due to every endpoint (at most 50 s, so runs do not pile up)."""
    from .services import outbox_drain as drain

    return drain(max_seconds=50).acknowledged


def backlog_notify() -> int:
    """08:00 every day: tell each site with doses past the 2-day rule."""
    from .notices import backlog_notify as notify

    return notify()


def schedules_ensure() -> None:
    """Create the jobs once (idempotent; run after migrate)."""
    from django_q.models import Schedule

    from vaxops.core.schedules import schedule_daily

    func = "vaxops.exchange.tasks.outbox_drain"
    if not Schedule.objects.filter(func=func).exists():
        Schedule.objects.create(
            name="数据交换：发送待交换消息",
            func=func,
            schedule_type="I",
            minutes=1,
            next_run=clock.localnow() + timedelta(minutes=1),
            repeats=-1,
        )
    schedule_daily("数据交换：2日内上传提醒", "vaxops.exchange.tasks.backlog_notify", hour=8)
