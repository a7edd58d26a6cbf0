"""Concurrent takes from one balance on PostgreSQL: the conditional UPDATE lets exactly as many through
as the stock covers, and the balance never goes below zero."""

import threading

import pytest
from django.db import connection, connections

from vaxops.core.actors import SystemActor
from vaxops.core.errors import ValidationFailed
from vaxops.supply import services
from vaxops.supply.models import StockBalance, StockMovement
from vaxops.testing.concurrency import race

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
                services.movement_record(
                    actor=SystemActor("cli:thread"), kind="dispatch", place=store, lot=a_lot, doses=10
                )
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


@pytest.mark.django_db(transaction=True)
def test_one_code_scanned_at_eight_desks_at_once_is_recorded_once(county, village_a1):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so it cannot show concurrent uses racing")
    from datetime import date

    from vaxops.conftest import make_id
    from vaxops.registry.models import Resident
    from vaxops.supply.models import CodeState, TraceCode

    from .factories import code, network, receive

    store, _, _ = network(county)
    a_lot = receive(store, n=1)
    people = [
        Resident.objects.create(
            id_type="resident_id",
            id_number=make_id(date(1970, 1, 1), i),
            name=f"受种者{i}",
            village=village_a1,
            village_code=village_a1.code,
        )
        for i in range(8)
    ]

    outcomes = race(
        8,
        lambda i: services.code_administer(
            actor=SystemActor(f"desk{i}"), code=code(1), resident=people[i], place=store
        ),
    )

    assert outcomes.count("ok") == 1
    assert all("只能使用一次" in o for o in outcomes if o != "ok"), outcomes
    tc = TraceCode.objects.get(code=code(1))
    assert tc.state == CodeState.ADMINISTERED
    assert StockMovement.objects.filter(kind="administration").count() == 1
    assert StockBalance.objects.get(place=store, lot=a_lot).doses == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatches_share_a_store_without_sending_a_code_twice(county):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite serialises writers, so it cannot show concurrent dispatches racing"
        )
    from vaxops.jurisdictions.models import Division
    from vaxops.supply import selectors
    from vaxops.supply.models import ColdChainUnit, DispatchCode, PlaceKind, StockPlace

    from .factories import network, receive

    store, town_a, town_b = network(county)
    extra = []
    for i in range(4):
        place = StockPlace.objects.create(
            code=f"S{i}",
            name=f"接种点{i}",
            kind=PlaceKind.SITE,
            parent=store,
            division=Division.objects.get(code="330199001001"),
        )
        ColdChainUnit.objects.create(place=place, kind="refrigerator", usable_volume_cm3=100_000)
        extra.append(place)
    targets = [town_a, town_b, *extra]
    a_lot = receive(store, n=50)

    outcomes = race(
        6,
        lambda i: services.dispatch_create(
            actor=SystemActor(f"clerk{i}"),
            from_place=store,
            to_place=targets[i],
            product=a_lot.product,
            doses=10,
        ),
    )

    assert outcomes.count("ok") == 5, outcomes
    assert DispatchCode.objects.count() == 50
    assert DispatchCode.objects.values("code_id").distinct().count() == 50
    assert StockBalance.objects.get(place=store, lot=a_lot).doses == 0
    assert selectors.ledger_check()["balanced"]
