"""Batches of one sensor arriving at the same moment on PostgreSQL: the sensor's row lock makes them judged
one after the other, so two halves of one freeze open exactly one excursion and quarantine once."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from vaxops.coldchain import services
from vaxops.coldchain.models import Excursion, QuarantinedCode, Reading
from vaxops.core.actors import SystemActor
from vaxops.supply.models import CodeState, TraceCode

from .helpers import equipment_for

pytestmark = pytest.mark.usefixtures("audit_log_flushable")


@pytest.mark.django_db(transaction=True)
def test_two_halves_of_a_freeze_arriving_together_open_one_excursion(county, village_a1, vaccinator):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite serialises writers, so it cannot show concurrent batches racing"
        )
    from vaxops.desk.tests.desk_setup import open_site

    site = open_site(county, village_a1, vaccinator)
    eq = equipment_for(site.place)
    sensor = services.sensor_default(equipment=eq)
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(hours=4)
    halves = [
        [
            services.Item(i + 1, sensor, start + dt.timedelta(minutes=m), Decimal("-1"))
            for i, m in enumerate(ms)
        ]
        for ms in (
            range(0, 80, 2),
            range(1, 80, 2),
        )  # even and odd minutes: each half alone is continuous too
    ]
    # Each half alone spans 78 minutes, so either alone opens the freeze: together they must open it once.
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def send(items) -> None:
        try:
            barrier.wait(timeout=10)
            services.readings_ingest(actor=SystemActor("test:thread"), items=items, source="api")
        except Exception as e:  # noqa: BLE001
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(h,)) for h in halves]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert Reading.objects.filter(sensor=sensor).count() == 80
    freeze = Excursion.objects.get(kind="freeze")
    assert freeze.start == start and freeze.duration_seconds == 79 * 60
    assert QuarantinedCode.objects.filter(excursion=freeze).count() == 10
    assert TraceCode.objects.filter(state=CodeState.QUARANTINED).count() == 10
