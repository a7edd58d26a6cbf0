"""In headless Chromium: the county drafts last week's bulletin, reviews its rankings and publishes it; the
leader then finds it in the archive with its PDF and XLSX."""

import os
from datetime import timedelta

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
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/")


@pytest.fixture
def last_week(county, cdc, leader):
    """Doses last week in 甲镇 (the live server runs on the real clock)."""
    from vaxops.clinic.tests.conftest import make_resident
    from vaxops.core import clock
    from vaxops.reports import domain

    from .conftest import dose

    monday = domain.week_of(clock.today())[0] - timedelta(days=7)
    dose(make_resident("330199001001", 1, "王芳"), monday + timedelta(days=1))
    dose(make_resident("330199001002", 2, "李强"), monday + timedelta(days=2))
    return monday


def test_the_county_publishes_a_bulletin_and_the_leader_reads_it(page, last_week):
    from vaxops.reports import domain

    _login(page, "cdc")
    page.get_by_role("link", name="疫苗接种周通报").click()
    expect(page.locator("#week")).to_have_value(last_week.isoformat())
    page.get_by_role("button", name="生成通报草稿").click()
    expect(page.locator(".msg.success")).to_contain_text("通报草稿已生成")
    expect(page.locator("h1")).to_contain_text(domain.week_label(last_week))
    town = page.locator('table[data-section="townships"] tr[data-code="330199001000"]')
    expect(town.locator("td").nth(7)).to_have_text("2")  # 本周接种（人）
    expect(page.locator("#bulletin-status")).to_contain_text("草稿")
    page.get_by_role("button", name="审核无误，发布").click()
    expect(page.locator(".msg.success")).to_contain_text("通报已发布")
    expect(page.locator("#bulletin-status")).to_contain_text("已发布")
    expect(page.get_by_role("button", name="审核无误，发布")).to_have_count(0)

    page.context.clear_cookies()
    _login(page, "leader")
    page.goto("/reports/bulletins/")
    row = page.locator(f'#bulletins tr[data-week="{last_week.isoformat()}"]')
    expect(row).to_contain_text("已发布")
    xlsx = page.request.get(row.get_by_role("link", name="XLSX").get_attribute("href"))
    assert xlsx.ok and xlsx.body()[:2] == b"PK"
