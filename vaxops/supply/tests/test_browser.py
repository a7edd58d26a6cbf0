"""In headless Chromium: the county planner receives a delivery, allocates and approves it, a township store
scans the codes of its dispatch on arrival, and the lot trace shows where the doses are."""

import os
from datetime import date

import pytest

from vaxops.conftest import PASSWORD, make_id
from vaxops.testing.browser import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)

LOT = "202106A01"


def _code(serial: int) -> str:
    return f"8100101{serial:09d}0000"


@pytest.fixture
def county_setup(county, village_a1, village_b1):
    """The county store and two township stores; six people to cover in 甲镇 and two in 乙镇."""
    from vaxops.campaign.services import status_refresh_all
    from vaxops.registry.models import Resident
    from vaxops.supply.tests.factories import network

    places = network(county)
    for village, first, n in ((village_a1, 10, 6), (village_b1, 40, 2)):
        for i in range(n):
            Resident.objects.create(
                id_type="resident_id",
                id_number=make_id(date(1970, 1, 1), first + i),
                name=f"居民{first + i}",
                birth_date=date(1970, 1, 1),
                village=village,
                village_code=village.code,
            )
    status_refresh_all()
    return places


def _login(page, username):
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("header .who")).to_be_visible()


def test_planner_receives_allocates_dispatches_and_traces_a_lot(page, live_server, cdc, county_setup):
    from vaxops.catalog.models import Product
    from vaxops.supply import selectors
    from vaxops.supply.models import Dispatch, DispatchStatus, StockBalance

    product = Product.objects.get(code="BBIBP-CorV")
    _login(page, "cdc")

    # 1. The delivery's receipt file goes into the county store (the default place).
    page.locator("header nav details[data-group=supply] summary").click()
    page.locator("header nav").get_by_role("link", name="疫苗供应与追溯").click()
    expect(page.locator("h1")).to_have_text("疫苗供应与追溯")
    page.get_by_role("link", name="收货导入").click()
    expect(page.locator("#id_place option:checked")).to_have_text("县疾控冷库（CDC）")
    receipt = "追溯码,批号,疫苗品种,有效期至\n" + "".join(
        f"{_code(i)},{LOT},BBIBP-CorV,2099-12-31\n" for i in range(1, 9)
    )
    page.locator("#id_file").set_input_files(
        files=[{"name": "到货.csv", "mimeType": "text/csv", "buffer": receipt.encode()}]
    )
    page.get_by_role("button", name="开始导入").click()
    expect(page.locator("#job-status")).to_have_text("已完成")
    expect(page.locator("#job-counts")).to_have_text("读取 8 行：新登记 8，未变 0，拒绝 0")

    # 2. Allocation by need alone (weights 0), then approval creates one dispatch per township.
    page.get_by_role("link", name="疫苗分配").click()
    page.locator("#id_product").select_option(str(product.pk))
    page.locator("#id_doses_arriving").fill("8")
    for weight in ("risk", "density", "mobility"):
        page.locator(f"#id_{weight}").fill("0")
    page.get_by_role("button", name="生成分配方案").click()
    lines = page.locator("#lines tbody tr")
    expect(lines).to_have_count(2)
    expect(lines.filter(has_text="甲镇冷库").locator("td.doses")).to_have_text("6")
    expect(lines.filter(has_text="乙镇冷库").locator("td.doses")).to_have_text("2")
    expect(page.locator("#chart .hbar")).to_have_count(2)
    page.get_by_role("button", name="审批并生成调拨单").click()
    expect(page.locator(".msg.success")).to_have_text("分配方案已审批，生成调拨单2张，共8剂")
    expect(page.locator("#run-status")).to_contain_text("已审批")

    # 3. At 甲镇冷库 every code of the dispatch is scanned: a keyboard-wedge scanner types digits and Enter.
    page.locator("#run-dispatches li", has_text="甲镇冷库").get_by_role("link").click()
    expect(page.locator("#dispatch-status")).to_contain_text("在途")
    sent = [t.strip() for t in page.locator("#codes tbody tr td:first-child").all_inner_texts()]
    assert len(sent) == 6
    scanner = page.locator("#id_scanned")
    scanner.click()
    for c in sent:
        scanner.press_sequentially(c)
        scanner.press("Enter")
    assert scanner.input_value().split("\n")[:6] == sent
    page.get_by_role("button", name="确认签收").click()
    expect(page.locator(".msg.success")).to_contain_text("已签收，与调出相符")
    expect(page.locator("#dispatch-status")).to_contain_text("已签收")
    expect(page.locator("#items tbody tr").first).to_contain_text("6 / 6")

    # 4. The lot trace: 6 in stock at 甲镇, 2 on their way to 乙镇, none left at the county store.
    page.locator("#items").get_by_role("link", name=LOT).click()
    expect(page.locator("h1")).to_contain_text(LOT)
    expect(page.locator("#states .stat", has_text="在库").locator(".n")).to_have_text("6")
    expect(page.locator("#states .stat", has_text="在途").locator(".n")).to_have_text("2")
    places = page.locator("#trace-places tbody tr")
    expect(places.filter(has_text="县疾控冷库").locator("td").nth(2)).to_have_text("8")  # sent
    expect(places.filter(has_text="县疾控冷库").locator("td.in-stock")).to_have_text("0")
    expect(places.filter(has_text="甲镇冷库").locator("td.in-stock")).to_have_text("6")

    to_b = Dispatch.objects.get(to_place__code="T002")
    assert to_b.status == DispatchStatus.IN_TRANSIT
    assert StockBalance.objects.get(place__code="T001", lot__lot_number=LOT).doses == 6
    assert selectors.ledger_check()["balanced"]
