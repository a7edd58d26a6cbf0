"""Who is asking and from where (for the audit log and the per-client refusal count), without threading it
through every call. Bound per request by ``audit.middleware``."""

import contextvars
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    request_id: str = ""


_NONE = RequestContext()
_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "vaxops_request", default=None
)


def current() -> RequestContext:
    return _current.get() or _NONE


def bind(*, ip: str | None, request_id: str | None = None) -> contextvars.Token:
    return _current.set(RequestContext(ip=ip, request_id=request_id or str(uuid.uuid4())))


def reset(token: contextvars.Token) -> None:
    _current.reset(token)
