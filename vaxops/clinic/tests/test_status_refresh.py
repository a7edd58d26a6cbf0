"""Every write to a person's record refreshes their campaign status in the same transaction."""

import sys
import types
from datetime import date

import pytest
from django.db import connection

from vaxops.clinic import services
from vaxops.clinic.services import dose_record_external, dose_void


@pytest.fixture
def refreshed(monkeypatch):
    """A stand-in for vaxops.campaign.services.status_refresh recording (ids, transaction depth)."""
    calls: list[tuple[list[int], int]] = []
    package = types.ModuleType("vaxops.campaign")
    module = types.ModuleType("vaxops.campaign.services")
    module.status_refresh = lambda *, resident_ids: calls.append(
        (list(resident_ids), len(connection.atomic_blocks))
    )
    package.services = module
    monkeypatch.setitem(sys.modules, "vaxops.campaign", package)
    monkeypatch.setitem(sys.modules, "vaxops.campaign.services", module)
    monkeypatch.setattr(services.apps, "is_installed", lambda name: True)
    return calls


class TestStatusRefresh:
    def test_it_refreshes_after_each_write_inside_its_transaction(self, refreshed, worker_a, resident_a):
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

    def test_it_does_without_the_campaign_app(self, monkeypatch, worker_a, resident_a):
        monkeypatch.setattr(services.apps, "is_installed", lambda name: True)
        monkeypatch.setitem(sys.modules, "vaxops.campaign.services", None)  # import fails as if absent

        dose_record_external(
            actor=worker_a,
            resident_id=resident_a.pk,
            product="BBIBP-CorV",
            given_on=date(2021, 4, 1),
            place="外地",
        )
