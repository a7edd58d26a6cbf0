"""In headless Chromium on a 10-inch tablet (1280×800): the whole vaccination desk — the registrar checks a
person in by typing the ID number + Enter into the scan box, the screener fills the screening form and the
person signs the consent on the canvas, the vaccinator scans the code, reads the card, picks the site and
takes the last four phone digits, and the person shows up in the observation list and on the printed record.

The live server runs on the real clock: the test adds a slot starting in a few minutes for the appointment
(the session's own slots are cut from 00:00–23:59 and may all have begun), and is skipped in the last
minutes before midnight, when no slot fits in today."""

import datetime as dt
import os

import pytest
from django.utils import timezone

from vaxops.conftest import PASSWORD, make_id
from vaxops.testing.browser import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)

TABLET = {"width": 1280, "height": 800}
PORTRAIT = {"width": 800, "height": 1280}


@pytest.fixture
def desk_day(county, village_a1, vaccinator):
    """The site open today (real clock), a user at each desk, and a person booked into a slot that starts in
    two minutes."""
    from vaxops.accounts.services import user_create
    from vaxops.booking import services as booking
    from vaxops.booking.models import Slot
    from vaxops.core.actors import SystemActor
    from vaxops.registry.models import Resident
    from vaxops.sites.models import StaffMember

    from .desk_setup import open_site

    now = timezone.localtime()
    start = (now + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    end = min(start + dt.timedelta(minutes=15), now.replace(hour=23, minute=59, second=59, microsecond=0))
    if start.date() != now.date() or end - start < dt.timedelta(minutes=5):
        pytest.skip("too close to midnight for a slot today")
    desk1 = open_site(county, village_a1, vaccinator)
    slot = Slot.objects.create(
        session=desk1.session, start=start, end=end, capacity=4, walk_in=0, open_capacity=4
    )
    users = {}
    for username, role, staff in (
        ("registrar", "site_registration", "registration员"),
        ("screener1", "site_screening", "screening员"),
        ("nurse", "site_observation", "observation员"),
    ):
        users[username] = user_create(
            username=username, password=PASSWORD, role=role, division=desk1.site.division
        )
        StaffMember.objects.filter(site=desk1.site, name=staff).update(user=users[username])
    person = Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(dt.date(1980, 5, 1), 7),
        name="王小明",
        village=village_a1,
        village_code=village_a1.code,
        birth_date=dt.date(1980, 5, 1),
        phone="13912345678",
    )
    booking.appointment_book(actor=SystemActor("t"), resident=person, slot=slot, channel="community")
    return desk1, person


def _login(page, username):
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("header .who")).to_be_visible()


