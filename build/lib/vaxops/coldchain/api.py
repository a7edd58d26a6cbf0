"""``/api/v1/coldchain``: readings in (batches, idempotent), units, excursions and the county's decision."""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from vaxops.accounts.scope import require
from vaxops.core.errors import NotFound
from vaxops.core.idempotency import idempotent_status
from vaxops.core.schemas import ErrorOut, Id

from . import intake, selectors, services
from .errors import ColdchainErrorCode

router = Router(tags=["coldchain"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}


class ReadingIn(Schema):
    unit: str = Field(max_length=40, description="设备编码")
    at: str = Field(max_length=40, description="时间 ISO 8601，须带时区，如 2026-12-01T08:00:00+08:00")
    celsius: float | str = Field(description="温度（℃）")


class ReadingRowError(Schema):
    row: int
    reason: str


class IngestOut(Schema):
    read: int
    stored: int
    unchanged: int
    rejected: int
    errors: list[ReadingRowError]
    excursions_opened: int


class UnitOut(Schema):
    code: str
    place: str
    kind: str
    status: str
    low_c: str
    high_c: str
    last_at: str | None
    last_c: str | None
    silent: bool
    open_excursions: int
    quarantined: int


class ExcursionOut(Schema):
    id: int
    unit: str
    kind: str
    kind_label: str
    status: str
    start: str
    last_seen: str
    end: str | None
    extreme: str | None
    duration_seconds: int
    codes_quarantined: int
    decision: str
    decision_reason: str


class AssessIn(Schema):
    decision: str = Field(max_length=10, description="release 解除隔离、destroy 销毁、none 无需处置")
    reason: str = Field(max_length=300)
    witness: str = Field("", max_length=100, description="销毁时的监督人")
    method: str = Field("", max_length=100)


class NoteIn(Schema):
    note: str = Field("", max_length=200)


@router.post(
    "/readings",
    response={200: IngestOut, **ERRORS},
    summary="提交温度读数（批量；同一传感器同一时刻只记一次；支持 Idempotency-Key）",
)
def readings_post(request, payload: list[ReadingIn]):
    """``[{"unit": 设备编码, "at": 带时区的时间, "celsius": 温度}]``，每批最多 10,000 条。逐条检查：
    read = stored + unchanged + rejected；错误逐条列出（row 从 1 起）。冻结或高温超标时，
    该设备内的疫苗在同一事务中隔离。"""
    require(request.user, "coldchain.add_reading")
    items = [p.dict() for p in payload]

    def work():
        return 200, intake.api_readings(user=request.user, items=items).as_dict()

    return idempotent_status(request, items, work)


def _unit_out(row: dict) -> dict:
    eq = row["equipment"]
    return {
        "code": eq.code,
        "place": eq.unit.place.code,
        "kind": eq.unit.kind,
        "status": eq.status,
        "low_c": str(eq.low_c),
        "high_c": str(eq.high_c),
        "last_at": row["last_at"].isoformat() if row["last_at"] else None,
        "last_c": str(row["last_c"]) if row["last_c"] is not None else None,
        "silent": row["silent"],
        "open_excursions": row["open_excursions"],
        "quarantined": row["quarantined"],
    }


@router.get(
    "/units", response={200: list[UnitOut], **ERRORS}, summary="冷链设备总览（最近读数、无数据、未关闭超标）"
)
def units_list(request):
    return [_unit_out(r) for r in selectors.overview(user=request.user)]


def _excursion_out(e) -> dict:
    return {
        "id": e.pk,
        "unit": e.equipment.code,
        "kind": e.kind,
        "kind_label": e.get_kind_display(),
        "status": e.status,
        "start": e.start.isoformat(),
        "last_seen": e.last_seen.isoformat(),
        "end": e.end.isoformat() if e.end else None,
        "extreme": str(e.extreme) if e.extreme is not None else None,
        "duration_seconds": e.duration_seconds,
        "codes_quarantined": e.codes_quarantined,
        "decision": e.decision,
        "decision_reason": e.decision_reason,
    }


@router.get("/excursions", response={200: list[ExcursionOut], **ERRORS}, summary="未关闭的温度超标事件")
def excursions_list(request):
    require(request.user, "coldchain.view_excursion")
    return [_excursion_out(e) for e in selectors.excursions_open(user=request.user)[:500]]


def _excursion(request, excursion_id: int):
    e = selectors.excursion_get(user=request.user, excursion_id=excursion_id)
    if e is None:
        raise NotFound(
            _("温度超标事件不存在"), field="excursion_id", code=ColdchainErrorCode.EXCURSION_NOT_FOUND
        )
    return e


@router.post(
    "/excursions/{int:excursion_id}/acknowledge",
    response={200: ExcursionOut, **ERRORS},
    summary="确认超标事件",
)
def excursion_acknowledge(request, excursion_id: Id, payload: NoteIn):
    require(request.user, "coldchain.acknowledge_excursion")
    e = _excursion(request, excursion_id)

    def work():
        return 200, _excursion_out(
            services.excursion_acknowledge(actor=request.user, excursion=e, note=payload.note)
        )

    return idempotent_status(request, {"id": excursion_id, **payload.dict()}, work)


@router.post(
    "/excursions/{int:excursion_id}/assess",
    response={200: ExcursionOut, **ERRORS},
    summary="县疾控评估处置：解除隔离（附理由）或销毁（温度异常损耗，附监督人）",
)
def excursion_assess(request, excursion_id: Id, payload: AssessIn):
    require(request.user, "coldchain.assess_excursion")
    e = _excursion(request, excursion_id)

    def work():
        done = services.excursion_assess(actor=request.user, excursion=e, **payload.dict())
        return 200, _excursion_out(done)

    return idempotent_status(request, {"id": excursion_id, **payload.dict()}, work)


@router.post(
    "/excursions/{int:excursion_id}/close", response={200: ExcursionOut, **ERRORS}, summary="关闭超标事件"
)
def excursion_close(request, excursion_id: Id):
    require(request.user, "coldchain.assess_excursion")
    e = _excursion(request, excursion_id)

    def work():
        return 200, _excursion_out(services.excursion_close(actor=request.user, excursion=e))

    return idempotent_status(request, {"id": excursion_id}, work)
