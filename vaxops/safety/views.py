"""Pages of vaccine safety: the county's case list with the clocks and lot holds, the case page (with the
card's print and XLSX export), the staff report form, the hospital's inbox and case (一人一案), and the
person's plain-language form behind their private record link."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from vaxops.accounts.scope import scope_for
from vaxops.clinic import services as clinic_services
from vaxops.core import clock
from vaxops.core.errors import CoreErrorCode, PermissionDenied, ValidationFailed, VaxOpsError
from vaxops.core.forms import form_values
from vaxops.core.pages import error_page, message_error
from vaxops.core.ratelimit import throttle
from vaxops.core.xlsx import xlsx_response
from vaxops.registry.domain import mask_id, mask_name

from . import domain, selectors, services
from .errors import SafetyErrorCode
from .forms import ClaimForm, ClassifyForm, DischargeForm, PersonReportForm, ReportForm, TreatmentForm


def _need(request, *perms: str) -> None:
    if not any(request.user.has_perm(p) for p in perms):
        raise PermissionDenied(_("您的角色无权查看此页"), code=CoreErrorCode.ROLE_FORBIDDEN)


def _row(r) -> dict:
    clocks = domain.clocks(r.case_times(), clock.now())
    worst = next((c for c in clocks if c.state == domain.ClockState.OVERDUE), None) or next(
        (c for c in clocks if c.state == domain.ClockState.DUE_SOON), None
    )
    return {"r": r, "clocks": clocks, "worst": worst, "name": mask_name(r.resident.name)}


@login_required
def cases(request):
    """The county's list: open lot holds to confirm, open signals, and every case with its clocks. A role that
    sees counts only (the leader) gets the counts."""
    try:
        if not request.user.has_perm("safety.view_adverseeventreport"):
            _need(request, "safety.view_safety_counts")
            counts = selectors.aefi_counts(scope_for(request.user), clock.today())
            return render(request, "safety/counts.html", {"counts": counts})
        page = Paginator(selectors.reports_visible(user=request.user), 50).get_page(request.GET.get("page"))
        return render(
            request,
            "safety/cases.html",
            {
                "rows": [_row(r) for r in page],
                "page": page,
                "holds": list(selectors.lot_holds_open()),
                "signals": list(selectors.signals_open()),
                "counts": selectors.aefi_counts(scope_for(request.user), clock.today()),
                "may_hold": request.user.has_perm("safety.change_lothold"),
            },
        )
    except VaxOpsError as e:
        return error_page(request, e)


def _report_or_404(request, report_id: int):
    r = selectors.report_get(user=request.user, report_id=report_id)
    if r is None:
        raise Http404("no such case")
    return r


def _card_rows(r, detail) -> list[tuple[str, str]]:
    dose = detail["dose"]
    health = [
        (_("主要临床表现"), "、".join(r.signs)),
        (_("病情描述"), r.description),
        (_("严重性"), "、".join(domain.Criterion(c).label_zh for c in r.criteria) or _("非严重")),
        (_("治疗"), r.treatment),
        (_("转归"), r.get_outcome_display()),
        (_("分类"), r.get_classification_display() or _("待诊断")),
    ]
    return [
        (_("编号"), r.number),
        (_("受种者"), mask_name(r.resident.name)),
        (_("证件号码"), mask_id(r.resident.id_number)),
        (_("疫苗"), r.product_code),
        (_("批号"), r.lot.lot_number if r.lot_id else ""),
        (_("生产企业"), r.lot.manufacturer if r.lot_id else ""),
        (_("追溯码"), dose.trace_code.code if dose and dose.trace_code_id else ""),
        (_("接种单位"), r.site.name if r.site_id else ""),
        (_("接种人员"), dose.vaccinator.name if dose and dose.vaccinator_id else ""),
        (_("接种日期"), str(dose.given_on) if dose else ""),
        (_("发病时间"), timezone.localtime(r.onset_at).strftime("%Y-%m-%d %H:%M")),
        (_("发现时间"), timezone.localtime(r.discovered_at).strftime("%Y-%m-%d %H:%M")),
        (_("报告时间"), timezone.localtime(r.reported_at).strftime("%Y-%m-%d %H:%M")),
        *health,
        (_("报告人"), r.reporter_name),
        (_("报告单位"), r.reporter_unit),
        (_("报告来源"), r.get_source_display()),
        (_("状态"), r.get_status_display()),
    ]


@login_required
def case(request, report_id: int):
    try:
        _need(request, "safety.view_adverseeventreport")
    except VaxOpsError as e:
        return error_page(request, e)
    r = _report_or_404(request, report_id)
    if not selectors.may_see_health(request.user):
        return error_page(
            request, PermissionDenied(_("个案健康信息仅限处置角色查看"), code=CoreErrorCode.ROLE_FORBIDDEN)
        )
    detail = selectors.report_detail(report=r)
    return render(
        request,
        "safety/case.html",
        {
            "r": r,
            "card": _card_rows(r, detail),
            **detail,
            "experts": list(selectors.experts_active())
            if request.user.has_perm("safety.classify_adverseeventreport")
            else [],
            "classify_form": ClassifyForm(),
            "claim_form": ClaimForm(),
            "may_investigate": request.user.has_perm("safety.investigate_adverseeventreport"),
            "may_classify": request.user.has_perm("safety.classify_adverseeventreport"),
            "may_claim": request.user.has_perm("safety.add_claim"),
            "may_refer": request.user.has_perm("safety.add_hospitalcase"),
            "classifications": domain.Classification,
        },
    )


@login_required
def card_xlsx(request, report_id: int):
    try:
        _need(request, "safety.view_health_details")
    except VaxOpsError as e:
        return error_page(request, e)
    r = _report_or_404(request, report_id)
    rows = _card_rows(r, selectors.report_detail(report=r))
    return xlsx_response(
        rows, [_("项目"), _("内容")], _("个案报告卡"), f"AEFI-{r.number}.xlsx", text_columns=(1,)
    )


@login_required
def case_act(request, report_id: int):
    """The case page's buttons: investigate, preliminary report, refer, classify (panel), close, claims."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    r = _report_or_404(request, report_id)
    do = request.POST.get("do", "")
    u = request.user
    try:
        if do == "investigate":
            services.investigation_open(actor=u, report_id=r.pk)
        elif do == "preliminary":
            services.preliminary_report_file(actor=u, report_id=r.pk)
        elif do == "close":
            services.report_close(actor=u, report_id=r.pk)
        elif do == "refer":
            services.referral_make(actor=u, report=r)
        elif do == "classify":
            v = form_values(ClassifyForm(request.POST))
            services.panel_classify(
                actor=u,
                report_id=r.pk,
                diagnosis=v["diagnosis"] or "",
                classification=v["classification"] or "",
                reasoning=v["reasoning"] or "",
                expert_ids=v["experts"] or [],
            )
        elif do == "claim":
            v = form_values(ClaimForm(request.POST))
            services.claim_file(
                actor=u, report_id=r.pk, kind=v["kind"] or "", amount=v["amount"] or "", note=v["note"] or ""
            )
        elif do in ("claim_approved", "claim_refused", "claim_paid"):
            services.claim_decide(
                actor=u,
                claim_id=int(request.POST.get("claim") or 0),
                state=do.removeprefix("claim_"),
                amount_paid=request.POST.get("amount_paid"),
            )
        else:
            raise ValidationFailed(_("未知的操作"), field="do", code=SafetyErrorCode.STATUS_MOVE)
    except VaxOpsError as e:
        message_error(request, e)
    else:
        messages.success(request, _("已保存"))
    return redirect("safety:case", r.pk)


