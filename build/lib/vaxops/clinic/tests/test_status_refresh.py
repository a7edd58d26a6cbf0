"""Every write to a person's record tells the apps above (``clinic.signals.record_changed``) in the same
transaction; campaign's receiver refreshes the stored status there."""

from datetime import date

import pytest
from django.db import connection

from vaxops.campaign.models import ImmunizationStatus
from vaxops.campaign.receivers import on_record_changed
from vaxops.clinic.services import dose_record_external, dose_void
from vaxops.clinic.signals import record_changed


@pytest.fixture
def refreshed():
    """The ``record_changed`` signals sent, as (ids, transaction depth)."""
    calls: list[tuple[list[int], int]] = []

    def receiver(sender, resident_ids, **kwargs):
        calls.append((list(resident_ids), len(connection.atomic_blocks)))

    record_changed.connect(receiver, dispatch_uid="test.record_changed")
    yield calls
    record_changed.disconnect(dispatch_uid="test.record_changed")


class TestStatusRefresh:
    def test_it_signals_after_each_write_inside_its_transaction(self, refreshed, worker_a, resident_a):
        outside = len(connection.atomic_blocks)
        dose = dose_record_external(
            actor=worker_a,
            resident_id=resident_a.pk,
            product="BBIBP-CorV",
            given_on=date(2021, 4, 1),
            place="外地",
        )
        dose_void(actor=worker_a, dose_id=dose.pk, reason="录入错误")

        assert [ids for ids, _ in refreshed] == [[resident_a.pk], [resident_a.pk]]
        assert all(depth > outside for _, depth in refreshed)

    def test_it_stores_the_campaign_status_with_the_dose(self, worker_a, resident_a):
        ImmunizationStatus.objects.filter(resident=resident_a).delete()
        dose_record_external(
            actor=worker_a,
            resident_id=resident_a.pk,
            product="BBIBP-CorV",
            given_on=date(2021, 4, 1),
            place="外地",
        )
        status = ImmunizationStatus.objects.get(resident=resident_a)
        assert status.valid_doses == 1

    def test_it_does_without_a_receiver(self, worker_a, resident_a):
        assert record_changed.disconnect(dispatch_uid="campaign.record_changed")
        try:
            dose = dose_record_external(
                actor=worker_a,
                resident_id=resident_a.pk,
                product="BBIBP-CorV",
                given_on=date(2021, 4, 1),
                place="外地",
            )
        finally:
            record_changed.connect(on_record_changed, dispatch_uid="campaign.record_changed")
        assert dose.pk
