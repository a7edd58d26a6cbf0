"""The cold-chain pages: the county's overview, a unit's page with its temperature curve, excursions and
decisions, the manual twice-daily log (phone-sized), the logger-file upload and the equipment inventory.

Reads through ``selectors`` (scoped through supply's places), writes through ``services``; refusals shown
with their Chinese message; a successful POST redirects.
"""

import datetime as dt
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vaxops.core import clock
from vaxops.core.bounds import parse_int
from vaxops.core.errors import VaxOpsError
from vaxops.core.pages import form_error, message_error
from vaxops.core.xlsx import xlsx_response

from . import domain, intake, selectors, services
from .forms import AssessForm, ManualReadingForm, ReadingsUploadForm
from .models import SLOT_LABELS

CURVE_W, CURVE_H, CURVE_PAD = 720, 240, 36
CURVE_POINTS = 1500


def _unit(request, code: str):
    eq = selectors.equipment_get(user=request.user, code=code)
    if eq is None:
        raise Http404(_("冷链设备不存在或不在管辖范围内"))
    return eq


def curve(readings: list[tuple[dt.datetime, float]], *, since, until, low: float, high: float) -> dict:
    """An SVG line of the readings over [since, until] with the unit's range drawn as a band, computed
    here (no script needed); ``data`` is the same series for a chart library to take over."""
    span = max((until - since).total_seconds(), 1.0)
    temps = [c for _, c in readings]
    y_low = min([*temps, low - 2.0])
    y_high = max([*temps, high + 2.0])
    y_span = max(y_high - y_low, 1.0)
    w, h, pad = CURVE_W, CURVE_H, CURVE_PAD

    def x(at) -> float:
        return round(pad + (at - since).total_seconds() / span * (w - 2 * pad), 1)

    def y(c: float) -> float:
        return round(h - pad - (c - y_low) / y_span * (h - 2 * pad), 1)

    step = max(1, len(readings) // CURVE_POINTS)
    shown = readings[::step]
    ticks = []
    for i in range(5):
        c = y_low + y_span * i / 4
        ticks.append({"y": y(c), "label": f"{c:.1f}"})
    days = []
    day = timezone.localtime(since).replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    while day < until:
        days.append({"x": x(day), "label": day.strftime("%m-%d")})
        day += dt.timedelta(days=1)
    return {
        "w": w,
        "h": h,
        "pad": pad,
        "right": w - pad,
        "bottom": h - pad,
        "points": " ".join(f"{x(at)},{y(c)}" for at, c in shown),
        "band_y": y(high),
        "band_h": round(y(low) - y(high), 1),
        "band_w": w - 2 * pad,
        "ticks": ticks,
        "days": days,
        "count": len(readings),
        "data": json.dumps([[at.isoformat(), c] for at, c in shown]),
    }


@login_required
@permission_required("coldchain.view_equipment", raise_exception=True)
def overview(request):
    rows = selectors.overview(user=request.user)
    return render(
        request,
        "coldchain/overview.html",
        {
            "rows": rows,
            "silent": [r for r in rows if r["silent"]],
            "excursions": list(selectors.excursions_open(user=request.user)[:200]),
            "alerts": list(selectors.alerts_for(user=request.user)),
        },
    )


UNIT_TABLE_ROWS = 48


@login_required
@permission_required("coldchain.view_equipment", raise_exception=True)
def unit(request, code: str):
    eq = _unit(request, code)
    days = parse_int(request.GET.get("days") or 7, low=1, high=90) or 7
    until = clock.now()
    since = until - dt.timedelta(days=days)
    readings = [(r.at, float(r.celsius)) for r in selectors.readings_of(equipment=eq, since=since)]
    excursions = list(selectors.excursions_of(equipment=eq)[:100])
    # The excursions within the curve's window, for the chart to shade: [start, end, kind].
    shaded = [
        [e.start.isoformat(), (e.end or until).isoformat(), e.kind]
        for e in excursions
        if e.kind != "silent" and (e.end or until) >= since
    ]
    return render(
        request,
        "coldchain/unit.html",
        {
            "eq": eq,
            "days": days,
            "curve": curve(readings, since=since, until=until, low=float(eq.low_c), high=float(eq.high_c)),
            "shaded": json.dumps(shaded),
            "last": readings[-1] if readings else None,
            # The table beside the chart: the latest readings of the window, newest first.
            "table": [
                {"at": at, "celsius": c, "out": not float(eq.low_c) <= c <= float(eq.high_c)}
                for at, c in reversed(readings[-UNIT_TABLE_ROWS:])
            ],
            "excursions": excursions,
            "assess_form": AssessForm(),
        },
    )


def _excursion(request, pk: int):
    e = selectors.excursion_get(user=request.user, excursion_id=pk)
    if e is None:
        raise Http404(_("温度超标事件不存在"))
    return e


@login_required
@require_POST
@permission_required("coldchain.acknowledge_excursion", raise_exception=True)
def excursion_acknowledge(request, pk: int):
    e = _excursion(request, pk)
    try:
        services.excursion_acknowledge(actor=request.user, excursion=e)
        messages.success(request, _("已确认超标事件"))
    except VaxOpsError as exc:
        message_error(request, exc)
    return redirect("coldchain:unit", code=e.equipment.code)


@login_required
@require_POST
@permission_required("coldchain.assess_excursion", raise_exception=True)
def excursion_assess(request, pk: int):
    e = _excursion(request, pk)
    form = AssessForm(request.POST)
    if not form.is_valid():
        message_error(request, "；".join(m for errs in form.errors.values() for m in errs))
        return redirect("coldchain:unit", code=e.equipment.code)
    try:
        services.excursion_assess(actor=request.user, excursion=e, **form.cleaned_data)
        messages.success(request, _("已记录评估处置"))
    except VaxOpsError as exc:
        message_error(request, exc)
    return redirect("coldchain:unit", code=e.equipment.code)


@login_required
@require_POST
@permission_required("coldchain.assess_excursion", raise_exception=True)
def excursion_close(request, pk: int):
    e = _excursion(request, pk)
    try:
        services.excursion_close(actor=request.user, excursion=e)
        messages.success(request, _("已关闭超标事件"))
    except VaxOpsError as exc:
        message_error(request, exc)
    return redirect("coldchain:unit", code=e.equipment.code)


@login_required
@permission_required("coldchain.add_reading", raise_exception=True)
def manual_log(request, code: str):
    eq = _unit(request, code)
    form = ManualReadingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.manual_reading_record(
                actor=request.user, equipment=eq, celsius=form.cleaned_data["celsius"]
            )
            messages.success(request, _("已记录"))
            return redirect("coldchain:manual-log", code=eq.code)
        except VaxOpsError as exc:
            form_error(form, exc)
    today = clock.today()
    entries = [
        {
            "at": timezone.localtime(r.at),
            "celsius": r.celsius,
            "slot": SLOT_LABELS[domain.manual_slot(timezone.localtime(r.at))],
        }
        for r in selectors.manual_entries(equipment=eq, day=today)
    ]
    missing = domain.manual_log_missing([e["at"] for e in entries], day=today, local_now=clock.localnow())
    return render(
        request,
        "coldchain/manual_log.html",
        {
            "eq": eq,
            "form": form,
            "entries": entries,
            "missing": [SLOT_LABELS[m] for m in missing],
            "today": today,
        },
    )


@login_required
@permission_required("coldchain.add_reading", raise_exception=True)
def readings_import(request, code: str):
    eq = _unit(request, code)
    form = ReadingsUploadForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data["file"]
        try:
            from vaxops.core.uploads import check_upload_size

            check_upload_size(f.size)
            table = intake.readings_table_open(f, size=f.size, filename=f.name)
            result = intake.file_readings(actor=request.user, table=table, equipment=eq).as_dict()
        except VaxOpsError as exc:
            form_error(form, exc)
    return render(request, "coldchain/import.html", {"eq": eq, "form": form, "result": result})


def _inventory_rows(user) -> list[dict]:
    this_year = clock.today().year
    return [
        {
            "eq": eq,
            "renewal_year": eq.renewal_year,
            "due": eq.renewal_year is not None and eq.renewal_year <= this_year and eq.status != "scrapped",
        }
        for eq in selectors.equipment_visible(user=user)
    ]


@login_required
@permission_required("coldchain.view_equipment", raise_exception=True)
def equipment(request):
    rows = _inventory_rows(request.user)
    return render(request, "coldchain/equipment.html", {"rows": rows, "due": [r for r in rows if r["due"]]})


@login_required
@permission_required("coldchain.view_equipment", raise_exception=True)
def equipment_xlsx(request):
    rows = [
        [
            r["eq"].code,
            r["eq"].unit.place.name,
            r["eq"].unit.get_kind_display(),
            r["eq"].make,
            r["eq"].model_name,
            r["eq"].serial,
            r["eq"].unit.usable_volume_cm3,
            f"{r['eq'].low_c}～{r['eq'].high_c}",
            r["eq"].get_status_display(),
            r["eq"].year_in_service,
            r["renewal_year"],
            "是" if r["due"] else "",
        ]
        for r in _inventory_rows(request.user)
    ]
    headers = [
        "设备编码",
        "库存地点",
        "类型",
        "品牌",
        "型号",
        "出厂编号",
        "可用容积(cm³)",
        "温度范围(℃)",
        "状态",
        "启用年份",
        "到期更新年份",
        "到期待更新",
    ]
    return xlsx_response(
        rows,
        headers,
        "冷链设备台账",
        f"coldchain-equipment-{clock.today().isoformat()}.xlsx",
        text_columns=(0, 5),
    )


@login_required
@require_POST
def alert_read(request, pk: int):
    alert = selectors.alert_get(user=request.user, alert_id=pk)
    if alert is None:
        raise Http404(_("提醒不存在"))
    services.alert_read(actor=request.user, alert=alert)
    return redirect("coldchain:overview")
