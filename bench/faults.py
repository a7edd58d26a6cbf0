"""Fault run: PostgreSQL restarted under load, through the real server, on a cluster this run owns.

    bench/faults [--port 55432] [--modes fast,immediate] [--attempts 2000] [--doses 500] [--desks 8]

1. A throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl``, as the ``postgres`` user when run as root) under a
   temporary directory on its own port: the shared server is never touched.
2. The two roles of ``vaxops db-roles``: migrations as the owner, the server (gunicorn, gthread workers,
   persistent health-checked connections) as the application's role.
3. For each restart mode (``pg_ctl restart -m fast``, then ``-m immediate``): a booking burst through
   ``POST /api/v1/booking/appointments`` and a desk run through ``POST /api/v1/desk/doses``, each with the
   server restarted once in the middle. Clients behave like the real ones: an answer of 5xx or a dropped
   connection is retried after a short wait with the same ``Idempotency-Key`` (booking) or ``client_id``
   (desk), up to 30 s.
4. Counted afterwards, in the database: every acknowledged write (a 201) is there (lost = 0), nobody booked
   twice, no slot over capacity, no code or person dosed twice; and from the answers: 5xx during the outage and
   after it, 500s (tracebacks) separately from 503s (``db_unavailable``), and seconds until the server answered
   2xx again.

Prints one JSON report and writes it to ``bench/out/<date>-faults.json``. Needs PostgreSQL 15 binaries
(``/usr/lib/postgresql/15/bin`` or ``PG_BIN``).
"""

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
RETRY_FOR = 30.0  # seconds a client keeps retrying one request


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}Z] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# The cluster this run owns
# --------------------------------------------------------------------------------------------------


class Cluster:
    def __init__(self, port: int):
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="vaxops-faults-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.options = f"-p {port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        # No pipes: the server pg_ctl starts would inherit them and keep run() waiting for their end.
        return subprocess.run(  # noqa: S603 - fixed binaries and arguments
            [*self.as_user, *args],
            check=check,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.dir,
        )

    def start(self) -> None:
        self.run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                 "--no-locale")  # fmt: skip
        self.run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", self.options, "start",
        )  # fmt: skip

    def restart(self, mode: str) -> float:
        t0 = time.perf_counter()
        pg_ctl = str(PG_BIN / "pg_ctl")
        self.run(pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "120", "stop")
        log(f"server stopped (-m {mode}) in {time.perf_counter() - t0:.2f} s")
        self.run(
            pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "120", "-o", self.options, "start"
        )
        return time.perf_counter() - t0

    def stop(self) -> None:
        self.run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def url(self, user: str = "postgres", db: str = "postgres") -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{db}"


# --------------------------------------------------------------------------------------------------
# Clients that retry like real ones, and the restart in the middle
# --------------------------------------------------------------------------------------------------


class Recorder:
    """Every answer: (kind, start, end, status, code); every request's outcome."""

    def __init__(self):
        self.answers: list[tuple[str, float, float, int, str]] = []
        self.outcomes: list[dict] = []
        self.guard = threading.Lock()
        self.done = 0

    def answer(self, kind, t0, t1, status, code):
        with self.guard:
            self.answers.append((kind, t0, t1, status, code))

    def outcome(self, item: dict):
        with self.guard:
            self.outcomes.append(item)
            self.done += 1


def send(conn: HTTPConnection | None, port: int, path: str, body: dict, headers: dict):
    """One POST; returns (connection to reuse or None, status, answer). 599 when the connection failed."""
    conn = conn or HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "POST", path, body=json.dumps(body), headers={"Content-Type": "application/json", **headers}
        )
        r = conn.getresponse()
        payload = r.read()
        status = r.status
    except OSError:
        conn.close()
        return None, 599, {}
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = {}
    return conn, status, answer


def post_until_answered(conn, port, path, body, headers, rec: Recorder, kind: str):
    """Send, and on a 5xx or a dropped connection send the same request again (same key) after a short
    wait, for up to RETRY_FOR seconds. Returns (connection, final status, final answer, tries)."""
    deadline = time.perf_counter() + RETRY_FOR
    tries = 0
    while True:
        tries += 1
        t0 = time.perf_counter()
        conn, status, answer = send(conn, port, path, body, headers)
        rec.answer(kind, t0, time.perf_counter(), status, (answer or {}).get("code", ""))
        if status < 500 or time.perf_counter() > deadline:
            return conn, status, answer, tries
        time.sleep(0.2 + random.random() * 0.3)  # noqa: S311


