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
from pathlib import Path
from typing import Any

from django.db.models import Q

from vaxops.clinic.models import Dose
from vaxops.core import clock
from vaxops.registry.models import Resident

from . import resources, selectors
from .inbound import InboundResult, inbound_apply

CHUNK = 5000


def _patient_id(p: resources.PersonRow) -> str:
    return resources.urn("Patient", f"{p.id_type}|{p.id_number}").removeprefix("urn:uuid:")


def _dump(resource: dict[str, Any]) -> str:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":"), default=str)


def export(
    *, since: dt.date, out: Path, code_range: tuple[str, str] | None = None, validate: bool = True
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    start = dt.datetime.combine(since, dt.time(0), tzinfo=clock.localnow().tzinfo)
    doses = Dose.objects.filter(external=False).filter(
        Q(given_on__gte=since) | Q(recorded_at__gte=start) | Q(voided_at__gte=start)
    )
    if code_range:
        doses = doses.filter(
            resident__village_code__gte=code_range[0], resident__village_code__lte=code_range[1]
        )
    names = selectors.products()
    check = resources.validated if validate else (lambda r: r)
    counts = {"Patient": 0, "Location": 0, "Organization": 0, "Immunization": 0}
    people: set[int] = set()
    site_codes: set[str] = set()
    with open(out / "Immunization.ndjson", "w", encoding="utf-8") as f:
        batch: list[str] = []
        for v in doses.order_by("id").values_list(*selectors.DOSE_FIELDS).iterator(chunk_size=CHUNK):
            d = selectors.dose_row(v, names)
            people.add(d.resident_id)
            if d.site_code:
                site_codes.add(d.site_code)
            imm = resources.immunization(d, patient_ref=f"Patient/rid-{d.resident_id}", site_refs=False)
            imm["id"] = f"dose-{d.dose_id}"
            if d.site_code:
                imm["location"] = {"reference": f"Location/site-{d.site_code}", "display": d.site_name}
            batch.append(_dump(check(imm)))
            if len(batch) >= CHUNK:
                f.write("\n".join(batch) + "\n")
                counts["Immunization"] += len(batch)
                batch = []
        if batch:
            f.write("\n".join(batch) + "\n")
            counts["Immunization"] += len(batch)
    # The people, with a reference that does not carry the ID number (``rid-<row id>``).
    with open(out / "Patient.ndjson", "w", encoding="utf-8") as f:
        ids = sorted(people)
        for i in range(0, len(ids), CHUNK):
            chunk = Resident.objects.filter(pk__in=ids[i : i + CHUNK]).values_list(*selectors.PERSON_FIELDS)
            lines = []
            for v in chunk:
                p = selectors.person_row(v)
                lines.append(_dump(check(resources.patient(p) | {"id": f"rid-{p.resident_id}"})))
            if lines:
                f.write("\n".join(lines) + "\n")
                counts["Patient"] += len(lines)
    sites = selectors.site_rows(site_codes)
    with (
        open(out / "Location.ndjson", "w", encoding="utf-8") as loc,
        open(out / "Organization.ndjson", "w", encoding="utf-8") as org,
    ):
        for s in sites.values():
            location = resources.location(s) | {"id": f"site-{_safe(s.code)}"}
            location["managingOrganization"] = {
                "reference": f"Organization/site-{_safe(s.code)}",
                "display": s.name,
            }
            loc.write(_dump(check(location)) + "\n")
            org.write(_dump(check(resources.organization(s) | {"id": f"site-{_safe(s.code)}"})) + "\n")
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
