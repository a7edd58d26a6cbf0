"""``vaxops bench import|forecast|codes|trace|booking|doses|certs|reports|coldchain|safety|exchange|settlement``: speed
against the raw database, same rows, same run.

``codes`` and ``trace`` (the supply chain) live in ``vaxops.benchmarks.supply``, ``booking`` in ``vaxops.benchmarks.booking``,
``doses`` in ``vaxops.benchmarks.doses``, ``certs`` in ``vaxops.benchmarks.certs``, ``reports`` in
``vaxops.benchmarks.reports``, ``coldchain`` (temperature readings) in ``vaxops.benchmarks.coldchain`` and
``safety`` in ``vaxops.benchmarks.safety``, ``exchange`` (FHIR export and the outbox) in ``vaxops.benchmarks.exchange``,
``settlement`` in ``vaxops.benchmarks.settlement``.
"""

import csv
import json
import platform
import secrets
import time
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from vaxops.core import clock
from vaxops.core.actors import SystemActor
from vaxops.core.uploads import ImportLimits
from vaxops.demo.county import COUNTY_CODE, demo_county_build
from vaxops.demo.population import generate_people
from vaxops.jurisdictions.models import Division, Level
from vaxops.registry.models import PriorityGroup, Resident
from vaxops.registry.services import INSERT_COLUMNS, residents_import
from vaxops.registry.tables import TEMPLATE_HEADERS, open_table