@login_required
def hold_act(request, hold_id: int):
    """The county's one click on a proposed hold (confirm), or the release after the panel's classification."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        if request.POST.get("do") == "release":
            services.lot_hold_release(
                actor=request.user, hold_id=hold_id, reason=request.POST.get("reason", "")
            )
            messages.success(request, _("批号已恢复使用"))
        else:
            hold = services.lot_hold_confirm(actor=request.user, hold_id=hold_id)
            messages.success(
                request, _("批号%(lot)s已暂停使用，已通知使用该批号的接种单位") % {"lot": hold.lot.lot_number}
            )
    except VaxOpsError as e:
        message_error(request, e)
    return redirect("safety:cases")


@login_required
def report_new(request):
    """The staff report form (site, hospital, county CDC), for a dose chosen by its record number."""
    try:
        _need(request, "safety.add_adverseeventreport")
    except VaxOpsError as e:
        return error_page(request, e)
    form = ReportForm(request.POST or None, initial={"dose": request.GET.get("dose")})
    error = None
    if request.method == "POST":
        v = form_values(form)
        dose = selectors.dose_reportable(user=request.user, dose_id=v["dose"] or 0)
        try:
            if dose is None:
                raise ValidationFailed(
                    _("接种记录不存在或不在您的辖区"), field="dose", code=SafetyErrorCode.DOSE_NOT_FOUND
                )
            if v["onset_at"] is None:
                raise ValidationFailed(
                    _("请填写发病时间"), field="onset_at", code=SafetyErrorCode.ONSET_INVALID
                )
            source = (
                "hospital"
                if request.user.role == "hospital"
                else ("county" if request.user.role == "county_admin" else "site")
            )
            report = services.report_create(
                actor=request.user,
                dose=dose,
                source=source,
                onset_at=v["onset_at"],
                discovered_at=v["discovered_at"],
                signs=v["signs"] or "",
                description=v["description"] or "",
                criteria=v["criteria"] or [],
                major_concern=bool(v["major_concern"]),
                treatment=v["treatment"] or "",
                outcome=v["outcome"] or "unknown",
                reporter_name=v["reporter_name"] or "",
                reporter_unit=v["reporter_unit"] or "",
                reporter_phone=v["reporter_phone"] or "",
            )
            if v["refer"]:
                services.referral_make(actor=request.user, report=report)
        except VaxOpsError as e:
            error = e.message
        else:
            messages.success(request, _("已报告，编号 %(n)s") % {"n": report.number})
            return redirect("safety:case", report.pk)
    return render(
        request, "safety/report_new.html", {"form": form, "error": error}, status=400 if error else 200
    )


# ------------------------------------------------------------------------------------------- hospital


@login_required
def hospital(request):
    """The hospital's home: the people referred or transferred to it, with the dose and the reaction."""
    try:
        _need(request, "safety.view_hospitalcase")
    except VaxOpsError as e:
        return error_page(request, e)
    inbox = list(selectors.hospital_inbox(user=request.user))
    return render(
        request,
        "safety/hospital.html",
        {
            "hospitals": selectors.hospitals_of(user=request.user),
            "rows": [{"c": c, "name": mask_name(c.report.resident.name)} for c in inbox],
        },
    )


