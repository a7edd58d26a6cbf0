"""API tokens for machine clients: ``Authorization: Bearer vx_…``."""

from datetime import date, timedelta
from unittest import mock

import pytest
from django.utils import timezone

from vaxops.accounts.models import ApiToken
from vaxops.accounts.services import api_token_authenticate, api_token_create, api_token_revoke
from vaxops.audit.models import AuditEvent
from vaxops.conftest import make_id
from vaxops.registry.models import Resident


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def residents(village_a1, village_b1):
    for seq, village, name in ((1, village_a1, "张一"), (2, village_b1, "王四")):
        Resident.objects.create(
            id_type="resident_id",
            id_number=make_id(date(1980, 5, 1), seq),
            name=name,
            village=village,
            village_code=village.code,
        )


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


class TestApiTokens:
    def test_it_returns_a_raw_token_and_stores_only_its_digest(self, worker_a):
        token, raw = api_token_create(user=worker_a, name="sync")

        assert raw.startswith("vx_")
        assert len(raw) > 30
        token.refresh_from_db()
        assert token.digest != raw
        assert raw not in (token.digest, token.prefix, token.name)
        assert token.prefix == raw[3:11]
        assert AuditEvent.objects.filter(action="api_token.create", object_id=str(token.pk)).count() == 1

    def test_it_authenticates_a_bearer_token_in_the_users_scope(self, client, worker_a, residents):
        _, raw = api_token_create(user=worker_a, name="sync")

        r = client.get("/api/v1/residents", **bearer(raw))

        assert r.status_code == 200
        assert [i["name"] for i in r.json()["items"]] == ["张一"]

    def test_it_accepts_the_token_header_too(self, client, worker_a, residents):
        _, raw = api_token_create(user=worker_a, name="sync")

        r = client.get("/api/v1/residents", HTTP_X_API_TOKEN=raw)

        assert r.status_code == 200
        assert r.json()["count"] == 1

    def test_it_records_when_a_token_was_last_used(self, client, worker_a, residents):
        token, raw = api_token_create(user=worker_a, name="sync")

        client.get("/api/v1/residents", **bearer(raw))

        token.refresh_from_db()
        assert token.last_used_at is not None

    def test_it_answers_401_for_a_revoked_token(self, client, worker_a, cdc, residents):
        token, raw = api_token_create(user=worker_a, name="sync")
        api_token_revoke(token=token, actor=cdc)

        r = client.get("/api/v1/residents", **bearer(raw))

        assert r.status_code == 401
        assert api_token_authenticate(raw) is None
        assert AuditEvent.objects.filter(action="api_token.revoke", actor=cdc).count() == 1

    def test_it_answers_401_without_a_token(self, client, residents):
        assert client.get("/api/v1/residents").status_code == 401

    def test_it_answers_401_for_an_unknown_token(self, client, residents):
        assert client.get("/api/v1/residents", **bearer("vx_" + "a" * 43)).status_code == 401

    def test_it_answers_401_for_an_inactive_user(self, client, worker_a, residents):
        _, raw = api_token_create(user=worker_a, name="sync")
        worker_a.is_active = False
        worker_a.save()

        assert client.get("/api/v1/residents", **bearer(raw)).status_code == 401

    def test_it_keeps_other_tokens_working_after_a_revoke(self, client, worker_a, cdc, residents):
        old, old_raw = api_token_create(user=worker_a, name="old")
        _, new_raw = api_token_create(user=worker_a, name="new")
        api_token_revoke(token=old, actor=cdc)

        assert client.get("/api/v1/residents", **bearer(new_raw)).status_code == 200
        assert client.get("/api/v1/residents", **bearer(old_raw)).status_code == 401
        assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 1


def test_a_process_remembers_a_token_user_for_a_few_seconds(cdc, settings, django_assert_num_queries):
    from vaxops.accounts import services

    settings.VAXOPS_TOKEN_CACHE_SECONDS = 10
    services._token_users.clear()
    _, raw = api_token_create(user=cdc, name="burst")
    first = api_token_authenticate(raw)
    with django_assert_num_queries(0):
        again = api_token_authenticate(raw)
        assert (
            again is first
            and again.has_perm("registry.view_resident")
            and again.division.code == "330199000000"
        )
    settings.VAXOPS_TOKEN_CACHE_SECONDS = 0
    assert api_token_authenticate("vx_not-a-token") is None
    services._token_users.clear()


class TestApiTokenExpiry:
    """Tokens expire (issue 11, Low): 90 days by default, ``--days N`` at creation; an expired token is
    refused with 401 and a message saying it expired; the last use is written at most once a minute."""

    def test_a_new_token_expires_after_the_configured_days(self, worker_a, settings):
        settings.VAXOPS_API_TOKEN_DAYS = 90
        token, _ = api_token_create(user=worker_a, name="sync")
        assert 89.9 < (token.expires_at - token.created_at).total_seconds() / 86400 <= 90
        short, _ = api_token_create(user=worker_a, name="sync", days=7)
        assert 6.9 < (short.expires_at - short.created_at).total_seconds() / 86400 <= 7

    def test_an_expired_token_is_refused_with_401_and_a_clear_message(self, client, worker_a, residents):
        token, raw = api_token_create(user=worker_a, name="sync")
        assert client.get("/api/v1/residents", **bearer(raw)).status_code == 200
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

        r = client.get("/api/v1/residents", **bearer(raw))

        assert r.status_code == 401
        assert r.json()["code"] == "token_expired"
        assert r.json()["code"] == "token_expired"
        assert client.get("/api/v1/residents", HTTP_X_API_TOKEN=raw).status_code == 401

    def test_a_cached_token_is_refused_once_it_expires(self, client, worker_a, residents, settings):
        settings.VAXOPS_TOKEN_CACHE_SECONDS = 60
        token, raw = api_token_create(user=worker_a, name="sync")
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(hours=1))
        assert client.get("/api/v1/residents", **bearer(raw)).status_code == 200  # now cached
        later = timezone.now() + timedelta(hours=2)
        with mock.patch("vaxops.core.clock.now", return_value=later):
            r = client.get("/api/v1/residents", **bearer(raw))
        assert r.status_code == 401 and r.json()["code"] == "token_expired"

    def test_last_used_is_written_at_most_once_a_minute(self, client, worker_a, residents):
        token, raw = api_token_create(user=worker_a, name="sync")
        client.get("/api/v1/residents", **bearer(raw))
        token.refresh_from_db()
        first = token.last_used_at
        assert first is not None
        client.get("/api/v1/residents", **bearer(raw))
        token.refresh_from_db()
        assert token.last_used_at == first

    def test_the_command_takes_days(self, worker_a, capsys):
        from django.core.management import call_command

        call_command("token-create", worker_a.username, "省平台对接", "--days", "30")
        token = ApiToken.objects.get(user=worker_a, name="省平台对接")
        assert 29.9 < (token.expires_at - token.created_at).total_seconds() / 86400 <= 30
        assert "有效期至" in capsys.readouterr().err
