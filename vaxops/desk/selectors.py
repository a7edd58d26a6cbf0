"""The desk's reads.

``dose_inputs_read`` is the read half of recording a dose: on PostgreSQL one statement gathers every input
of the hard stops (the staff member's assignment with its session, desk, site and stock place; today's
checked-in appointment with the person; their latest screening and consent; the scanned code with its lot,
product and stock place; the vaccinator's certificates; the person's standing doses, contraindications and
deferrals). Elsewhere (SQLite, the tests' default) the same values are read by the ORM in a few queries."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import signals
from django.db.models.base import ModelState

from vaxops.core.prepared import numbered, prepared_cursor


@dataclasses.dataclass
class DoseInputs:
    """Rows read for one dose. ``assignment`` is ``None`` when the user holds no vaccination-desk assignment
    today (the caller then asks ``desk_assignment`` why); ``appointment`` is ``None`` when the person is not
    checked in at the site today; ``code`` is ``None`` when no such code exists. The model instances are
    linked (``assignment.session.site.stock_place``, ``appointment.resident``, ``code.lot.product``) so no
    attribute access queries again."""

    assignment: Any
    appointment: Any
    screening: Any
    consent: Any
    code: Any
    code_place_code: str | None
    certificates: tuple
    history: Any


def _columns(model, alias: str, prefix: str) -> list[str]:
    return [f'{alias}."{f.column}" AS "{prefix}__{f.column}"' for f in model._meta.concrete_fields]


def _instance(model, values: list, conn):
    """A model instance from its concrete columns' raw values (``None`` when the primary key is null), read on
    the database connection ``conn``."""
    if values[0] is None:
        return None
    attnames, converters = _loading(model)
    converted = list(values)
    for i, f in converters:
        if converted[i] is not None:
            converted[i] = f.from_db_value(converted[i], None, conn)
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return model.from_db(conn.alias, attnames, converted)
    # No receiver of pre_init/post_init for this model: the instance as Model.from_db would build it, without
    # the per-field assignments of Model.__init__ (about 14 instances a dose).
    obj = model.__new__(model)
    obj.__dict__.update(zip(attnames, converted, strict=True))
    obj._state = ModelState()
    obj._state.adding = False
    obj._state.db = conn.alias
    return obj


@functools.lru_cache(maxsize=64)
def _loading(model) -> tuple[list[str], list[tuple[int, Any]]]:
    """The model's concrete columns' attribute names, and the fields converting their database values."""
    fields = model._meta.concrete_fields
    converters = [(i, f) for i, f in enumerate(fields) if hasattr(f, "from_db_value")]
    return [f.attname for f in fields], converters


def _sql() -> tuple[str, list]:
    from vaxops.booking.models import Appointment, Slot
    from vaxops.catalog.models import Product
    from vaxops.clinic.models import Consent, ConsentText, ScreeningRecord
    from vaxops.registry.models import Resident
    from vaxops.sites.models import Assignment, Desk, Session, Site, StaffMember
    from vaxops.supply.models import Lot, StockPlace, TraceCode

    order = [
        (Assignment, "a"),
        (Session, "se"),
        (Desk, "d"),
        (Site, "si"),
        (StockPlace, "sp"),
        (StaffMember, "st"),
        (Appointment, "ap"),
        (Resident, "r"),
        (ScreeningRecord, "sc"),
        (Consent, "co"),
        (ConsentText, "ct"),
        (TraceCode, "tc"),
        (Lot, "l"),
        (Product, "p"),
    ]
    outer = [
        *_columns(Assignment, "a", "a"),
        *_columns(Session, "se", "se"),
        *_columns(Desk, "d", "d"),
        *_columns(Site, "si", "si"),
        *_columns(StockPlace, "sp", "sp"),
        *_columns(StaffMember, "st", "st"),
    ]
    t = {m: m._meta.db_table for m, _ in order}
    slot, dose_t = Slot._meta.db_table, "clinic_dose"
    # Only table and column names from the models are formatted in; every value is a parameter.
    sql = f"""
SELECT {", ".join(outer)}, apx.*, scx.*, cox.*, tcx.*,
  (SELECT json_agg(json_build_array(c.kind, c.number, c.valid_from, c.valid_to))
     FROM sites_certificate c WHERE c.staff_id = st.id)::text,
  (SELECT json_agg(json_build_array(x.id, x.product_code, x.given_on, x.place, x.external))
     FROM {dose_t} x WHERE x.resident_id = %(rid)s AND x.voided_at IS NULL)::text,
  (SELECT json_agg(json_build_array(x.products, x.reason))
     FROM clinic_contraindication x WHERE x.resident_id = %(rid)s AND x.lifted_at IS NULL)::text,
  (SELECT json_agg(json_build_array(x."until", x.condition, x.reason))
     FROM clinic_deferral x WHERE x.resident_id = %(rid)s AND x.ended_at IS NULL)::text
