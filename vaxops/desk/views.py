"""The vaccination desk on a tablet (接种台): 登记 (check-in), 预检 (screening) with 知情同意 (consent), 接种
(the vaccinator's scan, read-aloud card and confirmation), 留观 (observation), and the printable record
(预防接种凭证) — for staff, and the person's own private page behind a signed link.

Every write goes through ``clinic.services`` / ``booking.services``; this module only decides who may
open which page and shows the services' Chinese refusals in the page. A desk page belongs to one session
of one site: the site's staff (their ``StaffMember.site``) and the county CDC may open it, anyone else
gets 403. Each screen then needs the permission of its role (registration, screening, vaccination,
observation), from the user's role group.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from vaxops.booking import services as booking_services
from vaxops.booking.models import Appointment, AppointmentStatus
from vaxops.booking.selfservice import appointment_from_qr, appointment_qr_text
from vaxops.catalog.selectors import catalogue_current, question_set_on
from vaxops.certs import document as certs_document
from vaxops.certs import services as certs_services
from vaxops.clinic import selectors
from vaxops.clinic import services as clinic_services
from vaxops.clinic.forms import ScreeningForm
from vaxops.clinic.models import Dose, Observation, ReactionNote
from vaxops.core import clock
from vaxops.core.errors import NotFound, PermissionDenied, ValidationFailed, VaxOpsError
from vaxops.core.pages import message_error
from vaxops.core.ratelimit import throttle
from vaxops.registry.domain import mask_id, mask_name
from vaxops.registry.models import Resident
from vaxops.registry.selectors import residents_visible
from vaxops.safety import selectors as safety_selectors
from vaxops.safety import services as safety_services
from vaxops.sites.models import Assignment, Session, Site, StaffMember
from vaxops.sites.selectors import site_workable, staff_member
from vaxops.supply import selectors as supply_selectors

from . import domain as desk
from . import selectors as desk_selectors
from . import services as desk_services
from .errors import DeskError
from .forms import shown

log = logging.getLogger(__name__)

CHECKIN_KEY = "desk_checkin"
WALK_IN_SALT = "vaxops.desk.walk-in"
WALK_IN_MAX_AGE = 15 * 60
EARLY_SALT = "vaxops.desk.early-check-in"
SIGNER_RELATIONS = ("本人", "监护人")
SCREEN_OF_DESK = {
    "registration": "checkin",
    "screening": "screening",
    "vaccination": "vaccinate",
    "observation": "observation",
}

# The permission (any of) each screen needs, besides access to the site.
SCREEN_PERMS = {
    "checkin": ("booking.change_appointment",),
    "screening": ("clinic.view_screeningrecord", "clinic.add_screeningrecord"),
    "consent": ("clinic.add_consent",),
    "vaccinate": ("clinic.administer_dose",),
    "observation": ("clinic.view_observation",),
}


# --------------------------------------------------------------------------------------------------
# Who may use a desk
# --------------------------------------------------------------------------------------------------


def _staff(user) -> StaffMember | None:
    return staff_member(user)


def _county(user) -> bool:
    """The county CDC (not bound to a site): holds the desk's county-level permissions."""
    return user.has_perm("clinic.administer_dose") or user.has_perm("clinic.void_dose")


def may_use_site(user, site: Site) -> bool:
    """Site staff use their own site's desks only; the county CDC uses any site in its jurisdiction."""
    staff = _staff(user)
    return (staff is not None or _county(user)) and site_workable(user, site, staff=staff)


def _may_screen(user, key: str) -> bool:
    return any(user.has_perm(p) for p in SCREEN_PERMS[key])


def _forbidden(request, message: str):
    return render(request, "error.html", {"message": message}, status=403)


def _desk_page(screen: str | None = None):
    """Load the session named in the URL, check the user may use its site (and the screen), and turn a
    service's refusal that escaped the view into a page instead of a 500."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, session_id: int, *args, **kwargs):
            session = desk_selectors.session_for_page(session_id)
            if session is None:
                raise Http404("no such session")
            if not may_use_site(request.user, session.site):
                return _forbidden(request, _("您无权使用该接种单位的接种台"))
            if screen is not None and not _may_screen(request.user, screen):
                return _forbidden(request, _("您的岗位无权使用此工作台"))
            try:
                return view(request, session, *args, **kwargs)
            except PermissionDenied as e:
                return _forbidden(request, e.message)
            except NotFound as e:
                return render(request, "error.html", {"message": e.message}, status=404)
            except VaxOpsError as e:
                return render(request, "error.html", {"message": e.message}, status=400)

        return login_required(wrapper)

    return decorate


def _screens(user, session: Session, *, mine: str | None = None) -> list[dict]:
    labels = {"checkin": _("登记"), "screening": _("预检"), "vaccinate": _("接种"), "observation": _("留观")}
    names = {
        "checkin": "desk:checkin",
        "screening": "desk:screening",
        "vaccinate": "desk:vaccinate",
        "observation": "desk:observation",
    }
    return [
        {"key": key, "label": labels[key], "url": reverse(names[key], args=[session.pk]), "mine": key == mine}
        for key in labels
        if _may_screen(user, key)
    ]


def _assignment(user, session: Session) -> Assignment | None:
    return desk_selectors.assignment_of(_staff(user), session)


def sees_full_names(user, session: Session) -> bool:
    """The one rule for names at the desk: the staff assigned to a desk of this session see people's full
    names, since they call them; everyone else (the county CDC at a desk, staff not on today's roster, any
    page outside the desk) sees them masked. ID numbers stay masked for everyone."""
    return _assignment(user, session) is not None


def desk_name(name: str, *, full: bool) -> str:
    return name if full else mask_name(name)


def _context(request, session: Session, tab: str, **extra) -> dict:
    assignment = _assignment(request.user, session)
    full = assignment is not None  # sees_full_names, without asking twice
    for key in ("people", "person", "shown"):
        rows = extra.get(key)
        for row in rows if isinstance(rows, list) else [rows] if isinstance(rows, dict) else []:
            if "r" in row:
                row["name"] = desk_name(row["r"].name, full=full)
    today = clock.today()
    ctx = {
        "session": session,
        "site": session.site,
        "tab": tab,
        "today": today,
        "assignment": assignment,
        "not_today": session.day != today,
        "full_names": full,
        "tabs": _screens(
            request.user,
            session,
            mine=SCREEN_OF_DESK.get(assignment.desk.kind) if assignment and assignment.desk else None,
        ),
    }
    ctx.update(extra)
    return ctx


# --------------------------------------------------------------------------------------------------
# People at the desk today
# --------------------------------------------------------------------------------------------------


def _checked_in_here(session: Session, resident_id: int | None) -> Appointment | None:
    """The person's appointment in this session, when they are checked in (waiting for their dose)."""
    return desk_selectors.checked_in_here(session, resident_id)


