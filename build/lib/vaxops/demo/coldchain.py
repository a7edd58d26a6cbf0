"""The demo county's cold chain: every unit's inventory record, a week of readings, and one freeze in the
township cold box that has already quarantined the box's vaccines — so a newcomer sees the whole
story (the curve, the excursion, the quarantined codes refused at the desk, the county's decision to take)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from vaxops.accounts.models import User
from vaxops.coldchain import services
from vaxops.coldchain.models import Equipment, ReadingSource
from vaxops.core import clock
from vaxops.core.actors import SystemActor
from vaxops.supply import services as supply_services
from vaxops.supply.models import CodeState, ColdChainUnit, TraceCode

MAKES = (("海尔", "HYC-390"), ("澳柯玛", "YC-329"), ("美菱", "YC-300"), ("中科美菱", "DW-YL270"))
EVERY = dt.timedelta(minutes=15)
BOX_CODES = 20  # moved from the township's refrigerator into its cold box before the freeze


def demo_coldchain_build(*, seed: int = 2021, days: int = 7) -> bool:
    """Build once; returns False when the demo's units already have their records."""
    units = list(ColdChainUnit.objects.select_related("place").order_by("place__code", "id"))
    if not units or Equipment.objects.filter(unit__in=units).exists():
        return False
    rnd = random.Random(seed)  # noqa: S311  (demo data)
    actor = SystemActor("seed-demo")
    keeper = User.objects.filter(username="township").first()
    equipment = []
    per_place: dict[int, int] = {}
    this_year = clock.today().year
    for unit in units:
        n = per_place[unit.place_id] = per_place.get(unit.place_id, 0) + 1
        make, model = MAKES[rnd.randrange(len(MAKES))]
        first_town = unit.place.code.endswith("T001")
        equipment.append(
            Equipment.objects.create(
                unit=unit,
                code=f"{unit.place.code}-{n}",
                make=make,
                model_name=model,
                serial=f"SN{this_year % 100:02d}{rnd.randrange(10**7):07d}",
                year_in_service=this_year - rnd.choice((1, 3, 5, 8, 11)),
                keeper=keeper if first_town else None,
                manual_log=unit.kind != "vehicle",
            )
        )
    end = clock.now().replace(second=0, microsecond=0)
    end -= dt.timedelta(minutes=end.minute % 15)
    start = end - dt.timedelta(days=days)
    # The cold box of the township store holding the most stock (the first township's, in a full demo).
    boxes = [e for e in equipment if e.unit.kind == "cold_box"]
    stock = {
        e.pk: TraceCode.objects.filter(place=e.unit.place, state=CodeState.IN_STOCK).count() for e in boxes
    }
    box = max(boxes, key=lambda e: (stock[e.pk], -e.unit.place_id), default=None)
    if box is not None:
        codes = list(
            TraceCode.objects.filter(place=box.unit.place, state=CodeState.IN_STOCK)
            .order_by("code")
            .values_list("code", flat=True)[:BOX_CODES]
        )
        if codes:
            supply_services.codes_move(
                actor=actor, codes=codes, to_unit=box.unit, reason="演示：装箱准备下乡"
            )
    # The box froze two days ago for 90 minutes (an ice pack against the vials).
    freeze_from = end - dt.timedelta(days=2, hours=3)
    freeze_to = freeze_from + dt.timedelta(minutes=90)
    for eq in equipment:
        sensor = services.sensor_default(equipment=eq)
        base = 4.0 + rnd.random() * 1.5
        items = []
        at, i = start, 0
        while at <= end:
            hour = at.hour + at.minute / 60
            wave = 0.8 * (1 if 6 <= (hour + 8) % 24 <= 18 else -1) * rnd.random()
            c = base + wave + rnd.uniform(-0.3, 0.3)
            if eq is box and freeze_from <= at <= freeze_to:
                c = -1.2 - rnd.random()
            items.append(services.Item(i + 1, sensor, at, Decimal(f"{c:.1f}")))
            at += EVERY
            i += 1
        services.readings_ingest(actor=actor, items=items, source=ReadingSource.DEMO)
    return True
