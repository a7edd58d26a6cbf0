"""The per-resident pages: 接种评估 (forecast, eligibility, dose history, external doses) and 预检."""

import datetime as dt

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vaxops.catalog import domain
from vaxops.catalog.selectors import catalogue_current, question_set_on
from vaxops.core import clock
from vaxops.core.bounds import parse_day, parse_int
from vaxops.core.errors import CoreErrorCode, NotFound, VaxOpsError
from vaxops.core.pages import error_page, form_error
from vaxops.registry.domain import mask_id

from . import selectors, services
from .errors import ClinicErrorCode
from .forms import DoseCorrectForm, ExternalDoseForm, ReasonForm, ScreeningForm
from .models import Dose


def _day(text: str | None) -> dt.date:
    return parse_day(text) or clock.today()


def _may_void(user, dose: Dose) -> bool:
    return dose.voided_at is None and (
        user.has_perm("clinic.void_dose") or (dose.external and user.has_perm("clinic.add_dose"))
    )


def _may_correct(user, dose: Dose) -> bool:
    """The county CDC corrects a dose given here that stands (``services.dose_correct`` holds the rule)."""
    return dose.voided_at is None and not dose.external and user.has_perm("clinic.void_dose")


def _assessment_context(request, resident, on: dt.date) -> dict:
    catalogue = catalogue_current()
    ctx = {
        "r": resident,
        "masked_id": mask_id(resident.id_number),
        "on": on,
        "today": clock.today(),
        "catalogue": catalogue,
    }
    doses = selectors.doses_of(resident=resident)
    try:
        forecast = selectors.forecast_for(resident=resident, on=on)
    except VaxOpsError as e:
        ctx["forecast_error"] = e.message
        forecast = None
    verdicts = {d.dose.ref: d for d in forecast.doses} if forecast else {}
    ctx["doses"] = [
        {
            "dose": d,
            "judged": verdicts.get(str(d.pk)),
            "may_void": _may_void(request.user, d),
            "may_correct": _may_correct(request.user, d),
            "product": catalogue.find_product(d.product_code),
        }
        for d in doses
    ]
    if forecast is not None:
        ctx["forecast"] = forecast
        ctx["eligibility"] = selectors.eligibility_for(resident=resident, on=on, forecast=forecast)
        ctx["recommendation"] = domain.to_fhir_recommendation(forecast, patient_ref=f"Patient/{resident.pk}")
        nd = forecast.next_dose
        ctx["next_label"] = None if nd is None else ("加强针" if nd.is_booster else f"第{nd.number}剂")
        ctx["next_overdue"] = bool(nd and (nd.overdue or (nd.latest and on > nd.latest)))
    ctx["deferrals"] = selectors.standing_deferrals_of(resident=resident)
    ctx["contraindications"] = selectors.standing_contraindications_of(resident=resident)
    ctx["screenings"] = (
        selectors.screenings_of(resident=resident, limit=5)
        if request.user.has_perm("clinic.view_screeningrecord")
        else []
    )
    return ctx


@login_required
@permission_required("clinic.view_dose", raise_exception=True)
def assessment(request, pk: int):
    """GET shows the page; POST adds a dose given elsewhere."""
    try:
        resident = selectors.resident_for_clinic(user=request.user, resident_id=pk)
    except NotFound as e:
        return error_page(request, e, status=404)
    on = _day(request.GET.get("on"))
    form = ExternalDoseForm(catalogue=catalogue_current())
    if request.method == "POST":
        if not request.user.has_perm("clinic.add_dose"):
            return error_page(request, "您的角色无权补录接种记录", status=403)
        form = ExternalDoseForm(request.POST, catalogue=catalogue_current())
        if form.is_valid():
            try:
                services.dose_record_external(
                    actor=request.user, resident_id=resident.pk, **form.cleaned_data
                )
            except VaxOpsError as e:
                form_error(form, e)
            else:
                return redirect(reverse("clinic:resident", args=[resident.pk]) + "?added=1")
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    ctx = _assessment_context(request, resident, on)
    ctx.update(
        form=form,
        added=request.GET.get("added") == "1",
        voided=request.GET.get("voided") == "1",
        corrected=request.GET.get("corrected") == "1",
    )
    return render(request, "clinic/assessment.html", ctx, status=400 if form.errors else 200)


@login_required
@require_POST
def dose_void(request, pk: int):
    dose = selectors.dose_by_id(dose_id=pk)
    form = ReasonForm(request.POST)
    back = reverse("clinic:resident", args=[dose.resident_id]) if dose else reverse("home")
    message = None
    if not form.is_valid():
        message = "请填写作废原因（至少2个字）"
    else:
        try:
            services.dose_void(actor=request.user, dose_id=pk, reason=form.cleaned_data["reason"])
        except VaxOpsError as e:
            message = e.message
    if message:
        status = 404 if dose is None else 400
        return error_page(request, message, context={"back": back}, status=status)
    return redirect(back + "?voided=1")


def _minute(dose: Dose) -> dt.datetime | None:
    """The dose's time of administration as the form shows it (local time, to the minute)."""
    return timezone.localtime(dose.given_at).replace(second=0, microsecond=0) if dose.given_at else None


def _correction_rows(dose: Dose, data: dict) -> list[dict]:
    """The fields a correction changes, before → after (the page's preview)."""
    rows = []
    before, after = _minute(dose), data["given_at"]
    if before != after:
        shown = before.strftime("%Y-%m-%d %H:%M") if before else dose.given_on.isoformat()
        rows.append({"label": _("接种时间"), "before": shown, "after": after.strftime("%Y-%m-%d %H:%M")})
    site = (data.get("injection_site") or "").strip()
    if site != dose.injection_site:
        rows.append({"label": _("接种部位"), "before": dose.injection_site or "—", "after": site or "—"})
    return rows


