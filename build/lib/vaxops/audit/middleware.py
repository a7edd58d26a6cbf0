from vaxops.core import context
from vaxops.core.ratelimit import client_address


class RequestContextMiddleware:
    """Binds the client address and a request id for audit events written while serving."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The same address the rate limits count (REMOTE_ADDR unless trusted proxies are configured).
        # A client's request id is kept only if it fits the column (36: a UUID); otherwise we make our own.
        rid = (request.headers.get("X-Request-ID") or "").strip()
        token = context.bind(ip=client_address(request), request_id=rid if 0 < len(rid) <= 36 else None)
        try:
            return self.get_response(request)
        finally:
            context.reset(token)
