# ruff: noqa: S608 - only integers and constants of this module are formatted into the SQL
"""``vaxops bench exchange``: FHIR Bulk Data export of N doses, and the outbox draining M doses to the local
receiving FHIR server, each beside the same work without validation, in the same run.

Generates N doses recorded here (``external`` false) for N/2 people of ID area ``BENCH_AREA`` at one site with
one lot, in bulk SQL (re-running replaces them). Then:

- ``export``: ``vaxops exchange export`` for all of them (Patient, Location, Organization and Immunization
  NDJSON, every resource validated with fhir.resources; one process per core, by id range), then the same
  export with validation off, and the raw database reading the same rows (the export's one query, fetched,
  nothing built, one process);
- ``outbox``: M messages (one endpoint), drained by the worker to the local receiver running in its own
  process over HTTP (transaction Bundles of ``--batch`` doses, conditional creates, every resource validated
  by the sender and by the receiver; the sender builds and validates the next batch while the receiver works
  on the last), then again with validation off at both ends, and the raw database
  doing the worker's database part alone (claim, read the rows, mark acknowledged; no HTTP).
"""

from __future__ import annotations

import multiprocessing
import shutil
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import connection, connections, transaction

from vaxops.jurisdictions.models import Division, Level

Log = Callable[[str], None]
BENCH_AREA = "330196"  # ID numbers of the benchmark's people: neither the demo county's nor another bench's
SINCE = date(2021, 3, 1)