class Command(BaseCommand):
    help = (
        "性能基准 / benchmarks: import, forecast, codes (追溯码导入), trace (批号追溯), booking (预约压测), "
        "doses (接种台压测), certs (凭证签发与验证), reports (进度汇总表), coldchain (冷链温度读数), "
        "safety (疫苗安全性信号与个案), settlement (月度结算)"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "what",
            choices=[
                "import",
                "forecast",
                "codes",
                "trace",
                "booking",
                "doses",
                "certs",
                "reports",
                "coldchain",
                "safety",
                "exchange",
                "settlement",
            ],
        )
        parser.add_argument(
            "--rows",
            type=int,
            default=None,
            help="rows of the file (import, forecast: 100,000; codes: 1,000,000)",
        )
        parser.add_argument("--doses", type=int, default=100_000, help="trace: codes of the lot administered")
        parser.add_argument(
            "--mqtt", default=None, help="coldchain: through this broker (mqtt://HOST:PORT) and the listener"
        )
        parser.add_argument("--sensors", type=int, default=None, help="coldchain --mqtt: sensors (200)")
        parser.add_argument("--seconds", type=int, default=None, help="coldchain --mqtt: seconds (60)")
        parser.add_argument("--attempts", type=int, default=12_000, help="booking: booking attempts")
        parser.add_argument("--places", type=int, default=1_000, help="booking: places in the sessions")
        parser.add_argument("--desks", type=int, default=16, help="doses: concurrent vaccination desks")
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="booking, doses: gunicorn worker processes (default: booking 2, doses 3)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help="booking, doses: threads per worker (default: booking 1, doses 2 — the best measured "
            "on 2 cores: more threads contend for the GIL)",
        )
        parser.add_argument(
            "--people", type=int, default=1_000_000, help="reports: people generated (each with two doses)"
        )
        parser.add_argument(
            "--per-dose-only",
            action="store_true",
            help="reports: only the facts' cost per dose, on the people a previous run generated",
        )
        parser.add_argument("--reports", type=int, default=20_000, help="safety: AEFI reports")
        parser.add_argument("--messages", type=int, default=100_000, help="exchange: doses the outbox drains")
        parser.add_argument("--batch", type=int, default=500, help="exchange: doses per transaction Bundle")
        parser.add_argument(
            "--sites", type=int, default=200, help="settlement: sites sharing the month's doses"
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--json", action="store_true")

    def handle(
        self, *args, what, rows, doses, seed, json: bool, attempts, places, desks, workers, threads, **options
    ):
        if settings.DEBUG:
            raise CommandError("请以 VAXOPS_DEBUG=0 运行基准（DEBUG 会记录每条 SQL）")
        if what == "reports":
            from vaxops.benchmarks.reports import reports_bench

            try:
                report = reports_bench(
                    people=options["people"], seed=seed, log=self.log, per_dose_only=options["per_dose_only"]
                )
            except RuntimeError as e:
                raise CommandError(str(e)) from None
        elif what in ("booking", "doses", "certs"):
            try:
                if what == "booking":
                    from vaxops.benchmarks.booking import booking_bench

                    report = booking_bench(
                        attempts=attempts,
                        places=places,
                        workers=workers or 2,
                        worker_threads=threads or 1,
                        seed=seed,
                        log=self.log,
                    )
                elif what == "doses":
                    from vaxops.benchmarks.doses import doses_bench

                    report = doses_bench(
                        doses=rows or 3_000,
                        desks=desks,
                        workers=workers or 3,
                        worker_threads=threads or 2,
                        seed=seed,
                        log=self.log,
                    )
                else:
                    from vaxops.benchmarks.certs import cert_bench

                    report = cert_bench(rows or 2_000)
            except (RuntimeError, ValueError) as e:
                raise CommandError(str(e)) from None
        elif what in ("codes", "trace"):
            from vaxops.benchmarks import supply as supply_bench

            try:
                if what == "codes":
                    report = supply_bench.codes(rows=rows or 1_000_000, seed=seed, log=self.log)
                else:
                    report = supply_bench.trace(doses=doses, seed=seed, log=self.log)
            except RuntimeError as e:
                raise CommandError(str(e)) from None
        elif what == "coldchain":
            from vaxops.benchmarks.coldchain import coldchain_bench

            if options.get("mqtt"):
                from vaxops.benchmarks.coldchain import coldchain_mqtt_bench

                try:
                    report = coldchain_mqtt_bench(
                        url=options["mqtt"],
                        sensors=options.get("sensors") or 200,
                        seconds=options.get("seconds") or 60,
                        log=self.log,
                    )
                except RuntimeError as e:
                    raise CommandError(str(e)) from None
            else:
                report = coldchain_bench(readings=rows or 1_000_000, seed=seed, log=self.log)
        elif what == "safety":
            from vaxops.benchmarks.safety import safety_bench

            try:
                report = safety_bench(
                    doses=rows or 2_000_000, reports=options.get("reports") or 20_000, seed=seed, log=self.log
                )
            except RuntimeError as e:
                raise CommandError(str(e)) from None
        elif what == "exchange":
            from vaxops.benchmarks.exchange import exchange_bench

            report = exchange_bench(
                doses=rows or 1_000_000,
                messages=options.get("messages") or 100_000,
                batch=options.get("batch") or 500,
                log=self.log,
            )
        elif what == "settlement":
            from vaxops.benchmarks.settlement import settlement_bench

            try:
                report = settlement_bench(doses=rows or 1_000_000, sites=options["sites"], log=self.log)
            except RuntimeError as e:
                raise CommandError(str(e)) from None
        elif what == "import":
            report = self.bench_import(rows=rows or 100_000, seed=seed)
        else:
            report = self.bench_forecast(rows=rows or 100_000, seed=seed)
        if json:
            self.stdout.write(_dump(report))
        else:
            for k, v in report.items():
                self.stdout.write(f"{k:>28}: {v}")

    def log(self, text: str) -> None:
        self.stderr.write(text)

    def bench_import(self, *, rows: int, seed: int) -> dict:
        if not Division.objects.filter(code=COUNTY_CODE.ljust(12, "0")).exists():
            demo_county_build(seed=2021)
        villages = list(
            Division.objects.filter(code__startswith=COUNTY_CODE, level=Level.VILLAGE)
            .order_by("code")
            .values_list("code", "id")
        )
        village_ids = dict(villages)
        out_dir = Path(settings.VAR_DIR) / "bench"
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"census-{rows}-{seed}.csv"
        t0 = time.perf_counter()
        if not path.exists():
            with path.open("w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(TEMPLATE_HEADERS)
                for p in generate_people(
                    n=rows,
                    seed=seed,
                    county_code=COUNTY_CODE,
                    village_codes=[c for c, _ in villages],
                    employers=[],
                    today=date(2026, 1, 1),
                ):
                    w.writerow([p.get(h, "") for h in TEMPLATE_HEADERS])
        gen_s = time.perf_counter() - t0
        self.log(f"census file {path} ({path.stat().st_size / 1e6:.0f} MB) in {gen_s:.1f} s")

        self._clear()
        raw_s = self._raw_insert(path, village_ids)
        raw_copy_s = None
        if connection.vendor == "postgresql":
            self._clear()
            raw_copy_s = self._raw_insert(path, village_ids, copy=True)
        self._clear()
        self.log("raw inserts done; running the import pipeline")

        t0 = time.perf_counter()
        with path.open("rb") as f:
            result = residents_import(
                table=open_table(f, size=path.stat().st_size, limits=ImportLimits.for_benchmarks()),
                actor=SystemActor("bench"),
                filename=path.name,
            )
        import_s = time.perf_counter() - t0
        if result.created != rows:
            raise CommandError(
                f"expected {rows} created, got {result.as_dict() | {'errors': result.errors[:5]}}"
            )
        t0 = time.perf_counter()
        with path.open("rb") as f:
            again = residents_import(
                table=open_table(f, limits=ImportLimits.for_benchmarks()),
                actor=SystemActor("bench"),
                filename=path.name,
            )
        reimport_s = time.perf_counter() - t0
        if again.unchanged != rows:
            raise CommandError(f"re-import expected {rows} unchanged, got {again.as_dict()}")

        report = {
            "database": f"{connection.vendor} {_server_version()}",
            "machine": f"{platform.machine()} {_cpus()} cores, Python {platform.python_version()}",
            "rows": rows,
            "raw_insert_rows_per_s": round(rows / raw_s),
            "import_rows_per_s": round(rows / import_s),
            "import_seconds": round(import_s, 1),
            "import_vs_raw": round(raw_s / import_s, 2),
            "reimport_unchanged_rows_per_s": round(rows / reimport_s),
        }
        if raw_copy_s is not None:
            report["raw_copy_rows_per_s"] = round(rows / raw_copy_s)
            report["import_vs_raw_copy"] = round(raw_copy_s / import_s, 2)
        return report

    def bench_forecast(self, *, rows: int, seed: int) -> dict:
        """Status for every person (the engine), then mobilisation list pages over them, beside raw SQL."""
        import statistics

        from vaxops.accounts.models import User
        from vaxops.accounts.services import user_create
        from vaxops.campaign.selectors import mobilisation_counts, mobilisation_list
        from vaxops.campaign.services import status_refresh_all
        from vaxops.catalog.domain import MobilisationCategory
        from vaxops.clinic.models import Dose
        from vaxops.demo.county import demo_doses_build

        have = Resident.objects.count()
        if have < rows:
            self.log(f"{have} residents; importing up to {rows} first")
            self.bench_import(rows=rows, seed=seed)
        t0 = time.perf_counter()
        if not Dose.objects.exists():
            demo_doses_build(seed=seed, refresh=False)
        doses_s = time.perf_counter() - t0
        people = Resident.objects.count()
        t0 = time.perf_counter()
        n = status_refresh_all(progress=lambda d: self.log(f"  status {d}") if d % 100_000 < 5000 else None)
        status_s = time.perf_counter() - t0
        county = Division.objects.get(code=COUNTY_CODE.ljust(12, "0"))
        township = Division.objects.get(code=f"{COUNTY_CODE}001".ljust(12, "0"))
        users = {}
        for name, division in (("bench-county", county), ("bench-township", township)):
            users[name] = User.objects.filter(username=name).first() or user_create(
                username=name, password=secrets.token_urlsafe(16), role="county_admin", division=division
            )
        on = date(2022, 6, 1)
        report = {
            "database": f"{connection.vendor} {_server_version()}",
            "machine": f"{platform.machine()} {_cpus()} cores, Python {platform.python_version()}",
            "people": people,
            "doses": Dose.objects.count(),
            "doses_seconds": round(doses_s, 1),
            "status_people_per_s": round(n / status_s),
            "status_seconds": round(status_s, 1),
        }
        for name, user in users.items():
            page_times, raw_times, count_times = [], [], []
            for cat in (
                MobilisationCategory.NOT_STARTED,
                MobilisationCategory.OVERDUE,
                MobilisationCategory.BOOSTER_DUE,
                MobilisationCategory.DOSE_DUE,
            ):
                for _ in range(3):
                    t0 = time.perf_counter()
                    qs = mobilisation_list(user=user, category=cat, on=on)
                    total = qs.count()
                    page = [(r.name, r.id_number_masked, r.status.next_earliest) for r in qs[:50]]
                    page_times.append(time.perf_counter() - t0)
                    sql, params = qs[:50].query.sql_with_params()
                    csql, cparams = qs.order_by().values("id").query.sql_with_params()
                    t0 = time.perf_counter()
                    with connection.cursor() as c:
                        c.execute(f"SELECT COUNT(*) FROM ({csql}) AS t", cparams)  # noqa: S608
                        c.fetchone()
                        c.execute(sql, params)
                        c.fetchall()
                    raw_times.append(time.perf_counter() - t0)
                    assert total >= len(page)
                t0 = time.perf_counter()
                mobilisation_counts(user=user, on=on)
                count_times.append(time.perf_counter() - t0)
            report[f"{name}_list_page_ms_median"] = round(statistics.median(page_times) * 1000, 1)
            report[f"{name}_list_page_ms_max"] = round(max(page_times) * 1000, 1)
            report[f"{name}_raw_sql_ms_median"] = round(statistics.median(raw_times) * 1000, 1)
            report[f"{name}_all_counts_ms_median"] = round(statistics.median(count_times) * 1000, 1)
        return report

    def _clear(self) -> None:
        if connection.vendor == "postgresql":
            # TRUNCATE, not DELETE: a million dead rows would skew the planner
            # and the next stage would be measured against a bloated table.
            with connection.cursor() as c:
                c.execute("TRUNCATE registry_resident CASCADE")
                c.execute("ANALYZE registry_resident")
            return
        with connection.cursor() as c:
            c.execute(f"DELETE FROM {Resident._meta.db_table}")  # noqa: S608
        if connection.vendor == "sqlite":
            with connection.cursor() as c:
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _raw_insert(self, path: Path, village_ids: dict[str, int], *, copy: bool = False) -> float:
        """The same rows into the same table with the database's plain bulk path: no validation, no lookups.

        Reading the CSV is included, as the pipeline also reads it; batches of the same size, each committed.
        """
        general = PriorityGroup.objects.get(code="general").id
        now = clock.now()
        now_db = connection.ops.adapt_datetimefield_value(now)
        iso = connection.vendor == "sqlite"
        columns = (*INSERT_COLUMNS, "created_at", "updated_at")
        sql = f"INSERT INTO registry_resident ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
        batch_size = settings.VAXOPS_IMPORT_BATCH
        t0 = time.perf_counter()
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            h = {name: i for i, name in enumerate(next(reader))}
            i_name, i_id, i_sex, i_birth = h["姓名"], h["证件号码"], h["性别"], h["出生日期"]
            i_phone, i_addr, i_vil = h["手机号码"], h["现住址"], h["村(社区)代码"]
            i_occ, i_chronic, i_reason = h["职业"], h["慢性病"], h["意愿原因"]
            batch: list[tuple] = []

            def flush():
                with transaction.atomic(), connection.cursor() as c:
                    if copy:
                        cols = ", ".join(columns)
                        with c.cursor.copy(f"COPY registry_resident ({cols}) FROM STDIN") as cp:
                            for row in batch:
                                cp.write_row(row)
                    else:
                        c.executemany(sql, batch)
                batch.clear()

            for r in reader:
                birth = r[i_birth]
                batch.append(
                    (
                        "resident_id",
                        r[i_id],
                        r[i_name],
                        "M" if r[i_sex] == "男" else "F",
                        birth if iso else date.fromisoformat(birth),
                        r[i_phone],
                        r[i_addr],
                        village_ids[r[i_vil]],
                        r[i_vil],
                        None,
                        "",
                        r[i_occ],
                        general,
                        r[i_chronic],
                        False,
                        "willing",
                        r[i_reason],
                        now_db if not copy else now,
                        now_db if not copy else now,
                    )
                )
                if len(batch) >= batch_size:
                    flush()
            if batch:
                flush()
        return time.perf_counter() - t0


def _server_version() -> str:
    with connection.cursor() as c:
        c.execute("select sqlite_version()" if connection.vendor == "sqlite" else "show server_version")
        return str(c.fetchone()[0])


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def _dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
