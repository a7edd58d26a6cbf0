"""/api/v1/certs: verify an HC1 string (public), issue a resident's certificate (staff), the trust list and
the revocation list (public).

Errors answer ``{"code", "message", "field"}``: 400 (invalid), 403 (role or jurisdiction), 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Router, Schema
from ninja.decorators import decorate_view
from pydantic import Field

from vaxops.core.idempotency import idempotent_status
from vaxops.core.ratelimit import throttle
from vaxops.core.schemas import ErrorOut, Id, Moment

from . import selectors, services
from .models import VaccinationCertificate

router = Router(tags=["certs"])


class CertVerifyIn(Schema):
    hc1: str = Field(..., max_length=8000, description="The HC1: string read from the QR")
    at: Moment | None = Field(None, description="Validation clock (default: now)")


class CertVerifyOut(Schema):
    valid: bool
    decoded: bool
    signature_valid: bool
    expired: bool
    schema_valid: bool
    payload: dict[str, Any]
    reasons: list[str]


class CertificateOut(Schema):
    id: int
    resident_id: int
    uvci: str
    kid: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    hc1: str
    payload: dict[str, Any]


class IssueIn(Schema):
    reissue: bool = False


def _out(cert: VaccinationCertificate) -> dict:
    return {
        "id": cert.pk,
        "resident_id": cert.resident_id,
        "uvci": cert.uvci,
        "kid": cert.kid,
        "issued_at": cert.issued_at,
        "expires_at": cert.expires_at,
        "revoked_at": cert.revoked_at,
        "hc1": cert.hc1,
        "payload": cert.payload,
    }


@router.post(
    "/verify", auth=None, response={200: CertVerifyOut, 429: ErrorOut}, summary="验证 HC1 凭证（公开）"
)
@decorate_view(throttle("certs.verify"))
def verify(request, payload: CertVerifyIn):
    at = payload.at
    if at is not None and at.tzinfo is None:
        from django.utils import timezone

        at = timezone.make_aware(at)
    return services.certificate_verify(text=payload.hc1, at=at).as_dict()


@router.post(
    "/residents/{resident_id}/issue",
    response={200: CertificateOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="签发居民接种凭证（支持 Idempotency-Key）",
)
def issue(request, resident_id: Id, payload: IssueIn | None = None):
    reissue = bool(payload and payload.reissue)
    data = {"resident_id": resident_id, "reissue": reissue}
    return idempotent_status(
        request,
        data,
        lambda: (
            200,
            _out(services.certificate_issue(actor=request.user, resident_id=resident_id, reissue=reissue)),
        ),
    )


@router.get("/trustlist", auth=None, response={200: Any, 429: ErrorOut}, summary="信任列表：签名证书（公开）")
@decorate_view(throttle("public"))
def trustlist(request):
    return selectors.trustlist()


@router.get(
    "/revocations",
    auth=None,
    response={200: Any, 429: ErrorOut},
    summary="撤销列表：已撤销凭证的 UVCI 哈希（公开）",
)
@decorate_view(throttle("public"))
def revocations(request):
    return selectors.revocation_list()
