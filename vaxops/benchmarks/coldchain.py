"""``vaxops bench coldchain``: N temperature readings through the bulk path (the ingest every door uses:
new moments found, stored, the window read back, the excursion engine run, excursions stored and the
unit's stock quarantined), beside the raw database inserting the same rows in the same run.

The readings are spread over ``sensors`` units, one a minute each, mostly 3–7 °C with a freeze (70
minutes at −1.5 °C) and a short warning every day, so the engine has real work. It works in a benchmark
database: the bench units' readings and excursions are emptied before each stage.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Callable
from decimal import Decimal

from django.db import connection, transaction

from vaxops.coldchain import services
from vaxops.coldchain.models import Equipment, Excursion, QuarantinedCode, Reading, Sensor, StaffAlert
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
        QuarantinedCode.objects.filter(excursion__sensor__in=sensors).delete()
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

    load_start = os.getloadavg()[0]
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
        "load_average_1min": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
    }


# --------------------------------------------------------------------------------------------------
# Through MQTT: `vaxops bench coldchain --mqtt mqtt://127.0.0.1:1883`
# --------------------------------------------------------------------------------------------------

MQTT_CODES_PER_UNIT = 5
MQTT_LOT = "BENCHCOLD-MQTT"


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def _ms(values: list[float]) -> dict:
    def r(v):
        return None if v is None else round(v * 1000, 1)

    return {
        "n": len(values),
        "p50_ms": r(_percentile(values, 50)),
        "p99_ms": r(_percentile(values, 99)),
        "max_ms": r(max(values) if values else None),
    }


def _mqtt_stock(sensors: list[Sensor]) -> list[int]:
    """Five codes in stock in each bench unit (the freeze quarantines them); reset before each run."""
    from vaxops.catalog.models import Product
    from vaxops.supply.models import CodeState, Lot, TraceCode

    product = Product.objects.order_by("code").first()
    if product is None:
        raise RuntimeError("没有疫苗品种：先运行 vaxops demo 或其他基准建立目录")
    lot, _created = Lot.objects.get_or_create(
        product=product, lot_number=MQTT_LOT, defaults={"expiry": dt.date(2099, 12, 31)}
    )
    QuarantinedCode.objects.filter(code__lot=lot).delete()
    TraceCode.objects.filter(lot=lot).update(state=CodeState.IN_STOCK)
    rows = []
    for n, s in enumerate(sensors):
        unit = s.equipment.unit
        for i in range(MQTT_CODES_PER_UNIT):
            rows.append(
                TraceCode(
                    code=f"99{n:06d}{i:012d}",
                    lot=lot,
                    state=CodeState.IN_STOCK,
                    place_id=unit.place_id,
                    unit=unit,
                )
            )
    TraceCode.objects.bulk_create(rows, ignore_conflicts=True)
    return list(TraceCode.objects.filter(lot=lot).values_list("id", flat=True))


def _celsius(i: int, t: int) -> float:
    """Sensor ``i``'s reading number ``t`` (one every two logger minutes): in range, then a freeze from
    reading 5 + i % 20 lasting 35 readings (70 minutes), completed (60 minutes) by its 31st reading."""
    start = 5 + i % 20
    return -1.5 if start <= t < start + 35 else 5.0


def coldchain_mqtt_bench(
    *, url: str = "mqtt://127.0.0.1:1883", sensors: int = 200, seconds: int = 60, log: Log = print
) -> dict:
    """``sensors`` units publish one reading a second each for ``seconds`` seconds (logger time advancing two
    minutes a reading, so each unit completes a 60-minute freeze within the run) to the broker; the real
    listener (`vaxops coldchain listen`, a separate process) stores them. Measured: every reading stored,
    publish → stored (polled every 20 ms) and the reading that completes a freeze → its unit's codes seen
    quarantined; beside it, the raw database inserting the same rows one per transaction."""
    import json
    import os
    import subprocess
    import sys
    import threading
    from urllib.parse import urlparse

    import paho.mqtt.client as paho
    from django.db import connections

    from vaxops.benchmarks.supply import _environment
    from vaxops.supply.models import CodeState, TraceCode

    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 1883
    load_start = os.getloadavg()[0]
    units = _units(sensors)
    _clear(units)
    code_ids = _mqtt_stock(units)
    codes_of_unit: dict[int, int] = {}
    for uid in TraceCode.objects.filter(id__in=code_ids).values_list("unit_id", flat=True):
        codes_of_unit[uid] = codes_of_unit.get(uid, 0) + 1
    eqs = {s.pk: s.equipment for s in units}
    expected = sensors * seconds
    base = clock.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=2 * seconds + 10)

    publisher = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"vaxops-bench-{os.getpid()}")
    try:
        publisher.connect(host, port, keepalive=30)
    except OSError as e:
        raise RuntimeError(f"MQTT 服务器 {host}:{port} 无法连接：{e}") from None
    publisher.loop_start()
    listener = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "vaxops.cli",
            "coldchain",
            "listen",
            "--mqtt",
            url,
            "--seconds",
            str(seconds * 4),
        ],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # Wait until the listener is subscribed: a probe reading of the first unit is stored.
        probe_at = base - dt.timedelta(days=1)
        deadline = time.monotonic() + 60
        while not Reading.objects.filter(sensor=units[0], at=probe_at).exists():
            if time.monotonic() > deadline or listener.poll() is not None:
                raise RuntimeError(
                    "监听进程未能接收 MQTT 消息："
                    + (listener.stderr.read().decode()[-500:] if listener.poll() is not None else "超时")
                )
            publisher.publish(
                f"vaxops/coldchain/{eqs[units[0].pk].code}/temperature",
                json.dumps({"at": probe_at.isoformat(), "celsius": 5.0}),
                qos=1,
            )
            time.sleep(0.5)
        Reading.objects.filter(sensor=units[0], at=probe_at).delete()
        log(f"listener ready; publishing {sensors} sensors × {seconds} s")

        published: dict[tuple[int, dt.datetime], float] = {}
        seen_reading: dict[tuple[int, dt.datetime], float] = {}
        seen_quarantine: dict[int, float] = {}
        done = threading.Event()
        sensor_ids = [s.pk for s in units]

        def poll() -> None:
            last = 0
            try:
                while True:
                    t = time.time()
                    for pk, sid, at in Reading.objects.filter(
                        sensor_id__in=sensor_ids, id__gt=last
                    ).values_list("id", "sensor_id", "at"):
                        seen_reading.setdefault((sid, at), t)
                        last = max(last, pk)
                    for uid in (
                        TraceCode.objects.filter(id__in=code_ids, state=CodeState.QUARANTINED)
                        .values_list("unit_id", flat=True)
                        .distinct()
                    ):
                        seen_quarantine.setdefault(uid, t)
                    if done.is_set() and (len(seen_reading) >= expected or time.time() > done_at[0]):
                        return
                    time.sleep(0.02)
            finally:
                connections.close_all()

        done_at = [0.0]
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        t0 = time.time()
        for t in range(seconds):
            at = base + dt.timedelta(minutes=2 * t)
            for i, s in enumerate(units):
                due = t0 + t + i / sensors
                wait = due - time.time()
                if wait > 0:
                    time.sleep(wait)
                published[(s.pk, at)] = time.time()
                publisher.publish(
                    f"vaxops/coldchain/{eqs[s.pk].code}/temperature",
                    json.dumps({"at": at.isoformat(), "celsius": _celsius(i, t)}),
                    qos=1,
                )
        publish_s = time.time() - t0
        done_at[0] = time.time() + 120
        done.set()
        poller.join()
        drain_s = time.time() - t0
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        listener.terminate()
        try:
            listener.wait(timeout=30)
        except subprocess.TimeoutExpired:
            listener.kill()
    stored_latency = [seen_reading[k] - v for k, v in published.items() if k in seen_reading]
    # the reading that completes each unit's freeze: its 31st freezing reading
    quarantine_latency = []
    for i, s in enumerate(units):
        completing = base + dt.timedelta(minutes=2 * (5 + i % 20 + 30))
        unit_id = eqs[s.pk].unit_id
        if (s.pk, completing) in published and unit_id in seen_quarantine:
            quarantine_latency.append(seen_quarantine[unit_id] - published[(s.pk, completing)])
    stored = Reading.objects.filter(sensor__in=units).count()
    freezes = Excursion.objects.filter(sensor__in=units, kind="freeze").count()
    quarantined = TraceCode.objects.filter(id__in=code_ids, state=CodeState.QUARANTINED).count()
    log(f"stored {stored:,} of {expected:,}; freezes {freezes}; codes quarantined {quarantined}")

    # The raw database: the same rows, one INSERT per reading in its own transaction, one connection.
    rows = [
        (s.pk, base + dt.timedelta(minutes=2 * t), Decimal(str(_celsius(i, t))))
        for t in range(seconds)
        for i, s in enumerate(units)
    ]
    _clear(units)
    table = Reading._meta.db_table
    ops = connection.ops
    raw_latency = []
    r0 = time.perf_counter()
    with connection.cursor() as c:
        for sid, at, celsius in rows:
            t1 = time.perf_counter()
            with transaction.atomic():
                c.execute(
                    f"INSERT INTO {table} (sensor_id, at, celsius, source, recorded_by_id) VALUES (%s, %s, %s, %s, NULL)",  # noqa: S608
                    [
                        sid,
                        ops.adapt_datetimefield_value(at),
                        ops.adapt_decimalfield_value(celsius, 5, 2),
                        "mqtt",
                    ],
                )
            raw_latency.append(time.perf_counter() - t1)
    raw_s = time.perf_counter() - r0
    return {
        **_environment(),
        "broker": f"{host}:{port}",
        "sensors": sensors,
        "seconds": seconds,
        "published": len(published),
        "publish_s": round(publish_s, 2),
        "until_all_seen_s": round(drain_s, 2),
        "stored": stored,
        "lost": expected - stored,
        "publish_to_stored": _ms(stored_latency),
        "freezes_opened": freezes,
        "codes_quarantined": quarantined,
        "codes_in_units": sum(codes_of_unit.values()),
        "completing_reading_to_quarantined": _ms(quarantine_latency),
        "poll_interval_ms": 20,
        "raw_insert_per_reading": {**_ms(raw_latency), "total_s": round(raw_s, 2), "rows": len(rows)},
        "load_average_1min": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
    }
