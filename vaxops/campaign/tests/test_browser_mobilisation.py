"""In headless Chromium: a village worker finds who is overdue, opens the person's assessment, screens them."""

import os
from datetime import date, timedelta

import pytest

from vaxops.conftest import PASSWORD, make_id
from vaxops.testing.browser import CHROMIUM, menu_link

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)


@pytest.fixture
def overdue_person(cdc, village_a1):
    from vaxops.campaign.services import status_refresh
    from vaxops.clinic.models import Dose
    from vaxops.registry.models import Resident

    r = Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(date(1970, 4, 4), seq=31),
        name="周补种",
        birth_date=date(1970, 4, 4),
        village=village_a1,
        village_code=village_a1.code,
        willingness="hesitant",
    )
    Dose.objects.create(resident=r, product_code="BBIBP-CorV", given_on=date.today() - timedelta(days=120))
    status_refresh(resident_ids=[r.pk])
    return r


@pytest.fixture
def screener(county):
    from vaxops.accounts.services import user_create
    from vaxops.jurisdictions.models import Division

    return user_create(
        username="screener",
        password=PASSWORD,
        role="site_screening",
        division=Division.objects.get(code="330199001000"),
    )


def _login(page, username):
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("header .who")).to_be_visible()


def test_worker_finds_an_overdue_person_and_screens_them(
    page, live_server, worker_a, screener, overdue_person
):
    from vaxops.clinic.models import ScreeningRecord

    _login(page, "worker_a")
    menu_link(page, "动员名单").click()
    overdue_tab = page.get_by_role("link", name="逾期未种（补种）")
    expect(overdue_tab).to_contain_text("1")
    overdue_tab.click()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("周补种")
    expect(row).to_contain_text("第2剂")
    assert overdue_person.id_number not in page.content()

    row.get_by_role("link", name="周补种").click()
    page.get_by_role("link", name="接种评估").click()
    expect(page.locator("#status")).to_contain_text("接种中")

    page.context.clear_cookies()
    _login(page, "screener")
    page.goto(f"/clinic/residents/{overdue_person.pk}/screening/")
    form = page.locator("#screening-form")
    noes = form.locator("input[type=radio][value=no], input[type=radio][value=false]")
    expect(noes.first).to_be_visible()
    for radio in noes.all():
        radio.check()
    form.locator("input[name=temperature_c]").fill("38.2")
    form.get_by_role("button", name="提交预检结果").click()
    expect(page.locator("#outcome")).to_contain_text("暂缓接种")
    assert ScreeningRecord.objects.get(resident=overdue_person).outcome == "defer"
