"""Builders shared by the cold-chain tests."""

import datetime as dt
from decimal import Decimal

from vaxops.coldchain import services
from vaxops.coldchain.models import Equipment
from vaxops.core.actors import SystemActor
from vaxops.supply.models import ColdChainUnit


def equipment_for(place, code="S1-F1", keeper=None, **kw) -> Equipment:
    unit = ColdChainUnit.objects.filter(place=place).order_by("id").first()
    return Equipment.objects.create(unit=unit, code=code, keeper=keeper, **kw)


def feed(eq, start: dt.datetime, temps, *, every=1, actor=None, source="api"):
    sensor = services.sensor_default(equipment=eq)
    items = [
        services.Item(i + 1, sensor, start + dt.timedelta(minutes=i * every), Decimal(str(c)))
        for i, c in enumerate(temps)
    ]
    return services.readings_ingest(actor=actor or SystemActor("test"), items=items, source=source)
