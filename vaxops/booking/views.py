"""The pages of booking — one flow, three doors:

- the community worker's door (``/booking/``): people of a village in scope who are due, booked into a slot
  one by one through ``services.appointment_book``, with the waiting list offered when the slot is full, and
  the appointments in scope with cancel and reschedule (``/booking/appointments/``);
- the employer's door (``/booking/employer/``): upload the staff list (the census import job, for the
  employer) and book everyone at once over the employer's reserved places (``services.employer_book``);
- the resident's own door (``/book/``, no login, phone-sized): name + ID number + phone, a one-time code,
  then a slot, a confirmation, and cancelling.

Names and ID numbers are shown masked. Refusals are shown in the page in Chinese; every POST redirects (PRG).
"""

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vaxops.accounts.scope import scope_for
from vaxops.campaign.selectors import LABELS, LIST_CATEGORIES
from vaxops.catalog.domain import age_on
from vaxops.core import clock
from vaxops.core.actors import SystemActor
from vaxops.core.bounds import parse_int
from vaxops.core.errors import RateLimited, VaxOpsError
from vaxops.core.forms import form_values
from vaxops.core.pages import error_page, message_error
from vaxops.core.ratelimit import throttle
from vaxops.notify.selectors import notification_status
from vaxops.registry.domain import mask_id, mask_name, mask_phone
from vaxops.registry.models import Resident
from vaxops.registry.selectors import import_jobs_of, villages_visible
from vaxops.registry.services import import_job_create
from vaxops.sites.models import Session

from . import selectors, services
from .errors import BookingErrorCode
from .forms import BookForm, SessionPickForm, SlotPickForm, WaitlistForm
from .models import ACTIVE, Appointment, AppointmentStatus

PAGE = 50
SELF_KEY = "self_booking"  # the verified resident of the resident's door: {"resident": id, "until": epoch}
SELF_PENDING = "self_booking_pending"  # who asked for a code: {"id_number", "phone", "at"}
SELF_JUST = "self_booking_just"  # "booked" or "changed": what the resident did just now, shown once
SELF_MINUTES = 30
RESULT_KEY = "booking_result"


def _dose(number: int, is_booster: bool) -> str:
    return _("加强针") if is_booster else _("第%(n)s剂") % {"n": number}


def _when(slot) -> str:
    start, end = timezone.localtime(slot.start), timezone.localtime(slot.end)
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"


def _session_label(s: Session) -> str:
    return f"{s.day:%Y-%m-%d} {s.site.name}"


# --------------------------------------------------------------------------------------------------
# The community worker's door
# --------------------------------------------------------------------------------------------------


def _person_row(r: Resident, on: dt.date) -> dict:
    s = getattr(r, "status", None)
    nxt = _dose(s.next_number, s.next_is_booster) if s is not None and s.next_number else ""
    return {
        "pk": r.pk,
        "name": mask_name(r.name),
        "masked_id": mask_id(r.id_number),
        "age": age_on(r.birth_date, on) if r.birth_date else "",
        "next": nxt,
        "earliest": s.next_earliest if s else None,
        "latest": s.next_latest if s else None,
    }


def _villages(user):
    return list(villages_visible(user=user))


@login_required
@permission_required("booking.view_appointment", raise_exception=True)
def door(request):
    user = request.user
    if getattr(user, "employer_id", None):
        return redirect("booking:employer")
    if not user.has_perm("booking.add_appointment"):
        return redirect("booking:appointments")
    if request.method == "POST":
        return _book(request)
    villages = _villages(user)
    village_code = request.GET.get("village_code", "").strip()
    if not village_code and len(villages) == 1:
        village_code = villages[0].code
    village = next((v for v in villages if v.code == village_code), None)
    sessions = list(selectors.sessions_upcoming())
    session_id = form_values(SessionPickForm(request.GET))["session"]
    session = next((s for s in sessions if s.pk == session_id), None)
    category = request.GET.get("category", "")
    if category not in {c.value for c in LIST_CATEGORIES}:
        category = ""
    on = session.day if session is not None else clock.today()
    page = rows = None
    if village is not None:
        page = Paginator(
            selectors.people_due(user=user, village_code=village.code, category=category, on=on), PAGE
        ).get_page(request.GET.get("page"))
        rows = [_person_row(r, on) for r in page.object_list]
    # With a village chosen, what its residents can take: open places and this village's reserved ones.
    slots = (
        selectors.slot_rows(session.slots.all(), for_village=village.code if village else "")
        if session is not None
        else []
    )
    for r in slots:
        r["left"] = r.get("bookable", r["remaining"])
    query = {
        "village_code": village.code if village else "",
        "session": session.pk if session else "",
        "category": category,
    }
    ctx = {
        "villages": villages,
        "village": village,
        "sessions": sessions,
        "session": session,
        "categories": [(c.value, LABELS[c]) for c in LIST_CATEGORIES],
        "category": category,
        "on": on,
        "page": page,
        "rows": rows,
        "slots": slots,
        "query": urlencode(query),
        "result": request.session.pop(RESULT_KEY, None),
        "may_waitlist": user.has_perm("booking.add_waitlistentry"),
        "session_full": bool(slots) and not any(r["left"] for r in slots),
        "scope_label": scope_for(user).label,
    }
    return render(request, "booking/door.html", ctx)


