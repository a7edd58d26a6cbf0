"""The demo county has settled months to look at: the first approved and paid, the second confirmed with the
adjustment of a dose voided after the first was settled and the late line of a dose entered after it, both agreeing with the stock ledger."""

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
    assert second.adjustment_lines == 2
    assert SettlementLine.objects.filter(settlement=second, kind="adjustment").count() == 1
    late = SettlementLine.objects.get(settlement=second, kind="late")
    assert late.given_on.month == first.month.month and late.vaccine_price > 0
    assert first.reconciled and second.reconciled
    assert (
        len({ln.vaccine_price for ln in SettlementLine.objects.filter(settlement=second, kind="dose")}) == 2
    )
    seed()  # a second run changes nothing
    assert Settlement.objects.count() == 2
