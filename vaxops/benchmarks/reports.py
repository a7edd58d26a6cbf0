# ruff: noqa: S608 - only integers and constants of this module are formatted into the SQL
"""``vaxops bench reports``: the progress facts on N people and 2N doses.

Generates the people and doses with bulk SQL (residents with ID numbers of area ``BENCH_AREA``, never a census
row; re-running replaces them), runs ``report rebuild``, then times the county's and a township's dashboard
data (every selector the dashboard reads), the county's daily report, a full rebuild and the cost the facts
add to recording a dose (``clinic.services.dose_record_external`` with the facts' receiver connected and
disconnected); beside them, the raw database computing the same county numbers by GROUP BY over the dose
table in the same run. Each figure is the median of ``RUNS`` runs, in milliseconds unless named otherwise.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta

from django.db import connection, transaction

from vaxops.accounts.scope import Scope
from vaxops.core.actors import SystemActor
from vaxops.jurisdictions.models import Division, Level

Log = Callable[[str], None]
BENCH_AREA = "330197"  # ID numbers of the benchmark's people: not the demo county's area
START = date(2021, 3, 1)  # doses from here, over a year
RUNS = 5


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _median(fn: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _generate(*, people: int, log: Log) -> dict:
    """N residents spread over the county's villages (births 1940–2003, both sexes) and two standing doses
    each (a two-dose product; one in ten a single-dose product with a booster), all in bulk SQL."""
    from vaxops.benchmarks.people import people_replace

    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as c:
        made = people_replace(c, area=BENCH_AREA, people=people)
        pg, day, now = made.pg, made.day, made.now
        plus = (lambda col, n: f"{col} + {n}") if pg else (lambda col, n: f"date({col}, '+{n} days')")
        first = f"(SELECT {day} AS d1, id, s FROM bench_people)"
        c.execute(
            "INSERT INTO clinic_dose (resident_id, product_code, given_on, place, external, recorded_at, "
            "void_reason, is_booster, client_id, injection_site) "
            "SELECT id, CASE WHEN s %% 10 = 0 THEN 'Convidecia' WHEN s %% 3 = 0 THEN 'CoronaVac' "
            f"ELSE 'BBIBP-CorV' END, d1, '基准', true, {now}, '', false, NULL, '' FROM {first} f",
            [],
        )
        c.execute(
            "INSERT INTO clinic_dose (resident_id, product_code, given_on, place, external, recorded_at, "
            "void_reason, is_booster, client_id, injection_site) "
            "SELECT id, CASE WHEN s %% 10 = 0 THEN 'Convidecia' WHEN s %% 3 = 0 THEN 'CoronaVac' "
            f"ELSE 'BBIBP-CorV' END, CASE WHEN s %% 10 = 0 THEN {plus('d1', 180)} ELSE {plus('d1', 28)} END, "
            f"'基准', true, {now}, '', false, NULL, '' FROM {first} f",
            [],
        )
        c.execute("DROP TABLE bench_people")
    if pg:
        with connection.cursor() as c:
            c.execute("ANALYZE registry_resident")
            c.execute("ANALYZE clinic_dose")
    seconds = time.perf_counter() - t0
    log(f"generated {people} people and {2 * people} doses in {seconds:.1f} s")
    return {"generate_seconds": round(seconds, 1)}


def _dashboard(scope: Scope, day: date, division_code: str | None = None) -> None:
    from vaxops.reports import selectors as s

    s.dose_series(scope=scope, start=day - timedelta(days=29), end=day, division_code=division_code)
    s.coverage_by_division(scope=scope, day=day, division_code=division_code)
    s.coverage_by_band(scope=scope, day=day, division_code=division_code)
    s.coverage_by_group(scope=scope, day=day, division_code=division_code)
    s.funnel(scope=scope, day=day, division_code=division_code)
    s.running_totals(scope=scope, day=day, division_code=division_code)


def _raw_county(*, low: str, high: str, day: date) -> None:
    """The raw database's own answer to the county's headline numbers: doses and people with a first dose
    per township by GROUP BY over the dose table (no classification, no facts)."""
    with connection.cursor() as c:
        c.execute(
            "SELECT substr(r.village_code, 1, 9), COUNT(*), SUM(CASE WHEN d.given_on = %s THEN 1 ELSE 0 END) "
            "FROM clinic_dose d JOIN registry_resident r ON r.id = d.resident_id "
            "WHERE d.voided_at IS NULL AND d.given_on <= %s AND r.village_code >= %s AND r.village_code <= %s "
            "GROUP BY substr(r.village_code, 1, 9)",
            [day, day, low, high],
        )
        c.fetchall()
        c.execute(
            "SELECT substr(r.village_code, 1, 9), COUNT(*) FROM (SELECT resident_id, MIN(given_on) AS f "
            "FROM clinic_dose WHERE voided_at IS NULL AND given_on <= %s GROUP BY resident_id) x "
            "JOIN registry_resident r ON r.id = x.resident_id "
            "WHERE r.village_code >= %s AND r.village_code <= %s GROUP BY substr(r.village_code, 1, 9)",
            [day, low, high],
        )
        c.fetchall()


def _per_dose(*, doses: int, log: Log, rounds: int = 6, day: date = date(2022, 6, 1)) -> dict:
    """Milliseconds per external dose recorded through the service (its own transaction and commit), with the
    facts' receiver connected and disconnected, in alternating batches after a warm-up; medians of the
    batches."""
    from vaxops.clinic.services import dose_record_external
    from vaxops.clinic.signals import record_changed
    from vaxops.registry.models import Resident
    from vaxops.reports.receivers import on_record_changed
    from vaxops.reports.services import facts_apply

    actor = SystemActor("bench")
    batch = max(doses // rounds, 1)
    ids = iter(
        Resident.objects.filter(id_number__startswith=BENCH_AREA)
        .order_by("id")
        .values_list("id", flat=True)[: 2 * rounds * batch + 20]
    )
    skipped: list[int] = []
    cpu = {True: [0.0, 0.0, 0], False: [0.0, 0.0, 0]}  # facts on/off → [Python s, database s, doses]

    def run(n: int, *, keep: list[int] | None = None, facts: bool = True) -> float:
        people = [next(ids) for _ in range(n)]
        if keep is not None:
            keep.extend(people)
        backend = _backend_cpu()
        py0, db0 = time.process_time(), backend()
        t0 = time.perf_counter()
        for pk in people:
            dose_record_external(actor=actor, resident_id=pk, product="ZF2001", given_on=day, place="基准")
        seconds = (time.perf_counter() - t0) / n
        db1 = backend()
        cpu[facts][0] += time.process_time() - py0
        cpu[facts][1] += (db1 - db0) if db0 is not None and db1 is not None else 0.0
        cpu[facts][2] += n
        return seconds

    run(20)  # warm-up: caches, statements, the catalogue
    cpu[True] = [0.0, 0.0, 0]
    connected, disconnected = [], []
    for _ in range(rounds):
        connected.append(run(batch))
        record_changed.disconnect(dispatch_uid="reports.record_changed")
        try:
            disconnected.append(run(batch, keep=skipped, facts=False))
        finally:
            record_changed.connect(on_record_changed, dispatch_uid="reports.record_changed")
    with transaction.atomic():
        facts_apply(resident_ids=skipped)  # the facts catch up with the doses recorded without them
    with_ms, without_ms = statistics.median(connected) * 1000, statistics.median(disconnected) * 1000
    log(f"per dose: {with_ms:.2f} ms with the facts, {without_ms:.2f} ms without")

    def per_dose(facts: bool, part: int | None = None) -> float:
        py, db, n = cpu[facts]
        return (py + db if part is None else (py, db)[part]) * 1000 / n

    return {
        "dose_with_facts_ms": round(with_ms, 3),
        "dose_without_facts_ms": round(without_ms, 3),
        "facts_cost_per_dose_ms": round(with_ms - without_ms, 3),
        # CPU per dose (this process's Python and its database backend), steadier than wall time on a shared
        # machine: it leaves out the time spent waiting for the cores.
        "dose_with_facts_cpu_ms": round(per_dose(True), 3),
        "dose_without_facts_cpu_ms": round(per_dose(False), 3),
        "facts_cost_per_dose_cpu_ms": round(per_dose(True) - per_dose(False), 3),
        "facts_cost_per_dose_cpu_ms_python": round(per_dose(True, 0) - per_dose(False, 0), 3),
        "facts_cost_per_dose_cpu_ms_database": round(per_dose(True, 1) - per_dose(False, 1), 3),
        **_facts_apply_ms(),
        "database_cpu_measured": _backend_cpu()() is not None,
        "per_dose_sample": rounds * batch,
    }


def _backend_cpu():
    """A function giving the CPU seconds of this connection's database backend so far (None when the server
    is not on this machine: only this process's CPU is then counted; 0 on SQLite, whose work is this
    process's own)."""
    from vaxops.benchmarks.server import process_cpu_seconds

    if connection.vendor != "postgresql":
        return lambda: 0.0
    with connection.cursor() as c:
        c.execute("SELECT pg_backend_pid()")
        pid = c.fetchone()[0]
    return lambda: process_cpu_seconds(pid)