def _book(request):
    """Book each ticked person into the chosen slot, one by one; the outcome is shown on the next GET."""
    user = request.user
    back = (
        reverse("booking:door")
        + "?"
        + urlencode({k: request.POST.get(k, "") for k in ("village_code", "session", "category", "page")})
    )
    values = form_values(BookForm(request.POST))
    slot = selectors.slot_by_id(slot_id=values["slot"], related=("session__site",))
    ids = values["resident"]
    if slot is None:
        messages.error(request, _("请选择预约时段"))
        return redirect(back)
    if not ids:
        messages.error(request, _("请勾选要预约的居民"))
        return redirect(back)
    channel = selectors.channel_for(user)
    rows = []
    for rid in ids:
        row = {"resident": rid, "name": "—", "ok": False, "full": False, "text": ""}
        try:
            person = selectors.resident_for_booking(user=user, resident_id=rid)
        except VaxOpsError as e:
            row["text"] = e.message
            rows.append(row)
            continue
        row["name"] = mask_name(person.name)
        try:
            a = services.appointment_book(actor=user, resident=person, slot=slot, channel=channel)
        except services.SlotFull as e:
            row.update(text=e.message, full=True)
        except VaxOpsError as e:
            row["text"] = e.message
        else:
            row.update(
                ok=True,
                text=_("已预约%(when)s，%(dose)s")
                % {"when": _when(slot), "dose": _dose(a.dose_number, a.is_booster)},
            )
        rows.append(row)
    request.session[RESULT_KEY] = {
        "session": slot.session_id,
        "session_label": _session_label(slot.session),
        "rows": rows,
        "booked": sum(r["ok"] for r in rows),
        "refused": sum(not r["ok"] for r in rows),
        "full": [r["resident"] for r in rows if r["full"]],
    }
    return redirect(back)


@login_required
@require_POST
@permission_required("booking.add_waitlistentry", raise_exception=True)
def waitlist(request):
    user = request.user
    values = form_values(WaitlistForm(request.POST))
    session = selectors.session_by_id(session_id=values["session"])
    back = request.POST.get("next", "")
    if not back.startswith("/booking/"):
        back = reverse("booking:door")
    if session is None:
        messages.error(request, _("请选择场次"))
        return redirect(back)
    channel = selectors.channel_for(user)
    for rid in values["resident"]:
        try:
            person = selectors.resident_for_booking(user=user, resident_id=rid)
            services.waitlist_join(actor=user, resident=person, session=session, channel=channel)
        except VaxOpsError as e:
            message_error(request, e)
        else:
            messages.success(
                request,
                _("%(name)s已加入%(session)s的候补名单，有空位时将自动预约并短信通知")
                % {"name": mask_name(person.name), "session": _session_label(session)},
            )
    return redirect(back)


# --------------------------------------------------------------------------------------------------
# Appointments in scope: cancel, reschedule
# --------------------------------------------------------------------------------------------------

STATUS_FILTERS = {"active": ACTIVE, "all": None}


@login_required
@permission_required("booking.view_appointment", raise_exception=True)
def appointments(request):
    status = request.GET.get("status", "active")
    qs = selectors.appointments_visible(user=request.user)
    if status == "active":
        qs = qs.filter(status__in=ACTIVE)
    elif status in AppointmentStatus.values:
        qs = qs.filter(status=status)
    else:
        status = "all"
    qs = qs.order_by("slot__start", "id")
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "a": a,
            "name": mask_name(a.resident.name),
            "masked_id": mask_id(a.resident.id_number),
            "dose": _dose(a.dose_number, a.is_booster),
        }
        for a in page.object_list
    ]
    statuses = [("active", _("有效预约")), *AppointmentStatus.choices, ("all", _("全部"))]
    return render(
        request,
        "booking/appointments.html",
        {
            "page": page,
            "rows": rows,
            "status": status,
            "statuses": statuses,
            "query": urlencode({"status": status}),
            "scope_label": scope_for(request.user).label,
            "may_change": request.user.has_perm("booking.change_appointment"),
        },
    )


