import pytest

from vaxops.audit.models import AuditEvent
from vaxops.core.actors import SystemActor
from vaxops.core.errors import CoreErrorCode
from vaxops.supply import selectors, services
from vaxops.supply.errors import SupplyErrorCode
from vaxops.supply.models import StockBalance, StockMovement
from vaxops.testing.refusals import refused

from .factories import county_store, lot


@pytest.fixture
def store(county):
    return county_store(county)


def test_it_receives_then_refuses_to_dispatch_more_than_stock(store, cdc):
    a_lot = lot()
    services.movement_record(actor=cdc, kind="receipt", place=store, lot=a_lot, doses=100)
    services.movement_record(actor=cdc, kind="dispatch", place=store, lot=a_lot, doses=30, reference="D1")
    assert StockBalance.objects.get(place=store, lot=a_lot).doses == 70
    before = (
        StockMovement.objects.count(),
        AuditEvent.objects.filter(action="supply.movement_record").count(),
    )

    with refused(SupplyErrorCode.STOCK_INSUFFICIENT) as e:
        services.movement_record(actor=cdc, kind="dispatch", place=store, lot=a_lot, doses=71)
    assert "结存70剂" in e.value.message and "需71剂" in e.value.message  # the balance and the need

    assert StockBalance.objects.get(place=store, lot=a_lot).doses == 70
    assert (
        StockMovement.objects.count(),
        AuditEvent.objects.filter(action="supply.movement_record").count(),
    ) == before
    assert list(StockMovement.objects.values_list("kind", "doses")) == [("receipt", 100), ("dispatch", -30)]
    assert selectors.balances(place=store)[0]["doses"] == 70


def test_it_refuses_to_take_from_a_place_that_never_held_the_lot(store, cdc):
    with refused(SupplyErrorCode.STOCK_INSUFFICIENT):
        services.movement_record(
            actor=cdc, kind="wastage", place=store, lot=lot(), doses=1, wastage_reason="broken"
        )
    assert not StockBalance.objects.exists()
    assert not StockMovement.objects.exists()


def test_it_applies_a_signed_adjustment_with_its_reason(store):
    a_lot = lot()
    services.movement_record(actor=SystemActor("cli:test"), kind="receipt", place=store, lot=a_lot, doses=10)
    services.movement_record(
        actor=SystemActor("cli:test"), kind="adjustment", place=store, lot=a_lot, doses=-2, reason="盘点少2剂"
    )
    assert StockBalance.objects.get().doses == 8
    with refused(SupplyErrorCode.MOVEMENT_INVALID):
        services.movement_record(actor=SystemActor(), kind="adjustment", place=store, lot=a_lot, doses=-1)


def test_it_puts_a_lot_on_hold_audited_and_then_refuses_to_dispatch_it(store, cdc):
    a_lot = lot()
    services.movement_record(actor=cdc, kind="receipt", place=store, lot=a_lot, doses=10)

    services.lot_status_change(actor=cdc, lot=a_lot, status="on_hold", reason="冷链温度超标，待评估")

    a_lot.refresh_from_db()
    assert (a_lot.status, a_lot.status_changed_by, a_lot.status_reason) == (
        "on_hold",
        cdc,
        "冷链温度超标，待评估",
    )
    event = AuditEvent.objects.get(action="supply.lot_status_change")
    assert (event.actor, event.old, event.new["status"]) == (cdc, {"status": "released"}, "on_hold")
    with refused(SupplyErrorCode.LOT_NOT_USABLE):
        services.movement_record(actor=cdc, kind="dispatch", place=store, lot=a_lot, doses=1)
    with refused(CoreErrorCode.REASON_REQUIRED):
        services.lot_status_change(actor=cdc, lot=a_lot, status="released", reason=" ")
    assert StockBalance.objects.get().doses == 10
