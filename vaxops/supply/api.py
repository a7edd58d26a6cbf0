"""/api/v1/supply: stock places, balances, lots and their trace, receipts, dispatches, counts, allocation.

Places and products are named by their codes (``StockPlace.code``, ``catalog.Product.code``). Every place
acted on passes ``selectors.require_place`` with the permission of the write; every write accepts
``Idempotency-Key``. Errors answer ``{"code", "message", "field"}``: 400 (invalid), 403 (role or
jurisdiction), 404 (an unknown id, place, product or traceability code).
"""

from __future__ import annotations

from typing import Annotated

from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from pydantic import Field

from vaxops.accounts.scope import require
from vaxops.catalog.errors import CatalogErrorCode
from vaxops.catalog.models import Product
from vaxops.core.errors import CoreErrorCode, NotFound, PermissionDenied, ValidationFailed
from vaxops.core.idempotency import idempotent_status
from vaxops.core.schemas import ErrorOut, Id, Offset, Quantity
from vaxops.core.uploads import check_upload_size, errors_listed, upload_digest
from vaxops.registry.api import ImportOut
from vaxops.registry.errors import RegistryErrorCode

from . import domain, selectors, services
from .errors import SupplyErrorCode
from .models import (
    AllocationRun,
    Dispatch,
    DispatchStatus,
    Lot,
    StockCount,
    StockPlace,
    TraceCode,
)
from .tables import codes_table_open

router = Router(tags=["supply"])

E400 = {400: ErrorOut}
E403 = {403: ErrorOut}
E404 = {404: ErrorOut}
ERRORS = {**E400, **E403, **E404}
PAGE_DEFAULT = 100
PAGE_MAX = 1000


# --------------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------------


class StockPlaceOut(Schema):
    code: str
    name: str
    kind: str
    kind_label: str
    division: str
    parent: str | None
    stock: int
    in_transit: int
    volume_total_cm3: int
    volume_used_cm3: float
    volume_pct: float | None


class BalanceOut(Schema):
    place: str
    place_name: str
    lot: str
    product: str
    expiry: str
    status: str
    status_label: str
    usable: bool
    why: str | None
    doses: int
    quarantined_doses: int = 0


class LotOut(Schema):
    id: int
    product: str
    lot_number: str
    manufacturer: str
    expiry: str
    release_certificate: str
    quantity_doses: int
    status: str
    status_label: str
    status_reason: str
    status_changed_at: str | None


class LotPage(Schema):
    items: list[LotOut]
    count: int


class TracePlaceOut(Schema):
    place: str
    place_name: str
    received: int
    sent: int
    received_from_dispatch: int
    in_stock: int
    administered: int
    wasted: int


class TraceStockOut(Schema):
    place: str
    place_name: str
    codes: int


class RecipientOut(Schema):
    code: str
    administered_at: str | None
    resident_id: int
    name: str
    id_number: str
    place: str | None
    place_name: str


class LotTraceOut(Schema):
    lot_id: int
    lot: str
    product: str
    product_name: str
    manufacturer: str
    expiry: str
    status: str
    status_label: str
    release_certificate: str
    doses_per_code: int
    codes_total: int
    by_state: dict[str, int]
    places: list[TracePlaceOut]
    in_transit_dispatches: list[str]
    in_stock: list[TraceStockOut]
    administered_total: int
    administered_hidden: int
    recipients: list[RecipientOut]
    offset: int
    limit: int
    revealed: bool


class TraceRevealIn(Schema):
    purpose: str = ""
    offset: Offset = 0
    limit: int = selectors.RECIPIENTS_SHOWN


class LotStatusIn(Schema):
    status: domain.LotStatus
    reason: str = ""


class RecallReturnIn(Schema):
    place: str
    reason: str = ""


class RecallReturnOut(Schema):
    lot_id: int
    lot: str
    place: str
    codes: int
    doses: int


class CodeHopOut(Schema):
    dispatch: str
    from_: str = Field(alias="from")
    to: str
    dispatched_at: str
    received_at: str | None
    outcome: str
    outcome_label: str


class CodeMovementOut(Schema):
    at: str
    kind: str
    kind_label: str
    place: str
    doses: int
    reference: str


class CodeTraceOut(Schema):
    code: str
    lot: str
    lot_id: int
    product: str
    product_name: str
    expiry: str
    lot_status: str
    state: str
    state_label: str
    package: str
    origin: str | None
    place: str | None
    wasted_reason: str
    dispatches: list[CodeHopOut]
    movements: list[CodeMovementOut]
    recipient: RecipientOut | None
    recipient_hidden: bool


class WasteIn(Schema):
    place: str
    reason: domain.WastageReason
    note: str = ""


class CodeStateOut(Schema):
    code: str
    lot: str
    product: str
    state: str
    state_label: str
    wasted_reason: str
    wasted_reason_label: str
    place: str | None


