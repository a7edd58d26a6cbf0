import json
import re

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import translation


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
                {"code": "invalid_characters", "message": message, "field": field},
                status=400,
                json_dumps_params={"ensure_ascii": False},
            )
        return render(request, "error.html", {"message": message}, status=400)
