"""Reads of sites with their access rule, shared by the pages and the API."""

from __future__ import annotations

from django.utils.translation import gettext as _

from vaxops.accounts.scope import require, scope_for
from vaxops.core.errors import CoreErrorCode, NotFound, PermissionDenied

from .errors import SitesErrorCode
from .models import Session


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
