"""FHIR Bulk Data (NDJSON) export and import.

``export`` writes one file per resource type (``Patient.ndjson``, ``Location.ndjson``, ``Organization.ndjson``,
``Immunization.ndjson``) for the doses recorded here that were given, recorded or voided since a day
(optionally only for the people of one division), and ``manifest.json`` in the shape of the Bulk Data
status response (``transactionTime``, ``request``, ``output`` with each file's type, url and count). Each
resource is validated with ``fhir.resources`` as it is written (``validate=False`` skips it, for the
benchmark's comparison). ``import_path`` reads the same format back through the inbound path.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import shutil
from pathlib import Path
from typing import Any

import orjson
from django.db import connection, connections
from django.db.models import Max, Min, Q

from vaxops.clinic.models import Dose
from vaxops.core import clock
from vaxops.registry.models import Resident

from . import resources, selectors
from .inbound import InboundResult, inbound_apply

CHUNK = 5000


def _patient_id(p: resources.PersonRow) -> str:
    return resources.urn("Patient", f"{p.id_type}|{p.id_number}").removeprefix("urn:uuid:")


def _dump(resource: dict[str, Any]) -> bytes:
    """One NDJSON line's JSON, UTF-8: the bytes ``json.dumps(resource, ensure_ascii=False,
    separators=(",", ":"), default=str)`` would encode to — a decimal's exponent aside (``1e-9``, not
    ``1e-09``; the resources exported hold none) — in a tenth of the time (tests compare them)."""
    return orjson.dumps(resource, default=str, option=orjson.OPT_PASSTHROUGH_DATETIME)


def _doses(*, since: dt.date, code_range: tuple[str, str] | None):
    start = dt.datetime.combine(since, dt.time(0), tzinfo=clock.localnow().tzinfo)
    doses = Dose.objects.filter(external=False).filter(
        Q(given_on__gte=since) | Q(recorded_at__gte=start) | Q(voided_at__gte=start)
    )
    if code_range:
        doses = doses.filter(
            resident__village_code__gte=code_range[0], resident__village_code__lte=code_range[1]
        )
    return doses


def _immunizations_part(
    *, since: dt.date, code_range, validate: bool, id_range: tuple[int, int] | None, path: Path
) -> tuple[int, set[int], set[str]]:
    """Write the Immunizations of the doses in ``id_range`` (inclusive; all when None) to ``path``: how many,
    and the people and sites they name."""
    doses = _doses(since=since, code_range=code_range)
    if id_range is not None:
        doses = doses.filter(id__gte=id_range[0], id__lte=id_range[1])
    names = selectors.products()
    check = resources.validated if validate else (lambda r: r)
    count = 0
    people: set[int] = set()
    site_codes: set[str] = set()
    with open(path, "wb") as f:
        batch: list[bytes] = []
        for v in doses.order_by("id").values_list(*selectors.DOSE_FIELDS).iterator(chunk_size=CHUNK):
            d = selectors.dose_row(v, names)
            people.add(d.resident_id)
            if d.site_code:
                site_codes.add(d.site_code)
            imm = resources.immunization(d, patient_ref=f"Patient/rid-{d.resident_id}", site_refs=False)
            imm["id"] = f"dose-{d.dose_id}"
            if d.site_code:
                imm["location"] = {"reference": f"Location/site-{d.site_code}", "display": d.site_name}
            # Validated as the dict it is, and that same dict written (not the model serialised again).
            batch.append(_dump(check(imm)))
            if len(batch) >= CHUNK:
                f.write(b"\n".join(batch) + b"\n")
                count += len(batch)
                batch = []
        if batch:
            f.write(b"\n".join(batch) + b"\n")
            count += len(batch)
    return count, people, site_codes


def _patients_part(*, ids: list[int], validate: bool, path: Path) -> int:
    """Write the people ``ids`` (with a reference that does not carry the ID number: ``rid-<row id>``)."""
    check = resources.validated if validate else (lambda r: r)
    count = 0
    with open(path, "wb") as f:
        for i in range(0, len(ids), CHUNK):
            chunk = Resident.objects.filter(pk__in=ids[i : i + CHUNK]).values_list(*selectors.PERSON_FIELDS)
            lines = []
            for v in chunk:
                p = selectors.person_row(v)
                lines.append(_dump(check(resources.patient(p) | {"id": f"rid-{p.resident_id}"})))
            if lines:
                f.write(b"\n".join(lines) + b"\n")
                count += len(lines)
    return count


def _in_parts(jobs: list[tuple[Any, dict]], workers: int) -> list[Any]:
    """Run ``jobs`` ((function, keyword arguments)) in ``workers`` forked processes, each with its own
    database connection; the answers in the jobs' order. One worker: here, in this process."""
    if workers <= 1 or len(jobs) <= 1:
        return [fn(**kw) for fn, kw in jobs]
    connections.close_all()  # a forked child must not share the parent's connection
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(min(workers, len(jobs)), initializer=_child_start) as pool:
        pending = [pool.apply_async(_call, (fn, kw)) for fn, kw in jobs]
        return [p.get() for p in pending]


