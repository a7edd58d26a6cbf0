"""/api/v1/sites and /api/v1/booking through HTTP with API tokens: planning a session, live remaining
places, booking in and out of scope, a full slot, idempotent retries, cancel / reschedule / check-in, the
waiting list, employer bookings, the resident's own booking with a one-time code and a signed token,
readiness and staffing before opening, and the OpenAPI document."""

import datetime as dt
import json
import threading
import time

import pytest
from django.core import signing
from django.db import connection, connections
from django.db.models import F
from django.test import Client
from django.utils import timezone

from vaxops.accounts.services import api_token_create, user_create
from vaxops.booking import selfservice, services
from vaxops.booking.models import (
    Appointment,
    AppointmentStatus,
    Slot,
    SlotQuota,
    WaitlistEntry,
    WaitlistStatus,
)
from vaxops.conftest import PASSWORD, make_id
from vaxops.core.models import IdempotencyRecord
from vaxops.jurisdictions.models import Division
from vaxops.notify.models import OneTimeCode
from vaxops.registry.domain import mask_name
from vaxops.sites.models import Certificate, Desk, Session, SessionStatus, StaffMember

from .factories import resident, site, tomorrow

SITES = "/api/v1/sites"
BOOKING = "/api/v1/booking"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def token(user) -> dict:
    _, raw = api_token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def get(client, auth, path, **params):
    return client.get(path, params, **auth)


def post(client, auth, path, data=None, **headers):
    return client.post(path, json.dumps(data or {}), content_type="application/json", **auth, **headers)


def _township_user(username: str, role: str, township: str = "001"):
    return user_create(
        username=username,
        password=PASSWORD,
        role=role,
        division=Division.objects.get(code=f"330199{township}000"),
    )


@pytest.fixture
def s1(village_a1):
    return site(village_a1)


@pytest.fixture
def as_cdc(cdc):
    return token(cdc)


@pytest.fixture
def planned(client, s1, as_cdc) -> dict:
    """Tomorrow's session of S1, planned through the API (8 slots of 20 places, 08:00–12:00)."""
    r = post(client, as_cdc, f"{SITES}/S1/sessions", {"day": tomorrow().isoformat()})
    assert r.status_code == 201, r.content
    return r.json()


def _slots(client, auth, day=None) -> dict[int, dict]:
    r = get(client, auth, f"{SITES}/S1/sessions", **{"from": (day or tomorrow()).isoformat(), "days": 1})
    assert r.status_code == 200, r.content
    return {x["id"]: x for s in r.json() for x in s["slots"]}


def _book(client, auth, person, slot_id, **headers):
    return post(
        client, auth, f"{BOOKING}/appointments", {"resident_id": person.pk, "slot_id": slot_id}, **headers
    )


# --------------------------------------------------------------------------------------------------
# OpenAPI, public site list, authentication
# --------------------------------------------------------------------------------------------------


class TestOpenApi:
    def test_it_documents_the_sites_and_booking_paths_in_chinese(self, client, county):
        paths = client.get("/api/v1/openapi.json").json()["paths"]

        expected = {
            "/sites": {"get"},
            "/sites/{code}": {"get"},
            "/sites/{code}/sessions": {"get", "post"},
            "/sites/sessions/{session_id}": {"get"},
            "/sites/sessions/{session_id}/reserve": {"post"},
            "/sites/sessions/{session_id}/readiness": {"post"},
            "/sites/sessions/{session_id}/assignments": {"post"},
            "/sites/sessions/{session_id}/open": {"post"},
            "/sites/sessions/{session_id}/close": {"post"},
            "/booking/slots": {"get"},
            "/booking/appointments": {"get", "post"},
            "/booking/appointments/{appointment_id}": {"get"},
            "/booking/appointments/{appointment_id}/cancel": {"post"},
            "/booking/appointments/{appointment_id}/reschedule": {"post"},
            "/booking/appointments/{appointment_id}/check-in": {"post"},
            "/booking/waitlist": {"post"},
            "/booking/employer": {"post"},
            "/booking/self/identify": {"post"},
            "/booking/self/verify": {"post"},
            "/booking/self/slots": {"get"},
            "/booking/self/appointments": {"get", "post"},
            "/booking/self/appointments/{appointment_id}": {"get"},
            "/booking/self/appointments/{appointment_id}/cancel": {"post"},
        }
        for path, methods in expected.items():
            ops = paths.get("/api/v1" + path)
            assert ops is not None, path
            assert methods <= set(ops), path
            for m in methods:
                assert any("\u4e00" <= ch <= "\u9fff" for ch in ops[m]["summary"]), (path, m)
                assert any("\u4e00" <= ch <= "\u9fff" for ch in ops[m].get("description", "")), (path, m)
        book = paths["/api/v1/booking/appointments"]["post"]
        assert {"201", "400", "403", "404", "409"} <= set(book["responses"])
        body = book["requestBody"]["content"]["application/json"]["schema"]
        assert body["$ref"].endswith("/BookIn")
        sessions = {p["name"] for p in paths["/api/v1/sites/{code}/sessions"]["get"]["parameters"]}
        assert {"from", "days"} <= sessions
        self_book = {
            p["name"]: p["in"] for p in paths["/api/v1/booking/self/appointments"]["post"]["parameters"]
        }
        assert self_book == {"X-Self-Token": "header"}