def _facts_apply_ms(n: int = 200) -> dict:
    """The facts' own work for one dose, timed alone: ``facts_apply`` for a person given a new dose, inside a
    transaction rolled back (no commit cost in it); the median's wall time and the mean CPU (Python and the
    database backend)."""
    from vaxops.clinic.models import Dose
    from vaxops.registry.models import Resident
    from vaxops.reports.services import facts_apply

    people = list(
        Resident.objects.filter(id_number__startswith=BENCH_AREA)
        .order_by("-id")
        .values_list("id", flat=True)[:n]
    )
    times = []
    # Each person in a savepoint rolled back, inside one transaction rolled back at the end.
    backend = _backend_cpu()
    py0, db0 = time.process_time(), backend()
    with transaction.atomic():
        for pk in people:
            with transaction.atomic():
                pending = Dose(resident_id=pk, product_code="ZF2001", given_on=date(2022, 7, 1), place="基准")
                t0 = time.perf_counter()
                facts_apply(resident_ids=[pk], pending=pending)
                times.append(time.perf_counter() - t0)
                transaction.set_rollback(True)
        db1 = backend()
        transaction.set_rollback(True)
    py = time.process_time() - py0
    db = (db1 - db0) if db0 is not None and db1 is not None else 0.0
    return {
        "facts_apply_ms": round(statistics.median(times) * 1000, 3),
        "facts_apply_cpu_ms": round((py + db) * 1000 / len(people), 3),
    }


