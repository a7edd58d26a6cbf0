from datetime import date
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import render

from .selectors import audit_search


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@login_required
@permission_required("audit.view_auditevent", raise_exception=True)
def events(request):
    f = {k: request.GET.get(k, "").strip() for k in ("actor", "action", "object_id", "text", "date_from", "date_to")}
    qs = audit_search(actor=f["actor"], action=f["action"], object_id=f["object_id"], text=f["text"],
                      date_from=_date(f["date_from"]), date_to=_date(f["date_to"]))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "audit/events.html", {"page": page, "f": f, "query": urlencode(f)})
