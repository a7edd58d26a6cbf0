"""In headless Chromium on a 390×844 phone: the verifier never scrolls sideways, its verdict comes first and is
seen without scrolling, the camera scan is the first action (pasting is the fallback), the marketing
authorisation holder sits under the vaccine, and garbage is refused plainly (never "未过期")."""

import os

import pytest

from vaxops.certs import services
from vaxops.testing.browser import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)

PHONE = {"width": 390, "height": 844}


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width


def _paste(page, text: str) -> None:
    page.locator("#paste summary").click()
    page.locator("#hc1").fill(text)
    page.locator("#verify-form button[type=submit]").click()
    page.wait_for_load_state()


def test_the_verifier_on_a_phone(page, vaccinated, signing_key, cdc):
    person, _ = vaccinated
    cert = services.certificate_issue(actor=cdc, resident_id=person.pk)
    page.set_viewport_size(PHONE)

    page.goto("/verify/")
    _fits(page)
    first = page.locator("main button, main summary").first
    assert first.get_attribute("id") == "scan"  # the camera first
    expect(page.locator("#hc1")).to_be_hidden()  # pasting is the fallback

    _paste(page, cert.hc1)
    _fits(page)
    result = page.locator("#result")
    expect(result).to_contain_text("有效 VALID")
    box = result.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"]  # above the fold
    # the marketing authorisation holder is a fact of the vaccine, not of the person
    expect(page.locator("#vaccination #mah")).to_have_count(1)
    expect(page.locator("#person")).not_to_contain_text("持有人")

    page.goto("/verify/")
    _paste(page, "hello, this is not a certificate")
    _fits(page)
    expect(page.locator("#result")).to_contain_text("无法识别")
    expect(page.locator("#verdict")).not_to_contain_text("未过期")
    box = page.locator("#result").bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"]

    page.goto("/verify/")
    page.locator("#scan").click()  # no camera in headless Chromium: the page says so and opens the paste box
    expect(page.locator("#scan-message")).not_to_be_empty()
    expect(page.locator("#hc1")).to_be_visible()
