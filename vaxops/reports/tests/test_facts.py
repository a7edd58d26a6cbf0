"""The facts kept as doses happen equal a recount of the records, whatever the order of doses, voids,
external doses and corrections; ``report check`` says so, and says so no more once a fact is tampered with."""

import io
import json
import random
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from vaxops.clinic import services as clinic
from vaxops.clinic.models import Dose
from vaxops.clinic.tests.conftest import make_resident
from vaxops.core.actors import SystemActor
from vaxops.registry.models import PriorityGroup, Resident
from vaxops.reports import domain
from vaxops.reports.models import DoseFact, DoseTotal, PeopleFact, PeopleTotal, PersonProgress
from vaxops.reports.services import facts_apply, facts_check, facts_rebuild, facts_refresh_people

from .conftest import A1, A2, B1

pytestmark = pytest.mark.django_db
ACTOR = SystemActor("test")
PRODUCTS = ("BBIBP-CorV", "CoronaVac", "Convidecia", "ZF2001")


def _give(person, on, product, *, booster=False, site=None):
    """A dose as the desk records it: the facts see it before it is written, in the same transaction."""
    from django.db import transaction

    with transaction.atomic():
        dose = Dose(
            resident=person,
            product_code=product,
            given_on=on,
            place="接种点",
            is_booster=booster,
            site_id=site,
        )
        facts_apply(resident_ids=[person.pk], pending=dose)
        dose.save()
    return dose


def test_classify_counts_the_primary_course_then_boosters():
    d = date(2021, 5, 1)
    doses = [
        domain.StandingDose(d, 1, "BBIBP-CorV", 0, False),
        domain.StandingDose(d + timedelta(days=30), 2, "BBIBP-CorV", 0, False),
        domain.StandingDose(d + timedelta(days=200), 3, "BBIBP-CorV", 0, False),
        domain.StandingDose(d + timedelta(days=400), 4, "Convidecia", 0, True),
    ]
    kinds, first, completed, booster = domain.classify(doses, {"BBIBP-CorV": 2, "Convidecia": 1})
    assert kinds == [1, 2, 4, 4]
    assert (first, completed, booster) == (d, d + timedelta(days=30), d + timedelta(days=200))
    kinds, _, completed, _ = domain.classify(doses[:1], {"BBIBP-CorV": 2})
    assert kinds == [1] and completed is None
    three = [domain.StandingDose(d + timedelta(days=i * 30), i, "ZF2001", 0, False) for i in range(4)]
    kinds, _, completed, booster = domain.classify(three, {"ZF2001": 3})
    assert kinds == [1, 2, 3, 4] and completed == d + timedelta(days=60)


def test_age_bands_follow_the_birthday():
    born = date(1961, 6, 10)
    assert domain.age_band(born, date(2021, 6, 9)) == 18
    assert domain.age_band(born, date(2021, 6, 10)) == 60
    assert domain.age_band(date(2000, 2, 29), date(2021, 2, 28)) == 18
    assert domain.age_band(None, date(2021, 1, 1)) == 0
    assert domain.age_band(date(2019, 1, 1), date(2021, 1, 1)) == 0


def _people(county, n):
    villages = (A1, A2, B1)
    groups = [None, *PriorityGroup.objects.values_list("code", flat=True)[:3]]
    out = []
    for i in range(n):
        birth = date(1940 + (i * 7) % 70, 1 + i % 12, 1 + (i * 3) % 28)
        out.append(
            make_resident(villages[i % 3], 100 + i, f"人{i}", birth=birth, group=groups[i % len(groups)])
        )
    return out


def test_random_doses_voids_external_doses_and_corrections_keep_the_facts_exact(county, cdc):
    rng = random.Random(20210610)
    people = _people(county, 12)
    start = date(2021, 4, 1)
    for step in range(120):
        person = rng.choice(people)
        action = rng.random()
        day = start + timedelta(days=rng.randrange(0, 400))
        if action < 0.45:
            product = rng.choice(PRODUCTS)
            if not Dose.objects.filter(
                resident=person, given_on=day, product_code=product, voided_at=None
            ).exists():
                _give(person, day, product, booster=rng.random() < 0.15, site=None)
        elif action < 0.7:
            try:
                clinic.dose_record_external(
                    actor=cdc,
                    resident_id=person.pk,
                    product=rng.choice(PRODUCTS),
                    given_on=min(day, date(2022, 5, 1)),
                    place="外省某接种点",
                )
            except Exception as e:  # a duplicate of the same product and day is refused: fine
                assert getattr(e, "code", None) == "dose_duplicate", e
        elif action < 0.9:
            standing = list(Dose.objects.filter(resident=person, voided_at=None))
            if standing:
                clinic.dose_void(actor=cdc, dose_id=rng.choice(standing).pk, reason="登记错误")
        else:
            # A correction of where the person lives or when they were born: they count anew.
            Resident.objects.filter(pk=person.pk).update(
                village_code=rng.choice((A1, A2, B1)), birth_date=date(1950 + rng.randrange(50), 3, 1)
            )
            facts_refresh_people(resident_ids=[person.pk])
        if step % 30 == 29:
            assert facts_check()["ok"], facts_check()["differences"][:5]
    result = facts_check()
    assert result["ok"], result["differences"][:5]
    assert result["rows"]["dose"] > 0 and result["rows"]["people"] > 0
    stored = {k: sorted(v) for k, v in _snapshot().items()}
    facts_rebuild()
    assert {k: sorted(v) for k, v in _snapshot().items()} == stored
    assert facts_check()["ok"]