class CodeNowOut(CodeStateOut):
    unit: int | None
    unit_name: str | None


class PersonCodeOut(Schema):
    code: str
    lot: str
    product: str
    product_name: str
    expiry: str
    lot_status: str
    administered_at: str | None
    place: str


class DispatchIn(Schema):
    from_place: str
    to_place: str
    product: str
    doses: Quantity
    note: str = ""
    vehicle: int | None = Field(None, description="运输冷链设备（冷藏车/冷藏箱）的编号")


class DispatchItemOut(Schema):
    lot: str
    expiry: str
    codes_sent: int
    doses_sent: int
    codes_received: int
    doses_received: int


class DiscrepancyOut(Schema):
    kind: str
    kind_label: str
    code: str
    lot_number: str
    note: str


class DispatchSummaryOut(Schema):
    id: int
    number: str
    from_place: str
    from_place_name: str
    to_place: str
    to_place_name: str
    product: str
    status: str
    status_label: str
    codes_count: int
    doses: int
    dispatched_at: str
    dispatched_by: str | None
    received_at: str | None
    arrival_celsius: str | None = None
    received_by: str | None
    allocation_id: int | None
    note: str


class DispatchOut(DispatchSummaryOut):
    reasons: list[str]
    vehicle: int | None = None
    items: list[DispatchItemOut]
    outcomes: dict[str, int]
    discrepancies: list[DiscrepancyOut]


class DispatchPage(Schema):
    items: list[DispatchSummaryOut]
    count: int


class ReceiveIn(Schema):
    scanned: list[str] | None = None
    damaged: list[str] = []
    note: str = ""
    arrival_celsius: float | None = Field(
        None, ge=-50, le=60, description="到货温度（℃）；超出疫苗储存温度范围时本单到货疫苗自动隔离"
    )


class CountIn(Schema):
    place: str
    scanned: list[str] = []
    adjust: bool = False
    reason: str = ""


class CountOut(Schema):
    id: int
    place: str
    counted_at: str
    counted_by: str | None
    scanned: int
    matched: int
    missing: list[str]
    unexpected: list[str]
    duplicates: list[str]
    adjusted: bool
    reason: str


Weight = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False, description="权重（0–1000）")]


class WeightsIn(Schema):
    risk: Weight = 1
    density: Weight = 1
    mobility: Weight = 1


class AllocationIn(Schema):
    product: str
    doses_arriving: Quantity
    source: str = ""
    weights: WeightsIn = Field(default_factory=WeightsIn)


class AllocationLineOut(Schema):
    place: str
    place_name: str
    packs: int
    doses: int
    need: int
    share: float
    capped_by_volume: bool
    reasoning: str
    basis: str = ""
    remaining_need: int | None = None
    second_doses_due: int | None = None
    stock_on_hand: int | None = None
    free_packs: int | None = None
    risk: str | None = None
    density: str | None = None
    mobility: str | None = None


class AllocationDispatchOut(Schema):
    id: int
    number: str
    to_place: str
    doses: int
    status: str


class AllocationOut(Schema):
    id: int
    product: str
    source: str
    source_name: str
    doses_arriving: int
    weights: dict[str, str]
    lines: list[AllocationLineOut]
    notes: list[str]
    status: str
    status_label: str
    created_at: str
    created_by: str | None
    approved_at: str | None
    approved_by: str | None
    dispatches: list[AllocationDispatchOut]


class ExpiringOut(Schema):
    lot: str
    lot_id: int
    product: str
    expiry: str
    days_left: int
    doses: int


class LowStockOut(Schema):
    place: str
    place_name: str
    stock: int
    daily_use: float
    days_of_cover: float
    threshold: int


class OverdueOut(Schema):
    number: str
    dispatch_id: int
    from_: str = Field(alias="from")
    to: str
    dispatched_at: str
    doses: int
    hours: float


class AlertsOut(Schema):
    expiring: list[ExpiringOut]
    low_stock: list[LowStockOut]
    receipts_overdue: list[OverdueOut]
    total: int


class LedgerDifferenceOut(Schema):
    place_id: int
    lot_id: int
    place: str | None
    lot: str | None
    balance: int
    ledger: int
    codes_in_stock: int


class LedgerCheckOut(Schema):
    balanced: bool
    pairs: int
    differences: list[LedgerDifferenceOut]


# --------------------------------------------------------------------------------------------------
# Look-ups and conversions
# --------------------------------------------------------------------------------------------------


def _place(code: str, field: str = "place") -> StockPlace:
    text = (code or "").strip()
    if not text:
        raise ValidationFailed(_("请填写库存地点编码"), field=field, code=SupplyErrorCode.PLACE_REQUIRED)
    found = selectors.place_by_code(code=text)
    if found is None:
        raise NotFound(
            _("库存地点“%(text)s”不存在") % {"text": text}, field=field, code=SupplyErrorCode.PLACE_NOT_FOUND
        )
    return found


