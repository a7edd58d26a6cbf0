"""In headless Chromium at 1366 px: the audit log's columns are wide enough to read (no column wrapping one
character per line) even with long changes, and the page does not scroll sideways."""

import os

import pytest

from vaxops.conftest import PASSWORD
from vaxops.testing.browser import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]


def test_the_audit_columns_are_readable_at_1366(page, cdc):
    from vaxops.audit.services import audit_record

    long = {f"field_{i}": "一个很长的值" * 6 for i in range(6)}
    for _ in range(3):
        audit_record(
            actor=cdc,
            action="booking.appointment_book",
            object_type="booking.appointment",
            object_id="1",
            new=long,
            purpose="现场登记核对身份",
        )
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/accounts/login/")
    page.locator("#id_username").fill("cdc")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/")
    page.goto("/audit/")
    row = page.locator("#audit-events tbody tr").first
    assert "预约挂号" in row.locator("td.c-action").inner_text()
    for cls in ("c-time", "c-who", "c-action", "c-object", "c-purpose"):
        box = row.locator(f"td.{cls}").bounding_box()
        assert box["width"] >= 70, (cls, box)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
