from . import context


class RequestContextMiddleware:
    """Binds the client address and a request id for audit events written while serving."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # REMOTE_ADDR only: X-Forwarded-For is whatever the client says unless a
        # trusted proxy rewrites it, and production sets that up explicitly.
        token = context.bind(ip=request.META.get("REMOTE_ADDR") or None, request_id=request.headers.get("X-Request-ID"))
        try:
            return self.get_response(request)
        finally:
            context.reset(token)
