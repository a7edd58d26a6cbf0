"""The supply pages through the Django test client, on data built by the real services."""

import io
import re
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import load_workbook

from vaxops.accounts.services import user_create
from vaxops.audit.models import AuditEvent
from vaxops.conftest import PASSWORD, make_id
from vaxops.jurisdictions.models import Division
from vaxops.registry.models import Resident
from vaxops.supply import selectors, services
from vaxops.supply.models import (
    AllocationRun,
    CodeState,
    Discrepancy,
    Dispatch,
    DispatchStatus,
    Lot,
    ReceiptImportJob,
    StockBalance,
    StockCount,
    TraceCode,
)

from .factories import code, network, receive


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def places(county):
    return network(county)


@pytest.fixture
def town_b(county):
    """A township worker of 乙镇 (township B): acts on 乙镇冷库 only."""
    return user_create(
        username="town_b",
        password=PASSWORD,
        role="township_worker",
        division=Division.objects.get(code="330199002000"),
    )


@pytest.fixture
def planner(client, cdc):
    client.force_login(cdc)
    return client


def _resident(village, seq, name="王小明"):
    return Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(date(1970, 1, 1), seq),
        name=name,
        village=village,
        village_code=village.code,
    )


def _body(r) -> str:
    return r.content.decode()


def _text(r) -> str:
    """The page's text without tags and with whitespace collapsed, for phrases split across elements."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", _body(r)))


def _sheet(content: bytes) -> list[tuple]:
    wb = load_workbook(io.BytesIO(content), read_only=True)
    return [tuple(r) for r in wb.worksheets[0].iter_rows(values_only=True)]


# --------------------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------------------


class TestAccess:
    def test_pages_need_a_login(self, client, county):
        r = client.get("/supply/")
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")

    def test_a_role_without_supply_permissions_is_forbidden_and_sees_no_link(self, client, worker_a):
        client.force_login(worker_a)
        for url in (
            "/supply/",
            "/supply/lots/",
            "/supply/dispatches/",
            "/supply/import/",
            "/supply/counts/new/",
        ):
            assert client.get(url).status_code == 403, url
        assert 'href="/supply/"' not in _body(client.get("/"))

    def test_the_planner_sees_the_nav_link(self, planner):
        body = _body(planner.get("/"))
        assert '<a href="/supply/">疫苗供应与追溯</a>' in body  # in the header's 疫苗供应 group

    def test_the_leader_reads_the_overview_but_not_the_lots(self, client, leader, places):
        client.force_login(leader)
        assert client.get("/supply/").status_code == 200
        assert client.get("/supply/lots/").status_code == 403


# --------------------------------------------------------------------------------------------------
# Overview and balances
# --------------------------------------------------------------------------------------------------


class TestOverview:
    def test_it_shows_stock_transit_cold_chain_alerts_ledger_and_balances(self, planner, cdc, places):
        store, town_a, _ = places
        soon = (timezone.localdate() + timedelta(days=10)).isoformat()
        later = receive(store, lot_number="LATER", first=100, n=20)
        d = services.dispatch_create(
            actor=cdc, from_place=store, to_place=town_a, product=later.product, doses=5
        )
        Dispatch.objects.filter(pk=d.pk).update(dispatched_at=timezone.now() - timedelta(hours=30))
        receive(store, lot_number="SOON", n=3, expiry=soon)  # after the dispatch, which would take it first

        r = planner.get("/supply/")

        assert r.status_code == 200
        body, text = _body(r), _text(r)
        row = re.search(r"<tr><td>甲镇冷库.*?</tr>", body, re.S).group(0)
        assert '<td class="stock">0</td><td>5</td>' in row  # nothing in stock yet, 5 doses on the way
        store_row = re.search(r"<tr><td>县疾控冷库.*?</tr>", body, re.S).group(0)
        assert '<td class="stock">18</td>' in store_row
        assert 'role="progressbar"' in row and "cm³" in row
        assert "SOON" in re.search(r'id="alerts".*?</div>', body, re.S).group(0)
        assert "还有10天" in text
        assert d.number in text and "已调出30" in text
        assert "账实相符" in text
        balances = re.search(r'id="balances".*?</table>', body, re.S).group(0)
        assert "LATER" in balances and "SOON" in balances and "<th>18</th>" in balances

    def test_it_reads_in_english_too(self, planner, places):
        store, _, _ = places
        receive(store, n=2)
        planner.post("/i18n/setlang/", {"language": "en", "next": "/supply/"})

        text = _text(planner.get("/supply/"))

        assert "Vaccine supply and traceability" in text and "Stock places" in text
        assert "Books and stock agree" in text and "Balances (place × lot)" in text
        assert "疫苗供应与追溯" not in text

    def test_the_balances_export_is_an_xlsx_with_chinese_headers(self, planner, cdc, places):
        store, town_a, _ = places
        a_lot = receive(store, n=6)
        d = services.dispatch_create(
            actor=cdc, from_place=store, to_place=town_a, product=a_lot.product, doses=2
        )
        services.dispatch_receive(actor=cdc, dispatch=d)

        r = planner.get("/supply/balances.xlsx")

        assert r.status_code == 200
        assert r["Content-Type"].startswith("application/vnd.openxmlformats")
        rows = _sheet(r.content)
        assert rows[0] == (
            "地点编码",
            "库存地点",
            "疫苗品种",
            "批号",
            "有效期至",
            "批号状态",
            "可用",
            "不可用原因",
            "结存（剂）",
        )
        assert [(x[0], x[3], x[8]) for x in rows[1:]] == [("CDC", "202105001", 4), ("T001", "202105001", 2)]
        assert rows[1][5] == "已放行" and rows[1][6] == "是"

    def test_a_township_worker_sees_only_its_places(self, client, town_b, places):
        store, town_a, town_b_store = places
        receive(town_b_store, n=2)
        receive(town_a, lot_number="A-ONLY", first=50, n=2)
        client.force_login(town_b)

        body = _body(client.get("/supply/"))

        assert "乙镇冷库" in body
        assert "甲镇冷库" not in body and "县疾控冷库" not in body and "A-ONLY" not in body
        assert [x[0] for x in _sheet(client.get("/supply/balances.xlsx").content)[1:]] == ["T002"]


# --------------------------------------------------------------------------------------------------
# Lots and the lot trace
# --------------------------------------------------------------------------------------------------


class TestLots:
    def test_the_list_shows_the_lots_with_their_stock(self, planner, places):
        store, _, _ = places
        a_lot = receive(store, n=7)
        Lot.objects.filter(pk=a_lot.pk).update(release_certificate="SZ20210001", manufacturer="北京生物")

        r = planner.get("/supply/lots/")

        row = re.search(r"<tr><td>国药北京.*?</tr>", _body(r), re.S).group(0)
        for part in (
            f'href="/supply/lots/{a_lot.pk}/"',
            "202105001",
            "北京生物",
            "2099-12-31",
            "SZ20210001",
            "已放行",
            "<td>7</td>",
        ):
            assert part in row, part

    def test_the_trace_shows_states_places_and_masked_recipients(self, planner, cdc, places, village_a1):
        store, town_a, _ = places
        a_lot = receive(store, n=6)
        d = services.dispatch_create(
            actor=cdc, from_place=store, to_place=town_a, product=a_lot.product, doses=4
        )
        services.dispatch_receive(actor=cdc, dispatch=d)
        person = _resident(village_a1, 1, "王小明")
        given = services.code_administer(
            actor=cdc,
            code=sorted(TraceCode.objects.filter(place=town_a).values_list("code", flat=True))[0],
            resident=person,
            place=town_a,
        )

        r = planner.get(f"/supply/lots/{a_lot.pk}/")

        assert r.status_code == 200
        body = _body(r)
        assert '<div class="n">5</div><div class="l">在库</div>' in body
        assert '<div class="n">1</div><div class="l">已接种</div>' in body
        table = re.search(r'id="trace-places".*?</table>', body, re.S).group(0)
        assert re.search(
            r"县疾控冷库.*?<td>6</td><td>4</td><td>0</td><td class=\"in-stock\">2</td>", table, re.S
        )
        assert re.search(
            r"甲镇冷库.*?<td>0</td><td>0</td><td>4</td><td class=\"in-stock\">3</td><td>1</td>", table, re.S
        )
        recipients = re.search(r'id="recipients".*?</table>', body, re.S).group(0)
        assert given.code in recipients and "王*明" in recipients
        assert person.id_number_masked in recipients and person.id_number not in body
        assert "已接种1人次" in recipients
        assert "查看完整身份" in body

    def test_reveal_needs_a_purpose_and_is_audited(self, planner, cdc, places, village_a1):
        store, _, _ = places
        a_lot = receive(store, n=2)
        person = _resident(village_a1, 1, "王小明")
        services.code_administer(actor=cdc, code=code(1), resident=person, place=store)

        refused = planner.post(f"/supply/lots/{a_lot.pk}/reveal/", {"purpose": ""})

        assert refused.status_code == 400
        assert person.id_number not in _body(refused) and "这个字段是必填项" in _body(refused)
        assert not AuditEvent.objects.filter(action="supply.trace_reveal").exists()

        shown = planner.post(f"/supply/lots/{a_lot.pk}/reveal/", {"purpose": "疑似异常反应调查"})

        assert shown.status_code == 200
        assert person.id_number in _body(shown) and "王小明" in _body(shown)
        assert "本次查看已记录在审计日志" in _body(shown)
        event = AuditEvent.objects.get(action="supply.trace_reveal")
        assert event.new["purpose"] == "疑似异常反应调查" and event.new["residents"] == [person.pk]
        assert event.actor_id == cdc.pk

    def test_reveal_is_refused_to_a_role_without_the_permission(
        self, client, county, places, cdc, village_a1
    ):
        store, _, _ = places
        a_lot = receive(store, n=1)
        services.code_administer(actor=cdc, code=code(1), resident=_resident(village_a1, 1), place=store)
        vaccinator = user_create(username="vac", password=PASSWORD, role="site_vaccinator", division=county)
        client.force_login(vaccinator)

        assert "查看完整身份" not in _body(client.get(f"/supply/lots/{a_lot.pk}/"))
        r = client.post(f"/supply/lots/{a_lot.pk}/reveal/", {"purpose": "好奇"})
        assert r.status_code == 403 and "无权查看完整身份信息" in _body(r)
        assert not AuditEvent.objects.filter(action="supply.trace_reveal").exists()

    def test_a_status_change_needs_a_reason_then_recall_return_empties_the_place(self, planner, cdc, places):
        store, _, _ = places
        a_lot = receive(store, n=3)

        r = planner.post(f"/supply/lots/{a_lot.pk}/status/", {"status": "recalled", "reason": ""})
        assert r.status_code == 400 and "这个字段是必填项" in _body(r)
        assert Lot.objects.get(pk=a_lot.pk).status == "released"

        r = planner.post(
            f"/supply/lots/{a_lot.pk}/status/", {"status": "recalled", "reason": "国家药监局召回"}
        )
        assert r.status_code == 302 and r["Location"] == f"/supply/lots/{a_lot.pk}/"
        assert Lot.objects.get(pk=a_lot.pk).status == "recalled"
        page = _body(planner.get(r["Location"]))
        assert "批号202105001的状态已改为“已召回”" in page and "召回退回" in page

        r = planner.post(f"/supply/lots/{a_lot.pk}/status/", {"status": "recalled", "reason": "再次"})
        assert r.status_code == 400 and "已是“已召回”状态" in _body(r)

        r = planner.post(f"/supply/lots/{a_lot.pk}/recall-return/", {"place": store.pk, "reason": "退回厂家"})
        assert r.status_code == 302
        assert TraceCode.objects.filter(lot=a_lot, state=CodeState.RECALLED).count() == 3
        assert StockBalance.objects.get(place=store, lot=a_lot).doses == 0
        assert "已从县疾控冷库召回退回批号202105001的追溯码3个" in _body(planner.get(r["Location"]))

    def test_only_the_county_may_change_a_lot_status(self, client, town_b, places):
        store, _, _ = places
        a_lot = receive(store, n=1)
        client.force_login(town_b)
        r = client.post(f"/supply/lots/{a_lot.pk}/status/", {"status": "on_hold", "reason": "温度异常"})
        assert r.status_code == 403 and "无权变更批号状态" in _body(r)
        assert Lot.objects.get(pk=a_lot.pk).status == "released"


# --------------------------------------------------------------------------------------------------
# Codes
# --------------------------------------------------------------------------------------------------


class TestCodes:
    def test_search_redirects_to_the_trace_which_shows_the_path(self, planner, cdc, places):
        store, town_a, _ = places
        a_lot = receive(store, n=2)
        d = services.dispatch_create(
            actor=cdc, from_place=store, to_place=town_a, product=a_lot.product, doses=2
        )
        services.dispatch_receive(actor=cdc, dispatch=d)

        r = planner.get("/supply/codes/", {"code": f" {code(1)}\n"})
        assert r.status_code == 302 and r["Location"] == f"/supply/codes/{code(1)}/"

        body = _body(planner.get(r["Location"]))
        assert "在库" in re.search(r'id="code-state".*?</dd>', body, re.S).group(0)
        hops = re.search(r'id="hops".*?</table>', body, re.S).group(0)
        assert d.number in hops and "县疾控冷库" in hops and "甲镇冷库" in hops and "已签收" in hops
        assert f'href="/supply/dispatches/{d.pk}/"' in hops

    def test_a_bad_or_unknown_code_is_explained(self, planner, places):
        r = planner.get("/supply/codes/", {"code": "12345"})
        assert r.status_code == 400 and "为5位，应为20位数字" in _body(r)
        r = planner.get(f"/supply/codes/{code(9)}/")
        assert r.status_code == 404 and "未登记" in _body(r)

    def test_wastage_of_a_code_in_stock(self, planner, places):
        store, _, _ = places
        a_lot = receive(store, n=2)

        r = planner.post(f"/supply/codes/{code(1)}/waste/", {"reason": "other", "note": ""})
        assert r.status_code == 400 and "须说明" in _body(r)

        r = planner.post(f"/supply/codes/{code(1)}/waste/", {"reason": "broken", "note": "摔落"})
        assert r.status_code == 302
        assert TraceCode.objects.get(code=code(1)).state == CodeState.WASTED
        assert StockBalance.objects.get(place=store, lot=a_lot).doses == 1
        page = _body(planner.get(r["Location"]))
        assert f"追溯码{code(1)}已登记损耗" in page and "破损" in page
        assert 'id="waste"' not in page  # no longer in stock

    def test_wastage_outside_the_scope_is_refused(self, client, town_b, places):
        store, _, _ = places
        receive(store, n=1)
        client.force_login(town_b)
        r = client.post(f"/supply/codes/{code(1)}/waste/", {"reason": "broken"})
        assert r.status_code == 403 and "县疾控冷库不在您的管辖范围内" in _body(r)
        assert TraceCode.objects.get(code=code(1)).state == CodeState.IN_STOCK


# --------------------------------------------------------------------------------------------------
# Receipt import
# --------------------------------------------------------------------------------------------------


class TestReceiptImport:
    def upload(self, client, capture, data: bytes, name="receipt.csv", **extra):
        with capture(execute=True):
            return client.post(
                "/supply/import/", {"file": SimpleUploadedFile(name, data, "text/csv"), **extra}
            )

    def test_the_form_defaults_to_the_county_store(self, planner, places):
        store, _, _ = places
        body = _body(planner.get("/supply/import/"))
        assert 'type="file"' in body
        assert f'<option value="{store.pk}" selected>' in body

    def test_it_runs_the_job_and_shows_the_counts_and_errors(
        self, planner, places, django_capture_on_commit_callbacks
    ):
        store, _, _ = places
        data = (
            "追溯码,批号,疫苗品种,有效期至\n"
            f"{code(1)},L1,BBIBP-CorV,2099-12-31\n{code(2)},L1,BBIBP-CorV,2099-12-31\n"
            f"{code(3)},L1,BBIBP-CorV,2099-12-31\n{code(4)[:-1]},L1,BBIBP-CorV,2099-12-31\n"
        ).encode()

        r = self.upload(planner, django_capture_on_commit_callbacks, data, place=store.pk)

        job = ReceiptImportJob.objects.get()
        assert r.status_code == 302 and r["Location"] == f"/supply/import/{job.pk}/"
        assert job.status == "done", job.message
        assert (job.read, job.created, job.unchanged, job.rejected) == (4, 3, 0, 1)
        page = planner.get(r["Location"])
        assert "读取 4 行：新登记 3，未变 0，拒绝 1" in _body(page)
        assert "为19位，应为20位数字" in _body(page)
        assert StockBalance.objects.get(place=store, lot__lot_number="L1").doses == 3
        errors = _sheet(planner.get(f"/supply/import/{job.pk}/errors.xlsx").content)
        assert errors[0] == ("行号", "列", "错误原因") and errors[1][:2] == (5, "追溯码")
        assert AuditEvent.objects.filter(action="supply.receipt_upload", object_id=str(job.pk)).exists()

        again = self.upload(planner, django_capture_on_commit_callbacks, data, place=store.pk)
        assert "读取 4 行：新登记 0，未变 3，拒绝 1" in _body(planner.get(again["Location"]))

    def test_the_htmx_poll_answers_the_fragment(self, planner, places, django_capture_on_commit_callbacks):
        store, _, _ = places
        r = self.upload(
            planner,
            django_capture_on_commit_callbacks,
            f"追溯码,批号,疫苗品种,有效期至\n{code(1)},L1,BBIBP-CorV,2099-12-31\n".encode(),
            place=store.pk,
        )
        fragment = _body(planner.get(r["Location"], headers={"HX-Request": "true"}))
        assert "<html" not in fragment and 'id="job-status">已完成' in fragment

    def test_a_file_without_the_columns_fails_with_its_reason(
        self, planner, places, django_capture_on_commit_callbacks
    ):
        store, _, _ = places
        r = self.upload(planner, django_capture_on_commit_callbacks, "批号\nL1\n".encode(), place=store.pk)
        page = _body(planner.get(r["Location"]))
        assert "失败" in page and "缺少必需的列" in page

    def test_the_template_imports_cleanly(self, planner, places, django_capture_on_commit_callbacks):
        store, _, _ = places
        t = planner.get("/supply/import/template.xlsx")
        rows = _sheet(t.content)
        assert rows[0] == ("追溯码", "批号", "疫苗品种", "有效期至", "包装码")
        with django_capture_on_commit_callbacks(execute=True):
            planner.post(
                "/supply/import/", {"file": SimpleUploadedFile("template.xlsx", t.content), "place": store.pk}
            )
        job = ReceiptImportJob.objects.get()
        assert (job.status, job.created, job.rejected) == ("done", 1, 0), job.errors

    def test_a_place_outside_the_scope_is_refused(
        self, client, places, county, django_capture_on_commit_callbacks
    ):
        store, town_a, _ = places
        # A county user with the import permission, but scoped to township B by division.
        user = user_create(
            username="county_b",
            password=PASSWORD,
            role="county_admin",
            division=Division.objects.get(code="330199002000"),
        )
        client.force_login(user)
        r = self.upload(
            client,
            django_capture_on_commit_callbacks,
            f"追溯码,批号,疫苗品种,有效期至\n{code(1)},L1,BBIBP-CorV,2099-12-31\n".encode(),
            place=town_a.pk,
        )
        assert r.status_code == 403 and "甲镇冷库不在您的管辖范围内" in _body(r)
        assert not ReceiptImportJob.objects.exists() and not TraceCode.objects.exists()


# --------------------------------------------------------------------------------------------------
# Dispatch and receipt
# --------------------------------------------------------------------------------------------------


class TestDispatch:
    def test_create_then_receive_with_a_short_code(self, planner, places):
        store, town_a, _ = places
        late = receive(store, lot_number="L-LATE", first=1, n=5, expiry="2099-12-31")
        receive(store, lot_number="L-EARLY", first=100, n=2, expiry="2098-01-31")

        r = planner.post(
            "/supply/dispatches/new/",
            {
                "from_place": store.pk,
                "to_place": town_a.pk,
                "product": late.product.pk,
                "doses": 4,
                "note": "首批",
            },
        )

        d = Dispatch.objects.get()
        assert r.status_code == 302 and r["Location"] == f"/supply/dispatches/{d.pk}/"
        page = planner.get(r["Location"])
        body = _body(page)
        assert f"已生成调拨单{d.number}：4剂（4个追溯码），在途待签收" in body
        assert "L-EARLY" in re.search(r'id="reasons".*?</dd>', body, re.S).group(0)
        items = re.search(r'id="items".*?</table>', body, re.S).group(0)
        assert re.search(r"L-EARLY.*?2 / 2.*?L-LATE.*?2 / 2", items, re.S)
        assert 'id="receive"' in body  # the planner's scope includes the destination

        sent = sorted(TraceCode.objects.filter(dispatch=d).values_list("code", flat=True))
        scanned = "\r\n".join(sent[:3]) + "\r\n"  # a keyboard-wedge scanner: digits then Enter
        r = planner.post(
            f"/supply/dispatches/{d.pk}/receive/",
            {"mode": "scan", "scanned": scanned, "damaged": "", "note": "一支未到"},
        )
        assert r.status_code == 302
        d.refresh_from_db()
        assert d.status == DispatchStatus.DISCREPANCY
        assert list(Discrepancy.objects.filter(dispatch=d).values_list("kind", "code")) == [
            ("short", sent[3])
        ]
        body = _body(planner.get(r["Location"]))
        assert "已签收，有1处差异" in body and sent[3] in re.search(
            r'id="discrepancies".*?</table>', body, re.S
        ).group(0)
        assert 'id="receive"' not in body
        assert sum(StockBalance.objects.filter(place=town_a).values_list("doses", flat=True)) == 3
        assert selectors.ledger_check()["balanced"]

        r = planner.post(f"/supply/dispatches/{d.pk}/receive/", {"mode": "all"})
        assert r.status_code == 400 and "不能重复签收" in _body(r)

    def test_receive_all_and_the_list_filters_and_flags_overdue(self, planner, cdc, places):
        store, town_a, town_b = places
        a_lot = receive(store, n=6)
        first = services.dispatch_create(
            actor=cdc, from_place=store, to_place=town_a, product=a_lot.product, doses=2
        )
        late = services.dispatch_create(
            actor=cdc, from_place=store, to_place=town_b, product=a_lot.product, doses=2
        )
        Dispatch.objects.filter(pk=late.pk).update(dispatched_at=timezone.now() - timedelta(hours=25))

        r = planner.post(f"/supply/dispatches/{first.pk}/receive/", {"mode": "all"})
        assert r.status_code == 302 and Dispatch.objects.get(pk=first.pk).status == DispatchStatus.RECEIVED
        assert f"调拨单{first.number}已签收，与调出相符" in _body(planner.get(r["Location"]))

        listing = _body(planner.get("/supply/dispatches/", {"status": "in_transit"}))
        assert late.number in listing and first.number not in listing
        assert "超24小时未签收" in re.search(rf"{late.number}.*?</tr>", listing, re.S).group(0)
        assert first.number in _body(planner.get("/supply/dispatches/", {"status": "received"}))

    def test_an_empty_scan_or_a_typo_is_refused_before_anything_is_written(self, planner, cdc, places):
        store, town_a, _ = places
        a_lot = receive(store, n=2)
        d = services.dispatch_create(
            actor=cdc, from_place=store, to_place=town_a, product=a_lot.product, doses=2
        )

        r = planner.post(f"/supply/dispatches/{d.pk}/receive/", {"mode": "scan", "scanned": ""})
        assert r.status_code == 400 and "请扫描到货的追溯码" in _body(r)
        r = planner.post(
            f"/supply/dispatches/{d.pk}/receive/", {"mode": "scan", "scanned": f"{code(1)}\n8100101"}
        )
        assert r.status_code == 400 and "应为20位数字" in _body(r)
        assert Dispatch.objects.get(pk=d.pk).status == DispatchStatus.IN_TRANSIT

    def test_the_destination_township_receives_its_dispatch(self, client, cdc, places):
        store, town_a, _ = places
        a_lot = receive(store, n=3)
        d = services.dispatch_create(
            actor=cdc, from_place=store, to_place=town_a, product=a_lot.product, doses=3
        )
        worker = user_create(
            username="town_a",
            password=PASSWORD,
            role="township_worker",
            division=Division.objects.get(code="330199001000"),
        )
        client.force_login(worker)

        page = _body(client.get(f"/supply/dispatches/{d.pk}/"))
        assert 'id="receive"' in page and "确认签收" in page
        box = "\n".join(sorted(TraceCode.objects.filter(dispatch=d).values_list("code", flat=True)))
        r = client.post(f"/supply/dispatches/{d.pk}/receive/", {"mode": "scan", "scanned": box})

        assert r.status_code == 302
        got = Dispatch.objects.get(pk=d.pk)
        assert got.status == DispatchStatus.RECEIVED and got.received_by == worker
        assert StockBalance.objects.get(place=town_a, lot=a_lot).doses == 3

    def test_an_outsider_cannot_receive_or_send_from_another_township(self, client, cdc, town_b, places):
        store, town_a, town_b_store = places
        a_lot = receive(store, n=4)
        receive(town_a, lot_number="A1", first=50, n=2)
        d = services.dispatch_create(
            actor=cdc, from_place=store, to_place=town_a, product=a_lot.product, doses=2
        )
        client.force_login(town_b)

        r = client.post(f"/supply/dispatches/{d.pk}/receive/", {"mode": "all"})
        assert r.status_code == 403 and "甲镇冷库不在您的管辖范围内" in _body(r)
        assert Dispatch.objects.get(pk=d.pk).status == DispatchStatus.IN_TRANSIT
        assert client.get(f"/supply/dispatches/{d.pk}/").status_code == 404
        assert d.number not in _body(client.get("/supply/dispatches/"))

        r = client.post(
            "/supply/dispatches/new/",
            {"from_place": town_a.pk, "to_place": town_b_store.pk, "product": a_lot.product.pk, "doses": 1},
        )
        assert r.status_code == 403 and "甲镇冷库不在您的管辖范围内" in _body(r)
        assert Dispatch.objects.count() == 1


# --------------------------------------------------------------------------------------------------
# Allocation
# --------------------------------------------------------------------------------------------------


class TestAllocation:
    def test_propose_then_approve_creates_the_dispatches(self, planner, places, village_a1, village_b1):
        from vaxops.campaign.services import status_refresh_all

        store, _, _ = places
        for village, first, n in ((village_a1, 10, 6), (village_b1, 40, 2)):
            for i in range(n):
                r = _resident(village, first + i)
                Resident.objects.filter(pk=r.pk).update(birth_date=date(1970, 1, 1))
        status_refresh_all()
        a_lot = receive(store, n=8)
        form = _body(planner.get("/supply/allocation/"))
        assert f'<option value="{store.pk}" selected>' in form

        r = planner.post(
            "/supply/allocation/",
            {
                "product": a_lot.product.pk,
                "doses_arriving": 8,
                "source": store.pk,
                "risk": "0",
                "density": "0",
                "mobility": "0",
            },
        )

        run = AllocationRun.objects.get()
        assert r.status_code == 302 and r["Location"] == f"/supply/allocation/{run.pk}/"
        body = _body(planner.get(r["Location"]))
        lines = re.search(r'id="lines".*?</table>', body, re.S).group(0)
        assert re.search(r"甲镇冷库.*?<td class=\"doses\">6</td>", lines, re.S)
        assert re.search(r"乙镇冷库.*?<td class=\"doses\">2</td>", lines, re.S)
        assert all(x["reasoning"] in body for x in run.lines)
        chart = re.search(r'id="chart".*?</div>\s*</div>', body, re.S).group(0)
        assert (
            'class="fill capped pct-100"' in chart and 'class="fill capped pct-33"' in chart
        )  # 6 and 2 of 6
        assert "审批并生成调拨单" in body
        assert not Dispatch.objects.exists()

        r = planner.post(f"/supply/allocation/{run.pk}/approve/")

        assert r.status_code == 302
        made = list(Dispatch.objects.order_by("to_place__code"))
        assert [(d.to_place.code, d.doses) for d in made] == [("T001", 6), ("T002", 2)]
        body = _body(planner.get(r["Location"]))
        assert "分配方案已审批，生成调拨单2张，共8剂" in body
        assert all(f'href="/supply/dispatches/{d.pk}/"' in body for d in made)
        assert "审批并生成调拨单" not in body

        again = planner.post(f"/supply/allocation/{run.pk}/approve/")
        assert again.status_code == 400 and "不能重复审批" in _body(again)

    def test_a_proposal_that_cannot_be_made_says_why(self, planner, places):
        store, _, _ = places
        a_lot = receive(store, n=1)
        r = planner.post(
            "/supply/allocation/",
            {
                "product": a_lot.product.pk,
                "doses_arriving": 0,
                "source": store.pk,
                "risk": "1",
                "density": "1",
                "mobility": "1",
            },
        )
        assert r.status_code == 400 and not AllocationRun.objects.exists()


# --------------------------------------------------------------------------------------------------
# Stock count
# --------------------------------------------------------------------------------------------------


class TestStockCount:
    def test_the_result_lists_the_differences(self, planner, places):
        store, _, _ = places
        receive(store, n=4)
        stranger = "81001019999999990000"
        scans = "\n".join([code(1), code(2), code(2), code(3), stranger])

        r = planner.post("/supply/counts/new/", {"place": store.pk, "scanned": scans})

        c = StockCount.objects.get()
        assert r.status_code == 302 and r["Location"] == f"/supply/counts/{c.pk}/"
        body = _body(planner.get(r["Location"]))
        assert '<div class="n" id="matched">3</div>' in body
        assert code(4) in re.search(r'id="missing".*?</ul>', body, re.S).group(0)
        assert stranger in re.search(r'id="unexpected".*?</ul>', body, re.S).group(0)
        assert code(2) in re.search(r'id="duplicates".*?</ul>', body, re.S).group(0)
        assert "未调整台账" in body
        assert TraceCode.objects.get(code=code(4)).state == CodeState.IN_STOCK

    def test_adjusting_needs_a_reason_and_writes_off_the_missing(self, planner, places):
        store, _, _ = places
        a_lot = receive(store, n=2)
        r = planner.post("/supply/counts/new/", {"place": store.pk, "scanned": code(1), "adjust": "on"})
        assert r.status_code == 400 and "调整台账须填写原因" in _body(r)
        r = planner.post(
            "/supply/counts/new/",
            {"place": store.pk, "scanned": code(1), "adjust": "on", "reason": "冷库盘点未找到"},
        )
        assert r.status_code == 302 and "已调整台账" in _body(planner.get(r["Location"]))
        assert StockBalance.objects.get(place=store, lot=a_lot).doses == 1

    def test_an_outsider_cannot_count_another_townships_store(self, client, town_b, places):
        _, town_a, _ = places
        receive(town_a, n=1)
        client.force_login(town_b)
        assert f'value="{town_a.pk}"' not in _body(client.get("/supply/counts/new/"))
        r = client.post("/supply/counts/new/", {"place": town_a.pk, "scanned": code(1)})
        assert r.status_code == 403 and "甲镇冷库不在您的管辖范围内" in _body(r)
        assert not StockCount.objects.exists()


# --------------------------------------------------------------------------------------------------
# A person's codes
# --------------------------------------------------------------------------------------------------


class TestPersonCodes:
    def test_it_lists_the_codes_a_resident_received(self, planner, cdc, places, village_a1):
        store, _, _ = places
        a_lot = receive(store, n=2)
        person = _resident(village_a1, 1, "王小明")
        services.code_administer(actor=cdc, code=code(2), resident=person, place=store)

        body = _body(planner.get(f"/supply/residents/{person.pk}/codes/"))

        table = re.search(r'id="person-codes".*?</table>', body, re.S).group(0)
        assert code(2) in table and f'href="/supply/lots/{a_lot.pk}/"' in table and "县疾控冷库" in table
        assert "王*明" in body and person.id_number not in body

    def test_the_clinic_page_links_to_it(self, planner, cdc, places, village_a1):
        person = _resident(village_a1, 1)
        assert f'href="/supply/residents/{person.pk}/codes/"' in _body(
            planner.get(f"/clinic/residents/{person.pk}/")
        )

    def test_a_resident_outside_the_scope_is_not_shown(self, client, town_b, places, village_a1):
        person = _resident(village_a1, 1)
        client.force_login(town_b)
        r = client.get(f"/supply/residents/{person.pk}/codes/")
        assert r.status_code == 404 and "居民不存在或不在您的管辖范围内" in _body(r)
