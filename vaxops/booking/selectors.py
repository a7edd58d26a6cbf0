"""Reads of booking: live remaining places, whom a user may book, appointments in scope."""

import datetime as dt

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from vaxops.accounts.scope import require, scope_for
from vaxops.core import clock
from vaxops.core.errors import NotFound
from vaxops.registry.errors import RegistryErrorCode
from vaxops.registry.models import Resident
from vaxops.registry.selectors import residents_visible
from vaxops.sites.models import Session, SessionStatus, Site

from .models import ACTIVE, Appointment, Channel, Slot, SlotQuota


def resident_for_booking(*, user, resident_id: int) -> Resident:
    """The resident ``user`` may book: in the user's villages (community workers), on the user's
    employer's staff list (employer contacts), or anyone in the county for the county CDC. NotFound
    otherwise, the same as an absent person."""
    require(user, "booking.add_appointment")
    # Only what booking reads (the priority group for the phase; village and employer by their codes and
    # ids): fewer joins on the stampede's hot path than ``resident_get``.
    resident = (
        residents_visible(user=user)
        .select_related("priority_group")
        .filter(pk=resident_id)
        .order_by()
        .first()
    )
    if resident is None:
        raise NotFound(_("居民不存在或不在您的管辖范围内"), code=RegistryErrorCode.RESIDENT_NOT_FOUND)
    return resident


def channel_for(user) -> str:
    """The door a signed-in user books through."""
    if getattr(user, "employer_id", None):
        return Channel.EMPLOYER
    if getattr(user, "role", "").startswith("site_"):
        return Channel.WALK_IN
    return Channel.COMMUNITY


def sites_open(*, division_code: str = "") -> QuerySet[Site]:
    """Active sites (public information: anyone may see where to go), optionally within a division."""
    qs = Site.objects.filter(active=True).select_related("division").order_by("code")
    if division_code:
        low = division_code.rstrip("0") or division_code
        qs = qs.filter(division__code__startswith=low[: max(len(low), 2)])
    return qs


def slot_rows(slots, *, for_resident: Resident | None = None, for_village: str = "") -> list[dict]:
    """Slots with their live remaining places; with ``for_resident``, ``bookable`` counts the places that
    person could take (open places plus their village's or employer's quota); with ``for_village`` (a
    village code: the community worker's door), the places its residents could take (open places plus
    that village's quota, not other villages')."""
    keys = set()
    if for_resident is not None:
        from .services import quota_keys

        keys = set(quota_keys(for_resident))
    elif for_village:
        keys = {f"V:{for_village}"}
    with_bookable = for_resident is not None or bool(for_village)
    rows = []
    for s in slots:
        quotas = [
            {"key": q.key, "label": q.label, "capacity": q.capacity, "remaining": q.capacity - q.booked}
            for q in s.quotas.all()
        ]
        open_left = s.open_capacity - s.open_booked
        row = {
            "id": s.pk,
            "start": s.start,
            "end": s.end,
            "capacity": s.capacity,
            "walk_in": s.walk_in,
            "walk_in_remaining": s.walk_in - s.walk_in_used,
            "open_remaining": open_left,
            "quotas": quotas,
            "remaining": open_left + sum(q["remaining"] for q in quotas),
        }
        if with_bookable:
            row["bookable"] = open_left + sum(q["remaining"] for q in quotas if q["key"] in keys)
        rows.append(row)
    return rows


def sessions_upcoming(
    *, site: Site | None = None, start: dt.date | None = None, days: int = 14, division_code: str = ""
) -> QuerySet[Session]:
    """Planned or open sessions from ``start`` (today) for ``days`` days, slots and quotas prefetched."""
    start = start or clock.today()
    qs = (
        Session.objects.filter(day__gte=start, day__lt=start + dt.timedelta(days=days))
        .exclude(status=SessionStatus.CLOSED)
        .select_related("site")
        .prefetch_related(
            Prefetch(
                "slots",
                queryset=Slot.objects.order_by("start").prefetch_related(
                    Prefetch("quotas", queryset=SlotQuota.objects.order_by("key"))
                ),
            )
        )
        .order_by("day", "site__code")
    )
    if site is not None:
        qs = qs.filter(site=site)
    if division_code:
        qs = qs.filter(site__in=sites_open(division_code=division_code))
    return qs


def appointments_visible(*, user) -> QuerySet[Appointment]:
    """Appointments of the people in the user's scope."""
    require(user, "booking.view_appointment")
    return scope_for(user).filter(
        Appointment.objects.select_related("resident", "slot__session__site", "quota"),
        code_field="resident__village_code",
        employer_field="resident__employer_id",
    )


def active_appointment(*, resident: Resident) -> Appointment | None:
    return (
        Appointment.objects.filter(resident=resident, status__in=ACTIVE)
        .select_related("slot__session__site")
        .order_by("slot__start")
        .first()
    )
