"""Where each dose was: an excursion holds the codes that were in the unit at any time during it, wherever
they are now — dispatched to another place since, moved on, or still in transit (held, then quarantined on
arrival) — and a vehicle's excursion during a transport holds exactly the codes of the dispatches it
carried then; the dispatch's page shows the vehicle's readings from dispatch to receipt."""

import datetime as dt

import pytest
from django.utils import timezone

from vaxops.coldchain import services
from vaxops.coldchain.models import Equipment, Excursion, QuarantinedCode
from vaxops.core.actors import SystemActor
from vaxops.core.errors import ValidationFailed
from vaxops.desk import services as desk_services
from vaxops.desk.tests.desk_setup import code, open_site, ready_person, ten_in_the_morning
from vaxops.supply import selectors as supply_selectors
from vaxops.supply import services as supply
from vaxops.supply.models import CodeState, ColdChainUnit, DispatchCode, StockPlace, TraceCode
from vaxops.supply.tests.factories import receive

from .helpers import feed

ACTOR = SystemActor("test")


@pytest.fixture
def chain(county, village_a1, vaccinator, monkeypatch):
    """A site S1 open today (10:00, clock fixed) whose fridge holds codes 1–10, and the county store CDC with a
    fridge holding codes 101–110 (another lot) and a refrigerated vehicle, each with its cold-chain record."""
    now = ten_in_the_morning(monkeypatch)
    site = open_site(county, village_a1, vaccinator)
    store = StockPlace.objects.get(code="CDC")
    fridge = ColdChainUnit.objects.create(place=store, kind="refrigerator", usable_volume_cm3=100_000)
    car = ColdChainUnit.objects.create(place=store, kind="vehicle", name="冷藏车1", usable_volume_cm3=500_000)
    receive(store, lot_number="202105002", first=101, n=10)
    assert set(TraceCode.objects.filter(place=store).values_list("unit", flat=True)) == {fridge.pk}
    site.now = now
    site.store = store
    site.fridge = Equipment.objects.create(unit=fridge, code="CDC-F1")
    site.car = Equipment.objects.create(unit=car, code="CDC-CAR1")
    site.s1_fridge = Equipment.objects.create(unit=ColdChainUnit.objects.get(place=site.place), code="S1-F1")
    return site


def _set_clock(monkeypatch, at):
    monkeypatch.setattr(timezone, "now", lambda: at)


def _send(chain, doses, vehicle=None):
    return supply.dispatch_create(
        actor=ACTOR,
        from_place=chain.store,
        to_place=chain.place,
        product=chain.lot.product,
        doses=doses,
        vehicle=vehicle.unit if vehicle else None,
    )


def _codes(dispatch) -> set[int]:
    return set(DispatchCode.objects.filter(dispatch=dispatch).values_list("code_id", flat=True))


def _state(ids) -> set[str]:
    return set(TraceCode.objects.filter(id__in=ids).values_list("state", flat=True))


def test_a_dispatch_keeps_the_unit_each_code_was_taken_from(chain):
    d = _send(chain, 4)
    assert set(DispatchCode.objects.filter(dispatch=d).values_list("from_unit", flat=True)) == {
        chain.fridge.unit_id
    }


