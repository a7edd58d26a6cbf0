"""Real concurrent connections on PostgreSQL: a one-time code gets five tries however many arrive at once."""

import pytest
from django.db import connection
from django.utils import timezone

from vaxops.core import ratelimit
from vaxops.notify import services
from vaxops.notify.models import OneTimeCode
from vaxops.testing.concurrency import race

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("audit_log_flushable")]


@pytest.fixture
def pg():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so it cannot show guesses racing")


def test_twelve_guesses_at_once_get_five_tries_between_them(pg):
    subject = services.otp_subject("330199197001010021", "13800000003")
    row = OneTimeCode.objects.create(
        purpose="p",
        subject=subject,
        code_hash=services._digest("p", subject, "123456"),
        issued_at=timezone.now(),
    )

    outcomes = race(12, lambda i: services.otp_verify(purpose="p", subject=subject, code=f"{i:06d}"))

    assert outcomes.count("验证码不正确") == 5, outcomes
    assert outcomes.count("验证码错误次数过多，请重新获取") == 7, outcomes
    row.refresh_from_db()
    assert row.attempts == 5 and row.used_at is None


def test_the_right_code_sent_twice_at_once_is_accepted_once(pg):
    subject = services.otp_subject("330199197001010021", "13800000004")
    OneTimeCode.objects.create(
        purpose="p",
        subject=subject,
        code_hash=services._digest("p", subject, "654321"),
        issued_at=timezone.now(),
    )

    outcomes = race(5, lambda i: services.otp_verify(purpose="p", subject=subject, code="654321"))

    assert outcomes.count("ok") == 1, outcomes
    # the others find it used, or (arriving after the winner committed) no unused code at all
    assert all(o == "ok" or "已使用" in o or "请先获取" in o for o in outcomes), outcomes


def test_a_counter_counts_every_hit_from_many_connections(pg):
    now = timezone.now()
    counts = race(
        16, lambda i: ratelimit.counter_hit(scope="s", key="ip:1", seconds=60, now=now), keep_result=True
    )
    assert sorted(counts) == list(range(1, 17))
