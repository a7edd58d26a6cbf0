"""/api/v1/supply through HTTP with API tokens: receipt upload, allocation, dispatch and receipt at the
destination, traces (masked, then revealed with a purpose), scope, idempotency and the OpenAPI document."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from vaxops.accounts.services import api_token_create, user_create
from vaxops.audit.models import AuditEvent
from vaxops.conftest import PASSWORD, make_id
from vaxops.core.models import IdempotencyRecord
from vaxops.jurisdictions.models import Division
from vaxops.registry.models import Resident
from vaxops.supply import selectors, services
from vaxops.supply.models import (
    AllocationRun,
    CodeState,
    Dispatch,
    DispatchStatus,
    Lot,
    PlaceKind,
    StockBalance,
    StockPlace,
    TraceCode,
)

from .factories import code, network, receive

BASE = "/api/v1/supply"
HEADER = "追溯码,批号,疫苗品种,有效期至"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def places(county):
    return network(county)


def _township_user(username: str, township: str):
    return user_create(
        username=username,
        password=PASSWORD,
        role="township_worker",
        division=Division.objects.get(code=f"330199{township}000"),
    )


@pytest.fixture
def town_a_worker(county):
    return _township_user("town_a", "001")


@pytest.fixture
def town_b_worker(county):
    return _township_user("town_b", "002")


def token(user) -> dict:
    _, raw = api_token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def get(client, auth, path, **params):
    return client.get(BASE + path, params, **auth)


def post(client, auth, path, data=None, **headers):
    return client.post(BASE + path, data or {}, content_type="application/json", **auth, **headers)


def upload(client, auth, text: str, **form):
    f = SimpleUploadedFile("receipt.csv", text.encode("utf-8"), "text/csv")
    return client.post(BASE + "/receipts", {"file": f, **form}, **auth)


def _resident(village, seq, name="王小明") -> Resident:
    return Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(date(1970, 1, 1), seq),
        name=name,
        village=village,
        village_code=village.code,
        birth_date=date(1970, 1, 1),
    )


def _dispatch_codes(dispatch_id: int) -> list[str]:
    return sorted(TraceCode.objects.filter(dispatch_id=dispatch_id).values_list("code", flat=True))


class TestOpenApi:
    def test_it_documents_the_supply_paths_in_chinese(self, client, county):
        doc = client.get("/api/v1/openapi.json").json()
        paths = doc["paths"]

        expected = {
            "/places": {"get"},
            "/balances": {"get"},
            "/lots": {"get"},
            "/lots/{lot_id}/trace": {"get"},
            "/lots/{lot_id}/trace/reveal": {"post"},
            "/lots/{lot_id}/status": {"post"},
            "/lots/{lot_id}/recall-return": {"post"},
            "/codes/{code}/trace": {"get"},
            "/codes/{code}/waste": {"post"},
            "/residents/{resident_id}/codes": {"get"},
            "/receipts": {"post"},
            "/dispatches": {"get", "post"},
            "/dispatches/{dispatch_id}": {"get"},
            "/dispatches/{dispatch_id}/receive": {"post"},
            "/counts": {"post"},
            "/allocations": {"post"},
            "/allocations/{allocation_id}": {"get"},
            "/allocations/{allocation_id}/approve": {"post"},
            "/alerts": {"get"},
            "/ledger-check": {"get"},
        }
        for path, methods in expected.items():
            assert "/api/v1/supply" + path in paths, path
            ops = paths["/api/v1/supply" + path]
            assert methods <= set(ops), path
            for m in methods:
                text = ops[m]["summary"] + ops[m].get("description", "")
                assert any("\u4e00" <= ch <= "\u9fff" for ch in text), (path, m)
        receipt = paths["/api/v1/supply/receipts"]["post"]["requestBody"]["content"]
        assert "file" in receipt["multipart/form-data"]["schema"]["properties"]
        assert "from" in doc["components"]["schemas"]["CodeHopOut"]["properties"]


class TestAuth:
    def test_it_answers_401_without_credentials(self, client, places):
        assert client.get(BASE + "/places").status_code == 401
        assert client.post(BASE + "/dispatches", {}, content_type="application/json").status_code == 401
        assert not Dispatch.objects.exists()

    def test_a_site_vaccinator_may_not_dispatch(self, client, places, vaccinator):
        store, town_a, _ = places
        receive(town_a, n=2)

        r = post(
            client,
            token(vaccinator),
            "/dispatches",
            {"from_place": "T001", "to_place": "T002", "product": "BBIBP-CorV", "doses": 1},
        )

        assert r.status_code == 403
        assert r.json()["code"] == "role_forbidden"
        assert not Dispatch.objects.exists()


class TestStory:
    """Receipt → allocation → approval → receipt at the township with a short code → administer → traces."""

    def test_the_supply_chain_through_the_api(
        self, client, places, cdc, town_a_worker, town_b_worker, village_a1, village_b1
    ):
        from vaxops.campaign.services import status_refresh_all

        store, town_a, town_b = places
        for i in range(6):
            _resident(village_a1, 10 + i)
        for i in range(2):
            _resident(village_b1, 40 + i)
        status_refresh_all()
        as_cdc, as_a, as_b = token(cdc), token(town_a_worker), token(town_b_worker)

        # 1. Receipt file: 8 good rows, one with an unknown product (data row 5 = file row 6).
        rows = [f"{code(i)},L-API,BBIBP-CorV,2099-12-31" for i in range(1, 5)]
        rows += [f"{code(90)},L-API,NO-SUCH-VACCINE,2099-12-31"]
        rows += [f"{code(i)},L-API,BBIBP-CorV,2099-12-31" for i in range(5, 9)]
        r = upload(client, as_cdc, "\n".join([HEADER, *rows]))

        assert r.status_code == 200, r.content
        body = r.json()
        assert (body["read"], body["created"], body["updated"], body["unchanged"], body["rejected"]) == (
            9,
            8,
            0,
            0,
            1,
        )
        assert body["read"] == body["created"] + body["updated"] + body["unchanged"] + body["rejected"]
        assert len(body["errors"]) == 1
        error = body["errors"][0]
        assert (error["row"], error["column"]) == (6, "疫苗品种")
        assert "NO-SUCH-VACCINE" in error["message"]
        assert not TraceCode.objects.filter(code=code(90)).exists()
        lot = Lot.objects.get(lot_number="L-API")
        assert StockBalance.objects.get(place=store, lot=lot).doses == 8

        overview = {p["code"]: p for p in get(client, as_cdc, "/places").json()}
        assert overview["CDC"]["stock"] == 8 and overview["CDC"]["kind"] == PlaceKind.COUNTY_STORE
        assert overview["CDC"]["volume_used_cm3"] > 0 and overview["CDC"]["volume_total_cm3"] == 10_000_000

        # 2. Allocation proposal by need (weights neutral), then approval into FEFO dispatches.
        r = post(
            client,
            as_cdc,
            "/allocations",
            {
                "product": "BBIBP-CorV",
                "doses_arriving": 8,
                "source": "CDC",
                "weights": {"risk": 0, "density": 0, "mobility": 0},
            },
        )
        assert r.status_code == 201, r.content
        proposal = r.json()
        assert proposal["status"] == "proposed"
        assert {x["place"]: x["doses"] for x in proposal["lines"]} == {"T001": 6, "T002": 2}
        assert all(x["reasoning"] for x in proposal["lines"])
        assert proposal["dispatches"] == []
        assert not Dispatch.objects.exists()

        r = post(client, as_cdc, f"/allocations/{proposal['id']}/approve")
        assert r.status_code == 200, r.content
        dispatches = {d["to_place"]: d for d in r.json()}
        assert sorted(dispatches) == ["T001", "T002"]
        to_a = dispatches["T001"]
        assert (to_a["doses"], to_a["status"], to_a["from_place"], to_a["allocation_id"]) == (
            6,
            "in_transit",
            "CDC",
            proposal["id"],
        )
        assert to_a["items"] == [
            {
                "lot": "L-API",
                "expiry": "2099-12-31",
                "codes_sent": 6,
                "doses_sent": 6,
                "codes_received": 0,
                "doses_received": 0,
            }
        ]
        assert to_a["reasons"] and to_a["outcomes"] == {"in_transit": 6}
        detail = get(client, as_cdc, f"/allocations/{proposal['id']}").json()
        assert detail["status"] == "approved"
        assert sorted(d["number"] for d in detail["dispatches"]) == sorted(
            d["number"] for d in dispatches.values()
        )
        again = post(client, as_cdc, f"/allocations/{proposal['id']}/approve")
        assert again.status_code == 400 and again.json()["code"] == "allocation_already_approved"
        assert Dispatch.objects.count() == 2

        # 3. A worker of township B cannot receive township A's dispatch.
        sent = _dispatch_codes(to_a["id"])
        r = post(client, as_b, f"/dispatches/{to_a['id']}/receive", {"scanned": sent})
        assert r.status_code == 403
        assert r.json()["code"] == "out_of_scope"
        assert Dispatch.objects.get(pk=to_a["id"]).status == DispatchStatus.IN_TRANSIT
        assert get(client, as_b, f"/dispatches/{to_a['id']}").status_code == 403

        # 4. Township A receives with one code not scanned: the short code shows as a discrepancy.
        short = sent[-1]
        r = post(client, as_a, f"/dispatches/{to_a['id']}/receive", {"scanned": sent[:-1], "note": "少一支"})
        assert r.status_code == 200, r.content
        got = r.json()
        assert got["status"] == "discrepancy"
        assert got["received_by"] == "town_a"
        assert got["discrepancies"] == [
            {
                "kind": "short",
                "kind_label": "短少",
                "code": short,
                "lot_number": "L-API",
                "note": "签收时未扫到",
            }
        ]
        assert got["outcomes"] == {"received": 5, "short": 1}
        assert got["items"][0]["codes_received"] == 5
        assert get(client, as_a, f"/dispatches/{to_a['id']}").json() == got
        listed = get(client, as_a, "/dispatches", status="discrepancy").json()
        assert listed["count"] == 1 and listed["items"][0]["number"] == to_a["number"]
        assert [b["doses"] for b in get(client, as_a, "/balances").json()] == [5]

        # 5. The code trace shows the path: received at the county store, dispatched to township A.
        r = get(client, as_cdc, f"/codes/{sent[0]}/trace")
        assert r.status_code == 200, r.content
        trace = r.json()
        assert (trace["origin"], trace["place"], trace["state"]) == ("县疾控冷库", "甲镇冷库", "in_stock")
        assert [(h["dispatch"], h["from"], h["to"], h["outcome"]) for h in trace["dispatches"]] == [
            (to_a["number"], "县疾控冷库", "甲镇冷库", "received")
        ]
        short_trace = get(client, as_cdc, f"/codes/{short}/trace").json()
        assert short_trace["dispatches"][0]["outcome"] == "short" and short_trace["state"] == "wasted"

        # 6. Administered at the township (the vaccination desk is not part of this API).
        recipient = _resident(village_a1, 77, name="张三丰")
        services.code_administer(actor=town_a_worker, code=sent[0], resident=recipient, place=town_a)

        r = get(client, as_cdc, f"/lots/{lot.pk}/trace")
        assert r.status_code == 200, r.content
        lot_trace = r.json()
        assert lot_trace["administered_total"] == 1 and lot_trace["revealed"] is False
        [shown] = lot_trace["recipients"]
        assert (shown["code"], shown["resident_id"], shown["name"]) == (sent[0], recipient.pk, "张*丰")
        assert shown["id_number"] == recipient.id_number_masked != recipient.id_number
        assert recipient.id_number not in r.content.decode()
        rows = {x["place"]: x for x in lot_trace["places"]}
        assert (rows["CDC"]["received"], rows["CDC"]["sent"]) == (8, 8)
        assert (rows["T001"]["received_from_dispatch"], rows["T001"]["administered"]) == (5, 1)
        assert lot_trace["in_transit_dispatches"] == [dispatches["T002"]["number"]]
        assert get(client, as_cdc, f"/codes/{sent[0]}/trace").json()["recipient"]["name"] == "张*丰"
        assert [c["code"] for c in get(client, as_a, f"/residents/{recipient.pk}/codes").json()] == [sent[0]]

        # 7. Full identities only with a purpose, and audited.
        for bad in ({}, {"purpose": ""}, {"purpose": "  "}):
            r = post(client, as_cdc, f"/lots/{lot.pk}/trace/reveal", bad)
            assert r.status_code == 400, bad
            assert r.json()["field"] == "purpose" and r.json()["code"] == "purpose_required"
        assert not AuditEvent.objects.filter(action="supply.trace_reveal").exists()

        r = post(client, as_cdc, f"/lots/{lot.pk}/trace/reveal", {"purpose": "疑似异常反应调查"})
        assert r.status_code == 200, r.content
        full = r.json()
        assert full["revealed"] is True
        assert (full["recipients"][0]["name"], full["recipients"][0]["id_number"]) == (
            "张三丰",
            recipient.id_number,
        )
        event = AuditEvent.objects.get(action="supply.trace_reveal")
        assert event.actor == cdc and event.object_id == str(lot.pk)
        assert event.new == {"purpose": "疑似异常反应调查", "residents": [recipient.pk]}

        # 8. And the books balance.
        check = get(client, as_cdc, "/ledger-check").json()
        assert check["balanced"] is True and check["differences"] == []


class TestIdempotency:
    def test_the_same_dispatch_post_twice_creates_one_dispatch(self, client, places, cdc):
        store, _, _ = places
        receive(store, n=5)
        auth = token(cdc)
        data = {
            "from_place": "CDC",
            "to_place": "T001",
            "product": "BBIBP-CorV",
            "doses": 3,
            "note": "第一批",
        }

        first = post(client, auth, "/dispatches", data, HTTP_IDEMPOTENCY_KEY="dispatch-1")
        second = post(client, auth, "/dispatches", data, HTTP_IDEMPOTENCY_KEY="dispatch-1")

        assert first.status_code == second.status_code == 201, first.content
        assert first.content == second.content
        assert first.json()["doses"] == 3
        assert Dispatch.objects.count() == 1
        assert TraceCode.objects.filter(state=CodeState.IN_TRANSIT).count() == 3
        assert AuditEvent.objects.filter(action="supply.dispatch_create").count() == 1
        assert IdempotencyRecord.objects.count() == 1

        other = post(client, auth, "/dispatches", data, HTTP_IDEMPOTENCY_KEY="dispatch-2")
        assert other.status_code == 201 and other.json()["number"] != first.json()["number"]
        assert Dispatch.objects.count() == 2

    def test_a_reused_key_with_another_body_is_refused(self, client, places, cdc):
        store, _, _ = places
        receive(store, n=5)
        auth = token(cdc)
        data = {"from_place": "CDC", "to_place": "T001", "product": "BBIBP-CorV", "doses": 1}
        post(client, auth, "/dispatches", data, HTTP_IDEMPOTENCY_KEY="k")

        r = post(client, auth, "/dispatches", {**data, "doses": 2}, HTTP_IDEMPOTENCY_KEY="k")

        assert r.status_code == 400 and r.json()["code"] == "idempotency_key_reused"
        assert Dispatch.objects.count() == 1

    def test_a_retried_receipt_upload_answers_the_first_counts(self, client, places, cdc):
        auth = token(cdc)
        text = "\n".join([HEADER, f"{code(1)},L1,BBIBP-CorV,2099-12-31"])
        f1 = SimpleUploadedFile("r.csv", text.encode(), "text/csv")
        f2 = SimpleUploadedFile("r.csv", text.encode(), "text/csv")

        first = client.post(BASE + "/receipts", {"file": f1}, HTTP_IDEMPOTENCY_KEY="up", **auth)
        second = client.post(BASE + "/receipts", {"file": f2}, HTTP_IDEMPOTENCY_KEY="up", **auth)

        assert first.json() == second.json()
        assert first.json()["created"] == 1
        assert StockBalance.objects.get().doses == 1


class TestScope:
    def test_a_township_worker_sees_and_acts_on_own_places_only(self, client, places, town_a_worker):
        store, town_a, town_b = places
        receive(town_a, n=2)
        receive(town_b, lot_number="L-B", first=50, n=3)
        auth = token(town_a_worker)

        assert [p["code"] for p in get(client, auth, "/places").json()] == ["T001"]
        assert [(b["place"], b["doses"]) for b in get(client, auth, "/balances").json()] == [("T001", 2)]
        assert get(client, auth, "/balances", place="T002").status_code == 403

        r = post(
            client,
            auth,
            "/dispatches",
            {"from_place": "T002", "to_place": "T001", "product": "BBIBP-CorV", "doses": 1},
        )
        assert r.status_code == 403 and (
            r.json()["code"] == "out_of_scope" and "乙镇冷库不在您的管辖范围内" in r.json()["message"]
        )
        r = post(client, auth, f"/codes/{code(50)}/waste", {"place": "T002", "reason": "broken"})
        assert r.status_code == 403
        assert TraceCode.objects.get(code=code(50)).state == CodeState.IN_STOCK
        assert (
            upload(client, auth, f"{HEADER}\n{code(9)},L9,BBIBP-CorV,2099-12-31", place="T001").status_code
            == 403
        )

    def test_a_township_worker_cannot_change_a_lot_status(self, client, places, town_a_worker):
        a_lot = receive(places[1], n=1)

        r = post(
            client, token(town_a_worker), f"/lots/{a_lot.pk}/status", {"status": "on_hold", "reason": "温度"}
        )

        assert r.status_code == 403
        assert Lot.objects.get(pk=a_lot.pk).status == "released"


class TestErrors:
    def test_unknown_ids_and_codes_answer_404(self, client, places, cdc):
        auth = token(cdc)

        assert get(client, auth, "/lots/999/trace").status_code == 404
        assert get(client, auth, "/dispatches/999").status_code == 404
        assert get(client, auth, "/allocations/999").status_code == 404
        assert get(client, auth, "/residents/999/codes").status_code == 404
        r = get(client, auth, f"/codes/{code(5)}/trace")
        assert r.status_code == 404 and r.json()["field"] == "code" and r.json()["code"] == "code_unknown"
        r = post(client, auth, "/counts", {"place": "NOWHERE", "scanned": []})
        assert r.status_code == 404 and r.json()["field"] == "place"

    def test_invalid_input_answers_400_in_chinese_with_the_field(self, client, places, cdc):
        store, _, _ = places
        a_lot = receive(store, n=2)
        auth = token(cdc)

        r = get(client, auth, "/codes/12345/trace")
        assert r.status_code == 400 and r.json()["field"] == "code"
        r = get(client, auth, f"/lots/{a_lot.pk}/trace", limit=1001)
        assert r.status_code == 400 and r.json()["field"] == "limit"
        r = post(client, auth, f"/codes/{code(1)}/waste", {"place": "CDC", "reason": "other"})
        assert (
            r.status_code == 400
            and r.json()["field"] == "note"
            and r.json()["code"] == "wastage_note_required"
        )
        r = post(client, auth, f"/lots/{a_lot.pk}/status", {"status": "on_hold"})
        assert r.status_code == 400 and r.json()["field"] == "reason"
        r = post(
            client,
            auth,
            "/dispatches",
            {"from_place": "CDC", "to_place": "T001", "product": "BBIBP-CorV", "doses": 0},
        )
        assert r.status_code == 400 and r.json()["field"] == "doses"
        r = post(client, auth, "/dispatches", {"from_place": "CDC"})
        assert r.status_code == 422
        assert r.json()["code"] == "invalid_request" and r.json()["message"].startswith("请求内容有误：字段“")
        assert r.json()["message"].endswith("缺失")
        assert TraceCode.objects.filter(state=CodeState.IN_STOCK).count() == 2

    def test_receipts_need_a_place_when_there_are_several_county_stores(self, client, places, cdc, county):
        StockPlace.objects.create(
            code="CDC2", name="县疾控二号冷库", kind=PlaceKind.COUNTY_STORE, division=county
        )

        r = upload(client, token(cdc), f"{HEADER}\n{code(1)},L1,BBIBP-CorV,2099-12-31")

        assert r.status_code == 400 and r.json()["field"] == "place"
        assert not TraceCode.objects.exists()


class TestLotWrites:
    def test_hold_recall_and_return_through_the_api(self, client, places, cdc):
        store, _, _ = places
        a_lot = receive(store, n=4)
        auth = token(cdc)

        r = post(client, auth, f"/codes/{code(1)}/waste", {"place": "CDC", "reason": "broken"})
        assert r.status_code == 200, r.content
        assert (r.json()["state"], r.json()["wasted_reason"], r.json()["wasted_reason_label"]) == (
            "wasted",
            "broken",
            "破损",
        )
        r = post(client, auth, f"/lots/{a_lot.pk}/recall-return", {"place": "CDC"})
        assert r.status_code == 400 and r.json()["code"] == "lot_not_recalled"

        r = post(
            client,
            auth,
            f"/lots/{a_lot.pk}/status",
            {"status": "recalled", "reason": "国家药监局召回"},
            HTTP_IDEMPOTENCY_KEY="recall",
        )
        assert r.status_code == 200, r.content
        assert (r.json()["status"], r.json()["status_label"], r.json()["status_reason"]) == (
            "recalled",
            "已召回",
            "国家药监局召回",
        )
        assert (
            post(
                client,
                auth,
                f"/lots/{a_lot.pk}/status",
                {"status": "recalled", "reason": "国家药监局召回"},
                HTTP_IDEMPOTENCY_KEY="recall",
            ).json()
            == r.json()
        )
        assert [x["lot_number"] for x in get(client, auth, "/lots", status="recalled").json()["items"]] == [
            a_lot.lot_number
        ]

        r = post(client, auth, f"/lots/{a_lot.pk}/recall-return", {"place": "CDC", "reason": "退回厂家"})
        assert r.status_code == 200, r.content
        assert r.json() == {
            "lot_id": a_lot.pk,
            "lot": a_lot.lot_number,
            "place": "CDC",
            "codes": 3,
            "doses": 3,
        }
        assert TraceCode.objects.filter(lot=a_lot, state=CodeState.RECALLED).count() == 3
        assert selectors.ledger_check()["balanced"]

    def test_a_count_lists_differences_and_adjusts_with_a_reason(self, client, places, cdc):
        store, _, _ = places
        a_lot = receive(store, n=3)
        auth = token(cdc)

        r = post(
            client,
            auth,
            "/counts",
            {
                "place": "CDC",
                "scanned": [code(1), code(2), code(2)],
                "adjust": True,
                "reason": "冷库盘点未找到",
            },
        )

        assert r.status_code == 201, r.content
        body = r.json()
        assert (body["matched"], body["missing"], body["duplicates"], body["adjusted"]) == (
            2,
            [code(3)],
            [code(2)],
            True,
        )
        assert StockBalance.objects.get(place=store, lot=a_lot).doses == 2
        assert get(client, auth, "/ledger-check").json()["balanced"] is True


class TestAlerts:
    def test_overdue_receipts_are_listed_only_in_scope(
        self, client, places, cdc, town_a_worker, town_b_worker
    ):
        from datetime import timedelta

        from django.utils import timezone

        store, town_a, _ = places
        a_lot = receive(store, n=3)
        d = services.dispatch_create(
            actor=cdc, from_place=store, to_place=town_a, product=a_lot.product, doses=2
        )
        Dispatch.objects.filter(pk=d.pk).update(dispatched_at=timezone.now() - timedelta(hours=30))

        mine = get(client, token(town_a_worker), "/alerts").json()
        theirs = get(client, token(town_b_worker), "/alerts").json()

        assert [(x["number"], x["from"], x["to"]) for x in mine["receipts_overdue"]] == [
            (d.number, "县疾控冷库", "甲镇冷库")
        ]
        assert theirs["receipts_overdue"] == [] and theirs["total"] == 0
        assert AllocationRun.objects.count() == 0
