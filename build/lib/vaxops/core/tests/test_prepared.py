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
