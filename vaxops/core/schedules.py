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


def schedule_every(name: str, func: str, *, minutes: int) -> None:
    """Run ``func`` (a dotted path) every ``minutes``; an existing schedule of ``func`` takes the interval when it
    changed in the settings (its next run is kept)."""
    from django_q.models import Schedule

    minutes = max(1, int(minutes))
    found = Schedule.objects.filter(func=func).first()
    if found is not None:
        if found.schedule_type != Schedule.MINUTES or found.minutes != minutes:
            found.schedule_type, found.minutes = Schedule.MINUTES, minutes
            found.save(update_fields=["schedule_type", "minutes"])
        return
    Schedule.objects.create(
        name=name,
        func=func,
        schedule_type=Schedule.MINUTES,
        minutes=minutes,
        next_run=clock.localnow() + timedelta(minutes=1),
        repeats=-1,
    )
