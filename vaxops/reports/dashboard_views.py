"""The leaders' dashboard page (``reports:dashboard``), its full-screen mode (大屏, ``?screen=big``) and each
chart's numbers as XLSX (``reports:dashboard-xlsx``)."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import render

from vaxops.core import clock
from vaxops.core.bounds import parse_day
from vaxops.core.errors import VaxOpsError
from vaxops.core.pages import error_page
from vaxops.core.xlsx import xlsx_response
from vaxops.exchange import selectors as exchange_selectors
from vaxops.field.selectors import training_block
from vaxops.settlement.selectors import dashboard_block as settlement_block

from .dashboard import CHARTS, chart_table, dashboard_data
from .safety_coldchain import safety_coldchain_block
from .selectors import actor_scope

PERMISSION = "reports.view_dashboard"


def _data(request):
    day = parse_day(request.GET.get("date")) or clock.today()
    return dashboard_data(
        scope=actor_scope(request.user),
        day=day,
        division_code=request.GET.get("division") or None,
        start=parse_day(request.GET.get("start")),
    )


@login_required
@permission_required(PERMISSION, raise_exception=True)
def dashboard(request):
    try:
        data = _data(request)
    except VaxOpsError as e:
        return error_page(request, e)
    panels = [(name, title, *chart_table(data, name)) for name, title in CHARTS.items()]
    query = request.GET.copy()
    query.pop("screen", None)
    return render(
        request,
        "reports/dashboard.html",
        {
            "data": data,
            "panels": panels,
            "big": request.GET.get("screen") == "big",
            "query": query.urlencode(),
            "is_township": data["level"] == 4,
            "exchange_backlog": exchange_selectors.backlog_total(user=request.user),
            "settlement": settlement_block(request.user),
            "training": training_block(user=request.user),
            "safety_coldchain": safety_coldchain_block(
                scope=actor_scope(request.user), day=parse_day(data["date"]) or clock.today()
            ),
        },
    )


@login_required
@permission_required(PERMISSION, raise_exception=True)
def dashboard_xlsx(request, chart: str):
    if chart not in CHARTS:
        raise Http404
    try:
        data = _data(request)
    except VaxOpsError as e:
        return error_page(request, e)
    headers, rows = chart_table(data, chart)
    text = (0,) if headers and headers[0] in ("区划代码", "地点编码") else ()
    return xlsx_response(
        rows,
        headers,
        CHARTS[chart][:31],
        f"{CHARTS[chart]}-{data['name']}-{data['date']}.xlsx",
        text_columns=text,
    )
