"""The monthly settlement: lines from the desk's doses, prices in force on each day, the cut-over, voids after
settlement, the reconciliation with the stock ledger, the status flow and the frozen month."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, transaction

from vaxops.audit.models import AuditEvent
from vaxops.core.errors import PermissionDenied, ValidationFailed
from vaxops.settlement import selectors, services
from vaxops.settlement.errors import SettlementErrorCode as E
from vaxops.settlement.models import Settlement, SettlementLine

from .conftest import give

NOV = dt.date(2026, 11, 1)
DEC = dt.date(2026, 12, 1)


def _run(actor, month=NOV, site=None):
    return {s.site.code: s for s in services.settlement_run(actor=actor, month=month, site=site)}


def test_it_settles_each_sites_desk_doses_line_by_line(places, priced, cdc):
    a, b = places
    for day in (3, 4, 5):
        give(a, dt.date(2026, 11, day), priced)
    give(b, dt.date(2026, 11, 20), priced)
    give(a, dt.date(2026, 11, 6), priced, external=True)  # a paper record: never paid
    give(a, dt.date(2026, 10, 31), priced)  # another month
    got = _run(cdc)
    assert set(got) == {"S-A", "S-B"}
    sa = got["S-A"]
    assert (sa.doses, sa.service_fee, sa.vaccine_cost) == (3, Decimal("30.00"), Decimal("280.50"))
    assert sa.payable == Decimal("310.50")
    assert sa.fiscal_subsidy == Decimal("93.15")  # 30 % of 310.50
    assert sa.reconciled is True and sa.status == "draft"
    lines = list(selectors.lines_of(sa))
    assert [ln.given_on.day for ln in lines] == [3, 4, 5]
    assert all(ln.code_masked.startswith("8000") and "****" in ln.code_masked for ln in lines)
    assert {ln.lot_id for ln in lines} == {priced.pk}
    assert AuditEvent.objects.filter(action="settlement.run").count() == 1


def test_a_price_change_within_the_month_splits_it(places, priced, cdc):
    a, _ = places
    services.vaccine_price_add(
        actor=cdc, product=priced.product, effective_from=dt.date(2026, 11, 16), price="88.00"
    )
    services.lot_price_add(actor=cdc, lot=priced, effective_from=dt.date(2026, 11, 25), price="80.10")
    for day in (15, 16, 24, 25):
        give(a, dt.date(2026, 11, day), priced)
    sa = _run(cdc)["S-A"]
    prices = [ln.vaccine_price for ln in selectors.lines_of(sa)]
    assert prices == [Decimal("93.50"), Decimal("88.00"), Decimal("88.00"), Decimal("80.10")]
    assert sa.vaccine_cost == Decimal("349.60")
    assert sa.payable == Decimal("389.60")
    assert sa.fiscal_subsidy == Decimal("116.88")  # 116.88 exactly


def test_the_subsidy_rounds_half_up_to_the_fen(places, lot, cdc):
    a, _ = places
    services.vaccine_price_add(
        actor=cdc, product=lot.product, effective_from=dt.date(2021, 1, 1), price="0.05"
    )
    give(a, dt.date(2026, 11, 2), lot)
    sa = _run(cdc)["S-A"]
    assert sa.payable == Decimal("10.05")
    assert sa.fiscal_subsidy == Decimal("3.02")  # 3.015 → 3.02 (half up)


def test_doses_before_the_cutover_go_to_the_old_channel(places, priced, cdc):
    a, _ = places
    services.rule_add(
        actor=cdc,
        effective_from=dt.date(2026, 11, 1),
        service_fee="10.00",
        subsidy_share="0.30",
        cutover_date=dt.date(2026, 11, 10),
    )
    give(a, dt.date(2026, 11, 9), priced)
    give(a, dt.date(2026, 11, 10), priced)
    sa = _run(cdc)["S-A"]
    assert (sa.doses, sa.old_channel_doses) == (1, 1)
    assert sa.payable == Decimal("103.50") and sa.old_channel_amount == Decimal("103.50")
    chans = {ln.given_on.day: ln.channel for ln in selectors.lines_of(sa)}
    assert chans == {9: "old", 10: "fund"}


def test_a_missing_price_refuses_the_month_naming_the_product(places, lot, cdc):
    give(places[0], dt.date(2026, 11, 2), lot)
    with pytest.raises(ValidationFailed) as e:
        _run(cdc)
    assert e.value.code == E.PRICE_MISSING and "BBIBP-CorV" in str(e.value)
    assert not Settlement.objects.exists()


def test_running_a_draft_again_recomputes_it(places, priced, cdc):
    a, _ = places
    give(a, dt.date(2026, 11, 3), priced)
    first = _run(cdc)["S-A"]
    d = give(a, dt.date(2026, 11, 4), priced)
    again = _run(cdc)["S-A"]
    assert again.pk == first.pk and again.doses == 2
    assert SettlementLine.objects.filter(settlement=again).count() == 2
    d.voided_at, d.void_reason = dt.datetime(2026, 11, 5, tzinfo=dt.UTC), "录错"
    d.save()
    third = _run(cdc)["S-A"]
    assert third.doses == 1 and third.adjustment_lines == 0
    assert Settlement.objects.count() == 1


def test_a_void_after_settlement_is_an_adjustment_in_the_next_month(places, priced, cdc, insurer):
    a, _ = places
    d = give(a, dt.date(2026, 11, 3), priced)
    give(a, dt.date(2026, 11, 4), priced)
    nov = _run(cdc)["S-A"]
    services.settlement_confirm(actor=cdc_with_confirm(cdc), settlement=nov)
    services.settlement_approve(actor=insurer, settlement=nov)
    d.voided_at, d.void_reason = dt.datetime(2026, 12, 2, tzinfo=dt.UTC), "重复登记"
    d.save()
    give(a, dt.date(2026, 12, 5), priced)
    dec = _run(cdc, month=DEC)["S-A"]
    nov.refresh_from_db()
    assert nov.doses == 2 and nov.payable == Decimal("207.00")  # never rewritten
    assert SettlementLine.objects.filter(settlement=nov).count() == 2
    assert (dec.doses, dec.adjustment_lines, dec.adjustment_amount) == (0, 1, Decimal("-103.50"))
    assert dec.payable == Decimal("0.00")
    adj = SettlementLine.objects.get(settlement=dec, kind="adjustment")
    assert (adj.dose_id, adj.vaccine_price, adj.service_fee) == (d.pk, Decimal("-93.50"), Decimal("-10.00"))
    # recomputing December does not take the dose back twice
    dec = _run(cdc, month=DEC)["S-A"]
    assert SettlementLine.objects.filter(kind="adjustment").count() == 1


def cdc_with_confirm(user):
    """The county planner acting for the site in a test (the site's own confirm is tested with its staff)."""
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="confirm_settlement"))
    return type(user).objects.get(pk=user.pk)


