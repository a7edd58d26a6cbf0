"""/api/v1/desk: the vaccination desk (接种台) of a site on the day — check-in, informed consent, the scan
("三查七对一验证"), recording a dose, the 30-minute observation, voiding, and the person's record.

The rules live in ``services`` (the desk section) and ``desk`` (pure); these handlers check the role,
call the service and shape the answer. ``POST /desk/doses`` is the hot path: its handler adds no query of
its own to a first recording (the service's ``client_id`` makes a retry return the first dose, so no
``Idempotency-Key`` is needed; one given is honoured as elsewhere). Errors answer ``{"code", "message",
"field"}``: 400 (refused: a failed check names its check code, e.g. ``code_used``), 403 (role or site),
404 (unknown). Residents' ID numbers are masked; names are masked outside the desk's own record.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from django.http import HttpResponse
from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.responses import NinjaJSONEncoder
from pydantic import Field

from vaxops.accounts.scope import require
from vaxops.clinic import services as clinic_services
from vaxops.clinic.models import Dose, Observation
from vaxops.core import clock
from vaxops.core.errors import NotFound, PermissionDenied
from vaxops.core.idempotency import idempotent_status
from vaxops.core.schemas import ErrorOut, Id
from vaxops.registry.domain import mask_id, mask_name
from vaxops.registry.models import Resident
from vaxops.registry.selectors import residents_visible
from vaxops.sites.selectors import site_workable, staff_site_id

from . import domain as desk
from . import selectors
from . import services as desk_services
from .errors import DeskError
from .selectors import found_at_desk_today

router = Router(tags=["desk"])

ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}


# --------------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------------


class ScanIn(Schema):
    scan: str = Field(description="身份证号码（读卡器输入）或预约二维码文本（VXA:…）")


class WalkInIn(Schema):
    resident_id: Id


class ResidentBrief(Schema):
    id: int
    name: str = Field(description="姓名（脱敏）")
    id_masked: str = Field(description="证件号码（脱敏）")


class AppointmentBrief(Schema):
    id: int
    status: str
    status_label: str
    walk_in: bool
    dose_number: int | None
    is_booster: bool
    start: str
    end: str


class CheckInOut(Schema):
    appointment: AppointmentBrief | None
    resident: ResidentBrief | None
    message: str


class ConsentIn(Schema):
    resident_id: Id
    product_code: str
    signer_name: str
    signer_relation: str = "本人"
    signature: str = Field("", description="平板手写签名，PNG data URL（data:image/png;base64,…）")
    refused: bool = False
    refusal_reason: str = ""


class ConsentOut(Schema):
    id: int
    resident_id: Id
    product_code: str
    version: str
    at: str
    signed_on: str
    signer_name: str
    signer_relation: str
    refused: bool
    refusal_reason: str


class ConsentTextOut(Schema):
    product_code: str
    version: str
    effective_from: str
    title: str
    text: str


class DoseCheckIn(Schema):
    resident_id: Id
    code: str = Field(description="扫描的追溯码")
    desk_id: Id | None = None
    injection_site: str = ""


class FailureOut(Schema):
    code: str
    message: str


class DoseCheckOut(Schema):
    ok: bool
    failures: list[FailureOut]
    confirmation: dict[str, Any] | None


class DeskDoseIn(Schema):
    client_id: str = Field(description="接种台生成的请求标识（8–64个字符）；重试时带同一标识，返回同一条记录")
    resident_id: Id
    code: str = Field(description="扫描的追溯码")
    phone_last4: str = Field(description="受种者报出的登记手机号码后4位（一验证）")
    injection_site: str = ""
    injection_note: str = ""
    desk_id: Id | None = None


class DeskDoseOut(Schema):
    id: int
    resident_id: int
    product_code: str
    lot: str | None
    code: str | None
    dose_number: int | None
    is_booster: bool
    given_on: str
    given_at: str | None
    site: str | None
    desk: str | None
    vaccinator: str | None
    injection_site: str
    observation_id: int | None


class DeskVoidIn(Schema):
    reason: str
    disposition: Literal["returned", "wasted"] | None = Field(
        None, description="疫苗去向：returned 未开启退回库存，wasted 已开启报损（扫码登记的接种记录必填）"
    )


class DeskVoidOut(DeskDoseOut):
    voided_at: str
    void_reason: str
    code_state: str | None


class ObservingOut(Schema):
    observation_id: int
    dose_id: int
    resident_id: int
    name: str = Field(description="姓名（脱敏）")
    product_code: str
    started_at: str
    ends_at: str
    minutes_left: int
    status: str
    status_label: str
    reactions: int


class ReleaseIn(Schema):
    reason: str = Field("", description="未满30分钟提前离开时须注明原因（如转诊定点救治医院）")


class ObservationOut(Schema):
    id: int
    dose_id: int
    started_at: str
    released_at: str | None
    release_note: str


class ReactionIn(Schema):
    severity: Literal["mild", "moderate", "severe"]
    description: str
    transferred: bool = False


class ReactionOut(Schema):
    id: int
    observation_id: int
    at: str
    severity: str
    severity_label: str
    description: str
    transferred: bool


class HistoryDoseOut(Schema):
    id: int
    product_code: str
    given_on: str
    dose_number: int | None
    is_booster: bool
    place: str
    external: bool
    lot: str | None
    voided: bool
    void_reason: str


class RecordOut(Schema):
    dose: DeskDoseOut
    resident: dict[str, Any]
    history: list[HistoryDoseOut]
    record_url: str | None = Field(
        None,
        description="本次接种已有的有效私密链接（仅对可向受种者提供链接的角色显示，否则为 null；读取不会生成链接）",
    )


class RecordLinkOut(Schema):
    id: int
    url: str
    expires_at: str


class RecordLinkRevokeIn(Schema):
    reason: str = Field(..., min_length=2, max_length=200)
    link_id: int | None = Field(None, description="只撤销这一个链接；不填则撤销该受种者全部有效链接")


class RecordLinkRevokeOut(Schema):
    revoked: int


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def _brief(r: Resident | None) -> dict | None:
    return None if r is None else {"id": r.pk, "name": mask_name(r.name), "id_masked": mask_id(r.id_number)}


def _appointment(a) -> dict | None:
    if a is None:
        return None
    return {
        "id": a.pk,
        "status": a.status,
        "status_label": a.get_status_display(),
        "walk_in": a.walk_in,
        "dose_number": a.dose_number,
        "is_booster": a.is_booster,
        "start": _iso(a.slot.start),
        "end": _iso(a.slot.end),
    }


def _site_allowed(user, site) -> None:
    """Desk work at ``site`` (``sites.selectors.site_workable``): its own active staff, or a user whose
    jurisdiction covers it (the county CDC)."""
    if not site_workable(user, site):
        raise PermissionDenied(f"{site.name}不在您的管辖范围内", code=DeskError.SITE_OUT_OF_SCOPE)


def _session(session_id: int):
    found = selectors.session_get(session_id)
    if found is None:
        raise NotFound("场次不存在", field="session", code=DeskError.SESSION_NOT_FOUND)
    return found


def _dose(d: Dose) -> dict:
    """The answer for a dose. A dose just recorded holds everything already (no query); a replayed or
    older one loads what it lacks."""
    tc = d.trace_code if d.trace_code_id else None
    try:
        observation_id = d.observation.pk
    except Observation.DoesNotExist:
        observation_id = None
    return {
        "id": d.pk,
        "resident_id": d.resident_id,
        "product_code": d.product_code,
        "lot": d.lot.lot_number if d.lot_id else None,
        "code": tc.code if tc else None,
        "dose_number": d.dose_number,
        "is_booster": d.is_booster,
        "given_on": d.given_on.isoformat(),
        "given_at": _iso(d.given_at),
        "site": d.site.code if d.site_id else None,
        "desk": str(d.desk) if d.desk_id else None,
        "vaccinator": d.vaccinator.name if d.vaccinator_id else None,
        "injection_site": d.injection_site,
        "observation_id": observation_id,
    }


def _rendered(status: int, data: dict) -> HttpResponse:
    """``data`` answered with ``status`` exactly as the API's JSON renderer would answer it."""
    return HttpResponse(
        json.dumps(data, cls=NinjaJSONEncoder), status=status, content_type="application/json; charset=utf-8"
    )


