"""The demo county has settled months to look at: the first approved and paid, the second confirmed with the
adjustment of a dose voided after the first was settled, both agreeing with the stock ledger."""

import pytest

from vaxops.demo.tests.test_demo import seed
from vaxops.settlement.models import Settlement, SettlementLine


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_demo_has_settled_months(db):
    seed()
    first, second = Settlement.objects.order_by("month")
    assert (first.status, second.status) == ("paid", "confirmed")
    assert first.doses + first.old_channel_doses > 0 and first.old_channel_doses > 0
    assert second.adjustment_lines == 1 and second.adjustment_amount < 0
    assert SettlementLine.objects.filter(settlement=second, kind="adjustment").count() == 1
    assert first.reconciled and second.reconciled
    assert (
        len({ln.vaccine_price for ln in SettlementLine.objects.filter(settlement=second, kind="dose")}) == 2
    )
    seed()  # a second run changes nothing
    assert Settlement.objects.count() == 2
