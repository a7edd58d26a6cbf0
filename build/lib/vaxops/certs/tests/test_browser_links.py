"""The person's own pages in headless Chromium under the enforced Content-Security-Policy: the record behind
their link, the certificate they ask for with the button (a POST), the verifier, and revoking the link. The
``page`` fixture fails the test on any CSP violation or script error."""

import os

import pytest

from vaxops.clinic import services as clinic
from vaxops.core.actors import SystemActor
from vaxops.testing.browser import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]


def test_the_person_opens_their_record_gets_the_certificate_and_revokes_the_link(
    page, vaccinated, signing_key
):
    person, dose = vaccinated
    token = clinic.record_link_token(
        clinic.record_link_issue(actor=SystemActor("t"), resident=person, channel="staff", dose=dose)
    )

    page.goto(f"/r/{token}/")
    expect(page.locator(f"#record-dose-{dose.pk}")).to_be_visible()
    # the stylesheet applied (a blocked one would leave the record unboxed)
    assert page.locator(".record").evaluate("e => getComputedStyle(e).borderRadius") == "8px"

    page.goto(f"/certs/{token}/")
    expect(page.locator("#need-issue")).to_be_visible()
    page.locator("#issue").click()
    expect(page.locator("#certificate")).to_be_visible()
    expect(page.locator("#certificate svg")).to_be_visible()
    assert page.locator(".cert").evaluate("e => getComputedStyle(e).maxWidth") != "none"

    page.goto("/verify/")
    expect(page.locator("#scan")).to_be_visible()
    page.locator("#scan").click()  # verify.js answers (headless Chromium has no camera or BarcodeDetector)
    expect(page.locator("#scan-message")).not_to_be_empty()
    expect(page.locator("#hc1")).to_be_visible()  # and opens the paste box

    page.goto(f"/r/{token}/")
    page.locator("#revoke button").click()
    expect(page.locator("#revoked")).to_be_visible()
    assert page.goto(f"/r/{token}/").status == 404