def _find_and_show(request, session: Session, base: str):
    """The "find" step of a desk screen: the scanned person's page at ``base``, or back with the reason."""
    try:
        appointment = _find_checked_in(request, session, request.POST.get("scan", ""))
    except ValidationFailed as e:
        messages.error(request, e.message)
        return redirect(base)
    return redirect(f"{base}?resident={appointment.resident_id}")


def _resident_param(request) -> int | None:
    """The person a desk screen is showing (posted back with a form, or in the address)."""
    return shown(request.POST if request.method == "POST" else request.GET, "resident")


def _find_checked_in(request, session: Session, scan: str) -> Appointment:
    """The checked-in person named by a scanned ID card number or appointment QR (for the screening and
    vaccination desks: only people already checked in here are found)."""
    scan = (scan or "").strip()
    if not scan:
        raise ValidationFailed(_("请扫描身份证或预约二维码"), field="scan", code=DeskError.SCAN_EMPTY)
    if scan.upper().startswith("VXA:"):
        appointment = appointment_from_qr(scan)
        if appointment is None:
            raise ValidationFailed(_("预约二维码无效或已过期"), field="scan", code=DeskError.QR_INVALID)
        resident_id = appointment.resident_id
    else:
        found = desk_services.desk_find(
            actor=request.user, session=session, scan=scan, purpose="接种台核对身份"
        )
        resident_id = found.pk if found is not None else None
    appointment = _checked_in_here(session, resident_id)
    if appointment is None:
        raise ValidationFailed(
            _("该受种者今天尚未在本接种单位登记签到，请先到登记台"),
            field="scan",
            code=DeskError.NOT_CHECKED_IN,
        )
    return appointment


def _progress(resident_ids: list[int], today: dt.date) -> dict[int, dict]:
    """Each person's steps today: the latest screening, the latest consent and whether a dose was given."""
    return desk_selectors.progress_on(resident_ids, today)


def _people(session: Session, statuses) -> list[dict]:
    appointments = desk_selectors.appointments_in(session, statuses)
    steps = _progress([a.resident_id for a in appointments], clock.today())
    return [
        {
            "a": a,
            "r": a.resident,
            "name": mask_name(a.resident.name),
            "masked_id": mask_id(a.resident.id_number),
            **steps[a.resident_id],
        }
        for a in appointments
    ]


def _forecast_summary(resident: Resident) -> dict:
    """What the registration and screening desks show of the person's schedule today."""
    try:
        forecast = selectors.forecast_for(resident=resident, on=clock.today())
    except VaxOpsError as e:
        return {"error": e.message}
    nd = forecast.next_dose
    return {
        "status": forecast.status_zh,
        "reasons": list(forecast.reasons),
        "next": None if nd is None else ("加强针" if nd.is_booster else f"第{nd.number}剂"),
        "earliest": nd.earliest if nd else None,
        "allowed": list(nd.allowed_products) if nd else [],
        "due_now": bool(nd and nd.earliest <= clock.today()),
        "deferred_until": forecast.deferred_until,
        "deferred_condition": forecast.deferred_condition,
    }


def _person(resident: Resident, *, full: bool = False) -> dict:
    return {
        "r": resident,
        "name": desk_name(resident.name, full=full),
        "masked_id": mask_id(resident.id_number),
        "forecast": _forecast_summary(resident),
        "deferrals": selectors.standing_deferrals_of(resident=resident),
        "contraindications": selectors.standing_contraindications_of(resident=resident),
    }


# --------------------------------------------------------------------------------------------------
# /desk/ — pick a screen
# --------------------------------------------------------------------------------------------------


