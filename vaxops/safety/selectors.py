"""Reads of vaccine safety, scoped to the user's jurisdiction (a case by the person's village or the site's
division), and the counts other apps may read (``aefi_counts``, ``adverse_events_today``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, Exists, Func, IntegerField, OuterRef, Q, Sum
from django.utils import timezone

from vaxops.accounts.scope import Scope, scope_for
from vaxops.clinic.models import Dose, ReactionNote
from vaxops.core import clock
from vaxops.sites.models import StaffMember

from . import domain
from .models import (
    AdverseEventReport,
    BackgroundRate,
    Claim,
    ClockAlert,
    Expert,
    Hospital,
    HospitalCase,
    LotHold,
    Outcome,
    PanelDecision,
    SafetySignal,
)


def _scope_q(scope: Scope) -> Q:
    if scope.unrestricted:
        return Q()
    if scope.code_low is None:
        return Q(pk__in=[])
    return Q(village_code__range=(scope.code_low, scope.code_high)) | Q(
        site__division__code__range=(scope.code_low, scope.code_high)
    )


def may_see_health(user) -> bool:
    """Health details of a case: only the roles that handle it (site, hospital, county CDC, panel)."""
    return bool(user and user.has_perm("safety.view_health_details"))


def reports_visible(*, user):
    """Cases in the user's jurisdiction, and for a hospital user the cases referred to their hospital."""
    q = _scope_q(scope_for(user))
    if getattr(user, "pk", None):
        q |= Q(hospital_cases__hospital__staff=user)
    return (
        AdverseEventReport.objects.filter(q)
        .distinct()
        .select_related("resident", "site", "lot", "lot__product", "hospital")
        .order_by("-reported_at", "-id")
    )


def report_get(*, user, report_id: int) -> AdverseEventReport | None:
    """One case if the user may see it: read by id (no DISTINCT over the join of ``reports_visible``), then the
    same rule — in the user's jurisdiction, or referred to the user's hospital."""
    r = (
        AdverseEventReport.objects.select_related(
            "resident",
            "site",
            "site__division",
            "lot",
            "lot__product",
            "hospital",
            "dose",
            "dose__trace_code",
            "dose__vaccinator",
        )
        .annotate(
            # Whether each part of the case page has rows: the page then reads only the parts that do
            # (most cases have no decision, hold, claim or alert yet), one round trip instead of six.
            has_cases=Exists(HospitalCase.objects.filter(report=OuterRef("pk"))),
            has_decisions=Exists(PanelDecision.objects.filter(report=OuterRef("pk"))),
            has_holds=Exists(LotHold.reports.through.objects.filter(adverseeventreport=OuterRef("pk"))),
            has_claims=Exists(Claim.objects.filter(report=OuterRef("pk"))),
            has_alerts=Exists(ClockAlert.objects.filter(report=OuterRef("pk"))),
        )
        .filter(pk=report_id)
        .first()
    )
    if r is None:
        return None
    scope = scope_for(user)
    if scope.unrestricted:
        return r
    if scope.code_low is not None:
        codes = [r.village_code, r.site.division.code if r.site_id else ""]
        if any(c and scope.code_low <= c <= scope.code_high for c in codes):
            return r
    if getattr(user, "pk", None) and HospitalCase.objects.filter(report=r, hospital__staff=user).exists():
        return r
    return None


def report_detail(*, report: AdverseEventReport) -> dict:
    """What the case page shows beyond the row: the clocks, the dose, the hospital cases with their treatment,
    the panel's decisions, the lot holds, claims and clock alerts."""
    if "dose" in report._state.fields_cache:  # read with the case by ``report_get``
        dose = report.dose
    else:
        dose = (
            Dose.objects.select_related("lot", "lot__product", "site", "vaccinator", "trace_code")
            .filter(pk=report.dose_id)
            .first()
        )

    def has(part: str) -> bool:
        return getattr(report, f"has_{part}", True)

    return {
        "clocks": domain.clocks(report.case_times(), clock.now()),
        "dose": dose,
        "cases": list(
            HospitalCase.objects.filter(report=report).select_related("hospital").prefetch_related("entries")
        )
        if has("cases")
        else [],
        "decisions": list(report.decisions.prefetch_related("members")) if has("decisions") else [],
        "holds": list(report.lot_holds.select_related("lot")) if has("holds") else [],
        "claims": list(Claim.objects.filter(report=report)) if has("claims") else [],
        "alerts": list(ClockAlert.objects.filter(report=report).order_by("at")) if has("alerts") else [],
    }