def test_sites_are_public_but_sessions_and_booking_need_a_login(client, s1, village_a1):
    r = client.get(SITES)
    assert r.status_code == 200
    [row] = r.json()
    assert (row["code"], row["kind"], row["division"], row["hospital_name"]) == (
        "S1",
        "fixed",
        village_a1.code,
        "清溪县人民医院",
    )
    assert row["desks"] == {"registration": 1, "screening": 1, "vaccination": 2, "observation": 1}
    assert client.get(SITES, {"division": "330199002000"}).json() == []
    assert client.get(f"{SITES}/S1").json()["name"] == "甲镇卫生院接种门诊"
    assert client.get(f"{SITES}/NOPE").status_code == 404

    assert client.get(f"{SITES}/S1/sessions").status_code == 401
    r = client.post(
        f"{BOOKING}/appointments", {"resident_id": 1, "slot_id": 1}, content_type="application/json"
    )
    assert r.status_code == 401
    assert not Appointment.objects.exists()


# --------------------------------------------------------------------------------------------------
# Planning and booking
# --------------------------------------------------------------------------------------------------


def test_plan_read_and_book_the_remaining_places_go_down(client, planned, village_a1, worker_a, as_cdc):
    slots = planned["slots"]
    assert len(slots) == 8 and planned["status"] == "planned" and planned["site"] == "S1"
    assert {(x["capacity"], x["walk_in"], x["open_remaining"], x["remaining"]) for x in slots} == {
        (20, 0, 20, 20)
    }
    first = slots[0]
    assert timezone.localtime(dt.datetime.fromisoformat(first["start"])).strftime("%H:%M") == "08:00"
    person = resident(village_a1, 1, phone="13800000001")
    as_a = token(worker_a)

    r = _book(client, as_a, person, first["id"])

    assert r.status_code == 201, r.content
    body = r.json()
    assert body == {
        "id": body["id"],
        "resident_id": person.pk,
        "slot_id": first["id"],
        "site": "S1",
        "start": first["start"],
        "end": first["end"],
        "dose_number": 1,
        "is_booster": False,
        "status": "booked",
        "channel": "community",
        "quota": None,
    }
    a = Appointment.objects.get()
    assert (a.pk, a.created_by, a.channel) == (body["id"], worker_a, "community")
    live = _slots(client, as_a)
    assert (live[first["id"]]["remaining"], live[first["id"]]["open_remaining"]) == (19, 19)
    assert live[slots[1]["id"]]["remaining"] == 20

    flat = get(
        client, as_a, f"{BOOKING}/slots", site="S1", day=tomorrow().isoformat(), resident_id=person.pk
    ).json()
    assert [x["id"] for x in flat] == [x["id"] for x in slots]
    assert flat[0]["remaining"] == 19 and flat[0]["bookable"] == 19 and flat[0]["session_id"] == planned["id"]
    plain = get(client, as_a, f"{BOOKING}/slots", site="S1", day=tomorrow().isoformat()).json()
    assert "bookable" not in plain[0]

    again = _book(client, as_a, person, slots[3]["id"])
    assert again.status_code == 400
    assert again.json()["code"] == "already_booked"
    assert Appointment.objects.count() == 1


def test_the_booking_post_stays_lean(client, planned, village_a1, worker_a, django_assert_max_num_queries):
    """The hot path of the load benchmark: authentication, scope, the rules engine, one conditional UPDATE,
    the insert, its audit event and messages, the idempotency record — nothing per related object.
    Fewer than 31 statements; the API itself adds only the resident look-up (the scope
    check) and the idempotency record's select / insert / update."""
    as_a = token(worker_a)
    people = [resident(village_a1, i, phone=f"1380000000{i}") for i in (1, 2)]
    assert _book(client, as_a, people[0], planned["slots"][0]["id"]).status_code == 201  # warm caches

    with django_assert_max_num_queries(31):
        r = _book(client, as_a, people[1], planned["slots"][0]["id"], HTTP_IDEMPOTENCY_KEY="lean-1")
    assert r.status_code == 201


