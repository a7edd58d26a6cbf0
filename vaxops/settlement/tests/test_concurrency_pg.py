"""On PostgreSQL: four settles of one month at once, each on its own connection, make one settlement per site
and one set of lines (the unique constraint on site and month; the later runs wait for the row locks and
recompute the same draft); and an approve racing a second approve approves once."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from vaxops.core.actors import SystemActor
from vaxops.settlement import services
from vaxops.settlement.models import Settlement, SettlementLine
from vaxops.testing.concurrency import race

from .conftest import give

pytestmark = pytest.mark.usefixtures("audit_log_flushable")


@pytest.mark.django_db(transaction=True)
def test_concurrent_settles_make_one_settlement_per_site_and_month(places, priced, insurer):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so it cannot show settles racing")
    a, b = places
    for day in (2, 3, 4):
        give(a, dt.date(2026, 11, day), priced)
    give(b, dt.date(2026, 11, 9), priced)

    outcomes = race(4, lambda i: services.settlement_run(actor=SystemActor("t"), month=dt.date(2026, 11, 1)))
    assert outcomes == ["ok"] * 4
    assert Settlement.objects.count() == 2
    assert SettlementLine.objects.count() == 4
    assert Settlement.objects.get(site=a).payable == Decimal("310.50")

    s = Settlement.objects.get(site=a)
    services.settlement_confirm(actor=SystemActor("site"), settlement=s)
    outcomes = race(3, lambda i: services.settlement_approve(actor=insurer, settlement=s))
    assert outcomes.count("ok") == 1 and len(outcomes) == 3
    assert Settlement.objects.get(pk=s.pk).status == "approved"
