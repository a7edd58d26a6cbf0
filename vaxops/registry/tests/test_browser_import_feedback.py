"""In headless Chromium: the census import page offers the village as a list of the user's own villages (a
village worker sees their village, a township worker the township's), and a file holding the same ID number
twice shows a duplicate-in-file error naming both rows, with the person's name and masked ID in the table."""

import os
import re
from datetime import date

import pytest

from vaxops.conftest import PASSWORD, make_id
from vaxops.testing.browser import CHROMIUM, menu_link

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)

A1, A2 = "330199001001", "330199001002"
ID_1 = make_id(date(1980, 5, 1), 1)
ID_2 = make_id(date(1975, 3, 9), 2, sex="M")


@pytest.fixture
def township_a(county):
    from vaxops.accounts.services import user_create
    from vaxops.jurisdictions.models import Division

    return user_create(
        username="township_a",
        password=PASSWORD,
        role="township_worker",
        division=Division.objects.get(code="330199001000"),
    )


def _login(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()


def _options(page) -> list[tuple[str, str]]:
    pairs = page.locator("#village_code option").evaluate_all(
        "os => os.map(o => [o.value, o.textContent.trim()])"
    )
    return [tuple(pair) for pair in pairs]


def test_the_village_is_picked_from_the_users_own_villages(page, live_server, worker_a, township_a):
    _login(page, "worker_a")
    menu_link(page, "名单导入").click()
    expect(page.locator("h1")).to_have_text("摸底名单导入")
    picker = page.locator("select#village_code")
    expect(picker).to_be_visible()
    expect(page.locator("input#village_code")).to_have_count(0)  # not a free-text code any more
    assert _options(page) == [("", "按文件中的村(社区)代码"), (A1, f"甲镇1村（{A1}）")]
    expect(picker).to_have_value("")

    _login(page, "township_a")
    page.goto("/residents/import/")
    assert _options(page) == [
        ("", "按文件中的村(社区)代码"),
        (A1, f"甲镇1村（{A1}）"),
        (A2, f"甲镇2村（{A2}）"),
    ]
    picker.select_option(A2)
    expect(picker).to_have_value(A2)


def test_the_same_id_twice_in_a_file_is_a_duplicate_naming_the_rows(page, live_server, worker_a):
    from vaxops.registry.models import ImportJob, Resident

    data = f"姓名,证件号码,手机号码\n王芳,{ID_1},\n李强,{ID_2},\n王芳,{ID_1},13800000001\n".encode()
    _login(page, "worker_a")
    page.goto("/residents/import/")
    page.locator("#file").set_input_files(
        files=[{"name": "census.csv", "mimeType": "text/csv", "buffer": data}]
    )
    page.locator("#village_code").select_option(A1)
    page.get_by_role("button", name="开始导入").click()

    expect(page).to_have_url(re.compile(r"/residents/import/\d+/$"))
    expect(page.locator("#job-status")).to_have_text("已完成", timeout=20_000)
    counts = page.locator("#job-counts")
    expect(counts).to_contain_text("读取 3 行")
    expect(counts).to_contain_text("新建 2")
    expect(counts).to_contain_text("拒绝 1")
    expect(counts).not_to_contain_text("更新 1")
    rows = page.locator("#row-errors tbody tr")
    expect(rows).to_have_count(1)
    cells = rows.first.locator("td")
    expect(cells.nth(0)).to_have_text("4")
    expect(cells.nth(1)).to_have_text("王芳")
    expect(cells.nth(2)).to_have_text(ID_1[:6] + "********" + ID_1[-4:])
    expect(cells.nth(3)).to_have_text("证件号码")
    expect(cells.nth(4)).to_contain_text("与第2行的证件号码相同")
    expect(cells.nth(4)).to_contain_text("第4行未导入")
    assert ID_1 not in page.content()

    job = ImportJob.objects.get()
    assert (job.read, job.created, job.updated, job.rejected) == (3, 2, 0, 1)
    assert set(Resident.objects.values_list("village__code", flat=True)) == {A1}
    assert Resident.objects.get(id_number=ID_1).phone == ""  # the second row did not overwrite the first
