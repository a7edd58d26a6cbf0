"""Reads of sites with their access rule, shared by the pages and the API."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from vaxops.accounts.scope import require, scope_for
from vaxops.core.errors import CoreErrorCode, NotFound, PermissionDenied

from .errors import SitesErrorCode
from .models import Assignment, Desk, DeskKind, ReadinessCheck, Session, SessionStatus, Site, StaffMember


def session_get(*, user, session_id: int) -> Session:
    """A session's day sheet for ``user``: the ``sites.view_session`` permission and the session's site within
    the user's jurisdiction. The one rule for the page (``/sites/sessions/<id>/``) and the API
    (``GET /api/v1/sites/sessions/{id}``): ``NotFound`` for an unknown session, ``PermissionDenied`` otherwise."""
    require(user, "sites.view_session")
    found = Session.objects.select_related("site__division", "opened_by").filter(pk=session_id).first()
    if found is None:
        raise NotFound(_("场次不存在"), field="session", code=SitesErrorCode.SESSION_NOT_FOUND)
    if not scope_for(user).covers_code(found.site.division.code):
        raise PermissionDenied(
            _("%(site_name)s不在您的管辖范围内") % {"site_name": found.site.name},
            code=CoreErrorCode.OUT_OF_SCOPE,
        )
    return found


# Sites, their desks and staff are public reference data (where to go, who works there); what a user may
# act on is decided by ``site_workable`` and the services.


def sites_listed(*, on, include_inactive: bool):
    """Sites by code with their division and ``upcoming``, the number of sessions from ``on`` that are not
    closed; inactive sites only with ``include_inactive``."""
    qs = (
        Site.objects.select_related("division")
        .order_by("code")
        .annotate(
            upcoming=Count(
                "sessions", filter=Q(sessions__day__gte=on) & ~Q(sessions__status=SessionStatus.CLOSED)
            )
        )
    )
    return qs if include_inactive else qs.filter(active=True)


def sites_with_division():
    """Every site with its division (for ``get_object_or_404`` by code)."""
    return Site.objects.select_related("division")


def sessions_with_site():
    """Every session with its site, division and opener (for ``get_object_or_404``; the caller checks
    what the user may do with it)."""
    return Session.objects.select_related("site__division", "opened_by")


def session_of_site(*, site: Site, session_id: int | None) -> Session | None:
    """The session of ``site`` with this id, or ``None``."""
    if session_id is None:
        return None
    return Session.objects.filter(pk=session_id, site=site).first()


def staff_at_site(*, site: Site):
    """The active staff of a site, by name."""
    return StaffMember.objects.filter(site=site, active=True).order_by("name")


def staff_member_get(*, staff_id: int | None, site: Site | None = None) -> StaffMember | None:
    """The staff member with this id (active or not; with ``site``, only of that site), or ``None``."""
    if staff_id is None:
        return None
    qs = StaffMember.objects.filter(pk=staff_id)
    return (qs.filter(site=site) if site is not None else qs).first()


def desks_at_site(*, site: Site):
    return Desk.objects.filter(site=site)


def desk_get(*, desk_id: int | None, site: Site | None = None) -> Desk | None:
    """The desk with this id (with ``site``, only of that site), or ``None``."""
    if desk_id is None:
        return None
    qs = Desk.objects.filter(pk=desk_id)
    return (qs.filter(site=site) if site is not None else qs).first()


def site_by_code(*, code: str) -> Site | None:
    """The site (active or not) with this code and its division, or ``None``."""
    return Site.objects.select_related("division").filter(code=code).first()


def session_by_id(*, session_id: int) -> Session | None:
    """The session with its site, division and opener, or ``None`` (the caller checks what the user may do
    with it)."""
    return sessions_with_site().filter(pk=session_id).first()


def desk_counts(*, site_ids) -> dict[int, dict[str, int]]:
    """``{site id: {desk kind: number of desks}}`` for these sites, every kind present (0 when none)."""
    counts = {pk: dict.fromkeys(DeskKind.values, 0) for pk in site_ids}
    for site_id, kind, n in (
        Desk.objects.filter(site_id__in=site_ids)
        .values_list("site_id", "kind")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[site_id][kind] = n
    return counts


def readiness_of(*, session: Session) -> dict[str, ReadinessCheck]:
    """The session's confirmed readiness items, by item, with who confirmed them."""
    return {c.item: c for c in ReadinessCheck.objects.filter(session=session).select_related("confirmed_by")}


def assignments_of(*, session: Session) -> list[Assignment]:
    """Who works at which desk in the session, by desk kind and number."""
    return list(
        Assignment.objects.filter(session=session)
        .select_related("staff", "desk")
        .order_by("desk__kind", "desk__number", "id")
    )


def staff_site_id(user) -> int | None:
    """The site where ``user`` works as active staff, or ``None`` (no user row, or not staff anywhere)."""
    if not getattr(user, "pk", None):
        return None
    return StaffMember.objects.filter(user=user, active=True).values_list("site_id", flat=True).first()


def staff_member(user) -> StaffMember | None:
    """The user's staff membership at a site (active or not), with its site; ``None`` for a user who is not
    site staff (the county CDC, an anonymous user)."""
    if not getattr(user, "pk", None):
        return None
    return StaffMember.objects.filter(user_id=user.pk).select_related("site").first()


def site_workable(user, site: Site, *, staff: StaffMember | None | bool = False) -> bool:
    """Whether ``user`` may work at ``site``: an unrestricted user anywhere; a site's staff member only at
    their own site and only while active (not in post: nowhere); anyone else at a site in their
    jurisdiction. The one rule of the sites pages, the desk pages and the desk API. ``staff`` is the user's
    membership when the caller has read it already (``None``: not staff)."""
    if not getattr(user, "pk", None):
        return False
    scope = scope_for(user)
    if scope.unrestricted:
        return True
    member = staff_member(user) if staff is False else staff
    if member is not None:
        return member.active and member.site_id == site.pk
    return scope.code_low is not None and scope.covers_code(site.division.code)


def site_in_scope(user, site: Site) -> bool:
    """May ``user`` act on ``site`` (the sites pages' name for ``site_workable``)."""
    return site_workable(user, site)