FROM {t[Assignment]} a
JOIN {t[StaffMember]} st ON st.id = a.staff_id
JOIN {t[Session]} se ON se.id = a.session_id
JOIN {t[Desk]} d ON d.id = a.desk_id
JOIN {t[Site]} si ON si.id = se.site_id
LEFT JOIN {t[StockPlace]} sp ON sp.id = si.stock_place_id
LEFT JOIN LATERAL (
  SELECT {", ".join(_columns(Appointment, "ap", "ap") + _columns(Resident, "r", "r"))}
  FROM {t[Appointment]} ap
  JOIN {slot} sl ON sl.id = ap.slot_id
  JOIN {t[Session]} s2 ON s2.id = sl.session_id
  JOIN {t[Resident]} r ON r.id = ap.resident_id
  WHERE ap.resident_id = %(rid)s AND ap.status = 'checked_in' AND s2.site_id = si.id AND s2.day = %(today)s
  ORDER BY ap.id LIMIT 1
) apx ON true
LEFT JOIN LATERAL (
  SELECT {", ".join(_columns(ScreeningRecord, "sc", "sc"))}
  FROM {t[ScreeningRecord]} sc WHERE sc.resident_id = %(rid)s ORDER BY sc.at DESC, sc.id DESC LIMIT 1
) scx ON true
LEFT JOIN LATERAL (
  SELECT {", ".join(_columns(Consent, "co", "co") + _columns(ConsentText, "ct", "ct"))}
  FROM {t[Consent]} co JOIN {t[ConsentText]} ct ON ct.id = co.text_id
  WHERE co.resident_id = %(rid)s ORDER BY co.at DESC, co.id DESC LIMIT 1
) cox ON true
LEFT JOIN LATERAL (
  SELECT {", ".join(_columns(TraceCode, "tc", "tc") + _columns(Lot, "l", "l") + _columns(Product, "p", "p"))},
    pl.code AS tc__place_code
  FROM {t[TraceCode]} tc JOIN {t[Lot]} l ON l.id = tc.lot_id JOIN {t[Product]} p ON p.id = l.product_id
  LEFT JOIN {t[StockPlace]} pl ON pl.id = tc.place_id
  WHERE tc.code = %(code)s
) tcx ON true
WHERE st.user_id = %(uid)s AND st.active AND se.day = %(today)s AND d.kind = 'vaccination'
  AND (%(desk)s::bigint IS NULL OR a.desk_id = %(desk)s::bigint)
