"""``/api/v1/exchange``: doses given elsewhere in as a FHIR Bundle (token auth as every API); the 2-day rule's
backlog per site."""

from __future__ import annotations

import json

from django.utils.translation import gettext as _
from ninja import Router, Schema

from vaxops.accounts.scope import require
from vaxops.core.errors import ValidationFailed
from vaxops.core.schemas import ErrorOut

from . import inbound, selectors
from .errors import ExchangeErrorCode

router = Router(tags=["exchange"])
ERRORS = {400: ErrorOut, 403: ErrorOut}


class InboundOut(Schema):
    created: int
    duplicate: int
    voided: int
    review: int
    rejected: int
    errors: list[str]


class BacklogRow(Schema):
    code: str
    name: str
    doses: int
    oldest: str


@router.post(
    "/bundle",
    response={200: InboundOut, **ERRORS},
    summary="接收外地接种记录（FHIR R4 Bundle）",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/fhir+json": {"schema": {"type": "object"}}},
        }
    },
)
def bundle_in(request, source: str = ""):
    """A Bundle of Patients and Immunizations (application/fhir+json). Each Immunization is matched to the
    resident by the ID document of its Patient and stored as an external dose with its source; a resend is
    recognised by the dose identifier; what cannot be matched or disagrees with a dose held here goes to the
    review list. ``source`` names the sender (default: the token's user)."""
    require(request.auth, "clinic.add_dose")
    try:
        bundle = json.loads(request.body or b"null")
    except ValueError:
        raise ValidationFailed(
            _("请求体不是 JSON"), field="bundle", code=ExchangeErrorCode.BUNDLE_INVALID
        ) from None
    result = inbound.bundle_apply(
        actor=request.auth, source=(source or f"api:{request.auth.username}")[:200], bundle=bundle
    )
    return result.as_dict()


@router.get(
    "/backlog", response={200: list[BacklogRow], **ERRORS}, summary="超过2天未上传确认的剂次（按接种单位）"
)
def backlog(request):
    require(request.auth, "exchange.view_outboundmessage")
    return [
        {"code": r["code"], "name": r["name"], "doses": r["doses"], "oldest": r["oldest"].isoformat()}
        for r in selectors.backlog_by_site(user=request.auth)
    ]
