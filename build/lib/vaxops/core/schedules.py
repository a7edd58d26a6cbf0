"""Periodic jobs for ``vaxops worker`` (django-q schedules), created once after migrate."""

from datetime import timedelta

from . import clock


def schedule_daily(name: str, func: str, *, hour: int) -> None:
    """Run ``func`` (a dotted path) every day at ``hour`` local time; nothing happens if it is scheduled already."""
    from django_q.models import Schedule

    if Schedule.objects.filter(func=func).exists():
        return
    now = clock.localnow()
    first = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if first <= now:
        first += timedelta(days=1)
    Schedule.objects.create(name=name, func=func, schedule_type="D", next_run=first, repeats=-1)
