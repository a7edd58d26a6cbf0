# ruff: noqa: S608 - only integers and constants of the calling bench are formatted into the SQL
"""The people a benchmark generates in bulk SQL: N residents of one ID area spread over the county's villages.

``people_replace`` deletes the area's earlier people (their doses and stored statuses first, and whatever the
caller names before them), inserts N residents (births 1940–2003, both sexes, round-robin over the villages)
and leaves the temporary table ``bench_people (id, s)`` — each person's id and sequence number — for the
caller's doses. It returns the SQL expressions, over ``s``, of the person's first dose day and of now, for the
database in use. The caller drops ``bench_people`` when done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection

from vaxops.jurisdictions.models import Division, Level


@dataclass(frozen=True)
class PeopleSql:
    pg: bool
    day: str  # the person's first dose day: 2021-03-01 plus 0–299 days
    now: str


def people_replace(cursor, *, area: str, people: int, before: Sequence[str] = ()) -> PeopleSql:
    """Replace the people of ID area ``area`` by ``people`` new ones (see the module). ``before`` are DELETE
    statements run first, each with the area's LIKE pattern as its one parameter (rows that refer to the doses
    of the people about to go)."""
    from vaxops.benchmarks.supply import _county

    low, high = _county().code_range
    villages = list(
        Division.objects.filter(level=Level.VILLAGE, code__gte=low, code__lte=high)
        .order_by("code")
        .values_list("id", "code")
    )
    pattern = [f"{area}%"]
    for sql in (
        *before,
        "DELETE FROM clinic_dose WHERE resident_id IN (SELECT id FROM registry_resident WHERE id_number LIKE %s)",
        "DELETE FROM campaign_immunizationstatus WHERE resident_id IN "
        "(SELECT id FROM registry_resident WHERE id_number LIKE %s)",
        "DELETE FROM registry_resident WHERE id_number LIKE %s",
    ):
        cursor.execute(sql, pattern)
    cursor.execute("DROP TABLE IF EXISTS bench_village")
    cursor.execute("CREATE TEMP TABLE bench_village (idx integer primary key, vid bigint, code varchar(12))")
    cursor.executemany(
        "INSERT INTO bench_village VALUES (%s, %s, %s)",
        [(i, v, code) for i, (v, code) in enumerate(villages)],
    )
    pg = connection.vendor == "postgresql"
    if pg:
        seq = f"SELECT g AS s FROM generate_series(1, {int(people)}) g"
        birth = "DATE '1940-01-01' + ((s::bigint * 7919) %% 23000)::int"
        day = "DATE '2021-03-01' + ((s::bigint * 104729) %% 300)::int"
        now = "now()"
    else:
        seq = (
            f"WITH RECURSIVE q(s) AS (SELECT 1 UNION ALL SELECT s + 1 FROM q WHERE s < {int(people)}) "
            "SELECT s FROM q"
        )
        birth = "date('1940-01-01', '+' || ((s * 7919) %% 23000) || ' days')"
        day = "date('2021-03-01', '+' || ((s * 104729) %% 300) || ' days')"
        now = "datetime('now')"
    cursor.execute(
        "INSERT INTO registry_resident (id_type, id_number, name, sex, birth_date, phone, address, "
        "village_id, village_code, employer_id, employer_name, occupation, priority_group_id, "
        "chronic_conditions, pregnant, willingness, willingness_reason, created_at, updated_at) "
        f"SELECT 'resident_id', '{area}' || CAST(s AS TEXT), '测试' || CAST(s AS TEXT), "
        f"CASE WHEN s %% 2 = 0 THEN 'F' ELSE 'M' END, {birth}, '', '', v.vid, v.code, NULL, '', '', NULL, "
        f"'', false, 'unknown', '', {now}, {now} "
        f"FROM ({seq}) n JOIN bench_village v ON v.idx = n.s %% {len(villages)}",
        [],
    )
    cursor.execute(
        "CREATE TEMP TABLE bench_people AS SELECT id, "
        f"CAST(substr(id_number, {len(area) + 1}) AS INTEGER) AS s FROM registry_resident "
        "WHERE id_number LIKE %s",
        pattern,
    )
    cursor.execute("DROP TABLE bench_village")
    return PeopleSql(pg=pg, day=day, now=now)