ORDER BY a.id LIMIT 1
"""  # noqa: S608
    return sql, [m for m, _ in order]


_SQL: tuple[str, list, tuple[str, ...]] | None = None


def _person_inputs(doses, contras, defers):
    from vaxops.catalog import domain as catalog
    from vaxops.clinic.selectors import NO_INPUTS, PersonInputs

    if not (doses or contras or defers):
        return NO_INPUTS
    return PersonInputs(
        doses=tuple(
            catalog.GivenDose(
                product_code=code,
                date=dt.date.fromisoformat(on),
                place=place or None,
                external=external,
                ref=str(pk),
            )
            for pk, code, on, place, external in doses or ()
        ),
        contraindications=tuple(
            catalog.Contraindication(
                products=catalog.ALL if products == "all" else tuple(products), reason=reason
            )
            for products, reason in contras or ()
        ),
        deferrals=tuple(
            catalog.Deferral(
                until=dt.date.fromisoformat(until) if until else None,
                condition=condition or None,
                reason=reason,
            )
            for until, condition, reason in defers or ()
        ),
    )


def dose_inputs_read(*, user, resident_id: int, code: str, desk_id: int | None, on: dt.date) -> DoseInputs:
    """Every input of recording a dose for ``resident_id`` from the scanned (normalised) ``code`` by ``user``
    on ``on``; one statement on PostgreSQL."""
    if connection.vendor != "postgresql":
        return _dose_inputs_orm(user=user, resident_id=resident_id, code=code, desk_id=desk_id, on=on)
    global _SQL
    if _SQL is None:
        text, models = _sql()
        sql, names = numbered(text)
        _SQL = (sql, models, names)
    sql, models, names = _SQL
    values = {"uid": user.pk, "rid": resident_id, "code": code, "desk": desk_id, "today": on}
    with prepared_cursor() as cursor:
        cursor.execute(sql, [values[name] for name in names])
        row = cursor.fetchone()
    if row is None:
        return DoseInputs(None, None, None, None, None, None, (), None)
    values = list(row)
    parts = {}
    pos = 0
    conn = connections[DEFAULT_DB_ALIAS]
    for model in models:
        n = len(model._meta.concrete_fields)
        parts[model._meta.label] = _instance(model, values[pos : pos + n], conn)
        pos += n
    place_code, certs, doses, contras, defers = values[pos : pos + 5]
    a, se, d, si, sp, st = (
        parts[x]
        for x in (
            "sites.Assignment",
            "sites.Session",
            "sites.Desk",
            "sites.Site",
            "supply.StockPlace",
            "sites.StaffMember",
        )
    )
    si.stock_place = sp
    se.site = si
    d.site = si
    st.site = si
    a.session, a.desk, a.staff = se, d, st
    ap, r = parts["booking.Appointment"], parts["registry.Resident"]
    if ap is not None:
        ap.resident = r
    consent = parts["clinic.Consent"]
    if consent is not None:
        consent.text = parts["clinic.ConsentText"]
    tc = parts["supply.TraceCode"]
    if tc is not None:
        lot = parts["supply.Lot"]
        lot.product = parts["catalog.Product"]
        tc.lot = lot
    from vaxops.sites.domain import Certificate as CertificateFacts

    certificates = tuple(
        CertificateFacts(
            kind=kind,
            number=number,
            valid_from=dt.date.fromisoformat(valid_from),
            valid_to=dt.date.fromisoformat(valid_to) if valid_to else None,
        )
        for kind, number, valid_from, valid_to in (json.loads(certs) if certs else ())
    )
    history = _person_inputs(
        json.loads(doses) if doses else None,
        json.loads(contras) if contras else None,
        json.loads(defers) if defers else None,
    )
    return DoseInputs(a, ap, parts["clinic.ScreeningRecord"], consent, tc, place_code, certificates, history)


def _dose_inputs_orm(*, user, resident_id: int, code: str, desk_id: int | None, on: dt.date) -> DoseInputs:
    from vaxops.booking.models import Appointment, AppointmentStatus
    from vaxops.clinic.models import Consent, ScreeningRecord
    from vaxops.clinic.selectors import person_inputs
    from vaxops.sites.domain import Certificate as CertificateFacts
    from vaxops.sites.models import Assignment, Certificate, DeskKind
    from vaxops.supply.models import TraceCode

    qs = Assignment.objects.filter(
        staff__user=user, staff__active=True, session__day=on, desk__kind=DeskKind.VACCINATION
    ).select_related("session__site__stock_place", "desk", "staff")
    if desk_id is not None:
        qs = qs.filter(desk_id=desk_id)
    assignment = qs.order_by("pk").first()
    if assignment is None:
        return DoseInputs(None, None, None, None, None, None, (), None)
    appointment = (
        Appointment.objects.filter(
            resident_id=resident_id,
            status=AppointmentStatus.CHECKED_IN,
            slot__session__site=assignment.session.site,
            slot__session__day=on,
        )
        .select_related("resident")
        .order_by("pk")
        .first()
    )
    if appointment is None:
        return DoseInputs(assignment, None, None, None, None, None, (), None)
    tc = TraceCode.objects.select_related("lot__product", "place").filter(code=code).first()
    return DoseInputs(
        assignment=assignment,
        appointment=appointment,
        screening=ScreeningRecord.objects.filter(resident_id=resident_id).order_by("-at", "-pk").first(),
        consent=Consent.objects.filter(resident_id=resident_id)
        .select_related("text")
        .order_by("-at", "-pk")
        .first(),
        code=tc,
        code_place_code=tc.place.code if tc is not None and tc.place_id else None,
        certificates=tuple(
            CertificateFacts(kind=x.kind, number=x.number, valid_from=x.valid_from, valid_to=x.valid_to)
            for x in Certificate.objects.filter(staff=assignment.staff)
        ),
        history=person_inputs(resident_ids=[resident_id])[resident_id],
    )


def found_at_desk_today(*, user, resident_id: int) -> bool:
    """Whether ``user`` found this person by document at a desk today (a ``DeskFind`` of today)."""
    from vaxops.core import clock

    from .models import DeskFind

    return DeskFind.objects.filter(user_id=user.pk, resident_id=resident_id, on=clock.today()).exists()


# ------------------------------------------------------------------------------------- reads of the desk's API


def session_get(session_id: int):
    """The session with its site and division, or ``None``."""
    from vaxops.sites.models import Session

    return Session.objects.select_related("site__division").filter(pk=session_id).first()


def site_by_code(code: str):
    """The site with this code (and its division), or ``None``."""
    from vaxops.sites.models import Site

    return Site.objects.select_related("division").filter(code=code.strip()).first()


def appointment_with_slot(appointment_id: int):
    from vaxops.booking.models import Appointment

    return Appointment.objects.select_related("slot").get(pk=appointment_id)


def resident_by_id(*, resident_id: int | None):
    """The resident (with the priority group), or ``None``. Not scoped: the caller decides access."""
    from vaxops.registry.models import Resident

    return Resident.objects.select_related("priority_group").filter(pk=resident_id).first()


def dose_with_details(dose_id: int):
    """A dose with everything its answer shows (lot, code, site, desk, vaccinator, observation), or ``None``."""
    from vaxops.clinic.models import Dose

    return (
        Dose.objects.select_related("lot", "trace_code", "site", "desk", "vaccinator", "observation")
        .filter(pk=dose_id)
        .first()
    )


def dose_history(resident_id: int) -> list:
    """Every dose of the person (external and voided ones too), oldest first, with its lot."""
    from vaxops.clinic.models import Dose

    return list(Dose.objects.filter(resident_id=resident_id).select_related("lot").order_by("given_on", "id"))


def consent_text_current(*, product_code: str, on: dt.date):
    """The product's consent text in force on ``on``, or ``None``."""
    from vaxops.clinic.models import ConsentText

    return (
        ConsentText.objects.filter(product_code=product_code, effective_from__lte=on)
        .order_by("-effective_from")
        .first()
    )


