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
