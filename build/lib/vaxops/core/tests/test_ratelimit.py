"""The doors that need no login: every one is rate-limited per client address in the database, the
resident's door also per ID number and phone; it answers the same whether or not anyone matched; and
anonymous refusals are counted, with one audit event per client and window."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from vaxops.audit.models import AuditEvent
from vaxops.booking import services as booking_services
from vaxops.booking.tests.factories import resident
from vaxops.conftest import make_id
from vaxops.core import ratelimit
from vaxops.core.models import RateCounter
from vaxops.notify.models import Notification, OneTimeCode

pytestmark = pytest.mark.django_db

IDENTIFY = "/api/v1/booking/self/identify"
VERIFY = "/api/v1/booking/self/verify"


@pytest.fixture
def limits(settings):
    """Every scope lowered (by default to two requests an hour), for the test to reach."""

    def set_to(requests: int = 2, seconds: int = 3600, **overrides):
        values = {scope: (requests, seconds) for scope in settings.VAXOPS_RATE_LIMITS}
        settings.VAXOPS_RATE_LIMITS = {**values, **overrides}

    return set_to


def _json(client, path, data, ip="10.9.0.1"):
    return client.post(path, data, content_type="application/json", REMOTE_ADDR=ip)


# --------------------------------------------------------------------------------------------------
# Every anonymous door
# --------------------------------------------------------------------------------------------------

DAY = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
ANONYMOUS_DOORS = [
    # method, path, body (JSON for the API, a form for pages)
    ("get", "/api/v1/sites", None),
    ("get", "/api/v1/sites/S1", None),
    (
        "post",
        IDENTIFY,
        {"name": "张三", "id_number": make_id(dt.date(1980, 1, 1), 5), "phone": "13900000001"},
    ),
    ("post", VERIFY, {"id_number": make_id(dt.date(1980, 1, 1), 5), "phone": "13900000001", "code": "1"}),
    ("get", f"/api/v1/booking/self/slots?site=S1&day={DAY}", None),
    ("post", "/api/v1/booking/self/appointments", {"slot_id": 1}),
    ("get", "/api/v1/booking/self/appointments", None),
    ("get", "/api/v1/booking/self/appointments/1", None),
    ("post", "/api/v1/booking/self/appointments/1/cancel", {}),
    ("post", "/api/v1/certs/verify", {"hc1": "HC1:x"}),
    ("get", "/api/v1/certs/trustlist", None),
    ("get", "/api/v1/certs/revocations", None),
    ("get", "/book/", None),
    (
        "post",
        "/book/",
        {"name": "张三", "id_number": make_id(dt.date(1980, 1, 1), 6), "phone": "13900000001"},
    ),
    ("get", "/book/verify/", None),
    ("post", "/book/verify/", {"code": "1"}),
    ("get", "/book/slots/", None),
    ("get", "/book/me/", None),
    ("post", "/book/cancel/", {}),
    ("post", "/book/exit/", {}),
    ("get", "/verify/", None),
    ("post", "/verify/", {"hc1": "HC1:x"}),
    ("get", "/certs/revocations.json", None),
    ("get", "/certs/trustlist.json", None),
    ("get", "/r/not-a-token/", None),
    ("get", "/certs/not-a-token/", None),
    ("get", "/certs/not-a-token/certificate.pdf", None),
]


_calls = iter(range(10**6))


def _call(client, method, path, body, ip):
    if body and "phone" in body:  # a new phone each time: only the address is the same
        body = {**body, "phone": f"137{next(_calls):08d}"}
    if method == "get":
        return client.get(path, REMOTE_ADDR=ip)
    if path.startswith("/api/"):
        return client.post(path, body, content_type="application/json", REMOTE_ADDR=ip)
    return client.post(path, body, REMOTE_ADDR=ip)


@pytest.mark.parametrize(("method", "path", "body"), ANONYMOUS_DOORS)
def test_every_anonymous_door_answers_429_past_its_limit(client, county, limits, method, path, body):
    # an hour's window: three requests straddling the end of a short window would start a new count
    limits(2, 3600, **{"self.identify.person": (100, 3600), "self.verify.person": (100, 3600)})
    for _ in range(2):
        assert _call(client, method, path, body, "10.1.0.1").status_code != 429
    r = _call(client, method, path, body, "10.1.0.1")
    assert r.status_code == 429 and 1 <= int(r["Retry-After"]) <= 3600
    text = r.content.decode()
    assert "请求过于频繁" in text
    if path.startswith("/api/"):
        assert r.json()["code"] == "rate_limited"
    else:
        assert r["Content-Type"].startswith("text/html")
    # another address is counted on its own
    assert _call(client, method, path, body, "10.1.0.2").status_code != 429


def _patterns(resolver: URLResolver, prefix: str = ""):
    for p in resolver.url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _patterns(p, route)
        elif isinstance(p, URLPattern):
            yield route, p


# Doors that need no login and are not counted here, and why.
NOT_COUNTED = {
    "accounts/login/": "django-axes locks the account after five failures",
    "accounts/logout/": "ends a session; nothing to find or to grow",
    "i18n/setlang/": "sets a language cookie; reads and writes nothing",
    "api/v1/openapi.json": "the API's own description: no data, no database",
    "api/v1/docs": "the API's own description: no data, no database",
}


def test_no_page_outside_the_login_is_left_uncounted(client, county):
    """Every URL that answers an anonymous visitor with anything but the login page is rate-limited."""
    seen, uncounted = set(), []
    for route, pattern in _patterns(get_resolver()):
        if route.startswith(("admin/", "api/v1/")) or route in NOT_COUNTED:
            continue
        url = "/" + re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) == "int" else "x", route)
        url = url.lstrip("^").rstrip("$").replace("^", "")
        r = client.get(url, REMOTE_ADDR="10.2.0.1")
        if r.status_code in (301, 302) and "/accounts/login/" in r.get("Location", ""):
            continue
        seen.add(route)
        if getattr(pattern.callback, "rate_scope", None) is None:
            uncounted.append((route, r.status_code))
    assert uncounted == []
    assert {"book/", "verify/", "r/<str:token>/", "certs/<str:token>/"} <= seen


def test_no_api_operation_without_authentication_is_left_uncounted():
    from vaxops.api import api

    api.urls  # noqa: B018 - builds the bound routers
    anonymous = {
        (m, f"{bound.prefix}{path}", getattr(op.run, "rate_scope", None))
        for bound in api._get_bound_routers()
        for path, view in bound.path_operations.items()
        for op in view.operations
        if not op.auth_callbacks
        for m in op.methods
    }
    assert [x for x in anonymous if x[2] is None] == []
    assert ("POST", "/booking/self/identify", "self.identify") in anonymous
    assert len(anonymous) >= 12


def test_a_signed_in_user_is_not_counted(client, limits, cdc):
    limits(1, 60)
    client.force_login(cdc)
    assert all(client.get("/verify/", REMOTE_ADDR="10.3.0.1").status_code == 200 for _ in range(3))


def test_one_counter_per_scope_key_and_window():
    now = timezone.now()
    hit = ratelimit.counter_hit
    assert [hit(scope="s", key="ip:1", seconds=60, now=now) for _ in range(3)] == [1, 2, 3]
    assert hit(scope="s", key="ip:2", seconds=60, now=now) == 1
    assert hit(scope="t", key="ip:1", seconds=60, now=now) == 1
    assert hit(scope="s", key="ip:1", seconds=60, now=now + dt.timedelta(seconds=60)) == 1
    assert RateCounter.objects.count() == 4
    RateCounter.objects.update(window_start=F("window_start") - dt.timedelta(days=3))
    assert ratelimit.counters_prune() == 4


def test_the_client_is_remote_addr_unless_a_trusted_proxy_is_configured(rf, settings):
    request = rf.get("/", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.7")
    settings.VAXOPS_TRUSTED_PROXIES = 0
    assert ratelimit.client_address(request) == "192.0.2.10"  # the header is only what the client says
    settings.VAXOPS_TRUSTED_PROXIES = 1
    assert ratelimit.client_address(request) == "198.51.100.7"  # what our proxy saw
    settings.VAXOPS_TRUSTED_PROXIES = 2
    assert ratelimit.client_address(request) == "203.0.113.5"
    settings.VAXOPS_TRUSTED_PROXIES = 3
    assert ratelimit.client_address(request) == "192.0.2.10"  # fewer hops than proxies: not trusted
    bad = rf.get("/", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="<script>")
    settings.VAXOPS_TRUSTED_PROXIES = 1
    assert ratelimit.client_address(bad) == "192.0.2.10"


def test_the_audit_log_gets_the_address_the_limits_count(client, settings, county):
    settings.VAXOPS_TRUSTED_PROXIES = 1
    _json(
        client, IDENTIFY, {"name": "某", "id_number": make_id(dt.date(1980, 1, 1), 9), "phone": "13900000001"}
    )
    event = AuditEvent.objects.get(action="public.refused")
    assert event.ip == "10.9.0.1"
    client.post(
        IDENTIFY,
        {"name": "某", "id_number": make_id(dt.date(1980, 1, 1), 9), "phone": "13900000001"},
        content_type="application/json",
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert set(AuditEvent.objects.filter(action="public.refused").values_list("ip", flat=True)) == {
        "10.9.0.1",
        "203.0.113.9",
    }


# --------------------------------------------------------------------------------------------------
# The resident's door: per person, the same answer, counted refusals
# --------------------------------------------------------------------------------------------------


def test_one_id_number_is_limited_whoever_asks(client, village_a1, limits):
    limits(1000, 60, **{"self.identify.person": (3, 3600)})
    person = resident(village_a1, 1, name="张三丰", phone="13900000001")
    answers = [
        _json(
            client,
            IDENTIFY,
            {"name": "张三丰", "id_number": person.id_number, "phone": f"1390000{i:04d}"},
            ip,
        )
        for i, ip in enumerate(["10.4.0.1", "10.4.0.2", "10.4.0.3", "10.4.0.4"])
    ]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[3].json()["code"] == "rate_limited" and answers[3].json()["field"] == "id_number"
    # an unknown number is limited the same way (no difference to probe)
    unknown = make_id(dt.date(1970, 1, 1), 44)
    codes = [
        _json(
            client, IDENTIFY, {"name": "某", "id_number": unknown, "phone": f"1380000{i:04d}"}, f"10.5.0.{i}"
        )
        for i in range(4)
    ]
    assert [r.status_code for r in codes] == [200, 200, 200, 429]


def test_one_phone_is_limited_whoever_asks_about_whom(client, county, limits):
    limits(1000, 60, **{"self.identify.person": (2, 3600)})
    codes = [
        _json(
            client,
            IDENTIFY,
            {"name": "某", "id_number": make_id(dt.date(1970, 1, 1), i), "phone": "13700000000"},
            f"10.6.0.{i}",
        ).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]


def test_the_code_step_is_limited_per_id_number(client, village_a1, limits):
    limits(1000, 60, **{"self.verify.person": (2, 3600)})
    person = resident(village_a1, 1, phone="13900000001")
    body = {"id_number": person.id_number, "phone": "13900000001", "code": "000000"}
    codes = [_json(client, VERIFY, body, f"10.7.0.{i}").status_code for i in range(3)]
    assert codes == [400, 400, 429]


def test_the_code_step_answers_the_same_whether_or_not_anyone_matched(client, village_a1):
    """After asking for a code with details that match nobody, the code step says what it says to the
    person the code went to: "wrong code", never "ask for a code first"."""
    person = resident(village_a1, 1, name="张三丰", phone="13900000001")
    unknown = make_id(dt.date(1975, 3, 3), 12)
    for name, id_number, phone in (
        ("张三丰", person.id_number, "13900000001"),
        ("张三丰", person.id_number, "13900000002"),
        ("李四", unknown, "13900000003"),
    ):
        assert (
            _json(client, IDENTIFY, {"name": name, "id_number": id_number, "phone": phone}).status_code == 200
        )
    answers = [
        _json(client, VERIFY, {"id_number": i, "phone": p, "code": "000000"})
        for i, p in (
            (person.id_number, "13900000001"),
            (person.id_number, "13900000002"),
            (unknown, "13900000003"),
        )
    ]
    assert {r.status_code for r in answers} == {400}
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert OneTimeCode.objects.count() == 3  # a code was made (and hashed) every time
    assert Notification.objects.count() == 1  # but only the match got a message


def test_asking_again_within_a_minute_is_refused_alike(client, village_a1):
    person = resident(village_a1, 1, name="张三丰", phone="13900000001")
    for body in (
        {"name": "张三丰", "id_number": person.id_number, "phone": "13900000001"},
        {"name": "王五", "id_number": make_id(dt.date(1975, 3, 3), 12), "phone": "13900000001"},
    ):
        assert _json(client, IDENTIFY, body).status_code == 200
        again = _json(client, IDENTIFY, body)
        assert again.status_code == 429 and (
            again.json()["code"] == "otp_too_soon" and "1分钟" in again.json()["message"]
        )


def test_matched_and_unmatched_requests_do_the_same_database_work(client, village_a1):
    person = resident(village_a1, 1, name="张三丰", phone="13900000001")
    _json(
        client, IDENTIFY, {"name": "x", "id_number": make_id(dt.date(1990, 1, 1), 1), "phone": "13900000009"}
    )

    def statements(body) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert _json(client, IDENTIFY, body).status_code == 200
        return len(ctx.captured_queries)

    matched = statements({"name": "张三丰", "id_number": person.id_number, "phone": "13900000001"})
    unmatched = statements({"name": "张三", "id_number": person.id_number, "phone": "13900000002"})
    assert abs(matched - unmatched) <= 1, (matched, unmatched)


def test_failed_anonymous_attempts_write_one_audit_event_per_client_and_window(client, village_a1, limits):
    limits(1000, 3600, **{"self.identify": (10, 3600), "self.identify.person": (1000, 3600)})
    person = resident(village_a1, 1, name="张三丰", phone="13900000001")
    bodies = [
        {"name": "张三", "id_number": person.id_number, "phone": f"1390000{i:04d}"} for i in range(2, 16)
    ]
    answers = [_json(client, IDENTIFY, b, "10.8.0.1").status_code for b in bodies]  # 14: ten, then 429s
    answers += [_json(client, VERIFY, {**b, "code": "000000"}, "10.8.0.1").status_code for b in bodies[:5]]
    assert answers.count(429) == 4 and answers.count(200) == 10

    events = AuditEvent.objects.filter(action="public.refused")
    assert events.count() == 1 and events.get().ip == "10.8.0.1"
    assert not AuditEvent.objects.filter(action="booking.self_identify").exists()
    refused = RateCounter.objects.get(scope=ratelimit.REFUSED, key="ip:10.8.0.1")
    assert refused.hits == 19  # every refusal is counted, in the counter row

    _json(client, IDENTIFY, bodies[0], "10.8.0.2")
    assert AuditEvent.objects.filter(action="public.refused").count() == 2  # another client, its own event
    # the next window starts a new count and a new event
    RateCounter.objects.filter(scope=ratelimit.REFUSED).update(
        window_start=timezone.now() - dt.timedelta(hours=2)
    )
    _json(client, IDENTIFY, bodies[1], "10.8.0.1")
    assert AuditEvent.objects.filter(action="public.refused").count() == 3


def test_a_page_over_the_limit_says_so_in_chinese(client, village_a1, limits):
    limits(1000, 60, **{"self.identify.person": (1, 3600)})
    person = resident(village_a1, 1, name="张三丰", phone="13900000001")
    form = {"name": "张三丰", "id_number": person.id_number, "phone": "13900000001"}
    assert client.post("/book/", form).status_code == 302
    r = client.post("/book/", form)
    assert r.status_code == 429 and "请求过于频繁" in r.content.decode()
    assert r.content.decode().count('id="error"') == 1


def test_the_service_refuses_a_malformed_request_before_counting_anyone(village_a1):
    from vaxops.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as e:
        booking_services.self_identify(name="x", id_number="123", phone="13900000001")
    assert e.value.field == "id_number" and not RateCounter.objects.exists()


def test_after_an_unmatched_request_the_server_waits_as_long_as_a_send_takes(
    client, village_a1, monkeypatch, django_capture_on_commit_callbacks
):
    """The code goes out after the answer; a request that matched nobody keeps its thread as busy for as
    long as sends have been taking, so a client timing its next request learns nothing either."""
    from vaxops.notify import services as notify_services

    waited = []
    monkeypatch.setattr(notify_services, "_code_send_seconds", 0.25)
    monkeypatch.setattr(notify_services.time, "sleep", waited.append)
    with django_capture_on_commit_callbacks(execute=True):
        r = _json(
            client,
            IDENTIFY,
            {"name": "某", "id_number": make_id(dt.date(1960, 1, 1), 7), "phone": "13900000001"},
        )
    assert r.status_code == 200 and waited == [0.25]


def test_the_counts_are_shown_to_superusers_only_read_only(client, cdc, django_user_model):
    ratelimit.counter_hit(scope=ratelimit.REFUSED, key="ip:10.10.0.1", seconds=3600)
    client.force_login(cdc)
    assert client.get("/admin/core/ratecounter/").status_code in (302, 403)
    admin_user = django_user_model.objects.create_superuser("root", password="x" * 12)
    client.force_login(admin_user)
    page = client.get("/admin/core/ratecounter/")
    assert page.status_code == 200 and "10.10.0.1" in page.content.decode()
    assert client.get("/admin/core/ratecounter/add/").status_code == 403