def _appointment_for(request, pk: int) -> Appointment:
    return get_object_or_404(selectors.appointments_visible(user=request.user), pk=pk)


@login_required
@require_POST
@permission_required("booking.change_appointment", raise_exception=True)
def appointment_cancel(request, pk: int):
    a = _appointment_for(request, pk)
    try:
        services.appointment_cancel(
            actor=request.user, appointment=a, reason=request.POST.get("reason", "").strip()
        )
    except VaxOpsError as e:
        message_error(request, e)
    else:
        messages.success(
            request,
            _("已取消%(name)s %(when)s的预约") % {"name": mask_name(a.resident.name), "when": _when(a.slot)},
        )
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/booking/") else reverse("booking:appointments"))


@login_required
@permission_required("booking.change_appointment", raise_exception=True)
def appointment_reschedule(request, pk: int):
    a = _appointment_for(request, pk)
    if request.method == "POST":
        slot = selectors.slot_by_id(slot_id=form_values(SlotPickForm(request.POST))["slot"])
        try:
            if slot is None:
                raise VaxOpsError(_("请选择新的预约时段"), code=BookingErrorCode.SLOT_REQUIRED)
            new = services.appointment_reschedule(
                actor=request.user, appointment=a, slot=slot, reason=request.POST.get("reason", "").strip()
            )
        except VaxOpsError as e:
            message_error(request, e)
            return redirect(
                reverse("booking:reschedule", args=[a.pk])
                + "?"
                + urlencode({"session": request.POST.get("session", "")})
            )
        messages.success(
            request,
            _("已改约：%(name)s %(when)s") % {"name": mask_name(a.resident.name), "when": _when(new.slot)},
        )
        return redirect("booking:appointments")
    if a.status != AppointmentStatus.BOOKED:
        messages.error(request, _("该预约当前为“%(status)s”，不能改约") % {"status": a.get_status_display()})
        return redirect("booking:appointments")
    sessions = list(selectors.sessions_upcoming())
    session_id = form_values(SessionPickForm(request.GET))["session"]
    session = next((s for s in sessions if s.pk == session_id), None)
    if session is None:
        session = next((s for s in sessions if s.pk == a.slot.session_id), None)
    rows = selectors.slot_rows(session.slots.all(), for_resident=a.resident) if session is not None else []
    now = clock.now()
    for r in rows:
        r["past"] = r["start"] <= now
        r["current"] = r["id"] == a.slot_id
    return render(
        request,
        "booking/reschedule.html",
        {
            "a": a,
            "name": mask_name(a.resident.name),
            "masked_id": mask_id(a.resident.id_number),
            "dose": _dose(a.dose_number, a.is_booster),
            "sessions": sessions,
            "session": session,
            "slots": rows,
        },
    )


# --------------------------------------------------------------------------------------------------
# The employer's door
# --------------------------------------------------------------------------------------------------


def _employer_of(request):
    return getattr(request.user, "employer", None)


def _not_employer(request):
    return error_page(request, _("此页面供单位联络员使用"), status=403)


@login_required
@permission_required("booking.add_appointment", raise_exception=True)
def employer_door(request):
    employer = _employer_of(request)
    if employer is None:
        return _not_employer(request)
    key = f"E:{employer.pk}"
    sessions = []
    for s in selectors.sessions_upcoming():
        rows = selectors.slot_rows(s.slots.all())
        reserved = sum(q["remaining"] for r in rows for q in r["quotas"] if q["key"] == key)
        sessions.append({"session": s, "reserved": reserved, "open": sum(r["open_remaining"] for r in rows)})
    sessions.sort(key=lambda x: (x["reserved"] == 0, x["session"].day, x["session"].site.code))
    staff = selectors.employer_staff_counts(employer=employer)
    ctx = {
        "employer": employer,
        "sessions": sessions,
        "staff_total": staff["total"],
        "staff_unbooked": staff["unbooked"],
        "jobs": import_jobs_of(user=request.user, employer_code=employer.code)[:10],
        "may_import": request.user.has_perm("registry.import_residents"),
        "result": request.session.pop(RESULT_KEY, None),
    }
    return render(request, "booking/employer.html", ctx)


@login_required
@require_POST
@permission_required("booking.add_appointment", raise_exception=True)
def employer_upload(request):

    employer = _employer_of(request)
    if employer is None:
        return _not_employer(request)
    upload = request.FILES.get("file")
    if upload is None or upload.size == 0:
        messages.error(request, _("请选择要导入的文件（文件不能为空）"))
        return redirect("booking:employer")
    try:
        job = import_job_create(actor=request.user, upload=upload, employer_code=employer.code)
    except VaxOpsError as e:
        message_error(request, e)
        return redirect("booking:employer")
    return redirect("booking:employer-job", job.pk)


