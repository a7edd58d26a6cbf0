"""In headless Chromium: the header's menu, grouped by job, fits one line at 1366 px for the county planner (the
role with the most links), opens its groups on a 1024 px tablet, and a role sees only its own entries."""

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
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/")


def _named(user, name):
    user.full_name = name
    user.save(update_fields=["full_name"])
    return user


def test_the_planners_header_is_one_line_at_1366(page, cdc):
    _named(cdc, "陈立新")
    page.set_viewport_size({"width": 1366, "height": 768})
    _login(page, "cdc")
    header = page.locator("header.top")
    items = page.locator("header.top > a.brand, nav.menu > a, nav.menu > details > summary, header.top .who")
    tops = {round(items.nth(i).bounding_box()["y"]) for i in range(items.count())}
    assert max(tops) - min(tops) <= 6, tops  # all on one line
    link = page.locator("nav.menu > a").first.bounding_box()
    assert header.bounding_box()["height"] < 2 * link["height"] + 24
    expect(page.locator("header.top .who")).to_have_text("陈立新 · 县疾控中心（免疫规划科）")
    groups = page.locator("nav.menu [data-group]")
    assert [groups.nth(i).get_attribute("data-group") for i in range(groups.count())] == [
        "registry", "campaign", "supply", "sites", "desk", "reports", "admin",
    ]  # fmt: skip
    no_scroll = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert no_scroll


def test_a_group_opens_on_a_tablet_and_leads_to_its_page(page, cdc):
    page.set_viewport_size({"width": 1024, "height": 768})
    _login(page, "cdc")
    supply = page.locator('nav.menu details[data-group="supply"]')
    supply.locator("summary").click()
    cold = supply.get_by_role("link", name="冷链温度")
    expect(cold).to_be_visible()
    box = cold.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1024
    page.locator("main").click(position={"x": 5, "y": 5})  # a click elsewhere closes it
    expect(cold).to_be_hidden()
    supply.locator("summary").click()
    cold.click()
    page.wait_for_url("**/coldchain/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_role_sees_only_its_entries(page, auditor):
    from vaxops.core.menu import menu_for

    page.set_viewport_size({"width": 1366, "height": 768})
    _login(page, "auditor")
    expected = menu_for(auditor)
    groups = page.locator("nav.menu [data-group]")
    assert [groups.nth(i).get_attribute("data-group") for i in range(groups.count())] == [
        g["key"] for g in expected
    ]
    hrefs = page.locator("nav.menu a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert sorted(hrefs) == sorted(["/"] + [e["url"] for g in expected for e in g["entries"]])
    assert (
        "/residents/import/" not in hrefs and "/desk/" not in hrefs
    )  # the auditor imports and vaccinates no one
    expect(page.locator("nav.menu").get_by_role("link", name="审计日志")).to_have_count(1)
