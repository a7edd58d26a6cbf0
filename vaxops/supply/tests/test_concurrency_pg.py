"""Concurrent takes from one balance on PostgreSQL: the conditional UPDATE lets exactly as many through
as the stock covers, and the balance never goes below zero."""

import threading

import pytest
from django.db import connection, connections

from vaxops.core.actors import SystemActor
from vaxops.core.errors import ValidationFailed
from vaxops.supply import services
from vaxops.supply.models import StockBalance, StockMovement

from .factories import county_store, lot

pytestmark = pytest.mark.usefixtures("audit_log_flushable")


@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_five_of_eight_concurrent_takes_of_ten_through_a_balance_of_fifty(county):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so it cannot show concurrent takes racing")
    store = county_store(county)
    a_lot = lot()
    services.movement_record(actor=SystemActor("cli:test"), kind="receipt", place=store, lot=a_lot, doses=50)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    guard = threading.Lock()

    def take() -> None:
        try:
            barrier.wait(timeout=10)
            try:
                services.movement_record(actor=SystemActor("cli:thread"), kind="dispatch", place=store, lot=a_lot,
                                         doses=10)
                outcome = "ok"
            except ValidationFailed:
                outcome = "refused"
            with guard:
                outcomes.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes) == ["ok"] * 5 + ["refused"] * 3
    assert StockBalance.objects.get(place=store, lot=a_lot).doses == 0
    assert StockMovement.objects.filter(kind="dispatch").count() == 5