def reports_bench(
    *, people: int = 1_000_000, doses: int = 300, seed: int = 1, log: Log = print, per_dose_only: bool = False
) -> dict:
    from vaxops.benchmarks.supply import _county, _environment
    from vaxops.reports.selectors import daily_report
    from vaxops.reports.services import facts_check, facts_rebuild

    if per_dose_only:  # on the people an earlier run left (the facts must be whole: checked after)
        from vaxops.registry.models import Resident

        have = Resident.objects.filter(id_number__startswith=BENCH_AREA).count()
        if have < 2 * doses + 40:
            raise RuntimeError(f"--per-dose-only needs an earlier run's people ({have} found)")
        from django.db.models import Max

        from vaxops.clinic.models import Dose

        # A day after the doses earlier runs recorded for the same people (one dose per person and day).
        last = Dose.objects.filter(place="基准").aggregate(last=Max("given_on"))["last"]
        day = max(last + timedelta(days=1), date(2022, 6, 1)) if last else date(2022, 6, 1)
        report = {**_environment(), "people": have} | _per_dose(doses=doses, log=log, rounds=10, day=day)
        t0 = time.perf_counter()
        checked = facts_check()
        report["check_s"] = round(time.perf_counter() - t0, 2)
        report["check_ok"] = checked["ok"]
        if not checked["ok"]:
            raise RuntimeError(
                f"report check found {checked['count']} differences: {checked['differences'][:3]}"
            )
        return report
    report: dict = {**_environment(), "people": people, "doses": 2 * people}
    report |= _generate(people=people, log=log)
    t0 = time.perf_counter()
    facts_rebuild()
    report["first_rebuild_s"] = round(time.perf_counter() - t0, 2)
    log(f"rebuild {report['first_rebuild_s']} s")

    county = _county()
    low, high = county.code_range
    township = (
        Division.objects.filter(level=Level.TOWNSHIP, code__gte=low, code__lte=high).order_by("code").first()
    )
    every = Scope(unrestricted=True)
    mine = Scope(code_low=township.code_range[0], code_high=township.code_range[1])
    today = date(2022, 12, 31)  # after every dose: the figures of "now"
    middle = START + timedelta(days=180)  # mid-campaign: half the facts on each side

    report["county_dashboard_ms"] = _ms(_median(lambda: _dashboard(every, today, county.code)))
    report["county_dashboard_mid_campaign_ms"] = _ms(_median(lambda: _dashboard(every, middle, county.code)))
    report["township_dashboard_ms"] = _ms(_median(lambda: _dashboard(mine, today)))
    report["township_dashboard_mid_campaign_ms"] = _ms(_median(lambda: _dashboard(mine, middle)))
    report["county_daily_report_ms"] = _ms(
        _median(lambda: daily_report(scope=every, day=today, division_code=county.code))
    )
    report["county_daily_report_mid_campaign_ms"] = _ms(
        _median(lambda: daily_report(scope=every, day=middle, division_code=county.code))
    )
    log("dashboard and daily report timed; the raw database next")
    report["raw_group_by_county_ms"] = _ms(
        _median(lambda: _raw_county(low=low, high=high, day=today), runs=3)
    )
    report["raw_daily_report_recount_ms"] = _ms(
        _median(lambda: daily_report(scope=every, day=today, division_code=county.code, recount=True), runs=3)
    )
    report["dashboard_vs_raw"] = round(
        report["raw_group_by_county_ms"] / max(report["county_dashboard_ms"], 0.01), 1
    )
    report["daily_report_vs_raw_recount"] = round(
        report["raw_daily_report_recount_ms"] / max(report["county_daily_report_ms"], 0.01), 1
    )
    t0 = time.perf_counter()
    facts_rebuild()
    report["rebuild_s"] = round(time.perf_counter() - t0, 2)
    report |= _per_dose(doses=min(doses, max((people - 20) // 2, 6)), log=log)
    t0 = time.perf_counter()
    checked = facts_check()
    report["check_s"] = round(time.perf_counter() - t0, 2)
    report["check_ok"] = checked["ok"]
    if not checked["ok"]:
        raise RuntimeError(f"report check found {checked['count']} differences: {checked['differences'][:3]}")
    return report
