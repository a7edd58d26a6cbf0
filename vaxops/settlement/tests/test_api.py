"""/api/v1/settlement through HTTP with API tokens: a month's statements with their totals, a statement's lines
page by page, and the status flow — each refused for the wrong role, and a statement out of the caller's
jurisdiction answering 404 like one that does not exist."""

import datetime as dt

import pytest

from vaxops.accounts.services import api_token_create
from vaxops.conftest import _user
from vaxops.jurisdictions.models import Division
from vaxops.settlement import services
from vaxops.settlement.models import Settlement

from .conftest import give

BASE = "/api/v1/settlement"
NOV = "2026-11"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def token(user) -> dict:
    _, raw = api_token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def get(client, who, path, **params):
    return client.get(BASE + path, params, **token(who))


def post(client, who, path, data=None, **headers):
    return client.post(BASE + path, data or {}, content_type="application/json", **token(who), **headers)


@pytest.fixture
def settled(places, priced, cdc):
    a, b = places
    for day in (3, 4, 5):
        give(a, dt.date(2026, 11, day), priced)
    give(b, dt.date(2026, 11, 9), priced)
    services.settlement_run(actor=cdc, month=dt.date(2026, 11, 1))
    return a, b


@pytest.fixture
def clerk_a(places):
    from vaxops.sites.models import StaffMember

    a, _ = places
    clerk = _user("clerk_a", "site_registration", division=a.division)
    StaffMember.objects.create(site=a, user=clerk, name="登记员", roles=["registration"])
    return clerk


@pytest.fixture
def insurer_town_b(county):
    """A medical-insurance officer whose jurisdiction is town B only."""
    return _user("yibao_b", "medical_insurance", division=Division.objects.get(code="330199002000"))


def test_the_month_with_each_sites_totals_as_decimal_strings(client, settled, insurer):
    r = get(client, insurer, f"/months/{NOV}")
    assert r.status_code == 200, r.content
    data = r.json()
    assert [row["site"] for row in data["rows"]] == ["S-A", "S-B"]
    sa = data["rows"][0]
    assert (sa["doses"], sa["payable_yuan"], sa["fiscal_subsidy_yuan"], sa["status"]) == (
        3,
        "310.50",
        "93.15",
        "draft",
    )
    assert sa["reconciled"] is True and sa["reconciliation"][0]["lot"] == "L2026A"
    assert data["total"] == {
        "doses": 4,
        "service_fee_yuan": "40.00",
        "vaccine_cost_yuan": "374.00",
        "payable_yuan": "414.00",
        "fiscal_subsidy_yuan": "124.20",
        "old_channel_doses": 0,
    }
    assert get(client, insurer, "/months/2026-13").json()["code"] == "settlement_month_invalid"
    assert get(client, insurer, "/months/2026-12").json()["rows"] == []


def test_lines_page_by_page(client, settled, insurer):
    first = get(client, insurer, f"/months/{NOV}/sites/S-A/lines", limit=2)
    assert first.status_code == 200, first.content
    page = first.json()
    assert (page["count"], page["offset"], page["limit"], len(page["items"])) == (3, 0, 2, 2)
    line = page["items"][0]
    assert (line["kind"], line["given_on"], line["lot"], line["amount_yuan"]) == (
        "dose",
        "2026-11-03",
        "L2026A",
        "103.50",
    )
    assert "****" in line["code_masked"]
    rest = get(client, insurer, f"/months/{NOV}/sites/S-A/lines", limit=2, offset=2).json()
    assert [i["given_on"] for i in rest["items"]] == ["2026-11-05"]
    bad = get(client, insurer, f"/months/{NOV}/sites/S-A/lines", limit=0)
    assert (bad.status_code, bad.json()["code"]) == (400, "limit_invalid")
    assert get(client, insurer, f"/months/{NOV}/sites/S-A/lines", offset=-1).status_code == 422


