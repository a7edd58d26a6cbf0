"""Recompute statuses when residents change (inline for a few, in the worker for a batch)."""

from django.dispatch import receiver

from vaxops.registry.signals import residents_changed

INLINE_LIMIT = 200


@receiver(residents_changed)
def on_residents_changed(sender, resident_ids, **kwargs):
    from .services import status_refresh

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


def _schedule_changed(sender, **kwargs):
    """A product or schedule version changed: everyone's stored status may be stale; recompute in the worker.

    Queued once per transaction, after commit (an admin save touches several rows).
    """
    if kwargs.get("raw"):
        return
    from django.db import connection, transaction

    if getattr(connection, "_vaxops_status_refresh_queued", False):
        return
    connection._vaxops_status_refresh_queued = True

    def enqueue():
        connection._vaxops_status_refresh_queued = False
        from django_q.tasks import async_task

        with transaction.atomic():  # see on_residents_changed: keeps django-q from closing the connection
            async_task("vaxops.campaign.tasks.status_refresh_all_task", task_name="status-refresh-all")

    transaction.on_commit(enqueue)


def _connect_schedule_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    from vaxops.catalog.models import PolicyInterval, Product, SchedulePolicy

    for model in (Product, SchedulePolicy, PolicyInterval):
        post_save.connect(_schedule_changed, sender=model, dispatch_uid=f"campaign-refresh-{model._meta.label_lower}")
        post_delete.connect(_schedule_changed, sender=model, dispatch_uid=f"campaign-refresh-del-{model._meta.label_lower}")


_connect_schedule_signals()