def _default_store(code: str, field: str = "place") -> StockPlace:
    """The place named by ``code``, else the one county store (several: the caller must name one)."""
    if (code or "").strip():
        return _place(code, field)
    stores = selectors.county_stores(limit=2)
    if not stores:
        raise ValidationFailed(
            _("尚未登记县疾控中心冷库（类型为“县级疾控冷库”的库存地点），请指定库存地点"),
            field=field,
            code=SupplyErrorCode.COUNTY_STORE_MISSING,
        )
    if len(stores) > 1:
        raise ValidationFailed(
            _("有多个县级疾控冷库，请指定库存地点编码"),
            field=field,
            code=SupplyErrorCode.COUNTY_STORE_AMBIGUOUS,
        )
    return stores[0]


def _product(code: str, field: str = "product") -> Product:
    text = (code or "").strip()
    if not text:
        raise ValidationFailed(_("请填写疫苗品种编码"), field=field, code=SupplyErrorCode.PRODUCT_REQUIRED)
    found = selectors.product_by_code(code=text)
    if found is None:
        raise NotFound(
            _("疫苗品种“%(text)s”不存在") % {"text": text}, field=field, code=CatalogErrorCode.PRODUCT_UNKNOWN
        )
    return found


def _lot(lot_id: int) -> Lot:
    found = selectors.lot_by_id(lot_id=lot_id)
    if found is None:
        raise NotFound(_("批号不存在"), field="id", code=SupplyErrorCode.LOT_NOT_FOUND)
    return found


def _trace_code(text: str) -> TraceCode:
    """A registered code: 400 when ``text`` is not a traceability code, 404 when it was never received."""
    code, found = services.code_lookup(text)
    if found is None:
        raise NotFound(
            _("追溯码%(code)s未登记") % {"code": code}, field="code", code=SupplyErrorCode.CODE_UNKNOWN
        )
    return found


def _window(offset: int, limit: int, maximum: int) -> tuple[int, int]:
    if offset < 0:
        raise ValidationFailed(_("offset 不能为负数"), field="offset", code=CoreErrorCode.OFFSET_INVALID)
    if not 1 <= limit <= maximum:
        raise ValidationFailed(
            _("limit 须在1到%(maximum)s之间") % {"maximum": maximum},
            field="limit",
            code=CoreErrorCode.LIMIT_INVALID,
        )
    return offset, limit


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _username(user) -> str | None:
    return user.username if user is not None else None


def _place_codes(user) -> set[str]:
    return set(selectors.places_for(user).values_list("code", flat=True))


def _lot_out(lot: Lot) -> dict:
    return {
        "id": lot.pk,
        "product": lot.product.code,
        "lot_number": lot.lot_number,
        "manufacturer": lot.manufacturer,
        "expiry": lot.expiry.isoformat(),
        "release_certificate": lot.release_certificate,
        "quantity_doses": lot.quantity_doses,
        "status": lot.status,
        "status_label": domain.LotStatus(lot.status).label_zh,
        "status_reason": lot.status_reason,
        "status_changed_at": _iso(lot.status_changed_at),
    }


def _dispatch_summary(d: Dispatch) -> dict:
    return {
        "id": d.pk,
        "number": d.number,
        "from_place": d.from_place.code,
        "from_place_name": d.from_place.name,
        "to_place": d.to_place.code,
        "to_place_name": d.to_place.name,
        "product": d.product.code,
        "status": d.status,
        "status_label": d.get_status_display(),
        "codes_count": d.codes_count,
        "doses": d.doses,
        "dispatched_at": _iso(d.dispatched_at),
        "dispatched_by": _username(d.dispatched_by),
        "received_at": _iso(d.received_at),
        "arrival_celsius": str(d.arrival_celsius) if d.arrival_celsius is not None else None,
        "received_by": _username(d.received_by),
        "allocation_id": d.allocation_id,
        "note": d.note,
    }


DISPATCH_RELATED = ("from_place", "to_place", "product", "dispatched_by", "received_by")


def _dispatch(d: Dispatch) -> dict:
    d = selectors.dispatch_by_id(dispatch_id=d.pk, related=DISPATCH_RELATED)
    items = [
        {
            "lot": i.lot.lot_number,
            "expiry": i.lot.expiry.isoformat(),
            "codes_sent": i.codes_sent,
            "doses_sent": i.doses_sent,
            "codes_received": i.codes_received,
            "doses_received": i.doses_received,
        }
        for i in d.items.select_related("lot")
    ]
    outcomes = selectors.dispatch_outcomes(dispatch=d)
    discrepancies = [
        {
            "kind": x.kind,
            "kind_label": x.get_kind_display(),
            "code": x.code,
            "lot_number": x.lot_number,
            "note": x.note,
        }
        for x in d.discrepancies.all()
    ]
    return {
        **_dispatch_summary(d),
        "reasons": list(d.reasons),
        "vehicle": d.vehicle_id,
        "items": items,
        "outcomes": outcomes,
        "discrepancies": discrepancies,
    }


