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
