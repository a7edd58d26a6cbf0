"""Concurrency on PostgreSQL: real threads, one database connection each, started together by a barrier.

SQLite serialises writers, so these races only exist (and are only tested) on PostgreSQL.
"""

import io
import json
import threading
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.db import connection

from vaxops.conftest import make_id
from vaxops.registry.errors import RegistryErrorCode

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason=f"concurrency tests need PostgreSQL (database is {connection.vendor}); "
        "run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/test",
    ),
]

VILLAGES = ("330199001001", "330199001002", "330199002001", "330199002002")


@pytest.fixture(scope="module", autouse=True)
def _audit_log_flushable(django_db_setup, django_db_blocker):
    """Let the per-test flush of ``transaction=True`` empty the audit log, for this module only.

    Migration audit/0002 makes ``audit_auditevent`` append-only with row (UPDATE/DELETE) and TRUNCATE
    triggers, so Django's flush after every transactional test fails. They are enabled again when the
    module ends.
    """
    with django_db_blocker.unblock(), connection.cursor() as c:
        c.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
    yield
    with django_db_blocker.unblock(), connection.cursor() as c:
        c.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


def run_together(n: int, work: Callable[[int], object]) -> tuple[list, list]:
    """Run ``work(i)`` in ``n`` threads released at once; returns (results, errors), both indexed by thread."""
    from django import db

    barrier = threading.Barrier(n, timeout=30)
    results: list = [None] * n
    errors: list = [None] * n

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as e:  # reported to the test thread
            errors[i] = e
        finally:
            db.connection.close()

    threads = [threading.Thread(target=target, args=(i,), name=f"race-{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_creates_of_one_document_make_one_resident(cdc):
    from vaxops.accounts.models import User
    from vaxops.audit.models import AuditEvent
    from vaxops.core.errors import ValidationFailed
    from vaxops.registry.models import Resident
    from vaxops.registry.services import resident_create

    id_number = make_id(date(1956, 9, 18), 7, sex="M")
    data = {"name": "钱同一", "id_number": id_number, "village_code": VILLAGES[0], "phone": "13811112222"}

    def work(i: int):
        actor = User.objects.get(pk=cdc.pk)
        return resident_create(actor=actor, data=dict(data)).pk

    results, errors = run_together(8, work)

    unexpected = [e for e in errors if e is not None and not isinstance(e, ValidationFailed)]
    assert unexpected == [], f"errors other than ValidationFailed leaked out: {unexpected!r}"
    created = [pk for pk in results if pk is not None]
    assert len(created) == 1, (results, errors)
    refused = [e for e in errors if isinstance(e, ValidationFailed)]
    assert len(refused) == 7
    assert all(e.code == RegistryErrorCode.DUPLICATE and e.field == "id_number" for e in refused), [
        (e.code, e.message) for e in refused
    ]
    assert list(Resident.objects.filter(id_number=id_number).values_list("pk", flat=True)) == created
    events = AuditEvent.objects.filter(action="resident.create")
    assert events.count() == 1
    assert events.get().object_id == str(created[0])


def _person(i: int, round_: int = 0) -> list[str]:
    """Person ``i`` (0–749) of round ``round_``: a distinct, valid 身份证 number for every (i, round)."""
    birth = date(1940, 1, 1) + timedelta(days=37 * i)
    return [
        f"居民{round_}-{i:04d}",
        make_id(birth, 1 + round_, sex="M" if i % 2 else "F"),
        VILLAGES[i % 4],
        f"139{round_:02d}{i:06d}",
        ("愿意", "犹豫", "拒绝")[i % 3],
    ]


def _census(people: list[int], round_: int) -> bytes:
    lines = ["姓名,证件号码,村(社区)代码,手机号码,接种意愿"] + [",".join(_person(i, round_)) for i in people]
    return ("\n".join(lines) + "\n").encode("utf-8")


# Both threads upload one census that overlaps itself (its last 50 rows repeat people already listed: refused as
# duplicates in the file);
# or two files that overlap by half (people 0–499 and 250–749), in the same order or in opposite orders
# (two workers' lists sorted differently). Batches of 100 do not line up between the two files.
SAME_FILE = (list(range(450)) + list(range(50)), list(range(450)) + list(range(50)))
OVERLAPPING = (list(range(500)), list(range(250, 750)))
OPPOSITE_ORDER = (list(range(500)), list(reversed(range(250, 750))))
ROUNDS = 3  # each round a new population, so a race that is only sometimes lost is still caught


@pytest.mark.parametrize(
    "files",
    [SAME_FILE, OVERLAPPING, OPPOSITE_ORDER],
    ids=["same-file", "overlapping-files", "overlapping-files-opposite-order"],
)
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_imports_never_duplicate_a_person(cdc, settings, files):
    from vaxops.accounts.models import User
    from vaxops.registry.models import Resident
    from vaxops.registry.services import residents_import
    from vaxops.registry.tables import open_table

    settings.VAXOPS_IMPORT_BATCH = 100  # several batches per run, so the two runs interleave
    everyone: set[str] = set()
    for round_ in range(ROUNDS):
        contents = [_census(people, round_) for people in files]
        distinct = {_person(i, round_)[1] for people in files for i in people}
        everyone |= distinct

        def work(i: int, contents=contents, round_=round_):
            actor = User.objects.get(pk=cdc.pk)
            name = f"census-{round_}-{i}.csv"
            return residents_import(
                table=open_table(io.BytesIO(contents[i]), size=len(contents[i]), filename=name),
                actor=actor,
                filename=name,
            )

        results, errors = run_together(2, work)

        assert errors == [None, None], f"round {round_}: {errors!r}"
        assert Resident.objects.count() == Resident.objects.values("id_type", "id_number").distinct().count()
        assert set(Resident.objects.values_list("id_number", flat=True)) == everyone
        for people, result in zip(files, results, strict=True):
            assert result.read == len(people)
            assert result.read == result.created + result.updated + result.unchanged + result.rejected, (
                result.as_dict()
            )
            # A person listed twice in one file: the later row is refused as a duplicate in the file.
            repeats = len(people) - len(set(people))
            assert result.rejected == repeats, result.as_dict()
            assert all("同一文件中重复" in e.message for e in result.errors), result.as_dict()
            assert result.updated == 0, result.as_dict()  # every repeat carries the same values
        assert sum(r.created for r in results) == len(distinct), [r.as_dict() for r in results]


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_api_posts_with_one_idempotency_key_answer_alike(cdc):
    from django.test import Client

    from vaxops.audit.models import AuditEvent
    from vaxops.core.models import IdempotencyRecord
    from vaxops.registry.models import Resident

    id_number = make_id(date(1949, 12, 31), 9)
    body = json.dumps(
        {
            "name": "孙重试",
            "id_number": id_number,
            "village_code": VILLAGES[1],
            "phone": "13922223333",
            "willingness": "愿意",
        }
    )
    clients = []
    for _ in range(8):
        client = Client(raise_request_exception=False)  # a 500 is an answer to compare, not a thread crash
        client.force_login(cdc)
        clients.append(client)

    def work(i: int):
        response = clients[i].post(
            "/api/v1/residents",
            data=body,
            content_type="application/json",
            headers={"Idempotency-Key": "create-sun-0001"},
        )
        if response.headers.get("Content-Type", "").startswith("application/json"):
            return response.status_code, response.json()
        return response.status_code, response.content.decode(errors="replace")[:200]

    results, errors = run_together(8, work)

    assert errors == [None] * 8, errors
    assert Resident.objects.filter(id_number=id_number).count() == 1
    resident = Resident.objects.get(id_number=id_number)
    answers = Counter((status, json.dumps(b, sort_keys=True, ensure_ascii=False)) for status, b in results)
    assert len(answers) == 1, f"the 8 answers differ: {answers.most_common()}"
    first_status, first_body = results[0]
    assert first_status == 201, first_body
    assert first_body["id"] == resident.pk
    assert first_body["id_number_masked"] == id_number[:6] + "********" + id_number[-4:]
    assert IdempotencyRecord.objects.filter(key="create-sun-0001").count() == 1
    assert AuditEvent.objects.filter(action="resident.create").count() == 1