def _child_start() -> None:
    # The parent's connections were closed before the fork; this process opens its own on first use.
    for c in connections.all(initialized_only=True):
        c.connection = None


def _call(fn, kw):
    try:
        return fn(**kw)
    finally:
        connections.close_all()


def _concat(parts: list[Path], out: Path) -> None:
    with open(out, "wb") as target:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, target, 1 << 20)
            part.unlink()


def workers_default() -> int:
    """The processes an export uses: every core (one where a transaction is open: a child could not see
    its rows)."""
    return 1 if connection.in_atomic_block else max(1, os.cpu_count() or 1)


def export(
    *,
    since: dt.date,
    out: Path,
    code_range: tuple[str, str] | None = None,
    validate: bool = True,
    workers: int | None = None,
) -> dict[str, Any]:
    """Write the Bulk Data files and the manifest. With ``workers`` > 1 the Immunizations are written in
    parts by id range, one process each, then the people (each once) in parts, and each type's parts are
    joined in order into its one file."""
    out.mkdir(parents=True, exist_ok=True)
    workers = workers_default() if workers is None else workers
    if workers > 1 and connection.in_atomic_block:
        workers = 1
    if validate:
        resources.prepare_checks()  # once, here: the workers forked below inherit it
    common = {"since": since, "code_range": code_range, "validate": validate}
    ranges: list[tuple[int, int] | None] = [None]
    if workers > 1:
        bounds = _doses(since=since, code_range=code_range).aggregate(low=Min("id"), high=Max("id"))
        low, high = bounds["low"], bounds["high"]
        if low is not None:
            step = (high - low) // workers + 1
            ranges = [(low + i * step, min(high, low + (i + 1) * step - 1)) for i in range(workers)]
    parts = [out / f"Immunization.part{i}.ndjson" for i in range(len(ranges))]
    answers = _in_parts(
        [
            (_immunizations_part, common | {"id_range": r, "path": p})
            for r, p in zip(ranges, parts, strict=True)
        ],
        workers,
    )
    _concat(parts, out / "Immunization.ndjson")
    counts = {"Patient": 0, "Location": 0, "Organization": 0, "Immunization": sum(a[0] for a in answers)}
    people = sorted(set().union(*(a[1] for a in answers)))
    site_codes: set[str] = set().union(*(a[2] for a in answers))
    share = -(-len(people) // max(1, workers)) or 1
    slices = [people[i : i + share] for i in range(0, len(people), share)] or [[]]
    parts = [out / f"Patient.part{i}.ndjson" for i in range(len(slices))]
    counts["Patient"] = sum(
        _in_parts(
            [
                (_patients_part, {"ids": ids, "validate": validate, "path": p})
                for ids, p in zip(slices, parts, strict=True)
            ],
            workers,
        )
    )
    _concat(parts, out / "Patient.ndjson")
    check = resources.validated if validate else (lambda r: r)
    sites = selectors.site_rows(site_codes)
    with (
        open(out / "Location.ndjson", "wb") as loc,
        open(out / "Organization.ndjson", "wb") as org,
    ):
        for s in sites.values():
            location = resources.location(s) | {"id": f"site-{_safe(s.code)}"}
            location["managingOrganization"] = {
                "reference": f"Organization/site-{_safe(s.code)}",
                "display": s.name,
            }
            loc.write(_dump(check(location)) + b"\n")
            org.write(_dump(check(resources.organization(s) | {"id": f"site-{_safe(s.code)}"})) + b"\n")
            counts["Location"] += 1
            counts["Organization"] += 1
    manifest = {
        "transactionTime": clock.now().isoformat(),
        "request": f"$export?_since={since.isoformat()}"
        + (f"&division={code_range[0]}" if code_range else ""),
        "requiresAccessToken": False,
        "output": [{"type": k, "url": f"{k}.ndjson", "count": n} for k, n in counts.items()],
        "error": [],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


def _safe(code: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in code)[:60]


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def import_path(*, actor, path: Path, source: str = "") -> InboundResult:
    """Read a Bulk Data directory (its ``*.ndjson`` files) or one NDJSON file and apply its Immunizations."""
    files = sorted(path.glob("*.ndjson")) if path.is_dir() else [path]
    patients: dict[str, dict] = {}
    immunizations: list[dict] = []
    for f in files:
        for r in read_ndjson(f):
            if r.get("resourceType") == "Patient" and r.get("id"):
                patients[f"Patient/{r['id']}"] = r
            elif r.get("resourceType") == "Immunization":
                immunizations.append(r)
    return inbound_apply(
        actor=actor, source=source or f"file:{path.name}", immunizations=immunizations, patients=patients
    )