def test_codes_dispatched_during_an_excursion_are_quarantined_where_they_are_now_and_refused(
    chain, village_a1, vaccinator
):
    now = chain.now
    feed(chain.fridge, now - dt.timedelta(minutes=120), [5.0] + [-1.0] * 30)  # freezing, not yet 60 minutes
    d = _send(chain, 6)  # 10:00: six codes leave the freezing fridge for S1 ...
    supply.dispatch_receive(actor=ACTOR, dispatch=d)  # ... and are in S1's fridge now
    sent = _codes(d)
    assert _state(sent) == {CodeState.IN_STOCK}
    # the logger's later readings complete the freeze (08:01–09:10) after the codes left
    feed(chain.fridge, now - dt.timedelta(minutes=89), [-1.0] * 40 + [5.0])
    freeze = Excursion.objects.get(equipment=chain.fridge, kind="freeze")
    held = set(QuarantinedCode.objects.filter(excursion=freeze).values_list("code_id", flat=True))
    left = set(
        TraceCode.objects.filter(place=chain.store, lot__lot_number="202105002").values_list("id", flat=True)
    )
    assert held == sent | left and len(held) == 10
    assert _state(sent) == {CodeState.QUARANTINED}
    assert set(TraceCode.objects.filter(id__in=sent).values_list("place", flat=True)) == {chain.place.pk}
    # S1's own codes (1–10) were never in that fridge
    assert not TraceCode.objects.filter(code__in=[code(i) for i in range(1, 11)], state=CodeState.QUARANTINED)
    assert supply_selectors.ledger_check()["balanced"]
    # the next scan at S1 refuses a code that came from the frozen fridge
    person = ready_person(chain, village_a1, 1)
    moved = TraceCode.objects.filter(id__in=sent).order_by("code").first()
    check = desk_services.dose_check(actor=vaccinator, resident_id=person.pk, code=moved.code)
    assert "code_quarantined" in [f["code"] for f in check["failures"]]


def test_codes_moved_on_after_leaving_are_still_found(chain):
    now = chain.now
    d = _send(chain, 3)
    supply.dispatch_receive(actor=ACTOR, dispatch=d)
    box = ColdChainUnit.objects.create(place=chain.place, kind="cold_box", usable_volume_cm3=1000)
    sent = _codes(d)
    supply.codes_move(
        actor=None,
        codes=list(TraceCode.objects.filter(id__in=sent).values_list("code", flat=True)),
        to_unit=box,
    )
    feed(chain.fridge, now - dt.timedelta(minutes=90), [-1.0] * 70 + [5.0])
    assert _state(sent) == {CodeState.QUARANTINED}
    assert set(TraceCode.objects.filter(id__in=sent).values_list("unit", flat=True)) == {box.pk}


def test_codes_dispatched_before_an_excursion_began_are_left_alone(chain):
    d = _send(chain, 6)
    supply.dispatch_receive(actor=ACTOR, dispatch=d)
    feed(
        chain.fridge, chain.now + dt.timedelta(minutes=5), [-1.0] * 61 + [5.0]
    )  # 10:05–11:05, after they left
    freeze = Excursion.objects.get(equipment=chain.fridge, kind="freeze")
    assert _state(_codes(d)) == {CodeState.IN_STOCK}
    assert freeze.codes_quarantined == 4  # what was still in the fridge


def test_codes_in_transit_are_held_and_quarantined_on_arrival(chain, cdc):
    d = _send(chain, 5)  # 10:00, not received yet
    feed(chain.fridge, chain.now - dt.timedelta(minutes=90), [-1.0] * 70 + [5.0])
    freeze = Excursion.objects.get(equipment=chain.fridge, kind="freeze")
    sent = _codes(d)
    assert _state(sent) == {CodeState.IN_TRANSIT}  # the receipt still takes them
    assert sent <= set(
        QuarantinedCode.objects.filter(excursion=freeze, outcome="held").values_list("code_id", flat=True)
    )
    assert freeze.codes_quarantined == 10
    services.excursion_acknowledge(actor=cdc, excursion=freeze)
    with pytest.raises(ValidationFailed) as refused:
        services.excursion_assess(
            actor=cdc, excursion=freeze, decision="destroy", reason="冻结", witness="王监督"
        )
    assert refused.value.code == "codes_in_transit"
    supply.dispatch_receive(actor=ACTOR, dispatch=d)
    assert _state(sent) == {CodeState.QUARANTINED}
    assert set(TraceCode.objects.filter(id__in=sent).values_list("place", flat=True)) == {chain.place.pk}
    services.excursion_assess(
        actor=cdc, excursion=freeze, decision="destroy", reason="冻结", witness="王监督"
    )
    assert _state(sent) == {CodeState.WASTED}
    assert supply_selectors.ledger_check()["balanced"]


