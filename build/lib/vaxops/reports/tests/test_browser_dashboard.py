"""In headless Chromium: the leader signs in, opens the dashboard from the home page, sees every chart drawn by
ECharts (a canvas in each) with the numbers of its table equal to the API's, and toggles the full-screen mode."""

import os

import pytest

from vaxops.conftest import PASSWORD
from vaxops.core.vendor import ECHARTS, _source
from vaxops.testing.browser import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)
if _source(ECHARTS) is None:
    pytest.skip("ECharts not installed: make npm (npm ci)", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from .conftest import DAY  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)


def _login(page, username):
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/")


def test_the_leader_sees_the_charts_drawn_with_the_apis_numbers(page, history, leader):
    _login(page, "leader")
    page.get_by_role("link", name="接种进度看板").first.click()
    page.goto(f"/reports/dashboard/?date={DAY.isoformat()}")
    for name in ("series", "by_division", "by_band", "by_group", "funnel", "stock"):
        chart = page.locator(f'[data-chart="{name}"]')
        expect(chart).to_have_attribute("data-drawn", "1")
        expect(chart.locator("canvas")).to_have_count(1)
        box = chart.locator("canvas").bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100
    api = page.request.get(f"/api/v1/reports/dashboard?date={DAY.isoformat()}").json()
    cells = page.locator('table[data-table="by_division"] tbody tr')
    expect(cells).to_have_count(len(api["by_division"]))
    for i, row in enumerate(api["by_division"]):
        tds = cells.nth(i).locator("td")
        expect(tds.nth(0)).to_have_text(row["division"])
        expect(tds.nth(3)).to_have_text(str(row["people_first_dose"]))
    expect(page.locator('[data-total="doses"]')).to_have_text(str(api["totals"]["doses"]))

    root = page.locator("#dashboard")
    page.get_by_role("button", name="大屏模式").click()
    expect(root).to_have_class("dashboard big")
    viewport = page.viewport_size
    box = root.bounding_box()
    assert box and box["width"] >= viewport["width"] - 1 and box["height"] >= viewport["height"] - 1
    page.get_by_role("button", name="退出大屏").click()
    expect(root).to_have_class("dashboard")

    # click-through: a township's row leads to its villages
    page.wait_for_function("document.fullscreenElement === null")
    page.locator('table[data-table="by_division"] a', has_text="330199001000").click()
    expect(page.locator("h1")).to_contain_text("甲镇")
    expect(page.locator("#back-to-county")).to_be_visible()
