"""Reads of field operations, always through the user's scope: training courses and the counts of staff
certified and in training per township and role (for the dashboard and the daily report), expiring
certificates, and a mobile team's trips."""

import datetime as dt

from django.db.models import Q, QuerySet

from vaxops.accounts.scope import scope_for
from vaxops.catalog.models import Product
from vaxops.core import clock
from vaxops.jurisdictions.models import Division, Level
from vaxops.registry.domain import mask_name, mask_phone
from vaxops.registry.models import VillageGroup
from vaxops.sites.models import Certificate, CertificateKind, Session, Site, SiteKind, StaffMember, StaffRole
from vaxops.sites.selectors import site_in_scope
from vaxops.supply.models import ColdChainUnit

from . import domain
from .models import Course, FollowUpEntry, FollowUpList, TeamTrip, Trainee, TraineeStatus

EXPIRING_DAYS = 30


def _division_q(user, field: str) -> Q:
    scope = scope_for(user)
    if scope.unrestricted:
        return Q()
    if scope.code_low is None:
        return Q(pk__in=[])
    return Q(**{f"{field}__gte": scope.code_low, f"{field}__lte": scope.code_high})


def organisers(*, user, limit: int = 200) -> list[Division]:
    """The county and townships the user may organise a course for."""
    qs = Division.objects.filter(level__in=[Level.COUNTY, Level.TOWNSHIP])
    if user.is_superuser:
        return list(qs.order_by("code")[:limit])
    if not user.division_id:
        return []
    low, high = user.division.code_range
    return list(qs.filter(code__gte=low, code__lte=high).order_by("code")[:limit])


def division_get(*, code: str) -> Division | None:
    """The division a course is organised by, by its code; ``course_create`` refuses one of the wrong level or
    outside the actor's jurisdiction with its own message, so the lookup itself is not narrowed."""
    return Division.objects.filter(code=code or "").first()


def courses_visible(*, user) -> QuerySet[Course]:
    """Courses organised in the user's jurisdiction or above it (a township sees the county's courses that
    train its staff)."""
    scope = scope_for(user)
    qs = Course.objects.select_related("division")
    if scope.unrestricted:
        return qs
    if scope.code_low is None:
        return qs.none()
    above = [d for d in Division.objects.filter(level__lte=4) if d.contains(scope.code_low)]
    return qs.filter(_division_q(user, "division__code") | Q(division__in=above))


def course_get(*, user, pk: int) -> Course | None:
    return courses_visible(user=user).filter(pk=pk).first()


def staff_visible(*, user) -> QuerySet[StaffMember]:
    return StaffMember.objects.select_related("site__division").filter(
        _division_q(user, "site__division__code"), active=True
    )


def trainees_of(*, course: Course) -> list[Trainee]:
    return list(
        Trainee.objects.filter(course=course)
        .select_related("staff__site", "certificate")
        .prefetch_related("attended")
        .order_by("seq")
    )