@login_required
@permission_required("booking.add_appointment", raise_exception=True)
def employer_job(request, pk: int):
    employer = _employer_of(request)
    if employer is None:
        return _not_employer(request)
    job = get_object_or_404(import_jobs_of(user=request.user, employer_code=employer.code), pk=pk)
    ctx = {
        "job": job,
        "errors": job.errors[:200],
        "more_errors": max(0, len(job.errors) - 200),
        "employer": employer,
    }
    if request.htmx:
        return render(request, "booking/_staff_job.html", ctx)
    return render(request, "booking/employer_job.html", ctx)


@login_required
@require_POST
@permission_required("booking.add_appointment", raise_exception=True)
def employer_book(request):
    employer = _employer_of(request)
    if employer is None:
        return _not_employer(request)
    session = selectors.session_by_id(
        session_id=form_values(SessionPickForm(request.POST))["session"], open_only=True
    )
    if session is None:
        messages.error(request, _("请选择场次"))
        return redirect("booking:employer")
    try:
        result = services.employer_book(actor=request.user, employer=employer, session=session)
    except VaxOpsError as e:
        message_error(request, e)
        return redirect("booking:employer")
    rows = (
        [
            {
                "name": mask_name(a.resident.name),
                "masked_id": mask_id(a.resident.id_number),
                "ok": True,
                "text": _("已预约%(when)s，%(dose)s")
                % {"when": _when(a.slot), "dose": _dose(a.dose_number, a.is_booster)},
            }
            for a in result["booked"]
        ]
        + [
            {"name": mask_name(p.name), "masked_id": mask_id(p.id_number), "ok": False, "text": reason}
            for p, reason in result["refused"]
        ]
        + [
            {
                "name": mask_name(p.name),
                "masked_id": mask_id(p.id_number),
                "ok": False,
                "text": _("名额已满，未能安排"),
            }
            for p in result["unplaced"]
        ]
    )
    request.session[RESULT_KEY] = {
        "session_label": _session_label(session),
        "rows": rows,
        "booked": len(result["booked"]),
        "refused": len(result["refused"]),
        "unplaced": len(result["unplaced"]),
    }
    return redirect("booking:employer")


# --------------------------------------------------------------------------------------------------
# The resident's own door (no login)
# --------------------------------------------------------------------------------------------------

SELF_ACTOR_LABEL = "self-booking"


def _self_actor():
    return SystemActor(SELF_ACTOR_LABEL)


def _self_resident(request) -> Resident | None:
    """The resident verified in this browser session, for 30 minutes after the code."""
    held = request.session.get(SELF_KEY)
    if not held:
        return None
    if held.get("until", 0) < clock.now().timestamp():
        request.session.pop(SELF_KEY, None)
        messages.info(request, _("验证已超过30分钟，请重新验证"))
        return None
    return selectors.resident_verified(resident_id=parse_int(held.get("resident"), low=1))


def _refused_status(e: VaxOpsError) -> int:
    """The resident's door answers every refusal but a rate limit with 400: the status never tells whether
    someone is registered."""
    return e.status if isinstance(e, RateLimited) else 400


@throttle("self", post="self.identify")
def self_start(request):
    """Step 1: name + ID number + phone → a one-time code to the phone, if they match someone; the next
    page is the same either way (``services.self_identify``)."""
    if request.method == "GET" and _self_resident(request) is not None:
        return redirect("booking:book-slots")
    ctx = {"name": "", "id_number": "", "phone": ""}
    if request.method == "POST":
        ctx = {k: request.POST.get(k, "").strip() for k in ("name", "id_number", "phone")}
        try:
            services.self_identify(name=ctx["name"], id_number=ctx["id_number"], phone=ctx["phone"])
        except VaxOpsError as e:
            return error_page(
                request, e, template="booking/self_start.html", context=ctx, status=_refused_status(e)
            )
        request.session[SELF_PENDING] = {
            "id_number": ctx["id_number"].upper(),
            "phone": ctx["phone"],
            "at": clock.now().timestamp(),
        }
        return redirect("booking:book-verify")
    return render(request, "booking/self_start.html", ctx)