@login_required
@permission_required("clinic.void_dose", raise_exception=True)
def dose_correct(request, pk: int):
    """更正接种记录: the county CDC corrects a dose given here (time of administration, injection site) with a
    reason. GET shows the form; POST shows the change before → after; POST with ``confirm`` corrects it
    (``services.dose_correct``: the rules, the audit event and the platforms' update)."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    dose = selectors.dose_by_id(dose_id=pk)
    try:
        if dose is None:
            raise NotFound(_("接种记录不存在或不在您的管辖范围内"), code=ClinicErrorCode.DOSE_NOT_FOUND)
        resident = selectors.resident_for_clinic(user=request.user, resident_id=dose.resident_id)
    except NotFound as e:
        return error_page(request, e, status=404)
    back = reverse("clinic:resident", args=[resident.pk])
    if not _may_correct(request.user, dose):
        why = _("该接种记录已作废") if dose.voided_at else _("外地接种记录不能更正，请作废后重新补录")
        return error_page(request, why, context={"back": back}, status=400)
    initial = {"given_at": _minute(dose), "injection_site": dose.injection_site}
    form = DoseCorrectForm(request.POST if request.method == "POST" else None, initial=initial)
    rows: list[dict] = []
    if request.method == "POST" and form.is_valid():
        rows = _correction_rows(dose, form.cleaned_data)
        if not rows:
            form.add_error("given_at", _("没有需要更正的内容"))
        elif request.POST.get("confirm") == "1":
            data = form.cleaned_data
            # The minute shown is the minute stored: the time is not what is corrected (its seconds stay).
            given_at = None if _minute(dose) == data["given_at"] else data["given_at"]
            try:
                services.dose_correct(
                    actor=request.user,
                    dose_id=dose.pk,
                    reason=data["reason"],
                    given_at=given_at,
                    injection_site=data["injection_site"],
                )
            except VaxOpsError as e:
                form_error(form, e)
                rows = []
            else:
                return redirect(back + "?corrected=1")
    ctx = {
        "dose": dose,
        "r": resident,
        "masked_id": mask_id(resident.id_number),
        "form": form,
        "rows": rows,
        "back": back,
    }
    return render(request, "clinic/dose_correct.html", ctx, status=400 if form.errors else 200)


@login_required
@require_POST
def contraindication_lift(request, pk: int):
    c = selectors.contraindication_by_id(contraindication_id=pk)
    form = ReasonForm(request.POST)
    back = reverse("clinic:resident", args=[c.resident_id]) if c else reverse("home")
    try:
        if not form.is_valid():
            raise VaxOpsError(_("请填写解除原因（至少2个字）"), code=CoreErrorCode.REASON_REQUIRED)
        services.contraindication_lift(
            actor=request.user, contraindication_id=pk, reason=form.cleaned_data["reason"]
        )
    except VaxOpsError as e:
        return error_page(request, e, context={"back": back}, status=404 if c is None else 400)
    return redirect(back)


@login_required
@permission_required("clinic.view_screeningrecord", raise_exception=True)
def screening(request, pk: int):
    """The question set in force, with temperature and blood pressure; POST records the screening."""
    try:
        resident = selectors.resident_for_clinic(user=request.user, resident_id=pk)
    except NotFound as e:
        return error_page(request, e, status=404)
    today = clock.today()
    try:
        question_set = question_set_on(today)
    except NotFound as e:
        return error_page(request, e, status=404)
    catalogue = catalogue_current()
    show_en = request.GET.get("en") == "1" or (get_language() or "").startswith("en")
    form = ScreeningForm(question_set=question_set, catalogue=catalogue, sex=resident.sex)
    record = None
    if request.method == "POST":
        if not request.user.has_perm("clinic.add_screeningrecord"):
            return error_page(request, "您的角色无权进行预检登记", status=403)
        form = ScreeningForm(request.POST, question_set=question_set, catalogue=catalogue, sex=resident.sex)
        if form.is_valid():
            try:
                record = services.screening_record(
                    actor=request.user,
                    resident_id=resident.pk,
                    answers=form.answers(),
                    temperature_c=form.cleaned_data["temperature_c"],
                    bp_systolic=form.cleaned_data["bp_systolic"],
                    bp_diastolic=form.cleaned_data["bp_diastolic"],
                    on=today,
                )
            except VaxOpsError as e:
                field = f"q_{e.field}" if e.field and f"q_{e.field}" in form.fields else e.field
                form.add_error(field if field in form.fields else None, e.message)
            else:
                return redirect(reverse("clinic:screening", args=[resident.pk]) + f"?record={record.pk}")
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    shown = parse_int(request.GET.get("record"), low=1)
    if shown is not None:
        record = selectors.screening_of(resident=resident, record_id=shown)
    contra = None
    if record is not None and record.contraindicated_products:
        contra = (
            "全部品种"
            if record.contraindicated_products == "all"
            else "、".join(record.contraindicated_products)
        )
    return render(
        request,
        "clinic/screening.html",
        {
            "r": resident,
            "masked_id": mask_id(resident.id_number),
            "question_set": question_set,
            "form": form,
            "show_en": show_en,
            "record": record,
            "record_contra": contra,
            "today": today,
        },
        status=400 if form.errors else 200,
    )
