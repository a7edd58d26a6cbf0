"""The pages of sites (接种点): the list, one site with its upcoming sessions, session planning and places
reserved for villages or employers, and a session's day sheet ("四有" readiness, staff at the desks,
opening, slots and the appointments to check in).

They live in booking, above sites, because they show and change a session's slots and appointments (the
paths stay under ``/sites/`` and the route names in the ``sites`` namespace: ``booking/site_urls.py``).
Reads go through ``booking.selectors``; writes through ``sites.services`` and ``booking.services``. Sites are
public information, but acting on one (planning, reserving, confirming, assigning, opening, checking in) needs
the permission and the site inside the user's jurisdiction. A refusal is shown in the page with its Chinese
message; every POST redirects (PRG).
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vaxops.booking import selectors as booking_selectors
from vaxops.booking import services as booking_services
from vaxops.core import clock
from vaxops.core.errors import VaxOpsError
from vaxops.core.forms import form_values
from vaxops.core.pages import error_page, message_error
from vaxops.registry.domain import mask_id, mask_name
from vaxops.registry.selectors import employers_in_scope, villages_visible
from vaxops.sites import selectors, services
from vaxops.sites.errors import SitesErrorCode
from vaxops.sites.forms import AssignForm, CheckInForm, PlanForm, ReserveForm, SlotFilterForm
from vaxops.sites.models import (
    ReadinessItem,
    Session,
    SessionStatus,
    Site,
    StaffRole,
)
from vaxops.sites.selectors import site_in_scope

UPCOMING_DAYS = 28


# --------------------------------------------------------------------------------------------------
# Scope
# --------------------------------------------------------------------------------------------------


def _may(user, perm: str, site: Site) -> bool:
    return user.has_perm(perm) and site_in_scope(user, site)


# --------------------------------------------------------------------------------------------------
# Sites
# --------------------------------------------------------------------------------------------------


@login_required
@permission_required("sites.view_site", raise_exception=True)
def site_list(request):
    today = clock.today()
    sites = selectors.sites_listed(on=today, include_inactive=request.user.has_perm("sites.change_site"))
    rows = [{"s": s, "mine": site_in_scope(request.user, s)} for s in sites]
    return render(request, "sites/site_list.html", {"rows": rows})


def _session_rows(sessions) -> list[dict]:
    out = []
    for s in sessions:
        rows = booking_selectors.slot_rows(s.slots.all())
        out.append(
            {
                "session": s,
                "rows": rows,
                "capacity": sum(r["capacity"] for r in rows),
                "remaining": sum(r["remaining"] for r in rows),
                "open_remaining": sum(r["open_remaining"] for r in rows),
            }
        )
    return out


def _reserve_targets(user):
    """Villages and employers the user may reserve places for (their jurisdiction's)."""
    return list(villages_visible(user=user)), list(employers_in_scope(user=user))


@login_required
@permission_required("sites.view_site", raise_exception=True)
def site_detail(request, code: str):
    site = get_object_or_404(selectors.sites_with_division(), code=code)
    user = request.user
    sessions = list(booking_selectors.sessions_upcoming(site=site, days=UPCOMING_DAYS))
    may_plan = _may(user, "sites.add_session", site)
    may_reserve = _may(user, "booking.add_slotquota", site)
    villages, employers = _reserve_targets(user) if may_reserve else ([], [])
    weekdays = [_("星期一"), _("星期二"), _("星期三"), _("星期四"), _("星期五"), _("星期六"), _("星期日")]
    hours = [{"weekday": weekdays[h.weekday], "start": h.start, "end": h.end} for h in site.hours.all()]
    ctx = {
        "site": site,
        "desks": site.desks.all(),
        "hours": hours,
        "exceptions": site.exceptions.filter(day__gte=clock.today()),
        "sessions": _session_rows(sessions),
        "may_plan": may_plan,
        "may_reserve": may_reserve,
        "villages": villages,
        "employers": employers,
        "today": clock.today(),
        "tomorrow": clock.today() + dt.timedelta(days=1),
        "vaccination_desks": site.desks.filter(kind="vaccination").count(),
    }
    return render(request, "sites/site_detail.html", ctx)


@login_required
@require_POST
@permission_required("sites.view_site", raise_exception=True)
def site_plan(request, code: str):
    site = get_object_or_404(selectors.sites_with_division(), code=code)
    if not _may(request.user, "sites.add_session", site):
        message_error(request, _("您的角色无权为该接种单位安排场次"))
        return redirect("sites:site", site.code)
    values = form_values(PlanForm(request.POST))
    day, desks = values["day"], values["desks"]
    if day is None:
        message_error(request, _("请填写场次日期"))
        return redirect("sites:site", site.code)
    try:
        session = services.session_plan(actor=request.user, site=site, day=day, desks=desks)
    except VaxOpsError as e:
        message_error(request, e)
        return redirect("sites:site", site.code)
    messages.success(
        request,
        _("已安排%(day)s的场次（%(n)s个时段）")
        % {"day": f"{session.day:%Y-%m-%d}", "n": session.slots.count()},
    )
    return redirect("sites:session", session.pk)


@login_required
@require_POST
@permission_required("sites.view_site", raise_exception=True)
def site_reserve(request, code: str):
    site = get_object_or_404(selectors.sites_with_division(), code=code)
    user = request.user
    if not _may(user, "booking.add_slotquota", site):
        message_error(request, _("您的角色无权为该接种单位预留名额"))
        return redirect("sites:site", site.code)
    values = form_values(ReserveForm(request.POST))
    session = selectors.session_of_site(site=site, session_id=values["session"])
    places = values["places"]
    target = values["target"] or ""
    villages, employers = _reserve_targets(user)
    key = label = ""
    if target.startswith("V:"):
        village = next((v for v in villages if v.code == target[2:]), None)
        if village is not None:
            key, label = f"V:{village.code}", village.name
    elif target.startswith("E:"):
        employer = next((e for e in employers if str(e.pk) == target[2:]), None)
        if employer is not None:
            key, label = f"E:{employer.pk}", employer.name
    try:
        if session is None:
            raise VaxOpsError(_("请选择场次"), code=SitesErrorCode.SESSION_REQUIRED)
        if not key:
            raise VaxOpsError(_("请选择您辖区内的村（社区）或单位"), code=SitesErrorCode.QUOTA_KEY_INVALID)
        if places is None:
            raise VaxOpsError(_("请填写预留名额"), code=SitesErrorCode.QUOTA_PLACES_INVALID)
        booking_services.session_reserve(actor=user, session=session, key=key, label=label, places=places)
    except VaxOpsError as e:
        message_error(request, e)
        return redirect("sites:site", site.code)
    messages.success(
        request,
        _("已为%(label)s预留%(day)s场次名额%(n)s个")
        % {"label": label, "day": f"{session.day:%Y-%m-%d}", "n": places},
    )
    return redirect("sites:site", site.code)


# --------------------------------------------------------------------------------------------------
# A session's day sheet
# --------------------------------------------------------------------------------------------------


def _session(pk: int) -> Session:
    return get_object_or_404(selectors.sessions_with_site(), pk=pk)


@login_required
def session_detail(request, pk: int):
    try:
        session = selectors.session_get(user=request.user, session_id=pk)
    except VaxOpsError as e:
        return error_page(request, e)
    site = session.site
    user = request.user
    in_scope = site_in_scope(user, site)
    live = session.status != SessionStatus.CLOSED
    checks = {c.item: c for c in session.readiness.select_related("confirmed_by")}
    readiness = [
        {"item": value, "label": label, "check": checks.get(value)} for value, label in ReadinessItem.choices
    ]
    assignments = session.assignments.select_related("staff", "desk").order_by("desk__kind", "desk__number")
    slots = list(session.slots.prefetch_related("quotas").order_by("start"))
    rows = booking_selectors.slot_rows(slots)
    for slot, row in zip(slots, rows, strict=True):
        row["booked"] = slot.open_booked + sum(q.booked for q in slot.quotas.all()) + slot.walk_in_used
    may_open, why_not = (False, "")
    if session.status == SessionStatus.PLANNED:
        may_open, why_not = services.session_open_check(session)
    show_appointments = in_scope and user.has_perm("booking.view_appointment")
    appointments = []
    if show_appointments:
        found = booking_selectors.session_appointments(
            session=session, slot_id=form_values(SlotFilterForm(request.GET))["slot"]
        )
        appointments = [
            {"a": a, "name": mask_name(a.resident.name), "masked_id": mask_id(a.resident.id_number)}
            for a in found
        ]
    today = clock.today()
    ctx = {
        "session": session,
        "site": site,
        "readiness": readiness,
        "assignments": assignments,
        "slots": rows,
        "may_open": may_open,
        "why_not": why_not,
        "appointments": appointments,
        "show_appointments": show_appointments,
        "may_confirm": live and _may(user, "sites.add_readinesscheck", site),
        "may_assign": live and _may(user, "sites.add_assignment", site),
        "may_change": _may(user, "sites.change_session", site),
        "may_check_in": (
            show_appointments
            and user.has_perm("booking.change_appointment")
            and session.day == today
            and live
        ),
        "staff": selectors.staff_at_site(site=site),
        "desks": selectors.desks_at_site(site=site),
        "roles": StaffRole.choices,
        "totals": {
            "capacity": sum(r["capacity"] for r in rows),
            "booked": sum(r["booked"] for r in rows),
            "remaining": sum(r["remaining"] for r in rows),
        },
    }
    return render(request, "sites/session_detail.html", ctx)


@login_required
@require_POST
@permission_required("sites.view_session", raise_exception=True)
def session_readiness(request, pk: int):
    session = _session(pk)
    item = request.POST.get("item", "")
    if not _may(request.user, "sites.add_readinesscheck", session.site):
        message_error(request, _("您的角色无权确认开诊准备"))
        return redirect("sites:session", session.pk)
    try:
        services.readiness_confirm(
            actor=request.user, session=session, item=item, note=request.POST.get("note", "").strip()
        )
    except VaxOpsError as e:
        message_error(request, e)
    else:
        messages.success(request, _("已确认：%(item)s") % {"item": ReadinessItem(item).label})
    return redirect("sites:session", session.pk)


@login_required
@require_POST
@permission_required("sites.view_session", raise_exception=True)
def session_assign(request, pk: int):
    session = _session(pk)
    site = session.site
    if not _may(request.user, "sites.add_assignment", site):
        message_error(request, _("您的角色无权安排工作人员"))
        return redirect("sites:session", session.pk)
    values = form_values(AssignForm(request.POST))
    staff = selectors.staff_member_get(staff_id=values["staff"], site=site)
    desk = selectors.desk_get(desk_id=values["desk"], site=site)
    role = request.POST.get("role", "")
    try:
        if staff is None or desk is None or role not in StaffRole.values:
            raise VaxOpsError(_("请选择工作人员、工作台和岗位"), code=SitesErrorCode.ASSIGNMENT_INCOMPLETE)
        a = services.assignment_add(actor=request.user, session=session, staff=staff, desk=desk, role=role)
    except VaxOpsError as e:
        message_error(request, e)
    else:
        messages.success(
            request, _("已安排%(staff)s到%(desk)s") % {"staff": a.staff.name, "desk": str(a.desk)}
        )
    return redirect("sites:session", session.pk)


@login_required
@require_POST
@permission_required("sites.view_session", raise_exception=True)
def session_open(request, pk: int):
    session = _session(pk)
    if not _may(request.user, "sites.change_session", session.site):
        message_error(request, _("您的角色无权开诊"))
        return redirect("sites:session", session.pk)
    try:
        services.session_open(actor=request.user, session=session)
    except VaxOpsError as e:
        message_error(request, e)
    else:
        messages.success(request, _("场次已开诊"))
    return redirect("sites:session", session.pk)


@login_required
@require_POST
@permission_required("sites.view_session", raise_exception=True)
def session_close(request, pk: int):
    session = _session(pk)
    if not _may(request.user, "sites.change_session", session.site):
        message_error(request, _("您的角色无权结束场次"))
        return redirect("sites:session", session.pk)
    try:
        services.session_close(actor=request.user, session=session)
    except VaxOpsError as e:
        message_error(request, e)
    else:
        messages.success(request, _("场次已结束"))
    return redirect("sites:session", session.pk)


@login_required
@require_POST
@permission_required("sites.view_session", raise_exception=True)
def session_check_in(request, pk: int):
    session = _session(pk)
    user = request.user
    appointment = booking_selectors.session_appointment(
        session=session, appointment_id=form_values(CheckInForm(request.POST))["appointment"]
    )
    if not (
        _may(user, "booking.change_appointment", session.site) and user.has_perm("booking.view_appointment")
    ):
        message_error(request, _("您的角色无权签到"))
    elif appointment is None:
        message_error(request, _("预约不存在"))
    else:
        try:
            booking_services.appointment_check_in(actor=user, appointment=appointment)
        except VaxOpsError as e:
            message_error(request, e)
        else:
            messages.success(request, _("%(name)s已签到") % {"name": mask_name(appointment.resident.name)})
    return redirect("sites:session", session.pk)
