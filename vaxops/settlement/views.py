"""Pages of the monthly settlement: the county's month (every site's statement, its totals and verdicts, the
run), a site's statements, one statement with its lines and its status flow, the subsidy summary, the rules and
prices, and the XLSX and PDF documents."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vaxops.catalog.models import Product
from vaxops.certs.document import FontMissing
from vaxops.core import clock
from vaxops.core.errors import CoreErrorCode, PermissionDenied, VaxOpsError
from vaxops.core.pages import error_page, message_error
from vaxops.core.xlsx import workbook_response
from vaxops.supply.models import Lot

from . import documents, domain, selectors, services


def _need(request, *perms: str) -> None:
    if not any(request.user.has_perm(p) for p in perms):
        raise PermissionDenied(_("您的角色无权查看此页"), code=CoreErrorCode.ROLE_FORBIDDEN)


def _month(request, default: dt.date | None = None) -> dt.date:
    text = request.GET.get("month") or request.POST.get("month")
    if text:
        try:
            return domain.parse_month(text)
        except ValueError:
            pass
    return default or clock.today().replace(day=1)


def _statement(request, pk: int):
    s = selectors.settlements_visible(request.user).filter(pk=pk).first()
    if s is None:
        raise Http404
    return s


@login_required
def county(request):
    """The month: every visible site's statement with its totals, status and reconciliation verdict."""
    try:
        _need(request, "settlement.view_settlement", "settlement.view_subsidy")
    except PermissionDenied as e:
        return error_page(request, e, status=403)
    qs = selectors.settlements_visible(request.user)
    months = selectors.months_visible(request.user)
    month = _month(request, months[0] if months else None)
    rows = list(qs.filter(month=month).order_by("site__code"))
    summary = selectors.month_summary(qs, month)
    return render(
        request,
        "settlement/county.html",
        {
            "month": month,
            "months": months,
            "rows": rows,
            "total": summary["total"],
            "may_run": request.user.has_perm("settlement.run_settlement"),
            "may_lines": request.user.has_perm("settlement.view_settlementline"),
        },
    )


@login_required
@require_POST
def run(request):
    month = _month(request)
    site = selectors.site_by_code(request.POST.get("site", ""))
    try:
        done = services.settlement_run(actor=request.user, month=month, site=site)
        messages.success(
            request, _("%(month)s已结算 %(n)s 个接种单位") % {"month": f"{month:%Y-%m}", "n": len(done)}
        )
    except VaxOpsError as e:
        message_error(request, e)
    return redirect(f"{_url('settlement:county')}?month={month:%Y-%m}")


def _url(name, *args):
    from django.urls import reverse

    return reverse(name, args=args)


@login_required
def site(request, code: str):
    """A site's statements, month by month."""
    try:
        _need(request, "settlement.view_settlement")
    except PermissionDenied as e:
        return error_page(request, e, status=403)
    rows = list(selectors.settlements_visible(request.user).filter(site__code=code).order_by("-month"))
    the_site = selectors.site_by_code(code)
    if the_site is None or (not rows and not request.user.has_perm("settlement.view_county_settlement")):
        raise Http404
    return render(request, "settlement/site.html", {"site": the_site, "rows": rows})


@login_required
def statement(request, pk: int):
    try:
        _need(request, "settlement.view_settlementline")
    except PermissionDenied as e:
        return error_page(request, e, status=403)
    s = _statement(request, pk)
    page = Paginator(selectors.lines_of(s), 200).get_page(request.GET.get("page"))
    u = request.user
    return render(
        request,
        "settlement/statement.html",
        {
            "s": s,
            "page": page,
            "may_confirm": u.has_perm("settlement.confirm_settlement") and s.status == "draft",
            "may_approve": u.has_perm("settlement.approve_settlement") and s.status == "confirmed",
            "may_pay": u.has_perm("settlement.approve_settlement") and s.status == "approved",
            "today": clock.today(),
        },
    )


@login_required
@require_POST
def act(request, pk: int):
    s = _statement(request, pk)
    action = request.POST.get("action")
    try:
        if action == "confirm":
            services.settlement_confirm(actor=request.user, settlement=s)
        elif action == "approve":
            services.settlement_approve(actor=request.user, settlement=s)
        elif action == "return":
            services.settlement_return(
                actor=request.user, settlement=s, reason=request.POST.get("reason", "")
            )
        elif action == "pay":
            try:
                paid_on = dt.date.fromisoformat(request.POST.get("paid_on", ""))
            except ValueError:
                paid_on = None
            services.settlement_pay(
                actor=request.user, settlement=s, paid_on=paid_on, reference=request.POST.get("reference", "")
            )
        else:
            raise Http404
        messages.success(request, _("已保存"))
    except VaxOpsError as e:
        message_error(request, e)
    return redirect("settlement:statement", pk)