def _generate(*, doses: int, log: Log) -> None:
    from vaxops.benchmarks.people import people_replace
    from vaxops.benchmarks.supply import _county
    from vaxops.catalog.models import Product
    from vaxops.sites.models import Site
    from vaxops.supply.models import Lot

    county = _county()
    low, high = county.code_range
    township = (
        Division.objects.filter(level=Level.TOWNSHIP, code__gte=low, code__lte=high).order_by("code").first()
    )
    site, _ = Site.objects.get_or_create(
        code="BENCH-EXCHANGE", defaults={"name": "基准接种门诊", "division": township, "address": "基准路1号"}
    )
    product = Product.objects.get(code="BBIBP-CorV")
    lot, _ = Lot.objects.get_or_create(
        product=product,
        lot_number="BENCH-EX-1",
        defaults={"expiry": date(2031, 12, 31), "manufacturer": "基准"},
    )
    people = max(1, doses // 2)
    pg = connection.vendor == "postgresql"
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as c:
        made = people_replace(
            c,
            area=BENCH_AREA,
            people=people,
            before=(
                "DELETE FROM exchange_outboundmessage WHERE dose_id IN (SELECT d.id FROM clinic_dose d JOIN "
                "registry_resident r ON r.id = d.resident_id WHERE r.id_number LIKE %s)",
                "DELETE FROM exchange_inbounddose WHERE dose_id IN (SELECT d.id FROM clinic_dose d JOIN "
                "registry_resident r ON r.id = d.resident_id WHERE r.id_number LIKE %s)",
            ),
        )
        day, now = made.day, made.now
        if pg:
            later = f"{day} + 28"
            at = f"({day}) + TIME '09:30'"
        else:
            later = "date('2021-03-01', '+' || ((s * 104729) %% 300 + 28) || ' days')"
            at = "datetime('2021-03-01 01:30:00', '+' || ((s * 104729) %% 300) || ' days')"
        for number, given in ((1, day), (2, later)):
            c.execute(
                "INSERT INTO clinic_dose (resident_id, product_code, given_on, given_at, place, external, "
                "recorded_at, void_reason, is_booster, client_id, injection_site, dose_number, lot_id, site_id) "
                f"SELECT id, 'BBIBP-CorV', {given}, {at}, '基准接种门诊', false, {now}, '', false, NULL, "
                f"'左上臂三角肌', {number}, {lot.pk}, {site.pk} FROM bench_people",
                [],
            )
        c.execute("DROP TABLE bench_people")
    if pg:
        with connection.cursor() as c:
            c.execute("ANALYZE registry_resident")
            c.execute("ANALYZE clinic_dose")
    log(f"generated {people} people and {2 * people} doses in {time.perf_counter() - t0:.1f} s")


def _bench_doses():
    from vaxops.clinic.models import Dose

    return Dose.objects.filter(resident__id_number__startswith=BENCH_AREA, external=False)


def _export(log: Log) -> dict:
    from vaxops.exchange import bulk, selectors

    out = Path(settings.VAR_DIR) / "bench" / "exchange-export"
    figures: dict = {}
    n = _bench_doses().count()
    code_range = _bench_range()
    for label, validate in (("validated", True), ("unvalidated", False)):
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        manifest = bulk.export(since=SINCE, out=out, code_range=code_range, validate=validate)
        seconds = time.perf_counter() - t0
        counts = {o["type"]: o["count"] for o in manifest["output"]}
        figures[f"export_{label}_seconds"] = round(seconds, 1)
        figures[f"export_{label}_doses_per_s"] = round(counts["Immunization"] / seconds)
        log(f"export ({label}): {counts} in {seconds:.1f} s")
    figures["export_workers"] = bulk.workers_default()
    figures["export_bytes"] = sum(p.stat().st_size for p in out.glob("*.ndjson"))
    t0 = time.perf_counter()
    qs = _bench_doses().filter(given_on__gte=SINCE).order_by("id").values_list(*selectors.DOSE_FIELDS)
    rows = sum(1 for _ in qs.iterator(chunk_size=bulk.CHUNK))
    seconds = time.perf_counter() - t0
    figures["export_raw_read_seconds"] = round(seconds, 1)
    figures["export_raw_read_rows"] = rows
    figures["export_doses"] = n
    return figures


def _bench_range() -> tuple[str, str]:
    from vaxops.benchmarks.supply import _county

    return _county().code_range


def _serve(port_queue, validate: bool) -> None:
    from vaxops.exchange.server import Receiver

    r = Receiver(port=0, validate=validate)
    port_queue.put(r.server.server_address[1])
    r.server.serve_forever()


def _outbox(*, messages: int, batch: int, log: Log) -> dict:
    from vaxops.core import clock
    from vaxops.exchange import services
    from vaxops.exchange.models import Endpoint, OutboundMessage

    figures: dict = {"outbox_doses": messages, "outbox_batch": batch}
    ids = list(_bench_doses().order_by("id").values_list("id", "resident_id")[:messages])
    ctx = multiprocessing.get_context("fork")
    for label, validate in (("validated", True), ("unvalidated", False)):
        connections.close_all()  # a forked child must not share the parent's connection
        q = ctx.Queue()
        server = ctx.Process(target=_serve, args=(q, validate), daemon=True)
        server.start()
        port = q.get(timeout=30)
        OutboundMessage.objects.filter(endpoint__code="bench").delete()
        endpoint, _ = Endpoint.objects.update_or_create(
            code="bench",
            defaults={
                "name": "基准接收端",
                "kind": "provincial",
                "url": f"http://127.0.0.1:{port}/fhir",
                "batch_size": batch,
                "timeout_seconds": 120,
                "active": True,
                "failures": 0,
                "retry_at": None,
            },
        )
        now = clock.now()
        OutboundMessage.objects.bulk_create(
            [
                OutboundMessage(
                    endpoint=endpoint,
                    dose_id=d,
                    resident_id=r,
                    kind="create",
                    created_at=now,
                    next_attempt_at=now,
                )
                for d, r in ids
            ],
            batch_size=5000,
        )
        t0 = time.perf_counter()
        result = services.outbox_drain(endpoint_codes=["bench"], validate=validate)
        seconds = time.perf_counter() - t0
        server.terminate()
        server.join()
        acked = OutboundMessage.objects.filter(endpoint=endpoint, state="acknowledged").count()
        figures[f"outbox_{label}_seconds"] = round(seconds, 1)
        figures[f"outbox_{label}_doses_per_s"] = round(acked / seconds)
        log(
            f"outbox ({label}): {result.acknowledged} acknowledged of {len(ids)} in {seconds:.1f} s, errors {result.errors[:2]}"
        )
    # The raw database doing the worker's database part alone: claim, read the rows, mark acknowledged.
    from vaxops.exchange import selectors

    OutboundMessage.objects.filter(endpoint=endpoint).update(state="pending", acknowledged_at=None)
    t0 = time.perf_counter()
    while True:
        claimed = services.outbox_claim(endpoint=endpoint, limit=batch)
        if not claimed:
            break
        doses = list(OutboundMessage.objects.filter(id__in=claimed).values_list("dose_id", flat=True))
        selectors.dose_rows(doses)
        OutboundMessage.objects.filter(id__in=claimed).update(
            state="acknowledged", acknowledged_at=clock.now()
        )
    figures["outbox_database_only_doses_per_s"] = round(len(ids) / (time.perf_counter() - t0))
    OutboundMessage.objects.filter(endpoint=endpoint).delete()
    endpoint.delete()
    return figures


def exchange_bench(*, doses: int, messages: int, batch: int, log: Log) -> dict:
    import os
    import platform

    _generate(doses=doses, log=log)
    report: dict = {
        "benchmark": "exchange",
        "database": connection.vendor,
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()} (shared, loaded)",
    }
    report |= _export(log)
    report |= _outbox(messages=min(messages, doses), batch=batch, log=log)
    return report