def _dose_visible(user, dose_id: int) -> Dose:
    """A dose of a person in the user's scope, or one given at the user's own site."""
    d = selectors.dose_with_details(dose_id)
    if d is not None:
        site_id = staff_site_id(user)
        if (site_id is not None and d.site_id == site_id) or residents_visible(user=user).filter(
            pk=d.resident_id
        ).exists():
            return d
    raise NotFound("接种记录不存在或不在您的管辖范围内", field="dose", code=DeskError.DOSE_NOT_FOUND)


def _observation(o: Observation) -> dict:
    return {
        "id": o.pk,
        "dose_id": o.dose_id,
        "started_at": _iso(o.started_at),
        "released_at": _iso(o.released_at),
        "release_note": o.release_note,
    }


def _observation_at_my_site(user, observation_id: int) -> Observation:
    o = selectors.observation_with_site(observation_id)
    if o is None:
        raise NotFound("留观记录不存在", field="observation", code=DeskError.OBSERVATION_NOT_FOUND)
    _site_allowed(user, o.site)
    return o


# --------------------------------------------------------------------------------------------------
# Registration desk (登记台)
# --------------------------------------------------------------------------------------------------


@router.post(
    "/sessions/{int:session_id}/check-in",
    response={200: CheckInOut, **ERRORS},
    summary="登记台扫码签到（身份证或预约二维码）",
)
def check_in(request, session_id: Id, payload: ScanIn):
    """扫描身份证（读卡器输入号码）或预约二维码：找到该居民今天在本场次的预约并签到。没有预约时返回居民
    （姓名、证件号码脱敏）和提示，可改用现场登记；查无此人时提示先补录档案。按证件号码查人以“现场登记”为目的留痕。
    只能为今天的场次签到。"""
    require(request.user, "booking.change_appointment")
    session = _session(session_id)
    _site_allowed(request.user, session.site)
    found = desk_services.desk_check_in(actor=request.user, session=session, scan=payload.scan)
    a = found["appointment"]
    if a is not None:
        a = selectors.appointment_with_slot(a.pk)
    return {
        "appointment": _appointment(a),
        "resident": _brief(found["resident"]),
        "message": found["message"],
    }


