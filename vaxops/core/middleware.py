import logging
import sys

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _


class ChineseFirstLocaleMiddleware:
    """Chinese unless the user chose English (the language cookie set by /i18n/setlang/).

    Django's LocaleMiddleware would follow the browser's Accept-Language, so a
    township office PC with an English-language browser would open in English;
    the interface is Chinese first, English on request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


# --------------------------------------------------------------------------------------------------
# A database connection lost in the middle of a request
# --------------------------------------------------------------------------------------------------

logger = logging.getLogger("vaxops.db")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _connection_lost(exc: BaseException | None) -> bool:
    """Whether ``exc`` is a database error that left a connection dead (the server restarted, failed over or
    killed the backend; or it could not be reached), not a refusal on a live connection (a deadlock, a lock
    timeout, a constraint)."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if raw is None or getattr(raw, "closed", False) or getattr(raw, "broken", False):
            return True
    return False


def _discard_dead_connections() -> None:
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if raw is not None and (getattr(raw, "closed", False) or getattr(raw, "broken", False)):
            conn.close()


def _note_connection_lost(sender, request=None, **kwargs) -> None:
    if request is not None and _connection_lost(sys.exc_info()[1]):
        request.vaxops_db_lost = True


got_request_exception.connect(_note_connection_lost, dispatch_uid="vaxops.core.middleware.connection_lost")


def database_unavailable(request) -> HttpResponse:
    """503 with a Chinese message and ``Retry-After``: JSON (``code`` ``db_unavailable``) for the API, a short
    page for a browser."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    with translation.override(chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE):
        message = _(
            "数据库暂时无法连接，本次操作未能确认完成：请稍后重试（带同一 Idempotency-Key 重试不会重复办理）。"
        )
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"code": "db_unavailable", "message": str(message), "field": None}, status=503
        )
    else:
        response = HttpResponse(
            f'<!doctype html><html lang="zh-Hans"><meta charset="utf-8"><title>503</title><p>{message}</p></html>',
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = str(settings.VAXOPS_DB_RETRY_AFTER)
    return response


class DatabaseLostMiddleware:
    """The outermost layer: a request whose database connection died under it (after the health check at its
    start — ``CONN_HEALTH_CHECKS`` — had passed, or the server could not be reached at all) answers 503
    ``db_unavailable`` with ``Retry-After`` instead of a 500 and its traceback. A read (GET, HEAD, OPTIONS) is
    first tried once more on a fresh connection: a read changes nothing, so running it again is safe. A write is
    never re-run here: it may or may not have been committed when the connection died, so the client retries it
    (with its Idempotency-Key or client id, the retry cannot do it twice). Each such answer is logged as one
    warning line, not a traceback: a restart of the database would otherwise flood the log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(request, "vaxops_db_lost", False):
            return response
        _discard_dead_connections()
        if request.method in _SAFE_METHODS:
            request.vaxops_db_lost = False
            response = self.get_response(request)
            if not getattr(request, "vaxops_db_lost", False):
                return response
            _discard_dead_connections()
        logger.warning("数据库连接中断 / database connection lost: %s %s → 503", request.method, request.path)
        response = database_unavailable(request)
        response._has_been_logged = True  # the line above says it; Django would log it again as an error
        return response

    def process_exception(self, request, exception):
        """A view's exception (this runs after every inner middleware's own ``process_exception``): answered
        here, so Django neither logs a traceback nor sends ``got_request_exception``."""
        if _connection_lost(exception):
            request.vaxops_db_lost = True
            return database_unavailable(request)
        return None