def _count_out(c: StockCount) -> dict:
    return {
        "id": c.pk,
        "place": c.place.code,
        "counted_at": _iso(c.counted_at),
        "counted_by": _username(c.counted_by),
        "scanned": c.scanned,
        "matched": c.matched,
        "missing": list(c.missing),
        "unexpected": list(c.unexpected),
        "duplicates": list(c.duplicates),
        "adjusted": c.adjusted,
        "reason": c.reason,
    }


def _allocation(run: AllocationRun) -> dict:
    run = selectors.allocation_run_by_id(
        run_id=run.pk, related=("product", "source", "created_by", "approved_by")
    )
    dispatches = [
        {"id": d.pk, "number": d.number, "to_place": d.to_place.code, "doses": d.doses, "status": d.status}
        for d in run.dispatches.select_related("to_place").order_by("to_place__code", "id")
    ]
    return {
        "id": run.pk,
        "product": run.product.code,
        "source": run.source.code,
        "source_name": run.source.name,
        "doses_arriving": run.doses_arriving,
        "weights": {k: str(v) for k, v in run.weights.items()},
        "lines": list(run.lines),
        "notes": list(run.notes),
        "status": run.status,
        "status_label": run.get_status_display(),
        "created_at": _iso(run.created_at),
        "created_by": _username(run.created_by),
        "approved_at": _iso(run.approved_at),
        "approved_by": _username(run.approved_by),
        "dispatches": dispatches,
    }


def _visible_dispatch(user, dispatch_id: int) -> Dispatch:
    require(user, "supply.view_dispatch")
    d = selectors.dispatch_by_id(dispatch_id=dispatch_id, related=DISPATCH_RELATED)
    if d is None:
        raise NotFound(_("调拨单不存在"), field="id", code=SupplyErrorCode.DISPATCH_NOT_FOUND)
    if not selectors.places_for(user).filter(pk__in=[d.from_place_id, d.to_place_id]).exists():
        raise PermissionDenied(
            _("调拨单%(number)s的调出和调入地点都不在您的管辖范围内") % {"number": d.number},
            code=CoreErrorCode.OUT_OF_SCOPE,
        )
    return d


def _allocation_run(allocation_id: int) -> AllocationRun:
    run = selectors.allocation_run_by_id(run_id=allocation_id)
    if run is None:
        raise NotFound(_("分配方案不存在"), field="id", code=SupplyErrorCode.ALLOCATION_NOT_FOUND)
    return run


# --------------------------------------------------------------------------------------------------
# Places, balances, lots
# --------------------------------------------------------------------------------------------------


@router.get(
    "/places", response={200: list[StockPlaceOut], **E403}, summary="可操作的库存地点（库存、在途、冷链容积）"
)
def list_places(request):
    """您管辖范围内的库存地点：结存剂数、调入在途剂数、冷链设备总容积与已用容积（含在途）。"""
    require(request.user, "supply.view_stockplace")
    mine = set(selectors.places_for(request.user).values_list("pk", flat=True))
    return [
        {
            "code": r["place"].code,
            "name": r["place"].name,
            "kind": r["place"].kind,
            "kind_label": r["place"].get_kind_display(),
            "division": r["place"].division.code,
            "parent": r["place"].parent.code if r["place"].parent_id else None,
            "stock": r["stock"],
            "in_transit": r["in_transit"],
            "volume_total_cm3": r["volume_total"],
            "volume_used_cm3": float(r["volume_used"]),
            "volume_pct": r["volume_pct"],
        }
        for r in selectors.places_overview()
        if r["place"].pk in mine
    ]


@router.get("/balances", response={200: list[BalanceOut], **ERRORS}, summary="库存结存（按地点×批号）")
def list_balances(request, place: str = "", product: str = ""):
    """有库存的地点×批号结存剂数，可按库存地点编码、疫苗品种编码筛选；只列管辖范围内的地点。"""
    require(request.user, "supply.view_stockbalance")
    where = _place(place) if place else None
    if where is not None:
        selectors.require_place(request.user, where, "supply.view_stockbalance")
    rows = selectors.balances(place=where, product=_product(product) if product else None)
    if where is None:
        mine = _place_codes(request.user)
        rows = [r for r in rows if r["place"] in mine]
    return rows


