"""``vaxops bench booking``: opening-day stampede against the real HTTP server on PostgreSQL.

Starts gunicorn (gthread workers, persistent database connections) on a free local port, books through
``POST /api/v1/booking/appointments`` from many concurrent keep-alive clients — at least 10,000 attempts at
sessions with 1,000 places, a share of them the same person trying again for another slot — and then
counts from the database: places booked (must equal the places), people holding two active appointments
(must be 0), slots whose counter disagrees with their appointments (0), server errors (0). Beside it, the
raw database runs the same conditional UPDATE of the slot counter from as many connections.
"""

import json
import os
import random
import statistics
import threading
import time
import uuid
from datetime import date, timedelta
from datetime import time as dtime
from http.client import HTTPConnection
from multiprocessing import get_context

from django.db import connection
from django.db.models import Count, F, Q

from vaxops.benchmarks.server import gunicorn_running, percentile, pg_dsn, threads_timed
from vaxops.core import clock

SITE_CODE = "BENCH-S"
NAME_MARK = "压测"


def _setup(*, people: int, places: int, log) -> tuple[str, list[int], list[int]]:
    """The demo county, a county CDC planner with an API token, ``people`` bookable adults and one site
    whose session tomorrow has ``places`` places in 10 one-hour slots. Returns the token, resident ids and
    slot ids."""
    from vaxops.accounts.models import User
    from vaxops.accounts.services import api_token_create, user_create
    from vaxops.booking.models import Appointment, Slot, WaitlistEntry
    from vaxops.core.actors import SystemActor
    from vaxops.demo.county import COUNTY_CODE, demo_county_build
    from vaxops.jurisdictions.models import Division, Level
    from vaxops.notify.models import Notification
    from vaxops.registry.domain import check_character
    from vaxops.registry.models import Resident
    from vaxops.sites.models import Desk, OpeningHours, Session, Site
    from vaxops.sites.services import session_plan

    if places % 10:
        raise ValueError("places must be a multiple of 10 (10 one-hour slots)")
    county = Division.objects.filter(code=COUNTY_CODE.ljust(12, "0")).first() or demo_county_build(seed=2021)
    village = (
        Division.objects.filter(code__startswith=COUNTY_CODE, level=Level.VILLAGE).order_by("code").first()
    )
    user = User.objects.filter(username="bench-cdc").first() or user_create(
        actor=SystemActor("bench"),
        username="bench-cdc",
        password=uuid.uuid4().hex,
        role="county_admin",
        division=county,
    )
    _, token = api_token_create(user=user, name="bench booking", actor=SystemActor("bench"))

    site = Site.objects.filter(code=SITE_CODE).first()
    if site is not None:
        Notification.objects.filter(resident__name__startswith=NAME_MARK).delete()
        WaitlistEntry.objects.filter(session__site=site).delete()
        Appointment.objects.filter(slot__session__site=site).delete()
        Slot.objects.filter(session__site=site).delete()
        Session.objects.filter(site=site).delete()
    else:
        site = Site.objects.create(
            code=SITE_CODE,
            name="压测接种点",
            division=village,
            hospital_name="清溪县人民医院",
            per_desk_per_hour=20,
            slot_minutes=60,
            qualification_number=SITE_CODE,
        )
        for weekday in range(7):
            OpeningHours.objects.create(site=site, weekday=weekday, start=dtime(8), end=dtime(18))
    desks = places // 10 // 20 or 1
    Site.objects.filter(pk=site.pk).update(
        per_desk_per_hour=places // 10 // desks, qualification_number=site.qualification_number or SITE_CODE
    )
    site.refresh_from_db()
    for n in range(1, desks + 1):
        Desk.objects.get_or_create(site=site, kind="vaccination", number=n)
    session = session_plan(
        actor=SystemActor("bench"), site=site, day=clock.today() + timedelta(days=1), desks=desks
    )
    slots = list(session.slots.order_by("start").values_list("id", flat=True))
    assert sum(session.slots.values_list("capacity", flat=True)) == places, "session capacity"

    have = Resident.objects.filter(name__startswith=NAME_MARK).count()
    if have < people:
        log(f"creating {people - have:,} residents")
        rows = []
        for i in range(have, people):
            birth = date(1960, 1, 1) + timedelta(days=i % 12000)
            body = f"{COUNTY_CODE}{birth:%Y%m%d}{(i // 12000) % 1000:03d}"
            rows.append(
                Resident(
                    id_type="resident_id",
                    id_number=body + check_character(body),
                    name=f"{NAME_MARK}{i}",
                    birth_date=birth,
                    village=village,
                    village_code=village.code,
                    phone=f"139{i:08d}",
                )
            )
        Resident.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    ids = list(
        Resident.objects.filter(name__startswith=NAME_MARK)
        .order_by("id")
        .values_list("id", flat=True)[:people]
    )
    return token, ids, slots


def _client(args) -> list[tuple[int, float]]:
    """One client process: ``threads`` keep-alive connections, each sending its share of the attempts."""
    port, token, attempts, threads = args
    out: list[tuple[int, float]] = []
    guard = threading.Lock()

    def run(share):
        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for resident_id, slot_id in share:
            body = json.dumps({"resident_id": resident_id, "slot_id": slot_id})
            t0 = time.perf_counter()
            try:
                conn.request(
                    "POST",
                    "/api/v1/booking/appointments",
                    body=body,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                        "Idempotency-Key": uuid.uuid4().hex,
                    },
                )
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 599
                conn.close()
                conn = HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append((status, time.perf_counter() - t0))
        conn.close()
        with guard:
            out.extend(mine)

    shares = [attempts[i::threads] for i in range(threads)]
    workers = [threading.Thread(target=run, args=(s,)) for s in shares]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return out


