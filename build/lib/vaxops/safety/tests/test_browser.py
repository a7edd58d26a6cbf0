"""In headless Chromium: the observation nurse turns a reaction note into a report and refers the person in one
click on the tablet; the hospital doctor signs in to the inbox, opens the person's case, admits them, records
treatment and discharges them."""

import os

import pytest

from vaxops.conftest import PASSWORD
from vaxops.testing.browser import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from .conftest import give, note  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)


def _login(page, username):
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("header .who")).to_be_visible()


def test_the_nurse_reports_and_refers_and_the_hospital_treats(
    page, live_server, desk1, village_a1, vaccinator, nurse, doctor, hospitals
):
    from vaxops.safety.models import AdverseEventReport, HospitalCase

    assert PASSWORD
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    n = note(dose)
    page.set_viewport_size({"width": 1280, "height": 800})

    _login(page, "nurse")
    page.goto(f"/desk/{desk1.session.pk}/observation/")
    page.locator(f"#observation-{dose.observation.pk} a.btn.danger").click()
    page.get_by_role("button", name="报告并转诊定点救治医院").click()
    expect(page.locator(".msg.success")).to_contain_text("已转诊清溪县人民医院")
    expect(page.locator(f'[data-note="{n.pk}"] .tag')).to_contain_text("已报告")
    report = AdverseEventReport.objects.get(reaction_note=n)

    _login(page, "doctor")
    page.goto("/")
    expect(page).to_have_url(f"{live_server.url}/safety/hospital/")
    row = page.locator(f'#inbox tr[data-case="{report.number}"]')
    expect(row).to_contain_text("过敏性休克")
    row.get_by_role("link").click()
    page.locator("#admit-form input[name=doctor]").fill("钱医生")
    page.locator("#admit-form button").click()
    expect(page.locator("#case-state")).to_have_text("救治中")
    page.locator("#treat-note").fill("肾上腺素0.5mg肌注，吸氧，生命体征平稳")
    page.locator("#treat-form button").click()
    expect(page.locator("#entries")).to_contain_text("肾上腺素0.5mg")
    page.locator("#discharge-form select").select_option("recovered")
    page.locator("#discharge-form button").click()
    expect(page.locator("#case-state")).to_have_text("已出院")
    case = HospitalCase.objects.get(report=report)
    assert case.state == "discharged" and case.outcome == "recovered"
