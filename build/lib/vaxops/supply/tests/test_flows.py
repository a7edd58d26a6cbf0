"""The supply chain end to end on the real database: receive, allocate, dispatch, receive at the
destination with discrepancies, administer, waste, hold and recall, count — and the books balance."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from vaxops.audit.models import AuditEvent
from vaxops.conftest import make_id
from vaxops.core.errors import CoreErrorCode
from vaxops.registry.models import Resident
from vaxops.supply import selectors, services
from vaxops.supply.errors import SupplyErrorCode
from vaxops.supply.models import (
    CodeState,
    Discrepancy,
    Dispatch,
    DispatchStatus,
    StockBalance,
    StockCount,
    StockMovement,
    TraceCode,
)
from vaxops.testing.refusals import refused

from .factories import code, network, receive


@pytest.fixture
def places(county):
    return network(county)


def _resident(village, seq, name="王小明"):
    return Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(date(1970, 1, 1), seq),
        name=name,
        village=village,
        village_code=village.code,
    )


def _balanced():
    check = selectors.ledger_check()
    assert check["balanced"], check["differences"]
    return check


def test_a_dispatch_takes_the_first_expiring_usable_lot_and_puts_its_codes_in_transit(places, cdc):
    store, town_a, _ = places
    late = receive(store, lot_number="L-LATE", first=1, n=5, expiry="2099-12-31")
    early = receive(store, lot_number="L-EARLY", first=100, n=5, expiry="2098-01-31")
    held = receive(store, lot_number="L-HELD", first=200, n=5, expiry="2097-01-31")
    services.lot_status_change(actor=cdc, lot=held, status="on_hold", reason="待评估")

    d = services.dispatch_create(actor=cdc, from_place=store, to_place=town_a, product=early.product, doses=7)

    assert [(i.lot.lot_number, i.codes_sent) for i in d.items.order_by("lot__expiry")] == [
        ("L-EARLY", 5),
        ("L-LATE", 2),
    ]
    assert any("L-HELD" in r and "暂停使用" in r for r in d.reasons)
    assert TraceCode.objects.filter(state=CodeState.IN_TRANSIT, dispatch=d).count() == 7
    assert StockBalance.objects.get(place=store, lot=early).doses == 0
    assert StockBalance.objects.get(place=store, lot=late).doses == 3
    assert d.status == DispatchStatus.IN_TRANSIT and d.doses == 7
    assert AuditEvent.objects.filter(action="supply.dispatch_create", object_id=str(d.pk)).exists()
    _balanced()


def test_a_dispatch_never_exceeds_the_destinations_cold_chain_volume(places, cdc):
    store, town_a, _ = places
    a_lot = receive(store, n=20)
    unit = town_a.units.get()
    unit.usable_volume_cm3 = int(a_lot.product.pack_volume_cm3 * 6)
    unit.save()

    d = services.dispatch_create(
        actor=cdc, from_place=store, to_place=town_a, product=a_lot.product, doses=20
    )
    assert d.doses == 6
    assert any("容积" in r for r in d.reasons)
    with refused(SupplyErrorCode.DISPATCH_NOT_POSSIBLE):
        services.dispatch_create(actor=cdc, from_place=store, to_place=town_a, product=a_lot.product, doses=1)


def test_receipt_at_destination_records_short_damaged_and_foreign_codes(places, cdc):
    store, town_a, _ = places
    a_lot = receive(store, n=6)
    other = receive(store, lot_number="OTHER", first=50, n=1)
    d = services.dispatch_create(actor=cdc, from_place=store, to_place=town_a, product=a_lot.product, doses=6)
    sent = sorted(TraceCode.objects.filter(dispatch=d).values_list("code", flat=True))

    got = services.dispatch_receive(
        actor=cdc, dispatch=d, scanned=sent[:4] + [code(50)], damaged=[sent[4]], note="箱角受潮"
    )

    assert got.status == DispatchStatus.DISCREPANCY and got.received_at is not None
    kinds = sorted(Discrepancy.objects.filter(dispatch=d).values_list("kind", "code"))
    assert kinds == sorted([("damaged", sent[4]), ("short", sent[5]), ("wrong_lot", code(50))])
    assert StockBalance.objects.get(place=town_a, lot=a_lot).doses == 4
    assert TraceCode.objects.get(code=sent[4]).state == CodeState.WASTED
    assert TraceCode.objects.get(code=code(50)).state == CodeState.IN_STOCK  # still at the county store
    assert StockBalance.objects.get(place=store, lot=other).doses == 1
    item = d.items.get()
    assert (item.codes_sent, item.codes_received) == (6, 4)
    with refused(SupplyErrorCode.DISPATCH_ALREADY_RECEIVED):
        services.dispatch_receive(actor=cdc, dispatch=d)
    _balanced()


def test_a_box_code_scanned_on_arrival_stands_for_its_units(places, cdc):
    store, town_a, _ = places
    box = code(999_999, "8100101")
    a_lot = receive(store, n=4, package=box)
    d = services.dispatch_create(actor=cdc, from_place=store, to_place=town_a, product=a_lot.product, doses=4)
    got = services.dispatch_receive(actor=cdc, dispatch=d, scanned=[box])
    assert got.status == DispatchStatus.RECEIVED
    assert StockBalance.objects.get(place=town_a, lot=a_lot).doses == 4


def test_a_code_is_administered_once_and_a_held_lot_not_at_all(places, cdc, village_a1):
    store, town_a, _ = places
    a_lot = receive(store, n=3)
    first, second = _resident(village_a1, 1), _resident(village_a1, 2, "李大")

    tc = services.code_administer(actor=cdc, code=code(1), resident=first, place=store)
    assert tc.state == CodeState.ADMINISTERED and tc.administered_to == first

    with refused(SupplyErrorCode.CODE_USED):
        services.code_administer(actor=cdc, code=code(1), resident=second, place=store)
    with refused(SupplyErrorCode.CODE_ELSEWHERE):
        services.code_administer(actor=cdc, code=code(2), resident=second, place=town_a)
    with refused(SupplyErrorCode.CODE_UNKNOWN):
        services.code_administer(actor=cdc, code=code(77), resident=second, place=store)

    services.lot_status_change(actor=cdc, lot=a_lot, status="on_hold", reason="冷链温度异常待评估")
    with refused(SupplyErrorCode.LOT_NOT_USABLE):
        services.code_administer(actor=cdc, code=code(2), resident=second, place=store)
    assert TraceCode.objects.get(code=code(2)).state == CodeState.IN_STOCK
    assert StockBalance.objects.get(place=store, lot=a_lot).doses == 2
    assert selectors.person_codes(user=cdc, resident=first)[0]["code"] == code(1)
    _balanced()


def test_an_expired_lot_cannot_be_given_even_if_still_marked_released(places, cdc, village_a1):
    store, _, _ = places
    receive(store, n=1, expiry=(timezone.localdate() - timedelta(days=1)).isoformat())
    with refused(SupplyErrorCode.LOT_NOT_USABLE):
        services.code_administer(actor=cdc, code=code(1), resident=_resident(village_a1, 1), place=store)


def test_wastage_and_recall_return_leave_the_books_balanced(places, cdc):
    store, _, _ = places
    a_lot = receive(store, n=5)
    services.code_waste(actor=cdc, code=code(1), place=store, reason="broken")
    with refused(SupplyErrorCode.WASTAGE_NOTE_REQUIRED):
        services.code_waste(actor=cdc, code=code(2), place=store, reason="other")
    with refused(SupplyErrorCode.LOT_NOT_RECALLED):
        services.recall_return(actor=cdc, lot=a_lot, place=store)
    services.lot_status_change(actor=cdc, lot=a_lot, status="recalled", reason="国家药监局召回")

    assert services.recall_return(actor=cdc, lot=a_lot, place=store) == 4
    assert TraceCode.objects.filter(lot=a_lot, state=CodeState.RECALLED).count() == 4
    assert StockBalance.objects.get(place=store, lot=a_lot).doses == 0
    assert list(StockMovement.objects.filter(lot=a_lot).values_list("kind", "doses")) == [
        ("receipt", 5),
        ("wastage", -1),
        ("recall_return", -4),
    ]
    _balanced()


def test_a_stock_count_lists_differences_and_adjusts_only_with_a_reason(places, cdc):
    store, _, _ = places
    a_lot = receive(store, n=4)
    scans = [code(1), code(2), code(2), code(3), "81001019999999990000"]

    plain = services.stock_count_record(actor=cdc, place=store, scanned=scans)
    assert (plain.matched, plain.missing, plain.unexpected, plain.duplicates) == (
        3,
        [code(4)],
        ["81001019999999990000"],
        [code(2)],
    )
    assert not plain.adjusted
    with refused(CoreErrorCode.REASON_REQUIRED):
        services.stock_count_record(actor=cdc, place=store, scanned=scans, adjust=True)

    services.stock_count_record(actor=cdc, place=store, scanned=scans, adjust=True, reason="冷库盘点未找到")
    assert StockBalance.objects.get(place=store, lot=a_lot).doses == 3
    assert StockCount.objects.filter(adjusted=True).count() == 1
    assert TraceCode.objects.get(code=code(4)).state == CodeState.WASTED
    _balanced()


def test_allocation_shares_by_need_and_approval_creates_fefo_dispatches(places, cdc, village_a1, village_b1):
    from vaxops.campaign.services import status_refresh_all

    store, town_a, town_b = places
    for i in range(6):
        r = _resident(village_a1, 10 + i)
        Resident.objects.filter(pk=r.pk).update(birth_date=date(1970, 1, 1))
    for i in range(2):
        r = _resident(village_b1, 40 + i)
        Resident.objects.filter(pk=r.pk).update(birth_date=date(1970, 1, 1))
    status_refresh_all()
    a_lot = receive(store, n=8)

    run = services.allocation_propose(
        actor=cdc,
        product=a_lot.product,
        doses_arriving=8,
        source=store,
        weights={"risk": 0, "density": 0, "mobility": 0},
    )
    doses = {line["place"]: line["doses"] for line in run.lines}
    assert doses == {"T001": 6, "T002": 2}
    assert all(line["reasoning"] for line in run.lines)

    dispatches = services.allocation_approve(actor=cdc, run=run)
    assert sorted(d.to_place.code for d in dispatches) == ["T001", "T002"]
    assert sum(d.doses for d in dispatches) == 8
    with refused(SupplyErrorCode.ALLOCATION_ALREADY_APPROVED):
        services.allocation_approve(actor=cdc, run=run)
    for d in dispatches:
        services.dispatch_receive(actor=cdc, dispatch=d)
    assert {d.status for d in Dispatch.objects.all()} == {DispatchStatus.RECEIVED}
    assert StockBalance.objects.get(place=town_a, lot=a_lot).doses == 6

    trace = selectors.lot_trace(user=cdc, lot=a_lot)
    rows = {r["place"]: r for r in trace["places"]}
    assert rows["CDC"]["received"] == 8 and rows["CDC"]["sent"] == 8
    assert rows["T001"]["received_from_dispatch"] == 6 and rows["T001"]["in_stock"] == 6
    _balanced()


def test_alerts_name_expiring_lots_overdue_receipts_and_thin_stock(places, cdc, village_a1):
    store, town_a, _ = places
    soon = (timezone.localdate() + timedelta(days=10)).isoformat()
    receive(store, lot_number="SOON", n=3, expiry=soon)
    receive(store, lot_number="LATER", first=100, n=20)
    d = services.dispatch_create(
        actor=cdc, from_place=store, to_place=town_a, product=TraceCode.objects.first().lot.product, doses=2
    )
    Dispatch.objects.filter(pk=d.pk).update(dispatched_at=timezone.now() - timedelta(hours=30))
    for i in range(21 - 3 - 2 - 1):
        services.code_administer(
            actor=cdc,
            code=code(100 + i) if i < 20 else code(3),
            resident=_resident(village_a1, 200 + i),
            place=store,
        )

    found = selectors.alerts()
    assert [x["lot"] for x in found["expiring"]] == ["SOON"]
    assert [x["number"] for x in found["receipts_overdue"]] == [d.number]
    assert [x["place"] for x in found["low_stock"]] == ["CDC"]


def test_lot_paperwork_is_recorded_and_audited(places, cdc):
    store, _, _ = places
    a_lot = receive(store, n=1)
    services.lot_details_update(
        actor=cdc, lot=a_lot, release_certificate=" SJ20210001 ", manufacturer="北京生物"
    )
    a_lot.refresh_from_db()
    assert (a_lot.release_certificate, a_lot.manufacturer) == ("SJ20210001", "北京生物")
    event = AuditEvent.objects.filter(action="supply.lot_details_update").get()
    assert event.new == {"release_certificate": "SJ20210001", "manufacturer": "北京生物"}
    services.lot_details_update(actor=cdc, lot=a_lot, release_certificate="SJ20210001")
    assert AuditEvent.objects.filter(action="supply.lot_details_update").count() == 1
