from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import render
from openpyxl import Workbook

from vaxops.accounts.scope import scope_for
from vaxops.audit.services import audit_record
from vaxops.catalog.domain import MobilisationCategory, age_on, due_note, eligible_since
from vaxops.catalog.selectors import phases_current
from vaxops.core import clock
from vaxops.core.bounds import parse_day, parse_int
from vaxops.core.xlsx import sheet_append, workbook_response
from vaxops.registry.selectors import employers_in_scope, villages_visible

from .selectors import LABELS, LIST_CATEGORIES, mobilisation_counts, mobilisation_list

MAX_EXPORT = 200_000


def _params(request):
    category = request.GET.get("category") or MobilisationCategory.NOT_STARTED.value
    if category not in {c.value for c in MobilisationCategory}:
        category = MobilisationCategory.NOT_STARTED.value
    on = parse_day(request.GET.get("on")) or clock.today()
    employer_id = parse_int(request.GET.get("employer"), low=1)
    return category, on, request.GET.get("village_code", "").strip(), employer_id


def _row(r, on, phases=()):
    s = getattr(r, "status", None)
    nxt = ""
    if s is not None and s.next_number:
        nxt = "加强针" if s.next_is_booster else f"第{s.next_number}剂"
    since = None
    if s is not None and r.birth_date:
        since = eligible_since(
            birth_date=r.birth_date,
            priority_group=r.priority_group.code if r.priority_group_id else None,
            dose_number=s.next_number,
            earliest=s.next_earliest,
            phases=phases,
        )
    note, overdue = (
        due_note(
            on=on,
            dose_number=s.next_number,
            since=since,
            latest=s.next_latest,
            window_missed=s.window_missed,
        )
        if s is not None
        else ("", None)
    )
    return {
        "r": r,
        "name": r.name,
        "masked_id": r.id_number_masked,
        "masked_phone": r.phone_masked,
        "age": age_on(r.birth_date, on) if r.birth_date else "",
        "next": nxt,
        "earliest": s.next_earliest if s else None,
        "latest": s.next_latest if s else None,
        "since": since,
        "due_note": note,
        "overdue_days": overdue,
    }


@login_required
@permission_required("registry.view_resident", raise_exception=True)
def mobilisation(request):
    category, on, village_code, employer_id = _params(request)
    qs = mobilisation_list(
        user=request.user, category=category, on=on, village_code=village_code, employer_id=employer_id
    ).select_related("priority_group")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    phases = phases_current()
    counts = mobilisation_counts(user=request.user, on=on, village_code=village_code, employer_id=employer_id)
    tabs = [(c.value, LABELS[c], counts[c.value]) for c in MobilisationCategory]
    ctx = {
        "page": page,
        "rows": [_row(r, on, phases) for r in page.object_list],
        "category": category,
        "on": on,
        "village_code": village_code,
        "tabs": tabs,
        "villages": villages_visible(user=request.user),
        "employers": employers_in_scope(user=request.user),
        "employer_id": employer_id,
        "query": urlencode(
            {
                "category": category,
                "on": on.isoformat(),
                "village_code": village_code,
                "employer": employer_id or "",
            }
        ),
        "scope_label": scope_for(request.user).label,
        "label": LABELS[MobilisationCategory(category)],
        "list_categories": [c.value for c in LIST_CATEGORIES],
        "unknown": counts["unknown"],
    }
    return render(request, "campaign/mobilisation.html", ctx)


@login_required
@permission_required("registry.view_resident", raise_exception=True)
def mobilisation_export(request):
    """The list as XLSX for village workers: masked identities, with willingness and the next dose."""
    category, on, village_code, employer_id = _params(request)
    qs = mobilisation_list(
        user=request.user, category=category, on=on, village_code=village_code, employer_id=employer_id
    ).select_related("priority_group")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(LABELS[MobilisationCategory(category)][:30])
    sheet_append(
        ws,
        [
            "姓名",
            "证件号码",
            "手机号码",
            "年龄",
            "村(社区)代码",
            "人群分类",
            "接种意愿",
            "意愿原因",
            "下一剂",
            "可接种自",
            "时限",
            "逾期天数",
        ],
    )
    n = 0
    phases = phases_current()
    for r in qs[:MAX_EXPORT].iterator(chunk_size=2000):
        d = _row(r, on, phases)
        sheet_append(
            ws,
            [
                d["name"],
                d["masked_id"],
                d["masked_phone"],
                d["age"],
                r.village_code,
                r.priority_group.name_zh if r.priority_group_id else "",
                r.get_willingness_display(),
                r.willingness_reason,
                d["next"],
                d["since"],
                d["due_note"],
                d["overdue_days"],
            ],
        )
        n += 1
    audit_record(
        actor=request.user,
        action="mobilisation.export",
        object_type="campaign.list",
        object_id=category,
        new={"on": on.isoformat(), "village_code": village_code, "employer": employer_id, "rows": n},
    )
    return workbook_response(wb, f"mobilisation-{category}-{on.isoformat()}.xlsx")
