"""Real concurrent connections on PostgreSQL: one code can never be recorded twice, and a retried request
never makes a second dose."""

import datetime as dt
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


def test_eight_desks_scanning_one_code_at_once_record_one_dose_and_seven_code_used(
    county, village_a1, vaccinator, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so desks cannot race")
    import threading

    from django.db import connections

    from vaxops.accounts.services import user_create
    from vaxops.core.actors import SystemActor
    from vaxops.core.errors import VaxOpsError
    from vaxops.jurisdictions.models import Division
    from vaxops.sites import services as sites
    from vaxops.sites.models import Certificate, Desk, StaffMember

    ten_in_the_morning(monkeypatch)
    site = open_site(county, village_a1, vaccinator)
    users = [vaccinator]
    for k in range(2, 9):
        user = user_create(
            actor=SystemActor("test"),
            username=f"vaccinator{k}",
            password="correct-horse-battery",
            role="site_vaccinator",
            division=Division.objects.get(code="330199001000"),
        )
        desk = Desk.objects.create(site=site.site, kind="vaccination", number=k + 1)
        member = StaffMember.objects.create(
            site=site.site, name=f"接种员{k}", roles=["vaccination"], user=user
        )
        Certificate.objects.create(
            staff=member, kind="training", number=f"PX-{k}", valid_from=dt.date(2021, 1, 1)
        )
        sites.assignment_add(
            actor=SystemActor("test"), session=site.session, staff=member, desk=desk, role="vaccination"
        )
        users.append(user)
    people = [ready_person(site, village_a1, i + 1, name=f"受种者{i}") for i in range(8)]
    barrier = threading.Barrier(8)
    outcomes: list = []
    guard = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            try:
                dose = desk_services.dose_administer(
                    actor=users[i],
                    resident_id=people[i].pk,
                    code=code(1),
                    client_id=uuid.uuid4().hex,
                    phone_last4="5678",
                )
                outcome = ("dose", dose.pk)
            except VaxOpsError as e:
                outcome = ("refused", e.code)
            with guard:
                outcomes.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert len(outcomes) == 8, "a desk did not finish"
    assert sorted(kind for kind, _ in outcomes).count("dose") == 1, outcomes
    assert sorted(detail for kind, detail in outcomes if kind == "refused") == ["code_used"] * 7
    assert Dose.objects.count() == 1
    assert TraceCode.objects.get(code=code(1)).state == CodeState.ADMINISTERED
    assert StockBalance.objects.get(place=site.place, lot=site.lot).doses == 9
