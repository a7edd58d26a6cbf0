"""In headless Chromium, DEBUG off: a stale desk link shows the friendly Chinese page, whose first button goes
back to the desk's queue."""

import os

import pytest

from vaxops.conftest import PASSWORD
from vaxops.testing.browser import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)


def test_a_stale_desk_link_goes_back_to_the_queue(page, vaccinator, settings):
    assert settings.DEBUG is False
    page.goto("/accounts/login/")
    page.locator("#id_username").fill("vaccinator")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/")
    response = page.goto("/desk/doses/abc/record/")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("找不到这个页面")
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page.locator("link[rel=icon]")).to_have_count(1)
    page.locator(".ways-back a").first.click()
    page.wait_for_url("**/desk/")
    assert page.url.endswith("/desk/")
