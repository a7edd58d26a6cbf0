"""The daily report page (日报表): each township's figures of the day, its confirmation by 17:00, the late ones,
and the county roll-up as XLSX."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from vaxops.core import clock
from vaxops.core.bounds import parse_day
from vaxops.core.errors import VaxOpsError
from vaxops.core.pages import error_page, message_error
from vaxops.core.xlsx import workbook_response
from vaxops.exchange import selectors as exchange_selectors
from vaxops.field.selectors import training_block

from . import domain, services
from .forms import ConfirmForm
from .safety_coldchain import safety_coldchain_block
from .selectors import actor_scope, daily_status

COLUMNS = (
    ("doses_today", "当日接种剂次"),
    ("doses_cumulative", "累计接种剂次"),
    ("people_first_dose_today", "当日首剂人数"),
    ("people_first_dose_cumulative", "累计首剂人数"),
    ("people_completed_cumulative", "累计全程接种人数"),
    ("people_booster_cumulative", "累计加强免疫人数"),
    ("people_60_plus_first_dose_cumulative", "60岁及以上累计首剂人数"),
    ("booster_doses_cumulative", "累计加强剂次"),
    ("population", "户籍人口"),
    ("coverage_first_dose", "首剂覆盖率"),
    ("coverage_target_people", "目标完成率"),
    ("stock_on_hand", "库存（剂）"),
    ("adverse_events_today", "当日疑似异常反应"),
)


def _day(request):
    return parse_day(request.GET.get("date")) or clock.today()


@login_required
@permission_required("reports.view_dailyreport", raise_exception=True)
def daily(request):
    day = _day(request)
    try:
        report, townships = daily_status(
            scope=actor_scope(request.user), day=day, division_code=request.GET.get("division") or None
        )
    except VaxOpsError as e:
        return error_page(request, e)
    due = domain.daily_report_due(day)
    return render(
        request,
        "reports/daily.html",
        {
            "report": report,
            "townships": [(t, [t.figures[k] for k, _ in COLUMNS]) for t in townships],
            "total": [report["total"][k] for k, _ in COLUMNS],
            "columns": COLUMNS,
            "day": day,
            "due": due,
            "past_due": clock.localnow().replace(tzinfo=None) > due,
            "may_confirm": request.user.has_perm("reports.confirm_dailyreport"),
            "late_count": sum(1 for t in townships if t.late and t.confirmed is None),
            "exchange_backlog": exchange_selectors.backlog_total(user=request.user),
            "training": training_block(user=request.user, on=day),
            "safety_coldchain": safety_coldchain_block(scope=actor_scope(request.user), day=day),
        },
    )


@login_required
@require_POST
def confirm(request):
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        messages.error(
            request, f"{form.fields[field].label}：{errors[0]}" if field in form.fields else errors[0]
        )
        return redirect("reports:daily")
    data = form.cleaned_data
    try:
        report = services.daily_report_confirm(
            actor=request.user,
            township_code=data["township"],
            day=data["day"],
            note=data["note"],
            reason=data["reason"],
        )
    except VaxOpsError as e:
        message_error(request, e)
    else:
        if report.version == 1:
            messages.success(
                request,
                f"{report.township.name}{report.day}日报表已确认" + ("（逾期）" if report.late else ""),
            )
        else:
            messages.success(request, f"{report.township.name}{report.day}日报表已更正为第{report.version}版")
    return redirect(f"{reverse('reports:daily')}?date={data['day'].isoformat()}")


@login_required
@permission_required("reports.view_dailyreport", raise_exception=True)
def daily_xlsx(request):
    day = _day(request)
    try:
        report, townships = daily_status(
            scope=actor_scope(request.user), day=day, division_code=request.GET.get("division") or None
        )
    except VaxOpsError as e:
        return error_page(request, e)

    from .exports import daily_rollup_xlsx

    return workbook_response(
        daily_rollup_xlsx(report, townships), f"新冠疫苗接种日报表-{report['name']}-{day.isoformat()}.xlsx"
    )


@login_required
@permission_required("reports.view_dailyreport", raise_exception=True)
def daily_pdf(request):
    from django.http import HttpResponse

    from .exports import daily_rollup_pdf

    day = _day(request)
    try:
        report, townships = daily_status(
            scope=actor_scope(request.user), day=day, division_code=request.GET.get("division") or None
        )
        content = daily_rollup_pdf(report, townships)
    except VaxOpsError as e:
        return error_page(request, e)
    response = HttpResponse(content, content_type="application/pdf")
    name = f"新冠疫苗接种日报表-{report['name']}-{day.isoformat()}.pdf"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    return response
