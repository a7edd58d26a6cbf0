"""``vaxops bench doses``: the vaccination desks of a busy site against the real HTTP server on PostgreSQL.

Sets up one site open today: its stock place holding enough traceability codes (bulk-inserted, with one
receipt movement through the ledger), ``desks`` vaccination desks each with its own certified, assigned
vaccinator and API token, and ``doses`` people walked in (checked in), screened today and consented. Then
starts gunicorn (gthread workers, persistent database connections) on a free local port and, from one
keep-alive HTTP client per desk, records every person's dose through ``POST /api/v1/desk/doses`` — every
check of the desk applies — scanning codes from a shared pool. A share of scans are deliberate double scans
of a code already used (each must be refused with ``code_used``, after which the desk scans a fresh vial),
and a share of recordings are sent twice with the same ``client_id`` (a network retry: it must answer with
the first dose). Afterwards the database is counted: doses recorded, codes used twice (0), codes and doses
that disagree (0), balances below zero (0), doses without a traceable code and lot (0), the stock ledger
balanced, and server errors (0). Beside it, the raw database does the same minimal writes per dose from as
many connections: in one transaction a conditional UPDATE of the code, a conditional UPDATE of the balance,
the INSERT of the dose and of the ledger row, on scratch tables.

Every run builds its own site, lot, codes, staff and people (tagged with the run), so runs never collide.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import threading
import time
import uuid
from datetime import date, timedelta
from datetime import time as dtime
from http.client import HTTPConnection
from multiprocessing import get_context

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q

from vaxops.benchmarks.server import (
    backends_cpu_seconds,
    children_cpu_seconds,
    cpu_used,
    gunicorn_running,
    percentile,
    pg_dsn,
    threads_timed,
)
from vaxops.core import clock

NAME_MARK = "接种压测"
AREA = "330197"  # ID numbers of the benchmark's people: not the demo county's area, so never a census row
PRODUCT = "BBIBP-CorV"
FIRST_SERIAL = 700_000_000  # far above the codes and trace benchmarks' serials
SIGNATURE = "data:image/png;base64," + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk" * 4
PATH = "/api/v1/desk/doses"


def _log_time(log, what: str, t0: float) -> None:
    log(f"{what} in {time.perf_counter() - t0:.1f} s")


# --------------------------------------------------------------------------------------------------
# Set-up
# --------------------------------------------------------------------------------------------------


def _setup(*, run: str, doses: int, desks: int, spare_codes: int, log) -> dict:
    """Everything the desks need, built fresh for ``run``. Returns the tokens (one per desk), the people
    ((resident id, phone's last 4) in order), the codes, the site and its stock place and lot."""
    from vaxops.accounts.models import User
    from vaxops.accounts.services import api_token_create, user_create
    from vaxops.catalog.models import Product, TracePrefix
    from vaxops.core.actors import SystemActor
    from vaxops.demo.county import COUNTY_CODE, demo_county_build
    from vaxops.jurisdictions.models import Division, Level
    from vaxops.sites import services as sites
    from vaxops.sites.models import Certificate, Desk, OpeningHours, Site, StaffMember
    from vaxops.supply.models import CodeState, Lot, PlaceKind, StockPlace, TraceCode
    from vaxops.supply.services import movement_record

    actor = SystemActor("bench")
    t0 = time.perf_counter()
    county = Division.objects.filter(code=COUNTY_CODE.ljust(12, "0")).first() or demo_county_build(seed=2021)
    township = (
        Division.objects.filter(code__startswith=COUNTY_CODE, level=Level.TOWNSHIP).order_by("code").first()
    )
    village = Division.objects.filter(parent=township, level=Level.VILLAGE).order_by("code").first()
    cdc = User.objects.filter(username="bench-cdc").first() or user_create(
        actor=actor, username="bench-cdc", password=uuid.uuid4().hex, role="county_admin", division=county
    )

    # The site's stock: one lot, its codes bulk-inserted in stock at the site, one receipt in the ledger.
    product = Product.objects.get(code=PRODUCT)
    prefix = (
        TracePrefix.objects.filter(product=product)
        .order_by("prefix")
        .values_list("prefix", flat=True)
        .first()
    )
    if prefix is None:
        raise RuntimeError(f"catalogue has no trace prefix for {PRODUCT}")
    place = StockPlace.objects.create(
        code=f"BD-{run}", name=f"压测接种门诊冷柜{run}", kind=PlaceKind.SITE, division=township
    )
    n_codes = doses + spare_codes
    last = (
        TraceCode.objects.filter(code__startswith=prefix, code__gte=f"{prefix}{FIRST_SERIAL:09d}")
        .order_by("-code")
        .values_list("code", flat=True)
        .first()
    )
    first = int(last[7:16]) + 1 if last else FIRST_SERIAL
    lot = Lot.objects.create(
        product=product,
        lot_number=f"BD{run}",
        expiry=clock.today() + timedelta(days=365),
        manufacturer=product.manufacturer_zh,
        quantity_doses=n_codes * product.doses_per_vial,
    )
    codes = [f"{prefix}{s:09d}{s % 10000:04d}" for s in range(first, first + n_codes)]
    TraceCode.objects.bulk_create(
        [TraceCode(code=c, lot=lot, state=CodeState.IN_STOCK, place=place, origin=place) for c in codes],
        batch_size=5000,
    )
    movement_record(
        actor=actor,
        kind="receipt",
        place=place,
        lot=lot,
        doses=n_codes * product.doses_per_vial,
        reason=f"压测导入追溯码{n_codes:,}个",
        reference=f"bench-{run}",
    )
    with connection.cursor() as c:
        c.execute("ANALYZE supply_tracecode")
    _log_time(log, f"{n_codes:,} codes of lot {lot.lot_number} in stock at {place.code}", t0)

    # The site, open today from 00:00 to 23:59 in 5-minute slots (the last ends at 23:55) of walk-in places
    # only, each slot holding everyone: the walk-in path works whatever the hour.
    t0 = time.perf_counter()
    rate = min(32_000, math.ceil(doses * 1.2 * 12 / desks) + 12)
    site = Site.objects.create(
        code=f"BD-{run}",
        name=f"压测接种门诊{run}",
        division=township,
        stock_place=place,
        hospital_name="清溪县人民医院",
        per_desk_per_hour=rate,
        slot_minutes=5,
        walk_in_share="1.00",
        qualification_number=f"BD-{run}",
    )
    OpeningHours.objects.bulk_create(
        [OpeningHours(site=site, weekday=w, start=dtime(0, 0), end=dtime(23, 59)) for w in range(7)]
    )
    vaccination = [Desk.objects.create(site=site, kind="vaccination", number=n) for n in range(1, desks + 1)]
    others = {
        kind: Desk.objects.create(site=site, kind=kind, number=1)
        for kind in ("registration", "screening", "observation")
    }
    session = sites.session_plan(actor=actor, site=site, day=clock.today())
    tokens: list[str] = []
    password = uuid.uuid4().hex
    for kind, desk in others.items():
        member = StaffMember.objects.create(site=site, name=f"{kind}员{run}", roles=[kind])
        Certificate.objects.create(
            staff=member, kind="training", number=f"BD-{run}-{kind}", valid_from=date(2021, 1, 1)
        )
        sites.assignment_add(actor=actor, session=session, staff=member, desk=desk, role=kind)
    for n, desk in enumerate(vaccination, start=1):
        user = user_create(
            actor=actor,
            username=f"bench-vx-{run}-{n}",
            password=password,
            role="site_vaccinator",
            division=township,
        )
        member = StaffMember.objects.create(site=site, name=f"接种员{n}号", roles=["vaccination"], user=user)
        Certificate.objects.create(
            staff=member, kind="training", number=f"BD-{run}-{n}", valid_from=date(2021, 1, 1)
        )
        sites.assignment_add(actor=actor, session=session, staff=member, desk=desk, role="vaccination")
        tokens.append(api_token_create(user=user, name="bench doses", actor=actor)[1])
    for item in ("medical_staff", "emergency_kit", "ambulance", "green_channel"):
        sites.readiness_confirm(actor=cdc, session=session, item=item)
    session = sites.session_open(actor=actor, session=session)
    _log_time(log, f"site {site.code} open today with {desks} vaccination desks", t0)

    people = _people(run=run, n=doses, village=village, session=session, log=log)
    return {
        "tokens": tokens,
        "people": people,
        "codes": codes,
        "site": site,
        "place": place,
        "lot": lot,
        "session": session,
    }


def _people(*, run: str, n: int, village, session, log) -> list[tuple[int, str]]:
    """``n`` adults, each walked in at the session (checked in), screened today (proceed) and consented."""
    from vaxops.booking.services import walk_in_register
    from vaxops.clinic.models import Consent, ConsentText, ScreeningRecord
    from vaxops.core.actors import SystemActor
    from vaxops.registry.domain import check_character
    from vaxops.registry.models import Resident

    t0 = time.perf_counter()
    have = Resident.objects.filter(id_number__startswith=AREA).count()
    rows = []
    for i in range(have, have + n):
        birth = date(1960, 1, 1) + timedelta(days=i % 12000)
        body = f"{AREA}{birth:%Y%m%d}{(i // 12000) % 1000:03d}"
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
    made = Resident.objects.bulk_create(rows, batch_size=2000)
    actor = SystemActor("bench")
    for k, person in enumerate(made, start=1):
        walk_in_register(actor=actor, resident=person, session=session)
        if k % 1000 == 0:
            log(f"  {k:,} walked in")
    now = clock.now()
    today = clock.today()
    ScreeningRecord.objects.bulk_create(
        [
            ScreeningRecord(
                resident=p,
                at=now,
                screened_on=today,
                question_set_version="bench",
                temperature_c="36.5",
                outcome="proceed",
            )
            for p in made
        ],
        batch_size=2000,
    )
    text = (
        ConsentText.objects.filter(product_code=PRODUCT, effective_from__lte=today)
        .order_by("-effective_from")
        .first()
    )
    Consent.objects.bulk_create(
        [
            Consent(resident=p, text=text, at=now, signed_on=today, signer_name=p.name, signature=SIGNATURE)
            for p in made
        ],
        batch_size=2000,
    )
    with connection.cursor() as c:
        for table in ("registry_resident", "booking_appointment", "clinic_screeningrecord", "clinic_consent"):
            c.execute(f"ANALYZE {table}")
    _log_time(log, f"{n:,} people walked in, screened and consented", t0)
    return [(p.pk, p.phone[-4:]) for p in made]


# --------------------------------------------------------------------------------------------------
# The desks (HTTP clients)
# --------------------------------------------------------------------------------------------------


def _desks_client(args) -> tuple[list[tuple[str, int, float, str]], float]:
    """One client process: one keep-alive HTTP connection (thread) per desk it holds. Each desk takes its
    people in turn and scans codes from the process's shared pool; a double scan takes a code already used
    (and the desk then scans a fresh one); a retry sends the same request again. Returns (kind, status,
    seconds, detail) for every request, and the CPU seconds the process used."""
    cpu0 = time.process_time()
    port, desks, codes, double_share, retry_share, seed = args
    pool = list(reversed(codes))
    used: list[str] = []
    guard = threading.Lock()
    out: list[tuple[str, int, float, str]] = []

    def send(conn, body: dict, token: str):
        data = json.dumps(body)
        t0 = time.perf_counter()
        try:
            conn.request(
                "POST",
                PATH,
                body=data,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            payload = response.read()
            status = response.status
        except OSError as e:
            return 599, time.perf_counter() - t0, None, str(e)
        seconds = time.perf_counter() - t0
        try:
            answer = json.loads(payload)
        except ValueError:
            answer = None
        return status, seconds, answer, ""

    def run(token: str, people: list[tuple[int, str]], k: int):
        rng = random.Random(seed * 1000 + k)
        conn = HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        for resident_id, last4 in people:
            with guard:
                double = bool(used) and rng.random() < double_share
                scanned = rng.choice(used) if double else None
            if double:
                body = {
                    "client_id": uuid.uuid4().hex,
                    "resident_id": resident_id,
                    "code": scanned,
                    "phone_last4": last4,
                }
                status, seconds, answer, err = send(conn, body, token)
                code = (answer or {}).get("code", "")
                mine.append(("double_scan", status, seconds, code or err))
                if status == 599:
                    conn.close()
                    conn = HTTPConnection("127.0.0.1", port, timeout=60)
            with guard:
                fresh = pool.pop() if pool else None
            if fresh is None:
                mine.append(("dose", 0, 0.0, "code pool empty"))
                break
            body = {
                "client_id": uuid.uuid4().hex,
                "resident_id": resident_id,
                "code": fresh,
                "phone_last4": last4,
            }
            status, seconds, answer, err = send(conn, body, token)
            detail = str((answer or {}).get("id")) if status == 201 else err or (answer or {}).get("code", "")
            mine.append(("dose", status, seconds, detail))
            if status == 599:
                conn.close()
                conn = HTTPConnection("127.0.0.1", port, timeout=60)
            if status == 201:
                with guard:
                    used.append(fresh)
                if rng.random() < retry_share:
                    again, seconds, answer2, err = send(conn, body, token)
                    same = again == 201 and answer2 == answer
                    mine.append(("retry", again, seconds, "same" if same else f"differs: {err or answer2}"))
        conn.close()
        with guard:
            out.extend(mine)

    threads = [
        threading.Thread(target=run, args=(token, people, k)) for k, (token, people) in enumerate(desks)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out, time.process_time() - cpu0


def _warm(port: int, tokens: list[str]) -> None:
    """One harmless refused request per desk token and server thread (a malformed code): the workers load
    the code, open their database connections and cache the token's user before the clock starts."""
    for token in tokens:
        c = HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(4):
            c.request(
                "POST",
                "/api/v1/desk/doses/check",
                body=json.dumps({"resident_id": 0, "code": "0"}),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            c.getresponse().read()
        c.close()


# --------------------------------------------------------------------------------------------------
# Correctness, counted in the database
# --------------------------------------------------------------------------------------------------


def _correctness(*, site, place, lot, people: int) -> dict:
    from vaxops.clinic.models import Dose, Observation
    from vaxops.supply.models import CodeState, StockBalance, StockMovement, TraceCode
    from vaxops.supply.selectors import ledger_check

    doses = Dose.objects.filter(site=site, voided_at__isnull=True)
    recorded = doses.count()
    codes_twice = doses.values("trace_code_id").annotate(n=Count("id")).filter(n__gt=1).count()
    people_twice = doses.values("resident_id").annotate(n=Count("id")).filter(n__gt=1).count()
    administered = TraceCode.objects.filter(lot=lot, state=CodeState.ADMINISTERED)
    # A code and its dose must agree: every administered code of the lot behind exactly one standing dose
    # of the person it went to, and every dose's code administered to that person.
    code_without_dose = administered.exclude(
        pk__in=doses.filter(resident_id=F("trace_code__administered_to_id")).values("trace_code_id")
    ).count()
    dose_code_disagrees = (
        doses.exclude(trace_code__state=CodeState.ADMINISTERED).count()
        + doses.exclude(trace_code__administered_to_id=F("resident_id")).count()
    )
    untraceable = doses.filter(
        Q(trace_code__isnull=True) | Q(lot__isnull=True) | ~Q(trace_code__lot_id=F("lot_id"))
    ).count()
    ledger_rows = StockMovement.objects.filter(place=place, lot=lot, kind="administration").count()
    no_observation = doses.exclude(pk__in=Observation.objects.filter(site=site).values("dose_id")).count()
    below_zero = StockBalance.objects.filter(doses__lt=0).count()
    balance = StockBalance.objects.filter(place=place, lot=lot).values_list("doses", flat=True).first()
    in_stock = TraceCode.objects.filter(lot=lot, place=place, state=CodeState.IN_STOCK).count()
    ledger = ledger_check()
    return {
        "doses_recorded": recorded,
        "people": people,
        "codes_used_twice": codes_twice,
        "people_with_two_doses": people_twice,
        "codes_administered": administered.count(),
        "codes_without_their_dose": code_without_dose,
        "doses_whose_code_disagrees": dose_code_disagrees,
        "doses_untraceable": untraceable,
        "doses_without_ledger_row": recorded - ledger_rows,
        "doses_without_observation": no_observation,
        "balances_below_zero": below_zero,
        "balance_vs_codes_in_stock": (balance or 0) - in_stock,
        "ledger_balanced": ledger["balanced"],
        "ledger_differences": len(ledger["differences"]),
    }


# --------------------------------------------------------------------------------------------------
# The raw database beside it
# --------------------------------------------------------------------------------------------------


def _raw_rate(*, doses: int, connections: int) -> dict:
    """Per dose, in one transaction through psycopg: the conditional UPDATE of the code's state, the
    conditional UPDATE of the (place, lot) balance, the INSERT of the dose and of the ledger row — on scratch
    tables shaped like the real ones, from ``connections`` connections, each with its share of codes."""
    import psycopg

    dsn = pg_dsn()
    with psycopg.connect(**dsn, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS bench_dose_raw, bench_ledger_raw, bench_balance_raw, bench_code_raw")
        c.execute(
            "CREATE TABLE bench_code_raw (id bigint PRIMARY KEY, code varchar(20) UNIQUE NOT NULL, "
            "lot_id bigint NOT NULL, state varchar(20) NOT NULL, place_id bigint, administered_to bigint, "
            "administered_at timestamptz)"
        )
        c.execute(
            "CREATE TABLE bench_balance_raw (place_id bigint, lot_id bigint, doses int NOT NULL "
            "CHECK (doses >= 0), PRIMARY KEY (place_id, lot_id))"
        )
        c.execute(
            "CREATE TABLE bench_dose_raw (id bigserial PRIMARY KEY, resident_id bigint NOT NULL, "
            "code_id bigint NOT NULL REFERENCES bench_code_raw, lot_id bigint NOT NULL, given_at timestamptz, "
            "client_id varchar(64) UNIQUE, voided_at timestamptz)"
        )
        c.execute(
            "CREATE UNIQUE INDEX bench_dose_raw_one_per_code ON bench_dose_raw (code_id) WHERE voided_at IS NULL"
        )
        c.execute(
            "CREATE TABLE bench_ledger_raw (id bigserial PRIMARY KEY, kind varchar(30), place_id bigint, "
            "lot_id bigint, doses int, code_id bigint REFERENCES bench_code_raw, at timestamptz)"
        )
        with c.cursor().copy("COPY bench_code_raw (id, code, lot_id, state, place_id) FROM STDIN") as copy:
            for i in range(doses):
                copy.write_row((i + 1, f"{i + 1:020d}", 1, "in_stock", 1))
        c.execute("INSERT INTO bench_balance_raw VALUES (1, 1, %s)", (doses,))
        c.execute("ANALYZE bench_code_raw")
    recorded = [0]
    guard = threading.Lock()
    ids = list(range(1, doses + 1))
    random.Random(1).shuffle(ids)

    def run(share):
        n = 0
        with psycopg.connect(**dsn) as conn:
            cur = conn.cursor()
            for code_id in share:
                with conn.transaction():
                    cur.execute(
                        "UPDATE bench_code_raw SET state = 'administered', administered_to = %s, "
                        "administered_at = now() WHERE id = %s AND state = 'in_stock' AND place_id = 1",
                        (code_id, code_id),
                    )
                    if cur.rowcount != 1:
                        continue
                    cur.execute(
                        "UPDATE bench_balance_raw SET doses = doses - 1 WHERE place_id = 1 AND lot_id = 1 "
                        "AND doses >= 1"
                    )
                    cur.execute(
                        "INSERT INTO bench_dose_raw (resident_id, code_id, lot_id, given_at, client_id) "
                        "VALUES (%s, %s, 1, now(), %s)",
                        (code_id, code_id, uuid.uuid4().hex),
                    )
                    cur.execute(
                        "INSERT INTO bench_ledger_raw (kind, place_id, lot_id, doses, code_id, at) "
                        "VALUES ('administration', 1, 1, -1, %s, now())",
                        (code_id,),
                    )
                n += 1
        with guard:
            recorded[0] += n

    seconds = threads_timed(run, [ids[i::connections] for i in range(connections)])
    with psycopg.connect(**dsn, autocommit=True) as c:
        left = c.execute("SELECT doses FROM bench_balance_raw").fetchone()[0]
        c.execute("DROP TABLE bench_dose_raw, bench_ledger_raw, bench_balance_raw, bench_code_raw")
    return {
        "raw_doses_per_s": round(recorded[0] / seconds),
        "raw_seconds": round(seconds, 2),
        "raw_doses": recorded[0],
        "raw_balance_left": left,
    }


def _statements_per_dose(*, run: str, person: tuple[int, str], code: str) -> dict:
    """Record one dose in-process, inside a transaction rolled back afterwards, counting the statements sent
    (the dose's own BEGIN/COMMIT become a savepoint and its release here, which are not counted) and the time
    in-process."""
    from django.db.transaction import get_connection

    from vaxops.accounts.models import User
    from vaxops.catalog.selectors import catalogue_current
    from vaxops.desk.services import dose_administer

    user = User.objects.get(username=f"bench-vx-{run}-1")
    catalogue_current()  # cached by every server process
    statements: list[str] = []

    def count(execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            statements.append(sql)
        return execute(sql, params, many, context)

    with transaction.atomic():
        t0 = time.perf_counter()
        with connection.execute_wrapper(count):
            dose_administer(
                actor=user,
                resident_id=person[0],
                code=code,
                client_id=uuid.uuid4().hex,
                phone_last4=person[1],
            )
        seconds = time.perf_counter() - t0
        get_connection().set_rollback(True)
    return {"statements_per_dose": len(statements), "in_process_dose_ms": round(seconds * 1000, 1)}


# --------------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------------


def doses_bench(
    *,
    doses: int = 3000,
    desks: int = 16,
    clients: int = 2,
    workers: int = 3,
    worker_threads: int = 2,
    double_scans: float = 0.05,
    retries: float = 0.01,
    seed: int = 1,
    log=print,
) -> dict:
    """Record ``doses`` doses from ``desks`` concurrent desks through the HTTP API and count the outcome.

    ``clients`` forked processes hold the desks' keep-alive connections (one thread per desk);
    ``workers`` × ``worker_threads`` is the gunicorn gthread server. ``double_scans`` is the share of people
    for whom the desk first scans an already used code, ``retries`` the share of recorded doses sent again
    with the same ``client_id``. Returns the figures and ``correct`` (every check of the database passed).
    """
    from vaxops.benchmarks.management.commands.bench import _cpus, _server_version

    if connection.vendor != "postgresql":
        raise RuntimeError("接种压测须在 PostgreSQL 上运行（设置 DATABASE_URL）")
    if settings.DEBUG:
        raise RuntimeError("请以 VAXOPS_DEBUG=0 运行基准（DEBUG 会记录每条 SQL）")
    if doses < desks or desks < 1:
        raise ValueError("doses must be at least desks, and desks at least 1")
    clients = max(1, min(clients, desks))
    started = clock.localnow()
    if started.time() >= dtime(23, 45):
        raise RuntimeError("接种压测须在当天23:45前开始（场次只在今天开诊，最后一个时段23:55结束）")
    run = started.strftime("%m%d%H%M%S")
    log(f"run {run}: {doses:,} doses from {desks} desks")
    with transaction.atomic():
        setup = _setup(run=run, doses=doses, desks=desks, spare_codes=doses // 10 + desks, log=log)
    people = setup["people"]
    tokens = setup["tokens"]
    # Counted before the run, on a person and code the run then uses: the transaction is rolled back.
    statements = _statements_per_dose(run=run, person=people[0], code=setup["codes"][-1])
    log(f"one dose in-process: {statements['statements_per_dose']} statements")
    desk_people = [people[k::desks] for k in range(desks)]

    server: dict = {}
    with gunicorn_running(
        workers=workers,
        threads=worker_threads,
        token=tokens[0],
        log_name="bench-doses-gunicorn.log",
        info=server,
    ) as port:
        _warm(port, tokens)
        log(
            f"gunicorn on :{port} ({workers} workers × {worker_threads} threads); {desks} desks from "
            f"{clients} client processes"
        )
        # Each client process gets its desks and its own slice of the code pool (shared by its desks), in
        # proportion to the people it serves.
        groups = [list(range(desks))[i::clients] for i in range(clients)]
        codes = setup["codes"]
        jobs, start = [], 0
        for i, g in enumerate(groups):
            served = sum(len(desk_people[k]) for k in g)
            take = served + (len(codes) - len(people)) * served // len(people)
            jobs.append(
                (
                    port,
                    [(tokens[k], desk_people[k]) for k in g],
                    codes[start : start + take],
                    double_scans,
                    retries,
                    seed + i,
                )
            )
            start += take
        ctx = get_context("fork")
        # Where the CPU goes during the run: gunicorn's workers, the client processes, the database's
        # backends serving this database (when PostgreSQL runs on this machine).
        workers_before = children_cpu_seconds(server["pid"])
        backends_before = backends_cpu_seconds()
        connection.close()
        t0 = time.perf_counter()
        with ctx.Pool(clients) as pool:
            parts = pool.map(_desks_client, jobs)
        seconds = time.perf_counter() - t0
        results = [x for part, _ in parts for x in part]
        cpu = {
            "server": cpu_used(workers_before, children_cpu_seconds(server["pid"])),
            "clients": sum(used for _, used in parts),
            "database": cpu_used(backends_before, backends_cpu_seconds()),
        }

    statuses: dict[str, dict[int, int]] = {}
    for kind, status, _, _ in results:
        by = statuses.setdefault(kind, {})
        by[status] = by.get(status, 0) + 1
    dose_201 = statuses.get("dose", {}).get(201, 0)
    doubles = [r for r in results if r[0] == "double_scan"]
    refused_right = sum(1 for _, status, _, detail in doubles if status == 400 and detail == "code_used")
    retries_sent = [r for r in results if r[0] == "retry"]
    retries_same = sum(1 for r in retries_sent if r[3] == "same")
    latencies = sorted(r[2] for r in results if r[1] != 0)
    dose_latencies = sorted(r[2] for r in results if r[0] == "dose" and r[1] == 201)
    other_refusals = [r for r in results if r[0] == "dose" and r[1] != 201]
    check = _correctness(site=setup["site"], place=setup["place"], lot=setup["lot"], people=len(people))
    report = {
        "database": f"postgresql {_server_version()}",
        "machine": f"{_cpus()} cores (shared)",
        "server": f"gunicorn gthread {workers}×{worker_threads}",
        "desks": desks,
        "client_processes": clients,
        "requests": len(results),
        "seconds": round(seconds, 2),
        "doses_recorded_201": dose_201,
        "doses_per_s": round(dose_201 / seconds),
        "requests_per_s": round(len(results) / seconds),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "dose_p50_ms": round(statistics.median(dose_latencies) * 1000, 1) if dose_latencies else None,
        "dose_p99_ms": round(percentile(dose_latencies, 0.99) * 1000, 1),
        "double_scans": len(doubles),
        "double_scans_refused_code_used": refused_right,
        "retries": len(retries_sent),
        "retries_answered_with_first_dose": retries_same,
        "doses_refused_unexpectedly": len(other_refusals),
        "refusal_examples": sorted({r[3] for r in other_refusals})[:3],
        "server_errors": sum(n for by in statuses.values() for s, n in by.items() if s >= 500),
        "statuses": {kind: {str(k): v for k, v in sorted(by.items())} for kind, by in statuses.items()},
        **check,
        **statements,
        # CPU milliseconds per dose recorded, by process group, and the share of the 2 cores' time the run had.
        **{f"cpu_ms_per_dose_{k}": round(v * 1000 / max(dose_201, 1), 2) for k, v in cpu.items()},
        "cpu_ms_per_dose_total": round(sum(cpu.values()) * 1000 / max(dose_201, 1), 2),
        "cores_used": round(sum(cpu.values()) / seconds, 2),
    }
    report.update(_raw_rate(doses=len(people), connections=desks))
    report["api_vs_raw"] = (
        round(report["doses_per_s"] / report["raw_doses_per_s"], 3) if report["raw_doses_per_s"] else None
    )
    report["correct"] = (
        report["server_errors"] == 0
        and check["doses_recorded"] == len(people) == dose_201
        and check["codes_used_twice"] == 0
        and check["people_with_two_doses"] == 0
        and check["codes_administered"] == check["doses_recorded"]
        and check["codes_without_their_dose"] == 0
        and check["doses_whose_code_disagrees"] == 0
        and check["doses_untraceable"] == 0
        and check["doses_without_ledger_row"] == 0
        and check["doses_without_observation"] == 0
        and check["balances_below_zero"] == 0
        and check["balance_vs_codes_in_stock"] == 0
        and check["ledger_balanced"]
        and refused_right == len(doubles)
        and retries_same == len(retries_sent)
        and report["raw_doses"] == len(people)
    )
    return report
