"""In headless Chromium: after a dose the vaccinator prints the record with its signed QR and follows the link
to the certificate page; the person's texted link shows the same QR and leads to their certificate; both pages fit
a 390 px phone without scrolling sideways."""

import os
import uuid

import pytest

from vaxops.clinic import services as clinic_services
from vaxops.conftest import PASSWORD
from vaxops.core.actors import SystemActor
from vaxops.desk import services as desk_services
from vaxops.testing.browser import CHROMIUM

from .desk_setup import code, open_site, ready_person, ten_in_the_morning

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)


def test_the_certificate_is_reached_from_the_desk_and_the_texted_link(
    page, county, village_a1, vaccinator, monkeypatch
):
    from vaxops.certs.services import signing_key_generate

    ten_in_the_morning(monkeypatch)
    desk1 = open_site(county, village_a1, vaccinator)
    signing_key_generate(actor=SystemActor("test"), common_name="VaxOps DSC test")
    person = ready_person(desk1, village_a1, 1)
    dose = desk_services.dose_administer(
        actor=vaccinator, resident_id=person.pk, code=code(1), client_id=uuid.uuid4().hex, phone_last4="5678"
    )
    page.goto("/accounts/login/")
    page.locator("#id_username").fill("vaccinator")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/")

    page.goto(f"/desk/{desk1.session.pk}/vaccinate/done/{dose.pk}/")
    expect(page.locator("#certificate-issued")).to_be_visible()
    page.locator("#print-record").click()
    expect(page.locator("#record-qr svg")).to_be_visible()
    page.locator("#certificate-page").click()
    page.wait_for_url(f"**/certs/residents/{person.pk}/")
    expect(page.locator("#certificate svg")).to_be_visible()

    token = clinic_services.record_link_token(
        clinic_services.record_link_issue(actor=SystemActor("t"), resident=person, channel="sms", dose=dose)
    )
    page.goto(f"/r/{token}/")
    expect(page.locator("#record-qr svg")).to_be_visible()
    page.locator("#certificate-link a").click()
    page.wait_for_url(f"**/certs/{token}/")
    expect(page.locator("#certificate svg")).to_be_visible()


PHONE = {"width": 390, "height": 844}


def test_the_texted_record_and_the_certificate_fit_a_phone(page, county, village_a1, vaccinator, monkeypatch):
    """On a 390×844 phone the person's ``/r/`` record and their certificate never scroll sideways."""
    from vaxops.certs.services import certificate_issue, signing_key_generate

    ten_in_the_morning(monkeypatch)
    desk1 = open_site(county, village_a1, vaccinator)
    signing_key_generate(actor=SystemActor("test"), common_name="VaxOps DSC test")
    person = ready_person(desk1, village_a1, 1)
    dose = desk_services.dose_administer(
        actor=vaccinator, resident_id=person.pk, code=code(1), client_id=uuid.uuid4().hex, phone_last4="5678"
    )
    certificate_issue(actor=vaccinator, resident_id=person.pk)
    token = clinic_services.record_link_token(
        clinic_services.record_link_issue(actor=SystemActor("t"), resident=person, channel="sms", dose=dose)
    )
    page.set_viewport_size(PHONE)

    page.goto(f"/r/{token}/")
    expect(page.locator("#record-qr svg")).to_be_visible()
    widths = {"record": page.evaluate("document.documentElement.scrollWidth")}
    page.locator("#certificate-link a").click()
    page.wait_for_url(f"**/certs/{token}/")
    expect(page.locator("#certificate svg")).to_be_visible()
    widths["certificate"] = page.evaluate("document.documentElement.scrollWidth")

    assert all(w <= PHONE["width"] for w in widths.values()), widths
