"""Writes of several apps sent to the database as one statement.

When a lower app tells the apps above it that something changed (``clinic.signals.record_changed`` after a
dose), each receiver has a write of its own to make in the same transaction: campaign its stored status,
reports its progress facts. Each would be a round trip of its own. The sender opens ``joined()`` around the
signal; a receiver hands its write to ``write(sql, params)``; when the block ends the writes go together — on
PostgreSQL as one data-modifying CTE, prepared once per shape and connection (``core.prepared``); elsewhere
one after the other. Outside a ``joined()`` block ``write`` runs the statement at once, so a receiver works
the same whoever sends.

A sender with a statement of its own to send in the block (the desk's dose) may ``take()`` the writes
collected so far and put them into that statement: one round trip for all, and the rows they lock (shared
counters) held only from that statement to the commit.

The writes must not depend on one another (they see the same snapshot in one CTE): independent upserts,
inserts and deletes. Each is written with ``%s`` placeholders; values are always parameters.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import connection

from .prepared import numbered, prepared_cursor

_local = threading.local()


@contextmanager
def joined() -> Iterator[None]:
    """Collect the ``write`` calls made inside the block and send them as one statement when it ends
    (nothing is sent if the block raises). Blocks nest: the outermost sends."""
    pending: list[tuple[str, Sequence]] | None = getattr(_local, "pending", None)
    if pending is not None:
        yield
        return
    _local.pending = []
    try:
        yield
        writes = _local.pending
    finally:
        _local.pending = None
    _send(writes)


def write(sql: str, params: Sequence) -> None:
    """Run ``sql`` (one INSERT, UPDATE or DELETE with ``%s`` placeholders) now, or with the other writes when
    the enclosing ``joined()`` block ends."""
    pending = getattr(_local, "pending", None)
    if pending is None:
        _send([(sql, params)])
    else:
        pending.append((sql, params))


def take() -> list[tuple[str, Sequence]]:
    """Inside a ``joined()`` block: the writes collected so far, as (sql with ``%s`` placeholders, params),
    handed over to the caller, which must send them in its own statement (as ``with_joined`` builds it)
    before the block ends; they are not sent again. Outside a block: none."""
    pending = getattr(_local, "pending", None)
    if pending is None:
        return []
    out = list(pending)
    pending.clear()
    return out


def ctes(texts: Sequence[str], *, prefix: str = "joined") -> str:
    """The taken writes as common table expressions (``name AS (… RETURNING 1)``, comma-separated) to append
    to a ``WITH`` list; ``%s`` placeholders kept, their params in the same order."""
    return ", ".join(f"{prefix}{i} AS ({sql} RETURNING 1)" for i, sql in enumerate(texts))


@functools.lru_cache(maxsize=512)
def _statement(texts: tuple[str, ...]) -> str:
    """The writes as one statement with PostgreSQL's ``$n`` placeholders (built once per shape)."""
    if len(texts) == 1:
        return numbered(texts[0])[0]
    body = ", ".join(f"w{i} AS ({sql} RETURNING 1)" for i, sql in enumerate(texts))
    return numbered(f"WITH {body} SELECT 1")[0]


def _send(writes: list[tuple[str, Sequence]]) -> None:
    if not writes:
        return
    if connection.vendor == "postgresql":
        with prepared_cursor() as cursor:
            cursor.execute(_statement(tuple(sql for sql, _ in writes)), [p for _, ps in writes for p in ps])
        return
    with connection.cursor() as cursor:
        for sql, params in writes:
            cursor.execute(sql, params)
