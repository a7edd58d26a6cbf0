"""Real concurrent connections on PostgreSQL: one code can never be recorded twice, and a retried request
never makes a second dose."""

import uuid

import pytest
from django.db import connection

from vaxops.clinic.models import Dose
from vaxops.desk import services as desk_services
from vaxops.supply.models import CodeState, StockBalance, TraceCode
from vaxops.testing.concurrency import race

from .desk_setup import code, open_site, ready_person, ten_in_the_morning

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("audit_log_flushable")]


@pytest.fixture
def two_desks(county, village_a1, vaccinator, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so desks cannot race")
    from vaxops.accounts.services import user_create
    from vaxops.core.actors import SystemActor
    from vaxops.jurisdictions.models import Division

    ten_in_the_morning(monkeypatch)
    second = user_create(
        actor=SystemActor("test"),
        username="vaccinator2",
        password="correct-horse-battery",
        role="site_vaccinator",
        division=Division.objects.get(code="330199001000"),
    )
    return open_site(county, village_a1, vaccinator, second_vaccinator=second), vaccinator, second


def test_two_desks_scanning_one_code_for_two_people_record_one_dose(two_desks, village_a1):
    site, first, second = two_desks
    people = [ready_person(site, village_a1, 1), ready_person(site, village_a1, 2, name="李大")]
    users = [first, second]

    outcomes = race(
        2,
        lambda i: (
            desk_services.dose_administer(
                actor=users[i],
                resident_id=people[i].pk,
                code=code(1),
                client_id=uuid.uuid4().hex,
                phone_last4="5678",
            ).pk
        ),
        keep_result=True,
    )

    assert sum(isinstance(o, int) for o in outcomes) == 1, outcomes
    assert Dose.objects.count() == 1
    assert TraceCode.objects.get(code=code(1)).state == CodeState.ADMINISTERED
    assert StockBalance.objects.get(place=site.place, lot=site.lot).doses == 9


def test_six_retries_of_one_request_at_once_record_one_dose(two_desks, village_a1):
    site, first, _ = two_desks
    person = ready_person(site, village_a1, 1)
    client_id = uuid.uuid4().hex

    outcomes = race(
        6,
        lambda i: (
            desk_services.dose_administer(
                actor=first, resident_id=person.pk, code=code(1), client_id=client_id, phone_last4="5678"
            ).pk
        ),
        keep_result=True,
    )

    assert len(set(outcomes)) == 1 and isinstance(outcomes[0], int), outcomes
    assert Dose.objects.count() == 1
    assert StockBalance.objects.get(place=site.place, lot=site.lot).doses == 9