def _snapshot():
    return {
        "dose": [
            (f.day, f.village_code, f.site_id, f.product_code, f.kind, f.n)
            for f in DoseFact.objects.exclude(n=0)
        ],
        "dose_total": [
            (f.village_code, f.site_id, f.product_code, f.kind, f.n) for f in DoseTotal.objects.exclude(n=0)
        ],
        "people": [
            (f.day, f.village_code, f.event, f.band, f.sex, f.group_id, f.employer_id, f.n)
            for f in PeopleFact.objects.exclude(n=0)
        ],
        "people_total": [
            (f.village_code, f.event, f.band, f.sex, f.group_id, f.employer_id, f.n)
            for f in PeopleTotal.objects.exclude(n=0)
        ],
        "progress": [
            (p.resident_id, p.first_on, p.completed_on, p.booster_on, domain.doses_from_text(p.doses))
            for p in PersonProgress.objects.all()
        ],
    }


def test_a_void_moves_the_first_dose_and_takes_the_dose_away(county, cdc):
    person = make_resident(A1, 1, "王芳", birth=date(1950, 1, 1))
    d1 = _give(person, date(2021, 5, 1), "BBIBP-CorV")
    _give(person, date(2021, 6, 1), "BBIBP-CorV")
    progress = PersonProgress.objects.get(resident_id=person.pk)
    assert (progress.first_on, progress.completed_on) == (date(2021, 5, 1), date(2021, 6, 1))
    assert DoseTotal.objects.get(kind=1).n == 1 and DoseTotal.objects.get(kind=2).n == 1
    clinic.dose_void(actor=cdc, dose_id=d1.pk, reason="登记错误")
    progress.refresh_from_db()
    assert (progress.first_on, progress.completed_on) == (date(2021, 6, 1), None)
    assert DoseTotal.objects.get(kind=1).n == 1 and DoseTotal.objects.get(kind=2).n == 0
    firsts = PeopleFact.objects.filter(event=domain.Event.FIRST_DOSE).exclude(n=0)
    assert [(f.day, f.band, f.n) for f in firsts] == [(date(2021, 6, 1), 70, 1)]
    assert facts_check()["ok"]


def test_check_fails_when_a_fact_is_tampered_with_and_the_command_exits_1(county, cdc):
    person = make_resident(B1, 1, "李强")
    _give(person, date(2021, 5, 1), "BBIBP-CorV")
    out = io.StringIO()
    call_command("report", "check", "--json", stdout=out)
    assert json.loads(out.getvalue())["ok"] is True
    DoseFact.objects.update(n=5)
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("report", "check", "--json", stdout=out)
    assert exit_.value.code == 1
    printed = json.loads(out.getvalue())
    assert printed["ok"] is False
    first = printed["differences"][0]
    assert (first["table"], first["key"][0], first["expected"], first["stored"]) == (
        "dose",
        "2021-05-01",
        1,
        5,
    )
    out = io.StringIO()
    call_command("report", "rebuild", stdout=out)
    call_command("report", "check", stdout=io.StringIO())
    assert DoseFact.objects.get().n == 1


def test_statements_a_dose_adds(county, django_assert_max_num_queries, settings):
    from vaxops.catalog.selectors import catalogue_current

    settings.VAXOPS_CATALOGUE_TOKEN_TTL = 3600  # a server reads the catalogue's token once a second
    catalogue_current()
    person = make_resident(A1, 1, "王芳")
    _give(person, date(2021, 5, 1), "BBIBP-CorV")
    pending = Dose(resident=person, product_code="BBIBP-CorV", given_on=date(2021, 6, 1), place="x")
    # The person and their progress, their doses; the two dose facts, the two people facts and the progress.
    # On PostgreSQL: the person and their progress locked and read in one statement (the dose is added to their
    # progress, their doses are not read), and the five writes as one.
    with django_assert_max_num_queries(2 if connection.vendor == "postgresql" else 7):
        facts_apply(resident_ids=[person.pk], pending=pending)


def test_a_dose_added_to_earlier_facts_equals_counting_all_doses_anew():
    """``person_facts_with`` (the desk's and an external dose's path on PostgreSQL) against ``person_facts``
    over every dose, for random histories; a dose before the last one is refused (the caller recounts)."""
    import random

    from vaxops.reports import domain

    rng = random.Random(13)
    products = ["BBIBP-CorV", "CoronaVac", "Convidecia", "ZF2001"]
    primary = {"BBIBP-CorV": 2, "CoronaVac": 2, "Convidecia": 1, "ZF2001": 3}
    dims = dict(village_code=A1, birth_date=date(1950, 3, 1), sex="F", group_id=2, employer_id=0)
    checked = refused = 0
    for _ in range(400):
        n = rng.randint(0, 5)
        doses = [
            domain.StandingDose(
                date(2021, 1, 1) + timedelta(days=rng.randint(0, 60)),
                i + 1,
                rng.choice(products),
                rng.choice([0, 7]),
                rng.random() < 0.2,
            )
            for i in range(n)
        ]
        old = domain.person_facts(**dims, doses=doses, primary=primary) if doses else None
        last_of_its_day = rng.random() < 0.5
        extra = domain.StandingDose(
            date(2021, 1, 1) + timedelta(days=rng.randint(0, 70)),
            2**62 if last_of_its_day else 100,
            rng.choice(products),
            rng.choice([0, 7]),
            rng.random() < 0.2,
        )
        got = domain.person_facts_with(
            old, **dims, dose=extra, primary=primary, last_of_its_day=last_of_its_day
        )
        if got is None:
            refused += 1
            assert doses and (
                extra.given_on < max(d.given_on for d in doses)
                or (extra.given_on == max(d.given_on for d in doses) and not last_of_its_day)
            )
            continue
        checked += 1
        assert got == domain.person_facts(**dims, doses=[*doses, extra], primary=primary)
    assert checked > 150 and refused > 50
