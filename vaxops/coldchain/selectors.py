"""Reads of the cold chain, scoped through supply's places (a unit is visible where its place is)."""

import datetime as dt

from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from vaxops.accounts.scope import require
from vaxops.core import clock
from vaxops.supply.selectors import places_for

from . import domain
from .models import Equipment, Excursion, QuarantinedCode, Reading, SensorKind, StaffAlert


def equipment_visible(*, user):
    """The units whose place lies in the user's scope (all for a county-wide user)."""
    require(user, "coldchain.view_equipment")
    return (
        Equipment.objects.filter(unit__place__in=places_for(user))
        .select_related("unit__place", "keeper")
        .order_by("code")
    )


def equipment_get(*, user, code: str) -> Equipment | None:
    """One unit by its code if the user may see it, else ``None`` (absent and out of scope alike)."""
    return equipment_visible(user=user).filter(code=code).first()


def equipment_by_code(*, code: str) -> Equipment | None:
    """One unit by its code, unscoped (the MQTT listener, the command line); ``None`` when unknown."""
    return Equipment.objects.select_related("unit__place").filter(code=code).first()


def readings_of(*, equipment: Equipment, since: dt.datetime, until: dt.datetime | None = None):
    qs = Reading.objects.filter(sensor__equipment=equipment, at__gte=since)
    if until is not None:
        qs = qs.filter(at__lte=until)
    return qs.select_related("sensor").order_by("at")


def excursions_of(*, equipment: Equipment):
    return (
        Excursion.objects.filter(equipment=equipment)
        .select_related("acknowledged_by", "assessed_by", "closed_by", "destruction__destroyed_by")
        .order_by("-start", "-id")
    )


def excursion_get(*, user, excursion_id: int) -> Excursion | None:
    return (
        Excursion.objects.filter(pk=excursion_id, equipment__in=equipment_visible(user=user))
        .select_related("equipment__unit__place")
        .first()
    )


def overview(*, user) -> list[dict]:
    """Every visible unit with its last reading, whether its sensor is silent now, and its open excursions."""
    now = clock.now()
    last = (
        Reading.objects.filter(sensor__equipment=OuterRef("pk"), sensor__kind=SensorKind.LOGGER)
        .order_by("-at")
        .values("at", "celsius")
    )
    rows = equipment_visible(
        user=user
    ).annotate(
        last_at=Subquery(last.values("at")[:1]),
        last_c=Subquery(last.values("celsius")[:1]),
        open_excursions=Coalesce(
            Subquery(
                Excursion.objects.filter(equipment=OuterRef("pk"))
                .exclude(status=domain.ExcursionStatus.CLOSED.value)
                .exclude(kind=domain.ExcursionKind.SILENT.value)
                .order_by()
                .values("equipment")
                .annotate(n=Count("id"))
                .values("n")[:1]
            ),
            0,
        ),
        quarantined=Coalesce(
            Subquery(
                QuarantinedCode.objects.filter(excursion__equipment=OuterRef("pk"), outcome="held")
                .order_by()
                .values("excursion__equipment")
                .annotate(n=Count("code", distinct=True))  # a code two excursions hold counts once
                .values("n")[:1]
            ),
            0,
        ),
    )
    out = []
    for eq in rows:
        silent = eq.last_at is None or now - eq.last_at > dt.timedelta(minutes=eq.silent_minutes)
        out.append(
            {
                "equipment": eq,
                "last_at": eq.last_at,
                "last_c": eq.last_c,
                "in_range": eq.last_c is not None and eq.low_c <= eq.last_c <= eq.high_c,
                "silent": silent,
                "open_excursions": eq.open_excursions,
                "quarantined": eq.quarantined,
            }
        )
    return out


def excursions_open(*, user):
    return (
        Excursion.objects.filter(equipment__in=equipment_visible(user=user))
        .exclude(status=domain.ExcursionStatus.CLOSED.value)
        .exclude(kind=domain.ExcursionKind.SILENT.value)
        .select_related("equipment__unit__place")
        .order_by("-start")
    )


def due_for_renewal(*, user, year: int | None = None):
    """Units in use whose service life ends this year or has ended (year in service + service life)."""
    year = year or clock.today().year
    return [
        eq
        for eq in equipment_visible(user=user).exclude(status="scrapped")
        if eq.renewal_year is not None and eq.renewal_year <= year
    ]


def alerts_for(*, user, limit: int = 50):
    """Unread, unresolved in-app alerts for the user: addressed to them, or to their role on a unit in their scope."""
    role = getattr(user, "role", "")
    return (
        StaffAlert.objects.filter(
            read_at__isnull=True, resolved_at__isnull=True, equipment__in=equipment_visible(user=user)
        )
        .filter(Q(user=user) | Q(role=role, role__gt=""))
        .select_related("equipment")
        .order_by("-created_at")[:limit]
    )


