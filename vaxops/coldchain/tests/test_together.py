"""Many sensors' readings ingested together (one transaction, a fixed number of statements: the MQTT
listener's path) give the same readings, counts and excursions as each sensor's own transaction."""

import datetime as dt
import random
from decimal import Decimal

import pytest

from vaxops.coldchain import services
from vaxops.coldchain.models import Equipment, Excursion, Reading
from vaxops.core.actors import SystemActor
from vaxops.supply.models import ColdChainUnit, PlaceKind, StockPlace

T0 = dt.datetime(2026, 11, 20, 0, 0, tzinfo=dt.UTC)
ACTOR = SystemActor("test")


def _sensors(place, prefix: str, n: int):
    out = []
    for i in range(n):
        unit = ColdChainUnit.objects.create(place=place, kind="refrigerator", usable_volume_cm3=1000)
        eq = Equipment.objects.create(
            unit=unit, code=f"{prefix}{i}", heat_minutes=30, freeze_minutes=15, silent_minutes=20
        )
        out.append(services.sensor_default(equipment=eq))
    return out


def _series(rnd: random.Random, minutes: int):
    temps = [Decimal("5.0"), Decimal("4.2"), Decimal("-1.0"), Decimal("-0.5"), Decimal("9.0"), Decimal("1.5")]
    out, c = [], temps[0]
    for m in range(minutes):
        if rnd.random() < 0.08:
            c = rnd.choice(temps)
        if rnd.random() < 0.03:
            continue  # a gap: some minutes without a reading
        out.append((T0 + dt.timedelta(minutes=m), c))
    return out


def _excursions(sensor):
    return [
        (e.kind, e.start, e.last_seen, e.end, e.extreme, e.duration_seconds)
        # A total order: a late reading joining two stored runs extends the later and leaves the earlier as
        # it was, so two excursions of one kind may share a start.
        for e in Excursion.objects.filter(sensor=sensor).order_by("start", "kind", "last_seen", "end")
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_together_gives_what_one_sensor_at_a_time_gives(county, seed):
    place = StockPlace.objects.create(code="P1", name="冷库", kind=PlaceKind.COUNTY_STORE, division=county)
    alone, together = _sensors(place, "A", 3), _sensors(place, "B", 3)
    rnd = random.Random(seed)  # noqa: S311
    batches: list[list[tuple[int, dt.datetime, Decimal]]] = []
    pending = [(k, at, c) for k in range(3) for at, c in _series(rnd, 240)]
    rnd.shuffle(pending)  # late and out of order, across sensors
    pending += pending[:15]  # retries: unchanged
    pending.append((0, pending[0][1], Decimal("7.7")))  # a conflicting reading: rejected
    while pending:
        size = rnd.randint(1, 12)
        batches.append(pending[:size])
        pending = pending[size:]
    totals = {"alone": services.IngestResult(), "together": services.IngestResult()}
    for batch in batches:
        a = [services.Item(i + 1, alone[k], at, c) for i, (k, at, c) in enumerate(batch)]
        b = [services.Item(i + 1, together[k], at, c) for i, (k, at, c) in enumerate(batch)]
        totals["alone"].merge(services.readings_ingest(actor=ACTOR, items=a, source="api"))
        totals["together"].merge(services.readings_ingest(actor=ACTOR, items=b, source="mqtt", together=True))
    for name in ("read", "stored", "unchanged", "rejected", "excursions_opened"):
        assert getattr(totals["alone"], name) == getattr(totals["together"], name), name
    assert totals["together"].rejected >= 1 and totals["together"].unchanged >= 15
    for k in range(3):
        assert (
            Reading.objects.filter(sensor=alone[k]).count()
            == Reading.objects.filter(sensor=together[k]).count()
        )
        assert _excursions(alone[k]) == _excursions(together[k])
    for e in Excursion.objects.filter(sensor__in=[*alone, *together]):
        assert e.start <= e.last_seen and (e.end is None or e.last_seen <= e.end), e
    kinds = {e[0] for k in range(3) for e in _excursions(together[k])}
    assert kinds >= {"warning", "silent"} and kinds & {"freeze", "heat"}


def test_together_counts_few_statements(county, django_assert_max_num_queries):
    place = StockPlace.objects.create(code="P1", name="冷库", kind=PlaceKind.COUNTY_STORE, division=county)
    sensors = _sensors(place, "C", 20)
    for s in sensors:
        services.readings_ingest(
            actor=ACTOR, items=[services.Item(1, s, T0, Decimal("5.0"))], source="mqtt", together=True
        )
    items = [
        services.Item(i + 1, s, T0 + dt.timedelta(minutes=1), Decimal("5.1")) for i, s in enumerate(sensors)
    ]
    with django_assert_max_num_queries(12):
        result = services.readings_ingest(actor=ACTOR, items=items, source="mqtt", together=True)
    assert result.stored == 20