def test_a_person_out_of_scope_is_not_found_and_an_unknown_slot_too(
    client, planned, village_a1, worker_b, worker_a
):
    person = resident(village_a1, 1)

    r = _book(client, token(worker_b), person, planned["slots"][0]["id"])

    assert r.status_code == 404
    assert r.json()["code"] == "resident_not_found"
    r = _book(client, token(worker_a), person, 999_999)
    assert r.status_code == 404 and r.json()["field"] == "slot"
    assert not Appointment.objects.exists()
    assert Slot.objects.filter(open_booked__gt=0).count() == 0


def test_a_full_slot_answers_409_slot_full(client, planned, village_a1, worker_a):
    slot_id = planned["slots"][0]["id"]
    Slot.objects.filter(pk=slot_id).update(open_capacity=0)

    r = _book(client, token(worker_a), resident(village_a1, 1), slot_id, HTTP_IDEMPOTENCY_KEY="full-1")

    assert r.status_code == 409
    body = r.json()
    assert (body["code"], body["field"]) == ("slot_full", "slot") and "约满" in body["message"]
    assert not Appointment.objects.exists()
    assert not IdempotencyRecord.objects.exists()  # a refusal is not stored: the retry may succeed later


def test_a_full_slot_is_refused_from_one_read_without_a_transaction(
    client, planned, village_a1, worker_a, django_assert_max_num_queries
):
    """The stampede's common answer, for a slot that reserves no places: the key looked up, the slot
    read — no claim of the key, no savepoint, no look-up of the person, no rules engine."""
    as_a = token(worker_a)
    slot_id = planned["slots"][0]["id"]
    SlotQuota.objects.filter(slot_id=slot_id).delete()
    Slot.objects.filter(pk=slot_id).update(open_capacity=0, capacity=F("walk_in"))
    person = resident(village_a1, 1)

    with django_assert_max_num_queries(
        8
    ) as ctx:  # with the token's user and permissions (not cached in tests)
        r = _book(client, as_a, person, slot_id, HTTP_IDEMPOTENCY_KEY="full-fast")

    assert r.status_code == 409 and r.json()["code"] == "slot_full"
    statements = [
        q["sql"] for q in ctx.captured_queries if "accounts_apitoken" not in q["sql"]
    ]  # its last use
    assert not [q for q in statements if q.upper().startswith(("SAVEPOINT", "INSERT", "UPDATE", "BEGIN"))]
    assert not [
        q for q in statements if "clinic_dose" in q or "booking_slotquota" in q or "registry_resident" in q
    ]
    assert not IdempotencyRecord.objects.exists()


def test_a_process_remembers_a_full_slot_for_a_moment(
    client, planned, village_a1, worker_a, settings, django_assert_num_queries, monkeypatch
):
    from vaxops.booking import services as booking

    settings.VAXOPS_SLOT_FULL_MEMO_SECONDS = 1
    monkeypatch.setattr(booking, "_full_seen", {})
    clock = [1000.0]
    monkeypatch.setattr(booking, "_monotonic", lambda: clock[0])
    slot_id = planned["slots"][0]["id"]
    SlotQuota.objects.filter(slot_id=slot_id).delete()
    Slot.objects.filter(pk=slot_id).update(open_capacity=0, capacity=F("walk_in"))

    with pytest.raises(booking.SlotFull):
        booking.slot_full_refuse(slot_id)  # read: full, remembered
    Slot.objects.filter(pk=slot_id).update(open_capacity=1, capacity=F("walk_in") + 1)  # a place frees
    clock[0] += 0.5
    with django_assert_num_queries(0), pytest.raises(booking.SlotFull):
        booking.slot_full_refuse(slot_id)  # within the second: from memory
    clock[0] += 0.6
    booking.slot_full_refuse(slot_id)  # read again: a place is there
    assert slot_id not in booking._full_seen
    r = _book(client, token(worker_a), resident(village_a1, 1), slot_id)
    assert r.status_code == 201


def test_a_retry_of_the_booking_that_took_the_last_place_gets_its_first_answer(
    client, planned, village_a1, worker_a
):
    """The early "full" refusal comes after the key's look-up: the booking that filled the slot, retried,
    is answered with its appointment, not with 409."""
    as_a = token(worker_a)
    slot_id = planned["slots"][4]["id"]
    Slot.objects.filter(pk=slot_id).update(open_capacity=1)
    person = resident(village_a1, 1, phone="13800000001")

    first = _book(client, as_a, person, slot_id, HTTP_IDEMPOTENCY_KEY="last-place")
    again = _book(client, as_a, person, slot_id, HTTP_IDEMPOTENCY_KEY="last-place")
    other = _book(client, as_a, resident(village_a1, 2), slot_id, HTTP_IDEMPOTENCY_KEY="someone-else")

    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 409)
    assert first.json() == again.json()
    assert Appointment.objects.filter(slot_id=slot_id).count() == 1


