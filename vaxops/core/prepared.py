"""Statements that PostgreSQL plans once per connection.

Django's PostgreSQL cursors bind parameters on the client, so the server parses and plans every statement
afresh. For the few large statements on a hot path (the desk's one read and one write per dose) planning
costs several times the execution: measured on the dose read, 3.3 ms of planning for 0.6 ms of execution.
``prepared_cursor()`` gives a cursor that binds on the server; the connection (``prepare_threshold`` in the
settings) prepares each statement the first time it runs and reuses the plan on that connection afterwards.
It goes through Django's cursor wrapper, so ``execute_wrapper`` hooks, query logging under DEBUG and the
mapping of database errors to ``django.db`` exceptions are unchanged. Only for PostgreSQL.

The statements are written with PostgreSQL's own placeholders (``$1``, ``$2`` …: ``numbered`` turns a
statement written with ``%s`` or ``%(name)s`` into that form once), so the driver does not parse a long
statement again on every execution. Placeholders go only where a value goes (never an identifier), and lists
are bound as arrays (``= ANY($n)``), never as tuples for ``IN``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorWrapper

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")


def numbered(sql: str) -> tuple[str, tuple[str, ...] | int]:
    """``sql`` with its ``%s`` or ``%(name)s`` placeholders as ``$1``, ``$2`` … Returns the statement and either
    the names in the order of their numbers (a name used twice keeps one number) or the count of positional
    placeholders. A statement may not mix the two styles."""
    names: list[str] = []
    positional = 0

    def number(match: re.Match) -> str:
        nonlocal positional
        text = match.group(0)
        if text == "%%":
            return "%"
        name = match.group(1)
        if name is None:
            positional += 1
            return f"${positional}"
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    out = _PLACEHOLDER.sub(number, sql)
    if names and positional:
        raise ValueError("a statement mixes %s and %(name)s placeholders")
    return out, (tuple(names) if names else positional)


def row_values(instance, *, skip: tuple[str, ...] = (), with_key: bool = False) -> list:
    """The values of an unsaved model ``instance``'s concrete columns but the columns in ``skip`` (and its
    primary key unless ``with_key``), in field order, prepared by their fields as ``save()`` would.

    A column holding a value of exactly the type it stores (or None) is taken as it is, or through the one
    conversion its field's preparation would end with, without the field's chain of calls: a plain text or
    flag column, a foreign key's id; on PostgreSQL also a date, an aware date and time (neither filled in by
    ``auto_now``), and an integer (wrapped in psycopg's typed integer as Django wraps it). Every other column
    (decimals, JSON, addresses, a value of another type) goes through the field."""
    conn = connections[DEFAULT_DB_ALIAS]  # once, not once per column through the ``connection`` proxy
    out = []
    for f, simple, wrap in _fields_of(type(instance), skip, with_key, conn.vendor):
        if simple is not None:
            value = instance.__dict__.get(f.attname, _MISSING)
            if value is None:
                out.append(None)
                continue
            if type(value) is simple and (simple is not dt.datetime or value.tzinfo is not None):
                out.append(value if wrap is None else wrap(value))
                continue
        out.append(f.get_db_prep_save(f.pre_save(instance, True), conn))
    return out


_MISSING = object()


@functools.lru_cache(maxsize=256)
def _fields_of(model, skip: tuple[str, ...], with_key: bool, vendor: str) -> tuple:
    """(field, the Python type its column stores as it is or None, the conversion of such a value or None)
    for ``row_values``."""
    from django.db import models

    postgresql = vendor == "postgresql"
    # psycopg 3's typed integers (Django defines the map only with psycopg 3).
    integer_types = (
        getattr(connections[DEFAULT_DB_ALIAS].ops, "integerfield_type_map", {}) if postgresql else {}
    )

    def simple(f) -> tuple[type | None, object]:
        # A foreign key's id is passed as the plain int it is (as before); the integer columns of the model
        # itself are wrapped in psycopg's typed Int2/Int4/Int8 as Django's preparation wraps them on
        # PostgreSQL: a prepared statement's parameter types must stay the same.
        if isinstance(f, models.ForeignKey):
            return (int if isinstance(f.target_field, models.AutoField | models.BigAutoField) else None), None
        kind = type(f)
        if kind in (models.CharField, models.TextField):
            return str, None
        if kind is models.BooleanField:
            return bool, None
        if not postgresql:
            return None, None
        # PostgreSQL's adaptation of dates and times returns the value itself (``adapt_datefield_value``,
        # ``adapt_datetimefield_value``); a naive date and time still goes through the field (its warning).
        if kind in (models.DateField, models.DateTimeField) and not (f.auto_now or f.auto_now_add):
            return (dt.date if kind is models.DateField else dt.datetime), None
        if kind in _INTEGER_FIELDS and not f.primary_key:
            wrap = integer_types.get(f.get_internal_type())
            return (int, wrap) if wrap is not None else (None, None)
        return None, None

    return tuple(
        (f, *simple(f))
        for f in model._meta.concrete_fields
        if (with_key or not f.primary_key) and f.column not in skip
    )


def _integer_fields() -> tuple:
    from django.db import models

    return (
        models.IntegerField,
        models.SmallIntegerField,
        models.BigIntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.PositiveBigIntegerField,
    )


_INTEGER_FIELDS = _integer_fields()


def prepared_cursor() -> CursorWrapper:
    """A cursor on the default (PostgreSQL) connection that takes ``$n`` placeholders and a list of values,
    binds them on the server, and prepares each statement once per connection."""
    conn = connections[DEFAULT_DB_ALIAS]  # once, not once per attribute through the ``connection`` proxy
    if conn.vendor != "postgresql":
        raise RuntimeError("prepared_cursor() is for PostgreSQL")
    import psycopg

    conn.ensure_connection()
    raw = psycopg.RawCursor(conn.connection)
    if conn.queries_logged:
        return conn.make_debug_cursor(raw)
    return conn.make_cursor(raw)


# psycopg forgets every prepared statement of a connection (and sends DEALLOCATE ALL) after any ROLLBACK,
# including ``ROLLBACK TO SAVEPOINT``: in case the transaction had created a table a statement was prepared
# on. Here no prepared statement ever reads a table made at run time, and PostgreSQL keeps prepared statements
# through a rollback (they belong to the session, not the transaction), so forgetting them only costs the
# next dose on that connection a new parse and plan of each of its statements — after every refused dose
# (the desk's double scans) and every savepoint rolled back. DDL (DROP, ALTER, DISCARD ALL, DEALLOCATE ALL)
# still clears them.
_DDL = re.compile(rb"^(?:DROP|ALTER|DISCARD ALL|DEALLOCATE ALL)\b")
_kept_class: type | None = None


def _kept_on_rollback() -> type:
    global _kept_class
    if _kept_class is None:
        from psycopg import pq
        from psycopg._preparing import Prepare, PrepareManager

        class KeptOnRollback(PrepareManager):
            def _should_discard(self, prep, results) -> bool:  # type: ignore[no-untyped-def]
                if self._names or prep == Prepare.SHOULD:
                    for result in results:
                        if result.status != pq.ExecStatus.COMMAND_OK:
                            continue
                        status = result.command_status
                        if status and _DDL.match(status):
                            return PrepareManager.clear(self)
                return False

            def clear(self) -> bool:
                """Called by ``Connection.rollback()`` alone: the statements outlive the rollback."""
                return False

        _kept_class = KeptOnRollback
    return _kept_class


def keep_prepared_on_rollback(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: a new PostgreSQL connection keeps its prepared statements through
    rollbacks (see above)."""
    if connection.vendor != "postgresql":
        return
    manager = getattr(connection.connection, "_prepared", None)
    if manager is not None:
        manager.__class__ = _kept_on_rollback()
