from datetime import date
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _

from vaxops.core.bounds import parse_day
from vaxops.jurisdictions.models import Level

from .labels import action_choices, action_label, changes, objects_named
from .selectors import audit_search


def _date(text: str) -> date | None:
    return parse_day(text)


def county_wide(user) -> bool:
    """Whether ``user``'s scope is a whole county or more. Audit events are not tied to a division (their
    values name people across the county), so the log is shown only to users who may see all of it."""

    if user.is_superuser:
        return True
    division = getattr(user, "division", None)
    return division is not None and not user.employer_id and division.level <= Level.COUNTY


@login_required
@permission_required("audit.view_auditevent", raise_exception=True)
def events(request):
    if not county_wide(request.user):
        return render(
            request, "error.html", {"message": _("审计日志涉及全县人员，仅供县级及以上用户查看")}, status=403
        )
    f = {
        k: request.GET.get(k, "").strip()
        for k in ("actor", "action", "object_id", "text", "date_from", "date_to")
    }
    qs = audit_search(
        actor=f["actor"],
        action=f["action"],
        object_id=f["object_id"],
        text=f["text"],
        date_from=_date(f["date_from"]),
        date_to=_date(f["date_to"]),
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    events = list(page.object_list)
    named = objects_named(events)
    rows = [
        {"e": e, "action": action_label(e.action), "object": named.get(e.pk, ""), "changes": changes(e)}
        for e in events
    ]
    people = [
        (u.username, f"{u.full_name}（{u.username}）" if u.full_name else u.username)
        for u in get_user_model().objects.order_by("username").only("username", "full_name")[:500]
    ]
    return render(
        request,
        "audit/events.html",
        {
            "page": page,
            "rows": rows,
            "f": f,
            "query": urlencode(f),
            "actions": action_choices(),
            "people": people,
        },
    )
