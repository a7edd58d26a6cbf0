"""A database connection killed on the server side (a PostgreSQL restart or failover: ``pg_terminate_backend``)
costs no request a 500: between requests the health check replaces it; in the middle of a write the answer is a
clean 503 ``db_unavailable`` with ``Retry-After``; in the middle of a read the read is run again.

The requests go through Django's own WSGI handler in this thread, so they use this thread's connection and the
request signals that check and recycle it, as under gunicorn; the connection is kept between requests as in
production (``CONN_MAX_AGE``). PostgreSQL only.
"""

import io
import json

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import RequestFactory

from vaxops.accounts.services import api_token_create
from vaxops.booking.models import Appointment
from vaxops.booking.tests.factories import resident, session, site

pytestmark = pytest.mark.postgres


@pytest.fixture
def kept_connection():
    """The default connection kept across requests (CONN_MAX_AGE 600), health-checked as configured."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: a server-side backend to terminate")
    saved = connection.settings_dict["CONN_MAX_AGE"]
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 600
    yield
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = saved


def terminate(pid: int) -> None:
    """Kill backend ``pid`` from another connection and wait until it is gone."""
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as c:
        assert c.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        for _ in range(200):
            if not c.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                return
            c.execute("SELECT pg_sleep(0.01)")
    raise AssertionError(f"backend {pid} still alive")


def backend_pid() -> int:
    return connection.connection.info.backend_pid


class Http:
    """Requests through the production WSGI handler (request_started / request_finished included)."""

    def __init__(self, token: str):
        self.handler = WSGIHandler()
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def __call__(self, method: str, path: str, data=None) -> tuple[int, dict, dict]:
        body = json.dumps(data).encode() if data is not None else b""
        environ = (
            RequestFactory().generic(method, path, body, content_type="application/json", **self.auth).environ
        )
        environ["wsgi.input"] = io.BytesIO(body)
        environ["wsgi.errors"] = io.StringIO()
        seen = {}

        def start_response(status, headers, exc_info=None):
            seen["status"] = int(status.split()[0])
            seen["headers"] = dict(headers)

        response = self.handler(environ, start_response)
        try:
            payload = b"".join(response)
        finally:
            response.close()  # request_finished: the connection is kept (CONN_MAX_AGE) or recycled
        try:
            answer = json.loads(payload)
        except ValueError:
            answer = {"raw": payload.decode(errors="replace")}
        return seen["status"], seen["headers"], answer


@pytest.fixture
def booking_setup(village_a1, cdc, worker_a):
    s = session(site(village_a1), cdc)
    slot = s.slots.order_by("start").first()
    people = [resident(village_a1, i, name=f"居民{i}") for i in range(3)]
    _, raw = api_token_create(user=worker_a, name="test")
    connection.close()
    return Http(raw), slot, people


def book(http, person, slot):
    return http("POST", "/api/v1/booking/appointments", {"resident_id": person.pk, "slot_id": slot.pk})


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_a_connection_killed_between_two_requests_is_replaced_and_the_write_succeeds(
    kept_connection, booking_setup
):
    http, slot, people = booking_setup
    assert http("GET", "/api/v1/sites")[0] == 200
    pid = backend_pid()

    terminate(pid)
    status, _, answer = book(http, people[0], slot)

    assert status == 201, answer
    assert backend_pid() != pid
    assert Appointment.objects.filter(resident=people[0]).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_a_write_whose_connection_dies_mid_request_answers_503_then_the_next_succeeds(
    kept_connection, booking_setup
):
    http, slot, people = booking_setup
    assert http("GET", "/api/v1/sites")[0] == 200
    killed = []

    def kill_before_the_first_write(execute, sql, params, many, context):
        if not killed and sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
            killed.append(backend_pid())
            terminate(killed[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(kill_before_the_first_write):
        status, headers, answer = book(http, people[0], slot)

    assert killed
    assert status == 503, answer
    assert answer["code"] == "db_unavailable"
    assert "数据库" in answer["message"] and "重试" in answer["message"]
    assert int(headers["Retry-After"]) > 0
    assert book(http, people[1], slot)[0] == 201
    assert Appointment.objects.filter(resident=people[0]).count() == 0
    assert Appointment.objects.filter(resident=people[1]).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_a_read_whose_connection_dies_mid_request_is_run_again(kept_connection, booking_setup):
    http, _, _ = booking_setup
    assert http("GET", "/api/v1/sites")[0] == 200
    killed = []

    def kill_before_the_first_query(execute, sql, params, many, context):
        if not killed:
            killed.append(backend_pid())
            terminate(killed[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(kill_before_the_first_query):
        status, _, answer = http("GET", "/api/v1/sites")

    assert killed
    assert status == 200, answer


def test_a_page_answers_a_chinese_503_page():
    from vaxops.core.middleware import database_unavailable

    response = database_unavailable(RequestFactory().post("/booking/"))

    assert response.status_code == 503
    assert "数据库暂时无法连接" in response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert int(response["Retry-After"]) > 0


def test_the_503_speaks_english_to_who_chose_it():
    from vaxops.core.middleware import database_unavailable

    request = RequestFactory().post("/api/v1/booking/appointments")
    request.COOKIES["django_language"] = "en"

    response = database_unavailable(request)

    assert json.loads(response.content)["message"].startswith("The database cannot be reached")


# --------------------------------------------------------------------------------------------------
# The health check without a round trip (vaxops.core.postgresql)
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def select_one_checks(monkeypatch):
    """Counts the health checks that go to the server (Django's ``SELECT 1``)."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    calls = []
    original = DatabaseWrapper.is_usable

    def counted(self):
        calls.append(self.alias)
        return original(self)

    monkeypatch.setattr(DatabaseWrapper, "is_usable", counted)
    return calls


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_a_busy_connection_is_checked_without_a_statement(kept_connection, booking_setup, select_one_checks):
    http, slot, people = booking_setup
    assert http("GET", "/api/v1/sites")[0] == 200
    pid = backend_pid()

    assert book(http, people[0], slot)[0] == 201
    assert http("GET", "/api/v1/sites")[0] == 200

    assert select_one_checks == []
    assert backend_pid() == pid


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_a_connection_idle_longer_than_the_limit_is_checked_with_a_statement(
    kept_connection, booking_setup, select_one_checks, settings
):
    http, _, _ = booking_setup
    assert http("GET", "/api/v1/sites")[0] == 200
    pid = backend_pid()
    connection.last_used -= settings.VAXOPS_DB_HEALTH_CHECK_IDLE_SECONDS + 1

    assert http("GET", "/api/v1/sites")[0] == 200

    assert select_one_checks == ["default"]
    assert backend_pid() == pid


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_a_busy_connection_killed_between_two_requests_is_replaced(
    kept_connection, booking_setup, select_one_checks, settings
):
    settings.VAXOPS_DB_HEALTH_CHECK_IDLE_SECONDS = 3600  # never idle long enough for the SELECT 1 by itself
    http, slot, people = booking_setup
    assert http("GET", "/api/v1/sites")[0] == 200
    pid = backend_pid()

    terminate(pid)
    status, _, answer = book(http, people[0], slot)

    assert status == 201, answer
    assert backend_pid() != pid
    # The socket held the server's farewell, so the statement ran, failed, and the connection was replaced.
    assert select_one_checks == ["default"]
    assert Appointment.objects.filter(resident=people[0]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_socket_of_a_killed_backend_is_not_quiet(kept_connection):
    from vaxops.core.postgresql.base import _quiet

    connection.ensure_connection()
    raw = connection.connection
    assert _quiet(raw)

    terminate(raw.info.backend_pid)

    assert not _quiet(raw)
    assert not connection.is_usable()