@login_required
def home(request):
    """Today's session at the user's site with its screens (the user's own desk first); the county CDC
    picks among today's sessions in its jurisdiction."""
    user = request.user
    staff = _staff(user)
    today = clock.today()
    if staff is not None:
        if not staff.active:
            return _forbidden(request, _("您已不在岗，不能使用接种台"))
        sessions = desk_selectors.sessions_on(today, site=staff.site)
    elif _county(user):
        sessions = [s for s in desk_selectors.sessions_on(today) if site_workable(user, s.site, staff=None)]
    else:
        return _forbidden(request, _("您的账号未登记为接种单位工作人员"))
    rows = []
    for s in sessions:
        assignment = _assignment(user, s)
        rows.append(
            {
                "session": s,
                "assignment": assignment,
                "screens": _screens(
                    user,
                    s,
                    mine=SCREEN_OF_DESK.get(assignment.desk.kind) if assignment and assignment.desk else None,
                ),
            }
        )
    return render(request, "desk/home.html", {"rows": rows, "staff": staff, "today": today})


# --------------------------------------------------------------------------------------------------
# 登记 — check-in
# --------------------------------------------------------------------------------------------------


@_desk_page("checkin")
def checkin(request, session: Session):
    """One scan box for the card reader / scanner (digits + Enter); the result of the last scan and the
    people checked in today. POST → ``desk_check_in``, then back here (PRG) with the result kept in the
    user's session."""
    if request.method == "POST":
        scan = request.POST.get("scan", "")
        confirmed = False
        if request.POST.get("early_ticket"):
            # "仍然签到" after the early warning: the scan comes back signed, never through the browser in clear.
            try:
                data = signing.loads(request.POST["early_ticket"], salt=EARLY_SALT, max_age=WALK_IN_MAX_AGE)
            except signing.BadSignature:
                data = None
            appointment = None
            if isinstance(data, dict) and data.get("s") == session.pk:
                a_id = data.get("a")
                appointment = desk_selectors.appointment_shown(
                    appointment_id=a_id if isinstance(a_id, int) else None
                )
            if appointment is not None:
                scan, confirmed = appointment_qr_text(appointment), True
        try:
            result = desk_services.desk_check_in(
                actor=request.user, session=session, scan=scan, early_confirmed=confirmed
            )
        except VaxOpsError as e:
            request.session[CHECKIN_KEY] = {"session": session.pk, "error": e.message}
        else:
            appointment, resident = result["appointment"], result["resident"]
            request.session[CHECKIN_KEY] = {
                "session": session.pk,
                "message": result["message"],
                "resident": resident.pk if resident else None,
                "appointment": appointment.pk if appointment else None,
                "early": (
                    signing.dumps({"s": session.pk, "a": appointment.pk}, salt=EARLY_SALT)
                    if result.get("early") and appointment is not None
                    else ""
                ),
            }
        return redirect("desk:checkin", session.pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    last = request.session.pop(CHECKIN_KEY, None)
    if not last or last.get("session") != session.pk:
        last = None
    shown = None
    if last and last.get("resident"):
        resident = desk_selectors.resident_by_id(resident_id=last["resident"])
        if resident is not None:
            shown = _person(resident)
            appointment = desk_selectors.appointment_shown(appointment_id=last.get("appointment"))
            shown["appointment"] = appointment
            if appointment is None and request.user.has_perm("booking.add_appointment"):
                shown["ticket"] = signing.dumps({"r": resident.pk, "s": session.pk}, salt=WALK_IN_SALT)
                # A walk-in registered long before the session opens: said on the button's card first.
                shown["early"] = desk_services.check_in_too_early(session, clock.now())
    ctx = _context(
        request,
        session,
        "checkin",
        last=last,
        shown=shown,
        people=_people(session, (AppointmentStatus.CHECKED_IN, AppointmentStatus.COMPLETED)),
    )
    return render(request, "desk/checkin.html", ctx, status=400 if last and last.get("error") else 200)


@_desk_page("checkin")
def walk_in(request, session: Session):
    """现场登记: the person just scanned (named by a signed ticket from the check-in page, so only someone
    whose card was read here can be registered) gets a walk-in place and is checked in."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm("booking.add_appointment"):
        return _forbidden(request, _("您的岗位无权进行现场登记"))
    try:
        data = signing.loads(request.POST.get("ticket", ""), salt=WALK_IN_SALT, max_age=WALK_IN_MAX_AGE)
    except signing.BadSignature:
        data = None
    resident = None
    if isinstance(data, dict) and data.get("s") == session.pk:
        resident = desk_selectors.resident_by_id(resident_id=shown(data, "r"))
    if resident is None:
        request.session[CHECKIN_KEY] = {
            "session": session.pk,
            "error": _("现场登记凭据无效或已过期，请重新扫描证件"),
        }
        return redirect("desk:checkin", session.pk)
    try:
        appointment = booking_services.walk_in_register(
            actor=request.user, resident=resident, session=session, now=clock.now()
        )
    except VaxOpsError as e:
        request.session[CHECKIN_KEY] = {"session": session.pk, "error": e.message, "resident": resident.pk}
    else:
        request.session[CHECKIN_KEY] = {
            "session": session.pk,
            "message": _("已现场登记并签到"),
            "resident": resident.pk,
            "appointment": appointment.pk,
        }
    return redirect("desk:checkin", session.pk)


# --------------------------------------------------------------------------------------------------
# 预检 — screening
# --------------------------------------------------------------------------------------------------


@_desk_page("screening")
def screening(request, session: Session):
    """The queue of checked-in people; for one of them (``?resident=``) the screening form of the question
    set in force, and after it the outcome with the screener."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    base = reverse("desk:screening", args=[session.pk])
    if request.method == "POST" and request.POST.get("action") == "find":
        return _find_and_show(request, session, base)
    resident_id = _resident_param(request)
    appointment = _checked_in_here(session, resident_id)
    ctx = _context(request, session, "screening", people=_people(session, (AppointmentStatus.CHECKED_IN,)))
    if resident_id is not None and appointment is None:
        raise Http404("not checked in here")
    status = 200
    if appointment is not None:
        resident = appointment.resident
        today = clock.today()
        try:
            question_set = question_set_on(today)
        except NotFound as e:
            return render(request, "error.html", {"message": e.message}, status=404)
        catalogue = catalogue_current()
        form = ScreeningForm(question_set=question_set, catalogue=catalogue, sex=resident.sex)
        if request.method == "POST":
            form = ScreeningForm(
                request.POST, question_set=question_set, catalogue=catalogue, sex=resident.sex
            )
            if form.is_valid():
                try:
                    record = clinic_services.screening_record(
                        actor=request.user,
                        resident_id=resident.pk,
                        answers=form.answers(),
                        temperature_c=form.cleaned_data["temperature_c"],
                        bp_systolic=form.cleaned_data["bp_systolic"],
                        bp_diastolic=form.cleaned_data["bp_diastolic"],
                        on=today,
                    )
                except PermissionDenied as e:
                    form.add_error(None, e.message)
                    status = 403
                except VaxOpsError as e:
                    field = f"q_{e.field}" if e.field and f"q_{e.field}" in form.fields else e.field
                    form.add_error(field if field in form.fields else None, e.message)
                else:
                    return redirect(f"{base}?resident={resident.pk}&record={record.pk}")
            if status == 200:
                status = 400
        record = desk_selectors.screening_shown(
            resident=resident, record_id=shown(request.GET, "record"), day=today
        )
        contra = None
        if record is not None and record.contraindicated_products:
            contra = (
                "全部品种"
                if record.contraindicated_products == "all"
                else "、".join(record.contraindicated_products)
            )
        ctx.update(
            appointment=appointment,
            person=_person(resident, full=ctx["full_names"]),
            form=form,
            question_set=question_set,
            record=record,
            record_contra=contra,
            may_record=request.user.has_perm("clinic.add_screeningrecord"),
            may_consent=request.user.has_perm("clinic.add_consent"),
            consent=desk_selectors.consent_latest_on(resident=resident, day=today),
        )
    return render(request, "desk/screening.html", ctx, status=status)


# --------------------------------------------------------------------------------------------------
# 知情同意 — consent
# --------------------------------------------------------------------------------------------------


def _consent_products(session: Session, resident: Resident, *, in_hand: str | None = None) -> list[str]:
    """The products the person may be given today that this site has in stock (those with a consent
    text); without stock, every product the schedule allows, so the text can still be read. ``in_hand`` is
    the product the vaccinator scanned: offered (first) when the site stocks it and it has a text, so the
    vaccinator's station can re-take consent for it."""
    forecast = _forecast_summary(resident)
    allowed = forecast.get("allowed") or []
    with_text = desk_selectors.consent_text_products(on=clock.today())
    stocked: list[str] = []
    if session.site.stock_place_id:
        stocked = supply_selectors.products_in_stock(place_id=session.site.stock_place_id)
    chosen = [c for c in stocked if c in with_text and (not allowed or c in allowed)]
    if not chosen:
        chosen = [c for c in allowed if c in with_text] or [c for c in stocked if c in with_text]
    if in_hand and in_hand in with_text and in_hand in stocked:
        chosen = [in_hand, *(c for c in chosen if c != in_hand)]
    return chosen


@_desk_page("consent")
def consent(request, session: Session, resident_id: int):
    """The product's consent text in force today, in full; a signature drawn on the tablet (a canvas whose
    PNG data URL is posted in a hidden field), the signer and relation — or a refusal with its reason."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    appointment = _checked_in_here(session, resident_id)
    if appointment is None:
        raise Http404("not checked in here")
    resident = appointment.resident
    data = request.POST if request.method == "POST" else request.GET
    product = data.get("product")
    # From the vaccinator's station: consent for the product in hand, then back to the scan.
    then_code = data.get("code", "").strip()[:40] if data.get("then") == "vaccinate" else ""
    products = _consent_products(session, resident, in_hand=product if then_code else None)
    if product not in products:
        product = products[0] if products else None
    today = clock.today()
    text = None
    if product:
        text = desk_selectors.consent_text_current(product_code=product, on=today)
    error = None
    status = 200
    values = {"signer_name": resident.name, "signer_relation": "本人", "refusal_reason": ""}
    if request.method == "POST":
        refused = request.POST.get("refused") == "1"
        values = {
            "signer_name": request.POST.get("signer_name", ""),
            "signer_relation": request.POST.get("signer_relation", "本人"),
            "refusal_reason": request.POST.get("refusal_reason", ""),
        }
        if values["signer_relation"] not in SIGNER_RELATIONS:
            values["signer_relation"] = "本人"
        try:
            if not product:
                raise ValidationFailed(
                    _("没有可签署的知情同意书"), field="product_code", code=DeskError.CONSENT_TEXT_MISSING
                )
            record = desk_services.consent_record(
                actor=request.user,
                resident_id=resident.pk,
                product_code=product,
                signer_name=values["signer_name"],
                signer_relation=values["signer_relation"],
                signature=request.POST.get("signature", "") if not refused else "",
                refused=refused,
                refusal_reason=values["refusal_reason"],
            )
        except VaxOpsError as e:
            error, status = e.message, 400
        else:
            if then_code and not refused:
                messages.success(request, _("已为所扫疫苗签署知情同意书，请继续接种"))
                url = reverse("desk:vaccinate", args=[session.pk])
                return redirect(f"{url}?{urlencode({'resident': resident.pk, 'code': then_code})}")
            url = reverse("desk:consent", args=[session.pk, resident.pk])
            return redirect(f"{url}?product={product}&done={record.pk}")
    done = None
    if (done_id := shown(request.GET, "done")) is not None:
        done = desk_selectors.consent_shown(resident=resident, consent_id=done_id)
    ctx = _context(
        request,
        session,
        "screening",
        appointment=appointment,
        person=_person(resident),
        products=products,
        product=product,
        text=text,
        error=error,
        values=values,
        relations=SIGNER_RELATIONS,
        done=done,
        then_code=then_code,
    )
    return render(request, "desk/consent.html", ctx, status=status)


# --------------------------------------------------------------------------------------------------
# 接种 — the vaccinator's screen
# --------------------------------------------------------------------------------------------------


def _card(confirmation: dict) -> list[dict]:
    """The read-aloud lines as (label, value) pairs, the injection site's marked so the page can update it."""
    rows = []
    for line in confirmation["lines"]:
        label, _sep, value = line.partition("：")
        rows.append({"label": label, "value": value, "site": label == "接种部位"})
    return rows


def _check(request, session: Session, resident: Resident, code: str, ctx: dict) -> dict | None:
    """Run ``dose_check`` and put its answer (or its refusal) into ``ctx``; the result when it ran."""
    try:
        result = desk_services.dose_check(actor=request.user, resident_id=resident.pk, code=code)
    except VaxOpsError as e:
        ctx["stops"] = [e.message]
        return None
    ctx["result"] = result
    if result["ok"]:
        ctx["card"] = _card(result["confirmation"])
    else:
        ctx["stops"] = [f["message"] for f in result["failures"]]
    return result


def _reconsent(request, session: Session, resident: Resident, code: str, result: dict | None) -> dict | None:
    """When the scan stops on consent (none today, or signed for another product) and the person has not
    refused: a link to re-take consent right here for the product in hand, coming back to this scan."""
    if not result or not request.user.has_perm("clinic.add_consent"):
        return None
    if not any(f["code"] == desk.CheckCode.CONSENT for f in result["failures"]):
        return None
    latest = desk_selectors.consent_latest_on(resident=resident, day=clock.today())
    if latest is not None and latest.refused:
        return None
    product = catalogue_current().product_for_trace_code(code.strip())
    if product is None:
        return None
    url = reverse("desk:consent", args=[session.pk, resident.pk])
    query = urlencode({"product": product.code, "then": "vaccinate", "code": code})
    return {"url": f"{url}?{query}", "name": product.short_zh}


@_desk_page("vaccinate")
def vaccinate(request, session: Session):
    """Choose the checked-in person (or scan their card), scan the vaccine's code (Enter submits) →
    ``dose_check``: every hard stop in a red box, or the card to read aloud with the injection site, the
    recipient's last four phone digits and "确认接种" (posting a request id made when the card was shown,
    so a double tap records one dose) → ``dose_administer`` → the success screen."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    base = reverse("desk:vaccinate", args=[session.pk])
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action == "find":
        return _find_and_show(request, session, base)
    resident_id = _resident_param(request)
    ctx = _context(
        request,
        session,
        "vaccinate",
        people=_people(session, (AppointmentStatus.CHECKED_IN,)),
        sites=desk.INJECTION_SITES,
        site_other=desk.INJECTION_SITE_OTHER,
    )
    appointment = _checked_in_here(session, resident_id)
    if resident_id is not None and appointment is None and action == "administer":
        # A second tap (or a resubmitted page) after the dose was recorded: the request id answers with it.
        try:
            dose = desk_services.dose_administer(
                actor=request.user,
                resident_id=resident_id,
                code=request.POST.get("code", ""),
                client_id=request.POST.get("client_id", ""),
                phone_last4=request.POST.get("phone_last4", ""),
                injection_site=request.POST.get("injection_site", ""),
                injection_note=request.POST.get("injection_note", ""),
            )
        except VaxOpsError as e:
            messages.error(request, e.message)
            return redirect(base)
        return redirect("desk:vaccinated", session.pk, dose.pk)
    if resident_id is not None and appointment is None:
        done = desk_selectors.dose_given_in(session=session, resident_id=resident_id)
        if done is not None:
            return redirect("desk:vaccinated", session.pk, done.pk)
        messages.error(request, _("该受种者今天尚未在本接种单位登记签到，请先到登记台"))
        return redirect(base)
    status = 200
    if appointment is not None:
        resident = appointment.resident
        steps = _progress([resident.pk], clock.today())[resident.pk]
        ctx.update(appointment=appointment, person=_person(resident, full=ctx["full_names"]), **steps)
        code = (request.POST if request.method == "POST" else request.GET).get("code", "").strip()
        ctx["code"] = code
        if action == "check" or (request.method == "GET" and code):
            # A GET with a code comes back from re-taking consent at this station: the scan is checked again.
            result = _check(request, session, resident, code, ctx)
            if result and result["ok"]:
                ctx["client_id"] = uuid.uuid4().hex
            else:
                status = 400 if action == "check" else 200
                ctx["reconsent"] = _reconsent(request, session, resident, code, result)
        elif action == "administer":
            client_id = request.POST.get("client_id", "").strip()
            site = request.POST.get("injection_site", "").strip()
            note = request.POST.get("injection_note", "").strip()
            ctx.update(client_id=client_id, chosen_site=site, injection_note=note)
            ok, why = desk.injection_site_valid(site, note=note)
            error = None if ok else why
            if error is None:
                try:
                    dose = desk_services.dose_administer(
                        actor=request.user,
                        resident_id=resident.pk,
                        code=code,
                        client_id=client_id,
                        phone_last4=request.POST.get("phone_last4", ""),
                        injection_site=site,
                        injection_note=note,
                    )
                except VaxOpsError as e:
                    error = e.message
                else:
                    _record_link_send(request, dose)
                    return redirect("desk:vaccinated", session.pk, dose.pk)
            status = 400
            _check(request, session, resident, code, ctx)
            ctx["error"] = error
            if not ctx["client_id"]:
                ctx["client_id"] = uuid.uuid4().hex
    return render(request, "desk/vaccinate.html", ctx, status=status)


def _record_link_send(request, dose: Dose) -> None:
    """Text the person the private link to their record; the dose stands even if queuing the message
    fails (a second call for the same dose queues nothing: the notification's reference is unique)."""
    try:
        clinic_services.record_link_send(
            actor=request.user, resident=dose.resident, base_url=request.build_absolute_uri("/"), dose=dose
        )
    except Exception:  # noqa: BLE001 - the dose is recorded; the message is a courtesy
        log.exception("record link for dose %s not queued", dose.pk)


@_desk_page("vaccinate")
def vaccinated(request, session: Session, dose_id: int):
    dose = desk_selectors.dose_at_site(dose_id=dose_id, site=session.site)
    if dose is None:
        raise Http404("no such dose at this site")
    observation = desk_selectors.observation_of_dose(dose=dose)
    ctx = _context(
        request,
        session,
        "vaccinate",
        dose=dose,
        name=dose.resident.name,
        masked_id=mask_id(dose.resident.id_number),
        observation=observation,
        observation_ends=desk.observation_ends(observation.started_at) if observation else None,
        phone=dose.resident.phone_masked,
    )
    # The certificate is signed now, so the record the desk prints and the link texted to the person both
    # carry its QR.
    ctx.update(_certificate(dose.resident, actor=request.user))
    return render(request, "desk/vaccinated.html", ctx)


# --------------------------------------------------------------------------------------------------
# 留观 — observation
# --------------------------------------------------------------------------------------------------


def _observations(site: Site, *, full: bool = False) -> list[dict]:
    """Everyone in observation at the site today (not yet released), with the time left; names in full for
    the session's desk staff (``sees_full_names``)."""
    now = clock.now()
    start = dt.datetime.combine(clock.today(), dt.time.min, tzinfo=desk.LOCAL_TZ)
    rows = []
    for o in desk_selectors.observations_waiting(site=site, since=start):
        left = desk.observation_left(o.started_at, now)
        seconds = int(left.total_seconds())
        rows.append(
            {
                "o": o,
                "name": desk_name(o.dose.resident.name, full=full),
                "masked_id": mask_id(o.dose.resident.id_number),
                "ends": desk.observation_ends(o.started_at),
                "left": f"{seconds // 60}:{seconds % 60:02d}",
                "left_minutes": -(-seconds // 60),
                "due": seconds == 0,
                "reactions": list(o.reactions.all()),
            }
        )
    return rows


def _observation_page(request, session: Session, *, status: int = 200, **extra):
    rows = _observations(session.site, full=sees_full_names(request.user, session))
    if request.htmx and request.GET.get("rows") == "1":
        return render(
            request,
            "desk/_observation_rows.html",
            {
                "rows": rows,
                "session": session,
                "perms_release": request.user.has_perm("clinic.change_observation"),
                "perms_reaction": request.user.has_perm("clinic.add_reactionnote"),
            },
        )
    selected = extra.pop("selected", None)
    if selected is None:
        obs_id = shown(request.GET, "obs")
        selected = next((r for r in rows if r["o"].pk == obs_id), None)
    ctx = _context(
        request,
        session,
        "observation",
        rows=rows,
        selected=selected,
        do=extra.pop("do", request.GET.get("do", "")),
        severities=ReactionNote.Severity.choices,
        perms_release=request.user.has_perm("clinic.change_observation"),
        perms_reaction=request.user.has_perm("clinic.add_reactionnote"),
        perms_aefi=request.user.has_perm("safety.add_adverseeventreport"),
        **extra,
    )
    return render(request, "desk/observation.html", ctx, status=status)


@_desk_page("observation")
def observation(request, session: Session):
    """The live list (the rows poll every 15 s through htmx) with 离开 and 异常反应 for each person."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return _observation_page(request, session)


def _observation_at(session: Session, observation_id: int) -> Observation:
    o = desk_selectors.observation_at_site(observation_id=observation_id, site=session.site)
    if o is None:
        raise NotFound(_("留观记录不存在"), code=DeskError.OBSERVATION_NOT_FOUND)
    return o


@_desk_page("observation")
def observation_release(request, session: Session, observation_id: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm("clinic.change_observation"):
        return _forbidden(request, _("您的岗位无权办理留观离开"))
    o = _observation_at(session, observation_id)
    reason = request.POST.get("reason", "")
    try:
        desk_services.observation_release(actor=request.user, observation_id=o.pk, reason=reason)
    except ValidationFailed as e:
        selected = next(
            (
                r
                for r in _observations(session.site, full=sees_full_names(request.user, session))
                if r["o"].pk == o.pk
            ),
            None,
        )
        return _observation_page(
            request, session, status=400, selected=selected, do="release", error=e.message, reason=reason
        )
    messages.success(request, _("%(name)s 已离开留观区") % {"name": mask_name(o.dose.resident.name)})
    return redirect("desk:observation", session.pk)


@_desk_page("observation")
def observation_reaction(request, session: Session, observation_id: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm("clinic.add_reactionnote"):
        return _forbidden(request, _("您的岗位无权记录异常反应"))
    o = _observation_at(session, observation_id)
    form = {
        "severity": request.POST.get("severity", ""),
        "description": request.POST.get("description", ""),
        "transferred": request.POST.get("transferred") == "1",
    }
    try:
        desk_services.reaction_note_add(actor=request.user, observation_id=o.pk, **form)
    except ValidationFailed as e:
        selected = next(
            (
                r
                for r in _observations(session.site, full=sees_full_names(request.user, session))
                if r["o"].pk == o.pk
            ),
            None,
        )
        return _observation_page(
            request, session, status=400, selected=selected, do="reaction", error=e.message, reaction=form
        )
    messages.success(request, _("已记录%(name)s的异常反应") % {"name": mask_name(o.dose.resident.name)})
    return redirect(reverse("desk:observation", args=[session.pk]) + f"?obs={o.pk}&do=reaction")


@_desk_page("observation")
def observation_report(request, session: Session, observation_id: int, note_id: int):
    """One step from a reaction note to a report of a suspected AEFI (and, with ``refer``, the referral to the
    site's paired hospital — a severe case to the designated one)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm("safety.add_adverseeventreport"):
        return _forbidden(request, _("您的岗位无权报告疑似异常反应"))
    o = _observation_at(session, observation_id)
    note = safety_selectors.note_for_report(note_id=note_id, site=session.site)
    if note is None or note.observation_id != o.pk:
        raise NotFound(_("异常反应记录不存在"), code=DeskError.OBSERVATION_NOT_FOUND)
    refer = request.POST.get("refer") == "1"
    try:
        report = safety_services.report_from_note(actor=request.user, note=note, refer=refer)
    except VaxOpsError as e:
        message_error(request, e)
    else:
        text = _("已报告疑似异常反应，编号 %(n)s") % {"n": report.number}
        if refer and report.hospital_id:
            text += _("；已转诊%(h)s（电话 %(p)s）") % {"h": report.hospital.name, "p": report.hospital.phone}
        messages.success(request, text)
    return redirect(reverse("desk:observation", args=[session.pk]) + f"?obs={o.pk}&do=reaction")


# --------------------------------------------------------------------------------------------------
# The record (预防接种凭证)
# --------------------------------------------------------------------------------------------------


def _dose_label(number: int | None, booster: bool) -> tuple[str, str]:
    if booster:
        return "加强针", "Booster"
    if number:
        return f"第{number}剂", f"Dose {number}"
    return "—", "—"


def _record(resident: Resident, *, include_voided: bool) -> dict:
    """The person's history for the record: every dose with product, manufacturer, lot, date, place and
    dose number (the number from the schedule engine when the row has none, e.g. a paper record)."""
    catalogue = catalogue_current()
    doses = desk_selectors.doses_for_record(resident=resident, include_voided=include_voided)
    forecast, verdicts = None, {}
    try:
        forecast = selectors.forecast_for(resident=resident, on=clock.today(), catalogue=catalogue)
        verdicts = {j.dose.ref: j for j in forecast.doses}
    except VaxOpsError:
        pass
    rows = []
    for d in doses:
        product = catalogue.find_product(d.product_code)
        judged = verdicts.get(str(d.pk))
        number = d.dose_number or (judged.dose_number if judged else None)
        booster = d.is_booster or bool(judged and judged.is_booster)
        zh, en = _dose_label(number, booster)
        rows.append(
            {
                "d": d,
                "label_zh": zh,
                "label_en": en,
                "product_zh": (
                    (
                        f"{product.short_name_zh} {product.name_zh}"
                        if product.short_name_zh
                        else product.name_zh
                    )
                    if product
                    else d.product_code
                ),
                "product_en": product.name_en if product else "",
                "manufacturer_zh": (
                    d.lot.manufacturer
                    if d.lot and d.lot.manufacturer
                    else (product.manufacturer_zh if product else "")
                ),
                "manufacturer_en": product.manufacturer_en if product else "",
                "lot": d.lot.lot_number if d.lot else "",
                "place": d.site.name if d.site else d.place,
            }
        )
    return {
        "r": resident,
        "masked_id": mask_id(resident.id_number),
        "rows": rows,
        "status_zh": forecast.status_zh if forecast else "",
        "printed": clock.now(),
    }


def _dose_for_staff(request, pk: int) -> Dose:
    dose = desk_selectors.dose_for_record(dose_id=pk)
    if dose is None:
        raise NotFound(_("接种记录不存在"), code=DeskError.DOSE_NOT_FOUND)
    if not request.user.has_perm("clinic.view_dose"):
        raise PermissionDenied(_("您的角色无权查看接种记录"), code=DeskError.ROLE_FORBIDDEN)
    if dose.site_id is not None:
        if not may_use_site(request.user, dose.site):
            raise PermissionDenied(_("您无权查看该接种单位的接种记录"), code=DeskError.SITE_OUT_OF_SCOPE)
    elif not residents_visible(user=request.user).filter(pk=dose.resident_id).exists():
        raise NotFound(_("接种记录不存在"), code=DeskError.DOSE_NOT_FOUND)
    return dose


def _certificate(resident: Resident, *, actor=None) -> dict:
    """The signed QR printed on the record: for staff who issue certificates, the standing certificate or a new
    one (the doses changed); otherwise (the person's own link) only the standing one — a GET from a link never
    signs, the certificate page's button does."""
    try:
        if actor is not None and certs_services.may_issue(actor):
            cert = certs_services.certificate_for_record(actor=actor, resident=resident)
        else:
            cert = certs_services.certificate_standing(resident=resident)
    except VaxOpsError as e:
        return {"cert_error": e.message}
    if cert is None:
        return {}
    return {"cert": cert, "cert_qr": certs_document.qr_svg(cert.hc1, scale=3)}


def _record_page(request, dose: Dose, *, status: int = 200, **extra):
    ctx = _record(dose.resident, include_voided=True)
    ctx.update(_certificate(dose.resident, actor=request.user))
    ctx["may_issue_certificate"] = certs_services.may_issue(request.user)
    if clinic_services.may_share_record_link(request.user):
        ctx["links"] = [
            {"link": link, "url": request.build_absolute_uri(clinic_services.record_link_url(link))}
            for link in clinic_services.record_link_active(resident_id=dose.resident_id)
        ]
        ctx["may_share"] = True
    ctx.update(
        dose=dose,
        may_void=dose.voided_at is None and request.user.has_perm("clinic.void_dose"),
        dispositions=[(d.value, d.label_zh) for d in desk.VoidDisposition],
        session=desk_selectors.session_at(site=dose.site, day=dose.given_on) if dose.site_id else None,
        **extra,
    )
    return render(request, "desk/record.html", ctx, status=status)


@login_required
def dose_record(request, pk: int):
    """The printable record for staff (A5), with the dose just given marked, and the void form."""
    try:
        dose = _dose_for_staff(request, pk)
    except PermissionDenied as e:
        return _forbidden(request, e.message)
    except NotFound as e:
        return render(request, "error.html", {"message": e.message}, status=404)
    return _record_page(request, dose)


@login_required
@require_POST
def dose_record_link(request, pk: int):
    """Give the person a new link (shown on the record page to hand over) or revoke their links at their
    request (``action=revoke``: one with ``link``, else all): registration and observation desks, the CDC."""
    try:
        dose = _dose_for_staff(request, pk)
        if request.POST.get("action") == "revoke":
            link_id = request.POST.get("link") or None
            n = clinic_services.record_links_revoke(
                actor=request.user,
                dose_id=dose.pk,
                link_id=int(link_id) if link_id and link_id.isdigit() else None,
                reason=request.POST.get("reason") or _("受种者本人申请撤销"),
            )
            messages.success(request, _("已撤销%(n)s个链接") % {"n": n})
        else:
            clinic_services.record_link_create(actor=request.user, dose_id=dose.pk)
            messages.success(request, _("已生成电子接种记录链接，请交给受种者本人"))
    except PermissionDenied as e:
        return _forbidden(request, e.message)
    except NotFound as e:
        return render(request, "error.html", {"message": e.message}, status=404)
    except VaxOpsError as e:
        messages.error(request, e.message)
    return redirect("desk:record", pk)


@login_required
def dose_void(request, pk: int):
    """Void a dose given at the desk: reason and 去向 (returned to stock / wasted); audited by the service."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        dose = _dose_for_staff(request, pk)
    except PermissionDenied as e:
        return _forbidden(request, e.message)
    except NotFound as e:
        return render(request, "error.html", {"message": e.message}, status=404)
    if not request.user.has_perm("clinic.void_dose"):
        return _forbidden(request, _("接种台登记的接种记录只能由县疾控中心作废"))
    reason = request.POST.get("reason", "")
    disposition = request.POST.get("disposition") or None
    try:
        clinic_services.dose_void(actor=request.user, dose_id=dose.pk, reason=reason, disposition=disposition)
    except PermissionDenied as e:
        return _forbidden(request, e.message)
    except VaxOpsError as e:
        return _record_page(
            request,
            dose,
            status=400,
            void_error=e.message,
            void_reason=reason,
            void_disposition=disposition or "",
        )
    messages.success(request, _("接种记录已作废"))
    return redirect("desk:record", dose.pk)


@never_cache
@throttle("record")
@require_GET
def record_private(request, token: str):
    """The person's own record behind their private link: no login, 404 for a forged, expired or revoked link,
    never cached, never indexed; each opening is audited. It only reads (and offers to revoke the link)."""
    link = clinic_services.record_link_from_token(token)
    if link is None:
        raise Http404("bad record token")
    clinic_services.record_link_used(link=link, page="record")
    ctx = _record(link.resident, include_voided=False)
    ctx.update(_certificate(link.resident))
    ctx.update(token=token, link_expires=link.expires_at)
    response = render(request, "desk/record_private.html", ctx)
    # same-origin: the token is never sent to another site, and the revoke button's POST keeps its Origin
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@throttle("record")
@require_POST
def record_private_revoke(request, token: str):
    """The person stops their link working (the button on their page); a dead link answers 404 like any other."""
    if not clinic_services.record_link_revoke_by_holder(token=token):
        raise Http404("bad record token")
    response = render(request, "desk/record_revoked.html", {})
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
