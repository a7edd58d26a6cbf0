"""The HTTP API under /api/v1/ (OpenAPI at /api/v1/openapi.json)."""

from ninja import NinjaAPI
from ninja.errors import ValidationError as RequestInvalid
from ninja.security import APIKeyHeader, HttpBearer, django_auth

from vaxops.accounts.services import TokenExpired, api_token_authenticate
from vaxops.core.errors import (
    CoreErrorCode,
    NotFound,
    PermissionDenied,
    RateLimited,
    VaxOpsError,
    register_codes,
)
from vaxops.core.ratelimit import too_many
from vaxops.desk.domain import CheckCode

# The desk's hard stops answer with their check's code (``code_used`` …): list them with every app's codes.
register_codes(CheckCode)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer vx_…`` for machine clients."""

    def authenticate(self, request, token):
        user = api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class TokenHeaderAuth(APIKeyHeader):
    param_name = "X-Api-Token"

    def authenticate(self, request, key):
        user = api_token_authenticate(key) if key else None
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="VaxOps API",
    version="1",
    description="县级新冠疫苗接种工作管理系统 API。County COVID-19 vaccination campaign API.",
    auth=[TokenAuth(), TokenHeaderAuth(), django_auth],
    urls_namespace="api",
)


@api.exception_handler(VaxOpsError)
def vaxops_error(request, exc: VaxOpsError):
    if isinstance(exc, RateLimited):
        return too_many(request, exc)
    status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, PermissionDenied) else 400
    return api.create_response(
        request, {"code": exc.code, "message": exc.message, "field": exc.field}, status=status
    )


@api.exception_handler(TokenExpired)
def token_expired(request, exc: TokenExpired):
    """An expired token: 401 with a message saying so (an unknown or revoked one gets the plain 401)."""
    return api.create_response(request, {"code": exc.code, "message": exc.message, "field": None}, status=401)


_PROBLEM_ZH = {
    "missing": "缺失",
    "extra_forbidden": "不允许",
    "string_too_long": "过长",
    "string_too_short": "过短",
    "too_long": "条目过多",
}


def _problem_zh(error: dict) -> str:
    """What is wrong with one field, in Chinese, with the bound or the allowed values when there are some."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "date_range":
        return f"须在{ctx.get('earliest')}至{ctx.get('latest')}之间"
    if kind in ("enum", "literal_error"):
        return f"取值不在允许范围内（可选：{ctx.get('expected', '')}）"
    if kind in ("less_than_equal", "less_than"):
        return f"数值过大（最大为{ctx.get('le', ctx.get('lt'))}）"
    if kind in ("greater_than_equal", "greater_than"):
        return f"数值过小（最小为{ctx.get('ge', ctx.get('gt'))}）"
    if kind in _PROBLEM_ZH:
        return _PROBLEM_ZH[kind]
    return "格式不正确" if kind.endswith(("_parsing", "_type")) else "不符合要求"


@api.exception_handler(RequestInvalid)
def request_invalid(request, exc: RequestInvalid):
    """Malformed requests (a missing field, a wrong type) get the same Chinese error shape as the rest."""
    first = exc.errors[0] if exc.errors else {}
    loc = [
        str(x)
        for x in first.get("loc", ())
        if x not in ("body", "query", "path", "payload", "form", "header")
    ]
    field = ".".join(loc) or None
    problem = _problem_zh(first)
    message = f"请求内容有误：字段“{field}”{problem}" if field else "请求内容有误"
    return api.create_response(
        request,
        {"code": CoreErrorCode.INVALID_REQUEST, "message": message, "field": field, "detail": exc.errors},
        status=422,
    )


api.add_router("/jurisdictions", "vaxops.jurisdictions.api.router")
api.add_router("/residents", "vaxops.registry.api.router")
api.add_router("/catalog", "vaxops.catalog.api.router")
api.add_router("/forecast", "vaxops.catalog.api.forecast_router")
api.add_router("/clinic", "vaxops.clinic.api.router")
api.add_router("/desk", "vaxops.desk.api.router")
api.add_router("/supply", "vaxops.supply.api.router")
api.add_router("/sites", "vaxops.booking.api.sites_router")
api.add_router("/booking", "vaxops.booking.api.router")
api.add_router("/certs", "vaxops.certs.api.router")
api.add_router("/coldchain", "vaxops.coldchain.api.router")
api.add_router("/safety", "vaxops.safety.api.router")
api.add_router("/reports", "vaxops.reports.api.router")
api.add_router("/exchange", "vaxops.exchange.api.router")
api.add_router("/settlement", "vaxops.settlement.api.router")