def _fits(page) -> None:
    """Nothing wider than the tablet's screen."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def test_the_whole_desk_flow_on_a_tablet(page, live_server, desk_day):
    from vaxops.clinic.models import Consent, Dose, Observation

    from .desk_setup import code

    desk1, person = desk_day
    sid = desk1.session.pk
    page.set_viewport_size(TABLET)

    # 登记: the card reader types the ID number and Enter into the focused scan box.
    _login(page, "registrar")
    page.locator("header nav").get_by_role("link", name="接种台").click()
    page.locator(".desk-tabs a").filter(has_text="登记").first.click()
    scan = page.locator("#scan")
    expect(scan).to_be_focused()
    scan.type(person.id_number)
    with page.expect_navigation():
        scan.press("Enter")
    expect(page.locator("#checkin-message")).to_have_text("已签到")
    expect(page.locator("#person-name")).to_have_text("王小明")
    expect(page.locator("#person-forecast")).to_contain_text("第1剂")
    expect(page.locator(f"#checked-in-{person.pk}")).to_be_visible()
    expect(page.locator("#scan")).to_be_focused()
    _fits(page)

    # 预检: the screener picks the person from the queue and fills the form.
    _login(page, "screener1")
    page.goto(f"/desk/{sid}/screening/")
    page.locator(f"#queue-{person.pk}").get_by_role("link", name="预检", exact=True).click()
    form = page.locator("#screening-form")
    noes = form.locator('input[type=radio][value="no"]')
    # The click only starts the navigation: wait for the person's form before listing its radios, or the
    # list is read from the page being left and comes back empty.
    expect(noes.first).to_be_visible()
    assert noes.count() >= 5
    for radio in noes.all():
        radio.check()
    page.locator("#id_temperature_c").fill("36.5")
    page.locator("#id_bp_systolic").fill("118")
    page.locator("#id_bp_diastolic").fill("76")
    form.get_by_role("button", name="提交预检结果").click()
    expect(page.locator("#outcome")).to_contain_text("可以接种")
    expect(page.locator("#screener")).to_contain_text("screener1")
    _fits(page)

    # 知情同意: the full text, then a signature drawn on the canvas.
    page.locator("#to-consent").click()
    expect(page.locator("#consent-text")).to_contain_text("本人已阅读并理解以上内容")
    pad = page.locator("#sig-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + 120)
    page.mouse.down()
    for i in range(1, 25):
        page.mouse.move(box["x"] + 30 + i * 18, box["y"] + 120 + (30 if i % 2 else -30), steps=2)
    page.mouse.up()
    page.get_by_role("button", name="同意并签署").click()
    expect(page.locator("#consent-done")).to_contain_text("已签署知情同意书")
    consent = Consent.objects.get(resident=person)
    assert not consent.refused and consent.signature.startswith("data:image/png;base64,")
    _fits(page)

    # 接种: choose the person, scan the code + Enter, read the card, pick the site, the last four digits.
    _login(page, "vaccinator")
    page.goto("/desk/")
    page.locator(".desk-tabs a").filter(has_text="接种").first.click()
    expect(page.locator("h1")).to_contain_text("接种")
    page.locator(f"#queue-{person.pk}").get_by_role("link", name="选择").click()
    code_box = page.locator("#code")
    expect(code_box).to_be_focused()
    code_box.type(code(1))
    with page.expect_navigation():
        code_box.press("Enter")
    card = page.locator("#card")
    expect(card).to_contain_text("王小明")
    expect(card).to_contain_text("第1剂")
    expect(card).to_contain_text(desk1.lot.lot_number)
    expect(page.locator(".stop")).to_have_count(0)
    client_id = page.locator("#client_id").input_value()
    assert len(client_id) == 32
    page.locator("#sites label").filter(has_text="左上臂三角肌").click()
    expect(page.locator("#card-site")).to_have_text("左上臂三角肌")
    page.locator("#phone_last4").fill("5678")
    _fits(page)
    page.get_by_role("button", name="确认接种").click()
    expect(page.locator("#vaccinated")).to_contain_text("王小明 已完成接种")
    dose = Dose.objects.get(resident=person)
    assert (dose.client_id, dose.injection_site, dose.trace_code.code) == (client_id, "左上臂三角肌", code(1))

    # The printable record (A5), as printed.
    page.locator("#print-record").click()
    expect(page.locator("#record")).to_contain_text(desk1.lot.lot_number)
    expect(page.locator(f"#record-dose-{dose.pk}")).to_contain_text("第1剂")
    expect(page.locator("#record-id")).to_have_text(person.id_number_masked)
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    page.emulate_media(media="screen")

    # 留观: the person is in the list with the time left; the portrait tablet fits too.
    page.goto(f"/desk/{sid}/observation/")
    obs = Observation.objects.get(dose=dose)
    row = page.locator(f"#observation-{obs.pk}")
    expect(row).to_contain_text("王小明")
    expect(row).to_contain_text("剩余")
    _fits(page)
    page.set_viewport_size(PORTRAIT)
    _fits(page)
    page.goto(f"/desk/{sid}/vaccinate/")
    _fits(page)