def dose_reportable(*, user, dose_id: int) -> Dose | None:
    """A standing dose the user may report against (in their jurisdiction, or given at their site)."""
    scope = scope_for(user)
    q = Q()
    if not scope.unrestricted:
        if scope.code_low is None:
            return None
        q = Q(resident__village_code__range=(scope.code_low, scope.code_high)) | Q(
            site__division__code__range=(scope.code_low, scope.code_high)
        )
    return (
        Dose.objects.filter(q, pk=dose_id, voided_at__isnull=True)
        .select_related("resident", "lot", "site")
        .first()
    )


def doses_of_person(*, resident_id: int) -> list[Dose]:
    """A person's standing doses (for their own plain-language form; the record link decided who they are)."""
    return list(
        Dose.objects.filter(resident_id=resident_id, voided_at__isnull=True).order_by("-given_on", "-id")[:20]
    )


def note_for_report(*, note_id: int, site) -> ReactionNote | None:
    return (
        ReactionNote.objects.select_related("observation", "observation__dose", "observation__dose__site")
        .filter(pk=note_id, observation__site=site)
        .first()
    )


def notes_reported(*, note_ids: list[int]) -> dict[int, AdverseEventReport]:
    return {
        r.reaction_note_id: r
        for r in AdverseEventReport.objects.filter(reaction_note_id__in=note_ids).select_related("hospital")
    }


def hospitals_of(*, user) -> list[Hospital]:
    return list(Hospital.objects.filter(staff=user, active=True)) if getattr(user, "pk", None) else []


def hospital_inbox(*, user, include_discharged: bool = False):
    """The hospital's people: referred, in treatment (and recently discharged when asked)."""
    qs = HospitalCase.objects.filter(hospital__staff=user).select_related(
        "report", "report__resident", "report__site", "report__lot", "hospital"
    )
    if not include_discharged:
        qs = qs.exclude(state=HospitalCase.State.DISCHARGED)
    return qs.order_by("state", "-referred_at")


def hospital_case_get(*, user, case_id: int) -> HospitalCase | None:
    return hospital_inbox(user=user, include_discharged=True).filter(pk=case_id).first()


def staff_member_get(*, pk) -> StaffMember | None:
    """The staff member put on rescue duty; ``rescue_duty_add`` refuses one not from the paired hospital."""
    return StaffMember.objects.filter(pk=pk or 0).first()


def hospitals_all():
    """Reference data: every hospital, unscoped."""
    return Hospital.objects.filter(active=True).order_by("-designated_severe", "name")


def experts_active():
    return Expert.objects.filter(active=True).order_by("name")


def lot_holds_open():
    return (
        LotHold.objects.filter(state__in=["proposed", "held"])
        .select_related("lot", "lot__product")
        .order_by("state", "-proposed_at")
    )


def lot_hold_get(*, hold_id: int) -> LotHold | None:
    return LotHold.objects.filter(pk=hold_id).select_related("lot").first()


def signals_open():
    return SafetySignal.objects.filter(open=True).select_related("outcome").order_by("-day")


def background_rates():
    return BackgroundRate.objects.select_related("outcome").order_by("outcome__code", "band")


# ------------------------------------------------------------------------------------ counts for others


