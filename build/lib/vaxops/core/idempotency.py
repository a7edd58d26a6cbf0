"""Idempotent writes: the same ``Idempotency-Key`` from the same user returns the first answer.

The record is inserted in the same transaction as the write, so a concurrent
retry blocks on the unique index until the first commits and then finds it.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .errors import CoreErrorCode, ValidationFailed
from .models import IdempotencyRecord


def idempotent(
    request, payload: Any, work: Callable[[], tuple[int, Any]], refuse_early: Callable[[], None] | None = None
) -> tuple[int, Any]:
    """Run ``work`` once per key; returns (status, JSON body), the stored one on a retry.

    ``refuse_early`` (optional) may raise a refusal from one cheap read before any transaction is opened
    — after the key has been looked up, so a retry of a request that succeeded still gets its first
    answer. A refusal is never stored (as when ``work`` raises), so it is only a shortcut to the answer
    ``work`` would give: a request holding the key uncommitted has not yet changed what it reads.
    """
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        if refuse_early is not None:
            refuse_early()
        return work()
    if len(key) > 100:
        raise ValidationFailed(
            _("Idempotency-Key 过长（最多100个字符）"), code=CoreErrorCode.IDEMPOTENCY_KEY_TOO_LONG
        )
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    endpoint = f"{request.method} {request.path}"
    user = (
        request.auth
        if getattr(request, "auth", None) is not None and hasattr(request.auth, "pk")
        else request.user
    )

    def replay(record: IdempotencyRecord) -> tuple[int, Any]:
        if record.endpoint != endpoint or record.request_hash != digest:
            raise ValidationFailed(
                _("该 Idempotency-Key 已用于另一个请求"), code=CoreErrorCode.IDEMPOTENCY_KEY_REUSED
            )
        return record.status, record.body

    found = IdempotencyRecord.objects.filter(user=user, key=key).first()
    if found:
        return replay(found)
    if refuse_early is not None:
        refuse_early()
    try:
        with transaction.atomic():
            # Claim the key before doing the work: a concurrent request with the
            # same key blocks on this row's unique index until we commit (then
            # replays our answer) or roll back (then does the work itself).
            record = IdempotencyRecord.objects.create(
                user=user, key=key, endpoint=endpoint, request_hash=digest, status=0, body={}
            )
            status, body = work()
            record.status, record.body = status, json.loads(json.dumps(body, default=str))
            record.save(update_fields=["status", "body"])
            return status, body
    except IntegrityError:
        found = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if found is None:
            raise
        return replay(found)


def idempotent_status(
    request, payload: Any, work: Callable[[], tuple[int, Any]], refuse_early: Callable[[], None] | None = None
):
    """``idempotent`` as a django-ninja response (``Status``), for API handlers."""
    from ninja import Status

    return Status(*idempotent(request, payload, work, refuse_early))
