"""In headless Chromium: the screening desk's "全部否" answers every screening question "否" in the form, a man
is not asked about pregnancy or breastfeeding, and a walk-in checked in at the registration desk is shown as
"现场登记" with the time they checked in, not with a slot's time.

"Now" is fixed at 10:00 local time today (the live server runs in the test's process), so the tests do not
depend on the hour they run at: late in the evening the session's slots have all ended."""

import datetime as dt
import os
import re

import pytest

from vaxops.conftest import PASSWORD
from vaxops.testing.browser import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)

# The eight yes/no screening questions of the default set (covid_dose_severe_reaction is a choice whose
# answers include "no"); a man is not asked the last two.
EIGHT = [
    "q_allergy_vaccine_severe",
    "q_allergy_component",
    "q_covid_dose_severe_reaction",
    "q_neurological",
    "q_acute_illness",
    "q_chronic_uncontrolled",
    "q_pregnancy",
    "q_lactation",
]
CHECKED = """form => {
  const out = {};
  form.querySelectorAll('input[type=radio]').forEach(r => {
    if (!(r.name in out)) out[r.name] = null;
    if (r.checked) out[r.name] = r.value;
  });
  return out;
}"""


@pytest.fixture
def desk1(county, village_a1, vaccinator, monkeypatch):
    from .desk_setup import open_site, ten_in_the_morning

    ten_in_the_morning(monkeypatch)

    return open_site(county, village_a1, vaccinator)


def _site_user(username: str, role: str, desk1, staff_name: str):
    from vaxops.accounts.services import user_create
    from vaxops.sites.models import StaffMember

    user = user_create(username=username, password=PASSWORD, role=role, division=desk1.site.division)
    StaffMember.objects.filter(site=desk1.site, name=staff_name).update(user=user)
    return user


def _login(page, username):
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("header .who")).to_be_visible()


def test_all_no_answers_every_question_no_and_a_man_is_not_asked_about_pregnancy(
    page, live_server, desk1, village_a1
):
    from vaxops.clinic.models import ScreeningRecord
    from vaxops.registry.models import Resident

    from .desk_setup import ready_person

    _site_user("screener1", "site_screening", desk1, "screening员")
    man = ready_person(desk1, village_a1, 1, screened=False, consent=False, name="张伟")
    Resident.objects.filter(pk=man.pk).update(sex="M")
    woman = ready_person(desk1, village_a1, 2, screened=False, consent=False, name="王芳")
    Resident.objects.filter(pk=woman.pk).update(sex="F")
    sid = desk1.session.pk

    _login(page, "screener1")
    # The woman first: all eight questions, none answered until "全部否" is pressed.
    page.goto(f"/desk/{sid}/screening/")
    page.locator(f"#queue-{woman.pk}").get_by_role("link", name="预检", exact=True).click()
    form = page.locator("#screening-form")
    expect(page.locator("#person-name")).to_have_text("王芳")
    before = form.evaluate(CHECKED)
    assert set(before) == set(EIGHT), before
    assert all(v is None for v in before.values()), before
    expect(form.get_by_text("目前是否怀孕？")).to_be_visible()
    page.locator("#all-no").click()
    after = form.evaluate(CHECKED)
    assert after == dict.fromkeys(EIGHT, "no"), after
    expect(form.locator('input[type=radio][value="yes"]:checked')).to_have_count(0)
    expect(form.locator('input[name="q_pregnancy"][value="no"]')).to_be_checked()
    # The screener may still change one answer after "全部否".
    form.locator('input[name="q_acute_illness"][value="yes"]').check()
    assert form.evaluate(CHECKED)["q_acute_illness"] == "yes"

    # The man: no pregnancy or breastfeeding question, the other six all "否" after one click.
    page.locator(f"#queue-{man.pk}").get_by_role("link", name="预检", exact=True).click()
    expect(page.locator("#person-name")).to_have_text("张伟")
    form = page.locator("#screening-form")
    expect(form.locator('[name="q_pregnancy"]')).to_have_count(0)
    expect(form.locator('[name="q_lactation"]')).to_have_count(0)
    expect(form.get_by_text("目前是否怀孕？")).to_have_count(0)
    expect(form.get_by_text("目前是否处于哺乳期？")).to_have_count(0)
    six = [q for q in EIGHT if q not in ("q_pregnancy", "q_lactation")]
    assert form.evaluate(CHECKED) == dict.fromkeys(six, None)
    page.locator("#all-no").click()
    assert form.evaluate(CHECKED) == dict.fromkeys(six, "no")
    page.locator("#id_temperature_c").fill("36.5")
    form.get_by_role("button", name="提交预检结果").click()
    expect(page.locator("#outcome")).to_contain_text("可以接种")
    record = ScreeningRecord.objects.get(resident=man)
    assert record.outcome == "proceed"
    assert record.answers["pregnancy"] is False and record.answers["lactation"] is False
    assert not ScreeningRecord.objects.filter(resident=woman).exists()


def test_a_walk_in_is_shown_as_registered_on_the_spot_not_with_a_slot_time(
    page, live_server, desk1, village_a1
):
    from django.utils import timezone

    from vaxops.booking.models import Appointment
    from vaxops.conftest import make_id
    from vaxops.registry.models import Resident

    _site_user("registrar", "site_registration", desk1, "registration员")
    person = Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(dt.date(1975, 3, 2), 9),
        name="赵现场",
        village=village_a1,
        village_code=village_a1.code,
        birth_date=dt.date(1975, 3, 2),
        phone="13912340009",
    )

    _login(page, "registrar")
    page.goto(f"/desk/{desk1.session.pk}/checkin/")
    scan = page.locator("#scan")
    scan.fill(person.id_number)
    with page.expect_navigation():
        scan.press("Enter")
    walk_in = page.locator("#walk-in-form")
    expect(walk_in).to_be_visible()
    with page.expect_navigation():
        walk_in.get_by_role("button", name="现场登记").click()

    expect(page.locator("#checkin-message")).to_contain_text("已现场登记并签到")
    line = page.locator("#checkin-appointment")
    expect(line).to_contain_text("现场登记")
    expect(line).to_contain_text("现场号")
    expect(line).not_to_contain_text("预约：")
    a = Appointment.objects.get(resident=person)
    assert a.walk_in and a.status == "checked_in"
    text = line.inner_text()
    assert "签到 10:00" in text, text  # the time they checked in
    assert not re.search(r"\d\d:\d\d\s*[–-]\s*\d\d:\d\d", text), text  # no slot's range
    assert f"{timezone.localtime(a.changed_at):%H:%M}" == "10:00"
    row = page.locator(f"#checked-in-{person.pk}")
    expect(row).to_contain_text("赵现场")  # the desk staff of the session see full names
    expect(row).to_contain_text("现场号")
    expect(row).to_contain_text("10:00")
