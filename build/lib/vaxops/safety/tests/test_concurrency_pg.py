"""On PostgreSQL: cases proposing a hold of one lot at the same moment gather on one proposal (the partial
unique index on open holds), and two county users clicking "confirm" at once hold the lot once."""

import pytest
from django.db import connection

from vaxops.core.actors import SystemActor
from vaxops.safety import services
from vaxops.safety.models import LotHold
from vaxops.supply.models import Lot
from vaxops.supply.tests.factories import lot
from vaxops.testing.concurrency import race

pytestmark = pytest.mark.usefixtures("audit_log_flushable")


@pytest.mark.django_db(transaction=True)
def test_concurrent_proposals_for_one_lot_make_one_hold_and_concurrent_clicks_confirm_it_once(county, cdc):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so it cannot show proposals racing")
    a_lot = lot()

    def propose(i: int) -> int:
        return services.lot_hold_propose(
            actor=SystemActor("test"), lot=Lot.objects.get(pk=a_lot.pk), reports=[], reason=f"严重病例{i}"
        ).pk

    ids = race(6, propose, keep_result=True)
    assert len(set(ids)) == 1 and LotHold.objects.count() == 1
    hold = LotHold.objects.get()

    outcomes = race(4, lambda i: services.lot_hold_confirm(actor=cdc, hold_id=hold.pk))
    assert outcomes.count("ok") == 1 and len(outcomes) == 4
    assert Lot.objects.get(pk=a_lot.pk).status == "on_hold"
    assert LotHold.objects.get().state == "held"
