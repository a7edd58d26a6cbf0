from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from openpyxl import Workbook

from vaxops.accounts.scope import scope_for
from vaxops.core import clock
from vaxops.core.errors import ValidationFailed, VaxOpsError
from vaxops.core.pages import error_page
from vaxops.core.xlsx import sheet_append, workbook_response, xlsx_response

from . import domain, selectors, services
from .models import ImportJob, Willingness
from .tables import TEMPLATE_HEADERS


@login_required
@permission_required("registry.view_resident", raise_exception=True)
def residents(request):
    q = request.GET.get("q", "")
    village_code = request.GET.get("village_code", "")
    willingness = request.GET.get("willingness", "")
    qs = selectors.residents_search(
        user=request.user, q=q, village_code=village_code, willingness=willingness
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    ctx = {
        "page": page,
        "q": q,
        "village_code": village_code,
        "willingness": willingness,
        "query": urlencode({"q": q, "village_code": village_code, "willingness": willingness}),
        "villages": selectors.villages_visible(user=request.user),
        "willingness_choices": Willingness.choices,
        "scope_label": scope_for(request.user).label,
    }
    if request.htmx:
        return render(request, "registry/_results.html", ctx)
    return render(request, "registry/residents.html", ctx)


@login_required
@permission_required("registry.view_resident", raise_exception=True)
def resident(request, pk: int):
    try:
        r = selectors.resident_get(user=request.user, resident_id=pk)
    except VaxOpsError as e:
        return error_page(request, e, status=404)
    age = domain.age_on(r.birth_date, clock.today()) if r.birth_date else "—"
    return render(
        request,
        "registry/resident.html",
        {
            "r": r,
            "masked_id": r.id_number_masked,
            "masked_phone": r.phone_masked,
            "id_type_label": domain.ID_TYPE_LABELS.get(domain.IdType(r.id_type), r.id_type),
            "age": age,
        },
    )


@login_required
@require_POST
def resident_reveal(request, pk: int):
    try:
        revealed = services.resident_reveal(
            actor=request.user, resident_id=pk, purpose=request.POST.get("purpose", "")
        )
    except VaxOpsError as e:
        return error_page(
            request,
            e,
            template="registry/_revealed.html",
            status=400 if isinstance(e, ValidationFailed) else 403,
        )
    return render(request, "registry/_revealed.html", {"revealed": revealed})


@login_required
@permission_required("registry.search_by_document", raise_exception=True)
def resident_find(request):
    ctx = {"id_types": list(domain.ID_TYPE_LABELS.items()), "id_number": "", "purpose": ""}
    if request.method == "POST":
        ctx.update(
            id_number=request.POST.get("id_number", ""),
            purpose=request.POST.get("purpose", ""),
            searched=True,
        )
        try:
            r = services.resident_find_by_document(
                actor=request.user,
                id_number=ctx["id_number"],
                id_type=request.POST.get("id_type", ""),
                purpose=ctx["purpose"],
            )
        except VaxOpsError as e:
            ctx["error"] = e.message
        else:
            if r is not None:
                return redirect("registry:resident", r.pk)
    return render(request, "registry/find.html", ctx)


@login_required
@permission_required("registry.import_residents", raise_exception=True)
def import_page(request):
    ctx = {
        "jobs": selectors.import_jobs_of(user=request.user)[:20],
        "villages": selectors.villages_visible(user=request.user),
        "village_code": request.POST.get("village_code", ""),
    }
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None or upload.size == 0:
            ctx["error"] = "请选择要导入的文件（文件不能为空）"
        else:
            try:
                job = services.import_job_create(
                    actor=request.user,
                    upload=upload,
                    village_code=request.POST.get("village_code", "").strip(),
                )
            except VaxOpsError as e:
                ctx["error"] = e.message
            else:
                return redirect("registry:import-job", job.pk)
    return render(request, "registry/import.html", ctx)


def _job_for(request, pk: int) -> ImportJob:
    return get_object_or_404(selectors.import_jobs_of(user=request.user), pk=pk)


@login_required
@permission_required("registry.import_residents", raise_exception=True)
def import_job(request, pk: int):
    job = _job_for(request, pk)
    ctx = {"job": job, "errors": job.errors[:200], "more_errors": max(0, len(job.errors) - 200)}
    if request.htmx:
        return render(request, "registry/_import_job.html", ctx)
    return render(request, "registry/import_job.html", ctx)


@login_required
@permission_required("registry.import_residents", raise_exception=True)
def import_errors(request, pk: int):
    job = _job_for(request, pk)
    rows = (
        [e["row"], e.get("name", ""), e.get("masked_id", ""), e["column"], e["message"]] for e in job.errors
    )
    return xlsx_response(
        rows, ["行号", "姓名", "证件号码", "列", "错误原因"], "错误报告", f"import-{job.pk}-errors.xlsx"
    )


@login_required
@permission_required("registry.import_residents", raise_exception=True)
def import_template(request):
    """The census template: the first sheet (the only one an import reads) holds the headers alone; the
    example row and how to fill each column are on a second sheet, 填写说明, so an example left in can never
    become a person (and a file that still holds the example ID gets a warning for that row)."""
    wb = Workbook(write_only=True)
    data = wb.create_sheet("摸底名单")
    text_columns = tuple(TEMPLATE_HEADERS.index(h) for h in ("证件号码", "手机号码", "村(社区)代码"))
    sheet_append(data, TEMPLATE_HEADERS)
    notes = wb.create_sheet("填写说明")
    for line in TEMPLATE_NOTES:
        sheet_append(notes, [line])
    sheet_append(notes, [])
    sheet_append(notes, ["示例（仅供参考，请勿复制到“摸底名单”表）"])
    sheet_append(notes, TEMPLATE_HEADERS)
    sheet_append(notes, TEMPLATE_EXAMPLE, text_columns=text_columns)
    return workbook_response(wb, "census-template.xlsx")


TEMPLATE_NOTES = (
    "摸底名单填写说明",
    "1. 只在第一个工作表“摸底名单”中填写，每人一行；导入只读取第一个工作表。",
    "2. 必填：姓名、证件号码，以及村(社区)代码（导入页面选择了村(社区)时可不填）。证件类型为空时按居民身份证处理。",
    "3. 证件号码、手机号码、村(社区)代码请设为文本格式，避免表格软件改写长数字。",
    "4. 人群分类填中文名称（如“60岁及以上老年人”），为空时按单位、年龄和慢性病自动判断。",
    "5. 是否妊娠填“是”或“否”；接种意愿填“愿意”“犹豫”或“拒绝”。",
    "6. 同一证件号码在一个文件中只能出现一次；重复导入同一文件不会产生变化。",
)
TEMPLATE_EXAMPLE = [
    services.EXAMPLE_NAME,
    "居民身份证",
    services.EXAMPLE_ID_NUMBER,
    "女",
    "1949-12-31",
    "13812345678",
    "某某村1组8号",
    "330199001001",
    "",
    "",
    "",
    "高血压",
    "否",
    "愿意",
    "",
]
