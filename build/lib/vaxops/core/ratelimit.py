"""Rate limits for the doors that need no login: the resident's own booking (API and ``/book/``), the
certificate verifier, the public site list and trust lists, the private record links.

Counts live in the database, so every server process and the worker count together: one ``RateCounter``
row per scope, key and fixed window, incremented by one ``INSERT … ON CONFLICT DO UPDATE … RETURNING``
statement (the same SQL on PostgreSQL and SQLite), so two requests arriving together get two different
counts. A client is its address (``client_address``); a target identity (an ID number, a phone) is counted
under a keyed hash, never the value. Limits are ``(requests, seconds)`` per scope in
``settings.VAXOPS_RATE_LIMITS``; past a limit the answer is 429 ``rate_limited`` with a Chinese message and
``Retry-After``. Signed-in users are not counted by ``throttle`` (they are accountable, and a desk checking
certificates all day would trip it).

Anonymous refusals (over a limit, details that do not match, a wrong code) are counted per client in the
scope ``refused`` over ``VAXOPS_REFUSAL_AUDIT_SECONDS``; only the first refusal of a client in a window
writes an audit event (the log is append-only, so the count stays in the counter row), so nobody on the
internet can grow the audit table by failing over and over.
"""

import hashlib
import hmac
import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from . import clock, context
from .errors import CoreErrorCode, RateLimited
from .models import RateCounter
from .signals import client_refused

REFUSED = "refused"
AUDIT_ACTION = "public.refused"


def _ip(value: str | None) -> str | None:
    value = (value or "").strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_address(request) -> str | None:
    """The client's IP address: ``REMOTE_ADDR``, or — only when ``VAXOPS_TRUSTED_PROXIES`` says N proxies
    stand in front — the address the outermost trusted proxy saw, the N-th entry from the right of
    ``X-Forwarded-For`` (entries further left are whatever the client wrote). ``None`` when not an address."""
    proxies = int(getattr(settings, "VAXOPS_TRUSTED_PROXIES", 0) or 0)
    if proxies > 0:
        hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            forwarded = _ip(hops[-proxies])
            if forwarded:
                return forwarded
    return _ip(request.META.get("REMOTE_ADDR"))


def address_key(address: str | None) -> str:
    return f"ip:{address or '-'}"


def identity_key(kind: str, value: str) -> str:
    """The counter key of a target identity (``kind`` ``id`` or ``phone``): a keyed hash, so the table never
    holds an ID number or a phone number, nor anything a dictionary of them could reverse."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind}:{digest[:40]}"


def _window_start(now: datetime, seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def counter_hit(*, scope: str, key: str, seconds: int, now: datetime | None = None) -> int:
    """Count one hit of ``key`` in ``scope``'s current window of ``seconds``; returns the count including
    this one. One statement: concurrent hits in any process each get their own count."""
    start = _window_start(now or clock.now(), seconds)
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    hits = connection.ops.quote_name("hits")
    sql = (
        f"INSERT INTO {table} (scope, {connection.ops.quote_name('key')}, window_start, {hits}) "  # noqa: S608 - names from the model
        f"VALUES (%s, %s, %s, 1) ON CONFLICT (scope, {connection.ops.quote_name('key')}, window_start) "
        f"DO UPDATE SET {hits} = {table}.{hits} + 1 RETURNING {hits}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [scope, key[:80], connection.ops.adapt_datetimefield_value(start)])
        return int(cursor.fetchone()[0])


def limit_of(scope: str) -> tuple[int, int]:
    """``(requests, seconds)`` for ``scope`` from ``settings.VAXOPS_RATE_LIMITS``."""
    requests, seconds = settings.VAXOPS_RATE_LIMITS[scope]
    return int(requests), int(seconds)


def _wait_message(seconds: int) -> str:
    if seconds < 60:
        return _("请求过于频繁，请%(n)s秒后再试") % {"n": max(seconds, 1)}
    return _("请求过于频繁，请%(n)s分钟后再试") % {"n": -(-seconds // 60)}


def limit_hit(scope: str, key: str, *, field: str | None = None) -> None:
    """Count one request of ``key`` in ``scope``; raises ``RateLimited`` (429) once past the scope's limit
    (and counts that refusal for the client, see ``refusal_note``)."""
    requests, seconds = limit_of(scope)
    now = clock.now()
    if counter_hit(scope=scope, key=key, seconds=seconds, now=now) <= requests:
        return
    refusal_note(scope=scope, reason="rate_limited", now=now)
    retry_after = seconds - int(now.timestamp()) % seconds
    raise RateLimited(
        _wait_message(retry_after), retry_after=retry_after, field=field, code=CoreErrorCode.RATE_LIMITED
    )


def refusal_note(*, scope: str, reason: str, now: datetime | None = None) -> int:
    """Count one anonymous refusal of the current client (the address bound for the audit log); the first
    one in the client's window writes one audit event, later ones only the count. Returns the count."""
    seconds = int(getattr(settings, "VAXOPS_REFUSAL_AUDIT_SECONDS", 3600))
    count = counter_hit(scope=REFUSED, key=address_key(context.current().ip), seconds=seconds, now=now)
    if count == 1:
        client_refused.send(sender=RateCounter, scope=scope, reason=reason, window_seconds=seconds)
    return count


def too_many(request, error: RateLimited) -> HttpResponse:
    """The 429 answer: the API's error shape under ``/api/``, the error page elsewhere."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"code": error.code, "message": error.message, "field": error.field},
            status=429,
            json_dumps_params={"ensure_ascii": False},
        )
    else:
        response = render(request, "error.html", {"message": error.message}, status=429)
    response["Retry-After"] = str(error.retry_after)
    return response


def throttle(scope: str, *, post: str | None = None) -> Callable:
    """A view decorator for a door that needs no login: counts the client's address in ``scope`` (in
    ``post`` instead for a POST, when given) and answers 429 past its limit. For django-ninja operations
    use it through ``ninja.decorators.decorate_view``. The wrapped view carries ``rate_scope`` (a test
    checks that every anonymous door has one)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = getattr(request, "user", None)
            if user is None or not user.is_authenticated:
                counted = post if post and request.method == "POST" else scope
                try:
                    limit_hit(counted, address_key(client_address(request)))
                except RateLimited as e:
                    return too_many(request, e)
            return view(request, *args, **kwargs)

        wrapper.rate_scope = scope  # type: ignore[attr-defined]
        return wrapper

    return decorate


def counters_prune(*, older_than_seconds: int = 2 * 86400) -> int:
    """Delete counter rows of windows that started more than ``older_than_seconds`` ago (daily job)."""
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    deleted, _ = RateCounter.objects.filter(window_start__lt=cutoff).delete()
    return deleted
