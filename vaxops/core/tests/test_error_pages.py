"""The friendly error pages (DEBUG off, as the test settings and the demo run): Chinese, saying what to do next —
a stale desk link leads back to the desk's queue — and the demo's settings are the production ones over HTTP."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse
from django.views import defaults

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.django_db
def test_a_stale_desk_link_offers_the_way_back_to_the_queue(client, vaccinator):
    client.force_login(vaccinator)
    r = client.get("/desk/no-such-station/")
    assert r.status_code == 404
    body = r.content.decode()
    assert "找不到这个页面" in body
    assert "接种台链接已失效" in body
    assert f'href="{reverse("desk:home")}">回到接种台的队列' in body
    assert "Page not found" not in body and "URLconf" not in body


@pytest.mark.django_db
def test_any_other_missing_page_leads_home(client):
    r = client.get("/no/such/page/")
    assert r.status_code == 404
    body = r.content.decode()
    assert "链接可能已过期" in body
    assert f'href="{reverse("home")}">返回首页' in body
    assert "回到接种台的队列" not in body


@pytest.mark.django_db
def test_the_403_page_says_whom_to_ask():
    request = RequestFactory().get("/reports/secret/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    r = defaults.permission_denied(request, PermissionDenied())
    assert r.status_code == 403
    body = r.content.decode()
    assert "无权查看这个页面" in body and "县疾控管理员" in body
    assert reverse("reports:dashboard") in body


def test_the_500_page_stands_alone():
    r = defaults.server_error(RequestFactory().get("/desk/1/vaccinate/"))
    assert r.status_code == 500
    body = r.content.decode()
    assert "系统暂时出错" in body and "不要重复录入" in body
    assert reverse("desk:home") in body and "favicon" in body


def test_every_page_has_the_favicon(client):
    r = client.get(reverse("login"))
    assert "vaxops/favicon.svg" in r.content.decode()
    assert client.get("/static/vaxops/favicon.svg").status_code in (
        200,
        404,
    )  # served by staticfiles in tests


def test_the_demo_settings_pass_the_deployment_checks(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "VAXOPS_SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="vaxops.settings.demo", VAXOPS_VAR_DIR=str(tmp_path), PYTHONPATH=str(ROOT)
    )
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, 'whitenoise.middleware.WhiteNoiseMiddleware' in s.MIDDLEWARE, "
        "s.STORAGES['staticfiles']['BACKEND'].startswith('whitenoise'), len(s.SECRET_KEY) >= 50)"
    )
    shown = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "vaxops.cli", "shell", "--no-imports", "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.split() == ["False", "True", "True", "True"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    checked = subprocess.run(
        [sys.executable, "-m", "vaxops.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_make_demo_serves_through_gunicorn():
    recipe = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "gunicorn vaxops.wsgi:application --bind 127.0.0.1:$(PORT)" in recipe
    assert "runserver" not in recipe
    assert "collectstatic" in recipe
    assert "vaxops.settings.demo" in (ROOT / "Makefile").read_text()
