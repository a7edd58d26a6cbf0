"""In headless Chromium: a township runs a course whose passing nurse is put at a desk at once; a mobile team
opens a session at an employer with two desks."""

import os

import pytest

from vaxops.conftest import PASSWORD
from vaxops.testing.browser import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)


def _login(page, username):
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("header .who")).to_be_visible()


@pytest.fixture
def township(county):
    from vaxops.jurisdictions.models import Division

    return Division.objects.get(code="330199001000")


@pytest.fixture
def town_worker(township):
    from vaxops.accounts.services import user_create

    return user_create(username="jz", password=PASSWORD, role="township_worker", division=township)


def test_a_township_trains_a_nurse_who_is_assigned_at_once_at_an_employer(
    page, town_worker, township, employer, cdc
):
    from vaxops.sites import services as site_services
    from vaxops.sites.models import Certificate, ReadinessItem

    from .factories import mobile_team, staff

    team = mobile_team(township)
    nurse = staff(team, "钱护士", "vaccination", certified=False)
    for name, role in (("张登记", "registration"), ("李预检", "screening"), ("赵留观", "observation")):
        staff(team, name, role)
    # the employer is in the township for the township worker's scope
    employer.division = township
    employer.save()
    _login(page, "jz")

    page.goto("/field/training/")
    page.locator("#c-code").fill("PX-JZ-01")
    page.locator("#c-title").fill("甲镇接种点人员培训")
    page.locator("#c-deadline").fill("2099-03-10")
    with page.expect_navigation():
        page.get_by_role("button", name="建立课程").click()
    expect(page.locator("h1")).to_contain_text("甲镇接种点人员培训")
    page.locator("#enrol-staff").select_option(label="钱护士（甲镇流动接种队）")
    with page.expect_navigation():
        page.get_by_role("button", name="报名").click()
    with page.expect_navigation():
        page.get_by_role("button", name="记录培训课").click()
    page.locator("#trainees input[name=score]").fill("91")
    with page.expect_navigation():
        page.get_by_role("button", name="记录成绩").click()
    expect(page.locator(".msg.success")).to_contain_text("PX-JZ-01-0001")
    assert Certificate.objects.get(staff=nurse).number == "PX-JZ-01-0001"

    # the county's planner sends the township's mobile team to the employer
    page.context.clear_cookies()
    _login(page, "cdc")
    page.goto("/field/mobile/")
    page.locator("#kind-M001").select_option("employer")
    page.locator("#employer-M001").select_option(label=employer.name)
    page.locator("#address-M001").fill("物流园3号楼")
    with page.expect_navigation():
        page.get_by_role("button", name="安排流动接种场次").click()
    expect(page.locator("#venue")).to_contain_text("清溪冷链物流公司（物流园3号楼）")
    for name, desk, role in (
        ("张登记", "登记台+预检台1", "登记"),
        ("李预检", "登记台+预检台1", "预检"),
        ("钱护士", "接种台+留观区1", "接种"),
        ("赵留观", "接种台+留观区1", "留观"),
    ):
        page.locator("#assign-staff").select_option(label=name)
        page.locator("#assign-desk").select_option(label=desk)
        page.locator("#assign-role").select_option(label=role)
        with page.expect_navigation():
            page.get_by_role("button", name="安排", exact=True).click()
        expect(page.locator("#assignments")).to_contain_text(name)
    session = team.sessions.get()
    for item in ReadinessItem.values:
        site_services.readiness_confirm(actor=cdc, session=session, item=item)
    page.reload()
    with page.expect_navigation():
        page.get_by_role("button", name="开诊").click()
    expect(page.locator("#session-status")).to_have_text("开诊")


@pytest.fixture
def phone(browser, live_server):
    """A phone: 390 × 844 CSS pixels, touch."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    p = context.new_page()
    try:
        yield p
    finally:
        context.close()


def test_a_village_head_works_a_follow_up_list_on_a_phone(phone, village_a1, cdc):
    from vaxops.accounts.services import user_create
    from vaxops.booking.tests.factories import resident
    from vaxops.campaign.services import status_refresh
    from vaxops.field import services
    from vaxops.registry import services as registry_services
    from vaxops.registry.models import WillingnessChange

    head = user_create(username="zz1", password=PASSWORD, role="grid_head", division=village_a1)
    group = registry_services.village_group_create(
        actor=cdc, village=village_a1, name="第一村民小组", head_name="张组长", head=head
    )
    people = [
        resident(village_a1, i, name=n, phone="13800000000") for i, n in enumerate(["王小明", "赵大红"], 1)
    ]
    registry_services.residents_group_set(actor=cdc, group=group, resident_ids=[p.pk for p in people])
    status_refresh(resident_ids=[p.pk for p in people])
    fl = services.followup_list_assign(actor=cdc, group=group, category="not_started")

    _login(phone, "zz1")
    phone.goto("/field/grid/")
    with phone.expect_navigation():
        phone.get_by_role("link", name=fl.title).click()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    card = phone.locator(".followup").filter(has_text="王*明")
    expect(card).to_contain_text("138****0000")
    card.get_by_role("radio", name="上门走访").check()
    card.get_by_role("radio", name="拒绝").check()
    card.get_by_label("原因（犹豫、拒绝时必填）").fill("年纪大，担心副作用")
    with phone.expect_navigation():
        card.get_by_role("button", name="保存随访").click()
    expect(phone.locator(".msg.success")).to_contain_text("王*明")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    change = WillingnessChange.objects.get(resident=people[0])
    assert (change.new, change.reason, change.by) == ("refused", "年纪大，担心副作用", head)
    phone.goto("/field/grid/overdue/?days=7")
    expect(phone.locator("#overdue")).to_contain_text("赵*红")
    expect(phone.locator("#overdue")).not_to_contain_text("王*明")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_site_prints_its_notice(page, cdc, village_a1):
    from vaxops.booking.tests.factories import site

    s = site(village_a1)
    _login(page, "cdc")
    page.goto(f"/sites/{s.code}/")
    with page.expect_navigation():
        page.locator("#notice-link").click()
    expect(page.locator("#notice h1")).to_have_text("新冠病毒疫苗接种注意事项")
    expect(page.locator("#notice-never")).to_contain_text("禁止接种")
    expect(page.locator("#notice-hospital")).to_contain_text("清溪县人民医院")
    expect(page.locator("#notice-qr svg")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("header")).to_be_hidden()
    expect(page.locator(".notice-tools")).to_be_hidden()
    import re

    # "每个接种点至少张贴一张": one sheet each, the A4 notice on A4 and the A3 notice on A3, whether the printer
    # takes the size from the page's @page rule or from its own setting.
    sheets = {}
    for fmt in ("A4", "A3"):
        page.goto(f"/field/notice/{s.code}/?size={fmt}")
        for css_size in (True, False):
            pdf = page.pdf(format=fmt, prefer_css_page_size=css_size)
            sheets[fmt, css_size] = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert set(sheets.values()) == {1}, sheets
    page.emulate_media(media="screen")
    response = page.request.get(page.locator("#notice-pdf").get_attribute("href"))
    assert response.headers["content-type"] == "application/pdf"