def restart_when(rec: Recorder, at: int, cluster: Cluster, mode: str, window: dict) -> threading.Thread:
    """Restart the server once ``at`` requests have been answered; note the outage window."""

    def run():
        while rec.done < at:
            time.sleep(0.01)
        window["start"] = time.perf_counter()
        try:
            window["pg_ctl_s"] = cluster.restart(mode)
        finally:
            window["end"] = time.perf_counter()
        log(f"pg_ctl restart -m {mode}: {window['pg_ctl_s']:.2f} s")

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def timeline(rec: Recorder, window: dict, kind_prefix: str) -> dict:
    """5xx before, during and after the outage; seconds from the restart until the server answered 2xx."""
    start, end = window["start"], window["end"]
    rows = [a for a in rec.answers if a[0].startswith(kind_prefix)]

    def count(pred):
        return sum(1 for a in rows if pred(a))

    after_ok = sorted(a[2] for a in rows if a[1] >= start and 200 <= a[3] < 300)
    return {
        "answers": len(rows),
        "outage_s": round(end - start, 2),
        "5xx_before": count(lambda a: a[2] < start and a[3] >= 500),
        "5xx_during_outage": count(lambda a: start <= a[2] and a[1] <= end and a[3] >= 500),
        "5xx_after_outage": count(lambda a: a[1] > end and a[3] >= 500),
        "500_tracebacks": count(lambda a: a[3] == 500),
        "503_db_unavailable": count(lambda a: a[3] == 503 and a[4] == "db_unavailable"),
        "dropped_connections_599": count(lambda a: a[3] == 599),
        "first_2xx_after_restart_s": round(after_ok[0] - start, 2) if after_ok else None,
        "first_2xx_after_server_back_s": round(max(0.0, after_ok[0] - end), 2) if after_ok else None,
    }


# --------------------------------------------------------------------------------------------------
# Booking burst
# --------------------------------------------------------------------------------------------------


