"""Every change of a traceability code's state reaches the traceability platform as a Medication update, also
those made on a dispatch's receipt (the codes wasted as discrepancies: broken on arrival, not arrived), those
quarantined on arrival (held in transit by an excursion, or arrived out of range) and those written off by a
stock count."""

import datetime as dt

import pytest

from vaxops.coldchain.tests.helpers import feed
from vaxops.coldchain.tests.test_arrival import route  # noqa: F401 - a fixture
from vaxops.coldchain.tests.test_transport import _send as send_on_chain
from vaxops.coldchain.tests.test_transport import chain  # noqa: F401 - a fixture
from vaxops.core.actors import SystemActor
from vaxops.exchange import resources, services
from vaxops.exchange.models import Endpoint, OutboundMessage
from vaxops.supply import services as supply
from vaxops.supply.models import CodeState, Discrepancy, TraceCode
from vaxops.supply.signals import codes_changed

ACTOR = SystemActor("test")


@pytest.fixture
def trace(receiver, db):
    return Endpoint.objects.create(code="trace", name="追溯平台", kind="traceability", url=receiver.url)


def _messages(trace):
    return set(
        OutboundMessage.objects.filter(endpoint=trace, kind="code").values_list("trace_code_id", "code_state")
    )


def _medication_states(receiver):
    out = {}
    for m in receiver.store.resources["Medication"].values():
        (ext,) = (e for e in m["extension"] if e["url"] == resources.EXT_CODE_STATE)
        out[m["identifier"][0]["value"]] = ext["valueCoding"]["code"]
    return out


def test_codes_wasted_on_a_dispatchs_receipt_reach_the_traceability_platform(route, trace, receiver):  # noqa: F811
    store, place, _eq, lot = route
    d = supply.dispatch_create(actor=ACTOR, from_place=store, to_place=place, product=lot.product, doses=5)
    codes = list(TraceCode.objects.filter(dispatch=d).order_by("code").values_list("id", "code"))
    (broken_id, broken), (short_id, _short), *arrived = codes
    heard = []

    def listen(sender, code_ids, state, **kwargs):
        heard.append((sorted(code_ids), state))

    codes_changed.connect(listen)
    try:
        supply.dispatch_receive(actor=ACTOR, dispatch=d, scanned=[c for _i, c in arrived], damaged=[broken])
    finally:
        codes_changed.disconnect(listen)
    assert set(Discrepancy.objects.filter(dispatch=d).values_list("kind", flat=True)) == {"damaged", "short"}
    assert heard == [(sorted([broken_id, short_id]), "wasted")]
    assert _messages(trace) == {(broken_id, "wasted"), (short_id, "wasted")}

    result = services.outbox_drain()
    assert (result.acknowledged, result.failed) == (2, 0), result.errors
    assert _medication_states(receiver) == {broken: "wasted", _short: "wasted"}


def test_a_full_receipt_wastes_nothing_and_sends_nothing(route, trace):  # noqa: F811
    store, place, _eq, lot = route
    d = supply.dispatch_create(actor=ACTOR, from_place=store, to_place=place, product=lot.product, doses=3)
    supply.dispatch_receive(actor=ACTOR, dispatch=d)
    assert _messages(trace) == set()


def test_an_arrival_out_of_range_sends_the_quarantined_codes(route, trace):  # noqa: F811
    store, place, _eq, lot = route
    d = supply.dispatch_create(actor=ACTOR, from_place=store, to_place=place, product=lot.product, doses=4)
    supply.dispatch_receive(actor=ACTOR, dispatch=d, arrival_celsius=12)
    ids = set(TraceCode.objects.filter(dispatch=d).values_list("id", flat=True))
    assert set(TraceCode.objects.filter(id__in=ids).values_list("state", flat=True)) == {
        CodeState.QUARANTINED
    }
    assert _messages(trace) == {(i, "quarantined") for i in ids}


def test_codes_held_in_transit_are_sent_quarantined_on_arrival(chain, trace, receiver):  # noqa: F811
    d = send_on_chain(chain, 5)
    sent = set(TraceCode.objects.filter(dispatch=d).values_list("id", flat=True))
    feed(chain.fridge, chain.now - dt.timedelta(minutes=90), [-1.0] * 70 + [5.0])
    # In transit the codes are only held: their state has not changed yet, nothing is sent for them.
    assert not {i for i, _s in _messages(trace)} & sent
    supply.dispatch_receive(actor=ACTOR, dispatch=d)
    assert {(i, s) for i, s in _messages(trace) if i in sent} == {(i, "quarantined") for i in sent}

    result = services.outbox_drain()
    assert result.failed == 0, result.errors
    codes = dict(TraceCode.objects.filter(id__in=sent).values_list("code", "state"))
    states = _medication_states(receiver)
    assert {c: states[c] for c in codes} == dict.fromkeys(codes, "quarantined")


def test_codes_written_off_by_a_stock_count_are_sent_wasted(route, trace, cdc):  # noqa: F811
    store, _place, _eq, _lot = route
    held = list(TraceCode.objects.filter(place=store).order_by("code").values_list("id", "code"))
    found, missing = held[:-2], held[-2:]
    supply.stock_count_record(
        actor=cdc, place=store, scanned=[c for _i, c in found], adjust=True, reason="冷库盘点未找到"
    )
    assert _messages(trace) == {(i, "wasted") for i, _c in missing}