def _walk_in_resident(user, resident_id: int) -> Resident:
    """A person in the user's jurisdiction, or one this user found by scanning their ID card at the desk
    today (people come to a site from anywhere in the county; a bare id does not open anyone's record)."""
    found = selectors.resident_by_id(resident_id=resident_id)
    if found is not None and (
        residents_visible(user=user).filter(pk=found.pk).exists()
        or found_at_desk_today(user=user, resident_id=found.pk)
    ):
        return found
    raise NotFound(
        "居民不存在或不在您的管辖范围内，请先在登记台扫描其身份证",
        field="resident_id",
        code=DeskError.RESIDENT_NOT_FOUND,
    )


@router.post(
    "/sessions/{int:session_id}/walk-in",
    response={201: CheckInOut, **ERRORS},
    summary="现场登记（无预约者使用现场号，登记即签到；支持 Idempotency-Key）",
)
def walk_in(request, session_id: Id, payload: WalkInIn):
    """为今天来到接种单位、没有预约的居民在当前（或下一个）时段登记现场号，登记后即为已签到。居民须在您的管辖范围内，
    或今天已由您在登记台扫描身份证找到（``check-in`` 返回的 ``resident.id``）。先按接种规则判断是否符合条件；
    现场号用完时为400。居民已在本场次有预约时直接签到。"""
    require(request.user, "booking.add_appointment")
    session = _session(session_id)
    _site_allowed(request.user, session.site)
    resident = _walk_in_resident(request.user, payload.resident_id)
    from vaxops.booking.services import walk_in_register

    def work():
        a = walk_in_register(actor=request.user, resident=resident, session=session)
        a = selectors.appointment_with_slot(a.pk)
        return 201, {
            "appointment": _appointment(a),
            "resident": _brief(resident),
            "message": "已现场登记并签到",
        }

    return idempotent_status(request, {"session": session_id, **payload.dict()}, work)