@throttle("self", post="self.verify")
def self_verify(request):
    """Step 2: the code from the text message."""
    pending = request.session.get(SELF_PENDING)
    if not pending:
        return redirect("booking:book")
    ctx = {"phone": mask_phone(pending["phone"])}
    if request.method == "POST":
        try:
            person = services.self_verify(
                id_number=pending["id_number"],
                phone=pending["phone"],
                code=request.POST.get("code", "").strip(),
            )
        except VaxOpsError as e:
            return error_page(
                request, e, template="booking/self_verify.html", context=ctx, status=_refused_status(e)
            )
        request.session.cycle_key()
        request.session.pop(SELF_PENDING, None)
        request.session[SELF_KEY] = {
            "resident": person.pk,
            "until": clock.now().timestamp() + SELF_MINUTES * 60,
        }
        if selectors.active_appointment(resident=person) is not None:
            return redirect("booking:book-me")
        return redirect("booking:book-slots")
    return render(request, "booking/self_verify.html", ctx)


@throttle("self")
def self_slots(request):
    """Step 3: a site, a day, a slot with places this person may take → book."""
    person = _self_resident(request)
    if person is None:
        return redirect("booking:book")
    if request.method == "POST":
        slot = selectors.slot_by_id(slot_id=form_values(SlotPickForm(request.POST))["slot"])
        current = selectors.active_appointment(resident=person)
        try:
            if slot is None:
                raise VaxOpsError(_("请选择预约时段"), code=BookingErrorCode.SLOT_REQUIRED)
            if current is not None and current.slot_id == slot.pk:
                raise VaxOpsError(_("您已预约该时段"), code=BookingErrorCode.ALREADY_BOOKED)
            if current is not None and current.status == "booked":
                # Changing the time of the appointment they have (booked by their village or by themselves):
                # the old place is given back and the new one taken together; if the new one fails, it stands.
                services.appointment_reschedule(
                    actor=_self_actor(), appointment=current, slot=slot, reason="本人改约"
                )
                request.session[SELF_JUST] = "changed"
            else:
                services.appointment_book(actor=_self_actor(), resident=person, slot=slot, channel="self")
                request.session[SELF_JUST] = "booked"
        except VaxOpsError as e:
            message_error(request, e)
            query = urlencode(
                {"site": request.POST.get("site", ""), "session": request.POST.get("session", "")}
            )
            return redirect(reverse("booking:book-slots") + "?" + query)
        return redirect("booking:book-me")
    current = selectors.active_appointment(resident=person)
    sites = list(selectors.sites_open())
    site = next((s for s in sites if s.code == request.GET.get("site")), None)
    days = []
    session = rows = None
    if site is not None:
        for s in selectors.sessions_upcoming(site=site):
            r = selectors.slot_rows(s.slots.all(), for_resident=person)
            days.append({"session": s, "bookable": sum(x["bookable"] for x in r if x["start"] > clock.now())})
        session_id = form_values(SessionPickForm(request.GET))["session"]
        session = next((d["session"] for d in days if d["session"].pk == session_id), None)
    if session is not None:
        now = clock.now()
        rows = [r for r in selectors.slot_rows(session.slots.all(), for_resident=person) if r["start"] > now]
    return render(
        request,
        "booking/self_slots.html",
        {
            "person": mask_name(person.name),
            "current": current,
            "sites": sites,
            "site": site,
            "days": days,
            "session": session,
            "rows": rows,
        },
    )


@throttle("self")
def self_me(request):
    """Step 4: the confirmation, and the active appointment to see or cancel."""
    person = _self_resident(request)
    if person is None:
        return redirect("booking:book")
    a = selectors.active_appointment(resident=person)
    # What is true of the confirmation message now: sent, on its way, or failed (None: no phone on file).
    sms = notification_status(template="booking_confirmed", reference=f"A:{a.pk}") if a else None
    # "预约成功" only right after this person booked here; otherwise they are told they already have one
    # (and who made it: their village, their employer or themselves).
    just = request.session.pop(SELF_JUST, "")
    return render(
        request,
        "booking/self_me.html",
        {
            "person": mask_name(person.name),
            "a": a,
            "dose": _dose(a.dose_number, a.is_booster) if a else "",
            "sms": sms,
            "just": just if a else "",
        },
    )


@throttle("self")
@require_POST
def self_cancel(request):
    person = _self_resident(request)
    if person is None:
        return redirect("booking:book")
    a = selectors.active_appointment(resident=person)
    if a is not None:
        try:
            services.appointment_cancel(actor=_self_actor(), appointment=a, reason="本人取消")
        except VaxOpsError as e:
            message_error(request, e)
        else:
            messages.success(request, _("预约已取消"))
    return redirect("booking:book-me")


@throttle("self")
@require_POST
def self_exit(request):
    request.session.pop(SELF_KEY, None)
    request.session.pop(SELF_PENDING, None)
    return redirect("booking:book")
