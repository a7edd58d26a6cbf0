"""Real concurrent workers on PostgreSQL: claims with ``FOR UPDATE SKIP LOCKED`` never overlap, and workers
draining together deliver every dose exactly once."""

import pytest
from django.db import connection

from vaxops.exchange import services
from vaxops.exchange.models import Endpoint, OutboundMessage
from vaxops.testing.concurrency import race

from .conftest import give

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("audit_log_flushable")]


@pytest.fixture
def pg():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has one writer and one worker")


def test_concurrent_claims_never_take_the_same_message(pg, desk1, village_a1, vaccinator, endpoint):
    give(desk1, village_a1, vaccinator, 12)
    claims = race(
        4,
        lambda i: services.outbox_claim(endpoint=Endpoint.objects.get(pk=endpoint.pk), limit=5),
        keep_result=True,
    )
    taken = [i for c in claims for i in c]
    assert len(taken) == len(set(taken)) == 12
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {"sent"}


def test_workers_draining_together_deliver_each_dose_once(
    pg, desk1, village_a1, vaccinator, endpoint, receiver
):
    Endpoint.objects.filter(pk=endpoint.pk).update(batch_size=3)
    give(desk1, village_a1, vaccinator, 12)
    results = race(3, lambda i: services.outbox_drain().acknowledged, keep_result=True)
    assert sum(results) == 12
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {"acknowledged"}
    assert receiver.store.count("Immunization") == 12
    assert receiver.store.creates == 12 + 12 + 2  # doses, people, the site (its Location and Organization)


def test_the_export_in_parallel_parts_writes_each_resource_once(pg, desk1, village_a1, vaccinator, tmp_path):
    """Two processes by id range (each with its own connection: the rows are committed here), the parts
    joined: the same files and counts as one process, every line valid."""
    import json

    from vaxops.exchange import bulk, resources

    doses = give(desk1, village_a1, vaccinator, 7)
    one = bulk.export(since=desk1.session.day, out=tmp_path / "one", workers=1)
    two = bulk.export(since=desk1.session.day, out=tmp_path / "two", workers=2)
    assert [o["count"] for o in two["output"]] == [o["count"] for o in one["output"]] == [7, 1, 1, 7]
    assert not list((tmp_path / "two").glob("*.part*"))
    for name in ("Patient", "Immunization"):
        lines = bulk.read_ndjson(tmp_path / "two" / f"{name}.ndjson")
        assert sorted(json.dumps(r, sort_keys=True) for r in lines) == sorted(
            json.dumps(r, sort_keys=True) for r in bulk.read_ndjson(tmp_path / "one" / f"{name}.ndjson")
        )
        assert all(resources.validation_errors(r) == [] for r in lines)
    imms = bulk.read_ndjson(tmp_path / "two" / "Immunization.ndjson")
    assert [i["id"] for i in imms] == [f"dose-{d.pk}" for d in sorted(doses, key=lambda d: d.pk)]
    manifest = json.loads((tmp_path / "two" / "manifest.json").read_text())
    assert {o["type"]: o["count"] for o in manifest["output"]}["Immunization"] == 7
