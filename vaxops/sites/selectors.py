"""Reads of sites with their access rule, shared by the pages and the API."""

from __future__ import annotations

from vaxops.accounts.scope import require, scope_for
from vaxops.core.errors import NotFound, PermissionDenied

from .models import Session, Site, StaffMember


def session_get(*, user, session_id: int) -> Session:
    """A session's day sheet for ``user``: the ``sites.view_session`` permission and the session's site within
    the user's jurisdiction. The one rule for the page (``/sites/sessions/<id>/``) and the API
    (``GET /api/v1/sites/sessions/{id}``): ``NotFound`` for an unknown session, ``PermissionDenied`` otherwise."""
    require(user, "sites.view_session")
    found = Session.objects.select_related("site__division", "opened_by").filter(pk=session_id).first()
    if found is None:
        raise NotFound("场次不存在", field="session")
    if not scope_for(user).covers_code(found.site.division.code):
        raise PermissionDenied(f"{found.site.name}不在您的管辖范围内")
    return found


def staff_site_id(user) -> int | None:
    """The site where ``user`` works as active staff, or ``None`` (no user row, or not staff anywhere)."""
    if not getattr(user, "pk", None):
        return None
    return StaffMember.objects.filter(user=user, active=True).values_list("site_id", flat=True).first()


def site_in_scope(user, site: Site) -> bool:
    """May ``user`` act on ``site``: the site lies in the user's division (county, township…); a staff member
    linked to a site acts on that site only; an employer contact on none."""
    scope = scope_for(user)
    if scope.unrestricted:
        return True
    staff = StaffMember.objects.filter(user_id=user.pk).first() if getattr(user, "pk", None) else None
    if staff is not None and staff.site_id != site.pk:
        return False
    return scope.code_low is not None and scope.covers_code(site.division.code)
