"""``core.prepared``: statements written with Python placeholders become PostgreSQL's numbered ones."""

import pytest
from django.db import connection

from vaxops.core.prepared import numbered, prepared_cursor


def test_named_placeholders_keep_one_number_per_name():
    sql, names = numbered("SELECT %(a)s, %(b)s WHERE x = %(a)s AND y LIKE 'p%%'")
    assert sql == "SELECT $1, $2 WHERE x = $1 AND y LIKE 'p%'"
    assert names == ("a", "b")


def test_positional_placeholders_are_numbered_in_order():
    sql, count = numbered("UPDATE t SET a = %s WHERE id = %s AND s = ANY(%s)")
    assert sql == "UPDATE t SET a = $1 WHERE id = $2 AND s = ANY($3)"
    assert count == 3


def test_mixed_styles_are_refused():
    with pytest.raises(ValueError):
        numbered("SELECT %s, %(a)s")


@pytest.mark.django_db
def test_prepared_cursor_runs_numbered_statements_on_postgresql():
    if connection.vendor != "postgresql":
        with pytest.raises(RuntimeError):
            prepared_cursor()
        return
    sql, names = numbered("SELECT %(n)s::int + %(m)s::int, %(n)s::int")
    with prepared_cursor() as cursor:
        for _ in range(3):  # prepared on the first run, its plan reused on the next
            cursor.execute(sql, [{"n": 2, "m": 5}[k] for k in names])
            assert cursor.fetchone() == (7, 2)


_PROBE = "SELECT $1::int + 40"


def _prepared_here(cursor=None) -> int:
    """How many times the probe statement is prepared on the session (Django's connection by default)."""
    if cursor is None:
        with connection.cursor() as mine:
            return _prepared_here(mine)
    cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement = %s", [_PROBE])
    return cursor.fetchone()[0]


@pytest.mark.django_db
def test_prepared_statements_outlive_a_savepoint_rolled_back_on_postgresql():
    """A refused dose rolls back (a savepoint in tests, the transaction in the server): the connection keeps
    its prepared statements — psycopg alone would deallocate them all, and the next dose would parse and plan
    every statement again. DDL still clears them."""
    if connection.vendor != "postgresql":
        return
    from django.db import transaction

    sql, _ = numbered("SELECT %s::int + 40")
    with prepared_cursor() as cursor:
        cursor.execute(sql, [2])
        assert cursor.fetchone() == (42,)
        assert _prepared_here() == 1
    with transaction.atomic():  # a savepoint rolled back
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        transaction.set_rollback(True)
    with prepared_cursor() as cursor:
        assert _prepared_here() == 1
        assert connection.connection._prepared._names  # psycopg still knows it: no new PREPARE
        cursor.execute(sql, [3])
        assert cursor.fetchone() == (43,)
        assert _prepared_here() == 1
    with connection.cursor() as cursor:  # DDL: psycopg's own rule applies again
        cursor.execute("CREATE TEMPORARY TABLE prepared_probe (x int)")
        cursor.execute("DROP TABLE prepared_probe")
        cursor.execute("SELECT 1")
        assert _prepared_here(cursor) == 0


@pytest.mark.django_db
def test_prepared_statements_outlive_a_transaction_rolled_back_on_postgresql():
    """The same through a whole transaction's ROLLBACK, on a connection of its own set up as every
    connection of the application is (``connection_created``)."""
    if connection.vendor != "postgresql":
        return
    import psycopg

    from vaxops.core.prepared import _kept_on_rollback

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as conn:
        conn._prepared.__class__ = _kept_on_rollback()
        sql, _ = numbered("SELECT %s::int + 40")
        raw = psycopg.RawCursor(conn)
        raw.execute(sql, [2], prepare=True)
        assert raw.fetchone() == (42,)
        conn.rollback()
        assert _prepared_here(psycopg.ClientCursor(conn)) == 1
        assert conn._prepared._names

    # Without it, psycopg drops them: the test can fail.
    with psycopg.connect(**params) as conn:
        raw = psycopg.RawCursor(conn)
        raw.execute(sql, [2], prepare=True)
        conn.rollback()
        assert _prepared_here(psycopg.ClientCursor(conn)) == 0


def _comparable(value):
    """A prepared value as (type, value): psycopg's typed integers compare by type too; a JSON wrapper by the
    object it wraps."""
    return type(value), getattr(value, "obj", value)


@pytest.mark.django_db
def test_row_values_are_what_the_fields_prepare():
    """``row_values`` takes some values as they are (or wraps an integer) instead of calling the field: the
    result is the same as every field's own preparation, filled-in timestamps and a naive time included."""
    import datetime as dt
    import warnings

    from vaxops.audit.models import AuditEvent
    from vaxops.clinic.models import Dose, Observation
    from vaxops.core.prepared import row_values
    from vaxops.supply.models import StockMovement

    aware = dt.datetime(2021, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    naive = dt.datetime(2021, 5, 6, 7, 8, 9)
    instances = [
        Dose(
            resident_id=3,
            product_code="BBIBP-CorV",
            given_on=dt.date(2021, 5, 6),
            given_at=aware,
            place="门诊",
            dose_number=2,
            is_booster=False,
            lot_id=5,
            trace_code_id=7,
            site_id=11,
            injection_site="左上臂",
            client_id="c" * 32,
            recorded_by_id=None,
        ),
        Dose(resident_id=3, product_code="X", given_on=dt.date(2021, 5, 6), given_at=None, dose_number=None),
        Observation(dose_id=1, site_id=2, started_at=naive),
        StockMovement(kind="administration", place_id=1, lot_id=2, doses=-1, code_id=3, at=aware),
        AuditEvent(
            actor_label="x", action="dose.administer", object_type="clinic.dose", new={"a": [1, "二"]}
        ),
    ]
    for instance in instances:
        fields = [f for f in instance._meta.concrete_fields if not f.primary_key]
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            expected = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
            got = row_values(instance)
        assert len(got) == len(expected)
        for f, g, e in zip(fields, got, expected, strict=True):
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                assert g is not None and type(g) is type(e)  # filled in with the time of the call
                continue
            assert _comparable(g) == _comparable(e), f.attname