def aefi_counts(scope: Scope, day: dt.date) -> dict:
    """Counts a leader, the daily report and the dashboard may read (no health details): reports made on the
    day and in all, serious, clusters, open cases, and the clocks that ran late (overdue now, or done late)."""
    base = AdverseEventReport.objects.filter(_scope_q(scope))
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = start + dt.timedelta(days=1)
    today = base.filter(reported_at__gte=start, reported_at__lt=end)
    agg = base.filter(reported_at__lt=end).aggregate(
        total=Count("id"),
        serious=Count("id", filter=Q(serious=True)),
        cluster=Count("id", filter=Q(cluster=True)),
        open=Count("id", filter=~Q(status="closed")),
    )
    now = min(clock.now(), end)
    late: dict[str, int] = defaultdict(int)
    for r in (
        base.filter(reported_at__lt=end)
        .exclude(status="closed")
        .only(
            "discovered_at",
            "reported_at",
            "criteria",
            "cluster",
            "major_concern",
            "county_notified_at",
            "card_completed_at",
            "investigation_started_at",
            "preliminary_report_at",
        )
    ):
        for c in domain.clocks(r.case_times(), now):
            if c.late:
                late[c.kind.value] += 1
    return {
        "day": day.isoformat(),
        "reported_today": today.count(),
        "serious_today": today.filter(serious=True).count(),
        "total": agg["total"],
        "serious": agg["serious"],
        "cluster": agg["cluster"],
        "open": agg["open"],
        "late": dict(late),
        "late_total": sum(late.values()),
    }


def adverse_events_today(scope: Scope, day: dt.date) -> list[dict]:
    """The day's reports as rows without personal or health details: number, product, lot, site, serious."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = start + dt.timedelta(days=1)
    return list(
        AdverseEventReport.objects.filter(_scope_q(scope), reported_at__gte=start, reported_at__lt=end)
        .order_by("reported_at")
        .values("number", "product_code", "lot__lot_number", "site__name", "serious", "status")
    )


def aefi_by_township(*, codes: list[str], day: dt.date) -> dict[str, int]:
    """Reports made on ``day`` per township code (the person's village's township, 9-digit prefix), for
    the daily report's column; every code present (0 when none)."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    out = dict.fromkeys(codes, 0)
    by_prefix = {c[:9]: c for c in codes}
    for village, n in (
        AdverseEventReport.objects.filter(
            reported_at__gte=start, reported_at__lt=start + dt.timedelta(days=1)
        )
        .values_list("village_code")
        .annotate(n=Count("id"))
        .order_by()
    ):
        code = by_prefix.get((village or "")[:9])
        if code is not None:
            out[code] += n
    return out


def serious_count(*, low: str, high: str, day: dt.date) -> int:
    """Serious reports (严重疑似异常反应) reported up to the end of ``day`` for people living in the range."""
    end = timezone.make_aware(dt.datetime.combine(day, dt.time.min)) + dt.timedelta(days=1)
    return AdverseEventReport.objects.filter(
        serious=True, reported_at__lt=end, village_code__gte=low, village_code__lte=high
    ).count()


# ------------------------------------------------------------------------------------ signal inputs


class _Year(Func):
    """A date's year as an integer, in the database's own terms (Django's ``ExtractYear`` calls back into
    Python for every row on SQLite: minutes over millions of doses)."""

    template = "EXTRACT(YEAR FROM %(expressions)s)"
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        # '%%%%' becomes '%%' in the statement: the SQLite cursor turns it into '%' (and so does the debug
        # formatting of the statement with its parameters)
        return self.as_sql(
            compiler,
            connection,
            template="CAST(strftime('%%%%Y', %(expressions)s) AS INTEGER)",
            **extra_context,
        )


def dose_bands(doses) -> list[tuple[dt.date, str, str, int]]:
    """``doses`` (a Dose queryset) counted per day given × product × age band at the dose, in one grouped
    query: the age is the years between the birth year and the dose's (30, adult, when the birth date is
    unknown), the bands those of ``services.age_band``."""
    from django.db.models import Case, Value, When

    age = _Year("given_on") - _Year("resident__birth_date")
    band = Case(
        When(resident__birth_date__isnull=True, then=Value("18-59")),
        When(Q(_age__lt=18), then=Value("0-17")),
        When(Q(_age__lt=60), then=Value("18-59")),
        default=Value("60+"),
    )
    rows = (
        doses.annotate(_age=age, _band=band)
        .values("given_on", "product_code", "_band")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("given_on", "product_code", "_band", "n")
    )
    return list(rows)


