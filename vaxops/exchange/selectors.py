"""Reads of the exchange: the rows the resources are built from, the outbox's state, the 2-day rule per site
(always through the user's scope where people or sites are shown)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Count, Min, Q

from vaxops.accounts.scope import scope_for
from vaxops.catalog.models import Product
from vaxops.clinic.models import Dose
from vaxops.core import clock
from vaxops.registry.models import Resident
from vaxops.sites.models import Site

from .models import Endpoint, InboundReview, MessageKind, MessageState, OutboundMessage
from .resources import CodeRow, DoseRow, PersonRow, ReportRow, SiteRow

DOSE_FIELDS = (
    "id",
    "resident_id",
    "product_code",
    "given_on",
    "given_at",
    "recorded_at",
    "voided_at",
    "void_reason",
    "lot__lot_number",
    "lot__expiry",
    "trace_code__code",
    "site__code",
    "site__name",
    "place",
    "vaccinator__name",
    "injection_site",
    "dose_number",
    "is_booster",
)
PERSON_FIELDS = ("id", "id_type", "id_number", "name", "sex", "birth_date", "village_code")
SITE_FIELDS = ("code", "name", "division__code", "address")
TWO_DAYS = dt.timedelta(days=2)


def products() -> dict[str, tuple[str, str]]:
    """Catalogue code → (Chinese name, EU product code)."""
    return {code: (name, mp) for code, name, mp in Product.objects.values_list("code", "name_zh", "dcc_mp")}


def dose_row(v: tuple, names: dict[str, tuple[str, str]]) -> DoseRow:
    (pk, rid, product, given_on, given_at, recorded_at, voided_at, reason, lot, expiry, code, site_code, site_name,
     place, vaccinator, injection_site, number, booster) = v  # fmt: skip
    name, mp = names.get(product, ("", ""))
    return DoseRow(
        dose_id=pk,
        resident_id=rid,
        product_code=product,
        product_name=name,
        eu_product=mp,
        given_on=given_on,
        given_at=given_at,
        recorded_at=recorded_at,
        lot_number=lot or "",
        expiry=expiry,
        trace_code=code or "",
        site_code=site_code or "",
        site_name=site_name or place or "",
        vaccinator=vaccinator or "",
        injection_site=injection_site or "",
        dose_number=number,
        is_booster=booster,
        voided=voided_at is not None,
        void_reason=reason or "",
    )


def person_row(v: tuple) -> PersonRow:
    pk, id_type, id_number, name, sex, birth, village = v
    return PersonRow(pk, id_type, id_number, name, sex or "", birth, village or "")


def dose_rows(dose_ids: Iterable[int]) -> dict[int, DoseRow]:
    names = products()
    return {
        v[0]: dose_row(v, names) for v in Dose.objects.filter(pk__in=list(dose_ids)).values_list(*DOSE_FIELDS)
    }


def person_rows(resident_ids: Iterable[int]) -> dict[int, PersonRow]:
    return {
        v[0]: person_row(v)
        for v in Resident.objects.filter(pk__in=list(resident_ids)).values_list(*PERSON_FIELDS)
    }


def site_rows(codes: Iterable[str]) -> dict[str, SiteRow]:
    return {
        c: SiteRow(c, n, d, a or "")
        for c, n, d, a in Site.objects.filter(code__in=[c for c in codes if c]).values_list(*SITE_FIELDS)
    }


def endpoints_active():
    return Endpoint.objects.filter(active=True).order_by("id")


def endpoints_listed():
    """Every endpoint for the overview, the active ones first."""
    return Endpoint.objects.order_by("-active", "code")


def messages_failed(*, user, limit: int = 50):
    """The latest failed outbound messages, for a user who may resend them (none for anyone else)."""
    if not user.has_perm("exchange.change_outboundmessage"):
        return []
    return (
        OutboundMessage.objects.filter(state=MessageState.FAILED)
        .select_related("endpoint")
        .order_by("-id")[:limit]
    )


def outbox_counts() -> dict[str, dict[str, int]]:
    """Per endpoint code: messages per state."""
    out: dict[str, dict[str, int]] = {}
    for code, state, n in (
        OutboundMessage.objects.values_list("endpoint__code", "state").annotate(n=Count("id")).order_by()
    ):
        out.setdefault(code, {})[state] = n
    return out


# ------------------------------------------------------------------------------------------ the 2-day rule


def _sites_in_scope(user):
    scope = scope_for(user)
    if scope.unrestricted:
        return Site.objects.all()
    if scope.code_low is None:  # an employer's users, or no division: no sites
        return Site.objects.none()
    return Site.objects.filter(division__code__gte=scope.code_low, division__code__lte=scope.code_high)


def backlog_messages(*, now: dt.datetime | None = None):
    """The dose-create messages not acknowledged that are overdue: given more than 2 days ago."""
    now = now or clock.now()
    limit_day = clock.today() - TWO_DAYS
    return OutboundMessage.objects.filter(
        kind=MessageKind.CREATE,
        state__in=[MessageState.PENDING, MessageState.SENT, MessageState.FAILED],
        endpoint__active=True,
        endpoint__kind__in=["provincial", "national"],
    ).filter(
        Q(dose__given_at__lt=now - TWO_DAYS) | Q(dose__given_at__isnull=True, dose__given_on__lt=limit_day)
    )


def backlog_by_site(*, user=None, site_ids: Iterable[int] | None = None) -> list[dict]:
    """Doses not acknowledged within 2 days of being given, per site: site, how many doses (distinct), the
    oldest given day. Only the sites in ``user``'s scope when a user is given."""
    qs = backlog_messages()
    if user is not None:
        qs = qs.filter(dose__site__in=_sites_in_scope(user))
    if site_ids is not None:
        qs = qs.filter(dose__site_id__in=list(site_ids))
    rows = (
        qs.values("dose__site_id", "dose__site__code", "dose__site__name")
        .annotate(doses=Count("dose_id", distinct=True), oldest=Min("dose__given_on"))
        .order_by("-doses", "dose__site__code")
    )
    return [
        {
            "site_id": r["dose__site_id"],
            "code": r["dose__site__code"],
            "name": r["dose__site__name"],
            "doses": r["doses"],
            "oldest": r["oldest"],
        }
        for r in rows
    ]


