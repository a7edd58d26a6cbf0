"""In headless Chromium: a township worker opens the day's report, confirms it with a note, and the page
shows it confirmed; the county sees the confirmation beside the late township. The live server runs on the
real clock, so the report is of today."""

import os

import pytest

from vaxops.conftest import PASSWORD
from vaxops.testing.browser import CHROMIUM, menu_link

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)


def _login(page, username):
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/")


@pytest.fixture
def today_doses(county, cdc):
    from vaxops.accounts.services import user_create
    from vaxops.clinic.tests.conftest import make_resident
    from vaxops.core import clock
    from vaxops.jurisdictions.models import Division

    from .conftest import dose

    dose(make_resident("330199001001", 1, "王芳"), clock.today())
    dose(make_resident("330199001002", 2, "李强"), clock.today())
    user_create(
        username="township_a",
        password=PASSWORD,
        role="township_worker",
        division=Division.objects.get(code="330199001000"),
    )


def test_a_township_confirms_its_report_and_the_county_sees_it(page, today_doses):
    from vaxops.reports.services import daily_reports_mark_late

    _login(page, "township_a")
    menu_link(page, "日报表").click()
    row = page.locator('tr[data-township="330199001000"]')
    expect(row.locator("td.num").first).to_have_text("2")
    expect(row.locator(".status")).to_contain_text("未确认")
    row.locator("summary").click()
    row.locator("input[name=note]").fill("已与各村核对")
    row.get_by_role("button", name="确认无误").click()
    expect(page.locator(".msg.success")).to_contain_text("日报表已确认")
    expect(row.locator(".status")).to_contain_text("已确认 · 第1版")
    expect(row.locator(".status")).to_contain_text("已与各村核对")

    daily_reports_mark_late()  # the 17:00 job: 乙镇 has not confirmed
    page.context.clear_cookies()
    _login(page, "cdc")
    page.goto("/reports/daily/")
    expect(page.locator("#late-count")).to_contain_text("逾期未报：1 个乡镇")
    expect(page.locator('tr[data-township="330199002000"] .status')).to_contain_text("逾期未报")
    expect(page.locator('tr[data-township="330199001000"] .status')).to_contain_text("已确认")
