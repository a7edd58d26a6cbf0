"""The pages of the supply chain (疫苗供应与追溯): stock overview, lots and their trace, codes, receipt
import, dispatches and their receipt, allocation and stock counts.

Reads go through ``selectors`` and writes through ``services``; every place a user acts on is checked with
``selectors.require_place`` (the permission and the user's jurisdiction). Refusals are shown in the page
with their Chinese message; a successful POST redirects (PRG).
"""

from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required, user_passes_test
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from vaxops.core import clock
from vaxops.core.bounds import INT32_MAX, parse_int
from vaxops.core.errors import CoreErrorCode, NotFound, PermissionDenied, VaxOpsError
from vaxops.core.pages import error_page, error_status, form_error
from vaxops.core.xlsx import xlsx_response
from vaxops.registry.domain import mask_name

from . import domain, selectors, services, tasks
from .errors import SupplyErrorCode
from .forms import (
    AllocationForm,
    DispatchForm,
    LotStatusForm,
    ReceiptUploadForm,
    ReceiveForm,
    RevealForm,
    StockCountForm,
    WasteForm,
    default_store,
)
from .models import (
    AllocationRun,
    AllocationStatus,
    CodeState,
    Dispatch,
    DispatchStatus,
    Lot,
    ReceiptImportJob,
    StockPlace,
)
from .selectors import places_for, require_place
from .signals import dispatch_shown

PAGE = 50  # rows per page of the lists and of a lot's recipients
BALANCES_SHOWN = 500  # balance rows on the overview; the XLSX has them all
CODES_SHOWN = 500  # codes of one dispatch listed on its page
OVERDUE_HOURS = 24


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _perm_any(*perms):
    """Like ``permission_required(..., raise_exception=True)`` for any one of ``perms``."""

    def check(user) -> bool:
        if any(user.has_perm(p) for p in perms):
            return True
        raise DjangoPermissionDenied

    return user_passes_test(check)


def _in_scope(user, place: StockPlace | None) -> bool:
    return place is not None and places_for(user).filter(pk=place.pk).exists()


