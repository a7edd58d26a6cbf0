"""Willingness keeps its history whichever door changes it: a census re-import and an edit write one
``WillingnessChange`` per person whose willingness really changed (source, who, when), none otherwise."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from vaxops.registry.models import Resident, WillingnessChange
from vaxops.registry.services import resident_update

from .test_import import ID_1, ID_2, ID_3, csv_bytes, line, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def three(**wills: str) -> bytes:
    return csv_bytes(
        line("王芳", ID_1, will=wills.get("a", "愿意")),
        line("李强", ID_2, will=wills.get("b", "愿意")),
        line("孙七", ID_3, will=wills.get("c", "愿意")),
    )


def test_a_reimport_that_changes_two_of_three_writes_two_history_rows(cdc):
    run(three(), cdc)
    assert not WillingnessChange.objects.exists()  # a new person is created, not changed

    result = run(three(a="拒绝", b="犹豫"), cdc)

    assert (result.updated, result.unchanged) == (2, 1)
    history = WillingnessChange.objects.order_by("resident__id_number")
    assert sorted((c.resident.id_number, c.old, c.new, c.source) for c in history) == sorted(
        [(ID_1, "willing", "refused", "import"), (ID_2, "willing", "hesitant", "import")]
    )
    assert all(c.by == cdc and c.at is not None for c in history)
    assert Resident.objects.get(id_number=ID_1).willingness == "refused"


def test_a_reimport_writes_its_history_without_a_query_per_person(cdc):
    run(three(), cdc)
    with CaptureQueriesContext(connection) as one:
        run(three(a="拒绝"), cdc)
    with CaptureQueriesContext(connection) as many:
        run(three(a="犹豫", b="犹豫", c="拒绝"), cdc)

    assert WillingnessChange.objects.count() == 4
    history = [q["sql"] for q in many.captured_queries if "willingnesschange" in q["sql"].lower()]
    assert len(history) == 1, history
    assert len(many.captured_queries) == len(one.captured_queries)


def test_an_unchanged_reimport_writes_no_history(cdc):
    run(three(b="犹豫"), cdc)

    result = run(three(b="犹豫"), cdc)

    assert result.unchanged == 3
    assert not WillingnessChange.objects.exists()


def test_an_edit_that_changes_willingness_writes_one_history_row(cdc):
    run(three(), cdc)
    wang = Resident.objects.get(id_number=ID_1)

    resident_update(
        actor=cdc, resident_id=wang.pk, data={"willingness": "hesitant", "willingness_reason": "担心"}
    )

    change = WillingnessChange.objects.get()
    assert (change.resident_id, change.old, change.new, change.reason, change.source, change.by) == (
        wang.pk,
        "willing",
        "hesitant",
        "担心",
        "edit",
        cdc,
    )


def test_an_edit_that_leaves_willingness_alone_writes_no_history(cdc):
    run(three(), cdc)
    wang = Resident.objects.get(id_number=ID_1)

    resident_update(actor=cdc, resident_id=wang.pk, data={"phone": "13987654321", "willingness": "willing"})

    assert Resident.objects.get(pk=wang.pk).phone == "13987654321"
    assert not WillingnessChange.objects.exists()