def alert_get(*, user, alert_id: int) -> StaffAlert | None:
    role = getattr(user, "role", "")
    return (
        StaffAlert.objects.filter(pk=alert_id, equipment__in=equipment_visible(user=user))
        .filter(Q(user=user) | Q(role=role, role__gt=""))
        .first()
    )


def manual_entries(*, equipment: Equipment, day: dt.date):
    start = dt.datetime.combine(day, dt.time(0), tzinfo=clock.localnow().tzinfo)
    return Reading.objects.filter(
        sensor__equipment=equipment,
        sensor__kind=SensorKind.MANUAL,
        at__gte=start,
        at__lt=start + dt.timedelta(days=1),
    ).order_by("at")


def last_reading_at(*, equipment: Equipment):
    return Reading.objects.filter(sensor__equipment=equipment).aggregate(m=Max("at"))["m"]


# ------------------------------------------------------------------------------------ counts for others


def _division_q(scope, field: str) -> Q:
    """Rows whose division code lies in the scope's range (everything when unrestricted; nothing for an
    employer's scope, which holds no places)."""
    if scope.unrestricted:
        return Q()
    if scope.code_low is None:
        return Q(pk__in=[])
    return Q(**{f"{field}__gte": scope.code_low, f"{field}__lte": scope.code_high})


def excursion_counts(scope, day: dt.date | None = None) -> dict:
    """Plain figures for the daily report and the dashboard (reports reads them; coldchain never imports
    reports), for the units whose place lies in ``scope`` (a ``Scope``): open excursions (not closed) by kind,
    those opened on ``day``, and the doses quarantined now."""
    from django.utils import timezone

    from vaxops.supply.models import CodeState, TraceCode

    place_q = _division_q(scope, "unit__place__division__code")
    open_qs = Excursion.objects.filter(Q(equipment__in=Equipment.objects.filter(place_q))).exclude(
        status=domain.ExcursionStatus.CLOSED.value
    )
    by_kind = dict.fromkeys((k.value for k in domain.ExcursionKind), 0)
    for kind, n in open_qs.values_list("kind").annotate(n=Count("id")).order_by():
        by_kind[kind] = n
    opened_today = 0
    if day is not None:
        start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        opened_today = (
            Excursion.objects.filter(equipment__in=Equipment.objects.filter(place_q))
            .filter(start__gte=start, start__lt=start + dt.timedelta(days=1))
            .exclude(kind=domain.ExcursionKind.SILENT.value)
            .count()
        )
    code_q = _division_q(scope, "place__division__code")
    quarantined = TraceCode.objects.filter(code_q, state=CodeState.QUARANTINED).count()
    return {
        "open": sum(n for k, n in by_kind.items() if k != domain.ExcursionKind.SILENT.value),
        "open_by_kind": by_kind,
        "opened_today": opened_today,
        "quarantined_doses": quarantined,
    }


# ------------------------------------------------------------------------------------ transport


def dispatch_transport(*, dispatch) -> dict | None:
    """The transport temperatures of a dispatch: the readings of the unit that carried it (its ``vehicle``)
    from dispatch to receipt (to now while in transit), their lowest and highest, the unit's excursions in
    that time and how many of the dispatch's codes they hold. ``None`` when no carrier was named or the
    carrier has no cold-chain record."""
    if not dispatch.vehicle_id:
        return None
    eq = Equipment.objects.select_related("unit__place").filter(unit_id=dispatch.vehicle_id).first()
    if eq is None:
        return None
    since = dispatch.dispatched_at
    until = dispatch.received_at or clock.now()
    readings = list(
        Reading.objects.filter(sensor__equipment=eq, at__gte=since, at__lte=until)
        .order_by("at")
        .values_list("at", "celsius")
    )
    excursions = list(
        Excursion.objects.filter(equipment=eq, start__lte=until)
        .filter(Q(end__isnull=True) | Q(end__gte=since))
        .order_by("start")
    )
    held = QuarantinedCode.objects.filter(
        code__dispatch_rows__dispatch=dispatch, outcome=QuarantinedCode.Outcome.HELD
    ).aggregate(n=Count("code", distinct=True))["n"]
    temps = [c for _at, c in readings]
    return {
        "equipment": eq,
        "since": since,
        "until": until,
        "in_transit": dispatch.received_at is None,
        "readings": readings,
        "count": len(readings),
        "lowest": min(temps) if temps else None,
        "highest": max(temps) if temps else None,
        "out_of_range": sum(1 for c in temps if not eq.low_c <= c <= eq.high_c),
        "excursions": excursions,
        "held": held,
    }