@login_required
def statement_xlsx(request, pk: int):
    _need(request, "settlement.view_settlementline")
    s = _statement(request, pk)
    wb = documents.statement_xlsx(s, selectors.lines_of(s).iterator(chunk_size=5000))
    return workbook_response(wb, f"settlement-{s.site.code}-{s.month:%Y-%m}.xlsx")


@login_required
def statement_pdf(request, pk: int):
    _need(request, "settlement.view_settlementline")
    s = _statement(request, pk)
    try:
        pdf = documents.statement_pdf(
            s, list(selectors.lines_of(s)[: documents.PDF_LINES]), selectors.lines_counted(s)
        )
    except FontMissing as e:
        return error_page(request, str(e), status=503)
    return _pdf_response(pdf, f"settlement-{s.site.code}-{s.month:%Y-%m}.pdf")


def _pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


def _summary_rows(request, month):
    return list(selectors.settlements_visible(request.user).filter(month=month).order_by("site__code"))


@login_required
def summary_xlsx(request, month: str):
    _need(request, "settlement.view_subsidy", "settlement.view_county_settlement")
    try:
        m = domain.parse_month(month)
    except ValueError:
        raise Http404 from None
    wb = documents.summary_xlsx(f"{m:%Y年%m月}", _summary_rows(request, m))
    return workbook_response(wb, f"settlement-summary-{m:%Y-%m}.xlsx")


@login_required
def summary_pdf(request, month: str):
    _need(request, "settlement.view_subsidy", "settlement.view_county_settlement")
    try:
        m = domain.parse_month(month)
    except ValueError:
        raise Http404 from None
    try:
        pdf = documents.summary_pdf(f"{m:%Y年%m月}", _summary_rows(request, m))
    except FontMissing as e:
        return error_page(request, str(e), status=503)
    return _pdf_response(pdf, f"settlement-summary-{m:%Y-%m}.pdf")


@login_required
def subsidy(request):
    """The finance bureau's summary: per month, the fund's payable sum and the fiscal subsidy owed."""
    try:
        _need(request, "settlement.view_subsidy")
    except PermissionDenied as e:
        return error_page(request, e, status=403)
    return render(request, "settlement/subsidy.html", {"months": selectors.subsidy_summary(request.user)})


@login_required
def rules(request):
    """The county's rule versions and prices; a new version is added here (or in the admin), never over a
    settled month."""
    try:
        _need(request, "settlement.view_settlementrule")
    except PermissionDenied as e:
        return error_page(request, e, status=403)
    if request.method == "POST":
        try:
            _rules_post(request)
            messages.success(request, _("已保存新版本"))
        except VaxOpsError as e:
            message_error(request, e)
        except (ValueError, Product.DoesNotExist, Lot.DoesNotExist):
            messages.error(request, _("请检查日期、品种、批号和金额"))
        return redirect("settlement:rules")
    return render(
        request,
        "settlement/rules.html",
        {
            "rules": selectors.rules_listed(),
            "prices": selectors.vaccine_prices_listed(),
            "lot_prices": selectors.lot_prices_listed(),
            "products": selectors.products_listed(),
            "settled_through": services.settled_through(),
            "may_edit": request.user.has_perm("settlement.add_settlementrule"),
        },
    )


def _rules_post(request) -> None:
    p = request.POST
    day = dt.date.fromisoformat(p.get("effective_from", ""))
    kind = p.get("kind")
    if kind == "rule":
        services.rule_add(
            actor=request.user,
            effective_from=day,
            service_fee=p.get("service_fee"),
            subsidy_share=p.get("subsidy_share"),
            cutover_date=dt.date.fromisoformat(p.get("cutover_date", "")),
            note=p.get("note", ""),
        )
    elif kind == "price":
        services.vaccine_price_add(
            actor=request.user,
            product=selectors.product_by_code(p.get("product")),
            effective_from=day,
            price=p.get("price"),
            note=p.get("note", ""),
        )
    elif kind == "lot_price":
        services.lot_price_add(
            actor=request.user,
            lot=selectors.lot_by_number(p.get("lot")),
            effective_from=day,
            price=p.get("price"),
            note=p.get("note", ""),
        )
    else:
        raise ValueError(kind)
