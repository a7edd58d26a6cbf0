"""The facts under concurrent writers, on PostgreSQL: doses for different people at once add up (the
increments are the database's arithmetic), and two changes of one person's record at once are serialised."""

from datetime import date

import pytest
from django.db import connection

from vaxops.registry.tests.test_concurrency_pg import _audit_log_flushable, run_together  # noqa: F401

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason=f"concurrency tests need PostgreSQL (database is {connection.vendor})",
    ),
]
DAY = date(2021, 6, 10)


@pytest.mark.django_db(transaction=True)
def test_eight_doses_for_eight_people_at_once_lose_no_increment(county, cdc):
    from vaxops.clinic.services import dose_record_external
    from vaxops.clinic.tests.conftest import make_resident
    from vaxops.reports.models import DoseFact, DoseTotal, PeopleTotal
    from vaxops.reports.services import facts_check

    # Same village, birth date, sex and day: every dose meets the same fact rows.
    people = [make_resident("330199001001", 10 + i, f"人{i}") for i in range(8)]

    def work(i):
        return dose_record_external(
            actor=cdc, resident_id=people[i].pk, product="BBIBP-CorV", given_on=DAY, place="外省"
        ).pk

    results, errors = run_together(8, work)
    assert errors == [None] * 8 and all(results)
    assert DoseFact.objects.get(day=DAY, kind=1).n == 8
    assert DoseTotal.objects.get(kind=1).n == 8
    assert PeopleTotal.objects.get(event=1).n == 8
    assert facts_check()["ok"]


@pytest.mark.django_db(transaction=True)
def test_two_doses_for_one_person_at_once_count_as_dose_1_and_dose_2(county, cdc):
    from vaxops.clinic.services import dose_record_external
    from vaxops.clinic.tests.conftest import make_resident
    from vaxops.reports.models import DoseTotal, PersonProgress
    from vaxops.reports.services import facts_check

    person = make_resident("330199002001", 1, "李强")
    days = [date(2021, 5, 1), date(2021, 6, 1)]

    def work(i):
        return dose_record_external(
            actor=cdc, resident_id=person.pk, product="CoronaVac", given_on=days[i], place="外省"
        ).pk

    results, errors = run_together(2, work)
    assert errors == [None, None]
    assert sorted(DoseTotal.objects.exclude(n=0).values_list("kind", "n")) == [(1, 1), (2, 1)]
    assert PersonProgress.objects.get(resident_id=person.pk).completed_on == days[1]
    assert facts_check()["ok"]


@pytest.mark.django_db(transaction=True)
def test_four_doses_for_one_person_at_once_count_in_date_order(county, cdc):
    """Four external doses of one person at once, on four days: whichever commits first, each later writer
    sees the earlier ones (added to the progress it locked, or counted anew when its dose is dated before the
    person's last), so the facts equal a recount."""
    from vaxops.clinic.services import dose_record_external
    from vaxops.clinic.tests.conftest import make_resident
    from vaxops.reports.models import DoseTotal, PersonProgress
    from vaxops.reports.services import facts_check

    days = [date(2021, 5, 1), date(2021, 6, 1), date(2021, 7, 1), date(2021, 8, 1)]
    for round_ in range(3):
        person = make_resident("330199002001", 2 + round_, f"王磊{round_}")

        def work(i, person=person):
            return dose_record_external(
                actor=cdc, resident_id=person.pk, product="CoronaVac", given_on=days[i], place="外省"
            ).pk

        results, errors = run_together(4, work)
        assert errors == [None] * 4
        progress = PersonProgress.objects.get(resident_id=person.pk)
        assert (progress.first_on, progress.completed_on, progress.booster_on) == (days[0], days[1], days[2])
        assert facts_check()["ok"]
    kinds = sorted(DoseTotal.objects.exclude(n=0).values_list("kind", "n"))
    assert kinds == [(1, 3), (2, 3), (4, 6)]