def test_reconciliation_with_the_ledger_detects_a_mismatch(places, priced, cdc):
    a, b = places
    give(a, dt.date(2026, 11, 3), priced)
    give(a, dt.date(2026, 11, 4), priced, ledger=False)  # a dose the ledger never saw
    give(b, dt.date(2026, 11, 4), priced)
    voided = give(b, dt.date(2026, 11, 5), priced)
    voided.voided_at, voided.void_reason = dt.datetime(2026, 11, 6, tzinfo=dt.UTC), "录错"
    voided.save()
    got = _run(cdc)
    assert got["S-A"].reconciled is False
    assert got["S-A"].reconciliation == [
        {"lot": "L2026A", "ledger": 1, "settled": 2, "voided": 0, "difference": -1}
    ]
    assert got["S-B"].reconciled is True
    assert got["S-B"].reconciliation[0]["voided"] == 1


def test_the_status_flow_and_the_frozen_month(places, priced, cdc, insurer):
    a, _ = places
    give(a, dt.date(2026, 11, 3), priced)
    s = _run(cdc)["S-A"]
    with pytest.raises(ValidationFailed) as e:
        services.settlement_approve(actor=insurer, settlement=s)
    assert e.value.code == E.STATUS_MOVE
    with pytest.raises(PermissionDenied):
        services.settlement_approve(actor=cdc, settlement=s)
    services.settlement_confirm(actor=cdc_with_confirm(cdc), settlement=s)
    services.settlement_approve(actor=insurer, settlement=s)
    # A new price reaching into the settled month is refused; one after it is fine.
    with pytest.raises(ValidationFailed) as e:
        services.vaccine_price_add(
            actor=cdc, product=priced.product, effective_from=dt.date(2026, 11, 20), price=1
        )
    assert e.value.code == E.VERSION_SETTLED
    services.vaccine_price_add(
        actor=cdc, product=priced.product, effective_from=dt.date(2026, 12, 1), price=1
    )
    # Rerunning the month leaves the approved statement as it was.
    again = _run(cdc)["S-A"]
    assert again.status == "approved" and again.payable == Decimal("103.50")
    with pytest.raises(ValidationFailed) as e:
        services.settlement_pay(actor=insurer, settlement=s, paid_on=dt.date(2026, 12, 10), reference="")
    assert e.value.code == E.PAYMENT_MISSING
    services.settlement_pay(
        actor=insurer, settlement=s, paid_on=dt.date(2026, 12, 10), reference="YB-2026-11-001"
    )
    s.refresh_from_db()
    assert (s.status, s.paid_reference) == ("paid", "YB-2026-11-001")
    with pytest.raises(ValidationFailed) as e:
        services.settlement_return(actor=insurer, settlement=s, reason="x")
    assert e.value.code == E.FROZEN


