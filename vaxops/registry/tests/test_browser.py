"""Real-browser tests: headless Chromium (Debian's /usr/bin/chromium) against pytest-django's live server.

One browser for the module, a fresh context (cookies, storage) per test. Runs on SQLite (in-memory,
shared with the live-server thread) and on PostgreSQL (``DATABASE_URL``).
"""

import io
import os
import re
from datetime import date
from urllib.parse import unquote

import pytest

from vaxops.conftest import PASSWORD, make_id
from vaxops.testing.browser import CHROMIUM, menu_link

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]

MASKED_ID = re.compile(r"\d{6}\*{8}\d{3}[\dX]")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VILLAGE_A1 = "330199001001"
VILLAGE_B1 = "330199002001"
NOT_FOUND = "居民不存在或不在您的管辖范围内"

expect.set_options(timeout=10_000)


@pytest.fixture
def people(cdc):
    """Three residents of village A1 (worker_a's) and one of village B1 (worker_b's)."""
    from vaxops.registry.services import resident_create

    rows = [
        ("王小明", make_id(date(1958, 3, 14), 11, sex="M"), VILLAGE_A1, "13812345678"),
        ("王小红", make_id(date(1990, 7, 2), 12, sex="F"), VILLAGE_A1, "13912345670"),
        ("李大山", make_id(date(1975, 11, 30), 13, sex="M"), VILLAGE_A1, ""),
        ("赵六", make_id(date(1985, 1, 9), 14, sex="F"), VILLAGE_B1, "13712345671"),
    ]
    out = {}
    for name, id_number, village, phone in rows:
        data = {"name": name, "id_number": id_number, "village_code": village}
        if phone:
            data["phone"] = phone
        out[name] = resident_create(actor=cdc, data=data)
    return out


def login(page, username: str, password: str = PASSWORD, *, button: str = "登录"):
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    with page.expect_navigation() as navigation:  # the POST's answer has loaded before we look at the page
        page.get_by_role("button", name=button, exact=True).click()
    return navigation.value


def test_village_worker_searches_opens_and_reveals(page, live_server, worker_a, people):
    from vaxops.audit.models import AuditEvent

    login(page, "worker_a")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("村（社区）工作人员 · 甲镇1村")
    expect(page.locator(".card.stat", has_text="辖区建档人数").locator(".n")).to_have_text("3")

    menu_link(page, "居民查询").click()
    expect(page.locator("h1")).to_contain_text("居民查询")
    expect(page.locator("h1")).to_contain_text("甲镇1村")
    expect(page.locator("#results")).to_contain_text("共 3 人")
    expect(page.locator("#results")).not_to_contain_text("赵六")

    # Mark the document: if the search reloaded the whole page the mark would be gone.
    page.evaluate("window.__vxMark = 'kept'")
    with page.expect_response(
        lambda r: "/residents/?" in r.url and "q=" in r.url and r.request.headers.get("hx-request") == "true"
    ) as resp_info:
        page.locator("#q").fill("小明")
    assert resp_info.value.status == 200
    results = page.locator("#results")
    expect(results).to_contain_text("共 1 人")
    rows = results.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("王小明")
    expect(rows.first).not_to_contain_text("王小红")
    masked = rows.first.locator("td").nth(1).inner_text().strip()
    assert MASKED_ID.fullmatch(masked), masked
    ming = people["王小明"]
    assert masked == ming.id_number[:6] + "********" + ming.id_number[-4:]
    assert ming.id_number not in page.content()
    assert page.evaluate("window.__vxMark") == "kept"
    assert "q=小明" in unquote(page.url)  # hx-push-url

    rows.first.get_by_role("link", name="王小明").click()
    expect(page).to_have_url(f"{live_server.url}/residents/{ming.pk}/")
    expect(page.locator("h1")).to_have_text("王小明")
    expect(page.locator("#id-number")).to_have_text(MASKED_ID)
    expect(page.locator("#phone")).to_have_text("138****5678")
    assert ming.id_number not in page.content()

    purpose = "电话通知接种时间"
    page.locator("#purpose").fill(purpose)
    page.get_by_role("button", name="查看完整信息").click()
    expect(page.locator("#full-id")).to_have_text(ming.id_number)
    expect(page.locator("#full-phone")).to_have_text("13812345678")
    expect(page.locator("#reveal")).to_contain_text("本次查看已记录在审计日志")

    events = AuditEvent.objects.filter(action="resident.reveal", object_id=str(ming.pk))
    assert events.count() == 1
    event = events.get()
    assert event.purpose == purpose
    assert event.actor_label == "worker_a"
    assert event.actor_id == worker_a.pk
    assert event.ip == "127.0.0.1"


def test_outsider_cannot_see_resident(page, live_server, worker_a, worker_b, people):
    ming = people["王小明"]
    login(page, "worker_b")
    expect(page.locator("h1")).to_have_text("村（社区）工作人员 · 乙镇1村")

    response = page.goto(f"/residents/{ming.pk}/")
    assert response.status == 404
    expect(page.locator(".msg.error")).to_have_text(NOT_FOUND)
    assert "王小明" not in page.content()
    assert ming.id_number[:6] + "********" not in page.content()

    page.goto("/residents/")
    results = page.locator("#results")
    expect(results).to_contain_text("共 1 人")
    expect(results).to_contain_text("赵六")  # the list works: worker_b sees their own village
    for name in ("王小明", "王小红", "李大山"):
        assert name not in results.inner_text()

    page.goto("/residents/?q=王小明")
    expect(page.locator("#results")).to_contain_text("共 0 人")
    expect(page.locator("#results")).to_contain_text("没有符合条件的居民")