def booking_run(cluster: Cluster, mode: str, *, attempts: int, clients: int) -> dict:
    from django.db import connection
    from django.db.models import Count, F, Q

    from vaxops.benchmarks.booking import SITE_CODE, _setup
    from vaxops.benchmarks.server import gunicorn_running
    from vaxops.booking.models import ACTIVE, Appointment, Slot

    places = max(200, attempts * 5 // 6 // 200 * 200)  # 10 slots of 20 a desk: whole desks
    token, residents, slots = _setup(people=places, places=places, log=log)
    rng = random.Random(1)
    plan = [(r, rng.choice(slots)) for r in residents]
    plan += [(rng.choice(residents), rng.choice(slots)) for _ in range(attempts - len(plan))]
    rng.shuffle(plan)
    connection.close()
    rec, window = Recorder(), {}
    with gunicorn_running(workers=2, threads=1, token=token, log_name="faults-booking-gunicorn.log") as port:
        log(
            f"booking: {len(plan):,} attempts, {places:,} places, {clients} clients; restart -m {mode} at 1/3"
        )
        restarter = restart_when(rec, len(plan) // 3, cluster, mode, window)

        def client(share):
            conn = None
            for resident_id, slot_id in share:
                headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
                body = {"resident_id": resident_id, "slot_id": slot_id}
                conn, status, answer, tries = post_until_answered(
                    conn, port, "/api/v1/booking/appointments", body, headers, rec, "booking"
                )
                rec.outcome(
                    {
                        "resident": resident_id,
                        "slot": slot_id,
                        "status": status,
                        "id": answer.get("id"),
                        "tries": tries,
                    }
                )
            if conn:
                conn.close()

        threads = [threading.Thread(target=client, args=(plan[i::clients],)) for i in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - t0
        restarter.join()

    acked = {o["id"]: o for o in rec.outcomes if o["status"] == 201 and o["id"]}
    stored = dict(
        Appointment.objects.filter(pk__in=list(acked), status__in=ACTIVE).values_list("pk", "resident_id")
    )
    lost = [i for i, o in acked.items() if stored.get(i) != o["resident"]]
    active = Appointment.objects.filter(slot__session__site__code=SITE_CODE, status__in=ACTIVE)
    double = active.values("resident_id", "dose_number").annotate(n=Count("id")).filter(n__gt=1).count()
    over = Slot.objects.filter(pk__in=slots, open_booked__gt=F("open_capacity")).count()
    slot_rows = Slot.objects.filter(pk__in=slots).annotate(
        n=Count("appointments", filter=Q(appointments__status__in=ACTIVE))
    )
    disagree = sum(1 for s in slot_rows if s.n != s.open_booked)
    in_db = active.count()
    report = {
        "restart": f"pg_ctl restart -m {mode}",
        "requests": len(plan),
        "http_answers_incl_retries": len(rec.answers),
        "seconds": round(seconds, 2),
        "acknowledged_201": len(acked),
        "refused_4xx": sum(1 for o in rec.outcomes if 400 <= o["status"] < 500),
        "unanswered_after_30s_retrying": sum(1 for o in rec.outcomes if o["status"] >= 500),
        "active_appointments_in_db": in_db,
        "lost": len(lost),
        "in_db_not_acknowledged": in_db - len(acked),
        "double_bookings": double,
        "slots_overbooked": over,
        "slot_counters_disagreeing": disagree,
        "requests_retried": sum(1 for o in rec.outcomes if o["tries"] > 1),
        **timeline(rec, window, "booking"),
    }
    report["held"] = (
        report["lost"] == 0
        and double == 0
        and over == 0
        and disagree == 0
        and report["in_db_not_acknowledged"] == 0
        and report["unanswered_after_30s_retrying"] == 0
    )
    return report


# --------------------------------------------------------------------------------------------------
# Desk run
# --------------------------------------------------------------------------------------------------


def _desk_bench():
    try:  # the desk's benchmark set-up, wherever the desk lives
        from vaxops.benchmarks import doses as bench
    except ImportError:
        from vaxops.benchmarks import doses as bench
    return bench


def desk_run(cluster: Cluster, mode: str, *, doses: int, desks: int) -> dict:
    from django.db import connection, transaction
    from django.utils import timezone

    from vaxops.benchmarks.server import gunicorn_running

    bench = _desk_bench()
    run = timezone.localtime().strftime("%m%d%H%M%S") + mode[0]
    with transaction.atomic():
        setup = bench._setup(run=run, doses=doses, desks=desks, spare_codes=doses // 5 + desks, log=log)
    tokens, people, codes = setup["tokens"], setup["people"], list(setup["codes"])
    pool = list(reversed(codes))
    pool_guard = threading.Lock()
    connection.close()
    rec, window = Recorder(), {}
    with gunicorn_running(workers=3, threads=2, token=tokens[0], log_name="faults-desk-gunicorn.log") as port:
        bench._warm(port, tokens)
        log(f"desk: {len(people):,} doses from {desks} desks; restart -m {mode} at 1/3")
        restarter = restart_when(rec, len(people) // 3, cluster, mode, window)

        def desk(token, share):
            conn = None
            for resident_id, last4 in share:
                with pool_guard:
                    code = pool.pop()
                body = {
                    "client_id": uuid.uuid4().hex,
                    "resident_id": resident_id,
                    "code": code,
                    "phone_last4": last4,
                }
                conn, status, answer, tries = post_until_answered(
                    conn, port, bench.PATH, body, {"Authorization": f"Bearer {token}"}, rec, "dose"
                )
                rec.outcome(
                    {
                        "resident": resident_id,
                        "code": code,
                        "status": status,
                        "id": answer.get("id") if status == 201 else None,
                        "refusal": answer.get("code") if status != 201 else None,
                        "tries": tries,
                    }
                )
            if conn:
                conn.close()

        threads = [threading.Thread(target=desk, args=(tokens[k], people[k::desks])) for k in range(desks)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - t0
        restarter.join()

    from django.apps import apps

    dose_model = next(m for m in apps.get_models() if m.__name__ == "Dose")  # wherever the desk keeps it

    acked = {o["id"]: o for o in rec.outcomes if o["status"] == 201 and o["id"]}
    stored = dict(
        dose_model.objects.filter(pk__in=list(acked), voided_at__isnull=True).values_list("pk", "resident_id")
    )
    lost = [i for i, o in acked.items() if stored.get(i) != o["resident"]]
    check = bench._correctness(site=setup["site"], place=setup["place"], lot=setup["lot"], people=len(people))
    report = {
        "restart": f"pg_ctl restart -m {mode}",
        "requests": len(people),
        "http_answers_incl_retries": len(rec.answers),
        "seconds": round(seconds, 2),
        "acknowledged_201": len(acked),
        "refused_4xx": sum(1 for o in rec.outcomes if 400 <= o["status"] < 500),
        "refusals": sorted({o["refusal"] for o in rec.outcomes if o["refusal"]}),
        "unanswered_after_30s_retrying": sum(1 for o in rec.outcomes if o["status"] >= 500),
        "doses_in_db": check["doses_recorded"],
        "lost": len(lost),
        "in_db_not_acknowledged": check["doses_recorded"] - len(acked),
        "people_with_two_doses": check["people_with_two_doses"],
        "codes_used_twice": check["codes_used_twice"],
        "codes_without_their_dose": check["codes_without_their_dose"],
        "doses_without_ledger_row": check["doses_without_ledger_row"],
        "ledger_balanced": check["ledger_balanced"],
        "requests_retried": sum(1 for o in rec.outcomes if o["tries"] > 1),
        **timeline(rec, window, "dose"),
    }
    report["held"] = (
        report["lost"] == 0
        and report["in_db_not_acknowledged"] == 0
        and check["people_with_two_doses"] == 0
        and check["codes_used_twice"] == 0
        and check["codes_without_their_dose"] == 0
        and check["doses_without_ledger_row"] == 0
        and check["ledger_balanced"]
        and report["unanswered_after_30s_retrying"] == 0
    )
    return report


# --------------------------------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=55432)
    p.add_argument("--modes", default="fast,immediate")
    p.add_argument("--attempts", type=int, default=2000, help="booking attempts per run")
    p.add_argument("--clients", type=int, default=16, help="booking client connections")
    p.add_argument("--doses", type=int, default=500, help="desk doses per run")
    p.add_argument("--desks", type=int, default=8)
    p.add_argument("--keep", action="store_true", help="keep the cluster's directory (logs)")
    args = p.parse_args()
    if not (PG_BIN / "initdb").exists():
        log(f"未找到 PostgreSQL 程序 / no initdb under {PG_BIN} (set PG_BIN)")
        return 2

    cluster = Cluster(args.port)
    log(f"cluster under {cluster.dir} on :{args.port}")
    db, owner, app = "vaxops_faults", "vaxops_owner", "vaxops_app"
    try:
        cluster.start()
        import psycopg

        with psycopg.connect(cluster.url(), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{db}"')
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "vaxops.settings.base",
            "VAXOPS_DEBUG": "0",
            "VAXOPS_NOTIFY_CHANNEL": "console",
        }
        env.pop("DATABASE_OWNER_URL", None)
        django = [sys.executable, "-m", "django"]
        subprocess.run(  # noqa: S603
            [*django, "db-roles", "--owner", owner, "--app", app, "--apply"],
            env={**env, "DATABASE_URL": cluster.url(db=db)},
            check=True,
            cwd=ROOT,
            stdout=sys.stderr,
        )
        env["DATABASE_URL"] = cluster.url(app, db)
        t0 = time.perf_counter()
        subprocess.run(  # noqa: S603
            [*django, "migrate", "-v0"],
            env={**env, "DATABASE_OWNER_URL": cluster.url(owner, db)},
            check=True,
            cwd=ROOT,
            stdout=sys.stderr,
        )
        log(f"migrated as {owner} in {time.perf_counter() - t0:.0f} s")
        subprocess.run([*django, "db-roles", "--check"], env=env, check=True, cwd=ROOT, stdout=sys.stderr)  # noqa: S603
        os.environ.update(env)

        import django as dj

        dj.setup()
        from django.db import connection

        with connection.cursor() as c:
            c.execute("SELECT current_user, version()")
            user, version = c.fetchone()
        report = {
            "date": datetime.now(UTC).isoformat(timespec="minutes"),
            "command": "bench/faults " + " ".join(sys.argv[1:]),
            "machine": f"{os.cpu_count()} cores (shared), {platform.platform()}",
            "database": version.split(",")[0],
            "app_connects_as": user,
            "load_average_before": round(os.getloadavg()[0], 2),
            "runs": [],
        }
        for mode in args.modes.split(","):
            report["runs"].append(
                {
                    "what": "booking",
                    **booking_run(cluster, mode, attempts=args.attempts, clients=args.clients),
                }
            )
            log(json.dumps(report["runs"][-1], ensure_ascii=False))
            report["runs"].append(
                {"what": "desk", **desk_run(cluster, mode, doses=args.doses, desks=args.desks)}
            )
            log(json.dumps(report["runs"][-1], ensure_ascii=False))
        report["load_average_after"] = round(os.getloadavg()[0], 2)
        report["held"] = all(r["held"] for r in report["runs"])
    finally:
        cluster.stop()
        if args.keep:
            log(f"kept {cluster.dir}")
        else:
            shutil.rmtree(cluster.dir, ignore_errors=True)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{datetime.now(UTC):%Y%m%d-%H%M}-faults.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if report["held"] else 1


if __name__ == "__main__":
    sys.exit(main())
