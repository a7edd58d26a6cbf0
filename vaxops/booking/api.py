"""/api/v1/sites (sites, sessions, their slots with live remaining places, readiness and staffing) and
/api/v1/booking (appointments, waiting list, employer bookings, and the resident's own booking).

Sites are named by their codes, sessions, slots and appointments by their ids. Writes accept
``Idempotency-Key`` (``vaxops.core.idempotency``): a retry gets the first answer and changes nothing.
Errors answer ``{"code", "message", "field"}``: 400 (refused, e.g. not eligible or already booked), 403
(role or jurisdiction), 404 (unknown, or a person outside the caller's scope), 409 ``slot_full``.
Residents' names are masked and their ID numbers never shown.

The resident's own door (``/booking/self/…``) needs no account: name + ID number + phone, then the
one-time code sent to that phone, give a 30-minute token (``X-Self-Token``, see ``selfservice``).
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Header, P, Query, Router, Schema, Status
from ninja.decorators import decorate_view

from vaxops.accounts.scope import require, scope_for
from vaxops.core import clock
from vaxops.core.errors import CoreErrorCode, NotFound, PermissionDenied, ValidationFailed
from vaxops.core.idempotency import idempotent_status
from vaxops.core.ratelimit import throttle
from vaxops.core.schemas import Day, ErrorOut, Id, Offset, Quantity, SmallCount
from vaxops.registry.domain import mask_name
from vaxops.registry.errors import RegistryErrorCode
from vaxops.registry.models import Resident
from vaxops.registry.selectors import residents_visible
from vaxops.sites import selectors as site_selectors
from vaxops.sites import services as site_services
from vaxops.sites.errors import SitesErrorCode
from vaxops.sites.models import (
    ReadinessItem,
    Session,
    Site,
    StaffRole,
)

from . import selectors, selfservice, services
from .errors import BookingErrorCode
from .models import Appointment, AppointmentStatus, Slot

# ``/api/v1/sites``: sites and their sessions with slots, quotas and bookings. It reads booking's rows, so it
# lives here, above sites (like the ``/sites/`` pages in ``site_views``), not in ``sites``.
sites_router = Router(tags=["sites"])
router = Router(tags=["booking"])

E400 = {400: ErrorOut}
E403 = {403: ErrorOut}
E404 = {404: ErrorOut}
ERRORS = {**E400, **E403, **E404}
E409 = {409: ErrorOut}
E429 = {429: ErrorOut}
SELF_ERRORS = {**E400, 401: ErrorOut, **E403, **E404, **E429}
SelfToken = Header[
    str | None, P(alias="X-Self-Token", description="本人预约身份凭证（/booking/self/verify 返回的 token）")
]
PAGE_DEFAULT = 100
PAGE_MAX = 1000
DAYS_MAX = 62


# --------------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------------


class SiteOut(Schema):
    code: str
    name: str
    kind: str
    kind_label: str
    address: str
    division: str
    division_name: str
    hospital_name: str
    desks: dict[str, int]


class QuotaOut(Schema):
    key: str
    label: str
    capacity: int
    remaining: int


class SlotOut(Schema):
    id: int
    start: str
    end: str
    capacity: int
    walk_in: int
    walk_in_remaining: int
    open_remaining: int
    remaining: int
    quotas: list[QuotaOut]


class DaySlotOut(SlotOut):
    session_id: int
    bookable: int | None = None


class SessionOut(Schema):
    id: int
    site: str
    day: date
    status: str
    desks: int
    slots: list[SlotOut]


class SessionPlanIn(Schema):
    day: Day
    desks: SmallCount | None = None


class ReserveIn(Schema):
    key: str
    label: str = ""
    places: Quantity


class ReserveOut(Schema):
    reserved: int
    session: SessionOut


class ReadinessIn(Schema):
    item: ReadinessItem
    note: str = ""


class AssignmentIn(Schema):
    staff_id: Id
    desk_id: Id
    role: StaffRole


class ReadinessItemOut(Schema):
    item: str
    label: str
    confirmed: bool
    confirmed_by: str | None
    confirmed_at: str | None
    note: str


class AssignmentOut(Schema):
    id: int
    staff_id: int
    staff_name: str
    desk_id: int | None
    desk: str | None
    desk_kind: str | None
    role: str
    role_label: str


class SessionDetailOut(Schema):
    id: int
    site: str
    site_name: str
    day: date
    status: str
    status_label: str
    desks: int
    opened_at: str | None
    opened_by: str | None
    readiness: list[ReadinessItemOut]
    missing: list[str]
    assignments: list[AssignmentOut]
    may_open: bool
    may_open_reason: str


class BookIn(Schema):
    resident_id: Id
    slot_id: Id


class AppointmentOut(Schema):
    id: int
    resident_id: int
    slot_id: int
    site: str
    start: str
    end: str
    dose_number: int
    is_booster: bool
    status: str
    channel: str
    quota: str | None


class AppointmentDetailOut(AppointmentOut):
    resident_name: str
    site_name: str
    session_id: int
    status_label: str
    walk_in: bool
    created_at: str
    changed_at: str | None
    reason: str


class AppointmentPage(Schema):
    items: list[AppointmentDetailOut]
    count: int


class CancelIn(Schema):
    reason: str = ""


class RescheduleIn(Schema):
    slot_id: Id
    reason: str = ""


class WaitlistIn(Schema):
    resident_id: Id
    session_id: Id


class WaitlistOut(Schema):
    id: int
    resident_id: int
    session_id: int
    dose_number: int
    status: str
    channel: str
    created_at: str


class EmployerBookIn(Schema):
    session_id: Id
    resident_ids: list[Id] | None = None


class PersonOut(Schema):
    resident_id: int
    name: str


class RefusedOut(PersonOut):
    reason: str


class EmployerBookOut(Schema):
    booked: list[AppointmentOut]
    refused: list[RefusedOut]
    unplaced: list[PersonOut]


class IdentifyIn(Schema):
    name: str
    id_number: str
    phone: str


class SentOut(Schema):
    sent: bool = Field(description="请求已受理；是否真的发出不对外透露（信息不符时也为 true）")
    message: str = Field(description="给本人看的提示：若信息已登记，验证码已发送")


class SelfVerifyIn(Schema):
    id_number: str
    phone: str
    code: str


class SelfNextDoseOut(Schema):
    number: int
    is_booster: bool
    earliest: str
    recommended: str
    latest: str | None
    overdue: bool


class SelfResidentOut(Schema):
    name: str
    status: str | None
    status_zh: str | None
    next_dose: SelfNextDoseOut | None


class SelfVerifyOut(Schema):
    token: str
    expires_in: int
    resident: SelfResidentOut


class SelfBookIn(Schema):
    slot_id: Id


# --------------------------------------------------------------------------------------------------
# Look-ups and conversions
# --------------------------------------------------------------------------------------------------


def _iso(value) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def _error(e: ValidationFailed) -> dict:
    return {"code": e.code, "message": e.message, "field": e.field}


def _window(offset: int, limit: int) -> tuple[int, int]:
    if offset < 0:
        raise ValidationFailed(_("offset 不能为负数"), field="offset", code=CoreErrorCode.OFFSET_INVALID)
    if not 1 <= limit <= PAGE_MAX:
        raise ValidationFailed(
            _("limit 须在1到%(page_max)s之间") % {"page_max": PAGE_MAX},
            field="limit",
            code=CoreErrorCode.LIMIT_INVALID,
        )
    return offset, limit


def _site(code: str) -> Site:
    found = site_selectors.site_by_code(code=(code or "").strip())
    if found is None:
        raise NotFound(
            _("接种单位“%(code)s”不存在") % {"code": code}, field="site", code=SitesErrorCode.SITE_NOT_FOUND
        )
    return found


def _site_in_scope(user, site: Site, perm: str) -> None:
    """Site management: the permission, and the site within the user's jurisdiction (site staff are
    scoped to their township, the county CDC to the county)."""
    require(user, perm)
    if not scope_for(user).covers_code(site.division.code):
        raise PermissionDenied(
            _("%(site_name)s不在您的管辖范围内") % {"site_name": site.name}, code=CoreErrorCode.OUT_OF_SCOPE
        )


def _session(session_id: int) -> Session:
    found = site_selectors.session_by_id(session_id=session_id)
    if found is None:
        raise NotFound(_("场次不存在"), field="session", code=SitesErrorCode.SESSION_NOT_FOUND)
    return found


def _site_out(s: Site, desks: dict[str, int]) -> dict:
    return {
        "code": s.code,
        "name": s.name,
        "kind": s.kind,
        "kind_label": s.get_kind_display(),
        "address": s.address,
        "division": s.division.code,
        "division_name": s.division.name,
        "hospital_name": s.hospital_name,
        "desks": desks,
    }


def _slot_rows(slots, *, for_resident: Resident | None = None) -> list[dict]:
    rows = selectors.slot_rows(slots, for_resident=for_resident)
    for row in rows:  # local time, as strings: the same text in a first answer and its idempotent replay
        row["start"], row["end"] = _iso(row["start"]), _iso(row["end"])
    return rows


def _session_out(s: Session, slots) -> dict:
    return {
        "id": s.pk,
        "site": s.site.code,
        "day": s.day,
        "status": s.status,
        "desks": s.desks,
        "slots": _slot_rows(slots),
    }


def _session_detail(s: Session) -> dict:
    s = site_selectors.session_by_id(session_id=s.pk)
    checks = site_selectors.readiness_of(session=s)
    readiness = []
    for item in ReadinessItem:
        c = checks.get(item.value)
        readiness.append(
            {
                "item": item.value,
                "label": str(item.label),
                "confirmed": c is not None,
                "confirmed_by": c.confirmed_by.username if c else None,
                "confirmed_at": _iso(c.confirmed_at) if c else None,
                "note": c.note if c else "",
            }
        )
    assignments = [
        {
            "id": a.pk,
            "staff_id": a.staff_id,
            "staff_name": a.staff.name,
            "desk_id": a.desk_id,
            "desk": str(a.desk) if a.desk else None,
            "desk_kind": a.desk.kind if a.desk else None,
            "role": a.role,
            "role_label": a.get_role_display(),
        }
        for a in site_selectors.assignments_of(session=s)
    ]
    ok, why = site_services.session_open_check(s)
    return {
        "id": s.pk,
        "site": s.site.code,
        "site_name": s.site.name,
        "day": s.day,
        "status": s.status,
        "status_label": s.get_status_display(),
        "desks": s.desks,
        "opened_at": _iso(s.opened_at),
        "opened_by": s.opened_by.username if s.opened_by_id else None,
        "readiness": readiness,
        "missing": [r["item"] for r in readiness if not r["confirmed"]],
        "assignments": assignments,
        "may_open": ok,
        "may_open_reason": why,
    }


def _appointment(a: Appointment) -> dict:
    """Built only from what ``appointment_book`` already holds (slot → session → site, quota): no query."""
    slot = a.slot
    return {
        "id": a.pk,
        "resident_id": a.resident_id,
        "slot_id": a.slot_id,
        "site": slot.session.site.code,
        "start": _iso(slot.start),
        "end": _iso(slot.end),
        "dose_number": a.dose_number,
        "is_booster": a.is_booster,
        "status": a.status,
        "channel": a.channel,
        "quota": a.quota.key if a.quota_id else None,
    }


def _appointment_detail(a: Appointment) -> dict:
    """Needs ``resident``, ``slot__session__site`` and ``quota`` selected (``selectors.appointments_detailed``)."""
    return {
        **_appointment(a),
        "resident_name": mask_name(a.resident.name),
        "site_name": a.slot.session.site.name,
        "session_id": a.slot.session_id,
        "status_label": a.get_status_display(),
        "walk_in": a.walk_in,
        "created_at": _iso(a.created_at),
        "changed_at": _iso(a.changed_at),
        "reason": a.reason,
    }


def _reload(a: Appointment) -> dict:
    return _appointment_detail(selectors.appointments_detailed().get(pk=a.pk))


def _visible_appointment(user, appointment_id: int) -> Appointment:
    found = selectors.appointments_visible(user=user).filter(pk=appointment_id).first()
    if found is None:
        raise NotFound(
            _("预约不存在或不在您的管辖范围内"),
            field="appointment",
            code=BookingErrorCode.APPOINTMENT_NOT_FOUND,
        )
    return found


def _slot(slot_id: int) -> Slot:
    found = selectors.slot_by_id(slot_id=slot_id)
    if found is None:
        raise NotFound(_("预约时段不存在"), field="slot", code=BookingErrorCode.SLOT_NOT_FOUND)
    return found


def _slot_full(e: services.SlotFull) -> Status:
    return Status(409, _error(e))


def _day_slots(site_code: str, day: date, *, for_resident: Resident | None = None) -> list[dict]:
    site = selectors.sites_open().filter(code=(site_code or "").strip()).first()
    if site is None:
        raise NotFound(
            _("接种单位“%(site_code)s”不存在或已停用") % {"site_code": site_code},
            field="site",
            code=SitesErrorCode.SITE_NOT_FOUND,
        )
    rows = []
    for s in selectors.sessions_upcoming(site=site, start=day, days=1):
        for row in _slot_rows(s.slots.all(), for_resident=for_resident):
            rows.append({**row, "session_id": s.pk})
    return rows


def _self_resident(token: str | None) -> Resident | Status:
    try:
        return selfservice.self_token_resident(token)
    except selfservice.SelfTokenError as e:
        return Status(e.status, _error(e))


# --------------------------------------------------------------------------------------------------
# /sites: where to go, and running a session
# --------------------------------------------------------------------------------------------------


@sites_router.get(
    "", response={200: list[SiteOut], **E429}, auth=None, summary="接种单位列表（启用中的，公开信息）"
)
@decorate_view(throttle("public"))
def list_sites(request, division: str = ""):
    """启用中的接种单位：编码、名称、类型（fixed 固定接种门诊 / temporary 大规模临时接种点 / mobile 流动接种队）、
    地址、所在区划、定点救治医院和各类工作台数量。``division`` 为区划代码（如乡镇代码），只列该区划内的。
    接种地点是公开信息，无须登录。"""
    sites = list(selectors.sites_open(division_code=division.strip()))
    desks = site_selectors.desk_counts(site_ids=[s.pk for s in sites])
    return [_site_out(s, desks[s.pk]) for s in sites]


@sites_router.get(
    "/{code}", response={200: SiteOut, **E404, **E429}, auth=None, summary="接种单位详情（公开信息）"
)
@decorate_view(throttle("public"))
def get_site(request, code: str):
    """一个启用中的接种单位；停用或不存在时为404。"""
    site = selectors.sites_open().filter(code=code).first()
    if site is None:
        raise NotFound(
            _("接种单位“%(code)s”不存在或已停用") % {"code": code},
            field="site",
            code=SitesErrorCode.SITE_NOT_FOUND,
        )
    return _site_out(site, site_selectors.desk_counts(site_ids=[site.pk])[site.pk])


@sites_router.get(
    "/{code}/sessions",
    response={200: list[SessionOut], **ERRORS},
    summary="接种单位的场次与预约时段（实时剩余名额）",
)
def site_sessions(request, code: str, from_: Query[Day | None, P(alias="from")] = None, days: int = 14):
    """从 ``from``（YYYY-MM-DD，默认今天）起 ``days`` 天（1–62）内计划中或已开诊的场次，每个时段给出容量、现场号、
    开放预约剩余、各村/单位预留名额剩余和合计剩余（``remaining``），均为实时数据。"""
    require(request.user, "sites.view_session")
    if not 1 <= days <= DAYS_MAX:
        raise ValidationFailed(
            _("days 须在1到%(days_max)s之间") % {"days_max": DAYS_MAX},
            field="days",
            code=BookingErrorCode.DAYS_INVALID,
        )
    site = _site(code)
    return [
        _session_out(s, s.slots.all())
        for s in selectors.sessions_upcoming(site=site, start=from_ or clock.today(), days=days)
    ]


@sites_router.post(
    "/{code}/sessions",
    response={201: SessionOut, **ERRORS},
    summary="安排场次（按开放时间切分预约时段；支持 Idempotency-Key）",
)
def session_plan(request, code: str, payload: SessionPlanIn):
    """在 ``day`` 为该接种单位安排一个场次：开放时间按预约时段长度切分，每个时段容量 = 接种台数 × 每台每小时接种人数
    × 时段分钟 / 60，其中按现场号比例留出现场号。``desks`` 默认为登记的接种台数。过去的日期、停诊日和已有场次的日期不能安排。
    县疾控中心和乡镇（街道）工作人员可安排管辖范围内接种单位的场次。"""
    site = _site(code)
    _site_in_scope(request.user, site, "sites.add_session")
    data = {"site": site.code, **payload.dict()}

    def work():
        s = site_services.session_plan(actor=request.user, site=site, day=payload.day, desks=payload.desks)
        return 201, _session_out(s, selectors.slots_of_session(session=s))

    return idempotent_status(request, data, work)


@sites_router.get(
    "/sessions/{int:session_id}",
    response={200: SessionDetailOut, **ERRORS},
    summary="场次详情（“四有”确认、排班、能否开诊）",
)
def get_session(request, session_id: Id):
    """“四有”四项（医护人员在岗、急救药品器械、120救护车待命、转诊路线与绿色通道）各自是否已确认、由谁确认，
    未确认的项目（``missing``），各工作台排班，以及现在能否开诊（``may_open``，不能时 ``may_open_reason`` 说明原因）。"""
    return _session_detail(site_selectors.session_get(user=request.user, session_id=session_id))


@sites_router.post(
    "/sessions/{int:session_id}/reserve",
    response={200: ReserveOut, **ERRORS},
    summary="为村（社区）或单位预留名额（支持 Idempotency-Key）",
)
def session_reserve(request, session_id: Id, payload: ReserveIn):
    """从场次尚未开始的时段的开放名额中预留 ``places`` 个给一个村（``key`` 为 ``V:<村级区划代码>``）或单位
    （``E:<单位编号>``），按各时段空余名额比例分配；已被预约的名额不会被挪用。预留的名额只有该村或该单位的人员可以预约。"""
    s = _session(session_id)
    _site_in_scope(request.user, s.site, "booking.add_slotquota")
    data = {"session": session_id, **payload.dict()}

    def work():
        n = services.session_reserve(
            actor=request.user,
            session=s,
            key=payload.key.strip(),
            label=payload.label.strip(),
            places=payload.places,
        )
        return 200, {"reserved": n, "session": _session_out(s, selectors.slots_of_session(session=s))}

    return idempotent_status(request, data, work)


@sites_router.post(
    "/sessions/{int:session_id}/readiness",
    response={201: SessionDetailOut, **ERRORS},
    summary="确认“四有”一项（支持 Idempotency-Key）",
)
def session_readiness(request, session_id: Id, payload: ReadinessIn):
    """``item``：medical_staff 医护人员在岗、emergency_kit 急救药品器械、ambulance 120救护车待命、
    green_channel 转诊路线与绿色通道；每项每场次确认一次，记录确认人和时间。返回场次详情。"""
    s = _session(session_id)
    _site_in_scope(request.user, s.site, "sites.add_readinesscheck")
    data = {"session": session_id, **payload.dict()}

    def work():
        site_services.readiness_confirm(actor=request.user, session=s, item=payload.item, note=payload.note)
        return 201, _session_detail(s)

    return idempotent_status(request, data, work)


@sites_router.post(
    "/sessions/{int:session_id}/assignments",
    response={201: SessionDetailOut, **ERRORS},
    summary="排班：安排工作人员到工作台（持证上岗；支持 Idempotency-Key）",
)
def session_assignment(request, session_id: Id, payload: AssignmentIn):
    """``role``：screening 预检、registration 登记、vaccination 接种、observation 留观、rescue 医疗救治。
    岗位须是该人员登记的岗位并与工作台类型相符，且当天持有该岗位所需的有效证书（接种人员须有有效的培训合格证）；
    每人每场次一个工作台。返回场次详情。"""
    s = _session(session_id)
    _site_in_scope(request.user, s.site, "sites.add_assignment")
    staff = site_selectors.staff_member_get(staff_id=payload.staff_id)
    if staff is None:
        raise NotFound(_("工作人员不存在"), field="staff_id", code=SitesErrorCode.STAFF_NOT_FOUND)
    desk = site_selectors.desk_get(desk_id=payload.desk_id)
    if desk is None:
        raise NotFound(_("工作台不存在"), field="desk_id", code=SitesErrorCode.DESK_NOT_FOUND)
    data = {"session": session_id, **payload.dict()}

    def work():
        site_services.assignment_add(actor=request.user, session=s, staff=staff, desk=desk, role=payload.role)
        return 201, _session_detail(s)

    return idempotent_status(request, data, work)


@sites_router.post(
    "/sessions/{int:session_id}/open",
    response={200: SessionDetailOut, **ERRORS},
    summary="开诊（“四有”齐全、有定点救治医院、各岗位有人；支持 Idempotency-Key）",
)
def session_open(request, session_id: Id):
    """只有计划中的场次可以开诊；“四有”未全部确认、没有定点救治医院或有岗位无人值守时拒绝，并说明缺什么。"""
    s = _session(session_id)
    _site_in_scope(request.user, s.site, "sites.change_session")

    def work():
        site_services.session_open(actor=request.user, session=s)
        return 200, _session_detail(s)

    return idempotent_status(request, {"session": session_id, "action": "open"}, work)


@sites_router.post(
    "/sessions/{int:session_id}/close",
    response={200: SessionDetailOut, **ERRORS},
    summary="结束场次（支持 Idempotency-Key）",
)
def session_close(request, session_id: Id):
    """结束后该场次不能再预约。"""
    s = _session(session_id)
    _site_in_scope(request.user, s.site, "sites.change_session")

    def work():
        site_services.session_close(actor=request.user, session=s)
        return 200, _session_detail(s)

    return idempotent_status(request, {"session": session_id, "action": "close"}, work)


# --------------------------------------------------------------------------------------------------
# /booking: slots, appointments, waiting list, employer bookings
# --------------------------------------------------------------------------------------------------


@router.get(
    "/slots",
    response={200: list[DaySlotOut], **ERRORS},
    exclude_none=True,
    summary="某接种单位某天的预约时段（实时剩余名额）",
)
def day_slots(request, site: str, day: Day, resident_id: Id | None = None):
    """``site`` 为接种单位编码，``day`` 为 YYYY-MM-DD。给出 ``resident_id``（须在您的管辖范围内）时，
    每个时段另给 ``bookable``：该居民可用的名额（开放名额加其所在村或单位的预留名额）。"""
    require(request.user, "booking.view_slot")
    person = None
    if resident_id is not None:
        person = selectors.resident_for_booking(user=request.user, resident_id=resident_id)
    return _day_slots(site, day, for_resident=person)


@router.post(
    "/appointments",
    response={201: AppointmentOut, **ERRORS, **E409},
    summary="预约（支持 Idempotency-Key；约满时409）",
)
def book(request, payload: BookIn):
    """为管辖范围内的居民预约一个时段：先按接种规则判断（是否符合当前阶段、第几剂、是否到时间），再占用一个名额
    （优先用其所在单位或村的预留名额，再用开放名额），并发送预约短信。居民不在管辖范围内为404；时段已约满为409
    ``slot_full``；不符合条件或已有同剂次的有效预约为400，``message`` 说明原因。相同 ``Idempotency-Key`` 的重试返回第一次的结果。"""
    require(request.user, "booking.add_appointment")
    channel = selectors.channel_for(request.user)
    data = payload.dict()

    def work():
        # The person in scope is looked up here, after the early "full" answer: a full slot is full for
        # anyone, so that answer says nothing about the person.
        resident = selectors.resident_for_booking(user=request.user, resident_id=payload.resident_id)
        try:
            # The service fetches the slot itself (with its session and site): no look-up here.
            a = services.appointment_book(
                actor=request.user, resident=resident, slot=Slot(pk=payload.slot_id), channel=channel
            )
        except Slot.DoesNotExist:
            raise NotFound(_("预约时段不存在"), field="slot", code=BookingErrorCode.SLOT_NOT_FOUND) from None
        return 201, _appointment(a)

    try:
        return idempotent_status(request, data, work, lambda: services.slot_full_refuse(payload.slot_id))
    except services.SlotFull as e:
        return _slot_full(e)


@router.get(
    "/appointments",
    response={200: AppointmentPage, **ERRORS},
    summary="预约列表（管辖范围内，姓名脱敏，分页）",
)
def list_appointments(
    request,
    resident_id: Id | None = None,
    session_id: Id | None = None,
    status: str = "",
    limit: int = PAGE_DEFAULT,
    offset: Offset = 0,
):
    """管辖范围内居民的预约，按时段先后排列；可按居民、场次和状态（booked 已预约 / checked_in 已签到 /
    completed 已接种 / cancelled 已取消 / no_show 爽约）筛选。姓名脱敏，不显示证件号码。"""
    offset, limit = _window(offset, limit)
    qs = selectors.appointments_visible(user=request.user)
    if resident_id is not None:
        qs = qs.filter(resident_id=resident_id)
    if session_id is not None:
        qs = qs.filter(slot__session_id=session_id)
    if status:
        if status not in AppointmentStatus.values:
            raise ValidationFailed(
                _("未知的预约状态：%(status)s") % {"status": status},
                field="status",
                code=BookingErrorCode.APPOINTMENT_STATUS_UNKNOWN,
            )
        qs = qs.filter(status=status)
    qs = qs.order_by("slot__start", "id")
    return {"items": [_appointment_detail(a) for a in qs[offset : offset + limit]], "count": qs.count()}


@router.get(
    "/appointments/{int:appointment_id}",
    response={200: AppointmentDetailOut, **ERRORS},
    summary="预约详情（姓名脱敏）",
)
def get_appointment(request, appointment_id: Id):
    """管辖范围外的预约与不存在的一样为404。"""
    return _appointment_detail(_visible_appointment(request.user, appointment_id))


@router.post(
    "/appointments/{int:appointment_id}/cancel",
    response={200: AppointmentDetailOut, **ERRORS},
    summary="取消预约（名额退回并自动分给候补；支持 Idempotency-Key）",
)
def cancel(request, appointment_id: Id, payload: CancelIn):
    """只能取消“已预约”状态的预约；退回的名额立即按登记先后分给该场次的候补居民。"""
    require(request.user, "booking.change_appointment")
    a = _visible_appointment(request.user, appointment_id)
    data = {"appointment": appointment_id, **payload.dict()}
    return idempotent_status(
        request,
        data,
        lambda: (
            200,
            _reload(
                services.appointment_cancel(actor=request.user, appointment=a, reason=payload.reason.strip())
            ),
        ),
    )


@router.post(
    "/appointments/{int:appointment_id}/reschedule",
    response={200: AppointmentDetailOut, **ERRORS, **E409},
    summary="改约到另一个时段（支持 Idempotency-Key；新时段约满时409且原预约不变）",
)
def reschedule(request, appointment_id: Id, payload: RescheduleIn):
    """原名额退回、新名额占用在同一事务中完成：新时段约满（409 ``slot_full``）或不符合条件（400）时原预约保持不变。
    返回新的预约（原预约变为“已取消”）。"""
    require(request.user, "booking.change_appointment")
    a = _visible_appointment(request.user, appointment_id)
    slot = _slot(payload.slot_id)
    data = {"appointment": appointment_id, **payload.dict()}
    try:
        return idempotent_status(
            request,
            data,
            lambda: (
                200,
                _reload(
                    services.appointment_reschedule(
                        actor=request.user, appointment=a, slot=slot, reason=payload.reason.strip()
                    )
                ),
            ),
        )
    except services.SlotFull as e:
        return _slot_full(e)


@router.post(
    "/appointments/{int:appointment_id}/check-in",
    response={200: AppointmentDetailOut, **ERRORS},
    summary="签到（接种单位登记人员或县疾控中心，仅限预约当天；支持 Idempotency-Key）",
)
def check_in(request, appointment_id: Id):
    """受种者到达接种单位后登记签到；只能在预约当天签到，只有“已预约”的可以签到。接种单位人员可为在本单位
    （管辖范围内的接种单位）预约的任何人签到。"""
    require(request.user, "booking.change_appointment")
    require(request.user, "sites.change_session")
    a = _check_in_appointment(request.user, appointment_id)
    return idempotent_status(
        request,
        {"appointment": appointment_id, "action": "check-in"},
        lambda: (200, _reload(services.appointment_check_in(actor=request.user, appointment=a))),
    )


def _check_in_appointment(user, appointment_id: int) -> Appointment:
    """An appointment of a person in the user's scope, or at a site in the user's scope (the people who
    come to a site live anywhere in the county)."""
    found = selectors.appointment_for_check_in(user=user, appointment_id=appointment_id)
    if found is None:
        raise NotFound(
            _("预约不存在或不在您的管辖范围内"),
            field="appointment",
            code=BookingErrorCode.APPOINTMENT_NOT_FOUND,
        )
    return found


@router.post("/waitlist", response={201: WaitlistOut, **ERRORS}, summary="登记候补（支持 Idempotency-Key）")
def waitlist_join(request, payload: WaitlistIn):
    """场次约满时为管辖范围内的居民登记候补；有人取消时按登记先后自动转为预约（并发短信）。每人每场次候补一次。"""
    require(request.user, "booking.add_waitlistentry")
    resident = selectors.resident_for_booking(user=request.user, resident_id=payload.resident_id)
    s = _session(payload.session_id)
    channel = selectors.channel_for(request.user)

    def work():
        e = services.waitlist_join(actor=request.user, resident=resident, session=s, channel=channel)
        return 201, {
            "id": e.pk,
            "resident_id": e.resident_id,
            "session_id": e.session_id,
            "dose_number": e.dose_number,
            "status": e.status,
            "channel": e.channel,
            "created_at": _iso(e.created_at),
        }

    return idempotent_status(request, payload.dict(), work)


@router.post(
    "/employer",
    response={200: EmployerBookOut, **ERRORS},
    summary="单位集体预约（单位联络员；支持 Idempotency-Key）",
)
def employer_book(request, payload: EmployerBookIn):
    """按时段先后为本单位人员预约该场次：先用本单位的预留名额，再用开放名额；每人单独判断，一人不符合条件不影响其他人。
    ``resident_ids`` 缺省时为本单位全部尚无有效预约的人员。返回已预约（``booked``）、不符合条件（``refused``，
    附原因）和没有名额（``unplaced``）的人员，姓名脱敏。"""
    user = request.user
    require(user, "booking.add_appointment")
    if not getattr(user, "employer_id", None):
        raise PermissionDenied(_("只有单位联络员可以为本单位人员集体预约"), code=CoreErrorCode.ROLE_FORBIDDEN)
    s = _session(payload.session_id)
    people = None
    if payload.resident_ids is not None:
        ids = list(dict.fromkeys(payload.resident_ids))
        found = {
            p.pk: p
            for p in residents_visible(user=user)
            .select_related("priority_group")
            .filter(pk__in=ids, employer_id=user.employer_id)
        }
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(
                _("居民不存在或不是本单位人员：%(ids)s") % {"ids": "、".join(map(str, missing))},
                field="resident_ids",
                code=RegistryErrorCode.RESIDENT_NOT_FOUND,
            )
        people = [found[i] for i in ids]

    def work():
        result = services.employer_book(actor=user, employer=user.employer, session=s, residents=people)
        return 200, {
            "booked": [_appointment(a) for a in result["booked"]],
            "refused": [
                {"resident_id": p.pk, "name": mask_name(p.name), "reason": why}
                for p, why in result["refused"]
            ],
            "unplaced": [{"resident_id": p.pk, "name": mask_name(p.name)} for p in result["unplaced"]],
        }

    return idempotent_status(request, payload.dict(), work)


# --------------------------------------------------------------------------------------------------
# /booking/self: the resident's own door (no account; a one-time code, then X-Self-Token)
# --------------------------------------------------------------------------------------------------


@router.post(
    "/self/identify",
    response={200: SentOut, **E400, **E429},
    auth=None,
    summary="本人预约第一步：核对姓名、证件号码、手机号并发送验证码（无须登录）",
)
@decorate_view(throttle("self.identify"))
def self_identify(request, payload: IdentifyIn):
    """三项与登记信息一致时，验证码发到登记的手机（10分钟内有效，1分钟内不重发，每小时最多5次）。
    无论是否登记、哪一项不一致，回答都相同（200，“若信息已登记，验证码已发送”），不透露此人是否存在。
    证件号码或手机号格式不对为400；同一地址、同一证件号码或同一手机号请求过多为429 ``rate_limited``。"""
    services.self_identify(name=payload.name, id_number=payload.id_number, phone=payload.phone)
    return {"sent": True, "message": services.SELF_CODE_SENT}


@router.post(
    "/self/verify",
    response={200: SelfVerifyOut, **E400, **E429},
    auth=None,
    summary="本人预约第二步：校验验证码，取得30分钟有效的身份凭证（无须登录）",
)
@decorate_view(throttle("self.verify"))
def self_verify(request, payload: SelfVerifyIn):
    """验证码正确时返回 ``token``（之后的请求放在 ``X-Self-Token`` 请求头中，30分钟内有效）以及本人的脱敏姓名、
    接种状态和下一剂信息。验证码错误5次作废。"""
    person = services.self_verify(id_number=payload.id_number, phone=payload.phone, code=payload.code)
    return {
        "token": selfservice.self_token_issue(person),
        "expires_in": int(selfservice.TOKEN_MAX_AGE.total_seconds()),
        "resident": selfservice.self_summary(person),
    }


@router.get(
    "/self/slots",
    response={200: list[DaySlotOut], **SELF_ERRORS},
    auth=None,
    exclude_none=True,
    summary="本人预约：某接种单位某天的预约时段（无须登录）",
)
@decorate_view(throttle("self"))
def self_slots(request, site: str, day: Day, x_self_token: SelfToken = None):
    """``site`` 为接种单位编码，``day`` 为 YYYY-MM-DD。带 ``X-Self-Token`` 请求头时，每个时段另给 ``bookable``：
    本人可用的名额（开放名额加本人所在村或单位的预留名额）。"""
    person = None
    if x_self_token:
        person = _self_resident(x_self_token)
        if isinstance(person, Status):
            return person
    return _day_slots(site, day, for_resident=person)


@router.post(
    "/self/appointments",
    response={201: AppointmentDetailOut, **SELF_ERRORS, **E409},
    auth=None,
    summary="本人预约（须 X-Self-Token；约满时409）",
)
@decorate_view(throttle("self"))
def self_book(request, payload: SelfBookIn, x_self_token: SelfToken = None):
    """为身份凭证对应的本人预约一个时段（渠道为“本人预约”），规则与代约相同：不符合条件或已有同剂次的有效预约为400，
    约满为409 ``slot_full``。凭证缺失或过期为401，被篡改为403。"""
    person = _self_resident(x_self_token)
    if isinstance(person, Status):
        return person
    try:
        a = services.appointment_book(
            actor=selfservice.self_actor(person),
            resident=person,
            slot=Slot(pk=payload.slot_id),
            channel="self",
        )
    except Slot.DoesNotExist:
        raise NotFound(_("预约时段不存在"), field="slot", code=BookingErrorCode.SLOT_NOT_FOUND) from None
    except services.SlotFull as e:
        return _slot_full(e)
    return Status(201, _reload(a))


@router.get(
    "/self/appointments",
    response={200: list[AppointmentDetailOut], **SELF_ERRORS},
    auth=None,
    summary="本人的预约（须 X-Self-Token）",
)
@decorate_view(throttle("self"))
def self_appointments(request, x_self_token: SelfToken = None):
    """身份凭证对应的本人的全部预约，新的在前。"""
    person = _self_resident(x_self_token)
    if isinstance(person, Status):
        return person
    return [
        _appointment_detail(a)
        for a in selectors.appointments_detailed().filter(resident=person).order_by("-slot__start", "-id")
    ]


def _own_appointment(person: Resident, appointment_id: int) -> Appointment:
    found = selectors.appointments_detailed().filter(pk=appointment_id, resident=person).first()
    if found is None:
        raise NotFound(_("预约不存在"), field="appointment", code=BookingErrorCode.APPOINTMENT_NOT_FOUND)
    return found


@router.get(
    "/self/appointments/{int:appointment_id}",
    response={200: AppointmentDetailOut, **SELF_ERRORS},
    auth=None,
    summary="本人的一个预约（须 X-Self-Token）",
)
@decorate_view(throttle("self"))
def self_appointment(request, appointment_id: Id, x_self_token: SelfToken = None):
    """只能查看本人的预约；别人的预约与不存在的一样为404。"""
    person = _self_resident(x_self_token)
    if isinstance(person, Status):
        return person
    return _appointment_detail(_own_appointment(person, appointment_id))


@router.post(
    "/self/appointments/{int:appointment_id}/cancel",
    response={200: AppointmentDetailOut, **SELF_ERRORS},
    auth=None,
    summary="本人取消预约（须 X-Self-Token）",
)
@decorate_view(throttle("self"))
def self_cancel(request, appointment_id: Id, payload: CancelIn, x_self_token: SelfToken = None):
    """只能取消本人“已预约”状态的预约；名额退回并自动分给候补。"""
    person = _self_resident(x_self_token)
    if isinstance(person, Status):
        return person
    a = _own_appointment(person, appointment_id)
    return _reload(
        services.appointment_cancel(
            actor=selfservice.self_actor(person), appointment=a, reason=payload.reason.strip() or "本人取消"
        )
    )
