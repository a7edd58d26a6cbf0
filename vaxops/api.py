"""The HTTP API under /api/v1/ (OpenAPI at /api/v1/openapi.json)."""

from ninja import NinjaAPI
from ninja.security import APIKeyHeader, HttpBearer, django_auth

from vaxops.accounts.services import api_token_authenticate
from vaxops.core.errors import NotFound, PermissionDenied, VaxOpsError


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
    status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, PermissionDenied) else 400
    return api.create_response(request, {"code": exc.code, "message": exc.message, "field": exc.field}, status=status)


api.add_router("/jurisdictions", "vaxops.jurisdictions.api.router")
api.add_router("/residents", "vaxops.registry.api.router")
api.add_router("/catalog", "vaxops.catalog.api.router")
api.add_router("/forecast", "vaxops.catalog.api.forecast_router")
api.add_router("/clinic", "vaxops.clinic.api.router")