def training_counts(*, user, on: dt.date | None = None) -> list[dict]:
    """Per township and role (a person with two roles counts in both): staff holding a valid training
    certificate on ``on`` (certified) and staff on a course not yet passed and not certified (in training).
    Rows sorted by township code and role order."""
    on = on or clock.today()
    staff = list(staff_visible(user=user))
    valid = set(
        Certificate.objects.filter(staff__in=staff, kind=CertificateKind.TRAINING, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .values_list("staff_id", flat=True)
    )
    training = set(
        Trainee.objects.filter(
            staff__in=staff, status__in=[TraineeStatus.ENROLLED, TraineeStatus.FAILED]
        ).values_list("staff_id", flat=True)
    )
    towns = {
        d.code[:9]: d.name
        for d in Division.objects.filter(code__in={s.site.division.code[:9] + "000" for s in staff})
    }
    counts: dict[tuple[str, str], list[int]] = {}
    for s in staff:
        for role in s.roles or []:
            if role not in StaffRole.values:
                continue
            row = counts.setdefault((s.site.division.code[:9], role), [0, 0])
            if s.pk in valid:
                row[0] += 1
            elif s.pk in training:
                row[1] += 1
    order = {r: i for i, r in enumerate(StaffRole.values)}
    return [
        {
            "township": towns.get(code, code),
            "role": StaffRole(role).label,
            "certified": c,
            "in_training": t,
        }
        for (code, role), (c, t) in sorted(counts.items(), key=lambda kv: (kv[0][0], order[kv[0][1]]))
    ]


def training_totals(*, user, on: dt.date | None = None) -> dict[str, int]:
    """People (not roles) certified and in training in the user's jurisdiction: the running totals of the
    daily report (培训并发证…人，正在接受培训…人)."""
    on = on or clock.today()
    staff = staff_visible(user=user)
    valid = set(
        Certificate.objects.filter(staff__in=staff, kind=CertificateKind.TRAINING, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .values_list("staff_id", flat=True)
    )
    training = set(
        Trainee.objects.filter(
            staff__in=staff, status__in=[TraineeStatus.ENROLLED, TraineeStatus.FAILED]
        ).values_list("staff_id", flat=True)
    )
    return {"certified": len(valid), "in_training": len(training - valid)}


def certificates_expiring(*, user, days: int = EXPIRING_DAYS, on: dt.date | None = None) -> list[Certificate]:
    """Training certificates still valid on ``on`` that end within ``days`` days, soonest first, so the
    person can be retrained before they may no longer be assigned."""
    on = on or clock.today()
    return list(
        Certificate.objects.filter(
            staff__in=staff_visible(user=user),
            kind=CertificateKind.TRAINING,
            valid_to__gte=on,
            valid_to__lte=on + dt.timedelta(days=days),
        )
        .select_related("staff__site")
        .order_by("valid_to", "staff__name")
    )


def training_block(*, user, on: dt.date | None = None) -> dict:
    """The small training block of the dashboard and the daily report: the running totals (people) and the
    counts per township and role."""
    return {
        "totals": training_totals(user=user, on=on),
        "rows": training_counts(user=user, on=on),
        "expiring": len(certificates_expiring(user=user, on=on)),
        "expiring_days": EXPIRING_DAYS,
    }


# --------------------------------------------------------------------------------------------------
# The grid (网格化)
# --------------------------------------------------------------------------------------------------

FOLLOWUP_DAYS = 7


def followup_lists_visible(*, user) -> QuerySet[FollowUpList]:
    """A group's head sees only the lists handed to them (their group's people); village, township and
    county workers see the lists of the groups in their jurisdiction."""
    qs = FollowUpList.objects.select_related("group__village", "head")
    if not user.has_perm("field.view_followuplist"):
        return qs.none()
    if user.role == "grid_head":
        return qs.filter(head=user)
    return qs.filter(_division_q(user, "group__village__code"))


def followup_list_get(*, user, pk: int) -> FollowUpList | None:
    return followup_lists_visible(user=user).filter(pk=pk).first()


def _row(entry: FollowUpEntry, today: dt.date, days: int) -> dict:
    r = entry.resident
    last = list(entry.followups.all())
    latest = last[-1] if last else None
    return {
        "entry": entry,
        "name": mask_name(r.name),
        "phone": mask_phone(r.phone) if r.phone else "",
        "address": r.address,
        "group": str(r.group) if r.group_id else "",
        "willingness": r.get_willingness_display(),
        "latest": latest,
        "overdue": not entry.booked
        and domain.overdue(
            entry.last_at.astimezone(clock.localnow().tzinfo).date() if entry.last_at else None,
            today=today,
            days=days,
        ),
    }


def entries_of(*, followup_list: FollowUpList, days: int = FOLLOWUP_DAYS) -> list[dict]:
    """The list's people, masked, with their latest follow-up and whether they are overdue for one."""
    today = clock.today()
    entries = (
        FollowUpEntry.objects.filter(followup_list=followup_list)
        .select_related("resident__group")
        .prefetch_related("followups")
        .order_by("booked", "last_at", "id")
    )
    return [_row(e, today, days) for e in entries]


def not_followed_up(*, user, days: int = FOLLOWUP_DAYS) -> list[dict]:
    """People on the user's lists not followed up for ``days`` days (or never), not yet booked: the list a
    head or a village worker works through first."""
    today = clock.today()
    since = clock.now() - dt.timedelta(days=days)
    entries = (
        FollowUpEntry.objects.filter(followup_list__in=followup_lists_visible(user=user), booked=False)
        .filter(Q(last_at__isnull=True) | Q(last_at__lte=since))
        .select_related("resident__group", "followup_list")
        .prefetch_related("followups")
        .order_by("last_at", "id")[:1000]
    )
    return [_row(e, today, days) for e in entries]


def groups_visible(*, user) -> QuerySet[VillageGroup]:
    return VillageGroup.objects.select_related("village", "head", "parent").filter(
        _division_q(user, "village__code")
    )


# ------------------------------------------------------------------ reads behind the pages (training, teams)


def trainee_of(*, course: Course, pk: int) -> Trainee | None:
    """One trainee of the course (the caller has already checked the user may see the course)."""
    return Trainee.objects.filter(course=course, pk=pk or 0).select_related("staff").first()


def teams_visible(*, user) -> list[Site]:
    """The active mobile teams and temporary sites in the user's scope."""
    return [
        s
        for s in Site.objects.select_related("division", "stock_place")
        .filter(kind__in=[SiteKind.MOBILE, SiteKind.TEMPORARY], active=True)
        .order_by("code")
        if site_in_scope(user, s)
    ]


def team_sessions_upcoming(*, teams: list[Site], limit: int = 100) -> QuerySet[Session]:
    """The coming sessions of the given teams (already narrowed to the user's scope)."""
    return (
        Session.objects.select_related("site", "venue_village", "venue_employer")
        .filter(site__in=teams, day__gte=clock.today())
        .order_by("day", "site__code")[:limit]
    )


def site_by_code(*, code: str) -> Site | None:
    """A site by its code with its division; the caller checks the user's scope."""
    return Site.objects.select_related("division").filter(code=code).first()


def session_with_place(*, pk: int) -> Session | None:
    """A session with its site's stock place; the caller checks the user's scope."""
    return Session.objects.select_related("site__stock_place").filter(pk=pk).first()


def trips_of(*, session: Session) -> list[TeamTrip]:
    return list(TeamTrip.objects.filter(session=session).select_related("out", "back", "product", "cold_box"))


def trip_get(*, session_id: int, pk: int) -> TeamTrip | None:
    """A team's trip of the session; the caller checks the user's scope on its site."""
    return TeamTrip.objects.select_related("session__site").filter(pk=pk, session_id=session_id).first()


def cold_boxes_at(*, place) -> QuerySet[ColdChainUnit] | list[ColdChainUnit]:
    return ColdChainUnit.objects.filter(place=place) if place else []


def cold_box_at(*, place, pk: int) -> ColdChainUnit | None:
    return ColdChainUnit.objects.filter(pk=pk or 0, place=place).first() if place else None


def products_listed() -> QuerySet[Product]:
    return Product.objects.order_by("code")


def product_get(*, code: str) -> Product | None:
    return Product.objects.filter(code=code or "").first()


def entry_of(*, followup_list: FollowUpList | None, pk: int) -> FollowUpEntry | None:
    """One entry of a follow-up list the user may see (``followup_list_get``), or None."""
    if followup_list is None:
        return None
    return FollowUpEntry.objects.filter(followup_list=followup_list, pk=pk).select_related("resident").first()
