"""The cold-chain pages: overview, unit page with its curve and decisions, manual log, upload, inventory."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from vaxops.coldchain.models import Excursion, Reading
from vaxops.conftest import PASSWORD
from vaxops.desk.tests.desk_setup import open_site, ten_in_the_morning
from vaxops.supply.models import CodeState, TraceCode

from .helpers import equipment_for, feed


@pytest.fixture
def site(county, village_a1, vaccinator, monkeypatch):
    now = ten_in_the_morning(monkeypatch)
    d = open_site(county, village_a1, vaccinator)
    d.now = now
    return d


@pytest.fixture
def eq(site):
    return equipment_for(site.place, make="海尔", model_name="HYC-310", year_in_service=2012)


@pytest.fixture
def as_cdc(client, cdc, site):
    # Logged in after ``site`` fixed the clock: a session made at the real time has lapsed when the fixed
    # clock is more than 30 minutes ahead of it (between midnight and 09:30 in Shanghai).
    client.force_login(cdc)
    return client


def test_the_unit_page_draws_the_curve_and_lists_the_excursion(as_cdc, site, eq):
    feed(eq, site.now - dt.timedelta(hours=3), [5.0] + [-1.0] * 61 + [5.0])
    r = as_cdc.get(f"/coldchain/units/{eq.code}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "<polyline" in html and 'class="band"' in html
    assert "冻结" in html and 'data-status="open"' in html
    assert len(r.context["curve"]["points"].split()) == 63
    # Beside the chart, the latest readings newest first, those out of range marked.
    table = r.context["table"]
    assert len(table) == 48 and table[0]["at"] > table[-1]["at"]
    assert [row["out"] for row in table[:2]] == [False, True] and 'id="readings-table"' in html


def test_the_county_acknowledges_and_destroys_through_the_page(as_cdc, site, eq):
    feed(eq, site.now - dt.timedelta(hours=3), [5.0] + [-1.0] * 61 + [5.0])
    e = Excursion.objects.get(kind="freeze")
    as_cdc.post(f"/coldchain/excursions/{e.pk}/acknowledge/")
    r = as_cdc.post(
        f"/coldchain/excursions/{e.pk}/assess/", {"decision": "destroy", "reason": "冻结"}, follow=True
    )
    assert "销毁须填写监督人" in r.content.decode()
    as_cdc.post(
        f"/coldchain/excursions/{e.pk}/assess/",
        {"decision": "destroy", "reason": "冻结", "witness": "李监督"},
    )
    assert Excursion.objects.get(pk=e.pk).status == "assessed"
    assert TraceCode.objects.filter(state=CodeState.WASTED).count() == 10


def test_the_overview_shows_silent_units_and_open_excursions(as_cdc, site, eq):
    feed(eq, site.now - dt.timedelta(hours=3), [5.0] + [-1.0] * 61 + [5.0])
    r = as_cdc.get("/coldchain/")
    assert r.status_code == 200
    [row] = r.context["rows"]
    assert row["silent"] and row["open_excursions"] == 2 and row["quarantined"] == 10
    assert r.context["alerts"]


def test_the_manual_log(as_cdc, site, eq):
    r = as_cdc.post(f"/coldchain/units/{eq.code}/log/", {"celsius": "4.5"})
    assert r.status_code == 302
    assert Reading.objects.get(sensor__kind="manual").celsius == 4.5
    r = as_cdc.get(f"/coldchain/units/{eq.code}/log/")
    assert "上午 10:00" in r.content.decode()


def test_the_upload_page(as_cdc, site, eq):
    start = (site.now - dt.timedelta(hours=1)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    text = "Time,Temperature\n" + "\n".join(
        f"{(start + dt.timedelta(minutes=i)):%Y-%m-%d %H:%M},{5 + i / 10}" for i in range(10)
    )
    f = io.BytesIO(text.encode())
    f.name = "logger.csv"
    r = as_cdc.post(f"/coldchain/units/{eq.code}/import/", {"file": f})
    assert r.status_code == 200 and r.context["result"]["stored"] == 10


def test_the_inventory_lists_units_due_for_renewal_and_exports(as_cdc, site, eq):
    r = as_cdc.get("/coldchain/equipment/")
    assert [row["eq"].code for row in r.context["due"]] == [eq.code]
    x = as_cdc.get("/coldchain/equipment.xlsx")
    ws = load_workbook(io.BytesIO(x.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "设备编码" and rows[1][0] == eq.code and rows[1][10] == 2022


def test_a_unit_outside_the_users_scope_is_not_found(client, site, eq, county):
    from vaxops.accounts.services import user_create
    from vaxops.jurisdictions.models import Division

    other = user_create(
        username="town_b",
        password=PASSWORD,
        role="township_worker",
        division=Division.objects.get(code="330199002000"),
    )
    client.force_login(other)
    assert client.get(f"/coldchain/units/{eq.code}/").status_code == 404
    assert client.get("/coldchain/").context["rows"] == []


def test_the_pages_speak_english(client, cdc, site, eq, worker_a):
    from vaxops.coldchain.models import StaffAlert
    from vaxops.core.tests.test_english import chinese_in

    feed(eq, site.now - dt.timedelta(hours=3), [5.0] + [-1.0] * 61 + [5.0])
    client.force_login(cdc)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    names = (
        *StaffAlert.objects.values_list("text", flat=True),  # stored when raised: data
        cdc.division.name,
        site.place.name,
        eq.make,
        eq.unit.place.division.name,
    )
    for url in ("/coldchain/", f"/coldchain/units/{eq.code}/", f"/coldchain/units/{eq.code}/log/"):
        html = client.get(url).content.decode()
        left = chinese_in(html, allowed=names)
        assert left == [], (url, left)
    html = client.get(f"/coldchain/units/{eq.code}/").content.decode()
    assert "Freeze" in html and "Excursions and decisions" in html
