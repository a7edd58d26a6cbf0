"""Work done once the answer has left the server.

The resident's door answers the same whether or not a one-time code goes out; sending the code (an HTTP
call to the SMS gateway in production) after the response has been written keeps the answer's timing from
telling the two apart. ``after_response(fn)`` queues ``fn`` on the current request; the middleware hands the
queue to the response, whose ``close()`` — called by the WSGI server once the body is written — runs it.
Outside a request (the worker, the CLI, tests calling services) ``fn`` runs at once.
"""

import contextvars
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

_pending: contextvars.ContextVar[list[Callable[[], object]] | None] = contextvars.ContextVar(
    "vaxops_after_response", default=None
)


def after_response(fn: Callable[[], object]) -> None:
    """Run ``fn`` after the current response has been sent, or now when no request is being served."""
    pending = _pending.get()
    if pending is None:
        fn()
    else:
        pending.append(fn)


def _guarded(fn: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            fn()
        except Exception:  # a failure here cannot change the answer already sent: record it, go on
            log.exception("work after the response failed")

    return run


class AfterResponseMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        pending: list[Callable[[], object]] = []
        token = _pending.set(pending)
        try:
            response = self.get_response(request)
        finally:
            _pending.reset(token)
        if pending:
            # HttpResponse.close() runs its resource closers; the WSGI server calls it after the body is sent.
            response._resource_closers.extend(_guarded(fn) for fn in pending)
        return response