def observation_with_site(observation_id: int):
    from vaxops.clinic.models import Observation

    return Observation.objects.select_related("site__division").filter(pk=observation_id).first()


def observations_open(site) -> list:
    """The site's people still in observation, oldest first, each with its dose, person and reaction count
    (``n_reactions``)."""
    from django.db.models import Count

    from vaxops.clinic.models import Observation

    return list(
        Observation.objects.filter(site=site, released_at__isnull=True)
        .select_related("dose__resident")
        .annotate(n_reactions=Count("reactions"))
        .order_by("started_at", "id")
    )


# ----------------------------------------------------------------------------------- reads of the desk's pages


def session_for_page(session_id: int):
    """The session with its site, division and stock place, or ``None``."""
    from vaxops.sites.models import Session

    return Session.objects.select_related("site__division", "site__stock_place").filter(pk=session_id).first()


def sessions_on(day: dt.date, *, site=None) -> list:
    """The sessions of ``day`` (at ``site``, or everywhere by site code), with their site and division."""
    from vaxops.sites.models import Session

    qs = Session.objects.filter(day=day).select_related("site__division").order_by("site__code")
    return list(qs.filter(site=site) if site is not None else qs)


def assignment_of(staff, session):
    """The staff member's assignment in the session (with its desk), or ``None``."""
    from vaxops.sites.models import Assignment

    if staff is None:
        return None
    return Assignment.objects.filter(staff=staff, session=session).select_related("desk").first()


def checked_in_here(session, resident_id: int | None):
    """The person's appointment in this session when they are checked in (waiting for their dose)."""
    from vaxops.booking.models import Appointment, AppointmentStatus

    if resident_id is None:
        return None
    return (
        Appointment.objects.filter(
            slot__session=session, resident_id=resident_id, status=AppointmentStatus.CHECKED_IN
        )
        .select_related("resident", "slot")
        .first()
    )


def progress_on(resident_ids: list[int], day: dt.date) -> dict[int, dict]:
    """Each person's steps on ``day``: the latest screening, the latest consent and the dose given, if any."""
    from vaxops.clinic.models import Consent, Dose, ScreeningRecord

    out: dict[int, dict] = {rid: {"screening": None, "consent": None, "dose": None} for rid in resident_ids}
    for s in ScreeningRecord.objects.filter(resident_id__in=resident_ids, screened_on=day).order_by(
        "at", "id"
    ):
        out[s.resident_id]["screening"] = s
    for c in Consent.objects.filter(resident_id__in=resident_ids, signed_on=day).order_by("at", "id"):
        out[c.resident_id]["consent"] = c
    for d in Dose.objects.filter(
        resident_id__in=resident_ids, given_on=day, voided_at__isnull=True, external=False
    ):
        out[d.resident_id]["dose"] = d
    return out