def backlog_doses(*, user, site_id: int, limit: int = 200) -> list[dict]:
    """The overdue doses of one site (masked person), oldest first, with each endpoint's state."""
    from vaxops.registry.domain import mask_name

    qs = (
        backlog_messages()
        .filter(dose__site_id=site_id, dose__site__in=_sites_in_scope(user))
        .select_related("dose", "endpoint")
        .order_by("dose__given_on", "dose_id")
        .values_list(
            "dose_id", "dose__given_on", "dose__product_code", "dose__resident__name", "endpoint__name",
            "state", "attempts", "error",
        )[:limit]
    )  # fmt: skip
    return [
        {
            "dose_id": d,
            "given_on": g,
            "product": p,
            "name": mask_name(n),
            "endpoint": e,
            "state": MessageState(s).label,
            "attempts": a,
            "error": err,
        }
        for d, g, p, n, e, s, a, err in qs
    ]


def lag_summary(*, user=None, since: dt.date | None = None) -> dict:
    """Entry lag (given → recorded) and upload lag (recorded → acknowledged) over the acknowledged
    dose-create messages since ``since`` (30 days by default), in hours: median and worst; and how many
    doses were acknowledged later than 2 days after being given."""
    since = since or clock.today() - dt.timedelta(days=30)
    qs = OutboundMessage.objects.filter(
        kind=MessageKind.CREATE,
        state=MessageState.ACKNOWLEDGED,
        dose__given_on__gte=since,
        endpoint__kind__in=["provincial", "national"],
    )
    if user is not None:
        qs = qs.filter(dose__site__in=_sites_in_scope(user))
    entry, upload, late = [], [], 0
    for given_at, recorded_at, ack in qs.values_list(
        "dose__given_at", "dose__recorded_at", "acknowledged_at"
    )[:100000]:
        if given_at is None or ack is None:
            continue
        entry.append((recorded_at - given_at).total_seconds() / 3600)
        upload.append((ack - recorded_at).total_seconds() / 3600)
        late += ack - given_at > TWO_DAYS
    return {
        "doses": len(entry),
        "entry_median_h": _median(entry),
        "entry_max_h": max(entry, default=None),
        "upload_median_h": _median(upload),
        "upload_max_h": max(upload, default=None),
        "late": late,
    }


