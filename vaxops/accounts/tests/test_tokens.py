"""API tokens for machine clients: ``Authorization: Bearer vx_…``."""

from datetime import date

import pytest

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