@router.get("/lots", response={200: LotPage, **ERRORS}, summary="批号列表（分页）")
def list_lots(request, product: str = "", status: str = "", limit: int = PAGE_DEFAULT, offset: Offset = 0):
    """按疫苗品种编码、批号状态（released 已放行 / on_hold 暂停使用 / recalled 已召回 / expired 已过期）筛选，
    按有效期先后排列；``limit``/``offset`` 分页（每页最多1000条）。"""
    require(request.user, "supply.view_lot")
    offset, limit = _window(offset, limit, PAGE_MAX)
    if status and status not in {s.value for s in domain.LotStatus}:
        raise ValidationFailed(
            _("未知的批号状态：%(status)s") % {"status": status},
            field="status",
            code=SupplyErrorCode.LOT_STATUS_UNKNOWN,
        )
    qs = selectors.lots_listed(product=_product(product) if product else None, status=status)
    return {"items": [_lot_out(lot) for lot in qs[offset : offset + limit]], "count": qs.count()}


@router.get(
    "/lots/{int:lot_id}/trace",
    response={200: LotTraceOut, **ERRORS},
    summary="批号追溯（去向、各地点数量、受种者脱敏）",
)
def lot_trace(request, lot_id: Id, offset: Offset = 0, limit: int = selectors.RECIPIENTS_SHOWN):
    """该批号每个追溯码的去向：各状态数量、经过的地点、在途调拨单；管辖范围内的受种者姓名与证件号码脱敏列出
    （范围外只计数 ``administered_hidden``），``limit`` 最多1000。"""
    require(request.user, "supply.view_lot")
    offset, limit = _window(offset, limit, selectors.RECIPIENTS_SHOWN)
    lot = _lot(lot_id)
    return {"lot_id": lot.pk, **selectors.lot_trace(user=request.user, lot=lot, offset=offset, limit=limit)}


@router.post(
    "/lots/{int:lot_id}/trace/reveal",
    response={200: LotTraceOut, **ERRORS},
    summary="批号追溯：查看受种者完整身份（须说明用途，留痕）",
)
def lot_trace_reveal(request, lot_id: Id, payload: TraceRevealIn):
    """与批号追溯相同，但列出的受种者显示完整姓名和证件号码；须有查看完整身份的权限并填写用途，
    每次查看记一条审计（谁、看了哪些人、为什么）。结果不按 Idempotency-Key 缓存：身份信息不另存，每次查看都留痕。"""
    require(request.user, "supply.view_lot")
    if not request.user.has_perm("registry.reveal_identity"):
        raise PermissionDenied(_("您的角色无权查看完整身份信息"), code=CoreErrorCode.ROLE_FORBIDDEN)
    offset, limit = _window(payload.offset, payload.limit, selectors.RECIPIENTS_SHOWN)
    lot = _lot(lot_id)
    purpose = payload.purpose.strip()
    if len(purpose) < 2:
        raise ValidationFailed(
            _("查看完整身份须填写用途"), field="purpose", code=CoreErrorCode.PURPOSE_REQUIRED
        )
    return {
        "lot_id": lot.pk,
        **selectors.lot_trace(user=request.user, lot=lot, offset=offset, limit=limit, reveal_purpose=purpose),
    }


@router.post(
    "/lots/{int:lot_id}/status",
    response={200: LotOut, **ERRORS},
    summary="变更批号状态（放行/暂停使用/召回/过期，须填原因；支持 Idempotency-Key）",
)
def lot_status(request, lot_id: Id, payload: LotStatusIn):
    """批号状态全县同时生效：暂停使用、召回或过期的批号不能再调拨或接种。"""
    require(request.user, "supply.change_lot")
    lot = _lot(lot_id)
    data = {"lot": lot_id, **payload.dict()}
    return idempotent_status(
        request,
        data,
        lambda: (
            200,
            _lot_out(
                services.lot_status_change(
                    actor=request.user, lot=lot, status=payload.status, reason=payload.reason
                )
            ),
        ),
    )


@router.post(
    "/lots/{int:lot_id}/recall-return",
    response={200: RecallReturnOut, **ERRORS},
    summary="召回退回（该地点该批号全部在库追溯码；支持 Idempotency-Key）",
)
def lot_recall_return(request, lot_id: Id, payload: RecallReturnIn):
    """把已召回批号在该库存地点的全部在库追溯码退回，记召回退回流水；批号须先变更为“已召回”。"""
    require(request.user, "supply.add_stockmovement")
    lot = _lot(lot_id)
    place = _place(payload.place)
    selectors.require_place(request.user, place, "supply.add_stockmovement")
    data = {"lot": lot_id, **payload.dict()}

    def work():
        n = services.recall_return(actor=request.user, lot=lot, place=place, reason=payload.reason.strip())
        return 200, {
            "lot_id": lot.pk,
            "lot": lot.lot_number,
            "place": place.code,
            "codes": n,
            "doses": n * lot.product.doses_per_vial,
        }

    return idempotent_status(request, data, work)


# --------------------------------------------------------------------------------------------------
# Traceability codes and residents
# --------------------------------------------------------------------------------------------------


