"""Reads of booking: live remaining places, whom a user may book, appointments in scope."""

import datetime as dt
import operator
from functools import reduce

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from vaxops.accounts.scope import require, scope_for
from vaxops.campaign.selectors import LIST_CATEGORIES, category_q, mobilisation_list
from vaxops.core import clock
from vaxops.core.errors import NotFound
from vaxops.registry.errors import RegistryErrorCode
from vaxops.registry.models import Employer, Resident
from vaxops.registry.selectors import residents_visible
from vaxops.sites.models import Session, SessionStatus, Site

from .models import ACTIVE, Appointment, AppointmentStatus, Channel, Slot, SlotQuota


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


def people_due(*, user, village_code: str, category: str, on: dt.date) -> QuerySet[Resident]:
    """People of the village in the user's scope on the mobilisation lists that can be booked (``category``,
    or any of not started, dose due, overdue, booster due) on ``on``, without an active appointment."""
    if category:
        qs = mobilisation_list(user=user, category=category, on=on, village_code=village_code)
    else:
        if not user.has_perm("registry.view_resident"):
            return Resident.objects.none()
        either = reduce(operator.or_, (category_q(c, on) for c in LIST_CATEGORIES))
        qs = (
            scope_for(user)
            .filter(Resident.objects.filter(village_code=village_code))
            .filter(either)
            .select_related("status")
            .order_by("village_code", "status__next_earliest", "id")
        )
    return qs.filter(village_code=village_code).exclude(appointments__status__in=ACTIVE)


def slot_by_id(*, slot_id: int | None, related: tuple[str, ...] = ()) -> Slot | None:
    """The slot with ``related`` joined, or ``None`` (slots are public: the booking service checks who may
    take a place)."""
    if slot_id is None:
        return None
    return Slot.objects.select_related(*related).filter(pk=slot_id).first()


def slots_of_session(*, session: Session) -> QuerySet[Slot]:
    """The session's slots by start, quotas prefetched."""
    return Slot.objects.filter(session=session).order_by("start").prefetch_related("quotas")


def session_by_id(*, session_id: int | None, open_only: bool = False) -> Session | None:
    """The session (with ``open_only``, only if not closed, with its site), or ``None``."""
    if session_id is None:
        return None
    qs = Session.objects.filter(pk=session_id)
    if open_only:
        qs = qs.select_related("site").exclude(status=SessionStatus.CLOSED)
    return qs.first()


def employer_staff_counts(*, employer: Employer) -> dict[str, int]:
    """``total``: the employer's staff list; ``unbooked``: those of them without an active appointment."""
    staff = Resident.objects.filter(employer=employer)
    return {"total": staff.count(), "unbooked": staff.exclude(appointments__status__in=ACTIVE).count()}


def resident_verified(*, resident_id) -> Resident | None:
    """The resident the resident's own door verified by a one-time code (the session holds the id), or
    ``None``."""
    if resident_id is None:
        return None
    return Resident.objects.filter(pk=resident_id).first()


def appointments_detailed() -> QuerySet[Appointment]:
    """Appointments with the resident, slot, session, site and quota joined, not scoped: the caller filters by
    the person (the resident's own door), by ``appointment_for_check_in`` or by an id it has just written."""
    return Appointment.objects.select_related("resident", "slot__session__site", "quota")


def appointment_for_check_in(*, user, appointment_id: int) -> Appointment | None:
    """An appointment of a person in the user's scope, or at a site in the user's scope (the people who come
    to a site live anywhere in the county), or ``None``."""
    scope = scope_for(user)
    q = scope.residents_q(code_field="resident__village_code", employer_field="resident__employer_id")
    if scope.code_low is not None:
        q |= scope.residents_q(code_field="slot__session__site__division__code")
    return appointments_detailed().filter(q, pk=appointment_id).first()


def session_appointments(
    *, session: Session, slot_id: int | None = None, limit: int = 2000
) -> list[Appointment]:
    """The session's appointments that are not cancelled (with ``slot_id``, of that slot), by start, at most
    ``limit``; the caller checks the user may see the session's appointments."""
    qs = (
        Appointment.objects.filter(slot__session=session)
        .exclude(status=AppointmentStatus.CANCELLED)
        .select_related("resident", "slot", "quota")
        .order_by("slot__start", "id")
    )
    if slot_id:
        qs = qs.filter(slot_id=slot_id)
    return list(qs[:limit])


def session_appointment(*, session: Session, appointment_id: int | None) -> Appointment | None:
    """The appointment with this id in the session, with its resident, or ``None``."""
    if appointment_id is None:
        return None
    return (
        Appointment.objects.filter(pk=appointment_id, slot__session=session)
        .select_related("resident")
        .first()
    )
