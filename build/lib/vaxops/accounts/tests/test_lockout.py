"""Five failed logins lock the account (not the address) for 30 minutes."""

from datetime import timedelta

import pytest
from django.conf import settings

from vaxops.conftest import PASSWORD

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def attempt(client, username, password, ip="10.1.1.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


class TestLockout:
    def test_it_is_configured_for_five_failures_and_thirty_minutes(self):
        assert settings.AXES_FAILURE_LIMIT == 5
        assert settings.AXES_COOLOFF_TIME.total_seconds() == 30 * 60
        assert settings.AXES_LOCKOUT_PARAMETERS == ["username"]

    def test_it_signs_in_with_the_right_password(self, client, worker_a):
        r = attempt(client, "worker_a", PASSWORD)

        assert r.status_code == 302
        assert r["Location"] == "/"
        assert signed_in(client)

    def test_it_shows_an_error_after_a_wrong_password(self, client, worker_a):
        r = attempt(client, "worker_a", "wrong-password")

        assert r.status_code == 200
        assert "用户名或密码错误" in r.content.decode()
        assert not signed_in(client)

    def test_it_locks_after_five_failures_even_with_the_right_password(self, client, worker_a):
        for _ in range(5):
            attempt(client, "worker_a", "wrong-password")

        r = attempt(client, "worker_a", PASSWORD)

        assert r.status_code != 302
        assert "锁定" in r.content.decode()
        assert not signed_in(client)

    def test_it_does_not_lock_after_four_failures(self, client, worker_a):
        for _ in range(4):
            attempt(client, "worker_a", "wrong-password")

        r = attempt(client, "worker_a", PASSWORD)

        assert r.status_code == 302
        assert signed_in(client)

    def test_it_locks_the_account_not_the_address(self, client, worker_a, worker_b):
        for _ in range(5):
            attempt(client, "worker_a", "wrong-password", ip="10.1.1.1")

        r = attempt(client, "worker_b", PASSWORD, ip="10.1.1.1")

        assert r.status_code == 302
        assert signed_in(client)

    def test_it_locks_the_account_from_any_address(self, client, worker_a):
        for i in range(5):
            attempt(client, "worker_a", "wrong-password", ip=f"10.1.1.{i + 1}")

        r = attempt(client, "worker_a", PASSWORD, ip="10.9.9.9")

        assert "锁定" in r.content.decode()
        assert not signed_in(client)

    def test_it_unlocks_after_thirty_minutes(self, client, worker_a):
        from axes.models import AccessAttempt

        for _ in range(5):
            attempt(client, "worker_a", "wrong-password")
        AccessAttempt.objects.update(
            attempt_time=AccessAttempt.objects.first().attempt_time - timedelta(minutes=31)
        )

        r = attempt(client, "worker_a", PASSWORD)

        assert r.status_code == 302
        assert signed_in(client)
