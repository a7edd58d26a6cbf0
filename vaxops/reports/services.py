"""Writes of the progress reports: the population denominators."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from vaxops.accounts.scope import require
from vaxops.audit.services import audit_record_many
from vaxops.core import clock
from vaxops.jurisdictions.models import Division
from vaxops.registry.services import ImportResult, RowError
from vaxops.registry.tables import Table

from . import domain
from .models import Population
from .tables import LABELS

BATCH = 500
_FIELDS = ("total", "age_18_plus", "age_60_plus")


def population_import(
    *, table: Table, actor, filename: str = "", on_batch: Callable[[ImportResult], None] | None = None
) -> ImportResult:
    """Load a population table: each valid row creates or updates the (division, year, kind) row; a bad row
    is refused with its row number, column and reason, and the others are kept. Counts add up: read =
    created + updated + unchanged + rejected. Each batch is one transaction with one audit event per change.
    """
    require(actor, "reports.change_population")
    result = ImportResult()
    batch: list[tuple[int, domain.PopulationRow]] = []
    for number, values in table.rows:
        result.read += 1
        raw = {key: values[i] if i < len(values) else None for key, i in table.columns.items()}
        row, errors = domain.population_row(raw)
        if row is None:
            result.rejected += 1
            result.add_errors(
                [
                    RowError(
                        number, table.header_labels.get(e.field, LABELS.get(e.field, e.field)), e.message
                    )
                    for e in errors
                ]
            )
            continue
        batch.append((number, row))
        if len(batch) >= BATCH:
            _write(batch, result, table=table, actor=actor, filename=filename)
            batch = []
            if on_batch:
                on_batch(result)
    if batch:
        _write(batch, result, table=table, actor=actor, filename=filename)
    if on_batch:
        on_batch(result)
    return result


@transaction.atomic
def _write(batch, result: ImportResult, *, table: Table, actor, filename: str) -> None:
    codes = {row.division_code for _, row in batch}
    divisions = {d.code: d for d in Division.objects.filter(code__in=codes)}
    existing = {
        (p.division.code, p.year, p.kind): p
        for p in Population.objects.filter(division__code__in=codes).select_related("division")
    }
    seen: dict[tuple[str, int, str], int] = {}
    creates: list[Population] = []
    updates: list[Population] = []
    changes: list[tuple[str, dict | None, dict]] = []
    label = table.header_labels.get("division", LABELS["division"])
    for number, row in batch:
        division = divisions.get(row.division_code)
        if division is None:
            result.rejected += 1
            result.add_errors([RowError(number, label, f"区划代码{row.division_code}不在区划库中")])
            continue
        key = (row.division_code, row.year, row.kind.value)
        if key in seen:
            result.rejected += 1
            result.add_errors(
                [RowError(number, label, f"与第{seen[key]}行重复（同一区划、年份和口径只能有一行）")]
            )
            continue
        seen[key] = number
        new = {f: getattr(row, f) for f in _FIELDS}
        current = existing.get(key)
        if current is None:
            creates.append(Population(division=division, year=row.year, kind=row.kind.value, **new))
            result.created += 1
            changes.append((f"{key[0]}/{key[1]}/{key[2]}", None, new))
        elif any(getattr(current, f) != v for f, v in new.items()):
            old = {f: getattr(current, f) for f in _FIELDS}
            for f, v in new.items():
                setattr(current, f, v)
            current.updated_at = clock.now()
            updates.append(current)
            result.updated += 1
            changes.append((f"{key[0]}/{key[1]}/{key[2]}", old, new))
        else:
            result.unchanged += 1
    Population.objects.bulk_create(creates)
    if updates:
        Population.objects.bulk_update(updates, [*_FIELDS, "updated_at"])
    if changes:
        audit_record_many(
            actor=actor,
            action="population.import",
            object_type="reports.population",
            items=changes,
            purpose=filename[:200],
        )
