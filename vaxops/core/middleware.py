import json
import logging
import re
import sys

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _

from .errors import CoreErrorCode

# What a view or decorator of django-csp sets on a response to change its policy.
_CSP_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)


class CSPMiddleware(LibraryCSPMiddleware):
    """django-csp's middleware, with the two header values built once per process for every response that
    changes nothing of the policy (no nonce asked for, no per-response policy of the library's decorators):
    the library builds them from the settings twice per response. The headers sent are the library's own,
    under the same conditions (``test_csp_middleware``); any other response goes through the library."""

    _built: tuple | None = None  # (enforced settings, report-only settings, header, report-only header)

    def _static_policies(self) -> tuple[str, str]:
        config = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        config_ro = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        built = self._built
        if built is None or built[0] is not config or built[1] is not config_ro:
            # Kept with the settings' objects they came from (held, so compared by identity): a change of the
            # settings (override_settings in tests) builds them again.
            built = (config, config_ro, build_policy(), build_policy(report_only=True))
            self._built = built
        return built[2], built[3]

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _CSP_PER_RESPONSE
        ):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response  # Django's debug pages, as the library leaves them
        csp, csp_ro = self._static_policies()
        for header, value, exempt, setting in (
            (HEADER, csp, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (HEADER_REPORT_ONLY, csp_ro, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            if not value or getattr(response, exempt, False) is not False or header in response:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = value
        # As the library: the nonce asked for after the header was written is an error, not a silent miss.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


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


# C0 controls other than tab, line feed and carriage return, DEL, the C1 controls, and lone surrogates
# (which cannot be encoded as UTF-8): no name, address, code, note or search text ever holds them, and
# PostgreSQL refuses NUL in text outright — an error in the middle of a query instead of a clear refusal.
_NEVER_VALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# In the path, a header or a cookie even tab, line feed and carriage return are never meant.
_NEVER_VALID_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _bad_text(value, pattern=_NEVER_VALID) -> bool:
    return isinstance(value, str) and pattern.search(value) is not None


def _json_field_with_bad_text(value, path: str = "") -> str | None:
    """The dotted name of the first key or string in a parsed JSON body holding a forbidden character."""
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if _bad_text(key):
                return name
            found = _json_field_with_bad_text(item, name)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _json_field_with_bad_text(item, f"{path}[{i}]" if path else f"[{i}]")
            if found is not None:
                return found
    elif _bad_text(value):
        return path or "body"
    return None


class ControlCharacterMiddleware:
    """Refuse a request whose path, query string, headers, cookies, form fields or JSON body hold a control
    character where none is ever valid (NUL above all): 400 with the field named, in Chinese, before any
    view or database sees it. JSON answers under ``/api/``, the error page elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = self.bad_field(request)
        if field is not None:
            return self.refuse(request, field)
        return self.get_response(request)

    @staticmethod
    def bad_field(request) -> str | None:
        if _bad_text(request.path_info, _NEVER_VALID_IN_LINE):
            return "path"
        for key, value in request.META.items():
            if key.startswith("HTTP_") and _bad_text(value, _NEVER_VALID_IN_LINE):
                return key[5:].replace("_", "-").title()
        for name, value in request.COOKIES.items():
            if _bad_text(name, _NEVER_VALID_IN_LINE) or _bad_text(value, _NEVER_VALID_IN_LINE):
                return f"cookie {name}"
        for key, values in request.GET.lists():
            if _bad_text(key) or any(_bad_text(v) for v in values):
                return key
        content_type = request.content_type or ""
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                try:
                    form = request.POST
                except Exception:  # a malformed body: the view's own parsing answers it
                    return None
                for key, values in form.lists():
                    if _bad_text(key) or any(_bad_text(v) for v in values):
                        return key
                for key, files in request.FILES.lists():
                    if any(_bad_text(f.name or "", _NEVER_VALID_IN_LINE) for f in files):
                        return key
            else:
                # Whatever the declared type: django-ninja reads any body as JSON.
                try:
                    data = json.loads(request.body) if request.body else None
                except Exception:  # not JSON, or too big: the view's own reading answers that
                    return None
                return _json_field_with_bad_text(data)
        return None

    @staticmethod
    def refuse(request, field: str):
        where = "请求地址" if field == "path" else f"字段“{field}”"
        message = f"请求内容有误：{where}含有不允许的控制字符（如 NUL 空字符）"
        if request.path_info.startswith("/api/"):
            return JsonResponse(
                {"code": CoreErrorCode.INVALID_CHARACTERS, "message": message, "field": field},
                status=400,
                json_dumps_params={"ensure_ascii": False},
            )
        return render(request, "error.html", {"message": message}, status=400)


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
            {"code": CoreErrorCode.DB_UNAVAILABLE, "message": str(message), "field": None}, status=503
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
