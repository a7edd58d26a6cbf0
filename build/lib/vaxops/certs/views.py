"""Certificate pages: the resident's own (through the private link sent to their phone), the staff page
to issue and print, the public verifier, and the published revocation and trust lists."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from vaxops.clinic.services import record_link_from_token, record_link_used
from vaxops.core import clock
from vaxops.core.errors import CoreErrorCode, NotFound, VaxOpsError
from vaxops.core.pages import error_page
from vaxops.core.ratelimit import throttle
from vaxops.registry.selectors import resident_get

from . import document, domain, selectors, services
from .errors import CertsErrorCode
from .models import VaccinationCertificate

MAX_HC1 = 8000  # characters of a pasted HC1 string (a real one is well under 1,000)


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _view(cert: VaccinationCertificate) -> dict:
    """What a page or the PDF shows of a certificate."""
    entry = (cert.payload.get("v") or [{}])[0]
    return {
        "cert": cert,
        "doc": cert.document,
        "qr_svg": document.qr_svg(cert.hc1, scale=3),
        "issued_at": _local(cert.issued_at),
        "expires_at": _local(cert.expires_at),
        "qr_product": domain.display_product(entry.get("mp", "")),
        "qr_dose": f"{entry.get('dn')}/{entry.get('sd')}",
        "revoked": cert.revoked_at is not None,
    }


def _pdf_response(cert: VaccinationCertificate, *, filename: str) -> HttpResponse:
    data = document.pdf_render(
        document=cert.document,
        hc1=cert.hc1,
        issued_at=_local(cert.issued_at),
        expires_at=_local(cert.expires_at),
        revoked=cert.revoked_at is not None,
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------------------------------
# The resident's own certificate (private link)
# --------------------------------------------------------------------------------------------------


def _link_of(token: str):
    link = record_link_from_token(token)
    if link is None:
        raise Http404("链接无效、已过期或已撤销 / invalid, expired or revoked link")
    return link


def _private(response):
    # same-origin, not no-referrer: the token never leaves for another site, and the page's own POST (the
    # issue button) carries a real Origin for the CSRF check (no-referrer makes the browser send "null").
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@throttle("record")
@require_http_methods(["GET", "POST"])
def mine(request, token: str):
    """The resident's certificate on their phone: Chinese and English side by side, the QR inline. A GET only
    shows the standing certificate; when there is none (or the doses changed) the page offers a button that
    issues it (POST, then back to the page)."""
    link = _link_of(token)
    resident = link.resident
    if request.method == "POST":
        try:
            services.certificate_for_link(resident=resident)
        except VaxOpsError as e:
            return _private(error_page(request, e, template="certs/mine.html", context={"token": token}))
        record_link_used(link=link, page="certificate_issue")
        return redirect(reverse("certs:mine", args=[token]))
    try:
        cert = services.certificate_standing(resident=resident)
    except VaxOpsError as e:
        return _private(error_page(request, e, template="certs/mine.html", context={"token": token}))
    record_link_used(link=link, page="certificate")
    if cert is None:
        return _private(render(request, "certs/mine.html", {"need_issue": True, "token": token}))
    return _private(render(request, "certs/mine.html", {**_view(cert), "token": token}))


@never_cache
@throttle("record")
@require_GET
def mine_pdf(request, token: str):
    link = _link_of(token)
    try:
        cert = services.certificate_standing(resident=link.resident)
        if cert is None:
            raise NotFound(
                _("请先在凭证页面领取接种凭证 / get your certificate on its page first"),
                code=CertsErrorCode.CERTIFICATE_NOT_FOUND,
            )
        record_link_used(link=link, page="certificate_pdf")
        return _private(_pdf_response(cert, filename="vaccination-certificate.pdf"))
    except VaxOpsError as e:
        return error_page(request, e)


# --------------------------------------------------------------------------------------------------
# Staff: issue and print at the desk
# --------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def staff(request, pk: int):
    try:
        if not services.may_issue(request.user):
            raise services.PermissionDenied(_("您的角色无权签发接种凭证"), code=CoreErrorCode.ROLE_FORBIDDEN)
        resident = resident_get(user=request.user, resident_id=pk)
    except VaxOpsError as e:
        return error_page(request, e)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "send":
                if services.certificate_link_send(
                    actor=request.user, resident_id=resident.pk, base_url=request.build_absolute_uri("/")
                ):
                    messages.success(request, "凭证链接已发送到居民手机 / link sent to the resident's phone")
                else:
                    messages.error(request, "该居民未登记手机号码 / no phone number on file")
            elif request.POST.get("action") == "revoke":
                services.certificate_revoke(
                    actor=request.user,
                    certificate_id=int(request.POST.get("certificate") or 0),
                    reason=request.POST.get("reason", ""),
                )
                messages.success(request, "凭证已撤销 / certificate revoked")
            else:
                services.certificate_issue(
                    actor=request.user, resident_id=resident.pk, reissue=request.POST.get("reissue") == "1"
                )
                messages.success(request, "凭证已签发 / certificate issued")
        except (VaxOpsError, ValueError) as e:
            messages.error(request, getattr(e, "message", str(e)))
        return redirect(reverse("certs:staff", args=[resident.pk]))
    certificates = selectors.certificates_of(resident=resident)
    latest = next((c for c in certificates if c.revoked_at is None and c.expires_at > clock.now()), None)
    context = {
        "resident": resident,
        "certificates": certificates,
        "may_revoke": services.may_revoke(request.user),
        "font_ok": document.font_available(),
    }
    if latest is not None:
        context |= _view(latest)
    return render(request, "certs/staff.html", context)


@login_required
@require_GET
def staff_pdf(request, pk: int, cid: int):
    try:
        if not services.may_issue(request.user):
            raise services.PermissionDenied(_("您的角色无权打印接种凭证"), code=CoreErrorCode.ROLE_FORBIDDEN)
        cert = selectors.certificate_get(user=request.user, certificate_id=cid)
        if cert.resident_id != pk:
            raise services.NotFound(
                _("接种凭证不存在或不在您的管辖范围内"), code=CertsErrorCode.CERTIFICATE_NOT_FOUND
            )
        return _pdf_response(cert, filename=f"certificate-{cert.pk}.pdf")
    except VaxOpsError as e:
        return error_page(request, e)


# --------------------------------------------------------------------------------------------------
# Public: verify, revocation list, trust list
# --------------------------------------------------------------------------------------------------


@throttle("public", post="certs.verify")
@require_http_methods(["GET", "POST"])
def verify(request):
    """Paste an ``HC1:`` string, or scan one with the device camera (BarcodeDetector), and see the verdict."""
    context: dict = {"text": ""}
    if request.method == "POST":
        text = (request.POST.get("hc1") or "").strip()[:MAX_HC1]
        context["text"] = text
        if text:
            verdict = services.certificate_verify(text=text)
            payload = verdict.payload or {}
            entry = (payload.get("v") or [{}])[0] if isinstance(payload.get("v"), list) else {}
            context |= {
                "verdict": verdict,
                "payload": payload,
                "entry": entry,
                "product": domain.display_product(entry.get("mp", "")) if entry else "",
                "holder": domain.display_holder(entry.get("ma", "")) if entry else "",
                "country": domain.display_country(entry.get("co", "")) if entry else "",
                "issued_at": _local(verdict.issued_at) if verdict.issued_at else "—",
                "expires_at": _local(verdict.expires_at) if verdict.expires_at else "—",
            }
    return render(request, "certs/verify.html", context)


@throttle("public")
@require_GET
def revocations(request):
    response = JsonResponse(selectors.revocation_list(), json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=300"
    return response


@throttle("public")
@require_GET
def trustlist(request):
    response = JsonResponse(selectors.trustlist(), json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=300"
    return response