# --------------------------------------------------------------------------------------------------
# Informed consent (知情同意)
# --------------------------------------------------------------------------------------------------


@router.get(
    "/consent-texts/{product_code}",
    response={200: ConsentTextOut, **ERRORS},
    summary="疫苗品种现行的知情同意书",
)
def consent_text(request, product_code: str):
    """今天生效的知情同意书版本（签署时记录所签版本）。"""
    if not (request.user.has_perm("clinic.view_consenttext") or request.user.has_perm("clinic.add_consent")):
        raise PermissionDenied("您的角色无权执行此操作", code=DeskError.ROLE_FORBIDDEN)
    text = selectors.consent_text_current(product_code=product_code, on=clock.today())
    if text is None:
        raise NotFound(
            f"疫苗品种“{product_code}”没有知情同意书",
            field="product_code",
            code=DeskError.CONSENT_TEXT_MISSING,
        )
    return {
        "product_code": text.product_code,
        "version": text.version,
        "effective_from": text.effective_from.isoformat(),
        "title": text.title,
        "text": text.text,
    }


@router.post(
    "/consents",
    response={201: ConsentOut, **ERRORS},
    summary="签署知情同意书或记录拒绝签署（支持 Idempotency-Key）",
)
def consent(request, payload: ConsentIn):
    """受种者（或监护人）在平板上阅读现行知情同意书并手写签名（``signature`` 为 PNG data URL）；拒绝签署时
    ``refused`` 为 true 并填写 ``refusal_reason``。受种者须已在今天签到。"""
    require(request.user, "clinic.add_consent")

    def work():
        c = desk_services.consent_record(
            actor=request.user,
            resident_id=payload.resident_id,
            product_code=payload.product_code,
            signer_name=payload.signer_name,
            signer_relation=payload.signer_relation,
            signature=payload.signature,
            refused=payload.refused,
            refusal_reason=payload.refusal_reason,
        )
        return 201, {
            "id": c.pk,
            "resident_id": c.resident_id,
            "product_code": c.text.product_code,
            "version": c.text.version,
            "at": _iso(c.at),
            "signed_on": c.signed_on.isoformat(),
            "signer_name": c.signer_name,
            "signer_relation": c.signer_relation,
            "refused": c.refused,
            "refusal_reason": c.refusal_reason,
        }

    return idempotent_status(request, payload.dict(), work)


# --------------------------------------------------------------------------------------------------
# Vaccination desk (接种台)
# --------------------------------------------------------------------------------------------------


@router.post(
    "/doses/check",
    response={200: DoseCheckOut, **ERRORS},
    summary="扫码核查（三查七对：全部硬性拦截项与核对信息，不写入）",
)
def dose_check(request, payload: DoseCheckIn):
    """为已签到的受种者扫描追溯码：逐项核查预检、知情同意、追溯码（格式、是否存在、已使用、报损、召回、在途、
    是否在本单位）、批号（召回、暂停、过期）、剂次与品种、接种时间、年龄、接种人员持证与排班。``failures``
    列出每个未通过项的 ``code`` 与中文原因；全部通过时 ``confirmation`` 为接种前唱读核对的信息（七对）。不写入任何记录。"""
    require(request.user, "clinic.administer_dose")
    return desk_services.dose_check(
        actor=request.user,
        resident_id=payload.resident_id,
        code=payload.code,
        desk_id=payload.desk_id,
        injection_site=payload.injection_site,
    )


