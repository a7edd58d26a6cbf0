"""Reads of vaccination records, and the inputs the rules engine needs for one person or a million."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from vaxops.catalog import domain
from vaxops.catalog.selectors import catalogue_current, phases_current
from vaxops.core.errors import ValidationFailed
from vaxops.registry.errors import RegistryErrorCode
from vaxops.registry.models import Resident
from vaxops.registry.selectors import resident_get

from .models import Contraindication, Deferral, Dose, ScreeningRecord

# Bound parameters per query: well under SQLite's 32,766 and PostgreSQL's 65,535.
CHUNK = 10_000


@dataclass(frozen=True)
class PersonInputs:
    """What the engine needs to know about a person besides the birth date: standing (not voided) doses,
    standing contraindications, and deferrals not yet ended (the engine decides which are still active
    on a given day)."""

    doses: tuple[domain.GivenDose, ...] = ()
    contraindications: tuple[domain.Contraindication, ...] = ()
    deferrals: tuple[domain.Deferral, ...] = ()


NO_INPUTS = PersonInputs()


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def person_inputs(*, resident_ids: Iterable[int] | QuerySet) -> dict[int, PersonInputs]:
    """The engine's inputs for each of ``resident_ids``; every id gets an entry (``NO_INPUTS`` for a
    person with no records).

    Not scoped: the caller passes ids it has already scoped. Three queries (doses, contraindications,
    deferrals) through ``values_list`` for up to 10,000 ids, three more per further 10,000; a queryset
    of ids (e.g. ``residents_visible(user=…).values("id")``) is used as a subquery, so the three queries
    serve any number of people, plus one to read the ids.
    """
    if isinstance(resident_ids, QuerySet):
        subquery = resident_ids.values("pk") if resident_ids.model is Resident else resident_ids
        ids = list(Resident.objects.filter(pk__in=subquery).values_list("pk", flat=True))
        filters = [subquery]
    else:
        ids = list(dict.fromkeys(int(i) for i in resident_ids))
        filters = list(_chunks(ids))

    # A server-side cursor costs extra round trips; stream only when many people are asked about.
    def stream(rows):
        return rows.iterator(chunk_size=5000) if len(ids) > 200 else rows

    doses: dict[int, list[domain.GivenDose]] = {}
    contras: dict[int, list[domain.Contraindication]] = {}
    defers: dict[int, list[domain.Deferral]] = {}
    for chunk in filters:
        rows = (
            Dose.objects.filter(resident_id__in=chunk, voided_at__isnull=True)
            .order_by()
            .values_list("resident_id", "id", "product_code", "given_on", "place", "external")
        )
        for rid, pk, code, given_on, place, external in stream(rows):
            doses.setdefault(rid, []).append(
                domain.GivenDose(
                    product_code=code, date=given_on, place=place or None, external=external, ref=str(pk)
                )
            )
        rows = (
            Contraindication.objects.filter(resident_id__in=chunk, lifted_at__isnull=True)
            .order_by()
            .values_list("resident_id", "products", "reason")
        )
        for rid, products, reason in rows:
            scope = domain.ALL if products == "all" else tuple(products)
            contras.setdefault(rid, []).append(domain.Contraindication(products=scope, reason=reason))
        rows = (
            Deferral.objects.filter(resident_id__in=chunk, ended_at__isnull=True)
            .order_by()
            .values_list("resident_id", "until", "condition", "reason")
        )
        for rid, until, condition, reason in rows:
            defers.setdefault(rid, []).append(
                domain.Deferral(until=until, condition=condition or None, reason=reason)
            )

    out: dict[int, PersonInputs] = {}
    for rid in ids:
        if rid in doses or rid in contras or rid in defers:
            out[rid] = PersonInputs(
                doses=tuple(doses.get(rid, ())),
                contraindications=tuple(contras.get(rid, ())),
                deferrals=tuple(defers.get(rid, ())),
            )
        else:
            out[rid] = NO_INPUTS
    return out


def _birth_date(resident: Resident) -> dt.date:
    if resident.birth_date is None:
        raise ValidationFailed(
            _("该居民未登记出生日期，无法评估接种"),
            field="birth_date",
            code=RegistryErrorCode.BIRTH_DATE_MISSING,
        )
    return resident.birth_date


def forecast_for(
    *,
    resident: Resident,
    on: dt.date,
    inputs: PersonInputs | None = None,
    catalogue: domain.Catalogue | None = None,
) -> domain.Forecast:
    """The forecast for a resident (already fetched through a scoped selector) as of ``on``.

    Raises ``ValidationFailed`` if the resident's birth date is unknown. For many people, pass
    ``inputs`` (from one ``person_inputs`` call) and ``catalogue`` (one ``catalogue_current()``), so the
    loop makes no queries.
    """
    birth = _birth_date(resident)
    if inputs is None:
        inputs = person_inputs(resident_ids=[resident.pk])[resident.pk]
    return domain.evaluate(
        birth_date=birth,
        doses=inputs.doses,
        contraindications=inputs.contraindications,
        deferrals=inputs.deferrals,
        on=on,
        catalogue=catalogue or catalogue_current(),
    )


def eligibility_for(
    *,
    resident: Resident,
    on: dt.date,
    forecast: domain.Forecast | None = None,
    phases: tuple[domain.Phase, ...] | None = None,
) -> domain.Eligibility:
    """May the resident be booked for ``on``, given the campaign phases and their priority group?

    Reads ``resident.priority_group`` (select it with the resident to avoid a query per person).
    """
    forecast = forecast or forecast_for(resident=resident, on=on)
    group = resident.priority_group.code if resident.priority_group_id else None
    return domain.booking_eligibility(
        birth_date=_birth_date(resident),
        priority_group=group,
        forecast=forecast,
        phases=phases if phases is not None else phases_current(),
        on=on,
    )


def resident_for_clinic(*, user, resident_id: int) -> Resident:
    """The resident, if the user may see them; raises ``NotFound`` otherwise (absent or out of scope)."""
    return resident_get(user=user, resident_id=resident_id)


def doses_of(*, resident: Resident) -> list[Dose]:
    """Every dose of the resident, voided ones included, oldest first."""
    return list(Dose.objects.filter(resident=resident).order_by("given_on", "id"))


def screenings_of(*, resident: Resident, limit: int = 20) -> list[ScreeningRecord]:
    """The resident's latest screenings, newest first."""
    return list(ScreeningRecord.objects.filter(resident=resident).order_by("-at", "-id")[:limit])


def standing_deferrals_of(*, resident: Resident) -> list[Deferral]:
    return list(Deferral.objects.filter(resident=resident, ended_at__isnull=True).order_by("-created_at"))


def standing_contraindications_of(*, resident: Resident) -> list[Contraindication]:
    return list(
        Contraindication.objects.filter(resident=resident, lifted_at__isnull=True).order_by("-created_at")
    )


def dose_by_id(*, dose_id: int) -> Dose | None:
    """The dose, or ``None``: only for where a page goes back to; ``services.dose_void`` checks the user's
    scope and permission."""
    return Dose.objects.filter(pk=dose_id).first()


def contraindication_by_id(*, contraindication_id: int) -> Contraindication | None:
    """The contraindication, or ``None``: only for where a page goes back to; ``services.contraindication_lift``
    checks the user's scope and permission."""
    return Contraindication.objects.filter(pk=contraindication_id).first()


def screening_of(*, resident: Resident, record_id: int) -> ScreeningRecord | None:
    """The resident's screening with this id (the caller has the resident through ``resident_for_clinic``), or
    ``None``."""
    return ScreeningRecord.objects.filter(pk=record_id, resident=resident).first()
