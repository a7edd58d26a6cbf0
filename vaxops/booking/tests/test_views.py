"""The pages of sites and booking through the Django test client, on data made by the real services:
the site and its day sheet, the community worker's door, the employer's door, the resident's own door."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from vaxops.booking import services
from vaxops.booking.models import Appointment, AppointmentStatus, Slot, SlotQuota, WaitlistEntry
from vaxops.booking.views import SELF_KEY
from vaxops.campaign.services import status_refresh
from vaxops.conftest import make_id
from vaxops.registry.models import ImportJob, Resident
from vaxops.sites.models import Assignment, Certificate, Desk, ReadinessCheck, Session, StaffMember

from .factories import resident, session, site, tomorrow

NOT_IN_SCOPE = "居民不存在或不在您的管辖范围内"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def planned(village_a1, cdc):
    return session(site(village_a1), cdc)


def _people(village, seqs, **kw):
    out = [resident(village, seq, name=name, **kw) for seq, name in seqs]
    status_refresh(resident_ids=[r.pk for r in out])
    return out


def _text(response) -> str:
    return response.content.decode()


def _first_slot(s):
    return s.slots.order_by("start").first()


# --------------------------------------------------------------------------------------------------
# Sites and the day sheet
# --------------------------------------------------------------------------------------------------


def test_the_site_pages_render_with_sessions_and_remaining_places(client, cdc, planned, village_a1):
    reserve(cdc, planned, village_a1, 8)
    services.appointment_book(
        actor=cdc,
        resident=_people(village_a1, [(1, "王小明")])[0],
        slot=_first_slot(planned),
        channel="community",
    )
    client.force_login(cdc)

    listing = _text(client.get("/sites/"))
    detail = _text(client.get("/sites/S1/"))
    sheet = _text(client.get(f"/sites/sessions/{planned.pk}/"))

    assert "甲镇卫生院接种门诊" in listing and 'href="/sites/S1/"' in listing
    assert "清溪县人民医院" in detail and "接种台1" in detail and "08:00–12:00" in detail
    assert f"/sites/sessions/{planned.pk}/" in detail
    # 8 slots of 20 places; 8 reserved for the village over the slots; one booked in the first
    assert "容量 160 · 剩余 159" in detail
    assert "甲镇1村 " in detail and "08:00–08:30" in detail
    assert "容量 160 · 已约 1 · 剩余 159" in sheet
    assert "王*明" in sheet and "医护人员在岗" in sheet and "不能开诊" in sheet
    assert "接种点</a>" in listing and "预约</a>" in listing  # the nav links


def reserve(actor, s, village, places):
    return services.session_reserve(
        actor=actor, session=s, key=f"V:{village.code}", label=village.name, places=places
    )


def test_a_planner_plans_a_session_and_reserves_places_and_sees_refusals_in_the_page(
    client, cdc, village_a1, employer
):
    s = site(village_a1)
    client.force_login(cdc)
    day = tomorrow() + dt.timedelta(days=1)

    r = client.post("/sites/S1/plan/", {"day": day.isoformat()})

    planned = Session.objects.get(site=s, day=day)
    assert r.status_code == 302 and r["Location"] == f"/sites/sessions/{planned.pk}/"
    assert planned.slots.count() == 8
    again = client.post("/sites/S1/plan/", {"day": day.isoformat()}, follow=True)
    assert again.status_code == 200 and "已有场次" in _text(again)

    r = client.post(
        "/sites/S1/reserve/",
        {"session": planned.pk, "target": f"E:{employer.pk}", "places": "16"},
        follow=True,
    )
    assert "已为清溪冷链物流公司预留" in _text(r)
    assert (
        sum(
            SlotQuota.objects.filter(slot__session=planned, key=f"E:{employer.pk}").values_list(
                "capacity", flat=True
            )
        )
        == 16
    )
    too_many = client.post(
        "/sites/S1/reserve/",
        {"session": planned.pk, "target": f"V:{village_a1.code}", "places": "1000"},
        follow=True,
    )
    assert "不足1000个" in _text(too_many)


def test_planning_needs_the_permission_and_the_site_in_the_users_area(
    client, worker_a, village_a1, village_b1
):
    from vaxops.accounts.services import user_create
    from vaxops.conftest import PASSWORD
    from vaxops.jurisdictions.models import Division

    site(village_b1, code="SB")
    town_a = user_create(
        username="town_a",
        password=PASSWORD,
        role="township_worker",
        division=Division.objects.get(code="330199001000"),
    )
    client.force_login(worker_a)  # may look, may not plan
    page = _text(client.get("/sites/SB/"))
    r = client.post("/sites/SB/plan/", {"day": tomorrow().isoformat()}, follow=True)
    assert 'id="plan"' not in page and "无权" in _text(r)

    client.force_login(town_a)  # may plan in township A, not at a site of township B
    assert 'id="plan"' not in _text(client.get("/sites/SB/"))
    r = client.post("/sites/SB/plan/", {"day": tomorrow().isoformat()}, follow=True)
    assert "无权" in _text(r) and not Session.objects.exists()
    site(village_a1, code="SA")
    assert 'id="plan"' in _text(client.get("/sites/SA/"))
    client.post("/sites/SA/plan/", {"day": tomorrow().isoformat()})
    assert Session.objects.get().site.code == "SA"


def test_the_day_sheet_confirms_readiness_assigns_certified_staff_and_opens(client, cdc, planned):
    client.force_login(cdc)
    url = f"/sites/sessions/{planned.pk}/"
    nurse = StaffMember.objects.create(site=planned.site, name="护士甲", roles=["vaccination"])
    desk = Desk.objects.get(site=planned.site, kind="vaccination", number=1)

    refused = client.post(
        url + "assignments/", {"staff": nurse.pk, "desk": desk.pk, "role": "vaccination"}, follow=True
    )

    assert "护士甲" in _text(refused) and "培训合格证" in _text(refused)
    assert not Assignment.objects.exists()

    Certificate.objects.create(staff=nurse, kind="training", number="PX-1", valid_from=dt.date(2021, 1, 1))
    client.post(url + "assignments/", {"staff": nurse.pk, "desk": desk.pk, "role": "vaccination"})
    for kind in ("registration", "screening", "observation"):
        person = StaffMember.objects.create(site=planned.site, name=f"{kind}员", roles=[kind])
        Certificate.objects.create(
            staff=person, kind="training", number=f"PX-{kind}", valid_from=dt.date(2021, 1, 1)
        )
        client.post(
            url + "assignments/",
            {"staff": person.pk, "desk": Desk.objects.get(site=planned.site, kind=kind).pk, "role": kind},
        )
    assert Assignment.objects.filter(session=planned).count() == 4

    early = client.post(url + "open/", follow=True)
    assert "“四有”未落实" in _text(early)
    planned.refresh_from_db()
    assert planned.status == "planned"

    for item in ("medical_staff", "emergency_kit", "ambulance", "green_channel"):
        client.post(url + "readiness/", {"item": item, "note": "已落实"})
    twice = client.post(url + "readiness/", {"item": "ambulance"}, follow=True)
    assert "已确认" in _text(twice) and ReadinessCheck.objects.filter(session=planned).count() == 4
    sheet = _text(client.get(url))
    assert sheet.count(cdc.username) >= 4 and "开诊条件已满足" in sheet

    opened = client.post(url + "open/", follow=True)
    planned.refresh_from_db()
    assert planned.status == "open" and "场次已开诊" in _text(opened)


def test_the_day_sheet_checks_people_in_on_the_day(client, cdc, planned, village_a1):
    person = _people(village_a1, [(1, "王小明")])[0]
    a = services.appointment_book(actor=cdc, resident=person, slot=_first_slot(planned), channel="community")
    client.force_login(cdc)
    url = f"/sites/sessions/{planned.pk}/"
    assert "签到</button>" not in _text(client.get(url))  # tomorrow: not yet

    now = timezone.now()
    Session.objects.filter(pk=planned.pk).update(day=timezone.localdate(now))
    Slot.objects.filter(pk=a.slot_id).update(start=now, end=now + dt.timedelta(minutes=30))
    assert "签到</button>" in _text(client.get(url))

    r = client.post(url + "check-in/", {"appointment": a.pk}, follow=True)

    a.refresh_from_db()
    assert a.status == AppointmentStatus.CHECKED_IN and "王*明已签到" in _text(r)
    again = client.post(url + "check-in/", {"appointment": a.pk}, follow=True)
    assert "不能签到" in _text(again)


# --------------------------------------------------------------------------------------------------
# The community worker's door
# --------------------------------------------------------------------------------------------------


def test_a_village_worker_books_two_residents_of_their_village_and_no_outsider(
    client, worker_a, cdc, planned, village_a1, village_b1
):
    first, second = _people(village_a1, [(1, "王小明"), (2, "李小红")])
    outsider = _people(village_b1, [(3, "赵六")])[0]
    client.force_login(worker_a)
    slot = _first_slot(planned)

    page = _text(client.get("/booking/", {"village_code": village_a1.code, "session": planned.pk}))

    assert "王*明" in page and "李*红" in page and "赵*" not in page
    assert first.id_number not in page and first.id_number[:6] + "********" in page
    assert "08:00–08:30" in page
    other = _text(client.get("/booking/", {"village_code": village_b1.code, "session": planned.pk}))
    assert "赵*" not in other and outsider.id_number[-4:] not in other

    r = client.post(
        "/booking/",
        {
            "village_code": village_a1.code,
            "session": planned.pk,
            "slot": slot.pk,
            "resident": [first.pk, second.pk, outsider.pk],
        },
    )
    assert r.status_code == 302
    result = _text(client.get(r["Location"]))

    booked = Appointment.objects.filter(status="booked")
    assert {a.resident_id for a in booked} == {first.pk, second.pk}
    assert {a.channel for a in booked} == {"community"}
    assert "成功 2 人，未成功 1 人" in result and NOT_IN_SCOPE in result
    assert "已预约" in result and "第1剂" in result
    # booked people leave the list of people to book
    after = _text(client.get("/booking/", {"village_code": village_a1.code, "session": planned.pk}))
    assert "王*明" not in after and "名单为空" in after


def test_the_door_counts_the_places_the_chosen_village_can_take(
    client, worker_a, cdc, planned, village_a1, village_b1
):
    """Another village's reserved places are not offered to this village's residents."""
    from vaxops.booking.services import session_reserve

    _people(village_a1, [(1, "王小明")])
    slots = list(planned.slots.order_by("start"))
    session_reserve(
        actor=cdc, session=planned, key=f"V:{village_b1.code}", label="乙村", places=len(slots) * 10
    )
    first = slots[0]
    first.refresh_from_db()
    b_quota = first.quotas.get(key=f"V:{village_b1.code}")
    client.force_login(worker_a)

    page = _text(client.get("/booking/", {"village_code": village_a1.code, "session": planned.pk}))

    open_left = first.open_capacity - first.open_booked
    assert b_quota.capacity > 0
    assert f"08:00–08:30 · 剩余 {open_left}<" in page
    assert f"剩余 {open_left + b_quota.capacity}<" not in page


def test_a_full_slot_offers_the_waiting_list_and_joining_works(client, worker_a, cdc, village_a1):
    s = session(site(village_a1, per_hour=2, desks=1), cdc)  # one place a slot
    slot = _first_slot(s)
    first, second = _people(village_a1, [(1, "王小明"), (2, "李小红")])
    services.appointment_book(actor=cdc, resident=first, slot=slot, channel="community")
    client.force_login(worker_a)

    r = client.post(
        "/booking/",
        {"village_code": village_a1.code, "session": s.pk, "slot": slot.pk, "resident": [second.pk]},
    )
    page = _text(client.get(r["Location"]))

    assert "约满" in page and 'id="waitlist-offer"' in page and "加入候补" in page
    joined = client.post(
        "/booking/waitlist/", {"session": s.pk, "resident": [second.pk], "next": r["Location"]}, follow=True
    )
    entry = WaitlistEntry.objects.get()
    assert (entry.resident, entry.session, entry.status) == (second, s, "waiting")
    assert "已加入" in _text(joined) and "候补名单" in _text(joined)
    again = client.post("/booking/waitlist/", {"session": s.pk, "resident": [second.pk]}, follow=True)
    assert "已在此场次的候补名单中" in _text(again)


def test_appointments_in_scope_are_cancelled_and_rescheduled(
    client, worker_a, worker_b, cdc, planned, village_a1
):
    person = _people(village_a1, [(1, "王小明")])[0]
    slots = list(planned.slots.order_by("start"))
    a = services.appointment_book(actor=cdc, resident=person, slot=slots[0], channel="community")
    client.force_login(worker_b)
    assert "王*明" not in _text(client.get("/booking/appointments/"))
    assert client.get(f"/booking/appointments/{a.pk}/reschedule/").status_code == 404

    client.force_login(worker_a)
    listing = _text(client.get("/booking/appointments/"))
    assert "王*明" in listing and f"/booking/appointments/{a.pk}/reschedule/" in listing
    form = _text(client.get(f"/booking/appointments/{a.pk}/reschedule/"))
    assert "09:30–10:00" in form and "可约 20" in form

    r = client.post(
        f"/booking/appointments/{a.pk}/reschedule/", {"slot": slots[3].pk, "session": planned.pk}, follow=True
    )
    moved = Appointment.objects.get(status="booked")
    assert moved.slot == slots[3] and "已改约" in _text(r)

    r = client.post(f"/booking/appointments/{moved.pk}/cancel/", {"reason": "临时出差"}, follow=True)
    moved.refresh_from_db()
    assert moved.status == "cancelled" and moved.reason == "临时出差" and "已取消" in _text(r)
    assert Slot.objects.get(pk=slots[3].pk).open_booked == 0


# --------------------------------------------------------------------------------------------------
# The employer's door
# --------------------------------------------------------------------------------------------------


def test_an_employer_contact_uploads_the_staff_list_and_books_everyone(
    client, employer_contact, employer, cdc, planned, village_a1, django_capture_on_commit_callbacks
):

    services.session_reserve(
        actor=cdc, session=planned, key=f"E:{employer.pk}", label=employer.name, places=2
    )
    Slot.objects.filter(session=planned).update(open_capacity=0)  # only the employer's two places are left
    young = make_id(timezone.localdate() - dt.timedelta(days=365 * 10), 9)
    csv = (
        "姓名,证件号码,手机号码,村(社区)代码\n"
        f"职工甲,{make_id(dt.date(1980, 1, 1), 1)},13800000001,{village_a1.code}\n"
        f"职工乙,{make_id(dt.date(1981, 2, 2), 2)},13800000002,{village_a1.code}\n"
        f"职工丙,{make_id(dt.date(1982, 3, 3), 3)},,{village_a1.code}\n"
        f"实习生,{young},,{village_a1.code}\n"
        f"错行,123,,{village_a1.code}\n"
    ).encode()
    client.force_login(employer_contact)
    assert client.get("/booking/").status_code == 302  # the employer's door is theirs
    door = _text(client.get("/booking/employer/"))
    assert "上传职工名单" in door and "全部预约" in door

    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            "/booking/employer/upload/", {"file": SimpleUploadedFile("staff.csv", csv, "text/csv")}
        )

    job = ImportJob.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/booking/employer/jobs/{job.pk}/"
    assert (
        job.status == "done" and job.employer_code == employer.code and (job.created, job.rejected) == (4, 1)
    )
    progress = _text(client.get(r["Location"]))
    assert "读取 5 行：新建 4，更新 0，未变 0，拒绝 1" in progress and 'aria-valuenow="100"' in progress
    partial = _text(client.get(r["Location"], HTTP_HX_REQUEST="true"))
    assert "<html" not in partial and 'id="job-counts"' in partial
    assert set(Resident.objects.values_list("employer_id", flat=True)) == {employer.pk}

    r = client.post("/booking/employer/book/", {"session": planned.pk})
    result = _text(client.get(r["Location"]))

    booked = Appointment.objects.filter(status="booked")
    assert booked.count() == 2 and {a.channel for a in booked} == {"employer"}
    assert booked.filter(quota__key=f"E:{employer.pk}").count() == 2
    assert "成功 2 人，不符合条件 1 人，名额不足未安排 1 人" in result
    assert "名额已满，未能安排" in result
    assert "实*生" in result and "未到接种时间" in result
    assert young not in result


def test_the_employer_door_is_for_employer_contacts(client, worker_a):
    client.force_login(worker_a)
    assert client.get("/booking/employer/").status_code == 403


# --------------------------------------------------------------------------------------------------
# The resident's own door
# --------------------------------------------------------------------------------------------------


def _last_code(outbox) -> str:
    return outbox[-1].text.split("验证码为")[1][:6]


def test_a_resident_books_and_cancels_through_their_own_door(
    client, planned, village_a1, sms_outbox, django_capture_on_commit_callbacks
):
    person = resident(village_a1, 1, name="张三丰", phone="13900000001")
    start = _text(client.get("/book/"))
    assert "获取验证码" in start and 'name="viewport"' in start and "csrfmiddlewaretoken" in start

    with django_capture_on_commit_callbacks(execute=True):
        wrong = client.post("/book/", {"name": "张三", "id_number": person.id_number, "phone": "13900000002"})
    assert wrong.status_code == 302 and wrong["Location"] == "/book/verify/"  # the same as for a match
    wrong_page = _text(client.get("/book/verify/"))
    assert "若信息已登记，验证码已发送至 139****0002" in wrong_page and sms_outbox == []
    assert client.get("/book/slots/")["Location"] == "/book/"  # nothing verified yet

    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/book/", {"name": "张三丰", "id_number": person.id_number, "phone": "13900000001"})
    assert r.status_code == 302 and r["Location"] == "/book/verify/"
    assert "若信息已登记，验证码已发送至 139****0001" in _text(client.get("/book/verify/"))
    bad = client.post("/book/verify/", {"code": "000000" if _last_code(sms_outbox) != "000000" else "111111"})
    assert bad.status_code == 400 and "验证码不正确" in _text(bad)

    r = client.post("/book/verify/", {"code": _last_code(sms_outbox)})
    assert r["Location"] == "/book/slots/"
    held = client.session[SELF_KEY]
    assert held["resident"] == person.pk
    assert 29 * 60 < held["until"] - timezone.now().timestamp() <= 30 * 60

    sites = _text(client.get("/book/slots/"))
    assert "张*丰" in sites and "甲镇卫生院接种门诊" in sites
    days = _text(client.get("/book/slots/", {"site": "S1"}))
    assert f"{planned.day:%Y-%m-%d}" in days and "可约 160" in days
    slots = _text(client.get("/book/slots/", {"site": "S1", "session": planned.pk}))
    assert "08:00–08:30" in slots and "可约 20" in slots
    slot = list(planned.slots.order_by("start"))[2]

    r = client.post("/book/slots/", {"slot": slot.pk, "site": "S1", "session": planned.pk})
    assert r["Location"] == "/book/me/"
    done = _text(client.get("/book/me/"))

    a = Appointment.objects.get(resident=person, status="booked")
    assert (a.slot, a.channel, a.created_by) == (slot, "self", None)
    assert "预约成功" in done and f"{planned.day:%Y-%m-%d}" in done and "09:00–09:30" in done
    assert "甲镇卫生院接种门诊" in done and "第1剂" in done
    twice = client.post("/book/slots/", {"slot": slot.pk, "site": "S1", "session": planned.pk}, follow=True)
    assert "已预约" in _text(twice) and Appointment.objects.filter(resident=person).count() == 1

    r = client.post("/book/cancel/", follow=True)
    a.refresh_from_db()
    assert a.status == "cancelled" and "预约已取消" in _text(r) and "没有有效预约" in _text(r)
    assert Slot.objects.get(pk=slot.pk).open_booked == 0


def test_the_resident_door_forgets_the_person_after_30_minutes(client, planned, village_a1):
    person = resident(village_a1, 1, name="张三丰", phone="13900000001")
    s = client.session
    s[SELF_KEY] = {"resident": person.pk, "until": timezone.now().timestamp() - 1}
    s.save()

    r = client.get("/book/slots/", follow=True)

    assert r.redirect_chain[-1][0] == "/book/" and "请重新验证" in _text(r)
    assert SELF_KEY not in client.session


def test_the_pages_speak_english_on_request(client, cdc, planned, village_a1):
    client.force_login(cdc)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    site_page = _text(client.get("/sites/S1/"))
    door = _text(client.get("/booking/", {"village_code": village_a1.code, "session": planned.pk}))
    own = _text(client.get("/book/"))

    assert "Upcoming sessions" in site_page and "Plan a session" in site_page and "近期场次" not in site_page
    assert "Community booking" in door and "Choose a slot" in door and "Site and day" in door
    assert "Book your vaccination" in own and "Send me a code" in own and "获取验证码" not in own


# --------------------------------------------------------------------------------------------------
# Input: what is not an id is "none chosen", said in Chinese, never a 500
# --------------------------------------------------------------------------------------------------

TOO_BIG = str(2**63)


def test_ids_past_64_bits_or_not_numbers_are_refused_by_name(client, worker_a, cdc, planned, village_a1):
    person = _people(village_a1, [(1, "王小明")])[0]
    client.force_login(worker_a)
    for slot in (TOO_BIG, "abc", ""):
        r = client.post(
            "/booking/", {"village_code": village_a1.code, "slot": slot, "resident": [person.pk]}, follow=True
        )
        assert r.status_code == 200 and "请选择预约时段" in _text(r)
    r = client.post("/booking/", {"slot": _first_slot(planned).pk, "resident": [TOO_BIG, "x"]}, follow=True)
    assert "请勾选要预约的居民" in _text(r)
    r = client.post("/booking/waitlist/", {"session": TOO_BIG, "resident": [person.pk]}, follow=True)
    assert "请选择场次" in _text(r)
    assert client.get("/booking/", {"village_code": village_a1.code, "session": TOO_BIG}).status_code == 200
    assert not Appointment.objects.exists()

    client.force_login(cdc)
    url = f"/sites/sessions/{planned.pk}/"
    r = client.post(url + "check-in/", {"appointment": TOO_BIG}, follow=True)
    assert "预约不存在" in _text(r)
    r = client.post(url + "assignments/", {"staff": TOO_BIG, "desk": "1", "role": "vaccination"}, follow=True)
    assert "请选择工作人员、工作台和岗位" in _text(r)
    r = client.post("/sites/S1/reserve/", {"session": TOO_BIG, "target": "", "places": "5"}, follow=True)
    assert "请选择场次" in _text(r)
    r = client.post("/sites/S1/plan/", {"day": "2026-13-40"}, follow=True)
    assert "请填写场次日期" in _text(r)
    assert client.get(url, {"slot": TOO_BIG}).status_code == 200


def test_a_resident_booked_by_their_village_is_told_so_and_may_change_or_cancel(
    client, planned, village_a1, worker_a, sms_outbox, django_capture_on_commit_callbacks
):
    person = resident(village_a1, 1, name="张三丰", phone="13900000001")
    first, later = list(planned.slots.order_by("start"))[1], list(planned.slots.order_by("start"))[3]
    booked = services.appointment_book(actor=worker_a, resident=person, slot=first, channel="community")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/book/", {"name": "张三丰", "id_number": person.id_number, "phone": "13900000001"})
    r = client.post("/book/verify/", {"code": _last_code(sms_outbox)})
    assert r["Location"] == "/book/me/"

    me = _text(client.get("/book/me/"))
    assert "预约成功" not in me and "您已有接种预约" in me and "您所在的村（社区）已为您预约" in me
    assert f"{planned.day:%Y-%m-%d}" in me and "08:30–09:00" in me and "甲镇卫生院接种门诊" in me
    assert 'id="change"' in me and 'id="cancel"' in me

    slots = _text(client.get("/book/slots/", {"site": "S1", "session": planned.pk}))
    assert 'id="current"' in slots and "08:30" in slots
    same = client.post("/book/slots/", {"slot": first.pk, "site": "S1", "session": planned.pk}, follow=True)
    assert "您已预约该时段" in _text(same)
    r = client.post("/book/slots/", {"slot": later.pk, "site": "S1", "session": planned.pk})
    assert r["Location"] == "/book/me/"
    changed = _text(client.get("/book/me/"))
    assert "预约时间已更改" in changed and "09:30–10:00" in changed
    booked.refresh_from_db()
    assert booked.status == "cancelled"
    now = Appointment.objects.get(resident=person, status="booked")
    assert now.slot == later and now.channel == "community"
    again = _text(client.get("/book/me/"))
    assert "您已有接种预约" in again  # "changed" is said once
