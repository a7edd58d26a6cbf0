"""``core.middleware.CSPMiddleware`` sends exactly the headers django-csp's own middleware sends: the policy
strings are only built once per process for the responses that change nothing of the policy."""

import pytest
from csp.constants import NONE, SELF
from csp.decorators import csp_exempt, csp_update
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from csp.utils import build_policy
from django.http import HttpResponse, JsonResponse
from django.test import Client, RequestFactory, override_settings

from vaxops.core.middleware import CSPMiddleware

_ENFORCED = {"DIRECTIVES": {"default-src": [SELF], "img-src": [SELF, "data:"], "object-src": [NONE]}}
_REPORTED = {"DIRECTIVES": {"default-src": [SELF], "script-src": [SELF, "https://cdn.example"]}}


def _page(request):
    return HttpResponse("<p>页面</p>")


def _json(request):
    return JsonResponse({"ok": True})


def _not_found(request):
    return HttpResponse("missing", status=404)


def _with_nonce(request):
    return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")


@csp_update({"img-src": ["https://maps.example"]})
def _updated(request):
    return HttpResponse("<p>地图</p>")


@csp_exempt()
def _exempt(request):
    return HttpResponse("<p>例外</p>")


def _headers(middleware_class, view, path="/page/"):
    request = RequestFactory().get(path)
    response = middleware_class(view)(request)
    return {k: v for k, v in response.items() if k.startswith("Content-Security-Policy")}


_SETTINGS = [
    {"CONTENT_SECURITY_POLICY": _ENFORCED, "CONTENT_SECURITY_POLICY_REPORT_ONLY": None},
    {"CONTENT_SECURITY_POLICY": None, "CONTENT_SECURITY_POLICY_REPORT_ONLY": _REPORTED},
    {"CONTENT_SECURITY_POLICY": _ENFORCED, "CONTENT_SECURITY_POLICY_REPORT_ONLY": _REPORTED},
    {
        "CONTENT_SECURITY_POLICY": {**_ENFORCED, "EXCLUDE_URL_PREFIXES": ["/page/"]},
        "CONTENT_SECURITY_POLICY_REPORT_ONLY": _REPORTED,
    },
    {"CONTENT_SECURITY_POLICY": None, "CONTENT_SECURITY_POLICY_REPORT_ONLY": None},
]


@pytest.mark.parametrize("config", _SETTINGS)
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("view", [_page, _json, _not_found, _with_nonce, _updated, _exempt])
def test_the_headers_are_the_librarys(config, debug, view):
    with override_settings(DEBUG=debug, **config):
        mine = _headers(CSPMiddleware, view)
        theirs = _headers(LibraryCSPMiddleware, view)
    if view is _with_nonce and "'nonce-" in str(theirs):  # a fresh nonce each time
        assert mine.keys() == theirs.keys() and all("'nonce-" in v for v in mine.values())
    else:
        assert mine == theirs


def test_a_change_of_the_settings_is_followed():
    middleware = CSPMiddleware(_page)
    for config in (_ENFORCED, _REPORTED):
        with override_settings(CONTENT_SECURITY_POLICY=config, CONTENT_SECURITY_POLICY_REPORT_ONLY=None):
            response = middleware(RequestFactory().get("/page/"))
            assert response["Content-Security-Policy"] == build_policy()


def test_a_nonce_asked_for_after_the_header_is_refused():
    from csp.exceptions import CSPNonceError

    with override_settings(CONTENT_SECURITY_POLICY=_ENFORCED):
        request = RequestFactory().get("/page/")
        CSPMiddleware(_page)(request)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


@pytest.mark.django_db
def test_pages_and_the_api_carry_the_settings_policy(cdc):
    """Through the project's middleware: an HTML page and a JSON answer of the API both carry the policy
    of the settings, as django-csp builds it."""
    c = Client()
    c.force_login(cdc)
    for path in ("/accounts/login/", "/", "/api/v1/sites"):
        r = c.get(path)
        assert r["Content-Security-Policy"] == build_policy(), path
        assert "default-src 'self'" in r["Content-Security-Policy"]
