"""``vaxops bench coldchain``: N temperature readings through the bulk path (the ingest every door uses:
new moments found, stored, the window read back, the excursion engine run, excursions stored and the
unit's stock quarantined), beside the raw database inserting the same rows in the same run.

The readings are spread over ``sensors`` units, one a minute each, mostly 3–7 °C with a freeze (70
minutes at −1.5 °C) and a short warning every day, so the engine has real work. It works in a benchmark
database: the bench units' readings and excursions are emptied before each stage.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from decimal import Decimal

from django.db import connection, transaction

from vaxops.coldchain import services
from vaxops.coldchain.models import Equipment, Excursion, Reading, Sensor, StaffAlert
from vaxops.core import clock
from vaxops.core.actors import SystemActor
from vaxops.supply.models import ColdChainUnit, PlaceKind, StockPlace

Log = Callable[[str], None]
PLACE = "BENCH-COLD"


def _units(n: int) -> list[Sensor]:
    from vaxops.benchmarks.supply import _county

    county = _county()
    place, _ = StockPlace.objects.get_or_create(
        code=PLACE, defaults={"name": "冷链基准", "kind": PlaceKind.COUNTY_STORE, "division": county}
    )
    sensors = []
    for i in range(n):
        code = f"{PLACE}-{i + 1:03d}"
        eq = Equipment.objects.filter(code=code).first()
        if eq is None:
            unit = ColdChainUnit.objects.create(place=place, kind="refrigerator", usable_volume_cm3=100_000)
            eq = Equipment.objects.create(unit=unit, code=code)
        sensors.append(services.sensor_default(equipment=eq))
    return sensors


def _clear(sensors: list[Sensor]) -> None:
    with transaction.atomic():
        StaffAlert.objects.filter(excursion__sensor__in=sensors).delete()
        Excursion.objects.filter(sensor__in=sensors).delete()
        Reading.objects.filter(sensor__in=sensors).delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            c.execute(f"ANALYZE {Reading._meta.db_table}")


def _series(sensors: list[Sensor], readings: int, seed: int) -> list[services.Item]:
    rnd = random.Random(seed)  # noqa: S311  (benchmark data)
    per = max(1, readings // len(sensors))
    end = clock.now().replace(second=0, microsecond=0)
    start = end - dt.timedelta(minutes=per)
    temps = [Decimal(f"{3 + i / 10:.1f}") for i in range(41)]  # 3.0 … 7.0
    freeze, warm = Decimal("-1.5"), Decimal("8.6")
    items: list[services.Item] = []
    row = 0
    for s in sensors:
        offset = rnd.randrange(1440)
        for m in range(per):
            if len(items) >= readings:
                break
            minute_of_day = (m + offset) % 1440
            if 120 <= minute_of_day < 190:
                c = freeze
            elif 600 <= minute_of_day < 605:
                c = warm
            else:
                c = temps[rnd.randrange(len(temps))]
            row += 1
            items.append(services.Item(row, s, start + dt.timedelta(minutes=m), c))
    return items


def _raw(items: list[services.Item]) -> float:
    """The same rows inserted by the database alone (COPY on PostgreSQL, multi-row INSERTs on SQLite)."""
    by_sensor: dict[int, list[tuple[dt.datetime, Decimal]]] = {}
    for i in items:
        by_sensor.setdefault(i.sensor.pk, []).append((i.at, i.celsius))
    t0 = time.perf_counter()
    with transaction.atomic():
        for sensor_id, rows in by_sensor.items():
            services.readings_insert(sensor_id=sensor_id, rows=rows, source="demo", user_id=None)
    return time.perf_counter() - t0


def coldchain_bench(*, readings: int = 1_000_000, sensors: int = 50, seed: int = 1, log: Log = print) -> dict:
    from vaxops.benchmarks.supply import _environment

    units = _units(max(1, min(sensors, readings)))
    items = _series(units, readings, seed)
    log(f"{len(items):,} readings over {len(units)} units")
    _clear(units)
    raw_s = _raw(items)
    log(f"raw insert: {raw_s:.2f} s")
    _clear(units)
    t0 = time.perf_counter()
    result = services.readings_ingest(actor=SystemActor("bench"), items=items, source="demo")
    path_s = time.perf_counter() - t0
    log(f"bulk path: {path_s:.2f} s")
    stored = Reading.objects.filter(sensor__in=units).count()
    excursions = {
        kind: Excursion.objects.filter(sensor__in=units, kind=kind).count()
        for kind in ("freeze", "heat", "warning", "silent")
    }
    return {
        **_environment(),
        "readings": len(items),
        "units": len(units),
        "counts": {
            "read": result.read,
            "stored": result.stored,
            "unchanged": result.unchanged,
            "rejected": result.rejected,
        },
        "readings_in_database": stored,
        "excursions": excursions,
        "raw_insert_s": round(raw_s, 3),
        "raw_rows_per_s": round(len(items) / raw_s) if raw_s else None,
        "bulk_path_s": round(path_s, 3),
        "bulk_rows_per_s": round(len(items) / path_s) if path_s else None,
        "path_over_raw": round(path_s / raw_s, 2) if raw_s else None,
    }