def test_a_release_before_arrival_lets_them_arrive_in_stock(chain, cdc):
    d = _send(chain, 5)
    feed(chain.fridge, chain.now - dt.timedelta(minutes=90), [-1.0] * 70 + [5.0])
    freeze = Excursion.objects.get(equipment=chain.fridge, kind="freeze")
    services.excursion_acknowledge(actor=cdc, excursion=freeze)
    services.excursion_assess(actor=cdc, excursion=freeze, decision="release", reason="厂家稳定性数据")
    supply.dispatch_receive(actor=ACTOR, dispatch=d)
    assert _state(_codes(d)) == {CodeState.IN_STOCK}


def test_a_vehicle_excursion_holds_exactly_the_codes_it_carried_then(chain, monkeypatch, cdc, client):
    earlier = _send(chain, 2, vehicle=chain.car)  # carried and received at 10:00, before the freeze
    supply.dispatch_receive(actor=ACTOR, dispatch=earlier)
    carried = _send(chain, 3, vehicle=chain.car)  # leaves at 10:00 in the car
    other = _send(chain, 2)  # leaves at 10:00 without a named carrier
    # the car's logger: 10:05–11:10 at −1.5 ℃, back in range at 11:11
    feed(chain.car, chain.now + dt.timedelta(minutes=5), [-1.5] * 66 + [5.0])
    freeze = Excursion.objects.get(equipment=chain.car, kind="freeze")
    held = set(QuarantinedCode.objects.filter(excursion=freeze).values_list("code_id", flat=True))
    assert held == _codes(carried)
    assert _state(_codes(carried)) == {CodeState.IN_TRANSIT}
    _set_clock(monkeypatch, chain.now + dt.timedelta(minutes=90))  # 11:30: arrives
    supply.dispatch_receive(actor=ACTOR, dispatch=carried, arrival_celsius="4.0")
    supply.dispatch_receive(actor=ACTOR, dispatch=other)
    assert _state(_codes(carried)) == {CodeState.QUARANTINED}
    assert _state(_codes(other) | _codes(earlier)) == {CodeState.IN_STOCK}
    assert TraceCode.objects.filter(place=chain.store, state=CodeState.IN_STOCK).count() == 3
    assert supply_selectors.ledger_check()["balanced"]

    # the dispatch's page shows the car's readings from dispatch to receipt (logged in at the fixed clock)
    client.force_login(cdc)
    page = client.get(f"/supply/dispatches/{carried.pk}/").content.decode()
    assert 'id="transport"' in page and "CDC-CAR1" in page
    assert "67个，最低-1.50℃，最高5.00℃" in page
    assert "本调拨单3个追溯码因温度超标隔离" in page
    plain = client.get(f"/supply/dispatches/{other.pk}/").content.decode()
    assert 'id="transport"' not in plain


def test_a_dispatch_names_a_carrier_of_its_places_only(chain):
    other = StockPlace.objects.create(code="X9", name="他处", kind="site", division=chain.place.division)
    van = ColdChainUnit.objects.create(place=other, kind="vehicle", usable_volume_cm3=1000)
    with pytest.raises(ValidationFailed) as refused:
        supply.dispatch_create(
            actor=ACTOR,
            from_place=chain.store,
            to_place=chain.place,
            product=chain.lot.product,
            doses=1,
            vehicle=van,
        )
    assert refused.value.code == "dispatch_vehicle_invalid"
    with pytest.raises(ValidationFailed):
        supply.dispatch_create(
            actor=ACTOR,
            from_place=chain.store,
            to_place=chain.place,
            product=chain.lot.product,
            doses=1,
            vehicle=chain.fridge.unit,
        )
