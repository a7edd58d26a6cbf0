"""In headless Chromium: a resident books on a phone-sized screen through their own door, and a village
worker books a resident from the community door."""

import os
import time

import pytest
from django.utils import timezone

from vaxops.conftest import PASSWORD
from vaxops.testing.browser import CHROMIUM, csp_violations, menu_link

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)


@pytest.fixture
def planned(village_a1, cdc):
    from .factories import session, site

    return session(site(village_a1), cdc)


@pytest.fixture
def phone(browser, live_server):
    """A Chinese phone: 360 × 740 CSS pixels, touch."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    p = context.new_page()
    problems = csp_violations(p)
    try:
        yield p
    finally:
        context.close()
    assert problems == [], problems


def _fits(p) -> None:
    """Nothing sticks out sideways at 360 px, and every button is a large touch target."""
    assert p.evaluate("document.documentElement.scrollWidth") <= 360
    for height in p.locator("main button:visible").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)"
    ):
        assert height >= 44


def test_a_resident_books_on_a_phone(phone, live_server, planned, village_a1, sms_outbox):
    from vaxops.booking.models import Appointment

    from .factories import resident

    person = resident(village_a1, 7, name="张三丰", phone="13900000007")
    p = phone

    p.goto("/book/")
    expect(p.locator("h1")).to_have_text("本人预约接种")
    _fits(p)
    p.get_by_label("姓名").fill("张三丰")
    p.get_by_label("身份证号码").fill(person.id_number)
    p.get_by_label("手机号码（登记时填写的）").fill("13900000007")
    p.get_by_role("button", name="获取验证码").tap()

    expect(p.locator("h1")).to_have_text("输入验证码")
    expect(p.locator("#verify")).to_contain_text("139****0007")
    deadline = time.monotonic() + 5  # the code goes out once the answer has left the server
    while not sms_outbox and time.monotonic() < deadline:
        time.sleep(0.05)
    sent = sms_outbox[-1]
    assert sent.phone == "13900000007"
    code = sent.text.split("验证码为")[1][:6]
    p.get_by_label("验证码").fill(code)
    p.get_by_role("button", name="验证").tap()

    expect(p.locator("h1")).to_have_text("张*丰，请选择接种时间")
    _fits(p)
    p.locator("#sites").get_by_role("link", name="甲镇卫生院接种门诊").tap()
    p.locator("#days .choice").first.tap()
    slot = p.locator("#slots label.choice", has_text="09:00–09:30")
    expect(slot).to_contain_text("可约 20")
    _fits(p)
    slot.tap()
    p.get_by_role("button", name="确认预约").tap()

    expect(p.locator("h1")).to_have_text("预约成功")
    expect(p.locator("#c-date")).to_contain_text(f"{planned.day:%Y-%m-%d}")
    expect(p.locator("#c-time")).to_have_text("09:00–09:30")
    expect(p.locator("#c-site")).to_contain_text("甲镇卫生院接种门诊")
    expect(p.locator("#c-dose")).to_have_text("第1剂")
    _fits(p)
    a = Appointment.objects.get(resident=person)
    assert (a.status, a.channel) == ("booked", "self")
    assert person.id_number not in p.content()


def test_a_village_worker_books_a_resident_from_the_community_door(
    page, live_server, worker_a, planned, village_a1
):
    from vaxops.booking.models import Appointment
    from vaxops.campaign.services import status_refresh

    from .factories import resident

    person = resident(village_a1, 8, name="周预约")
    status_refresh(resident_ids=[person.pk])

    page.goto("/accounts/login/")
    page.locator("#id_username").fill("worker_a")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    menu_link(page, "预约").click()  # in the header's 接种点与预约 drop-down when the role has both
    expect(page.locator("h1")).to_contain_text("村（社区）代约")

    page.locator("#session").select_option(str(planned.pk))
    page.locator("#pick").get_by_role("button", name="查询").click()
    row = page.locator("#people tbody tr", has_text="周*约")
    expect(row).to_contain_text("第1剂")
    row.get_by_role("checkbox").check()
    page.locator("#slots label", has_text="10:00–10:30").get_by_role("radio").check()
    page.get_by_role("button", name="预约所选居民").click()

    result = page.locator("#result")
    expect(result).to_contain_text("成功 1 人，未成功 0 人")
    expect(result.locator("tr", has_text="周*约")).to_contain_text("已预约")
    a = Appointment.objects.get(resident=person)
    assert (a.status, a.channel, a.created_by_id) == ("booked", "community", worker_a.pk)
    assert f"{timezone.localtime(a.slot.start):%H:%M}" == "10:00"
    assert person.id_number not in page.content()