def _census_csv() -> tuple[bytes, list[str]]:
    good = [
        make_id(date(1962, 4, 1), 21),
        make_id(date(1979, 8, 15), 22, sex="M"),
        make_id(date(2001, 2, 28), 23),
    ]
    bad = make_id(date(1988, 6, 6), 24)
    bad = bad[:-1] + ("1" if bad[-1] != "1" else "2")  # wrong check character
    lines = [
        "姓名,证件号码,村(社区)代码,手机号码,接种意愿",
        f"孙一,{good[0]},{VILLAGE_A1},13800000001,愿意",
        f"孙二,{good[1]},{VILLAGE_A1},13800000002,犹豫",
        f"孙三,{good[2]},{VILLAGE_A1},,拒绝",
        f"孙四,{bad},{VILLAGE_A1},13800000004,愿意",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8"), good


def test_census_import_shows_counts_errors_and_report(page, live_server, worker_a):
    from openpyxl import load_workbook

    from vaxops.registry.models import ImportJob, Resident

    data, good_ids = _census_csv()
    login(page, "worker_a")
    menu_link(page, "名单导入").click()
    expect(page.locator("h1")).to_have_text("摸底名单导入")
    page.locator("#file").set_input_files(
        files=[{"name": "census.csv", "mimeType": "text/csv", "buffer": data}]
    )
    page.get_by_role("button", name="开始导入").click()

    expect(page).to_have_url(re.compile(r"/residents/import/\d+/$"))
    job_pk = int(re.search(r"/residents/import/(\d+)/$", page.url).group(1))
    expect(page.locator("h1")).to_contain_text("census.csv")
    expect(page.locator("#job-status")).to_have_text("已完成", timeout=20_000)
    counts = page.locator("#job-counts")
    expect(counts).to_contain_text("读取 4 行")
    expect(counts).to_contain_text("新建 3")
    expect(counts).to_contain_text("拒绝 1")
    error_rows = page.locator("#job table tbody tr")
    expect(error_rows).to_have_count(1)
    cells = error_rows.first.locator("td")
    expect(cells.nth(0)).to_have_text("5")
    expect(cells.nth(1)).to_have_text("孙四")  # the row's name and masked ID beside row and column
    expect(cells.nth(3)).to_have_text("证件号码")
    expect(cells.nth(4)).to_contain_text("校验位")

    job = ImportJob.objects.get(pk=job_pk)
    assert (job.status, job.read, job.created, job.rejected) == ("done", 4, 3, 1)
    assert set(Resident.objects.filter(village_code=VILLAGE_A1).values_list("id_number", flat=True)) == set(
        good_ids
    )

    link = page.get_by_role("link", name="下载错误报告（XLSX）")
    href = link.get_attribute("href")
    assert href == f"/residents/import/{job_pk}/errors.xlsx"
    response = page.request.get(href)  # shares the browser context's session cookie
    assert response.status == 200
    assert response.headers["content-type"] == XLSX
    assert f"import-{job_pk}-errors.xlsx" in response.headers["content-disposition"]
    assert response.headers["content-disposition"].startswith("attachment")
    body = response.body()
    assert body[:4] == b"PK\x03\x04"
    ws = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("行号", "姓名", "证件号码", "列", "错误原因")
    assert len(rows) == 2
    assert rows[1][0] == 5 and rows[1][1] == "孙四" and rows[1][3] == "证件号码" and "校验位" in rows[1][4]

    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == f"import-{job_pk}-errors.xlsx"
    with open(download.path(), "rb") as f:
        assert f.read(4) == b"PK\x03\x04"


def test_language_button_switches_to_english(page, live_server, worker_a, people):
    page.goto("/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("h1")).to_have_text("登录")
    page.get_by_role("button", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.get_by_text("User name", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="中文")).to_be_visible()
    expect(page.get_by_role("button", name="English")).to_have_count(0)

    # The choice sticks: signing in lands on an English home page.
    login(page, "worker_a", button="Sign in")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(menu_link(page, "Residents")).to_be_visible()
    expect(page.locator(".card.stat", has_text="Registered residents in scope").locator(".n")).to_have_text(
        "3"
    )

    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(menu_link(page, "居民查询")).to_be_visible()
    expect(page.locator(".card.stat", has_text="辖区建档人数").locator(".n")).to_have_text("3")


def test_five_wrong_passwords_lock_the_account(page, live_server, worker_a):
    for attempt in range(1, 5):
        login(page, "worker_a", "wrong-password-123")
        expect(page.locator(".msg.error")).to_contain_text("用户名或密码错误", timeout=5_000)
        assert "/accounts/login/" in page.url, attempt
    login(page, "worker_a", "wrong-password-123")  # the fifth failure
    response = login(page, "worker_a", PASSWORD)  # the right password, too late
    assert response.status == 429
    expect(page.locator("h1")).to_have_text("账号已锁定")
    expect(page.locator("main")).to_contain_text("锁定")
    expect(page.locator("main")).to_contain_text("30分钟")
    # Not signed in: the home page still sends us to the login form.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
