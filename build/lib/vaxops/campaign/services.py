"""Keeping ``ImmunizationStatus`` true to the rules engine."""

from collections.abc import Callable, Iterable
from datetime import date

from django.db import connection, transaction

from vaxops.catalog import domain
from vaxops.catalog.selectors import catalogue_current
from vaxops.clinic.selectors import NO_INPUTS, person_inputs
from vaxops.core import clock
from vaxops.core.prepared import numbered, prepared_cursor, row_values
from vaxops.registry.models import Resident

from .models import ImmunizationStatus

_FIELDS = [
    "village_code",
    "employer_id",
    "status",
    "valid_doses",
    "contraindicated",
    "deferred_until",
    "deferred_open",
    "next_number",
    "next_is_booster",
    "next_products",
    "next_earliest",
    "next_latest",
    "window_missed",
    "computed_on",
]


def status_from_forecast(f: domain.Forecast) -> dict:
    """The stored facts of a forecast (see ImmunizationStatus)."""
    nd = f.next_dose
    return {
        "status": f.status.value,
        "valid_doses": f.valid_dose_count,
        "contraindicated": f.status is domain.Status.CONTRAINDICATED,
        "deferred_until": f.deferred_until if f.status is domain.Status.DEFERRED else None,
        "deferred_open": f.status is domain.Status.DEFERRED and f.deferred_until is None,
        "next_number": nd.number if nd else None,
        "next_is_booster": bool(nd and nd.is_booster),
        "next_products": ",".join(nd.allowed_products)[:200] if nd else "",
        "next_earliest": nd.earliest if nd else None,
        "next_latest": nd.latest if nd else None,
        "window_missed": bool(nd and nd.overdue and nd.latest is None),
    }


def _status_row(
    *, pk: int, birth, village_code, employer_id, inputs, on: date, catalogue
) -> ImmunizationStatus:
    f = domain.evaluate(
        birth_date=birth,
        doses=inputs.doses,
        contraindications=inputs.contraindications,
        deferrals=inputs.deferrals,
        on=on,
        catalogue=catalogue,
    )
    return ImmunizationStatus(
        resident_id=pk,
        village_code=village_code,
        employer_id=employer_id,
        computed_on=on,
        **status_from_forecast(f),
    )


_UPSERT_SQL: str | None = None


def _upsert_sql() -> str:
    """One person's status, inserted or updated, with ``$n`` placeholders (PostgreSQL; built once)."""
    global _UPSERT_SQL
    if _UPSERT_SQL is None:
        meta = ImmunizationStatus._meta
        columns = [f.column for f in meta.concrete_fields]  # the key is the resident
        updates = [meta.get_field(name).column for name in _FIELDS]
        quoted = ", ".join(f'"{c}"' for c in columns)
        values = ", ".join("%s" for _ in columns)
        key = meta.get_field("resident").column
        sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in updates)
        # Only table and column names from the model are formatted in; every value is a parameter.
        sql = f'INSERT INTO {meta.db_table} ({quoted}) VALUES ({values}) ON CONFLICT ("{key}") DO UPDATE SET {sets}'  # noqa: S608
        _UPSERT_SQL, _ = numbered(sql)
    return _UPSERT_SQL


def _status_write(rows: list[ImmunizationStatus]) -> None:
    if len(rows) == 1 and connection.vendor == "postgresql":
        # The desk's dose: one prepared statement (planned once per connection) instead of the ORM's.
        with prepared_cursor() as cursor:
            cursor.execute(_upsert_sql(), row_values(rows[0], with_key=True))
        return
    # No savepoint inside a caller's transaction (nothing here is caught and retried); its own otherwise.
    with transaction.atomic(savepoint=False):
        ImmunizationStatus.objects.bulk_create(
            rows, batch_size=1000, update_conflicts=True, unique_fields=["resident"], update_fields=_FIELDS
        )


def status_refresh(*, resident_ids: Iterable[int], on: date | None = None) -> int:
    """Recompute the stored status of these residents (in the caller's transaction); returns how many."""

    ids = list(resident_ids)
    if not ids:
        return 0
    on = on or clock.today()
    catalogue = catalogue_current()
    people = Resident.objects.filter(pk__in=ids).values_list(
        "id", "birth_date", "village_code", "employer_id"
    )
    inputs = person_inputs(resident_ids=ids)
    rows = [
        _status_row(
            pk=pk,
            birth=birth,
            village_code=village_code,
            employer_id=employer_id,
            inputs=inputs.get(pk, NO_INPUTS),
            on=on,
            catalogue=catalogue,
        )
        for pk, birth, village_code, employer_id in people
        # no birth date (some passports): nothing can be forecast; shown as unknown
        if birth is not None
    ]
    _status_write(rows)
    return len(rows)


def status_store(*, resident: Resident, inputs, on: date | None = None) -> None:
    """Store one person's status from engine inputs the caller has already read (``person_inputs``, plus
    what it has just written in the same transaction): the desk's dose, without reading the history twice."""

    if resident.birth_date is None:
        return
    on = on or clock.today()
    _status_write(
        [
            _status_row(
                pk=resident.pk,
                birth=resident.birth_date,
                village_code=resident.village_code,
                employer_id=resident.employer_id,
                inputs=inputs,
                on=on,
                catalogue=catalogue_current(),
            )
        ]
    )


def status_refresh_all(
    *,
    on: date | None = None,
    only_missing: bool = False,
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Recompute every resident's status (or only those without one); returns how many rows were written."""
    qs = Resident.objects.order_by("id")
    if only_missing:
        qs = qs.filter(status__isnull=True)
    last = 0
    done = 0
    while True:
        ids = list(qs.filter(pk__gt=last).values_list("id", flat=True)[:batch])
        if not ids:
            return done
        done += status_refresh(resident_ids=ids, on=on)
        last = ids[-1]
        if progress:
            progress(done)