def _when(iso: str | None) -> str:
    """An ISO timestamp from a selector as local "YYYY-MM-DD HH:MM" ("" for none)."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return moment.strftime("%Y-%m-%d %H:%M")


def _offset(request) -> int:
    return parse_int(request.GET.get("offset") or request.POST.get("offset") or 0, low=0, high=INT32_MAX) or 0


# --------------------------------------------------------------------------------------------------
# Overview, balances
# --------------------------------------------------------------------------------------------------


def _balances_in_scope(user) -> list[dict]:
    codes = set(places_for(user).values_list("code", flat=True))
    rows = [b for b in selectors.balances() if b["place"] in codes]
    lot_ids = selectors.lot_ids_by_number(keys={(b["product"], b["lot"]) for b in rows})
    for b in rows:
        b["lot_id"] = lot_ids.get((b["product"], b["lot"]))
    return rows


@login_required
@_perm_any("supply.view_lot", "supply.view_stockbalance")
def overview(request):
    user = request.user
    place_ids = set(places_for(user).values_list("pk", flat=True))
    rows = [r for r in selectors.places_overview() if r["place"].pk in place_ids]
    for r in rows:
        pct = r["volume_pct"]
        r["bar"] = None if pct is None else max(0, min(100, round(pct)))
        r["full"] = pct is not None and pct >= 90
    balances = _balances_in_scope(user)
    return render(
        request,
        "supply/overview.html",
        {
            "rows": rows,
            "alerts": selectors.alerts_in_places(place_ids=place_ids),
            "ledger": selectors.ledger_check_in_places(place_ids=place_ids),
            "balances": balances[:BALANCES_SHOWN],
            "balances_more": max(0, len(balances) - BALANCES_SHOWN),
            "balances_total": sum(b["doses"] for b in balances),
        },
    )


@login_required
@_perm_any("supply.view_lot", "supply.view_stockbalance")
def balances_xlsx(request):
    rows = (
        [
            b["place"],
            b["place_name"],
            b["product"],
            b["lot"],
            b["expiry"],
            b["status_label"],
            "是" if b["usable"] else "否",
            b["why"],
            b["doses"],
        ]
        for b in _balances_in_scope(request.user)
    )
    return xlsx_response(
        rows,
        [
            "地点编码",
            "库存地点",
            "疫苗品种",
            "批号",
            "有效期至",
            "批号状态",
            "可用",
            "不可用原因",
            "结存（剂）",
        ],
        "库存结存",
        f"balances-{clock.today().isoformat()}.xlsx",
        text_columns=(3,),
    )


# --------------------------------------------------------------------------------------------------
# Lots and the lot trace
# --------------------------------------------------------------------------------------------------


@login_required
@permission_required("supply.view_lot", raise_exception=True)
def lots(request):
    q = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    known = status in {s.value for s in domain.LotStatus}
    qs = selectors.lots_listed(user=request.user, q=q, status=status if known else "")
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "supply/lots.html",
        {
            "page": page,
            "q": q,
            "status": status,
            "statuses": [(s.value, s.label_zh) for s in domain.LotStatus],
            "query": urlencode({"q": q, "status": status}),
            "today": clock.today(),
        },
    )


def _lot_context(request, lot: Lot, *, offset: int = 0, reveal_purpose: str | None = None, **extra) -> dict:
    user = request.user
    trace = selectors.lot_trace(user=user, lot=lot, limit=PAGE, offset=offset, reveal_purpose=reveal_purpose)
    labels = dict(CodeState.choices)
    states = [(labels[s], trace["by_state"].get(s, 0)) for s in CodeState.values]
    may_return = lot.status == domain.LotStatus.RECALLED.value and user.has_perm("supply.add_stockmovement")
    mine = set(places_for(user).values_list("code", flat=True)) if may_return else set()
    pks = selectors.place_ids_by_code(codes=[r["place"] for r in trace["places"]])
    for r in trace["places"]:
        r["pk"] = pks.get(r["place"])
        r["may_return"] = may_return and r["in_stock"] > 0 and r["place"] in mine
    for x in trace["recipients"]:
        x["when"] = _when(x["administered_at"])
    links = _dispatch_links(user, trace["in_transit_dispatches"])
    in_transit = [(number, links.get(number)) for number in trace["in_transit_dispatches"]]
    visible = trace["administered_total"] - trace["administered_hidden"]
    ctx = {
        "lot": lot,
        "trace": trace,
        "states": states,
        "visible": visible,
        "in_transit": in_transit,
        "prev_offset": max(0, offset - PAGE) if offset > 0 else None,
        "next_offset": offset + PAGE if offset + PAGE < visible else None,
        "shown_from": offset + 1 if trace["recipients"] else 0,
        "shown_to": offset + len(trace["recipients"]),
        "reveal_form": RevealForm(),
        "status_form": LotStatusForm(),
        "may_reveal": user.has_perm("registry.reveal_identity"),
        "may_change": user.has_perm("supply.change_lot"),
    }
    ctx.update(extra)
    return ctx


@login_required
@require_GET
@permission_required("supply.view_lot", raise_exception=True)
def lot(request, pk: int):
    lot = get_object_or_404(selectors.lots_for_pages(), pk=pk)
    return render(request, "supply/lot.html", _lot_context(request, lot, offset=_offset(request)))


@login_required
@require_POST
@permission_required("supply.view_lot", raise_exception=True)
def lot_reveal(request, pk: int):
    """Show this page of recipients with full names and ID numbers, for a stated purpose (audited by the
    selector). Answered directly, not redirected: the full identities are never put in a URL."""
    lot = get_object_or_404(selectors.lots_for_pages(), pk=pk)
    offset = _offset(request)
    form = RevealForm(request.POST)
    if not request.user.has_perm("registry.reveal_identity"):
        return render(
            request,
            "supply/lot.html",
            _lot_context(request, lot, offset=offset, error=_("您的角色无权查看完整身份信息")),
            status=403,
        )
    if not form.is_valid():
        return render(
            request,
            "supply/lot.html",
            _lot_context(request, lot, offset=offset, reveal_form=form),
            status=400,
        )
    try:
        ctx = _lot_context(
            request, lot, offset=offset, reveal_purpose=form.cleaned_data["purpose"], reveal_form=form
        )
    except VaxOpsError as e:
        form_error(form, e)
        return render(
            request,
            "supply/lot.html",
            _lot_context(request, lot, offset=offset, reveal_form=form),
            status=error_status(e),
        )
    return render(request, "supply/lot.html", ctx)


@login_required
@require_POST
@permission_required("supply.view_lot", raise_exception=True)
def lot_status(request, pk: int):
    lot = get_object_or_404(selectors.lots_for_pages(), pk=pk)
    form = LotStatusForm(request.POST)
    if not request.user.has_perm("supply.change_lot"):
        return render(
            request,
            "supply/lot.html",
            _lot_context(request, lot, error=_("您的角色无权变更批号状态")),
            status=403,
        )
    if form.is_valid():
        try:
            services.lot_status_change(actor=request.user, lot=lot, **form.cleaned_data)
        except VaxOpsError as e:
            form_error(form, e)
        else:
            messages.success(
                request,
                _("批号%(lot)s的状态已改为“%(status)s”")
                % {"lot": lot.lot_number, "status": domain.LotStatus(lot.status).label_zh},
            )
            return redirect("supply:lot", lot.pk)
    return render(request, "supply/lot.html", _lot_context(request, lot, status_form=form), status=400)


@login_required
@require_POST
@permission_required("supply.view_lot", raise_exception=True)
def lot_recall_return(request, pk: int):
    lot = get_object_or_404(selectors.lots_for_pages(), pk=pk)
    place_id = parse_int(request.POST.get("place"), low=1)
    place = selectors.place_by_id(place_id=place_id) if place_id else None
    try:
        if place is None:
            raise NotFound(_("请选择要退回的库存地点"), code=SupplyErrorCode.PLACE_REQUIRED)
        require_place(request.user, place, "supply.add_stockmovement")
        n = services.recall_return(
            actor=request.user, lot=lot, place=place, reason=request.POST.get("reason", "").strip()[:200]
        )
    except VaxOpsError as e:
        return error_page(request, e, template="supply/lot.html", context=_lot_context(request, lot))
    messages.success(
        request,
        _("已从%(place)s召回退回批号%(lot)s的追溯码%(n)s个")
        % {"place": place.name, "lot": lot.lot_number, "n": n},
    )
    return redirect("supply:lot", lot.pk)


# --------------------------------------------------------------------------------------------------
# Codes
# --------------------------------------------------------------------------------------------------


@login_required
@require_GET
@permission_required("supply.view_lot", raise_exception=True)
def codes(request):
    text = request.GET.get("code", "").strip()
    ctx = {"code": text}
    if text:
        try:
            parsed = domain.parse_trace_code(text)
        except domain.TraceCodeError as e:
            ctx["error"] = e.message
            return render(request, "supply/codes.html", ctx, status=400)
        return redirect("supply:code", parsed.code)
    return render(request, "supply/codes.html", ctx)


def _code_context(request, code: str, **extra) -> dict:
    user = request.user
    trace = selectors.code_trace(user=user, code=code)
    tc = selectors.code_with_place(code=trace["code"])
    links = _dispatch_links(user, [h["dispatch"] for h in trace["dispatches"]])
    for h in trace["dispatches"]:
        h["dispatched_when"], h["received_when"] = _when(h["dispatched_at"]), _when(h["received_at"])
        h["dispatch_id"] = links.get(h["dispatch"])
    for m in trace["movements"]:
        m["when"] = _when(m["at"])
    if trace["recipient"]:
        trace["recipient"]["when"] = _when(trace["recipient"]["administered_at"])
    may_waste = (
        tc.state == CodeState.IN_STOCK
        and user.has_perm("supply.add_stockmovement")
        and _in_scope(user, tc.place)
    )
    ctx = {"code": trace["code"], "trace": trace, "tc": tc, "may_waste": may_waste, "waste_form": WasteForm()}
    ctx.update(extra)
    return ctx


@login_required
@require_GET
@permission_required("supply.view_lot", raise_exception=True)
def code(request, code: str):
    try:
        ctx = _code_context(request, code)
    except VaxOpsError as e:
        return error_page(request, e, template="supply/codes.html", context={"code": code}, status=404)
    return render(request, "supply/code.html", ctx)


@login_required
@require_POST
@permission_required("supply.view_lot", raise_exception=True)
def code_waste(request, code: str):
    form = WasteForm(request.POST)
    try:
        ctx = _code_context(request, code, waste_form=form)
    except VaxOpsError as e:
        return error_page(request, e, template="supply/codes.html", context={"code": code}, status=404)
    tc = ctx["tc"]
    if not form.is_valid():
        return render(request, "supply/code.html", ctx, status=400)
    try:
        if tc.place is None or tc.state != CodeState.IN_STOCK:
            raise NotFound(
                _("追溯码%(code)s不在库存中（%(state)s），不能登记损耗")
                % {"code": tc.code, "state": tc.get_state_display()},
                code=SupplyErrorCode.CODE_NOT_IN_STOCK,
            )
        require_place(request.user, tc.place, "supply.add_stockmovement")
        services.code_waste(actor=request.user, code=tc.code, place=tc.place, **form.cleaned_data)
    except VaxOpsError as e:
        form_error(form, e)
        ctx["may_waste"] = True  # keep the form (and its error) in view
        return render(request, "supply/code.html", ctx, status=error_status(e))
    messages.success(request, _("追溯码%(code)s已登记损耗") % {"code": tc.code})
    return redirect("supply:code", tc.code)


# --------------------------------------------------------------------------------------------------
# Receipt import (收货导入)
# --------------------------------------------------------------------------------------------------


@login_required
@permission_required("supply.add_tracecode", raise_exception=True)
def import_page(request):
    places = list(places_for(request.user))
    store = default_store(places)
    form = ReceiptUploadForm(initial={"place": store.pk if store else None})
    status = 200
    if request.method == "POST":
        form = ReceiptUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if not upload.size:
                    raise VaxOpsError(_("请选择要导入的文件（文件不能为空）"), code=CoreErrorCode.FILE_EMPTY)
                job = tasks.receipt_job_create(
                    actor=request.user, upload=upload, place=form.cleaned_data["place"]
                )
            except VaxOpsError as e:
                form_error(form, e)
                status = error_status(e)
            else:
                return redirect("supply:import-job", job.pk)
        else:
            status = 400
    form.fields["place"].offer(places)
    jobs = selectors.receipt_jobs_of(user=request.user)[:20]
    return render(request, "supply/import.html", {"form": form, "jobs": jobs}, status=status)


def _job_for(request, pk: int) -> ReceiptImportJob:
    return get_object_or_404(selectors.receipt_jobs_of(user=request.user), pk=pk)


@login_required
@permission_required("supply.add_tracecode", raise_exception=True)
def import_job(request, pk: int):
    job = _job_for(request, pk)
    ctx = {"job": job, "errors": job.errors[:200], "more_errors": max(0, len(job.errors) - 200)}
    if request.htmx:
        return render(request, "supply/_import_job.html", ctx)
    return render(request, "supply/import_job.html", ctx)


@login_required
@permission_required("supply.add_tracecode", raise_exception=True)
def import_errors(request, pk: int):
    job = _job_for(request, pk)
    rows = ([e["row"], e["column"], e["message"]] for e in job.errors)
    return xlsx_response(rows, ["行号", "列", "错误原因"], "错误报告", f"receipt-{job.pk}-errors.xlsx")


@login_required
@permission_required("supply.add_tracecode", raise_exception=True)
def import_template(request):
    """The receipt columns with one example row whose code carries a registered prefix of its product."""
    example = selectors.trace_prefix_example()
    if example is not None:
        row = [f"{example.prefix}0000000010000", "202105001", example.product.code, "2099-12-31", ""]
    else:
        row = ["81001010000000010000", "202105001", "BBIBP-CorV", "2099-12-31", ""]
    return xlsx_response(
        [row],
        ["追溯码", "批号", "疫苗品种", "有效期至", "包装码"],
        "收货追溯码",
        "receipt-template.xlsx",
        text_columns=(0, 1, 3, 4),
    )


# --------------------------------------------------------------------------------------------------
# Dispatches (调拨) and receipt at the destination (签收)
# --------------------------------------------------------------------------------------------------


def _dispatch_links(user, numbers) -> dict[str, int]:
    """Ids of the dispatches named in ``numbers`` that ``user`` may open (for links)."""
    if not numbers or not user.has_perm("supply.view_dispatch"):
        return {}
    return dict(
        selectors.dispatches_visible(user=user).filter(number__in=list(numbers)).values_list("number", "pk")
    )


def _overdue(d: Dispatch, now) -> bool:
    return d.status == DispatchStatus.IN_TRANSIT and domain.receipt_overdue(
        dispatched_at=d.dispatched_at, now=now, hours=OVERDUE_HOURS
    )


@login_required
@require_GET
@permission_required("supply.view_dispatch", raise_exception=True)
def dispatches(request):
    status = request.GET.get("status", "")
    qs = selectors.dispatches_visible(user=request.user).select_related("from_place", "to_place", "product")
    if status in DispatchStatus.values:
        qs = qs.filter(status=status)
    page = Paginator(qs.order_by("-dispatched_at", "-id"), PAGE).get_page(request.GET.get("page"))
    now = clock.now()
    rows = [{"d": d, "overdue": _overdue(d, now)} for d in page.object_list]
    return render(
        request,
        "supply/dispatches.html",
        {
            "page": page,
            "rows": rows,
            "status": status,
            "statuses": DispatchStatus.choices,
            "query": urlencode({"status": status}),
        },
    )


@login_required
@permission_required("supply.add_dispatch", raise_exception=True)
def dispatch_new(request):
    places = list(places_for(request.user))
    store = default_store(places)
    vehicles = selectors.carriers(places=places)
    form = DispatchForm(initial={"from_place": store.pk if store else None})
    form.offer_vehicles(vehicles)
    status = 200
    if request.method == "POST":
        form = DispatchForm(request.POST)
        form.offer_vehicles(vehicles)
        if form.is_valid():
            data = form.cleaned_data
            vehicle = next((u for u in vehicles if u.pk == data.get("vehicle")), None)
            try:
                require_place(request.user, data["from_place"], "supply.add_dispatch")
                d = services.dispatch_create(
                    actor=request.user,
                    from_place=data["from_place"],
                    to_place=data["to_place"],
                    product=data["product"],
                    doses=data["doses"],
                    note=data["note"],
                    vehicle=vehicle,
                )
            except VaxOpsError as e:
                form_error(form, e)
                status = error_status(e)
            else:
                messages.success(
                    request,
                    _("已生成调拨单%(number)s：%(doses)s剂（%(codes)s个追溯码），在途待签收")
                    % {"number": d.number, "doses": d.doses, "codes": d.codes_count},
                )
                return redirect("supply:dispatch", d.pk)
        else:
            status = 400
    form.fields["from_place"].offer(places)
    form.fields["to_place"].offer(selectors.places_all())
    return render(request, "supply/dispatch_new.html", {"form": form}, status=status)


def _dispatch_context(request, d: Dispatch, **extra) -> dict:
    user = request.user
    may_receive = (
        d.status == DispatchStatus.IN_TRANSIT
        and user.has_perm("supply.change_dispatch")
        and _in_scope(user, d.to_place)
    )
    codes = selectors.dispatch_codes(dispatch=d, limit=CODES_SHOWN)
    ctx = {
        "d": d,
        "items": d.items.select_related("lot").all(),
        "codes": codes,
        "codes_more": max(0, d.codes_count - len(codes)),
        "discrepancies": d.discrepancies.all(),
        "overdue": _overdue(d, clock.now()),
        "may_receive": may_receive,
        "receive_form": ReceiveForm(),
        "sections": [
            html for _r, html in dispatch_shown.send(sender=Dispatch, dispatch=d, user=user) if html
        ],
    }
    ctx.update(extra)
    return ctx


def _dispatch_row(pk: int) -> Dispatch:
    """The dispatch with what its page shows (404 when there is none; the caller checks the user's places)."""
    found = selectors.dispatch_by_id(
        dispatch_id=pk,
        related=(
            "from_place",
            "to_place",
            "product",
            "dispatched_by",
            "received_by",
            "allocation",
            "vehicle__place",
        ),
    )
    if found is None:
        raise Http404
    return found


def _dispatch_get(request, pk: int) -> Dispatch:
    d = _dispatch_row(pk)
    if not selectors.dispatches_visible(user=request.user).filter(pk=d.pk).exists():
        raise NotFound(_("调拨单不存在或不在您的管辖范围内"), code=SupplyErrorCode.DISPATCH_NOT_FOUND)
    return d


@login_required
@require_GET
@permission_required("supply.view_dispatch", raise_exception=True)
def dispatch(request, pk: int):
    try:
        d = _dispatch_get(request, pk)
    except NotFound as e:
        return error_page(request, e)
    return render(request, "supply/dispatch.html", _dispatch_context(request, d))


@login_required
@require_POST
@permission_required("supply.view_dispatch", raise_exception=True)
def dispatch_receive(request, pk: int):
    d = _dispatch_row(pk)
    form = ReceiveForm(request.POST)
    try:
        # The destination is the place acted on; outside the user's places this is refused with its name.
        require_place(request.user, d.to_place, "supply.change_dispatch")
    except VaxOpsError as e:
        if not selectors.dispatches_visible(user=request.user).filter(pk=d.pk).exists():
            return error_page(request, e)
        form.is_valid()
        form_error(form, e)
        return render(
            request,
            "supply/dispatch.html",
            _dispatch_context(request, d, receive_form=form, may_receive=True),
            status=error_status(e),
        )
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        scanned = None if data["mode"] == ReceiveForm.MODE_ALL else data["scanned"]
        try:
            got = services.dispatch_receive(
                actor=request.user,
                dispatch=d,
                scanned=scanned,
                damaged=data["damaged"],
                note=data["note"],
                arrival_celsius=data.get("arrival_celsius"),
            )
        except VaxOpsError as e:
            form_error(form, e)
            status = error_status(e)
        else:
            if got.status == DispatchStatus.RECEIVED:
                messages.success(request, _("调拨单%(number)s已签收，与调出相符") % {"number": got.number})
            else:
                messages.warning(
                    request,
                    _("调拨单%(number)s已签收，有%(n)s处差异，见下方差异清单")
                    % {"number": got.number, "n": got.discrepancies.count()},
                )
            return redirect("supply:dispatch", got.pk)
    d.refresh_from_db()
    return render(
        request,
        "supply/dispatch.html",
        _dispatch_context(request, d, receive_form=form, may_receive=True),
        status=status,
    )


# --------------------------------------------------------------------------------------------------
# Allocation (疫苗分配)
# --------------------------------------------------------------------------------------------------


@login_required
@permission_required("supply.view_allocationrun", raise_exception=True)
def allocation(request):
    places = list(places_for(request.user))
    store = default_store(places)
    form = AllocationForm(initial={"source": store.pk if store else None})
    status = 200
    if request.method == "POST":
        form = AllocationForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                require_place(request.user, data["source"], "supply.add_allocationrun")
                run = services.allocation_propose(
                    actor=request.user,
                    product=data["product"],
                    doses_arriving=data["doses_arriving"],
                    source=data["source"],
                    weights={"risk": data["risk"], "density": data["density"], "mobility": data["mobility"]},
                )
            except VaxOpsError as e:
                form_error(form, e)
                status = error_status(e)
            else:
                return redirect("supply:allocation-run", run.pk)
        else:
            status = 400
    form.fields["source"].offer(places)
    runs = selectors.allocation_runs_visible(user=request.user).select_related(
        "product", "source", "created_by"
    )[:20]
    return render(
        request,
        "supply/allocation.html",
        {
            "form": form,
            "runs": runs,
            "may_propose": request.user.has_perm("supply.add_allocationrun"),
        },
        status=status,
    )


def _run_context(request, run: AllocationRun, **extra) -> dict:
    lines = list(run.lines)
    top = max([x["doses"] for x in lines] or [0]) or 1
    for x in lines:
        x["pct"] = round(x["doses"] * 100 / top)
        x["share_pct"] = round(x["share"] * 100, 1)
    ctx = {
        "run": run,
        "lines": lines,
        "allocated": sum(x["doses"] for x in lines),
        "dispatches": run.dispatches.select_related("to_place").order_by("to_place__code"),
        "may_approve": run.status == AllocationStatus.PROPOSED
        and request.user.has_perm("supply.change_allocationrun"),
    }
    ctx.update(extra)
    return ctx


def _run_get(request, pk: int) -> AllocationRun:
    run = selectors.allocation_run_by_id(
        run_id=pk, related=("product", "source", "created_by", "approved_by")
    )
    if run is None:
        raise Http404
    if not selectors.allocation_runs_visible(user=request.user).filter(pk=run.pk).exists():
        raise NotFound(_("分配方案不存在或不在您的管辖范围内"), code=SupplyErrorCode.ALLOCATION_NOT_FOUND)
    return run


@login_required
@require_GET
@permission_required("supply.view_allocationrun", raise_exception=True)
def allocation_run(request, pk: int):
    try:
        run = _run_get(request, pk)
    except NotFound as e:
        return error_page(request, e)
    return render(request, "supply/allocation_run.html", _run_context(request, run))


@login_required
@require_POST
@permission_required("supply.view_allocationrun", raise_exception=True)
def allocation_approve(request, pk: int):
    try:
        run = _run_get(request, pk)
    except NotFound as e:
        return error_page(request, e)
    try:
        require_place(request.user, run.source, "supply.change_allocationrun")
        require_place(request.user, run.source, "supply.add_dispatch")
        made = services.allocation_approve(actor=request.user, run=run)
    except VaxOpsError as e:
        return error_page(
            request, e, template="supply/allocation_run.html", context=_run_context(request, run)
        )
    messages.success(
        request,
        _("分配方案已审批，生成调拨单%(n)s张，共%(doses)s剂")
        % {"n": len(made), "doses": sum(d.doses for d in made)},
    )
    return redirect("supply:allocation-run", run.pk)


# --------------------------------------------------------------------------------------------------
# Stock count (盘点)
# --------------------------------------------------------------------------------------------------


@login_required
@permission_required("supply.add_stockcount", raise_exception=True)
def count_new(request):
    places = list(places_for(request.user))
    store = default_store(places)
    form = StockCountForm(initial={"place": store.pk if store else None})
    status = 200
    if request.method == "POST":
        form = StockCountForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                require_place(request.user, data["place"], "supply.add_stockcount")
                if data["adjust"]:
                    require_place(request.user, data["place"], "supply.add_stockmovement")
                count = services.stock_count_record(
                    actor=request.user,
                    place=data["place"],
                    scanned=data["scanned"],
                    adjust=data["adjust"],
                    reason=data["reason"],
                )
            except VaxOpsError as e:
                form_error(form, e)
                status = error_status(e)
            else:
                return redirect("supply:count", count.pk)
        else:
            status = 400
    form.fields["place"].offer(places)
    recent = selectors.stock_counts_visible(user=request.user)[:20]
    return render(request, "supply/count_new.html", {"form": form, "recent": recent}, status=status)


@login_required
@require_GET
@permission_required("supply.view_stockcount", raise_exception=True)
def count(request, pk: int):
    c = get_object_or_404(selectors.stock_counts_for_pages(), pk=pk)
    if not _in_scope(request.user, c.place):
        return error_page(request, _("盘点记录不存在或不在您的管辖范围内"), status=404)
    known = selectors.code_places(codes=c.unexpected[:2000])
    unexpected = [{"code": x, "where": known.get(x)} for x in c.unexpected]
    return render(request, "supply/count.html", {"c": c, "unexpected": unexpected})


# --------------------------------------------------------------------------------------------------
# A person's codes
# --------------------------------------------------------------------------------------------------


@login_required
@require_GET
@permission_required("supply.view_lot", raise_exception=True)
def person_codes(request, pk: int):
    not_found = _("居民不存在或不在您的管辖范围内")
    resident = selectors.resident_by_id(resident_id=pk)
    if resident is None:
        return error_page(request, not_found, status=404)
    try:
        rows = selectors.person_codes(user=request.user, resident=resident)
    except VaxOpsError as e:
        return error_page(request, not_found if isinstance(e, PermissionDenied) else e.message, status=404)
    lot_ids = selectors.lot_ids_by_number(keys={(r["product"], r["lot"]) for r in rows})
    for r in rows:
        r["lot_id"] = lot_ids.get((r["product"], r["lot"]))
        r["when"] = _when(r["administered_at"])
        r["lot_status_label"] = domain.LotStatus(r["lot_status"]).label_zh
    return render(
        request,
        "supply/person_codes.html",
        {
            "r": resident,
            "masked_name": mask_name(resident.name),
            "masked_id": resident.id_number_masked,
            "rows": rows,
            "clinic_url": reverse("clinic:resident", args=[resident.pk]),
        },
    )
