"""The daily report page: figures per township, confirmation, lateness, the XLSX roll-up."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from vaxops.accounts.services import user_create
from vaxops.jurisdictions.models import Division
from vaxops.reports import services
from vaxops.reports.models import DailyReport

from .conftest import DAY

PASSWORD = "x-Password-1"


@pytest.fixture
def township_a(county):
    return user_create(
        username="tw_a",
        password=PASSWORD,
        role="township_worker",
        division=Division.objects.get(code="330199001000"),
    )


@pytest.fixture(autouse=True)
def half_past_four(monkeypatch):
    monkeypatch.setattr(
        "vaxops.core.clock.now", lambda: datetime(2021, 6, 10, 16, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    )


def test_the_county_sees_every_township_and_who_is_late(history, client, cdc):
    services.daily_reports_mark_late(day=DAY)
    client.force_login(cdc)
    page = client.get("/reports/daily/", {"date": "2021-06-10"}).content.decode()
    assert "甲镇" in page and "乙镇" in page and "逾期未报：2 个乡镇（街道）" in page
    assert 'data-township="330199001000"' in page and "确认本乡镇日报表" in page


def test_a_township_confirms_from_the_page_and_then_may_only_correct_with_a_reason(
    history, client, township_a
):
    client.force_login(township_a)
    page = client.get("/reports/daily/", {"date": "2021-06-10"}).content.decode()
    assert "乙镇" not in page  # only its own township
    answer = client.post(
        "/reports/daily/confirm/", {"township": "330199001000", "day": "2021-06-10", "note": "已核对"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/reports/daily/?date=2021-06-10"
    page = client.get(answer["Location"]).content.decode()
    assert "甲镇2021-06-10日报表已确认" in page and "已确认 · 第1版" in page and "已核对" in page
    again = client.post(
        "/reports/daily/confirm/", {"township": "330199001000", "day": "2021-06-10"}, follow=True
    )
    assert "如需更正，请填写更正原因" in again.content.decode()
    assert DailyReport.objects.count() == 1
    bad = client.post("/reports/daily/confirm/", {"township": "33", "day": "2021-06-10"}, follow=True)
    assert "乡镇（街道）：乡镇代码应为9或12位数字" in bad.content.decode()


def test_roles_without_the_report_are_refused_the_page(history, client, worker_a):
    client.force_login(worker_a)
    assert client.get("/reports/daily/").status_code == 403
    assert client.post(
        "/reports/daily/confirm/", {"township": "330199001000", "day": "2021-06-10"}
    ).status_code in (302, 403)
    assert not DailyReport.objects.exists()


def test_the_county_roll_up_downloads_as_xlsx(history, client, cdc):
    client.force_login(cdc)
    answer = client.get("/reports/daily/report.xlsx", {"date": "2021-06-10"})
    assert answer.status_code == 200
    ws = openpyxl.load_workbook(
        io.BytesIO(b"".join(answer.streaming_content) if answer.streaming else answer.content)
    ).active
    rows = list(ws.values)
    assert rows[0][0] == "新冠疫苗接种相关信息日报表"
    assert rows[1][0] == "填报单位：清溪县（盖章）" and "2021年06月10日" in [v for v in rows[1] if v][-1]
    assert rows[2][:4] == ("序号", "乡镇（街道）", "当日接种剂次", None)  # a group's cells are merged
    assert rows[3][2:7] == ("第1剂", "第2剂", "第3剂", "加强免疫", "小计")
    assert rows[4][:2] == (1, "甲镇") and rows[4][2:7] == (1, 1, 0, 0, 2)
    total = rows[6]
    assert total[1] == "合计" and total[6] == 3 and total[11] == 5 and total[-1] == "已确认0/2"
    assert rows[4][-1] == "未确认"
    assert "A1:" in str(ws.merged_cells) and any(str(r) == "C3:G3" for r in ws.merged_cells.ranges)
    assert any(str(v[0]).startswith("填报人：") for v in rows[7:] if v[0])


def test_the_county_roll_up_downloads_as_pdf(history, client, cdc):
    from vaxops.certs.document import font_available

    if not font_available():
        pytest.skip("no Chinese TrueType font installed")
    client.force_login(cdc)
    answer = client.get("/reports/daily/report.pdf", {"date": "2021-06-10"})
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF") and len(answer.content) > 5000


def test_a_leader_home_page_leads_to_the_daily_report_not_a_placeholder(client, leader):
    client.force_login(leader)
    page = client.get("/").content.decode()
    assert '<a href="/reports/daily/">各乡镇接种进度（每日17时前确认）</a>' in page
    assert "后续功能中提供" not in page
