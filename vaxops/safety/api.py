"""``/api/v1/safety``: report a suspected adverse event (AEFI) against a dose, list and read the cases in the
user's scope. Health details only for the roles that handle cases; names masked; stable error codes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from vaxops.core import clock
from vaxops.core.errors import CoreErrorCode, NotFound, PermissionDenied, ValidationFailed
from vaxops.core.idempotency import idempotent_status
from vaxops.core.schemas import ErrorOut, Id, Offset
from vaxops.registry.domain import mask_name

from . import domain, selectors, services
from .errors import SafetyErrorCode

router = Router(tags=["safety"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}


class ReportIn(Schema):
    dose: int = Field(ge=1, description="接种记录编号")
    onset_at: dt.datetime = Field(description="发病时间（ISO 8601，须带时区）")
    discovered_at: dt.datetime | None = Field(None, description="发现时间（默认为现在）")
    signs: list[str] = Field(max_length=20, description='主要临床表现，如 ["发热", "皮疹"]')
    description: str = Field("", max_length=2000)
    criteria: list[str] = Field(
        default_factory=list,
        max_length=7,
        description="严重性：death、life_threatening、hospitalisation、disability、serious_disability、"
        "congenital、other_medical；空为非严重",
    )
    major_concern: bool = False
    treatment: str = Field("", max_length=2000)
    outcome: str = Field("unknown", max_length=20)
    reporter_name: str = Field(max_length=50)
    reporter_unit: str = Field("", max_length=100)
    reporter_phone: str = Field("", max_length=40)
    refer: bool = Field(False, description="同时转诊至对口医院（严重者至严重异常反应定点医院）")


class ClockOut(Schema):
    name: str
    due: str
    state: str


class CaseOut(Schema):
    id: int
    number: str
    status: str
    status_label: str
    person: str = Field(description="受种者姓名（脱敏）")
    product_code: str
    lot: str | None
    site: str | None
    source: str
    onset_at: str
    reported_at: str
    serious: bool
    cluster: bool
    classification: str
    hospital: str | None
    clocks: list[ClockOut]
    signs: list[str] | None = Field(description="健康信息：仅处置个案的角色可见，其他为 null")
    criteria: list[str] | None
    description: str | None
    treatment: str | None
    outcome: str | None


def _aware(value: dt.datetime | None, field: str) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValidationFailed(
            _("时间须带时区：%(f)s") % {"f": field}, field=field, code=SafetyErrorCode.ONSET_INVALID
        )
    return value


def _case_out(r, *, health: bool) -> dict:
    clocks = domain.clocks(r.case_times(), clock.now())
    return {
        "id": r.pk,
        "number": r.number,
        "status": r.status,
        "status_label": r.get_status_display(),
        "person": mask_name(r.resident.name),
        "product_code": r.product_code,
        "lot": r.lot.lot_number if r.lot_id else None,
        "site": r.site.name if r.site_id else None,
        "source": r.source,
        "onset_at": r.onset_at.isoformat(),
        "reported_at": r.reported_at.isoformat(),
        "serious": r.serious,
        "cluster": r.cluster,
        "classification": r.classification,
        "hospital": r.hospital.name if r.hospital_id else None,
        "clocks": [{"name": str(c.kind), "due": c.due.isoformat(), "state": str(c.state)} for c in clocks],
        "signs": list(r.signs) if health else None,
        "criteria": list(r.criteria) if health else None,
        "description": r.description if health else None,
        "treatment": r.treatment if health else None,
        "outcome": r.outcome if health else None,
    }


def _need_cases(user) -> None:
    if not user.has_perm("safety.view_adverseeventreport"):
        raise PermissionDenied(_("您的角色无权查看疑似异常反应个案"), code=CoreErrorCode.ROLE_FORBIDDEN)


@router.post(
    "/reports",
    response={201: CaseOut, **ERRORS},
    summary="报告疑似预防接种异常反应（按接种记录；支持 Idempotency-Key）",
)
def report_post(request, payload: ReportIn):
    """接种单位、医院、县疾控报告一例疑似异常反应：关联接种记录（及其追溯码、批号、疫苗、接种单位、接种人员），
    记录发病时间、临床表现、严重性、治疗与转归；``refer`` 为真时同时转诊。"""
    user = request.user
    if not user.has_perm("safety.add_adverseeventreport"):
        raise PermissionDenied(_("您的角色无权报告疑似异常反应"), code=CoreErrorCode.ROLE_FORBIDDEN)
    data = payload.dict()

    def work():
        dose = selectors.dose_reportable(user=user, dose_id=data["dose"])
        if dose is None:
            raise NotFound(
                _("接种记录 %(d)s 不存在或不在您的辖区") % {"d": data["dose"]},
                field="dose",
                code=SafetyErrorCode.DOSE_NOT_FOUND,
            )
        role = getattr(user, "role", "")
        source = "hospital" if role == "hospital" else ("county" if role == "county_admin" else "site")
        report = services.report_create(
            actor=user,
            dose=dose,
            source=source,
            onset_at=_aware(data["onset_at"], "onset_at"),
            discovered_at=_aware(data["discovered_at"], "discovered_at"),
            signs=data["signs"],
            description=data["description"],
            criteria=data["criteria"],
            major_concern=data["major_concern"],
            treatment=data["treatment"],
            outcome=data["outcome"],
            reporter_name=data["reporter_name"],
            reporter_unit=data["reporter_unit"],
            reporter_phone=data["reporter_phone"],
        )
        if data["refer"]:
            services.referral_make(actor=user, report=report)
        report = selectors.report_get(user=user, report_id=report.pk) or report
        return 201, _case_out(report, health=True)

    return idempotent_status(request, {k: str(v) for k, v in data.items()}, work)


@router.get(
    "/reports", response={200: list[CaseOut], **ERRORS}, summary="辖区内的疑似异常反应个案（新近在前）"
)
def reports_list(
    request,
    status: Annotated[str, Field(max_length=20)] = "",
    limit: Annotated[int, Field(ge=1, le=500, description="每页条数（1–500）")] = 100,
    offset: Offset = 0,
):
    """``status``：reported、investigating、classified、closed（空为全部）。"""
    _need_cases(request.user)
    qs = selectors.reports_visible(user=request.user)
    if status:
        qs = qs.filter(status=status)
    health = selectors.may_see_health(request.user)
    return [_case_out(r, health=health) for r in qs[offset : offset + limit]]


@router.get("/reports/{int:report_id}", response={200: CaseOut, **ERRORS}, summary="一例疑似异常反应个案")
def report_read(request, report_id: Id):
    _need_cases(request.user)
    r = selectors.report_get(user=request.user, report_id=report_id)
    if r is None:
        raise NotFound(
            _("个案 %(n)s 不存在或不在您的辖区") % {"n": report_id},
            field="report_id",
            code=SafetyErrorCode.REPORT_NOT_FOUND,
        )
    return _case_out(r, health=selectors.may_see_health(request.user))
