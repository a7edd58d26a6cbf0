"""Bad bytes, numbers past the columns, unknown choices and dates in the year 7367 are refused at the edge:
400 (a control character) or 422 (a schema bound), the field named in Chinese, nothing stored — never a
500, whichever the database (PostgreSQL refuses NUL in text; SQLite overflows past 64 bits)."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from vaxops.audit.models import AuditEvent

DAY = "2026-12-02"
MSG_CONTROL = "控制字符"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo county (300 residents, stock, two sites, a session today), once for the module: it is
    loaded in a transaction that is rolled back when the module ends; each test runs in a savepoint."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            from django.conf import settings

            saved = settings.PASSWORD_HASHERS
            settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
            try:
                call_command(
                    "seed-demo", "--residents", "300", "--seed", "7", stdout=io.StringIO(), verbosity=0
                )
            finally:
                settings.PASSWORD_HASHERS = saved
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def as_user(demo, db, client):
    from vaxops.accounts.models import User

    def login(username: str):
        client.force_login(User.objects.get(username=username))
        return client

    return login


def _stored() -> dict:
    from vaxops.booking.models import Appointment
    from vaxops.registry.models import Resident
    from vaxops.sites.models import Assignment, Session
    from vaxops.supply.models import AllocationRun

    return {
        "audit": AuditEvent.objects.count(),
        "residents": Resident.objects.count(),
        "sessions": Session.objects.count(),
        "assignments": Assignment.objects.count(),
        "allocations": AllocationRun.objects.count(),
        "appointments": Appointment.objects.count(),
    }


def _refused(response, status: int, field: str) -> dict:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["field"] == field
    assert ("请求地址" if field == "path" else f"“{field}”") in body["message"]
    assert "请求内容有误" in body["message"]
    return body


# --------------------------------------------------------------------------------------------------
# A NUL (or another control character) anywhere a client can put one
# --------------------------------------------------------------------------------------------------

ANONYMOUS_NUL_GETS = [
    ("/api/v1/sites?division=%00", "division"),
    ("/api/v1/sites/%00", "path"),
    (f"/api/v1/booking/self/slots?site=%00&day={DAY}", "site"),
    (f"/api/v1/booking/self/slots?site=QX-S001%01&day={DAY}", "site"),
]
STAFF_NUL_GETS = [
    ("/api/v1/residents?q=%00", "q"),
    ("/api/v1/residents?village_code=330199001%00", "village_code"),
    (f"/api/v1/booking/slots?site=%00&day={DAY}", "site"),
    ("/api/v1/supply/balances?place=%00", "place"),
    ("/api/v1/supply/lots?product=%00", "product"),
    ("/api/v1/desk/consent-texts/%00", "path"),
    ("/api/v1/desk/sites/%00/observation", "path"),
    ("/api/v1/supply/codes/%00/trace", "path"),
    ("/api/v1/jurisdictions?within=%00", "within"),
]
STAFF_NUL_PAGES = ["/sites/%00/", "/residents/?q=%00", "/supply/lots/?q=%00", "/audit/?q=%00"]


class TestControlCharacters:
    @pytest.mark.parametrize(("url", "field"), ANONYMOUS_NUL_GETS)
    def test_it_refuses_them_on_the_public_api(self, demo, db, client, url, field):
        body = _refused(client.get(url), 400, field)
        assert body["code"] == "invalid_characters" and MSG_CONTROL in body["message"]

    @pytest.mark.parametrize(("url", "field"), STAFF_NUL_GETS)
    def test_it_refuses_them_in_staff_queries_and_paths(self, as_user, url, field):
        _refused(as_user("admin").get(url), 400, field)

    @pytest.mark.parametrize("url", STAFF_NUL_PAGES)
    def test_it_refuses_them_on_pages_with_a_chinese_page(self, as_user, url):
        response = as_user("cdc").get(url)
        assert response.status_code == 400
        assert MSG_CONTROL in response.content.decode()

    def test_the_public_sites_page_refuses_them_too(self, demo, db, client):
        response = client.get("/sites/%00/")
        assert response.status_code == 400

    @pytest.mark.parametrize(
        ("url", "payload", "field"),
        [
            ("/api/v1/residents", {"name": "张\u0000三", "id_number": "x", "village_code": "x"}, "name"),
            (
                "/api/v1/booking/self/identify",
                {"name": "a", "id_number": "\u0000", "phone": "1"},
                "id_number",
            ),
            ("/api/v1/supply/counts", {"place": "QX-S001", "scanned": ["1", "2\u0000"]}, "scanned[1]"),
            ("/api/v1/forecast", {"birth_date": "1980-01-01", "doses": ["\u0007"]}, "doses[0]"),
            ("/api/v1/certs/verify", {"hc1": "HC1:\u0000"}, "hc1"),
            ("/api/v1/residents/find", {"id_number": "1", "purpose": "核对\ud800"}, "purpose"),
        ],
    )
    def test_it_refuses_them_in_json_bodies_and_stores_nothing(self, as_user, url, payload, field):
        client = as_user("admin")
        before = _stored()
        response = client.post(url, json.dumps(payload), content_type="application/json")
        _refused(response, 400, field)
        assert _stored() == before

    def test_it_refuses_them_in_a_json_body_sent_as_plain_text(self, as_user):
        # django-ninja reads a body as JSON whatever its declared type.
        response = as_user("admin").post(
            "/api/v1/forecast", '{"birth_date": "1980-01-01\\u0000"}', content_type="text/plain"
        )
        _refused(response, 400, "birth_date")

    def test_a_json_escape_of_a_backslash_is_plain_text(self, as_user):
        # "\\u0000" is the six characters \u0000 typed by someone: text, not a NUL.
        response = as_user("admin").post(
            "/api/v1/forecast",
            '{"birth_date": "1980-01-01", "doses": ["\\\\u0000"]}',
            content_type="application/json",
        )
        assert response.status_code != 400 or response.json()["code"] != "invalid_characters"

    def test_it_refuses_them_in_form_fields(self, as_user):
        client = as_user("cdc")
        before = _stored()
        response = client.post("/residents/find/", {"id_number": "33019919800101\x00", "purpose": "核对"})
        assert response.status_code == 400
        assert "id_number" in response.content.decode()
        assert _stored() == before

    def test_it_refuses_them_in_headers(self, as_user):
        client = as_user("admin")
        before = _stored()
        response = client.post(
            "/api/v1/supply/allocations",
            {"product": "BBIBP-CorV", "doses_arriving": 10},
            content_type="application/json",
            headers={"Idempotency-Key": "k\x00"},
        )
        _refused(response, 400, "Idempotency-Key")
        assert _stored() == before

    def test_tabs_and_new_lines_stay_allowed_in_body_text(self, as_user):
        response = as_user("admin").post(
            "/api/v1/forecast",
            json.dumps({"birth_date": "1980-01-01", "doses": [], "contraindicated": ["a\tb\nc"]}),
            content_type="application/json",
        )
        assert response.status_code != 400 or response.json()["code"] != "invalid_characters"


# --------------------------------------------------------------------------------------------------
# Numbers past what the column holds
# --------------------------------------------------------------------------------------------------

HUGE = [2**31, 2**63, 2**64, 10**30]


class TestHugeNumbers:
    @pytest.mark.parametrize("n", HUGE)
    def test_an_allocation_beyond_the_column_is_refused(self, as_user, n):
        before = _stored()
        response = as_user("admin").post(
            "/api/v1/supply/allocations",
            json.dumps({"product": "BBIBP-CorV", "doses_arriving": n}),
            content_type="application/json",
        )
        _refused(response, 422, "doses_arriving")
        assert "数值过大" in response.json()["message"]
        assert _stored() == before

    @pytest.mark.parametrize(
        ("url", "payload", "field"),
        [
            (
                "/api/v1/supply/dispatches",
                {"from_place": "QX-CDC", "to_place": "QX-S001", "product": "BBIBP-CorV", "doses": 2**64},
                "doses",
            ),
            ("/api/v1/booking/appointments", {"resident_id": 2**64, "slot_id": 1}, "resident_id"),
            ("/api/v1/booking/employer", {"session_id": 1, "resident_ids": [1, 10**30]}, "resident_ids.1"),
            ("/api/v1/supply/lots/1/trace/reveal", {"purpose": "核对", "offset": 10**30}, "offset"),
            (
                "/api/v1/supply/allocations",
                {"product": "BBIBP-CorV", "doses_arriving": 10, "weights": {"risk": 1e308}},
                "weights.risk",
            ),
        ],
    )
    def test_ids_counts_and_weights_beyond_their_columns_are_refused(self, as_user, url, payload, field):
        before = _stored()
        response = as_user("admin").post(url, json.dumps(payload), content_type="application/json")
        _refused(response, 422, field)
        assert _stored() == before

    @pytest.mark.parametrize(
        ("url", "field"),
        [
            ("/api/v1/residents?offset=1000000000000000000000000000000", "offset"),
            ("/api/v1/residents?limit=1000000000000000000000000000000", "limit"),
            ("/api/v1/booking/appointments?offset=1000000000000000000000000000000", "offset"),
            ("/api/v1/supply/lots?offset=99999999999999999999", "offset"),
            ("/api/v1/supply/dispatches?offset=99999999999999999999", "offset"),
            ("/api/v1/booking/appointments/99999999999999999999", "appointment_id"),
            ("/api/v1/residents/99999999999999999999", "resident_id"),
        ],
    )
    def test_offsets_limits_and_ids_in_the_url_are_bounded(self, as_user, url, field):
        _refused(as_user("admin").get(url), 422, field)


# --------------------------------------------------------------------------------------------------
# Unknown choices
# --------------------------------------------------------------------------------------------------


class TestUnknownChoices:
    def _session_desk_staff(self):
        from vaxops.sites.models import Desk, Session, StaffMember

        session = Session.objects.filter(site__code="QX-S001").order_by("-day").first()
        desk = Desk.objects.filter(site=session.site).first()
        staff = StaffMember.objects.filter(site=session.site).first()
        return session, desk, staff

    def test_an_assignment_with_an_unknown_role_is_refused_with_the_choices(self, as_user):
        session, desk, staff = self._session_desk_staff()
        before = _stored()
        response = as_user("admin").post(
            f"/api/v1/sites/sessions/{session.pk}/assignments",
            json.dumps({"staff_id": staff.pk, "desk_id": desk.pk, "role": "pilot"}),
            content_type="application/json",
        )
        body = _refused(response, 422, "role")
        assert "vaccination" in body["message"]
        assert _stored() == before

    @pytest.mark.parametrize(
        ("url", "payload", "field"),
        [
            ("/api/v1/sites/sessions/{session}/readiness", {"item": "helicopter"}, "item"),
            ("/api/v1/supply/lots/{lot}/status", {"status": "lost", "reason": "x"}, "status"),
            ("/api/v1/supply/codes/1/waste", {"place": "QX-S001", "reason": "eaten"}, "reason"),
        ],
    )
    def test_other_choices_are_checked_by_the_schema(self, as_user, url, payload, field):
        from vaxops.supply.models import Lot

        session, _desk, _staff = self._session_desk_staff()
        url = url.format(session=session.pk, lot=Lot.objects.first().pk)
        before = _stored()
        response = as_user("admin").post(url, json.dumps(payload), content_type="application/json")
        _refused(response, 422, field)
        assert _stored() == before


# --------------------------------------------------------------------------------------------------
# Dates far outside the campaign
# --------------------------------------------------------------------------------------------------


class TestFarDates:
    def test_a_session_in_the_year_7367_is_not_planned(self, as_user):
        before = _stored()
        response = as_user("admin").post(
            "/api/v1/sites/QX-S001/sessions",
            json.dumps({"day": "7367-01-01"}),
            content_type="application/json",
        )
        body = _refused(response, 422, "day")
        assert "2100-12-31" in body["message"]
        assert _stored() == before

    @pytest.mark.parametrize(
        "url",
        [
            "/api/v1/booking/self/slots?site=QX-S001&day=7367-01-01",
            "/api/v1/booking/slots?site=QX-S001&day=7367-01-01",
            "/api/v1/sites/QX-S001/sessions?from=7367-01-01",
            "/api/v1/catalog/question-set?on=7367-01-01",
            "/api/v1/clinic/residents/1/forecast?on=0001-01-01",
        ],
    )
    def test_far_dates_in_queries_are_refused(self, as_user, url):
        response = as_user("admin").get(url)
        assert response.status_code == 422, response.content[:300]
        assert "1900-01-01" in response.json()["message"]

    @pytest.mark.parametrize(
        ("url", "payload", "field"),
        [
            (
                "/api/v1/clinic/residents/{resident}/doses",
                {"product": "BBIBP-CorV", "given_on": "7367-01-01", "place": "x"},
                "given_on",
            ),
            ("/api/v1/clinic/residents/{resident}/screenings", {"answers": {}, "on": "7367-01-01"}, "on"),
            ("/api/v1/certs/verify", {"hc1": "HC1:x", "at": "7367-01-01T00:00:00Z"}, "at"),
        ],
    )
    def test_far_dates_in_bodies_are_refused(self, as_user, url, payload, field):
        from vaxops.registry.models import Resident

        url = url.format(resident=Resident.objects.order_by("id").first().pk)
        before = _stored()
        response = as_user("admin").post(url, json.dumps(payload), content_type="application/json")
        _refused(response, 422, field)
        assert _stored() == before

    @pytest.mark.parametrize(
        ("url", "payload"),
        [
            ("/api/v1/forecast", {"birth_date": "7367-01-01"}),
            ("/api/v1/forecast", {"birth_date": "1980-01-01", "doses": ["BBIBP-CorV@7367-01-01"]}),
            ("/api/v1/forecast", {"birth_date": "1980-01-01", "on": "7367-01-01"}),
            ("/api/v1/forecast", {"birth_date": "1980-01-01", "deferred_until": "9999-12-31"}),
            (
                "/api/v1/residents",
                {
                    "name": "张三",
                    "id_number": "330199736701010011",
                    "birth_date": "7367-01-01",
                    "village_code": "330199001001",
                },
            ),
        ],
    )
    def test_far_dates_written_as_text_are_refused(self, as_user, url, payload):
        before = _stored()
        response = as_user("admin").post(url, json.dumps(payload), content_type="application/json")
        assert response.status_code in (400, 422), response.content[:300]
        assert _stored() == before

    def test_a_date_within_the_range_still_works(self, as_user):
        day = (timezone.localdate() + timedelta(days=1)).isoformat()
        response = as_user("admin").get(f"/api/v1/booking/slots?site=QX-S001&day={day}")
        assert response.status_code == 200


# --------------------------------------------------------------------------------------------------
# The same bounds on the pages
# --------------------------------------------------------------------------------------------------

BIG = "99999999999999999999"


class TestPages:
    def test_a_session_in_the_year_7367_is_not_planned_from_the_page(self, as_user):
        before = _stored()
        response = as_user("cdc").post("/sites/QX-S001/plan/", {"day": "7367-01-01"})
        assert response.status_code == 302
        assert _stored() == before

    @pytest.mark.parametrize(
        "url",
        [
            f"/mobilisation/?on=9999-12-31&employer={BIG}",
            "/mobilisation/?on=0001-01-01",
            "/clinic/residents/1/?on=9999-12-31",
            "/audit/?since=9999-12-31&until=0001-01-01",
            "/audit/?date_from=9999-12-31&date_to=0001-01-01",
            "/audit/?date_from=2100-12-31&date_to=2100-12-31",
            f"/booking/?session={BIG}",
            f"/supply/lots/1/?offset={BIG}",
        ],
    )
    def test_far_dates_and_huge_numbers_in_page_queries_are_ignored(self, as_user, url):
        from vaxops.registry.models import Resident

        url = url.replace("/residents/1/", f"/residents/{Resident.objects.order_by('id').first().pk}/")
        response = as_user("cdc").get(url)
        assert response.status_code < 500

    def test_a_reservation_of_a_huge_number_of_places_is_refused_from_the_page(self, as_user):
        from vaxops.sites.models import Session

        session = Session.objects.filter(site__code="QX-S001").order_by("-day").first()
        before = _stored()
        response = as_user("cdc").post(
            "/sites/QX-S001/reserve/", {"session": session.pk, "key": "V:330199001001", "places": BIG}
        )
        assert response.status_code < 500
        assert _stored() == before
