"""The field pages: training (courses, classes, exams, the counts and expiring certificates), a mobile team's
session at a venue and the stock it carries. Reads through ``field.selectors`` (the user's scope), writes
through the services; a refusal is shown with its Chinese message and every POST redirects (PRG)."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vaxops.campaign.selectors import LABELS as CATEGORY_LABELS
from vaxops.campaign.selectors import LIST_CATEGORIES
from vaxops.core import clock
from vaxops.core.errors import VaxOpsError
from vaxops.core.forms import form_values
from vaxops.core.pages import message_error
from vaxops.registry.domain import mask_name
from vaxops.registry.selectors import employers_in_scope, villages_visible
from vaxops.sites import services as site_services
from vaxops.sites.models import Site, VenueKind
from vaxops.sites.selectors import site_in_scope

from . import domain, selectors, services
from .errors import FieldErrorCode
from .forms import ClassForm, CourseForm, EnrolForm, ExamForm, GroupForm, MobilePlanForm, StockOutForm
from .models import Attitude, Contact
from .notice import notice_facts, notice_pdf, qr_svg


@login_required
@permission_required("field.view_course", raise_exception=True)
def training(request):
    user = request.user
    ctx = {
        "courses": selectors.courses_visible(user=user)[:100],
        "counts": selectors.training_counts(user=user),
        "totals": selectors.training_totals(user=user),
        "expiring": selectors.certificates_expiring(user=user),
        "expiring_days": selectors.EXPIRING_DAYS,
        "may_add": user.has_perm("field.add_course"),
        "organisers": selectors.organisers(user=user),
        "syllabus": domain.SYLLABUS,
        "today": clock.today(),
    }
    return render(request, "field/training.html", ctx)


@login_required
@require_POST
@permission_required("field.add_course", raise_exception=True)
def course_add(request):
    values = form_values(CourseForm(request.POST))
    division = selectors.division_get(code=values["division"] or "")
    if not values["code"] or not values["title"] or division is None or values["deadline"] is None:
        message_error(request, _("请填写课程编号、名称、组织单位和完成期限"))
        return redirect("field:training")
    kwargs = {}
    if values["pass_score"] is not None:
        kwargs["pass_score"] = values["pass_score"]
    if values["certificate_months"]:
        kwargs["certificate_months"] = values["certificate_months"]
    try:
        course = services.course_create(
            actor=request.user,
            code=values["code"],
            title=values["title"],
            division=division,
            syllabus=request.POST.getlist("syllabus"),
            deadline=values["deadline"],
            **kwargs,
        )
    except VaxOpsError as e:
        message_error(request, e)
        return redirect("field:training")
    messages.success(request, _("已建立培训课程：%(title)s") % {"title": course.title})
    return redirect("field:course", course.pk)


def _course(request, pk: int):
    course = selectors.course_get(user=request.user, pk=pk)
    if course is None:
        from django.http import Http404

        raise Http404
    return course


def _may_run(user, course) -> bool:
    return user.has_perm("field.change_course") and (
        user.is_superuser or (user.division_id and user.division.contains(course.division.code))
    )


@login_required
@permission_required("field.view_course", raise_exception=True)
def course_detail(request, pk: int):
    course = _course(request, pk)
    trainees = selectors.trainees_of(course=course)
    enrolled = {t.staff_id for t in trainees}
    low, high = course.division.code_range
    candidates = [
        s
        for s in selectors.staff_visible(user=request.user).filter(
            site__division__code__gte=low, site__division__code__lte=high
        )
        if s.pk not in enrolled
    ][:300]
    ctx = {
        "course": course,
        "trainees": trainees,
        "classes": list(course.sessions.all()),
        "candidates": candidates,
        "may_run": _may_run(request.user, course),
        "today": clock.today(),
    }
    return render(request, "field/course.html", ctx)


@login_required
@require_POST
@permission_required("field.change_course", raise_exception=True)
def course_enrol(request, pk: int):
    course = _course(request, pk)
    staff_id = form_values(EnrolForm(request.POST))["staff"]
    staff = selectors.staff_visible(user=request.user).filter(pk=staff_id).first() if staff_id else None
    try:
        if staff is None or not _may_run(request.user, course):
            raise VaxOpsError(_("请选择辖区内的工作人员"), code=FieldErrorCode.TRAINEE_OUT_OF_SCOPE)
        services.trainee_enrol(actor=request.user, course=course, staff=staff)
    except VaxOpsError as e:
        message_error(request, e)
    else:
        messages.success(request, _("%(name)s已报名") % {"name": staff.name})
    return redirect("field:course", course.pk)


@login_required
@require_POST
@permission_required("field.change_course", raise_exception=True)
def course_class(request, pk: int):
    course = _course(request, pk)
    values = form_values(ClassForm(request.POST))
    try:
        if not _may_run(request.user, course):
            raise VaxOpsError(_("您无权管理本课程"), code=FieldErrorCode.COURSE_OUT_OF_SCOPE)
        if values["day"] is None:
            raise VaxOpsError(_("请填写培训日期"), code=FieldErrorCode.COURSE_INVALID)
        services.class_record(
            actor=request.user,
            course=course,
            day=values["day"],
            place=values["place"] or "",
            topics=request.POST.getlist("topics"),
            present=[int(x) for x in request.POST.getlist("present") if x.isdigit()],
        )
    except VaxOpsError as e:
        message_error(request, e)
    else:
        messages.success(request, _("已记录培训课与出勤"))
    return redirect("field:course", course.pk)


@login_required
@require_POST
@permission_required("field.change_course", raise_exception=True)
def course_exam(request, pk: int):
    course = _course(request, pk)
    values = form_values(ExamForm(request.POST))
    trainee = selectors.trainee_of(course=course, pk=values["trainee"] or 0)
    try:
        if trainee is None or not _may_run(request.user, course):
            raise VaxOpsError(_("请选择本课程的学员"), code=FieldErrorCode.TRAINEE_OUT_OF_SCOPE)
        t = services.exam_record(actor=request.user, trainee=trainee, score=values["score"] or "")
    except VaxOpsError as e:
        message_error(request, e)
    else:
        if t.certificate:
            messages.success(
                request,
                _("%(name)s考核合格，已发培训合格证%(number)s，可立即排班")
                % {"name": t.staff.name, "number": t.certificate.number},
            )
        else:
            messages.warning(request, _("%(name)s考核不合格") % {"name": t.staff.name})
    return redirect("field:course", course.pk)


# --------------------------------------------------------------------------------------------------
# Mobile teams (流动接种队) and temporary sites
# --------------------------------------------------------------------------------------------------


@login_required
@permission_required("sites.view_site", raise_exception=True)
def mobile(request):
    user = request.user
    teams = selectors.teams_visible(user=user)
    sessions = selectors.team_sessions_upcoming(teams=teams)
    ctx = {
        "teams": teams,
        "sessions": sessions,
        "villages": villages_visible(user=user),
        "employers": employers_in_scope(user=user),
        "venue_kinds": [(k, v) for k, v in VenueKind.choices if k != VenueKind.SITE],
        "tomorrow": clock.today() + dt.timedelta(days=1),
        "may_plan": user.has_perm("sites.add_session"),
    }
    return render(request, "field/mobile.html", ctx)


@login_required
@require_POST
@permission_required("sites.add_session", raise_exception=True)
def mobile_plan(request, code: str):
    site = get_object_or_404(Site, code=code)
    if not site_in_scope(request.user, site):
        message_error(request, _("该接种单位不在您的辖区内"))
        return redirect("field:mobile")
    values = form_values(MobilePlanForm(request.POST))
    village = next((v for v in villages_visible(user=request.user) if v.code == values["village"]), None)
    employer = next((e for e in employers_in_scope(user=request.user) if e.pk == values["employer"]), None)
    if values["day"] is None:
        message_error(request, _("请填写场次日期"))
        return redirect("field:mobile")
    try:
        session = site_services.session_plan(
            actor=request.user,
            site=site,
            day=values["day"],
            venue={
                "venue_kind": values["venue_kind"] or "",
                "venue_village": village,
                "venue_employer": employer,
                "venue_address": values["address"] or "",
            },
        )
    except VaxOpsError as e:
        message_error(request, e)
        return redirect("field:mobile")
    messages.success(request, _("已安排%(venue)s的流动接种场次") % {"venue": session.venue_label})
    return redirect("sites:session", session.pk)


@login_required
@permission_required("field.view_teamtrip", raise_exception=True)
def session_stock(request, pk: int):
    session = selectors.session_with_place(pk=pk)
    if session is None:
        raise Http404
    if not site_in_scope(request.user, session.site):
        message_error(request, _("该接种单位不在您的辖区内"))
        return redirect("field:mobile")
    trips = selectors.trips_of(session=session)
    place = session.site.stock_place
    ctx = {
        "session": session,
        "trips": [{"trip": t, "left": services.trip_remaining(t)} for t in trips],
        "boxes": selectors.cold_boxes_at(place=place),
        "products": selectors.products_listed(),
        "may_move": request.user.has_perm("field.add_teamtrip"),
    }
    return render(request, "field/stock.html", ctx)


@login_required
@require_POST
@permission_required("field.add_teamtrip", raise_exception=True)
def session_stock_out(request, pk: int):
    session = selectors.session_with_place(pk=pk)
    if session is None:
        raise Http404
    values = form_values(StockOutForm(request.POST))
    product = selectors.product_get(code=values["product"] or "")
    place = session.site.stock_place
    box = selectors.cold_box_at(place=place, pk=values["cold_box"] or 0)
    try:
        if not site_in_scope(request.user, session.site):
            raise VaxOpsError(_("该接种单位不在您的辖区内"), code=FieldErrorCode.TEAM_NOT_MOBILE)
        if product is None or box is None or not values["doses"]:
            raise VaxOpsError(_("请选择疫苗、冷藏箱并填写剂数"), code=FieldErrorCode.TEAM_NO_PLACE)
        trip = services.team_stock_out(
            actor=request.user, session=session, product=product, doses=values["doses"], cold_box=box
        )
    except VaxOpsError as e:
        message_error(request, e)
    else:
        messages.success(
            request, _("已出库%(n)s剂（调拨单%(number)s）") % {"n": trip.out.doses, "number": trip.out.number}
        )
    return redirect("field:session-stock", session.pk)


@login_required
@require_POST
@permission_required("field.add_teamtrip", raise_exception=True)
def session_stock_back(request, pk: int, trip: int):
    t = selectors.trip_get(session_id=pk, pk=trip)
    if t is None:
        raise Http404
    try:
        if not site_in_scope(request.user, t.session.site):
            raise VaxOpsError(_("该接种单位不在您的辖区内"), code=FieldErrorCode.TEAM_NOT_MOBILE)
        t = services.team_stock_back(actor=request.user, trip=t)
    except VaxOpsError as e:
        message_error(request, e)
    else:
        messages.success(
            request, _("已带回%(n)s剂（调拨单%(number)s）") % {"n": t.back.doses, "number": t.back.number}
        )
    return redirect("field:session-stock", pk)


# --------------------------------------------------------------------------------------------------
# The grid (网格化): lists handed to group heads, follow-ups on a phone
# --------------------------------------------------------------------------------------------------


@login_required
@permission_required("field.view_followuplist", raise_exception=True)
def grid(request):
    user = request.user
    may_assign = user.has_perm("field.add_followuplist")
    ctx = {
        "lists": selectors.followup_lists_visible(user=user)[:100],
        "may_assign": may_assign,
        "groups": selectors.groups_visible(user=user).filter(head__isnull=False)[:300] if may_assign else [],
        "categories": [(c.value, CATEGORY_LABELS[c]) for c in LIST_CATEGORIES],
        "days": selectors.FOLLOWUP_DAYS,
    }
    return render(request, "field/grid.html", ctx)


@login_required
@require_POST
@permission_required("field.add_followuplist", raise_exception=True)
def grid_assign(request):
    group = (
        selectors.groups_visible(user=request.user)
        .filter(pk=form_values(GroupForm(request.POST))["group"] or 0)
        .first()
    )
    try:
        if group is None:
            raise VaxOpsError(
                _("请选择辖区内的村民小组（楼栋、单元）"), code=FieldErrorCode.FOLLOWUP_OUT_OF_SCOPE
            )
        fl = services.followup_list_assign(
            actor=request.user, group=group, category=request.POST.get("category", "")
        )
    except VaxOpsError as e:
        message_error(request, e)
        return redirect("field:grid")
    messages.success(
        request, _("已下发：%(title)s（%(n)s人）") % {"title": fl.title, "n": fl.entries.count()}
    )
    return redirect("field:grid-list", fl.pk)


def _days(request) -> int:
    raw = request.GET.get("days", "")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 365 else selectors.FOLLOWUP_DAYS


@login_required
@permission_required("field.view_followuplist", raise_exception=True)
def grid_list(request, pk: int):
    fl = selectors.followup_list_get(user=request.user, pk=pk)
    if fl is None:
        from django.http import Http404

        raise Http404
    days = _days(request)
    ctx = {
        "fl": fl,
        "rows": selectors.entries_of(followup_list=fl, days=days),
        "days": days,
        "contacts": Contact.choices,
        "attitudes": Attitude.choices,
        "may_record": request.user.has_perm("field.add_followup"),
    }
    return render(request, "field/grid_list.html", ctx)


@login_required
@require_POST
@permission_required("field.add_followup", raise_exception=True)
def grid_record(request, pk: int, entry: int):
    fl = selectors.followup_list_get(user=request.user, pk=pk)
    e = selectors.entry_of(followup_list=fl, pk=entry)
    if e is None:
        message_error(request, _("该居民不在您的随访名单中"))
        return redirect("field:grid")
    try:
        services.followup_record(
            actor=request.user,
            entry=e,
            contact=request.POST.get("contact", ""),
            attitude=request.POST.get("attitude", ""),
            reason=request.POST.get("reason", ""),
            booked=request.POST.get("booked") == "1",
        )
    except VaxOpsError as err:
        message_error(request, err)
    else:
        messages.success(request, _("已记录%(name)s的随访") % {"name": mask_name(e.resident.name)})
    return redirect(f"{reverse('field:grid-list', args=[fl.pk])}#entry-{e.pk}")


@login_required
@permission_required("field.view_followuplist", raise_exception=True)
def grid_overdue(request):
    days = _days(request)
    return render(
        request,
        "field/grid_overdue.html",
        {"rows": selectors.not_followed_up(user=request.user, days=days), "days": days},
    )


# --------------------------------------------------------------------------------------------------
# The notice on the wall (接种注意事项)
# --------------------------------------------------------------------------------------------------


def _notice_site(request, code: str):
    site = selectors.site_by_code(code=code)
    if site is None:
        raise Http404
    return site


@login_required
@permission_required("sites.view_site", raise_exception=True)
def notice(request, code: str):
    site = _notice_site(request, code)
    facts = notice_facts(site=site, on=clock.today())
    url = request.build_absolute_uri(facts["booking_path"])
    size = "A3" if request.GET.get("size") == "A3" else "A4"
    return render(request, "field/notice.html", {**facts, "url": url, "qr": qr_svg(url), "size": size})


@login_required
@permission_required("sites.view_site", raise_exception=True)
def notice_pdf_view(request, code: str):
    site = _notice_site(request, code)
    facts = notice_facts(site=site, on=clock.today())
    url = request.build_absolute_uri(facts["booking_path"])
    size = "A3" if request.GET.get("size") == "A3" else "A4"
    try:
        pdf = notice_pdf(facts, url=url, size=size)
    except VaxOpsError as e:
        from vaxops.core.pages import error_page

        return error_page(request, e)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="notice-{site.code}-{size}.pdf"'
    return response
