"""Transport: the temperature on arrival is recorded at receipt; an arrival outside the product's storage range
quarantines exactly the codes that arrived (not the rest of the fridge), files an excursion of kind 到货温度异常
for the county's decision, and the desk refuses those codes."""

from decimal import Decimal

import pytest

from vaxops.coldchain import services
from vaxops.coldchain.models import Excursion, QuarantinedCode
from vaxops.core.actors import SystemActor
from vaxops.core.errors import ValidationFailed
from vaxops.supply import selectors as supply_selectors
from vaxops.supply import services as supply
from vaxops.supply.errors import SupplyErrorCode
from vaxops.supply.models import CodeState, ColdChainUnit, Dispatch, PlaceKind, StockPlace, TraceCode
from vaxops.supply.tests.factories import county_store, receive

from .helpers import equipment_for


@pytest.fixture
def route(county, village_a1):
    store = county_store(county)
    place = StockPlace.objects.create(
        code="S1", name="甲镇门诊冷柜", kind=PlaceKind.SITE, division=village_a1.parent, parent=store
    )
    ColdChainUnit.objects.create(place=place, kind="refrigerator", usable_volume_cm3=100_000)
    eq = equipment_for(place)
    lot = receive(store, n=20)
    return store, place, eq, lot


def _send(store, place, lot, doses):
    return supply.dispatch_create(
        actor=SystemActor("test"), from_place=store, to_place=place, product=lot.product, doses=doses
    )


def test_an_arrival_in_range_is_recorded_and_holds_nothing(route):
    store, place, eq, lot = route
    d = supply.dispatch_receive(
        actor=SystemActor("test"), dispatch=_send(store, place, lot, 5), arrival_celsius="5.5"
    )
    assert Dispatch.objects.get(pk=d.pk).arrival_celsius == Decimal("5.50")
    assert not Excursion.objects.exists()
    assert TraceCode.objects.filter(place=place, state=CodeState.IN_STOCK).count() == 5


def test_an_arrival_out_of_range_quarantines_what_arrived_only(route, cdc):
    store, place, eq, lot = route
    actor = SystemActor("test")
    first = supply.dispatch_receive(actor=actor, dispatch=_send(store, place, lot, 5))  # no temperature given
    warm = _send(store, place, lot, 5)
    supply.dispatch_receive(actor=actor, dispatch=warm, arrival_celsius=12)
    e = Excursion.objects.get(kind="arrival")
    assert (e.equipment, str(e.extreme), e.status, e.codes_quarantined) == (eq, "12.00", "open", 5)
    held = set(QuarantinedCode.objects.filter(excursion=e).values_list("code_id", flat=True))
    assert held == set(TraceCode.objects.filter(dispatch=warm).values_list("id", flat=True))
    assert TraceCode.objects.filter(place=place, state=CodeState.QUARANTINED).count() == 5
    # The earlier delivery in the same fridge stays usable.
    assert TraceCode.objects.filter(dispatch=first, state=CodeState.IN_STOCK).count() == 5
    assert supply_selectors.ledger_check()["balanced"]
    # The county decides as for any excursion: released with the reason.
    services.excursion_acknowledge(actor=cdc, excursion=e, note="")
    services.excursion_assess(
        actor=cdc, excursion=e, decision="release", reason="厂家稳定性数据：12℃下72小时内稳定"
    )
    assert TraceCode.objects.filter(place=place, state=CodeState.IN_STOCK).count() == 10


def test_a_freezing_arrival_is_out_of_range_too_and_a_bad_value_is_refused(route):
    store, place, eq, lot = route
    with pytest.raises(ValidationFailed) as refused:
        supply.dispatch_receive(
            actor=SystemActor("test"), dispatch=_send(store, place, lot, 5), arrival_celsius="热"
        )
    assert refused.value.code == SupplyErrorCode.ARRIVAL_TEMPERATURE_INVALID
    d = Dispatch.objects.get()
    assert d.status == "in_transit"
    supply.dispatch_receive(actor=SystemActor("test"), dispatch=d, arrival_celsius=Decimal("-1.5"))
    assert Excursion.objects.get(kind="arrival").codes_quarantined == 5


def test_receipt_by_api_takes_the_arrival_temperature(client, route, cdc):
    from vaxops.accounts.services import api_token_create

    store, place, eq, lot = route
    d = _send(store, place, lot, 5)
    _, raw = api_token_create(user=cdc, name="test")
    r = client.post(
        f"/api/v1/supply/dispatches/{d.pk}/receive",
        {"arrival_celsius": 9.2},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert r.status_code == 200, r.content
    assert r.json()["arrival_celsius"] == "9.20"
    assert TraceCode.objects.filter(dispatch=d, state=CodeState.QUARANTINED).count() == 5
