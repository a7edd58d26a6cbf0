"""Pages of the exchange for the county CDC: the 2-day rule per site (with each endpoint's outbox), one site's
overdue doses, and the incoming doses that need a person to decide."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vaxops.core.errors import CoreErrorCode, PermissionDenied, VaxOpsError
from vaxops.core.pages import error_page, message_error

from . import inbound, selectors, services


def _need(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(_("您的角色无权查看此页"), code=CoreErrorCode.ROLE_FORBIDDEN)


@login_required
def overview(request):
    """The 2-day rule per site in the user's scope, the endpoints and their outbox."""
    try:
        _need(request, "exchange.view_outboundmessage")
    except VaxOpsError as e:
        return error_page(request, e)
    counts = selectors.outbox_counts()
    endpoints = [{"e": e, "counts": counts.get(e.code, {})} for e in selectors.endpoints_listed()]
    failed = selectors.messages_failed(user=request.user)
    return render(
        request,
        "exchange/overview.html",
        {
            "sites": selectors.backlog_by_site(user=request.user),
            "lags": selectors.lag_summary(user=request.user),
            "endpoints": endpoints,
            "failed": failed,
            "reviews": selectors.reviews_open(user=request.user).count()
            if request.user.has_perm("exchange.view_inboundreview")
            else None,
        },
    )


@login_required
def site(request, site_id: int):
    try:
        _need(request, "exchange.view_outboundmessage")
        if not request.user.has_perm("clinic.view_dose"):
            raise PermissionDenied(_("您的角色无权查看接种记录"), code=CoreErrorCode.ROLE_FORBIDDEN)
    except VaxOpsError as e:
        return error_page(request, e)
    rows = selectors.backlog_by_site(user=request.user, site_ids=[site_id])
    if not rows:
        raise Http404("no backlog in scope")
    return render(
        request,
        "exchange/site.html",
        {"site": rows[0], "doses": selectors.backlog_doses(user=request.user, site_id=site_id)},
    )


@login_required
@require_POST
def retry(request):
    try:
        _need(request, "exchange.change_outboundmessage")
        ids = [int(x) for x in request.POST.getlist("id") if x.isdigit()]
        n = services.messages_retry(actor=request.user, ids=ids)
        messages.success(request, _("已重新排队 %(n)d 条消息") % {"n": n})
    except VaxOpsError as e:
        message_error(request, e)
    return redirect("exchange:overview")


@login_required
def reviews(request):
    try:
        _need(request, "exchange.view_inboundreview")
    except VaxOpsError as e:
        return error_page(request, e)
    if request.method == "POST":
        try:
            _need(request, "exchange.change_inboundreview")
            review_id = int(request.POST.get("review") or 0)
            if not selectors.reviews_open(user=request.user).filter(pk=review_id).exists():
                raise Http404("no such review")
            inbound.review_decide(
                actor=request.user, review_id=review_id, accept=request.POST.get("do") == "accept"
            )
            messages.success(request, _("已处理"))
        except VaxOpsError as e:
            message_error(request, e)
        return redirect("exchange:reviews")
    rows = []
    for r in selectors.reviews_open(user=request.user)[:200]:
        imm = r.resource or {}
        codes = (imm.get("vaccineCode") or {}).get("coding") or [{}]
        rows.append(
            {
                "r": r,
                "product": codes[0].get("code", ""),
                "day": str(imm.get("occurrenceDateTime") or "")[:10],
                "place": (imm.get("location") or {}).get("display", ""),
            }
        )
    return render(request, "exchange/reviews.html", {"rows": rows})
