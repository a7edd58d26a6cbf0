"""Idle sessions end after 30 minutes."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class TestIdleSessions:
    def test_it_is_configured_for_thirty_idle_minutes(self):
        assert settings.SESSION_COOKIE_AGE == 1800
        assert settings.SESSION_SAVE_EVERY_REQUEST is True

    def test_it_redirects_an_expired_session_to_login(self, client, worker_a):
        client.force_login(worker_a)
        assert client.get("/").status_code == 200
        Session.objects.filter(session_key=client.session.session_key).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )

        r = client.get("/residents/")

        assert r.status_code == 302
        assert r["Location"].startswith("/accounts/login/")
        assert "next=/residents/" in r["Location"]

    def test_it_renews_the_session_on_every_request(self, client, worker_a):
        client.force_login(worker_a)
        key = client.session.session_key
        Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(seconds=60))

        assert client.get("/").status_code == 200

        expires = Session.objects.get(session_key=client.session.session_key).expire_date
        remaining = (expires - timezone.now()).total_seconds()
        assert 1790 <= remaining <= 1800

    def test_it_refuses_the_api_with_an_expired_session(self, client, worker_a):
        client.force_login(worker_a)
        Session.objects.filter(session_key=client.session.session_key).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )

        assert client.get("/api/v1/residents").status_code == 401

    def test_it_requires_login_for_every_page(self, client, county):
        for path in ("/", "/residents/", "/residents/import/", "/audit/"):
            r = client.get(path)
            assert r.status_code == 302, path
            assert r["Location"].startswith("/accounts/login/")