@router.get("/codes/{code}", response={200: CodeNowOut, **ERRORS}, summary="追溯码当前状态（含温度异常隔离）")
def code_now(request, code: str):
    """一个追溯码现在的状态（在库、在途、已接种、已损耗、已召回、温度异常隔离）、所在地点和冷链设备。"""
    require(request.user, "supply.view_lot")
    t = _trace_code(code)
    unit = selectors.unit_of(code=t)
    return {
        "code": t.code,
        "lot": t.lot.lot_number,
        "product": t.lot.product.code,
        "state": t.state,
        "state_label": t.get_state_display(),
        "wasted_reason": t.wasted_reason,
        "wasted_reason_label": t.get_wasted_reason_display() if t.wasted_reason else "",
        "place": t.place.code if t.place_id else None,
        "unit": unit.pk if unit else None,
        "unit_name": str(unit) if unit else None,
    }


@router.get(
    "/codes/{code}/trace",
    response={200: CodeTraceOut, **ERRORS},
    by_alias=True,
    summary="追溯码追溯（入库、调拨路径、流水、受种者脱敏）",
)
def code_trace(request, code: str):
    """一个追溯码从哪里入库、经过哪些调拨单（及签收结果）、现在的状态和所在地点、库存流水；
    已接种且受种者在管辖范围内时脱敏显示受种者。"""
    require(request.user, "supply.view_lot")
    tc = _trace_code(code)
    return selectors.code_trace(user=request.user, code=tc.code)


@router.post(
    "/codes/{code}/waste",
    response={200: CodeStateOut, **ERRORS},
    summary="登记追溯码损耗（破损/过期/温度异常/开瓶废弃/其他；支持 Idempotency-Key）",
)
def code_waste(request, code: str, payload: WasteIn):
    """``reason``：broken 破损、expired 过期、temperature 温度异常、open_vial_discard 开瓶超时废弃、other 其他
    （“其他”须在 ``note`` 说明）。追溯码须在该地点在库。"""
    require(request.user, "supply.add_stockmovement")
    tc = _trace_code(code)
    place = _place(payload.place)
    selectors.require_place(request.user, place, "supply.add_stockmovement")
    data = {"code": tc.code, **payload.dict()}

    def work():
        t = services.code_waste(
            actor=request.user, code=tc.code, place=place, reason=payload.reason, note=payload.note
        )
        return 200, {
            "code": t.code,
            "lot": t.lot.lot_number,
            "product": t.lot.product.code,
            "state": t.state,
            "state_label": t.get_state_display(),
            "wasted_reason": t.wasted_reason,
            "wasted_reason_label": t.get_wasted_reason_display() if t.wasted_reason else "",
            "place": t.place.code if t.place_id else None,
        }

    return idempotent_status(request, data, work)


@router.get(
    "/residents/{int:resident_id}/codes",
    response={200: list[PersonCodeOut], **ERRORS},
    summary="居民接种使用的追溯码",
)
def resident_codes(request, resident_id: Id):
    """该居民接种时扫描的全部追溯码（批号、有效期、批号当前状态）；居民须在管辖范围内。"""
    require(request.user, "supply.view_lot")
    resident = selectors.resident_by_id(resident_id=resident_id)
    if resident is None:
        raise NotFound(_("居民不存在"), field="id", code=RegistryErrorCode.RESIDENT_NOT_FOUND)
    return selectors.person_codes(user=request.user, resident=resident)


# --------------------------------------------------------------------------------------------------
# Receipts, dispatches, counts
# --------------------------------------------------------------------------------------------------


@router.post(
    "/receipts",
    response={200: ImportOut, **ERRORS},
    summary="导入追溯码到货文件（CSV/XLSX），返回计数与逐行错误（支持 Idempotency-Key）",
)
def receipt_upload(request, file: File[UploadedFile], place: Form[str] = ""):
    """列：追溯码、批号、疫苗品种（产品编码或DCC药品编码）、有效期至，可选包装码。``place`` 为收货地点编码，
    默认县疾控中心冷库（有多个时须指定）。计数满足 read = created + updated + unchanged + rejected；
    每个被拒的行给出行号、列名和原因，坏行不影响好行；重复导入同一文件不会重复入库。"""
    require(request.user, "supply.add_tracecode")
    target = _default_store(place)
    selectors.require_place(request.user, target, "supply.add_tracecode")

    check_upload_size(file.size or 0)

    def work():
        if file.size == 0:
            raise ValidationFailed(_("文件为空"), field="file", code=CoreErrorCode.FILE_EMPTY)
        table = codes_table_open(file.file, size=file.size, filename=file.name or "")
        result = services.codes_import(
            table=table, actor=request.user, place=target, filename=file.name or ""
        )
        return 200, result.as_dict(listed=errors_listed())

    return idempotent_status(request, {"file": upload_digest(file), "place": target.code}, work)