def test_the_database_refuses_to_change_an_approved_month(places, priced, cdc, insurer):
    a, _ = places
    give(a, dt.date(2026, 11, 3), priced)
    s = _run(cdc)["S-A"]
    services.settlement_confirm(actor=cdc_with_confirm(cdc), settlement=s)
    services.settlement_approve(actor=insurer, settlement=s)
    for attempt in (
        lambda: Settlement.objects.filter(pk=s.pk).update(payable=Decimal("1.00")),
        lambda: Settlement.objects.filter(pk=s.pk).update(status="draft"),
        lambda: SettlementLine.objects.filter(settlement=s).update(vaccine_price=Decimal("1.00")),
        lambda: SettlementLine.objects.filter(settlement=s).delete(),
        lambda: Settlement.objects.filter(pk=s.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    line = SettlementLine.objects.get(settlement=s)
    with pytest.raises(DatabaseError), transaction.atomic():
        SettlementLine.objects.create(
            settlement=s,
            kind="dose",
            channel="fund",
            dose_id=line.dose_id + 999,
            given_on=line.given_on,
            product_code="X",
            vaccine_price=1,
            service_fee=1,
        )
    assert Settlement.objects.get(pk=s.pk).payable == Decimal("103.50")


def test_scope_sites_see_their_own_finance_reads_the_subsidy(places, priced, cdc, finance, insurer):
    from vaxops.sites.models import StaffMember

    a, b = places
    give(a, dt.date(2026, 11, 3), priced)
    give(b, dt.date(2026, 11, 3), priced)
    _run(cdc)
    from vaxops.conftest import _user

    clerk = _user("clerk", "site_registration", division=a.division)
    StaffMember.objects.create(site=a, user=clerk, name="登记员", roles=["registration"])
    assert [s.site.code for s in selectors.settlements_visible(clerk)] == ["S-A"]
    sb = Settlement.objects.get(site=b)
    with pytest.raises(PermissionDenied):
        services.settlement_confirm(actor=clerk, settlement=sb)
    services.settlement_confirm(actor=clerk, settlement=Settlement.objects.get(site=a))
    assert selectors.settlements_visible(insurer).count() == 2
    summary = selectors.subsidy_summary(finance)
    assert summary[0]["subsidy"] == Decimal("62.10") and summary[0]["sites"] == 2
    assert not finance.has_perm("settlement.view_settlementline")
    with pytest.raises(PermissionDenied):
        services.settlement_run(actor=finance, month=NOV)


def test_the_cli_prints_the_months_json(places, priced, cdc):
    a, b = places
    give(a, dt.date(2026, 11, 3), priced)
    give(b, dt.date(2026, 11, 3), priced)
    give(b, dt.date(2026, 11, 4), priced)
    out = io.StringIO()
    call_command("settlement", "--month", "2026-11", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data == {
        "month": "2026-11",
        "rows": [
            {
                "site": "S-A",
                "doses": 1,
                "service_fee_yuan": "10.00",
                "vaccine_cost_yuan": "93.50",
                "payable_yuan": "103.50",
                "fiscal_subsidy_yuan": "31.05",
                "old_channel_doses": 0,
            },
            {
                "site": "S-B",
                "doses": 2,
                "service_fee_yuan": "20.00",
                "vaccine_cost_yuan": "187.00",
                "payable_yuan": "207.00",
                "fiscal_subsidy_yuan": "62.10",
                "old_channel_doses": 0,
            },
        ],
        "total": {
            "doses": 3,
            "service_fee_yuan": "30.00",
            "vaccine_cost_yuan": "280.50",
            "payable_yuan": "310.50",
            "fiscal_subsidy_yuan": "93.15",
            "old_channel_doses": 0,
        },
    }
    out = io.StringIO()
    call_command("settlement", "--month", "2026-11", "--site", "S-B", "--json", stdout=out)
    assert [r["site"] for r in json.loads(out.getvalue())["rows"]] == ["S-B"]


def _approve(s, cdc, insurer):
    services.settlement_confirm(actor=cdc_with_confirm(cdc), settlement=s)
    return services.settlement_approve(actor=insurer, settlement=s)


def _ledger(site, lot, at):
    """The administration the desk writes when it records a dose: at the moment of recording."""
    from django.utils import timezone

    from vaxops.supply.models import StockMovement

    m = StockMovement.objects.create(
        kind="administration", place=site.stock_place, lot=lot, doses=-1, actor_label="desk"
    )
    StockMovement.objects.filter(pk=m.pk).update(at=timezone.make_aware(at))


def test_a_dose_recorded_after_its_month_was_approved_is_paid_late_in_the_next(places, priced, cdc, insurer):
    a, b = places
    give(a, dt.date(2026, 11, 3), priced)
    nov = _approve(_run(cdc)["S-A"], cdc, insurer)
    # A new price from December (after the settled month: allowed); then a November dose recorded in December.
    services.vaccine_price_add(
        actor=cdc, product=priced.product, effective_from=dt.date(2026, 12, 1), price="80.00"
    )
    late = give(a, dt.date(2026, 11, 20), priced, ledger=False)
    _ledger(a, priced, dt.datetime(2026, 12, 2, 10))
    give(a, dt.date(2026, 12, 5), priced)
    dec = _run(cdc, month=DEC)["S-A"]
    nov.refresh_from_db()
    assert (nov.doses, nov.payable) == (1, Decimal("103.50"))  # never rewritten
    assert SettlementLine.objects.filter(settlement=nov).count() == 1
    # The late dose: a positive adjustment at its own day's price (93.50), beside December's dose at 80.00.
    assert (dec.doses, dec.adjustment_lines, dec.adjustment_amount) == (2, 1, Decimal("103.50"))
    assert (dec.vaccine_cost, dec.service_fee, dec.payable) == (
        Decimal("173.50"),
        Decimal("20.00"),
        Decimal("193.50"),
    )
    line = SettlementLine.objects.get(settlement=dec, kind="late")
    assert (line.dose_id, line.given_on, line.vaccine_price, line.service_fee, line.channel) == (
        late.pk,
        dt.date(2026, 11, 20),
        Decimal("93.50"),
        Decimal("10.00"),
        "fund",
    )
    assert line.code_masked.startswith("8000") and "****" in line.code_masked
    assert dec.reconciled is True, dec.reconciliation  # the ledger saw the late dose in December
    # Recomputing December pays it once; site B is untouched.
    dec = _run(cdc, month=DEC)["S-A"]
    assert SettlementLine.objects.filter(kind="late").count() == 1 and dec.adjustment_lines == 1
    assert not Settlement.objects.filter(site=b, month=DEC).exists()
    # Voided after December was approved: taken back in January at the amounts it was paid with.
    _approve(dec, cdc, insurer)
    late.voided_at, late.void_reason = dt.datetime(2027, 1, 3, tzinfo=dt.UTC), "重复登记"
    late.save()
    jan = _run(cdc, month=dt.date(2027, 1, 1))["S-A"]
    adj = SettlementLine.objects.get(settlement=jan, kind="adjustment")
    assert (adj.dose_id, adj.vaccine_price, adj.service_fee, adj.given_on) == (
        late.pk,
        Decimal("-93.50"),
        Decimal("-10.00"),
        dt.date(2026, 11, 20),
    )
    assert (jan.doses, jan.payable, jan.adjustment_amount) == (-1, Decimal("-103.50"), Decimal("-103.50"))
    # Nothing further to pay or take back in February.
    assert _run(cdc, month=dt.date(2027, 2, 1)) == {}


def test_a_dose_recorded_late_in_a_month_still_in_draft_is_settled_in_its_own_month(
    places, priced, cdc, insurer
):
    a, _ = places
    give(a, dt.date(2026, 11, 3), priced)
    nov = _run(cdc)["S-A"]
    give(a, dt.date(2026, 11, 20), priced)
    give(a, dt.date(2026, 12, 5), priced)
    dec = _run(cdc, month=DEC)["S-A"]
    assert (dec.doses, dec.adjustment_lines) == (1, 0)  # November is not settled yet: no late line
    nov = _run(cdc)["S-A"]
    assert (nov.doses, nov.adjustment_lines) == (2, 0)
    # Approved, then recorded once more: paid late in December's recomputation, not in November.
    _approve(nov, cdc, insurer)
    give(a, dt.date(2026, 11, 21), priced)
    dec = _run(cdc, month=DEC)["S-A"]
    assert (dec.doses, dec.adjustment_lines) == (2, 1)
    nov.refresh_from_db()
    assert nov.doses == 2


def test_a_line_needs_its_statement_and_a_deleted_draft_takes_its_lines(places, priced, cdc):
    a, _ = places
    give(a, dt.date(2026, 11, 3), priced)
    s = _run(cdc)["S-A"]
    line = SettlementLine.objects.get(settlement=s)
    with pytest.raises(DatabaseError), transaction.atomic():
        SettlementLine.objects.filter(pk=line.pk).update(settlement_id=s.pk + 999)
    with pytest.raises(DatabaseError), transaction.atomic():
        SettlementLine.objects.create(
            settlement_id=s.pk + 999,
            kind="dose",
            channel="fund",
            dose_id=line.dose_id,
            given_on=line.given_on,
            product_code="X",
            vaccine_price=1,
            service_fee=1,
        )
    from django.db import connection

    with connection.cursor() as c:  # as raw SQL would, without the ORM's cascade
        c.execute("DELETE FROM settlement_settlement WHERE id = %s", [s.pk])
    assert not SettlementLine.objects.exists()
