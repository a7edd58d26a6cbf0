"""Jobs of ``vaxops worker`` for vaccine safety: the clocks' escalation (every 10 minutes) and the daily
MaxSPRT signals run."""

from datetime import timedelta

from vaxops.core import clock

from . import services


def clocks_escalate() -> int:
    """Every 10 minutes: escalate the clocks that are due soon or overdue (once each)."""
    return services.clocks_escalate()


def signals_daily() -> int:
    """02:00 every day: MaxSPRT over every product × watched outcome."""
    return len(services.signals_run())


def schedules_ensure() -> None:
    """Create the 10-minute escalation job once (idempotent; run after migrate)."""
    from django_q.models import Schedule

    func = "vaxops.safety.tasks.clocks_escalate"
    if Schedule.objects.filter(func=func).exists():
        return
    Schedule.objects.create(
        name="疑似异常反应时限提醒",
        func=func,
        schedule_type="I",
        minutes=10,
        next_run=clock.localnow() + timedelta(minutes=1),
        repeats=-1,
    )
