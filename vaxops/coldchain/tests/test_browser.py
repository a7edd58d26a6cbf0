"""In headless Chromium: the unit page with its curve and the county's decision, and the manual log on a phone."""

import datetime as dt
import os

import pytest

from vaxops.conftest import PASSWORD
from vaxops.core.vendor import ECHARTS, _source
from vaxops.testing.browser import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)


@pytest.fixture
def unit(county, village_a1, vaccinator):
    from vaxops.desk.tests.desk_setup import open_site

    from .helpers import equipment_for, feed

    site = open_site(county, village_a1, vaccinator)
    eq = equipment_for(site.place)
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    feed(eq, now - dt.timedelta(hours=3), [5.0] + [-1.0] * 61 + [5.0] * 30)
    return eq


def _login(page, username):
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("header .who")).to_be_visible()


def test_the_unit_page_shows_the_curve_and_takes_the_decision(page, live_server, cdc, unit):
    from vaxops.supply.models import CodeState, TraceCode

    _login(page, cdc.username)
    page.goto(f"/coldchain/units/{unit.code}/")
    if _source(ECHARTS) is None:  # without ECharts installed, the curve drawn on the server
        expect(page.locator("#curve svg polyline")).to_be_visible()
    else:
        expect(page.locator("#curve-chart canvas")).to_be_visible()
    freeze = page.locator("tr.excursion.freeze")
    expect(freeze).to_contain_text("冻结")
    freeze.get_by_role("button", name="确认").click()
    freeze = page.locator("tr.excursion.freeze")
    expect(freeze).to_have_attribute("data-status", "acknowledged")
    freeze.locator("select[name=decision]").select_option("release")
    freeze.locator("input[name=reason]").fill("厂家稳定性数据支持继续使用")
    freeze.get_by_role("button", name="提交评估").click()
    expect(page.locator("tr.excursion.freeze")).to_have_attribute("data-status", "assessed")
    expect(page.locator("tr.excursion.freeze")).to_contain_text("厂家稳定性数据")
    assert TraceCode.objects.filter(state=CodeState.IN_STOCK).count() == 10


def test_the_manual_log_on_a_phone(browser, live_server, cdc, unit):
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        _login(page, cdc.username)
        page.goto(f"/coldchain/units/{unit.code}/log/")
        box = page.locator("#id_celsius").bounding_box()
        assert box is not None and box["width"] > 300  # fills the phone's width
        page.locator("#id_celsius").fill("4.6")
        page.get_by_role("button", name="记录").click()
        expect(page.locator("#entries")).to_contain_text("4.60℃")
    finally:
        context.close()
    assert problems == []


@pytest.mark.skipif(_source(ECHARTS) is None, reason="ECharts not installed: make npm (npm ci)")
def test_the_curve_is_drawn_with_echarts_with_the_band_and_the_freeze(page, live_server, cdc, unit):
    _login(page, cdc.username)
    page.goto(f"/coldchain/units/{unit.code}/")
    curve = page.locator("#curve")
    expect(curve).to_have_attribute("data-drawn", "echarts")
    expect(page.locator("#curve-chart canvas")).to_have_count(1)
    expect(page.locator("#curve svg")).to_be_hidden()
    # The chart holds the page's series, the 2–8 °C band and the freeze shaded.
    drawn = page.evaluate(
        """() => {
          const c = echarts.getInstanceByDom(document.getElementById("curve-chart"));
          const s = c.getOption().series[0];
          return {points: s.data.length, band: s.markArea.data[0].map(p => p.yAxis),
                  shaded: s.markArea.data.length - 1, low: Math.min(...s.data.map(p => p[1]))};
        }"""
    )
    assert drawn["points"] == 92 and drawn["band"] == [2, 8] and drawn["shaded"] >= 1 and drawn["low"] == -1
    # The table of the latest readings stays, beside the chart on a wide screen.
    table = page.locator("#readings-table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(48)
    chart, beside = page.locator("#curve-chart").bounding_box(), table.bounding_box()
    assert beside["x"] >= chart["x"] + chart["width"] - 1 and beside["y"] < chart["y"] + chart["height"]
