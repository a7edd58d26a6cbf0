"""Idle sessions end after 30 minutes; an unchanged session is written at most once a minute."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock_at(monkeypatch):
    """``clock_at(seconds)``: the clock that many seconds after a fixed moment (sessions and their expiry)."""
    start = timezone.now()

    def move(seconds: float) -> None:
        monkeypatch.setattr(timezone, "now", lambda: start + timedelta(seconds=seconds))

    return move


def logged_in(client, user) -> None:
    """Log ``user`` in and make one request (a login through the test client writes the session without the
    middleware, so without the moment of its write)."""
    client.force_login(user)
    assert client.get("/api/v1/jurisdictions").status_code == 200


class TestIdleSessions:
    def test_it_is_configured_for_thirty_idle_minutes(self):
        assert settings.SESSION_COOKIE_AGE == 1800
        assert settings.SESSION_SAVE_EVERY_REQUEST is True
        assert settings.VAXOPS_SESSION_SAVE_INTERVAL == 60

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

    def test_it_renews_the_session_once_its_last_write_is_a_minute_old(self, client, worker_a, clock_at):
        clock_at(0)
        logged_in(client, worker_a)
        key = client.session.session_key
        clock_at(61)
        Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(seconds=60))

        assert client.get("/").status_code == 200

        expires = Session.objects.get(session_key=client.session.session_key).expire_date
        remaining = (expires - timezone.now()).total_seconds()
        assert 1790 <= remaining <= 1800

    def test_it_writes_no_session_on_a_request_within_the_minute(self, client, worker_a, clock_at):
        clock_at(0)
        logged_in(client, worker_a)
        expires = Session.objects.get(session_key=client.session.session_key).expire_date
        clock_at(59)

        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
            assert client.get("/api/v1/jurisdictions").status_code == 200

        writes = [
            q["sql"] for q in queries if "django_session" in q["sql"] and not q["sql"].startswith("SELECT")
        ]
        assert writes == []
        assert Session.objects.get(session_key=client.session.session_key).expire_date == expires

    def test_a_changed_session_is_written_at_once(self, client, worker_a, clock_at):
        clock_at(0)
        client.force_login(worker_a)
        clock_at(10)

        assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 302
        client.logout()

        assert not Session.objects.exists()

    def test_it_logs_out_who_was_idle_for_thirty_minutes(self, client, worker_a, clock_at):
        clock_at(0)
        logged_in(client, worker_a)
        clock_at(45)
        assert client.get("/").status_code == 200  # within the minute: not written
        clock_at(45 + 30 * 60)

        r = client.get("/residents/")

        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")

    def test_it_keeps_who_works_on_logged_in(self, client, worker_a, clock_at):
        clock_at(0)
        logged_in(client, worker_a)
        for second in range(25, 45 * 60 + 1, 25):  # a request every 25 seconds for 45 minutes
            clock_at(second)
            assert client.get("/api/v1/jurisdictions").status_code == 200, second
        clock_at(45 * 60 + 29 * 60)  # idle 29 minutes since the last request

        assert client.get("/residents/").status_code == 200

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