def doses_by_product_band(*, until: dt.date) -> dict[str, dict[str, int]]:
    """Standing doses given up to ``until``, per product and age band at the dose: the tally (doses up to its
    mark, as standing at its void horizon), less the tallied doses voided since, plus the doses recorded
    since — the last two read through the primary key and the index of voided doses, never the whole table.
    ``services.dose_tally_refresh`` moves the mark (the daily run calls it first)."""
    from .models import DoseTally, DoseTallyMark

    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    mark = DoseTallyMark.objects.order_by("pk").first()
    through = mark.through_id if mark else 0
    for product, band, n in (
        DoseTally.objects.filter(given_on__lte=until)
        .values("product_code", "band")
        .annotate(n=Sum("doses"))
        .order_by()
        .values_list("product_code", "band", "n")
    ):
        out[product][band] += n
    if mark is not None and mark.voids_through is not None and through:
        voided = Dose.objects.filter(
            voided_at__isnull=False, voided_at__gt=mark.voids_through, pk__lte=through, given_on__lte=until
        )
        for _day, product, band, n in dose_bands(voided):
            out[product][band] -= n
    recent = Dose.objects.filter(pk__gt=through, voided_at__isnull=True, given_on__lte=until)
    for _day, product, band, n in dose_bands(recent):
        out[product][band] += n
    return {k: {b: n for b, n in v.items() if n} for k, v in out.items() if any(v.values())}


def events_by_product_outcome(*, until: dt.date) -> dict[tuple[str, str], int]:
    """Reports per product × watched sign group with onset up to the end of ``until``: counted by the database,
    one grouped statement per watched group (a report counts once per group when any of its signs is in it —
    one of the group's signs in ``domain.SIGN_GROUPS``, or the group's own name)."""
    from django.db import connection

    end = timezone.make_aware(dt.datetime.combine(until, dt.time.min)) + dt.timedelta(days=1)
    out: dict[tuple[str, str], int] = {}
    table = AdverseEventReport._meta.db_table
    for g in sorted(set(Outcome.objects.values_list("sign_group", flat=True))):
        texts = sorted({s for s, group in domain.SIGN_GROUPS.items() if group == g} | {g})
        if connection.vendor == "postgresql":
            has = "signs ?| %s"
            params: list = [end, texts]
        else:
            marks = ", ".join(["%s"] * len(texts))
            has = f"EXISTS (SELECT 1 FROM json_each({table}.signs) WHERE json_each.value IN ({marks}))"  # noqa: S608
            params = [end, *texts]
        with connection.cursor() as c:
            c.execute(
                f"SELECT product_code, COUNT(*) FROM {table} WHERE onset_at < %s AND {has} GROUP BY product_code",  # noqa: S608
                params,
            )
            for product, n in c.fetchall():
                out[(product, g)] = n
    return out


def cases_for_clusters(*, since: dt.datetime) -> list[domain.CaseLite]:
    return [
        domain.CaseLite(i, s or 0, lot or 0, onset, frozenset(signs or ()), serious)
        for i, s, lot, onset, signs, serious in AdverseEventReport.objects.filter(onset_at__gte=since)
        .order_by()
        .values_list("id", "site_id", "lot_id", "onset_at", "signs", "serious")
    ]


def session_cover(session) -> dict:
    """The session's cover for its page: the paired hospital, its rescue staff (who may be put on duty),
    those on duty, the ambulance, and the problems that keep the session from opening."""
    from vaxops.sites.models import Assignment

    from .models import AmbulanceCover
    from .services import cover_problems, paired_hospital

    hospital = paired_hospital(session.site)
    on_duty = list(Assignment.objects.filter(session=session, role="rescue").select_related("staff"))
    taken = {a.staff_id for a in on_duty}
    return {
        "hospital": hospital,
        "on_duty": on_duty,
        "candidates": [m for m in hospital.rescue_staff.filter(active=True) if m.pk not in taken]
        if hospital
        else [],
        "ambulance": AmbulanceCover.objects.filter(session=session).first(),
        "modes": AmbulanceCover.Mode.choices,
        "problems": cover_problems(session),
    }