@router.post(
    "/doses",
    response={201: DeskDoseOut, **ERRORS},
    summary="登记接种（一人一苗一扫码；client_id 重试返回同一条记录）",
)
def dose_record(request, payload: DeskDoseIn):
    """扫码核查全部通过、受种者报出手机号码后4位确认身份后登记接种：同一事务写入接种记录、追溯码出库与库存台账、
    预约完成和留观开始。任一核查未通过为400，``code`` 为第一个未通过项（如 ``screening``、``consent``、
    ``code_used``），``message`` 列出全部原因。``client_id`` 由接种台生成：网络重试时带同一 ``client_id`` 返回
    第一次登记的记录（201，内容相同），不会产生第二条记录；同一 ``client_id`` 用于另一人或另一追溯码为400。"""
    require(request.user, "clinic.administer_dose")

    def work():
        return 201, _dose(
            desk_services.dose_administer(
                actor=request.user,
                resident_id=payload.resident_id,
                code=payload.code,
                client_id=payload.client_id,
                phone_last4=payload.phone_last4,
                injection_site=payload.injection_site,
                injection_note=payload.injection_note,
                desk_id=payload.desk_id,
            )
        )

    if "idempotency-key" not in request.headers:
        # The hot path (client_id is the idempotency): the answer as ninja would render it from DeskDoseOut,
        # without validating again what ``_dose`` has just built with the schema's types and field order.
        return _rendered(*work())
    return idempotent_status(request, payload.dict(), work)


@router.post(
    "/doses/{int:dose_id}/void",
    response={200: DeskVoidOut, **ERRORS},
    summary="作废接种记录（县疾控中心；须说明原因并选择疫苗去向；支持 Idempotency-Key）",
)
def dose_void(request, dose_id: Id, payload: DeskVoidIn):
    """接种记录登记错误时作废（记录保留，不再参与评估）。扫码登记的记录须选择疫苗去向：``returned`` 未开启，
    追溯码退回库存、库存加回；``wasted`` 已开启，按损耗处理。预约改为已取消，该剂次可重新预约。"""

    def work():
        d = clinic_services.dose_void(
            actor=request.user, dose_id=dose_id, reason=payload.reason, disposition=payload.disposition
        )
        d = selectors.dose_with_details(d.pk)
        return 200, {
            **_dose(d),
            "voided_at": _iso(d.voided_at),
            "void_reason": d.void_reason,
            "code_state": d.trace_code.state if d.trace_code_id else None,
        }

    return idempotent_status(request, {"dose": dose_id, **payload.dict()}, work)


@router.get(
    "/doses/{int:dose_id}/record",
    response={200: RecordOut, **ERRORS},
    summary="接种记录与受种者全部接种史（证件号码脱敏），附电子接种记录链接",
)
def dose_record_get(request, dose_id: Id):
    """本次接种记录、受种者全部接种史（含外地补录和已作废的）与本次接种已有的电子接种记录私密链接
    ``record_url``（``/r/<令牌>/``，30天内有效；只对登记台、留观台和县疾控显示，读取从不生成链接，
    生成请用 ``POST …/record-link``）。"""
    require(request.user, "clinic.view_dose")
    d = _dose_visible(request.user, dose_id)
    resident = selectors.resident_by_id(resident_id=d.resident_id)
    history = [
        {
            "id": h.pk,
            "product_code": h.product_code,
            "given_on": h.given_on.isoformat(),
            "dose_number": h.dose_number,
            "is_booster": h.is_booster,
            "place": h.place,
            "external": h.external,
            "lot": h.lot.lot_number if h.lot_id else None,
            "voided": h.voided_at is not None,
            "void_reason": h.void_reason,
        }
        for h in selectors.dose_history(resident.pk)
    ]
    return {
        "dose": _dose(d),
        "resident": {
            "id": resident.pk,
            "name": resident.name,
            "id_masked": mask_id(resident.id_number),
            "birth_date": resident.birth_date.isoformat() if resident.birth_date else None,
        },
        "history": history,
        "record_url": _record_url(request.user, d),
    }


def _record_url(user, dose: Dose) -> str | None:
    if not clinic_services.may_share_record_link(user):
        return None
    links = clinic_services.record_link_active(resident_id=dose.resident_id, dose_id=dose.pk)
    return clinic_services.record_link_url(links[0]) if links else None


@router.post(
    "/doses/{int:dose_id}/record-link",
    response={201: RecordLinkOut, **ERRORS},
    summary="为受种者生成电子接种记录私密链接（登记台、留观台、县疾控；留痕）",
)
def record_link_create(request, dose_id: int):
    """新链接 ``/r/<令牌>/``（同一令牌打开 ``/certs/<令牌>/`` 接种凭证），30天内有效，可撤销。"""
    link = clinic_services.record_link_create(actor=request.user, dose_id=dose_id)
    return Status(
        201,
        {"id": link.pk, "url": clinic_services.record_link_url(link), "expires_at": _iso(link.expires_at)},
    )