def appointments_in(session, statuses, *, limit: int = 300) -> list:
    """The session's appointments in ``statuses``, latest change first, with person and slot."""
    from vaxops.booking.models import Appointment

    return list(
        Appointment.objects.filter(slot__session=session, status__in=statuses)
        .select_related("resident", "slot")
        .order_by("-changed_at", "-id")[:limit]
    )


def appointment_shown(*, appointment_id: int | None):
    """The appointment (with its slot) the check-in page shows after a scan, or ``None``."""
    from vaxops.booking.models import Appointment

    return Appointment.objects.filter(pk=appointment_id).select_related("slot").first()


def screening_shown(*, resident, record_id: int | None, day: dt.date):
    """The screening the screening page shows (with its screener): the person's record ``record_id`` when
    given and theirs, else their latest of ``day``, else ``None``."""
    from vaxops.clinic.models import ScreeningRecord

    record = None
    if record_id is not None:
        record = (
            ScreeningRecord.objects.filter(pk=record_id, resident=resident).select_related("screener").first()
        )
    if record is None:
        record = (
            ScreeningRecord.objects.filter(resident=resident, screened_on=day)
            .select_related("screener")
            .order_by("-at")
            .first()
        )
    return record


def consent_latest_on(*, resident, day: dt.date):
    """The person's latest consent (or refusal) signed on ``day``, or ``None``."""
    from vaxops.clinic.models import Consent

    return Consent.objects.filter(resident=resident, signed_on=day).order_by("-at").first()


def consent_shown(*, resident, consent_id: int):
    """The person's consent ``consent_id`` with its text (the consent page after signing), or ``None``."""
    from vaxops.clinic.models import Consent

    return Consent.objects.filter(pk=consent_id, resident=resident).select_related("text").first()


def consent_text_products(*, on: dt.date) -> set[str]:
    """The product codes that have a consent text in force on ``on``."""
    from vaxops.clinic.models import ConsentText

    return set(ConsentText.objects.filter(effective_from__lte=on).values_list("product_code", flat=True))


def dose_given_in(*, session, resident_id: int):
    """The person's standing dose given on an appointment of this session, or ``None``."""
    from vaxops.clinic.models import Dose

    return Dose.objects.filter(
        resident_id=resident_id, appointment__slot__session=session, voided_at__isnull=True
    ).first()


def dose_at_site(*, dose_id: int, site):
    """A dose given at ``site`` with what the success screen shows (person, lot, product, code, vaccinator),
    or ``None``."""
    from vaxops.clinic.models import Dose

    return (
        Dose.objects.select_related("resident", "lot__product", "trace_code", "vaccinator")
        .filter(pk=dose_id, site=site)
        .first()
    )


def observation_of_dose(*, dose):
    """The dose's observation, or ``None``."""
    from vaxops.clinic.models import Observation

    return Observation.objects.filter(dose=dose).first()


def observations_waiting(*, site, since: dt.datetime) -> list:
    """The site's people in observation who started at or after ``since`` and are not yet released, oldest
    first, each with its dose, person, lot and reactions (prefetched)."""
    from vaxops.clinic.models import Observation

    return list(
        Observation.objects.filter(site=site, released_at__isnull=True, started_at__gte=since)
        .select_related("dose__resident", "dose__lot")
        .prefetch_related("reactions")
        .order_by("started_at")
    )


def observation_at_site(*, observation_id: int, site):
    """The site's observation ``observation_id`` with its dose and person, or ``None``."""
    from vaxops.clinic.models import Observation

    return Observation.objects.filter(pk=observation_id, site=site).select_related("dose__resident").first()


def doses_for_record(*, resident, include_voided: bool) -> list:
    """The person's doses for the printable record, oldest first, with lot and site (voided ones only when
    ``include_voided``)."""
    from vaxops.clinic.models import Dose

    doses = Dose.objects.filter(resident=resident).select_related("lot", "site").order_by("given_on", "id")
    if not include_voided:
        doses = doses.filter(voided_at__isnull=True)
    return list(doses)


def dose_for_record(*, dose_id: int):
    """A dose with what the record page shows (person, site and division, lot, product, code, vaccinator,
    who voided it), or ``None``. Not scoped: the caller checks the user may see it."""
    from vaxops.clinic.models import Dose

    return (
        Dose.objects.select_related(
            "resident", "site__division", "lot__product", "trace_code", "vaccinator", "voided_by"
        )
        .filter(pk=dose_id)
        .first()
    )


def session_at(*, site, day: dt.date):
    """The site's session on ``day``, or ``None``."""
    from vaxops.sites.models import Session

    return Session.objects.filter(site=site, day=day).first()