def test_the_site_sees_its_own_statement_only(client, settled, clerk_a):
    data = get(client, clerk_a, f"/months/{NOV}").json()
    assert [row["site"] for row in data["rows"]] == ["S-A"] and data["total"]["doses"] == 3
    assert get(client, clerk_a, f"/months/{NOV}/sites/S-A").json()["payable_yuan"] == "310.50"
    for path in (f"/months/{NOV}/sites/S-B", f"/months/{NOV}/sites/S-B/lines"):
        r = get(client, clerk_a, path)
        assert (r.status_code, r.json()["code"]) == (404, "settlement_not_found")
    r = post(client, clerk_a, f"/months/{NOV}/sites/S-B/confirm")
    assert (r.status_code, r.json()["code"]) == (404, "settlement_not_found")
    assert Settlement.objects.get(site__code="S-B").status == "draft"


def test_finance_reads_the_totals_but_not_the_lines_nor_the_flow(client, settled, finance):
    assert get(client, finance, f"/months/{NOV}").json()["total"]["fiscal_subsidy_yuan"] == "124.20"
    r = get(client, finance, f"/months/{NOV}/sites/S-A/lines")
    assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
    for action in ("confirm", "approve"):
        r = post(client, finance, f"/months/{NOV}/sites/S-A/{action}")
        assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")


def test_a_role_without_the_settlement_reads_nothing(client, settled, worker_a):
    r = get(client, worker_a, f"/months/{NOV}")
    assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")


def test_the_status_flow_by_the_roles_allowed(client, settled, clerk_a, insurer, insurer_town_b):
    path = f"/months/{NOV}/sites/S-A"
    r = post(client, insurer, f"{path}/approve")  # a draft cannot be approved
    assert (r.status_code, r.json()["code"]) == (400, "settlement_status_move")
    r = post(client, insurer, f"{path}/confirm")  # the office does not confirm for the site
    assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
    r = post(client, clerk_a, f"{path}/confirm")
    assert (r.status_code, r.json()["status"]) == (200, "confirmed"), r.content
    r = post(client, clerk_a, f"{path}/approve")  # the site does not approve its own statement
    assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
    r = post(client, insurer_town_b, f"{path}/approve")  # S-A is outside town B
    assert (r.status_code, r.json()["code"]) == (404, "settlement_not_found")
    r = post(client, insurer, f"{path}/return", {"reason": "服务费有误"})
    assert r.json()["status"] == "draft"
    post(client, clerk_a, f"{path}/confirm")
    r = post(client, insurer, f"{path}/approve")
    assert (r.status_code, r.json()["status"]) == (200, "approved"), r.content
    assert r.json()["approved_at"]
    r = post(client, insurer, f"{path}/pay", {"paid_on": "2026-12-10", "reference": ""})
    assert (r.status_code, r.json()["code"]) == (400, "settlement_payment_missing")
    r = post(client, insurer, f"{path}/pay", {"paid_on": "2026-12-10"})
    assert r.status_code == 422 and r.json()["field"] == "reference"
    body = {"paid_on": "2026-12-10", "reference": "YB-2026-11-001"}
    r = post(client, insurer, f"{path}/pay", body, HTTP_IDEMPOTENCY_KEY="pay-1")
    assert (r.status_code, r.json()["status"], r.json()["paid_reference"]) == (200, "paid", "YB-2026-11-001")
    again = post(client, insurer, f"{path}/pay", body, HTTP_IDEMPOTENCY_KEY="pay-1")
    assert again.status_code == 200 and again.json() == r.json()  # the first answer, not a refusal
    r = post(client, insurer, f"{path}/return", {"reason": "x"})
    assert (r.status_code, r.json()["code"]) == (400, "settlement_frozen")
    s = Settlement.objects.get(site__code="S-A")
    assert (s.status, str(s.paid_on)) == ("paid", "2026-12-10")


def test_the_openapi_document_lists_the_settlement(client, settled, insurer):
    from vaxops.api import api

    paths = api.get_openapi_schema()["paths"]
    assert {
        "/api/v1/settlement/months/{month}",
        "/api/v1/settlement/months/{month}/sites/{site}/lines",
        "/api/v1/settlement/months/{month}/sites/{site}/pay",
    } <= set(paths)
    code = api.get_openapi_schema()["components"]["schemas"]["ErrorOut"]["properties"]["code"]["enum"]
    assert {"settlement_not_found", "settlement_status_move", "settlement_frozen"} <= set(code)
