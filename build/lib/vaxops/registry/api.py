from datetime import date

from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from pydantic import Field

from vaxops.core.errors import CoreErrorCode, ValidationFailed
from vaxops.core.idempotency import idempotent_status
from vaxops.core.schemas import BoundedPagination, ErrorOut, Id
from vaxops.core.uploads import check_upload_size, errors_listed, upload_digest

from . import selectors, services
from .errors import RegistryErrorCode
from .models import Resident
from .tables import open_table

router = Router(tags=["residents"])


class ResidentOut(Schema):
    id: int
    name: str
    id_type: str
    id_number_masked: str
    sex: str
    birth_date: date | None
    phone_masked: str
    address: str
    village_code: str
    employer_name: str
    occupation: str
    priority_group_code: str | None
    chronic_conditions: str
    pregnant: bool
    willingness: str
    willingness_reason: str


class ResidentIn(Schema):
    name: str
    id_type: str | None = None
    id_number: str
    sex: str | None = None
    birth_date: str | None = None
    phone: str | None = None
    address: str | None = None
    village_code: str
    employer: str | None = None
    occupation: str | None = None
    priority_group: str | None = None
    chronic_conditions: str | None = None
    pregnant: str | None = None
    willingness: str | None = None
    willingness_reason: str | None = None


class ResidentPatch(Schema):
    name: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    phone: str | None = None
    address: str | None = None
    village_code: str | None = None
    employer: str | None = None
    occupation: str | None = None
    priority_group: str | None = None
    chronic_conditions: str | None = None
    pregnant: str | None = None
    willingness: str | None = None
    willingness_reason: str | None = None


class PurposeIn(Schema):
    purpose: str


class FindIn(Schema):
    id_number: str
    id_type: str | None = None
    purpose: str


class RevealOut(Schema):
    id_number: str
    phone: str


class RowErrorOut(Schema):
    row: int
    column: str
    message: str


class ImportOut(Schema):
    read: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[RowErrorOut] = Field(description="前 VAXOPS_IMPORT_ERRORS_LISTED 条（默认 100）逐行错误")
    errors_total: int = Field(description="逐行错误总数（可多于 errors 所列）")


def _out(r: Resident) -> dict:
    return ResidentOut.from_orm(r).dict()


@router.get("", response=list[ResidentOut], summary="居民列表（辖区内，证件号码与手机号脱敏）")
@paginate(BoundedPagination)
def list_residents(
    request, q: str = "", village_code: str = "", willingness: str = "", priority_group: str = ""
):
    qs = selectors.residents_search(
        user=request.user,
        q=q,
        village_code=village_code,
        willingness=willingness,
        priority_group=priority_group,
    )
    return qs


@router.post(
    "", response={201: ResidentOut, 400: ErrorOut, 403: ErrorOut}, summary="建档（支持 Idempotency-Key）"
)
def create_resident(request, payload: ResidentIn):
    data = payload.dict()
    return idempotent_status(
        request, data, lambda: (201, _out(services.resident_create(actor=request.user, data=data)))
    )


@router.get("/{int:resident_id}", response={200: ResidentOut, 404: ErrorOut})
def get_resident(request, resident_id: Id):
    return selectors.resident_get(user=request.user, resident_id=resident_id)


@router.patch("/{int:resident_id}", response={200: ResidentOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut})
def update_resident(request, resident_id: Id, payload: ResidentPatch):
    data = payload.dict(exclude_none=True)
    return services.resident_update(actor=request.user, resident_id=resident_id, data=data)


@router.post(
    "/{int:resident_id}/reveal",
    response={200: RevealOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="查看完整证件号码和手机号（须说明目的，留痕）",
)
def reveal_resident(request, resident_id: Id, payload: PurposeIn):
    return services.resident_reveal(actor=request.user, resident_id=resident_id, purpose=payload.purpose)


@router.post(
    "/find",
    response={200: ResidentOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="按完整证件号码查找（须说明目的，留痕）",
)
def find_resident(request, payload: FindIn):
    r = services.resident_find_by_document(
        actor=request.user,
        id_number=payload.id_number,
        id_type=payload.id_type or "",
        purpose=payload.purpose,
    )
    if r is None:
        return Status(
            404,
            {
                "code": RegistryErrorCode.RESIDENT_NOT_FOUND,
                "message": _("辖区内没有该证件号码的居民"),
                "field": None,
            },
        )
    return _out(r)


@router.post(
    "/import",
    response={200: ImportOut, 400: ErrorOut, 403: ErrorOut},
    summary="导入摸底名单（CSV/XLSX），返回计数与逐行错误",
)
def import_residents(
    request, file: File[UploadedFile], village_code: Form[str] = "", employer_code: Form[str] = ""
):
    check_upload_size(file.size or 0)

    def work():
        if file.size == 0:
            raise ValidationFailed(_("文件为空"), code=CoreErrorCode.FILE_EMPTY)
        table = open_table(file.file, size=file.size, filename=file.name or "")
        result = services.residents_import(
            table=table,
            actor=request.user,
            village_code=village_code or None,
            employer_code=employer_code or None,
            filename=file.name or "",
        )
        return 200, result.as_dict(listed=errors_listed())

    return idempotent_status(
        request, {"file": upload_digest(file), "village": village_code, "employer": employer_code}, work
    )
