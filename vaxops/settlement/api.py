"""/api/v1/settlement: a month's settlement per site (totals, then the lines page by page) and the status flow
of a statement: confirmed by its site, approved and paid by the county medical-insurance office (县医保).

Months are ``YYYY-MM``, sites their codes; money is a decimal string in yuan with two places (never a float),
as in ``vaxops settlement --json``. Reads go through the user's scope (a site's staff see their own site, the
county's roles every site, the finance bureau the totals but not the lines); a statement out of scope answers
404 like one that does not exist. Every write accepts ``Idempotency-Key``. Errors answer
``{"code", "message", "field"}``: 400 (invalid, or a move the status does not allow), 403 (role or site), 404.
"""

from __future__ import annotations

from typing import Annotated

from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from vaxops.accounts.scope import require
from vaxops.core.errors import CoreErrorCode, NotFound, PermissionDenied, ValidationFailed
from vaxops.core.idempotency import idempotent_status
from vaxops.core.schemas import Day, ErrorOut, Offset

from . import domain, selectors, services
from .errors import SettlementErrorCode as E
from .models import Settlement, SettlementLine

router = Router(tags=["settlement"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}
PAGE_DEFAULT = 200
PAGE_MAX = 1000

Month = Annotated[str, Field(max_length=7, description="结算月份 YYYY-MM")]
SiteCode = Annotated[str, Field(max_length=40, description="接种单位编码")]


class SettlementReconOut(Schema):
    lot: str
    ledger: int
    settled: int
    voided: int
    difference: int


class SettlementOut(Schema):
    id: int
    month: str = Field(description="YYYY-MM")
    site: str
    site_name: str
    status: str = Field(
        description="draft 草稿 / confirmed 接种单位已确认 / approved 县医保已审核 / paid 已支付"
    )
    status_label: str
    doses: int = Field(description="医保基金支付的净剂次（补录补付+1，作废冲减−1）")
    service_fee_yuan: str
    vaccine_cost_yuan: str
    payable_yuan: str = Field(description="医保基金应付（元）")
    subsidy_share: str
    fiscal_subsidy_yuan: str = Field(description="县财政补助（元，应付金额×补助比例，四舍五入到分）")
    old_channel_doses: int
    old_channel_amount_yuan: str
    adjustment_lines: int
    adjustment_amount_yuan: str
    reconciled: bool = Field(description="与库存流水（接种出库）逐批号一致")
    reconciliation: list[SettlementReconOut]
    computed_at: str | None
    confirmed_at: str | None
    approved_at: str | None
    paid_on: str | None
    paid_reference: str


class SettlementTotalOut(Schema):
    doses: int
    service_fee_yuan: str
    vaccine_cost_yuan: str
    payable_yuan: str
    fiscal_subsidy_yuan: str
    old_channel_doses: int


class SettlementMonthOut(Schema):
    month: str
    rows: list[SettlementOut]
    total: SettlementTotalOut


class SettlementLineOut(Schema):
    id: int
    kind: str = Field(description="dose 本月接种 / late 补录补付（正数） / adjustment 作废冲减（负数）")
    kind_label: str
    channel: str = Field(description="fund 医保基金 / old 原资金渠道")
    given_on: str
    product: str
    lot: str | None
    code_masked: str
    vaccine_price_yuan: str
    service_fee_yuan: str
    amount_yuan: str


class SettlementLinePage(Schema):
    settlement: int
    items: list[SettlementLineOut]
    count: int
    offset: int
    limit: int


class SettlementPayIn(Schema):
    paid_on: Day
    reference: str = Field(max_length=60, description="支付凭证号")


class SettlementReturnIn(Schema):
    reason: str = Field(max_length=200, description="退回原因")


def _when(value) -> str | None:
    return value.isoformat() if value else None


def _out(s: Settlement) -> dict:
    return {
        "id": s.pk,
        "month": f"{s.month:%Y-%m}",
        "site": s.site.code,
        "site_name": s.site.name,
        "status": s.status,
        "status_label": s.get_status_display(),
        "doses": s.doses,
        "service_fee_yuan": str(s.service_fee),
        "vaccine_cost_yuan": str(s.vaccine_cost),
        "payable_yuan": str(s.payable),
        "subsidy_share": str(s.subsidy_share),
        "fiscal_subsidy_yuan": str(s.fiscal_subsidy),
        "old_channel_doses": s.old_channel_doses,
        "old_channel_amount_yuan": str(s.old_channel_amount),
        "adjustment_lines": s.adjustment_lines,
        "adjustment_amount_yuan": str(s.adjustment_amount),
        "reconciled": s.reconciled,
        "reconciliation": s.reconciliation or [],
        "computed_at": _when(s.computed_at),
        "confirmed_at": _when(s.confirmed_at),
        "approved_at": _when(s.approved_at),
        "paid_on": _when(s.paid_on),
        "paid_reference": s.paid_reference,
    }


def _line_out(line: SettlementLine) -> dict:
    return {
        "id": line.pk,
        "kind": line.kind,
        "kind_label": line.get_kind_display(),
        "channel": line.channel,
        "given_on": line.given_on.isoformat(),
        "product": line.product_code,
        "lot": line.lot.lot_number if line.lot_id and line.lot else None,
        "code_masked": line.code_masked,
        "vaccine_price_yuan": str(line.vaccine_price),
        "service_fee_yuan": str(line.service_fee),
        "amount_yuan": str(domain.yuan(line.vaccine_price + line.service_fee)),
    }


def _month(text: str):
    try:
        return domain.parse_month(text)
    except ValueError:
        raise ValidationFailed(
            _("月份格式应为 YYYY-MM，如 2026-11"), field="month", code=E.MONTH_INVALID
        ) from None


def _reader(request) -> None:
    u = request.user
    if not (u.has_perm("settlement.view_settlement") or u.has_perm("settlement.view_subsidy")):
        raise PermissionDenied(_("您的角色无权查看结算"), code=CoreErrorCode.ROLE_FORBIDDEN)


def _statement(request, month: str, site: str) -> Settlement:
    s = selectors.statement_of(request.user, _month(month), site)
    if s is None:
        raise NotFound(
            _("%(month)s没有%(site)s的结算单，或不在您的管辖范围内") % {"month": month, "site": site},
            field="site",
            code=E.NOT_FOUND,
        )
    return s


@router.get("/months/{month}", response={200: SettlementMonthOut, **ERRORS}, summary="某月各接种单位结算汇总")
def month_get(request, month: Month):
    """范围内每个接种单位的结算单（合计、状态、对账结论）及全月合计；与 ``vaxops settlement --json`` 的数字一致。"""
    _reader(request)
    first = _month(month)
    summary = selectors.month_summary(selectors.settlements_visible(request.user), first)
    rows = selectors.settlements_visible(request.user).filter(month=first).order_by("site__code")
    return {"month": summary["month"], "rows": [_out(s) for s in rows], "total": summary["total"]}


@router.get(
    "/months/{month}/sites/{site}", response={200: SettlementOut, **ERRORS}, summary="某接种单位某月的结算单"
)
def statement_get(request, month: Month, site: SiteCode):
    _reader(request)
    return _out(_statement(request, month, site))


@router.get(
    "/months/{month}/sites/{site}/lines",
    response={200: SettlementLinePage, **ERRORS},
    summary="结算明细（分页，每页最多1000条）",
)
def lines_get(request, month: Month, site: SiteCode, limit: int = PAGE_DEFAULT, offset: Offset = 0):
    """逐剂明细：本月接种（dose），补录补付（late，正数），作废冲减（adjustment，负数）；按类型、接种日期排列。
    ``limit`` 1–1000，``offset`` 从0起。县财政只看补助汇总，不看明细。"""
    require(request.user, "settlement.view_settlementline")
    if not 1 <= limit <= PAGE_MAX:
        raise ValidationFailed(
            _("limit 须在1到%(maximum)s之间") % {"maximum": PAGE_MAX},
            field="limit",
            code=CoreErrorCode.LIMIT_INVALID,
        )
    s = _statement(request, month, site)
    lines = selectors.lines_of(s)
    return {
        "settlement": s.pk,
        "items": [_line_out(line) for line in lines[offset : offset + limit]],
        "count": selectors.lines_counted(s),
        "offset": offset,
        "limit": limit,
    }


def _act(request, month: str, site: str, action: str, payload: dict, write):
    s = _statement(request, month, site)

    def work():
        return 200, _out(write(s))

    return idempotent_status(request, {"month": month, "site": site, "action": action, **payload}, work)


@router.post(
    "/months/{month}/sites/{site}/confirm",
    response={200: SettlementOut, **ERRORS},
    summary="接种单位确认结算单（草稿→已确认，仅本单位）",
)
def statement_confirm(request, month: Month, site: SiteCode):
    require(request.user, "settlement.confirm_settlement")
    return _act(
        request,
        month,
        site,
        "confirm",
        {},
        lambda s: services.settlement_confirm(actor=request.user, settlement=s),
    )


@router.post(
    "/months/{month}/sites/{site}/return",
    response={200: SettlementOut, **ERRORS},
    summary="县医保退回结算单（已确认→草稿，附原因）",
)
def statement_return(request, month: Month, site: SiteCode, payload: SettlementReturnIn):
    require(request.user, "settlement.approve_settlement")
    return _act(
        request,
        month,
        site,
        "return",
        payload.dict(),
        lambda s: services.settlement_return(actor=request.user, settlement=s, reason=payload.reason),
    )


@router.post(
    "/months/{month}/sites/{site}/approve",
    response={200: SettlementOut, **ERRORS},
    summary="县医保审核结算单（已确认→已审核；审核后冻结）",
)
def statement_approve(request, month: Month, site: SiteCode):
    require(request.user, "settlement.approve_settlement")
    return _act(
        request,
        month,
        site,
        "approve",
        {},
        lambda s: services.settlement_approve(actor=request.user, settlement=s),
    )


@router.post(
    "/months/{month}/sites/{site}/pay",
    response={200: SettlementOut, **ERRORS},
    summary="县医保登记支付（已审核→已支付，附支付日期和凭证号）",
)
def statement_pay(request, month: Month, site: SiteCode, payload: SettlementPayIn):
    require(request.user, "settlement.approve_settlement")
    return _act(
        request,
        month,
        site,
        "pay",
        payload.dict(),
        lambda s: services.settlement_pay(
            actor=request.user, settlement=s, paid_on=payload.paid_on, reference=payload.reference
        ),
    )
