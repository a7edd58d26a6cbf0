"""In headless Chromium: a resident whose village already booked them signs in at the resident door, is told
they have an appointment (when, where) rather than "预约成功", and cancels it."""

import os
import time

import pytest

from vaxops.testing.browser import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)


@pytest.fixture
def planned(village_a1, cdc):
    from .factories import session, site

    return session(site(village_a1), cdc)


def _sign_in(p, person, sms_outbox) -> None:
    p.goto("/book/")
    expect(p.locator("h1")).to_have_text("本人预约接种")
    p.get_by_label("姓名").fill(person.name)
    p.get_by_label("身份证号码").fill(person.id_number)
    p.get_by_label("手机号码（登记时填写的）").fill(person.phone)
    sent_before = len(sms_outbox)
    p.get_by_role("button", name="获取验证码").click()
    expect(p.locator("h1")).to_have_text("输入验证码")
    deadline = time.monotonic() + 5  # the code goes out once the answer has left the server
    while len(sms_outbox) == sent_before and time.monotonic() < deadline:
        time.sleep(0.05)
    sent = sms_outbox[-1]
    assert sent.phone == person.phone
    p.get_by_label("验证码").fill(sent.text.split("验证码为")[1][:6])
    p.get_by_role("button", name="验证").click()


def test_a_resident_booked_by_their_village_sees_the_appointment_and_cancels_it(
    page, live_server, planned, village_a1, worker_a, sms_outbox
):
    from vaxops.booking import services
    from vaxops.booking.models import Appointment

    from .factories import resident

    person = resident(village_a1, 11, name="张三丰", phone="13900000011")
    slot = list(planned.slots.order_by("start"))[1]
    booked = services.appointment_book(actor=worker_a, resident=person, slot=slot, channel="community")
    p = page

    _sign_in(p, person, sms_outbox)

    expect(p.locator("#me-title")).to_have_text("您已有接种预约")
    expect(p.locator("h1", has_text="预约成功")).to_have_count(0)
    expect(p.locator("#already")).to_contain_text("您所在的村（社区）已为您预约")
    expect(p.locator("#already")).to_contain_text("可以更改或取消")
    expect(p.locator("#c-date")).to_contain_text(f"{planned.day:%Y-%m-%d}")
    expect(p.locator("#c-time")).to_have_text("08:30–09:00")
    expect(p.locator("#c-site")).to_contain_text("甲镇卫生院接种门诊")
    expect(p.locator("#c-dose")).to_have_text("第1剂")
    change = p.locator("a#change")
    expect(change).to_be_visible()
    expect(change).to_have_text("更改时间或地点")
    assert "site=S1" in change.get_attribute("href")
    cancel = p.locator("button#cancel")
    expect(cancel).to_be_visible()
    expect(cancel).to_have_text("取消预约")
    assert person.id_number not in p.content()

    cancel.click()

    expect(p.locator("h1")).to_have_text("您目前没有有效预约")
    expect(p.get_by_text("预约已取消")).to_be_visible()
    expect(p.locator("#change")).to_have_count(0)
    expect(p.locator("#cancel")).to_have_count(0)
    booked.refresh_from_db()
    assert booked.status == "cancelled"
    assert not Appointment.objects.filter(resident=person, status="booked").exists()
