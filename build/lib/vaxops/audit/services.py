"""Writing audit events. Call inside the same transaction as the change it records."""

from collections.abc import Iterable
from typing import Any

from django.db import models

from vaxops.core import context

from .models import AuditEvent


def _actor_label(actor) -> str:
    if actor is None:
        return "system"
    return getattr(actor, "username", str(actor))


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    purpose: str = "",
) -> AuditEvent:
    """Append one event and return it."""
    ctx = context.current()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=_actor_label(actor),
        ip=ctx.ip,
        request_id=ctx.request_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=str(obj)[:200] if obj is not None else "",
        old=old,
        new=new,
        purpose=purpose,
    )


def audit_event(
    *, actor, action: str, object_type: str, object_id: str = "", object_repr: str = "", new=None
):
    """An unsaved event with the actor and request context filled in, for a caller that inserts it in one
    statement with the change it records (the desk's dose)."""
    ctx = context.current()
    return AuditEvent(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=_actor_label(actor),
        ip=ctx.ip,
        request_id=ctx.request_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        new=new,
    )


def audit_record_many(
    *,
    actor,
    action: str,
    object_type: str,
    items: Iterable[tuple[str | int, dict | None, dict | None]],
    purpose: str = "",
) -> int:
    """Append one event per (object_id, old, new) in a single bulk insert; returns how many."""
    ctx = context.current()
    label = _actor_label(actor)
    actor_obj = actor if getattr(actor, "pk", None) else None
    rows = [
        AuditEvent(
            actor=actor_obj,
            actor_label=label,
            ip=ctx.ip,
            request_id=ctx.request_id,
            action=action,
            object_type=object_type,
            object_id=str(oid),
            old=old,
            new=new,
            purpose=purpose,
        )
        for oid, old, new in items
    ]
    AuditEvent.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields whose values differ, as (old values, new values)."""
    keys = [k for k in new if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new.get(k) for k in keys}