@login_required
def hospital_case(request, case_id: int):
    try:
        _need(request, "safety.view_hospitalcase")
    except VaxOpsError as e:
        return error_page(request, e)
    c = selectors.hospital_case_get(user=request.user, case_id=case_id)
    if c is None:
        raise Http404("no such case")
    if request.method == "POST":
        do = request.POST.get("do")
        try:
            if do == "admit":
                services.hospital_case_admit(
                    actor=request.user, case_id=c.pk, doctor=request.POST.get("doctor", "")
                )
            elif do == "treat":
                v = form_values(TreatmentForm(request.POST))
                services.treatment_add(actor=request.user, case_id=c.pk, note=v["note"] or "")
            elif do == "discharge":
                v = form_values(DischargeForm(request.POST))
                services.hospital_case_discharge(actor=request.user, case_id=c.pk, outcome=v["outcome"] or "")
            else:
                raise ValidationFailed(_("未知的操作"), field="do", code=SafetyErrorCode.HOSPITAL_CASE_STATE)
        except VaxOpsError as e:
            message_error(request, e)
        else:
            messages.success(request, _("已保存"))
        return redirect("safety:hospital-case", c.pk)
    detail = selectors.report_detail(report=c.report)
    return render(
        request,
        "safety/hospital_case.html",
        {
            "c": c,
            "r": c.report,
            "name": mask_name(c.report.resident.name),
            "entries": list(c.entries.all()),
            "dose": detail["dose"],
            "clocks": detail["clocks"],
            "outcomes": c.report.Outcome.choices,
        },
    )


# ------------------------------------------------------------------------------------ the person's form


@never_cache
@throttle("record")
def mine(request, token: str):
    """The person's plain-language report from their private record link (no login; a dead link is 404)."""
    link = clinic_services.record_link_from_token(token)
    if link is None:
        raise Http404("bad record token")
    doses = selectors.doses_of_person(resident_id=link.resident_id)
    form = PersonReportForm(request.POST or None)
    error = None
    done = None
    if request.method == "POST":
        v = form_values(form)
        try:
            done = services.report_from_person(
                resident=link.resident,
                dose_id=v["dose"],
                onset_at=v["onset_at"],
                signs=v["signs"] or "",
                description=v["description"] or "",
                hospitalised=bool(v["hospitalised"]),
                phone=v["phone"] or "",
            )
        except VaxOpsError as e:
            error = e.message
    response = render(
        request,
        "safety/mine.html",
        {"form": form, "doses": doses, "error": error, "done": done, "token": token},
        status=400 if error else 200,
    )
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@login_required
@never_cache
def session_cover(request, session_id: int):
    """A session's on-site cover (the "四有" roster): the paired hospital's rescue staff put on duty and the
    ambulance with its phone, and what still keeps the session from opening."""
    from vaxops.sites import selectors as site_selectors

    try:
        session = site_selectors.session_get(user=request.user, session_id=session_id)
        may = request.user.has_perm("sites.add_readinesscheck")
        if request.method == "POST":
            if not may:
                raise PermissionDenied(_("您的角色无权办理此项"), code=CoreErrorCode.ROLE_FORBIDDEN)
            try:
                if request.POST.get("do") == "rescue":
                    staff = selectors.staff_member_get(pk=request.POST.get("staff"))
                    if staff is None:
                        raise ValidationFailed(
                            _("请选择救治人员"), field="staff", code=SafetyErrorCode.RESCUE_NOT_FROM_HOSPITAL
                        )
                    services.rescue_duty_add(actor=request.user, session=session, staff=staff)
                    messages.success(request, _("已安排%(staff)s现场救治值守") % {"staff": staff.name})
                else:
                    services.ambulance_cover_set(
                        actor=request.user,
                        session=session,
                        mode=request.POST.get("mode", ""),
                        phone=request.POST.get("phone", ""),
                        plate=request.POST.get("plate", ""),
                    )
                    messages.success(request, _("已登记救护车保障"))
            except VaxOpsError as e:
                message_error(request, e)
            return redirect("safety:session-cover", session.pk)
        return render(
            request, "safety/cover.html", {"session": session, "may": may, **selectors.session_cover(session)}
        )
    except VaxOpsError as e:
        return error_page(request, e)
