"""The pages: the county's month, a statement with its lines and its flow, the site's own statements, the
subsidy summary, the rules page, and the XLSX and PDF documents."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from vaxops.certs import document as cert_document
from vaxops.conftest import _user
from vaxops.settlement import services
from vaxops.settlement.models import Settlement, VaccinePrice

from .conftest import give

NOV = dt.date(2026, 11, 1)


@pytest.fixture
def settled(places, priced, cdc):
    a, b = places
    give(a, dt.date(2026, 11, 3), priced)
    give(a, dt.date(2026, 11, 4), priced)
    give(b, dt.date(2026, 11, 4), priced)
    services.settlement_run(actor=cdc, month=NOV)
    return Settlement.objects.get(site=a)


def _login(client, user):
    client.force_login(user)
    return client


def test_the_county_page_lists_every_site_with_totals(client, settled, cdc):
    r = _login(client, cdc).get("/settlement/?month=2026-11")
    body = r.content.decode()
    assert r.status_code == 200
    assert "疫苗及接种费用结算" in body and 'data-site="S-A"' in body and 'data-site="S-B"' in body
    assert 'id="total-payable">310.50<' in body and 'id="total-subsidy">93.15<' in body


def test_the_insurer_approves_and_pays_on_the_statement_page(client, settled, insurer, cdc):
    Settlement.objects.filter(pk=settled.pk).update(status="confirmed")
    c = _login(client, insurer)
    page = c.get(f"/settlement/statements/{settled.pk}/").content.decode()
    assert 'id="approve"' in page and "8000****" in page and 'id="verdict"' in page
    c.post(f"/settlement/statements/{settled.pk}/act/", {"action": "approve"})
    c.post(
        f"/settlement/statements/{settled.pk}/act/",
        {"action": "pay", "paid_on": "2026-12-10", "reference": "YB-001"},
    )
    settled.refresh_from_db()
    assert (settled.status, settled.paid_reference) == ("paid", "YB-001")


def test_a_site_sees_only_its_own_statements(client, settled, places):
    from vaxops.sites.models import StaffMember

    a, b = places
    clerk = _user("clerk", "site_registration", division=a.division)
    StaffMember.objects.create(site=a, user=clerk, name="登记员", roles=["registration"])
    c = _login(client, clerk)
    assert c.get("/settlement/sites/S-A/").status_code == 200
    assert c.get("/settlement/sites/S-B/").status_code == 404
    other = Settlement.objects.get(site=b)
    assert c.get(f"/settlement/statements/{other.pk}/").status_code == 404
    body = c.get("/settlement/?month=2026-11").content.decode()
    assert 'data-site="S-A"' in body and 'data-site="S-B"' not in body
    c.post(f"/settlement/statements/{settled.pk}/act/", {"action": "confirm"})
    assert Settlement.objects.get(pk=settled.pk).status == "confirmed"


def test_finance_reads_the_subsidy_and_not_the_lines(client, settled, finance):
    c = _login(client, finance)
    body = c.get("/settlement/subsidy/").content.decode()
    assert "93.15" in body
    assert c.get(f"/settlement/statements/{settled.pk}/").status_code == 403


def test_the_statement_and_summary_as_xlsx(client, settled, cdc):
    c = _login(client, cdc)
    wb = load_workbook(io.BytesIO(c.get(f"/settlement/statements/{settled.pk}/statement.xlsx").content))
    lines = list(wb["明细"].iter_rows(values_only=True))
    assert len(lines) == 3 and lines[1][4] == "BBIBP-CorV" and float(lines[1][9]) == 103.5
    head = dict(r[:2] for r in wb["结算单"].iter_rows(min_row=2, values_only=True))
    assert head["医保基金应付（元）"] == "207.00"
    wb = load_workbook(io.BytesIO(c.get("/settlement/months/2026-11/summary.xlsx").content))
    rows = list(wb["全县汇总"].iter_rows(values_only=True))
    assert rows[-1][0] == "合计" and float(rows[-1][6]) == 310.5


@pytest.mark.skipif(not cert_document.font_available(), reason="no CJK font installed (make fonts)")
def test_the_statement_and_summary_as_pdf(client, settled, cdc):
    c = _login(client, cdc)
    for url in (
        f"/settlement/statements/{settled.pk}/statement.pdf",
        "/settlement/months/2026-11/summary.pdf",
    ):
        r = c.get(url)
        assert r.status_code == 200 and r.content.startswith(b"%PDF") and len(r.content) > 2000


def test_the_rules_page_adds_a_price_and_refuses_one_in_a_settled_month(client, settled, cdc, priced):
    c = _login(client, cdc)
    assert "10.00" in c.get("/settlement/rules/").content.decode()
    c.post(
        "/settlement/rules/",
        {"kind": "price", "product": "BBIBP-CorV", "effective_from": "2026-12-01", "price": "90.00"},
    )
    assert VaccinePrice.objects.filter(effective_from=dt.date(2026, 12, 1)).exists()
    Settlement.objects.filter(pk=settled.pk).update(status="confirmed")
    r = c.post(
        "/settlement/rules/",
        {"kind": "price", "product": "BBIBP-CorV", "effective_from": "2026-11-20", "price": "1.00"},
        follow=True,
    )
    assert "已结算月份" in r.content.decode()
    assert not VaccinePrice.objects.filter(effective_from=dt.date(2026, 11, 20)).exists()


def test_running_the_month_from_the_page(client, places, priced, cdc):
    give(places[0], dt.date(2026, 11, 3), priced)
    _login(client, cdc).post("/settlement/run/", {"month": "2026-11"})
    assert Settlement.objects.get(site=places[0]).payable == services.domain.yuan("103.50")


def test_the_dashboard_shows_the_latest_months_settlement(client, settled, leader):
    body = _login(client, leader).get("/reports/dashboard/").content.decode()
    assert 'id="settlement-block"' in body
    assert 'data-settlement="payable">310.50<' in body and 'data-settlement="subsidy">93.15<' in body
    assert 'data-settlement="approved">0/2<' in body


def test_the_admin_refuses_a_price_version_in_a_settled_month(client, settled, priced, django_user_model):
    from vaxops.audit.models import AuditEvent

    Settlement.objects.filter(pk=settled.pk).update(status="confirmed")
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "x")
    client.force_login(admin)
    url = "/admin/settlement/vaccineprice/add/"
    r = client.post(
        url, {"product": priced.product.pk, "effective_from": "2026-11-20", "price": "1.00", "note": ""}
    )
    assert r.status_code == 200 and "已结算月份" in r.content.decode()
    r = client.post(
        url, {"product": priced.product.pk, "effective_from": "2026-12-01", "price": "1.00", "note": ""}
    )
    assert r.status_code == 302
    assert VaccinePrice.objects.filter(effective_from=dt.date(2026, 12, 1)).exists()
    assert AuditEvent.objects.filter(
        action__startswith="admin.", object_type="settlement.vaccineprice"
    ).exists()
    # the version in force for the settled month can be neither changed nor deleted
    old = VaccinePrice.objects.get(effective_from=dt.date(2021, 1, 1))
    assert client.post(f"/admin/settlement/vaccineprice/{old.pk}/delete/", {"post": "yes"}).status_code == 403


def test_a_pdf_cut_short_says_so_and_points_to_the_xlsx(settled, monkeypatch):
    from vaxops.settlement import documents, selectors

    seen = {}
    monkeypatch.setattr(
        documents, "_pdf", lambda title, blocks: seen.setdefault("blocks", blocks) and b"%PDF"
    )
    lines = list(selectors.lines_of(settled))
    documents.statement_pdf(settled, lines[:1], len(lines))
    head = dict(seen.pop("blocks")[0][1])
    assert "前1行" in head["明细行"] and "XLSX" in head["明细行"]
    documents.statement_pdf(settled, lines, len(lines))
    assert "明细行" not in dict(seen["blocks"][0][1])