def _median(xs: list[float]) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def backlog_total(*, user=None, code_range: tuple[str, str] | None = None) -> int:
    """How many doses are past the 2-day rule (for the daily report and the dashboard): in ``user``'s scope,
    or at the sites whose division code is within ``code_range``."""
    qs = backlog_messages()
    if user is not None:
        qs = qs.filter(dose__site__in=_sites_in_scope(user))
    if code_range is not None:
        qs = qs.filter(
            dose__site__division__code__gte=code_range[0], dose__site__division__code__lte=code_range[1]
        )
    return qs.values("dose_id").distinct().count()


def reviews_open(*, user):
    scope = scope_for(user)
    qs = InboundReview.objects.filter(state="open").order_by("-received_at")
    if scope.unrestricted:
        return qs
    if scope.code_low is None:
        return qs.none()
    return qs.filter(village_code__gte=scope.code_low, village_code__lte=scope.code_high)


REPORT_FIELDS = (
    "id", "number", "dose_id", "resident_id", "onset_at", "discovered_at", "reported_at", "signs", "description",
    "serious", "outcome", "classification", "status", "site__name", "reporter_unit",
)  # fmt: skip
CODE_FIELDS = (
    "id", "code", "lot__product__code", "lot__product__name_zh", "lot__lot_number", "lot__expiry", "place__code",
    "place__name",
)  # fmt: skip


def report_rows(report_ids: Iterable[int]) -> dict[int, ReportRow]:
    from vaxops.safety.models import AdverseEventReport

    out = {}
    for v in AdverseEventReport.objects.filter(pk__in=list(report_ids)).values_list(*REPORT_FIELDS):
        (pk, number, dose_id, rid, onset, discovered, reported, signs, description, serious, outcome, cls, status,
         site_name, unit) = v  # fmt: skip
        out[pk] = ReportRow(
            report_id=pk,
            number=number,
            dose_id=dose_id,
            resident_id=rid,
            onset_at=onset,
            discovered_at=discovered,
            reported_at=reported,
            signs=tuple(signs or ()),
            description=description or "",
            serious=serious,
            outcome=outcome,
            classification=cls or "",
            status=status,
            site_name=site_name or "",
            reporter_unit=unit or "",
        )
    return out


def code_rows(code_ids: Iterable[int]) -> dict[int, CodeRow]:
    """The codes (package, lot, where it is) and, for an administered one, its dose (the latest not voided)."""
    from vaxops.supply.models import TraceCode

    ids = list(code_ids)
    doses = dict(
        Dose.objects.filter(trace_code_id__in=ids, voided_at__isnull=True).values_list("trace_code_id", "id")
    )
    return {
        pk: CodeRow(
            pk, code, product, name or "", lot or "", expiry, place or "", place_name or "", doses.get(pk)
        )
        for pk, code, product, name, lot, expiry, place, place_name in TraceCode.objects.filter(
            pk__in=ids
        ).values_list(*CODE_FIELDS)
    }


def adverse_event_bundle(*, report_id: int, profile: str = "") -> dict:
    """A safety report of a suspected AEFI as a collection Bundle: the person's Patient, the dose's
    Immunization and the ``AdverseEvent`` pointing at both (each validated with fhir.resources)."""
    from . import resources

    r = report_rows([report_id])[report_id]
    person = person_rows([r.resident_id])[r.resident_id]
    dose = dose_rows([r.dose_id])[r.dose_id]
    patient_ref = resources.urn("Patient", f"{person.id_type}|{person.id_number}")
    dose_ref = resources.urn("Immunization", str(dose.dose_id))
    event = resources.adverse_event(r, patient_ref=patient_ref, dose_ref=dose_ref, profile=profile)
    entries = [
        {"fullUrl": patient_ref, "resource": resources.patient(person, profile=profile)},
        {
            "fullUrl": dose_ref,
            "resource": resources.immunization(dose, patient_ref=patient_ref, site_refs=False),
        },
        {"fullUrl": resources.urn("AdverseEvent", r.number), "resource": event},
    ]
    return resources.validated({"resourceType": "Bundle", "type": "collection", "entry": entries})