def test_the_same_idempotency_key_books_once_and_answers_the_same(client, planned, village_a1, worker_a):
    as_a = token(worker_a)
    person = resident(village_a1, 1, phone="13800000001")
    slot_id = planned["slots"][2]["id"]

    first = _book(client, as_a, person, slot_id, HTTP_IDEMPOTENCY_KEY="k-1")
    second = _book(client, as_a, person, slot_id, HTTP_IDEMPOTENCY_KEY="k-1")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert Appointment.objects.count() == 1
    assert Slot.objects.get(pk=slot_id).open_booked == 1
    other = _book(client, as_a, person, planned["slots"][3]["id"], HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 400 and other.json()["code"] == "idempotency_key_reused"
    assert Appointment.objects.count() == 1


def test_cancel_gives_the_place_back_and_reschedule_moves_it(client, planned, village_a1, worker_a, worker_b):
    as_a = token(worker_a)
    slots = [x["id"] for x in planned["slots"]]
    person = resident(village_a1, 1)
    a = _book(client, as_a, person, slots[0]).json()

    assert post(client, token(worker_b), f"{BOOKING}/appointments/{a['id']}/cancel", {}).status_code == 404
    moved = post(client, as_a, f"{BOOKING}/appointments/{a['id']}/reschedule", {"slot_id": slots[4]})
    assert moved.status_code == 200, moved.content
    new = moved.json()
    assert new["id"] != a["id"] and new["slot_id"] == slots[4] and new["status"] == "booked"
    assert Appointment.objects.get(pk=a["id"]).status == AppointmentStatus.CANCELLED
    live = _slots(client, as_a)
    assert (live[slots[0]]["remaining"], live[slots[4]]["remaining"]) == (20, 19)

    Slot.objects.filter(pk=slots[6]).update(open_capacity=0)
    full = post(client, as_a, f"{BOOKING}/appointments/{new['id']}/reschedule", {"slot_id": slots[6]})
    assert full.status_code == 409 and full.json()["code"] == "slot_full"
    assert Appointment.objects.get(pk=new["id"]).status == AppointmentStatus.BOOKED

    r1 = post(
        client,
        as_a,
        f"{BOOKING}/appointments/{new['id']}/cancel",
        {"reason": "临时出差"},
        HTTP_IDEMPOTENCY_KEY="c-1",
    )
    r2 = post(
        client,
        as_a,
        f"{BOOKING}/appointments/{new['id']}/cancel",
        {"reason": "临时出差"},
        HTTP_IDEMPOTENCY_KEY="c-1",
    )
    assert (r1.status_code, r2.status_code) == (200, 200) and r1.json() == r2.json()
    assert (r1.json()["status"], r1.json()["reason"]) == ("cancelled", "临时出差")
    assert _slots(client, as_a)[slots[4]]["remaining"] == 20
    r3 = post(client, as_a, f"{BOOKING}/appointments/{new['id']}/cancel", {})
    assert r3.status_code == 400 and r3.json()["code"] == "appointment_not_cancellable"


def test_lists_are_scoped_and_masked(client, planned, village_a1, village_b1, cdc, worker_a, worker_b):
    as_cdc = token(cdc)
    mine = resident(village_a1, 1, name="张三丰")
    theirs = resident(village_b1, 2, name="李四")
    a = _book(client, as_cdc, mine, planned["slots"][0]["id"]).json()
    _book(client, as_cdc, theirs, planned["slots"][1]["id"])

    r = get(client, token(worker_a), f"{BOOKING}/appointments")
    assert r.status_code == 200
    page = r.json()
    assert page["count"] == 1 and [x["resident_name"] for x in page["items"]] == ["张*丰"]
    assert mine.id_number not in r.content.decode() and "张三丰" not in r.content.decode()
    everyone = get(
        client, as_cdc, f"{BOOKING}/appointments", session_id=planned["id"], status="booked"
    ).json()
    assert everyone["count"] == 2
    assert (
        get(client, as_cdc, f"{BOOKING}/appointments", limit=1, offset=1).json()["items"][0]["resident_name"]
        == "李*"
    )
    assert get(client, as_cdc, f"{BOOKING}/appointments", status="nonsense").status_code == 400
    assert get(client, token(worker_b), f"{BOOKING}/appointments/{a['id']}").status_code == 404
    detail = get(client, token(worker_a), f"{BOOKING}/appointments/{a['id']}").json()
    assert (detail["site_name"], detail["session_id"], detail["status_label"]) == (
        "甲镇卫生院接种门诊",
        planned["id"],
        "已预约",
    )


def test_check_in_by_the_site_on_the_day_only(client, planned, village_a1, village_b1, cdc, worker_a):
    as_cdc = token(cdc)
    near = resident(village_a1, 1)
    far = resident(village_b1, 2, name="李四")  # lives in township B, comes to the site in township A
    a = _book(client, as_cdc, near, planned["slots"][0]["id"]).json()
    b = _book(client, as_cdc, far, planned["slots"][0]["id"]).json()
    desk_a = token(_township_user("reg_a", "site_registration", "001"))
    desk_b = token(_township_user("reg_b", "site_registration", "002"))

    early = post(client, as_cdc, f"{BOOKING}/appointments/{a['id']}/check-in")
    assert early.status_code == 400 and early.json()["code"] == "checkin_wrong_day"
    now = timezone.now()
    Slot.objects.filter(pk=planned["slots"][0]["id"]).update(start=now, end=now + dt.timedelta(minutes=30))

    assert post(client, token(worker_a), f"{BOOKING}/appointments/{a['id']}/check-in").status_code == 403
    # township B's desk: neither the person (township A) nor the site (township A) is theirs
    assert post(client, desk_b, f"{BOOKING}/appointments/{a['id']}/check-in").status_code == 404
    r = post(client, desk_a, f"{BOOKING}/appointments/{b['id']}/check-in", HTTP_IDEMPOTENCY_KEY="in-1")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "checked_in"
    assert (
        post(client, desk_a, f"{BOOKING}/appointments/{b['id']}/check-in", HTTP_IDEMPOTENCY_KEY="in-1").json()
        == r.json()
    )
    r = post(client, as_cdc, f"{BOOKING}/appointments/{a['id']}/check-in")
    assert r.status_code == 200 and r.json()["status"] == "checked_in"
    assert set(Appointment.objects.values_list("status", flat=True)) == {AppointmentStatus.CHECKED_IN}


def test_the_waiting_list_gets_the_place_a_cancel_frees(client, village_a1, cdc, worker_a):
    site(village_a1, per_hour=2, desks=1)  # one place a slot
    as_cdc, as_a = token(cdc), token(worker_a)
    s = post(client, as_cdc, f"{SITES}/S1/sessions", {"day": tomorrow().isoformat()}).json()
    first_slot = s["slots"][0]["id"]
    Slot.objects.filter(session_id=s["id"]).exclude(pk=first_slot).update(open_capacity=0)
    first, second = resident(village_a1, 1), resident(village_a1, 2, name="李四")
    a = _book(client, as_a, first, first_slot).json()
    assert _book(client, as_a, second, first_slot).status_code == 409

    r = post(client, as_a, f"{BOOKING}/waitlist", {"resident_id": second.pk, "session_id": s["id"]})
    assert r.status_code == 201, r.content
    assert (r.json()["status"], r.json()["dose_number"], r.json()["resident_id"]) == ("waiting", 1, second.pk)
    dup = post(client, as_a, f"{BOOKING}/waitlist", {"resident_id": second.pk, "session_id": s["id"]})
    assert dup.status_code == 400 and dup.json()["code"] == "waitlist_duplicate"
    assert (
        post(
            client, as_a, f"{BOOKING}/waitlist", {"resident_id": second.pk, "session_id": 999_999}
        ).status_code
        == 404
    )

    post(client, as_a, f"{BOOKING}/appointments/{a['id']}/cancel", {"reason": "不来了"})

    entry = WaitlistEntry.objects.get()
    assert entry.status == WaitlistStatus.BOOKED and entry.appointment.resident == second
    assert _slots(client, as_a)[first_slot]["remaining"] == 0


def test_an_employer_books_its_staff_over_its_reserved_places(
    client, planned, village_a1, village_b1, employer, employer_contact, worker_a, cdc
):
    session_id = planned["id"]
    Slot.objects.filter(session_id=session_id).update(open_capacity=0)
    Slot.objects.filter(pk__in=[x["id"] for x in planned["slots"][:2]]).update(open_capacity=2)
    r = post(
        client,
        token(cdc),
        f"{SITES}/sessions/{session_id}/reserve",
        {"key": f"E:{employer.pk}", "label": employer.name, "places": 3},
    )
    assert r.status_code == 200, r.content
    assert r.json()["reserved"] == 3
    assert sum(q["capacity"] for x in r.json()["session"]["slots"] for q in x["quotas"]) == 3
    assert sum(x["remaining"] for x in r.json()["session"]["slots"]) == 4  # 3 reserved + 1 open
    staff = [resident(village_a1, i, name=f"职工{i}号", employer=employer) for i in range(5)]
    young = resident(
        village_a1,
        9,
        name="实习生",
        employer=employer,
        birth=timezone.localdate() - dt.timedelta(days=365 * 10),
    )
    outsider = resident(village_b1, 20, name="外单位")
    as_contact = token(employer_contact)

    assert post(client, token(worker_a), f"{BOOKING}/employer", {"session_id": session_id}).status_code == 403
    r = post(
        client,
        as_contact,
        f"{BOOKING}/employer",
        {"session_id": session_id, "resident_ids": [staff[0].pk, outsider.pk]},
    )
    assert r.status_code == 404 and not Appointment.objects.exists()

    r = post(client, as_contact, f"{BOOKING}/employer", {"session_id": session_id})

    assert r.status_code == 200, r.content
    body = r.json()
    assert len(body["booked"]) == 4 and {x["channel"] for x in body["booked"]} == {"employer"}
    assert sum(1 for x in body["booked"] if x["quota"] == f"E:{employer.pk}") == 3
    assert body["refused"] == [
        {"resident_id": young.pk, "name": "实*生", "reason": body["refused"][0]["reason"]}
    ]
    assert body["refused"][0]["reason"]
    booked = {x["resident_id"] for x in body["booked"]}
    assert booked < {p.pk for p in staff}
    assert body["unplaced"] == [
        {"resident_id": p.pk, "name": mask_name(p.name)} for p in staff if p.pk not in booked
    ]
    assert sum(SlotQuota.objects.values_list("booked", flat=True)) == 3


# --------------------------------------------------------------------------------------------------
# The resident's own booking
# --------------------------------------------------------------------------------------------------


def test_a_resident_books_and_cancels_themselves_with_a_one_time_code(
    client, planned, village_a1, cdc, sms_outbox, django_capture_on_commit_callbacks
):
    person = resident(village_a1, 1, name="张三丰", phone="13900000001")
    other = resident(village_a1, 2, name="李四", phone="13900000002")
    theirs = _book(client, token(cdc), other, planned["slots"][0]["id"]).json()

    def identify(name, id_number, phone):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"{BOOKING}/self/identify",
                {"name": name, "id_number": id_number, "phone": phone},
                content_type="application/json",
            )

    wrong_name = identify("张三", person.id_number, "13900000001")
    unknown = identify("张三丰", make_id(dt.date(1980, 5, 1), 77), "13900000001")
    wrong_phone = identify("张三丰", person.id_number, "13900000009")
    assert sms_outbox == []
    OneTimeCode.objects.update(issued_at=F("issued_at") - dt.timedelta(minutes=2))  # past the resend wait
    r = identify("张三丰", person.id_number, "13900000001")
    # never says whether the person exists or which fact is wrong: the same status and body every time
    assert wrong_name.status_code == unknown.status_code == wrong_phone.status_code == r.status_code == 200
    assert wrong_name.json() == unknown.json() == wrong_phone.json() == r.json()
    assert r.json() == {"sent": True, "message": services.SELF_CODE_SENT}
    [sent] = sms_outbox
    assert sent.phone == "13900000001"
    code = sent.text.split("验证码为")[1][:6]
    assert code.isdigit()

    bad = client.post(
        f"{BOOKING}/self/verify",
        {
            "id_number": person.id_number,
            "phone": "13900000001",
            "code": "000000" if code != "000000" else "111111",
        },
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["code"] == "otp_wrong"
    r = client.post(
        f"{BOOKING}/self/verify",
        {"id_number": person.id_number, "phone": "13900000001", "code": code},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    verified = r.json()
    assert verified["resident"]["name"] == "张*丰" and verified["resident"]["next_dose"]["number"] == 1
    assert verified["expires_in"] == 1800 and person.id_number not in r.content.decode()
    me = {"HTTP_X_SELF_TOKEN": verified["token"]}

    slots = client.get(f"{BOOKING}/self/slots", {"site": "S1", "day": tomorrow().isoformat()}, **me).json()
    assert slots[1]["bookable"] == 20 and slots[0]["remaining"] == 19
    r = client.post(
        f"{BOOKING}/self/appointments", {"slot_id": slots[1]["id"]}, content_type="application/json", **me
    )
    assert r.status_code == 201, r.content
    mine = r.json()
    assert (mine["resident_id"], mine["channel"], mine["resident_name"]) == (person.pk, "self", "张*丰")
    assert Appointment.objects.get(pk=mine["id"]).created_by is None
    assert [x["id"] for x in client.get(f"{BOOKING}/self/appointments", **me).json()] == [mine["id"]]
    assert client.get(f"{BOOKING}/self/appointments/{theirs['id']}", **me).status_code == 404
    assert (
        client.post(
            f"{BOOKING}/self/appointments/{theirs['id']}/cancel", {}, content_type="application/json", **me
        ).status_code
        == 404
    )
    assert Appointment.objects.get(pk=theirs["id"]).status == AppointmentStatus.BOOKED

    r = client.post(
        f"{BOOKING}/self/appointments/{mine['id']}/cancel", {}, content_type="application/json", **me
    )
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["reason"]) == ("cancelled", "本人取消")
    assert Slot.objects.get(pk=slots[1]["id"]).open_booked == 0


def test_a_tampered_missing_or_expired_self_token_is_refused(client, planned, village_a1):
    person = resident(village_a1, 1, phone="13900000001")
    slot_id = planned["slots"][0]["id"]
    good = selfservice.self_token_issue(person)
    pk, stamp, sig = good.split(":")
    forged = f"{pk + '0'}:{stamp}:{sig}"

    class Earlier(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 31 * 60)

    expired = Earlier(salt=selfservice.SALT).sign(str(person.pk))
    unsalted = signing.TimestampSigner().sign(str(person.pk))

    def book(**headers):
        return client.post(
            f"{BOOKING}/self/appointments", {"slot_id": slot_id}, content_type="application/json", **headers
        )

    assert book().status_code == 401 and book().json()["code"] == "self_token_missing"
    r = book(HTTP_X_SELF_TOKEN=forged)
    assert r.status_code == 403 and r.json()["code"] == "self_token_invalid"
    assert book(HTTP_X_SELF_TOKEN=unsalted).status_code == 403
    r = book(HTTP_X_SELF_TOKEN=expired)
    assert r.status_code == 401 and r.json()["code"] == "self_token_expired"
    assert client.get(f"{BOOKING}/self/appointments", HTTP_X_SELF_TOKEN=forged).status_code == 403
    assert (
        client.get(
            f"{BOOKING}/self/slots", {"site": "S1", "day": tomorrow().isoformat()}, HTTP_X_SELF_TOKEN=expired
        ).status_code
        == 401
    )
    assert not Appointment.objects.exists()
    assert book(HTTP_X_SELF_TOKEN=good).status_code == 201


# --------------------------------------------------------------------------------------------------
# Running a session: scope, readiness, staffing, opening
# --------------------------------------------------------------------------------------------------


def test_planning_and_reserving_follow_role_and_jurisdiction(client, s1, village_a1, worker_a):
    day = tomorrow().isoformat()
    town_b = token(_township_user("town_b", "township_worker", "002"))
    town_a = token(_township_user("town_a", "township_worker", "001"))

    assert post(client, token(worker_a), f"{SITES}/S1/sessions", {"day": day}).status_code == 403
    r = post(client, town_b, f"{SITES}/S1/sessions", {"day": day})
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
    assert post(client, town_a, f"{SITES}/NOPE/sessions", {"day": day}).status_code == 404
    past = post(client, town_a, f"{SITES}/S1/sessions", {"day": "2020-01-01"})
    assert past.status_code == 400 and past.json()["field"] == "day"
    r1 = post(client, town_a, f"{SITES}/S1/sessions", {"day": day, "desks": 1}, HTTP_IDEMPOTENCY_KEY="plan-1")
    r2 = post(client, town_a, f"{SITES}/S1/sessions", {"day": day, "desks": 1}, HTTP_IDEMPOTENCY_KEY="plan-1")
    assert (r1.status_code, r2.status_code) == (201, 201) and r1.json() == r2.json()
    assert {x["capacity"] for x in r1.json()["slots"]} == {10}
    assert Session.objects.count() == 1
    again = post(client, town_a, f"{SITES}/S1/sessions", {"day": day})
    assert again.status_code == 400 and again.json()["code"] == "session_exists"

    session_id = r1.json()["id"]
    key = f"V:{village_a1.code}"
    assert (
        post(
            client,
            token(worker_a),
            f"{SITES}/sessions/{session_id}/reserve",
            {"key": key, "label": "甲镇1村", "places": 8},
        ).status_code
        == 403
    )
    r = post(
        client,
        town_a,
        f"{SITES}/sessions/{session_id}/reserve",
        {"key": key, "label": "甲镇1村", "places": 8},
    )
    assert r.status_code == 200, r.content
    slots = r.json()["session"]["slots"]
    assert sum(q["remaining"] for x in slots for q in x["quotas"] if q["key"] == key) == 8
    assert sum(x["open_remaining"] for x in slots) == 80 - 8 and sum(x["remaining"] for x in slots) == 80
    too_many = post(client, town_a, f"{SITES}/sessions/{session_id}/reserve", {"key": key, "places": 1000})
    assert too_many.status_code == 400 and too_many.json()["field"] == "places"


def test_readiness_staffing_and_opening_through_the_api(client, planned, cdc, worker_a):
    session_id, site_id = planned["id"], Session.objects.get(pk=planned["id"]).site_id
    as_cdc = token(cdc)
    base = f"{SITES}/sessions/{session_id}"

    detail = get(client, as_cdc, base).json()
    assert detail["may_open"] is False and "四有" in detail["may_open_reason"]
    assert detail["missing"] == ["medical_staff", "emergency_kit", "ambulance", "green_channel"]
    refused = post(client, as_cdc, f"{base}/open")
    assert refused.status_code == 400 and refused.json()["code"] == "session_not_ready"
    assert post(client, token(worker_a), f"{base}/readiness", {"item": "ambulance"}).status_code == 403

    nurse = StaffMember.objects.create(site_id=site_id, name="护士甲", roles=["vaccination"])
    desk = Desk.objects.get(site_id=site_id, kind="vaccination", number=1)
    r = post(
        client,
        as_cdc,
        f"{base}/assignments",
        {"staff_id": nurse.pk, "desk_id": desk.pk, "role": "vaccination"},
    )
    assert r.status_code == 400 and r.json()["code"] == "staff_unqualified" and r.json()["field"] == "staff"
    Certificate.objects.create(
        staff=nurse,
        kind="training",
        number="PX-1",
        valid_from=dt.date(2021, 1, 1),
        valid_to=tomorrow() - dt.timedelta(days=1),
    )
    r = post(
        client,
        as_cdc,
        f"{base}/assignments",
        {"staff_id": nurse.pk, "desk_id": desk.pk, "role": "vaccination"},
    )
    assert r.status_code == 400 and (
        r.json()["code"] == "staff_unqualified" and "PX-1" in r.json()["message"]
    )
    Certificate.objects.create(staff=nurse, kind="training", number="PX-2", valid_from=dt.date(2021, 1, 1))
    r = post(
        client,
        as_cdc,
        f"{base}/assignments",
        {"staff_id": nurse.pk, "desk_id": desk.pk, "role": "vaccination"},
    )
    assert r.status_code == 201, r.content
    assert [(x["staff_name"], x["desk_kind"], x["role"]) for x in r.json()["assignments"]] == [
        ("护士甲", "vaccination", "vaccination")
    ]
    assert (
        post(
            client,
            as_cdc,
            f"{base}/assignments",
            {"staff_id": 999_999, "desk_id": desk.pk, "role": "vaccination"},
        ).status_code
        == 404
    )
    for kind in ("registration", "screening", "observation"):
        person = StaffMember.objects.create(site_id=site_id, name=f"{kind}员", roles=[kind])
        Certificate.objects.create(
            staff=person, kind="training", number=f"PX-{kind}", valid_from=dt.date(2021, 1, 1)
        )
        r = post(
            client,
            as_cdc,
            f"{base}/assignments",
            {"staff_id": person.pk, "desk_id": Desk.objects.get(site_id=site_id, kind=kind).pk, "role": kind},
        )
        assert r.status_code == 201, r.content

    for item in ("medical_staff", "emergency_kit", "ambulance"):
        assert post(client, as_cdc, f"{base}/readiness", {"item": item}).status_code == 201
    r = post(client, as_cdc, f"{base}/readiness", {"item": "ambulance"})
    assert r.status_code == 400 and r.json()["code"] == "readiness_already_confirmed"
    r = post(client, as_cdc, f"{base}/open")
    assert r.status_code == 400 and r.json()["code"] == "session_not_ready"
    r = post(client, as_cdc, f"{base}/readiness", {"item": "green_channel", "note": "已与县人民医院确认"})
    assert r.status_code == 201
    ready = r.json()
    assert ready["may_open"] is True and ready["missing"] == []
    green = next(x for x in ready["readiness"] if x["item"] == "green_channel")
    assert (green["confirmed_by"], green["note"], green["label"]) == (
        "cdc",
        "已与县人民医院确认",
        "转诊路线与绿色通道",
    )

    r = post(client, as_cdc, f"{base}/open")
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["opened_by"]) == ("open", "cdc")
    assert Session.objects.get(pk=session_id).status == SessionStatus.OPEN
    r = post(client, as_cdc, f"{base}/close")
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert post(client, as_cdc, f"{base}/close").status_code == 400
    assert _slots(client, as_cdc) == {}  # a closed session is no longer offered


# --------------------------------------------------------------------------------------------------
# PostgreSQL: concurrent retries with one key
# --------------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_concurrent_retries_with_one_key_book_once(village_a1, worker_a, cdc):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so the retries cannot race")
    from vaxops.sites import services as site_services

    s = site_services.session_plan(actor=cdc, site=site(village_a1), day=tomorrow())
    slot = s.slots.order_by("start").first()
    person = resident(village_a1, 1)
    auth = token(worker_a)
    n = 6
    barrier = threading.Barrier(n)
    answers, guard = [], threading.Lock()

    def run():
        try:
            barrier.wait(timeout=10)
            r = _book(Client(), auth, person, slot.pk, HTTP_IDEMPOTENCY_KEY="race-1")
            with guard:
                answers.append((r.status_code, r.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert len(answers) == n
    assert {code for code, _ in answers} == {201}, answers
    assert len({json.dumps(body, sort_keys=True) for _, body in answers}) == 1
    assert Appointment.objects.count() == 1 and Slot.objects.get(pk=slot.pk).open_booked == 1
