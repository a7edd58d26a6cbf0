"""The weekly bulletin's pages (周通报): the archive, a week drafted by the county, its review and publication,
and the PDF and XLSX made from its snapshot."""

import datetime as dt
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vaxops.core import clock
from vaxops.core.bounds import parse_day
from vaxops.core.errors import VaxOpsError
from vaxops.core.pages import error_page, message_error

from . import bulletin_services, domain
from .bulletin import weekly_bulletin_get, weekly_bulletins
from .bulletin_documents import (
    SECTIONS,
    UNIT_HEADERS,
    band_rule,
    bulletin_pdf,
    bulletin_xlsx,
    totals_rows,
    unit_row,
)

VIEW = "reports.view_weeklybulletin"


def _status_text(b) -> str:
    if b.status == b.Status.PUBLISHED:
        return _("已发布（%(at)s）") % {"at": f"{timezone.localtime(b.published_at):%Y-%m-%d %H:%M}"}
    return _("草稿（未发布）")


@login_required
@permission_required(VIEW, raise_exception=True)
def bulletins(request):
    last_monday = domain.week_of(clock.today())[0] - dt.timedelta(days=7)
    return render(
        request,
        "reports/bulletins.html",
        {
            "bulletins": weekly_bulletins(actor=request.user)[:200],
            "may_draft": request.user.has_perm("reports.add_weeklybulletin"),
            "last_monday": last_monday,
        },
    )


@login_required
@require_POST
def bulletin_draft(request):
    day = parse_day(request.POST.get("week"))
    if day is None:
        messages.error(request, _("请选择要通报的周（该周任意一天）"))
        return redirect("reports:bulletins")
    try:
        b = bulletin_services.weekly_bulletin_draft(actor=request.user, week_start=day)
    except VaxOpsError as e:
        message_error(request, e)
        return redirect("reports:bulletins")
    messages.success(request, _("%(week)s通报草稿已生成，请审核后发布") % {"week": b.figures["week_label"]})
    return redirect("reports:bulletin", bulletin_id=b.pk)


@login_required
@permission_required(VIEW, raise_exception=True)
def bulletin(request, bulletin_id: int):
    try:
        b = weekly_bulletin_get(actor=request.user, bulletin_id=bulletin_id)
    except VaxOpsError as e:
        return error_page(request, e)
    f = b.figures
    return render(
        request,
        "reports/bulletin.html",
        {
            "b": b,
            "f": f,
            "totals": totals_rows(f),
            "rule": band_rule(f),
            "headers": UNIT_HEADERS,
            "sections": [(key, label, [(u, unit_row(u)) for u in f[key]]) for key, label in SECTIONS],
            "may_publish": b.status == b.Status.DRAFT
            and request.user.has_perm("reports.publish_weeklybulletin"),
        },
    )


@login_required
@require_POST
def bulletin_publish(request, bulletin_id: int):
    try:
        b = bulletin_services.weekly_bulletin_publish(actor=request.user, bulletin_id=bulletin_id)
    except VaxOpsError as e:
        message_error(request, e)
    else:
        messages.success(request, _("%(week)s通报已发布") % {"week": b.figures["week_label"]})
    return redirect("reports:bulletin", bulletin_id=bulletin_id)


def _document(request, bulletin_id: int, kind: str):
    try:
        b = weekly_bulletin_get(actor=request.user, bulletin_id=bulletin_id)
        name = f"{b.figures['county_name']}周通报-{b.week_start.isoformat()}"
        if kind == "pdf":
            body = bulletin_pdf(b.figures, status_text=_status_text(b))
            response = HttpResponse(body, content_type="application/pdf")
            disposition = "inline"
        else:
            body = bulletin_xlsx(b.figures)
            response = HttpResponse(
                body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            )
            disposition = "attachment"
    except VaxOpsError as e:
        return error_page(request, e)
    response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(name)}.{kind}"
    return response


@login_required
@permission_required(VIEW, raise_exception=True)
def bulletin_pdf_view(request, bulletin_id: int):
    return _document(request, bulletin_id, "pdf")


@login_required
@permission_required(VIEW, raise_exception=True)
def bulletin_xlsx_view(request, bulletin_id: int):
    return _document(request, bulletin_id, "xlsx")