@router.post(
    "/doses/{int:dose_id}/record-link/revoke",
    response={200: RecordLinkRevokeOut, **ERRORS},
    summary="应受种者要求撤销其电子接种记录链接（一个或全部；留痕）",
)
def record_link_revoke(request, dose_id: int, payload: RecordLinkRevokeIn):
    n = clinic_services.record_links_revoke(
        actor=request.user, dose_id=dose_id, reason=payload.reason, link_id=payload.link_id
    )
    return {"revoked": n}


# --------------------------------------------------------------------------------------------------
# Observation (留观)
# --------------------------------------------------------------------------------------------------


@router.get(
    "/sites/{site_code}/observation",
    response={200: list[ObservingOut], **ERRORS},
    summary="留观区：正在留观的受种者与剩余时间",
)
def observation_list(request, site_code: str):
    """本接种单位尚未离开留观区的受种者（姓名脱敏），按开始时间排列：剩余分钟数（``minutes_left``，期满为0）、
    状态（observing 留观中 / due 留观期满可离开）和已记录的异常反应数。"""
    require(request.user, "clinic.view_observation")
    site = selectors.site_by_code(site_code)
    if site is None:
        raise NotFound(f"接种单位“{site_code}”不存在", field="site", code=DeskError.SITE_NOT_FOUND)
    _site_allowed(request.user, site)
    now = clock.now()
    rows = []
    for o in selectors.observations_open(site):
        left = desk.observation_left(o.started_at, now)
        status = desk.observation_status(o.started_at, None, now)
        rows.append(
            {
                "observation_id": o.pk,
                "dose_id": o.dose_id,
                "resident_id": o.dose.resident_id,
                "name": mask_name(o.dose.resident.name),
                "product_code": o.dose.product_code,
                "started_at": _iso(o.started_at),
                "ends_at": _iso(desk.observation_ends(o.started_at)),
                "minutes_left": -(-int(left.total_seconds()) // 60),
                "status": status.value,
                "status_label": status.label_zh,
                "reactions": o.n_reactions,
            }
        )
    return rows


@router.post(
    "/observations/{int:observation_id}/release",
    response={200: ObservationOut, **ERRORS},
    summary="结束留观放行（满30分钟；提前离开须注明原因）",
)
def observation_release(request, observation_id: Id, payload: ReleaseIn):
    """留观满30分钟后放行；未满30分钟时须在 ``reason`` 中注明提前离开的原因（如转诊定点救治医院），否则为400，
    ``message`` 说明还需多少分钟。"""
    require(request.user, "clinic.change_observation")
    _observation_at_my_site(request.user, observation_id)
    return _observation(
        desk_services.observation_release(
            actor=request.user, observation_id=observation_id, reason=payload.reason
        )
    )


@router.post(
    "/observations/{int:observation_id}/reactions",
    response={201: ReactionOut, **ERRORS},
    summary="记录留观期间的异常反应（支持 Idempotency-Key）",
)
def reaction_add(request, observation_id: Id, payload: ReactionIn):
    """``severity``：mild 轻微 / moderate 较重 / severe 严重；``description`` 写明表现与处置；转诊定点救治医院时
    ``transferred`` 为 true。"""
    require(request.user, "clinic.add_reactionnote")
    _observation_at_my_site(request.user, observation_id)

    def work():
        n = desk_services.reaction_note_add(
            actor=request.user,
            observation_id=observation_id,
            severity=payload.severity,
            description=payload.description,
            transferred=payload.transferred,
        )
        return 201, {
            "id": n.pk,
            "observation_id": n.observation_id,
            "at": _iso(n.at),
            "severity": n.severity,
            "severity_label": n.get_severity_display(),
            "description": n.description,
            "transferred": n.transferred,
        }

    return idempotent_status(request, {"observation": observation_id, **payload.dict()}, work)