def _raw_rate(slots: list[int], attempts: list[tuple[int, int]], *, connections: int, capacity: int) -> dict:
    """The same conditional UPDATE of the slot counter, straight through psycopg from ``connections``
    autocommit connections, on a scratch copy of the slots."""
    import psycopg

    dsn = pg_dsn()
    with psycopg.connect(**dsn, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS bench_slot_raw")
        c.execute(
            "CREATE TABLE bench_slot_raw (id bigint PRIMARY KEY, open_capacity int NOT NULL, "
            "open_booked int NOT NULL DEFAULT 0 CHECK (open_booked <= open_capacity))"
        )
        per = capacity // len(slots)
        c.cursor().executemany(
            "INSERT INTO bench_slot_raw (id, open_capacity) VALUES (%s, %s)", [(s, per) for s in slots]
        )
    taken = [0]
    guard = threading.Lock()

    def run(share):
        n = 0
        with psycopg.connect(**dsn, autocommit=True) as c:
            cur = c.cursor()
            for _, slot_id in share:
                cur.execute(
                    "UPDATE bench_slot_raw SET open_booked = open_booked + 1 WHERE id = %s "
                    "AND open_booked < open_capacity",
                    (slot_id,),
                )
                n += cur.rowcount
        with guard:
            taken[0] += n

    seconds = threads_timed(run, [attempts[i::connections] for i in range(connections)])
    with psycopg.connect(**dsn, autocommit=True) as c:
        c.execute("DROP TABLE bench_slot_raw")
    return {
        "raw_updates_per_s": round(len(attempts) / seconds),
        "raw_seconds": round(seconds, 2),
        "raw_places_taken": taken[0],
    }


def booking_bench(
    *,
    attempts: int = 12_000,
    places: int = 1_000,
    clients: int = 4,
    threads: int = 8,
    workers: int = 2,
    worker_threads: int = 1,
    seed: int = 1,
    log=print,
) -> dict:
    from vaxops.booking.models import ACTIVE, Appointment, Slot

    if connection.vendor != "postgresql":
        raise RuntimeError("预约压测须在 PostgreSQL 上运行（设置 DATABASE_URL）")
    people = max(attempts * 5 // 6, places)
    token, residents, slots = _setup(people=people, places=places, log=log)
    rng = random.Random(seed)
    plan = [(r, rng.choice(slots)) for r in residents[:people]]
    plan += [(rng.choice(residents), rng.choice(slots)) for _ in range(attempts - len(plan))]
    rng.shuffle(plan)

    with gunicorn_running(
        workers=workers, threads=worker_threads, token=token, log_name="bench-gunicorn.log"
    ) as port:
        log(
            f"gunicorn on :{port} ({workers} workers × {worker_threads} threads); "
            f"{len(plan):,} attempts from {clients * threads} connections"
        )
        ctx = get_context("fork")
        chunks = [plan[i::clients] for i in range(clients)]
        connection.close()
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        with ctx.Pool(clients) as pool:
            results = [
                x for part in pool.map(_client, [(port, token, ch, threads) for ch in chunks]) for x in part
            ]
        seconds = time.perf_counter() - t0

    statuses: dict[int, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    latencies = sorted(lat for _, lat in results)
    by_status: dict[int, list[float]] = {}
    for status, lat in results:
        by_status.setdefault(status, []).append(lat)
    latency_by_status = {
        str(k): {
            "p50_ms": round(statistics.median(v) * 1000, 1),
            "p99_ms": round(percentile(sorted(v), 0.99) * 1000, 1),
        }
        for k, v in sorted(by_status.items())
    }
    active = Appointment.objects.filter(slot__session__site__code=SITE_CODE, status__in=ACTIVE)
    booked = active.count()
    double = active.values("resident_id", "dose_number").annotate(n=Count("id")).filter(n__gt=1).count()
    slot_rows = Slot.objects.filter(pk__in=slots).annotate(
        n=Count("appointments", filter=Q(appointments__status__in=ACTIVE))
    )
    counter_mismatch = sum(1 for s in slot_rows if s.n != s.open_booked)
    over = Slot.objects.filter(pk__in=slots, open_booked__gt=F("open_capacity")).count()
    report = {
        "attempts": len(results),
        "places": places,
        "places_booked": booked,
        "double_bookings": double,
        "slots_overbooked": over,
        "slot_counters_disagreeing": counter_mismatch,
        "server_errors": sum(n for s, n in statuses.items() if s >= 500),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(seconds, 2),
        "attempts_per_s": round(len(results) / seconds),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "latency_by_status": latency_by_status,
        "connections": clients * threads,
        "server": f"gunicorn gthread {workers}×{worker_threads}",
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
    }
    report.update(_raw_rate(slots, plan, connections=clients * threads, capacity=places))
    report["correct"] = (
        booked == places
        and double == 0
        and over == 0
        and counter_mismatch == 0
        and report["server_errors"] == 0
    )
    return report
