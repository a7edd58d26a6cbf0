"""``core.joined``: the receivers' writes inside a block go to the database together, as one statement on
PostgreSQL; outside a block a write runs at once; a block that raises sends nothing."""

import pytest
from django.db import connection

from vaxops.core.joined import joined, write

pytestmark = pytest.mark.django_db


@pytest.fixture
def scratch():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE joined_scratch (k integer PRIMARY KEY, n integer NOT NULL)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE joined_scratch")


def _rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT k, n FROM joined_scratch ORDER BY k")
        return cursor.fetchall()


UPSERT = "INSERT INTO joined_scratch (k, n) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET n = joined_scratch.n + excluded.n"


def test_outside_a_block_a_write_runs_at_once(scratch):
    write(UPSERT, [1, 5])
    assert _rows() == [(1, 5)]


def test_writes_in_a_block_wait_for_its_end_and_go_as_one_statement(scratch):
    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count), joined():
        write(UPSERT, [1, 2])
        with joined():  # nested: the outer block sends
            write(UPSERT, [2, 3])
            write("DELETE FROM joined_scratch WHERE k = %s", [9])
        assert statements == []
        assert _rows() == []
    assert _rows() == [(1, 2), (2, 3)]
    sent = [s for s in statements if "joined_scratch" in s and not s.startswith("SELECT k")]
    assert len(sent) == (1 if connection.vendor == "postgresql" else 3)


def test_a_block_that_raises_sends_nothing(scratch):
    with pytest.raises(RuntimeError), joined():
        write(UPSERT, [1, 2])
        raise RuntimeError("boom")
    assert _rows() == []
    write(UPSERT, [3, 1])  # the next block starts clean
    assert _rows() == [(3, 1)]


def test_a_sender_may_take_the_writes_into_its_own_statement(scratch):
    """``take`` hands the writes collected so far to the caller (the desk puts them into the dose's statement)
    and they are not sent again when the block ends; outside a block there is nothing to take."""
    from vaxops.core.joined import ctes, take

    assert take() == []
    with joined():
        write(UPSERT, [1, 2])
        write(UPSERT, [2, 3])
        taken = take()
        assert [params for _, params in taken] == [[1, 2], [2, 3]]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"WITH {ctes([sql for sql, _ in taken])} SELECT 1",
                    [p for _, params in taken for p in params],
                )
            else:
                for sql, params in taken:
                    cursor.execute(sql, params)
        write(UPSERT, [3, 4])  # written after the take: sent at the end as before
    assert _rows() == [(1, 2), (2, 3), (3, 4)]
