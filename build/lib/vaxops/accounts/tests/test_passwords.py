"""Passwords are hashed with Argon2."""

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory

from vaxops.accounts.models import User
from vaxops.accounts.services import user_create
from vaxops.conftest import PASSWORD


class TestPasswordHashing:
    def test_it_hashes_with_argon2(self, worker_a):
        worker_a.refresh_from_db()

        assert worker_a.password.startswith("argon2")
        assert PASSWORD not in worker_a.password
        assert worker_a.check_password(PASSWORD)
        assert not worker_a.check_password(PASSWORD + "x")

    def test_it_authenticates_with_the_argon2_hash(self, county):
        user_create(username="nurse", password=PASSWORD, role="site_screening", division=county)

        user = authenticate(RequestFactory().post("/accounts/login/"), username="nurse", password=PASSWORD)

        assert user is not None
        assert user.username == "nurse"
        assert User.objects.get(username="nurse").password.startswith("argon2$argon2id$")

    def test_it_refuses_a_short_password_at_validation(self, county):
        from django.contrib.auth.password_validation import validate_password
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError) as exc:
            validate_password("short1")

        assert any("10" in m for m in exc.value.messages)