@router.post(
    "/dispatches",
    response={201: DispatchOut, **ERRORS},
    summary="调拨（先到期先出，不超过调入地点冷链容积；支持 Idempotency-Key）",
)
def dispatch_create(request, payload: DispatchIn):
    """从调出地点按先到期先出选批号（跳过暂停使用、召回、过期的批号），调入地点冷链容积不足时减量；
    返回调拨单、各批号明细和选批说明。追溯码在途，直到调入地点签收。"""
    require(request.user, "supply.add_dispatch")
    from_place = _place(payload.from_place, "from_place")
    to_place = _place(payload.to_place, "to_place")
    product = _product(payload.product)
    selectors.require_place(request.user, from_place, "supply.add_dispatch")
    vehicle = None
    if payload.vehicle is not None:
        vehicle = selectors.unit_by_id(unit_id=payload.vehicle)
        if vehicle is None:
            raise ValidationFailed(
                _("运输冷链设备不存在：%(id)s") % {"id": payload.vehicle},
                field="vehicle",
                code=SupplyErrorCode.DISPATCH_VEHICLE_INVALID,
            )
    data = payload.dict()
    return idempotent_status(
        request,
        data,
        lambda: (
            201,
            _dispatch(
                services.dispatch_create(
                    actor=request.user,
                    from_place=from_place,
                    to_place=to_place,
                    product=product,
                    doses=payload.doses,
                    note=payload.note.strip(),
                    vehicle=vehicle,
                )
            ),
        ),
    )


@router.get("/dispatches", response={200: DispatchPage, **ERRORS}, summary="调拨单列表（分页）")
def list_dispatches(request, status: str = "", limit: int = PAGE_DEFAULT, offset: Offset = 0):
    """调出或调入地点在管辖范围内的调拨单，新的在前；``status``：in_transit 在途、received 已签收、
    discrepancy 签收有差异。"""
    require(request.user, "supply.view_dispatch")
    offset, limit = _window(offset, limit, PAGE_MAX)
    qs = selectors.dispatches_visible(user=request.user).select_related(*DISPATCH_RELATED)
    if status:
        if status not in DispatchStatus.values:
            raise ValidationFailed(
                _("未知的调拨单状态：%(status)s") % {"status": status},
                field="status",
                code=SupplyErrorCode.DISPATCH_STATUS_UNKNOWN,
            )
        qs = qs.filter(status=status)
    qs = qs.order_by("-dispatched_at", "-id")
    return {"items": [_dispatch_summary(d) for d in qs[offset : offset + limit]], "count": qs.count()}


@router.get(
    "/dispatches/{int:dispatch_id}",
    response={200: DispatchOut, **ERRORS},
    summary="调拨单详情（明细、选批说明、签收差异）",
)
def get_dispatch(request, dispatch_id: Id):
    """调拨单的各批号调出与签收数量、先到期先出说明、追溯码签收结果计数和签收差异。"""
    return _dispatch(_visible_dispatch(request.user, dispatch_id))


@router.post(
    "/dispatches/{int:dispatch_id}/receive",
    response={200: DispatchOut, **ERRORS},
    summary="签收调拨单（扫码核对，记录短少/破损/非本单；支持 Idempotency-Key）",
)
def dispatch_receive(request, dispatch_id: Id, payload: ReceiveIn):
    """``scanned`` 为到货扫到的追溯码（或箱码/盒码），为 null 时确认全部到货；未扫到的记为短少，
    ``damaged`` 中的记为破损（签收后登记损耗），不属于本单的追溯码列为差异且不入库。只有管辖范围覆盖调入地点的用户可以签收。"""
    require(request.user, "supply.change_dispatch")
    d = selectors.dispatch_by_id(dispatch_id=dispatch_id)
    if d is None:
        raise NotFound(_("调拨单不存在"), field="id", code=SupplyErrorCode.DISPATCH_NOT_FOUND)
    selectors.require_place(request.user, d.to_place, "supply.change_dispatch")
    data = {"dispatch": dispatch_id, **payload.dict()}
    return idempotent_status(
        request,
        data,
        lambda: (
            200,
            _dispatch(
                services.dispatch_receive(
                    actor=request.user,
                    dispatch=d,
                    scanned=payload.scanned,
                    damaged=payload.damaged,
                    note=payload.note.strip(),
                    arrival_celsius=payload.arrival_celsius,
                )
            ),
        ),
    )


@router.post(
    "/counts",
    response={201: CountOut, **ERRORS},
    summary="盘点（扫码与台账比对，可按原因调整台账；支持 Idempotency-Key）",
)
def stock_count(request, payload: CountIn):
    """列出相符数、账有实无（missing）、实有账无（unexpected）和重复扫码；``adjust`` 为 true 且有账有实无时，
    须填 ``reason``，这些追溯码登记为损耗并记调整流水。"""
    require(request.user, "supply.add_stockcount")
    place = _place(payload.place)
    selectors.require_place(request.user, place, "supply.add_stockcount")
    data = payload.dict()
    return idempotent_status(
        request,
        data,
        lambda: (
            201,
            _count_out(
                services.stock_count_record(
                    actor=request.user,
                    place=place,
                    scanned=payload.scanned,
                    adjust=payload.adjust,
                    reason=payload.reason,
                )
            ),
        ),
    )


