"""Schema-driven fuzzing of the whole API (/api/v1/openapi.json) with schemathesis: no request, however
strange, may get a 5xx.

Every operation of the OpenAPI document is called through the Django WSGI application with requests
generated from its parameters and body schemas (the document's examples, boundary and invalid values for
each field — the "coverage" phase — and random ones), once signed in with an API token (a superuser, who
may reach every endpoint) and once with a session cookie and its CSRF token (the county CDC planner). The
database holds a small demo county (300 residents, doses, stock, two sites, a session open today), so real
ids and codes exist. The only check is ``not_a_server_error``: a 4xx is a correct answer to a bad request.
"""

import io
import secrets

import pytest
import schemathesis
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import connection
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("audit_log_flushable"),
]

MAX_EXAMPLES = 5  # random examples per operation, after the deterministic coverage cases
SEED = 20210
# Values a hostile or clumsy client sends, mixed into every string and integer the generator makes: NUL
# and other control characters, numbers past 32 and 64 bits, dates far outside the campaign.
HOSTILE = [
    "\x00",
    "330199001\x00",
    "\x1b[2J",
    "7367-02-30",
    "7367-01-01",
    "0001-01-01",
    "9999-12-31T23:59:59",
    "99999999999999999999999",
    2**31,
    2**63,
    2**64,
    -(2**63) - 1,
    10**30,
]


@pytest.fixture
def demo_county(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command(
        "seed-demo",
        "--residents",
        "300",
        "--seed",
        "7",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        verbosity=0,
    )


@pytest.fixture
def api_schema(demo_county, request):
    # schemathesis 4.32 labels each operation's subtest through ``Node._nodeid``, which pytest 9 replaced
    # by a structured id; an instance attribute of the same name gives it something to read and rewrite.
    request.node._nodeid = request.node.nodeid
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "dictionaries": {"hostile": {"values": HOSTILE}},
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "with-security-parameters": False,
                "database": "none",
                "dictionaries": {
                    "string": {"dictionary": "hostile", "probability": 0.3},
                    "integer": {"dictionary": "hostile", "probability": 0.3},
                },
            },
            "phases": {"stateful": {"enabled": False}, "coverage": {"unexpected-methods": []}},
        }
    )
    # Keep the connection between requests (as production's CONN_MAX_AGE does) rather than reconnecting
    # for each of the thousands of requests.
    saved = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = None
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application(), config=config)
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = saved


@pytest.fixture
def token_headers(demo_county):
    from vaxops.accounts.models import User
    from vaxops.accounts.services import api_token_create

    _token, raw = api_token_create(user=User.objects.get(username="admin"), name="fuzz")
    headers = {"Authorization": f"Bearer {raw}"}
    _assert_signed_in(headers)
    return headers


@pytest.fixture
def session_headers(demo_county):
    from django.test import Client

    from vaxops.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username="cdc"))
    csrf = secrets.token_hex(16)  # 32 characters: an unmasked CSRF secret
    cookie = f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}"
    headers = {"Cookie": cookie, "X-CSRFToken": csrf}
    _assert_signed_in(headers)
    return headers


def _assert_signed_in(headers: dict) -> None:
    """The credentials open a read and a write (CSRF included): a run answered 401 throughout proves nothing."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert client.get("/api/v1/residents", headers=headers).status_code == 200
    write = client.post(
        "/api/v1/forecast", {"birth_date": "1980-01-01"}, content_type="application/json", headers=headers
    )
    assert write.status_code == 200, write.content[:200]


@pytest.fixture
def requests_sent(api_schema):
    """The operations called, one entry per request: a run that sent (almost) nothing proves nothing."""
    sent: list[str] = []
    yield sent
    operations = sum(1 for _ in api_schema.get_all_operations())
    assert operations >= 80 and len(set(sent)) == operations, (operations, len(set(sent)))
    assert len(sent) >= operations * MAX_EXAMPLES, len(sent)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_server_error_with_a_token(case, token_headers, requests_sent):
    requests_sent.append(case.operation.label)
    case.call_and_validate(headers=token_headers, checks=[not_a_server_error])


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_server_error_with_a_session(case, session_headers, requests_sent):
    requests_sent.append(case.operation.label)
    case.call_and_validate(headers=session_headers, checks=[not_a_server_error])


def _failing_app(environ, start_response):
    start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
    return [b"boom"]


def test_a_server_error_is_what_fails_the_run():
    """The one check the runs above apply fails on a 5xx (and only the 5xx is held against the API)."""
    tiny = schemathesis.openapi.from_dict(
        {
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/boom": {"get": {"responses": {"200": {"description": "ok"}}}}},
        }
    )
    case = tiny["/boom"]["GET"].Case()
    response = case.call(app=_failing_app)
    assert response.status_code == 500
    with pytest.raises(FailureGroup) as raised:
        case.validate_response(response, checks=[not_a_server_error])
    assert "Server error" in str(raised.value)
