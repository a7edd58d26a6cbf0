"""Recompute statuses when residents change (inline for a few, in the worker for a batch) and, in the same
transaction, when their vaccination record changes."""

from django.dispatch import receiver

from vaxops.catalog.models import PolicyInterval, Product, SchedulePolicy
from vaxops.clinic.signals import record_changed
from vaxops.core import clock
from vaxops.registry.signals import residents_changed

from .services import status_refresh, status_store

INLINE_LIMIT = 200


@receiver(record_changed, dispatch_uid="campaign.record_changed")
def on_record_changed(sender, resident_ids, resident=None, inputs=None, on=None, **kwargs):
    """A dose, screening or void: the people's stored status follows in the writer's transaction."""
    if resident is not None and inputs is not None:
        status_store(resident=resident, inputs=inputs, on=on)
    else:
        status_refresh(resident_ids=resident_ids)


@receiver(residents_changed)
def on_residents_changed(sender, resident_ids, **kwargs):
    ids = list(resident_ids)
    if len(ids) <= INLINE_LIMIT:
        status_refresh(resident_ids=ids)
        return
    from django.db import transaction
    from django_q.tasks import async_task

    # Inside a transaction on purpose: outside one, django-q's ORM broker calls
    # close_old_connections(), which (CONN_MAX_AGE 0) drops the importer's
    # connection and its page cache after every batch.
    with transaction.atomic():
        async_task("vaxops.campaign.tasks.status_refresh_task", ids, task_name="status-refresh")


_last_refresh_all = [0.0]


def _schedule_changed(sender, instance=None, **kwargs):
    """A product or schedule version changed: everyone's stored status may be stale; recompute in the worker.

    Queued after commit (nothing if the save rolls back), at most once per couple of seconds (an admin save
    touches several rows). A version that takes effect later is recomputed again on the day it starts.
    """
    if kwargs.get("raw"):
        return
    import time

    from django.db import transaction

    effective_from = getattr(instance, "effective_from", None)

    def enqueue():
        from django_q.models import Schedule
        from django_q.tasks import async_task

        with transaction.atomic():  # see on_residents_changed: keeps django-q from closing the connection
            now = time.monotonic()
            if now - _last_refresh_all[0] > 2:
                _last_refresh_all[0] = now
                async_task("vaxops.campaign.tasks.status_refresh_all_task", task_name="status-refresh-all")
            if effective_from is not None and effective_from > clock.today():
                from datetime import datetime
                from datetime import time as dtime

                from django.utils import timezone

                when = datetime.combine(effective_from, dtime(0, 5), tzinfo=timezone.get_current_timezone())
                Schedule.objects.update_or_create(
                    name=f"status-refresh-{effective_from.isoformat()}",
                    defaults={
                        "func": "vaxops.campaign.tasks.status_refresh_all_task",
                        "schedule_type": Schedule.ONCE,
                        "next_run": when,
                        "repeats": 1,
                    },
                )

    transaction.on_commit(enqueue)


def _connect_schedule_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    for model in (Product, SchedulePolicy, PolicyInterval):
        post_save.connect(
            _schedule_changed, sender=model, dispatch_uid=f"campaign-refresh-{model._meta.label_lower}"
        )
        post_delete.connect(
            _schedule_changed, sender=model, dispatch_uid=f"campaign-refresh-del-{model._meta.label_lower}"
        )


_connect_schedule_signals()
