"""No inline script, style, style attribute or event handler anywhere in the front end, so a strict
Content-Security-Policy (``default-src 'self'``, no 'unsafe-inline') holds: every template file is read, and the
main pages are rendered as the roles that use them (issue 11 Low, issue 12 item 6)."""

import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from vaxops.clinic import services as clinic_services
from vaxops.core.actors import SystemActor
from vaxops.desk import services as desk_services

from .desk_setup import code, open_site, ready_person, ten_in_the_morning


class _Inline(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {k.lower(): v for k, v in attrs}
        if tag == "style":
            self.found.append("<style>")
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append("<script> without src")
        if "style" in names:
            self.found.append(f'<{tag} style="{names["style"]}">')
        for name in names:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
        if tag == "a" and (names.get("href") or "").lower().startswith("javascript:"):
            self.found.append("javascript: link")

    handle_startendtag = handle_starttag


def inline_parts(html: str) -> list[str]:
    parser = _Inline()
    parser.feed(html)
    return parser.found


def test_the_checker_finds_each_kind_of_inline_code():
    html = (
        '<style>p{}</style><script>x()</script><p style="color:red">'
        '<button onclick="go()">b</button><a href="javascript:go()">a</a>'
        '<script src="/static/x.js"></script><script type="application/json">{}</script>'
    )
    assert inline_parts(html) == [
        "<style>",
        "<script> without src",
        '<p style="color:red">',
        "<button onclick=…>",
        "javascript: link",
    ]


def _template_files():
    root = Path(settings.BASE_DIR)
    return sorted(p for p in root.rglob("templates/**/*.html") if ".venv" not in p.parts)


def test_no_template_file_holds_inline_script_style_or_handlers():
    files = _template_files()
    assert len(files) > 50
    offenders = {}
    for path in files:
        found = inline_parts(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(settings.BASE_DIR))] = found
    assert offenders == {}


@pytest.fixture
def desk1(county, village_a1, vaccinator, monkeypatch):
    ten_in_the_morning(monkeypatch)
    return open_site(county, village_a1, vaccinator)


def _site_user(username, role, desk1, staff_name):
    from vaxops.accounts.services import user_create
    from vaxops.conftest import PASSWORD
    from vaxops.sites.models import StaffMember

    user = user_create(username=username, password=PASSWORD, role=role, division=desk1.site.division)
    StaffMember.objects.filter(site=desk1.site, name=staff_name).update(user=user)
    return user


def _pages_as(client: Client, user, urls) -> dict[str, list[str]]:
    client.force_login(user)
    out = {}
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, (user.username, url, r.status_code)
        assert "default-src 'self'" in r["Content-Security-Policy"], url
        found = inline_parts(r.content.decode())
        if found:
            out[url] = found
    client.logout()
    return out


def test_the_main_pages_render_without_inline_code_for_their_roles(
    client, desk1, village_a1, vaccinator, cdc, worker_a, leader
):
    from vaxops.certs.services import signing_key_generate

    signing_key_generate(actor=SystemActor("test"), common_name="VaxOps DSC test")
    person = ready_person(desk1, village_a1, 1)
    s = desk1.session.pk
    checked_in_only = ready_person(desk1, village_a1, 2, consent=False)
    dose = desk_services.dose_administer(
        actor=vaccinator, resident_id=person.pk, code=code(1), client_id=uuid.uuid4().hex, phone_last4="5678"
    )
    offenders = {}
    offenders |= _pages_as(
        client,
        cdc,
        [
            "/",
            "/residents/",
            f"/residents/{person.pk}/",
            "/residents/find/",
            "/residents/import/",
            "/mobilisation/",
            "/catalog/",
            f"/clinic/residents/{person.pk}/",
            "/supply/",
            "/supply/lots/",
            "/supply/codes/",
            "/supply/dispatches/",
            "/supply/allocation/",
            "/sites/",
            f"/sites/{desk1.site.code}/",
            f"/sites/sessions/{s}/",
            "/booking/",
            "/booking/appointments/",
            "/desk/",
            f"/desk/doses/{dose.pk}/record/",
            f"/certs/residents/{person.pk}/",
            "/audit/",
        ],
    )
    offenders |= _pages_as(client, worker_a, ["/", "/residents/", "/booking/", "/mobilisation/"])
    offenders |= _pages_as(client, leader, ["/"])
    registrar = _site_user("registrar", "site_registration", desk1, "registration员")
    offenders |= _pages_as(
        client, registrar, [f"/desk/{s}/checkin/", f"/desk/{s}/consent/{checked_in_only.pk}/"]
    )
    screener = _site_user("screener1", "site_screening", desk1, "screening员")
    offenders |= _pages_as(client, screener, [f"/desk/{s}/screening/"])
    offenders |= _pages_as(
        client, vaccinator, [f"/desk/{s}/vaccinate/", f"/desk/{s}/vaccinate/done/{dose.pk}/"]
    )
    nurse = _site_user("nurse", "site_observation", desk1, "observation员")
    offenders |= _pages_as(client, nurse, [f"/desk/{s}/observation/", f"/desk/doses/{dose.pk}/record/"])
    # the anonymous pages: sign-in, the resident's booking door, the verifier, the person's own record
    token = clinic_services.record_link_token(
        clinic_services.record_link_issue(actor=SystemActor("t"), resident=person, channel="staff")
    )
    anonymous = Client()
    for url in ("/accounts/login/", "/book/", "/verify/", f"/r/{token}/", f"/certs/{token}/"):
        r = anonymous.get(url)
        assert r.status_code == 200, (url, r.status_code)
        assert "default-src 'self'" in r["Content-Security-Policy"], url
        if inline_parts(r.content.decode()):
            offenders[url] = inline_parts(r.content.decode())
    anonymous.post(f"/certs/{token}/")
    r = anonymous.get(f"/certs/{token}/")
    assert 'id="certificate"' in r.content.decode()
    if inline_parts(r.content.decode()):
        offenders["/certs/<token>/ (issued)"] = inline_parts(r.content.decode())
    assert offenders == {}


def test_production_settings_send_the_policy_and_serve_static_files(monkeypatch):
    monkeypatch.setenv("VAXOPS_SECRET_KEY", "x" * 50)
    import importlib

    import vaxops.settings.production as production

    production = importlib.reload(production)
    policy = production.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert production.CONTENT_SECURITY_POLICY_REPORT_ONLY is None
    assert "vaxops.core.middleware.CSPMiddleware" in production.MIDDLEWARE
    assert production.MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") == 1
    assert production.STORAGES["staticfiles"]["BACKEND"].startswith("whitenoise.")

    with override_settings(
        MIDDLEWARE=production.MIDDLEWARE,
        CONTENT_SECURITY_POLICY=production.CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY_REPORT_ONLY=None,
        WHITENOISE_USE_FINDERS=True,
        WHITENOISE_AUTOREFRESH=True,
    ):
        c = Client()
        page = c.get("/accounts/login/", secure=True)
        css = c.get("/static/vaxops/site.css", secure=True)
    header = page["Content-Security-Policy"]
    assert "default-src 'self'" in header and "script-src 'self'" in header and "style-src 'self'" in header
    assert "unsafe-inline" not in header and "frame-ancestors 'none'" in header
    assert css.status_code == 200 and b"--brand" in b"".join(css.streaming_content)


def test_a_refused_form_is_answered_by_our_own_page_without_inline_style(cdc):
    c = Client(enforce_csrf_checks=True)
    c.force_login(cdc)
    r = c.post("/accounts/logout/")
    assert r.status_code == 403
    html = r.content.decode()
    assert "页面已过期" in html and inline_parts(html) == []