# --------------------------------------------------------------------------------------------------
# Allocation
# --------------------------------------------------------------------------------------------------


@router.post(
    "/allocations",
    response={201: AllocationOut, **ERRORS},
    summary="生成疫苗分配方案（按需求、风险、密度、流动性；支持 Idempotency-Key）",
)
def allocation_propose(request, payload: AllocationIn):
    """把到货剂数按各下级库存地点的剩余需求（阶段目标或应种未种）、第二剂到期人数、现有库存和冷链容积，
    以风险、密度、流动性权重分配，给出每个地点的分配剂数及理由。审批前不调拨。``source`` 默认县疾控中心冷库。"""
    require(request.user, "supply.add_allocationrun")
    product = _product(payload.product)
    source = _default_store(payload.source, "source")
    selectors.require_place(request.user, source, "supply.add_allocationrun")
    data = payload.dict()
    return idempotent_status(
        request,
        data,
        lambda: (
            201,
            _allocation(
                services.allocation_propose(
                    actor=request.user,
                    product=product,
                    doses_arriving=payload.doses_arriving,
                    source=source,
                    weights=payload.weights.dict(),
                )
            ),
        ),
    )


@router.get(
    "/allocations/{int:allocation_id}", response={200: AllocationOut, **ERRORS}, summary="分配方案详情"
)
def get_allocation(request, allocation_id: Id):
    """分配方案的权重、各地点分配明细与理由、说明，以及审批后生成的调拨单。"""
    require(request.user, "supply.view_allocationrun")
    run = _allocation_run(allocation_id)
    selectors.require_place(request.user, run.source, "supply.view_allocationrun")
    return _allocation(run)


@router.post(
    "/allocations/{int:allocation_id}/approve",
    response={200: list[DispatchOut], **ERRORS},
    summary="审批分配方案，生成调拨单（全部成功或全部不生成；支持 Idempotency-Key）",
)
def allocation_approve(request, allocation_id: Id):
    """为每个分到剂数的地点按先到期先出生成一张调拨单；任一地点无法调拨则都不生成。已审批的方案不能重复审批。"""
    require(request.user, "supply.change_allocationrun")
    run = _allocation_run(allocation_id)
    selectors.require_place(request.user, run.source, "supply.change_allocationrun")
    return idempotent_status(
        request,
        {"allocation": allocation_id},
        lambda: (200, [_dispatch(d) for d in services.allocation_approve(actor=request.user, run=run)]),
    )


# --------------------------------------------------------------------------------------------------
# Alerts and the ledger check
# --------------------------------------------------------------------------------------------------


@router.get(
    "/alerts",
    response={200: AlertsOut, **E403},
    by_alias=True,
    summary="预警（近效期批号、库存不足、调拨超时未签收）",
)
def alerts(request):
    """30天内到期且有库存的批号；按近7日用量库存可用天数低于预警天数的地点；调出超过24小时未签收的调拨单。
    地点和调拨单只列管辖范围内的。"""
    require(request.user, "supply.view_stockbalance")
    found = selectors.alerts()
    mine = _place_codes(request.user)
    visible = set(
        selectors.dispatches_visible(user=request.user)
        .filter(pk__in=[x["dispatch_id"] for x in found["receipts_overdue"]])
        .values_list("pk", flat=True)
    )
    low = [x for x in found["low_stock"] if x["place"] in mine]
    overdue = [x for x in found["receipts_overdue"] if x["dispatch_id"] in visible]
    return {
        "expiring": found["expiring"],
        "low_stock": low,
        "receipts_overdue": overdue,
        "total": len(found["expiring"]) + len(low) + len(overdue),
    }


@router.get(
    "/ledger-check", response={200: LedgerCheckOut, **E403}, summary="账实核对（结存=流水合计=在库追溯码）"
)
def ledger_check(request):
    """每个地点×批号的结存是否等于流水合计和在库追溯码剂数；不平的列出差异（balanced 为 true 时为空）。"""
    require(request.user, "supply.view_stockmovement")
    check = selectors.ledger_check()
    diffs = check["differences"]
    places = selectors.place_codes(place_ids={x["place_id"] for x in diffs})
    lots = selectors.lot_numbers(lot_ids={x["lot_id"] for x in diffs})
    return {
        **check,
        "differences": [
            {**x, "place": places.get(x["place_id"]), "lot": lots.get(x["lot_id"])} for x in diffs
        ],
    }
