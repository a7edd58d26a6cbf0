"""The signals run's dose tally: the doses per product × age band it gives equal a plain count of the standing
doses at every step — doses recorded before and after the mark, voids of tallied and of recent doses, the mark
moving once the lag has passed, a rebuild — and the run reads only the recent part of the dose table."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from vaxops.clinic.models import Dose
from vaxops.clinic.tests.conftest import make_resident
from vaxops.safety import selectors, services
from vaxops.safety.models import DoseTally, DoseTallyMark

T0 = dt.datetime(2026, 6, 1, 2, tzinfo=dt.UTC)


@pytest.fixture
def at(monkeypatch):
    """Move "now" (the project clock and the doses' recorded_at alike)."""
    state = {"now": T0}
    monkeypatch.setattr(timezone, "now", lambda: state["now"])

    def move(delta=dt.timedelta(0)):
        state["now"] += delta
        return state["now"]

    return move


def plain(until: dt.date) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for d in Dose.objects.filter(voided_at__isnull=True, given_on__lte=until).select_related("resident"):
        born = d.resident.birth_date
        band = services.age_band(d.given_on.year - born.year if born else 30)
        out.setdefault(d.product_code, {}).setdefault(band, 0)
        out[d.product_code][band] += 1
    return out


def void(dose, at):
    Dose.objects.filter(pk=dose.pk).update(voided_at=at(), void_reason="录入错误")


def test_the_tally_agrees_with_a_plain_count_at_every_step(county, at):
    people = [
        make_resident("330199001001", i, birth=dt.date(y, 3, 1))
        for i, y in enumerate((2012, 1990, 1950, 1970, 2015, 1960), start=1)
    ]
    doses = []

    def give(i: int, product: str, day: dt.date):
        doses.append(
            Dose.objects.create(resident=people[i % len(people)], product_code=product, given_on=day)
        )
        return doses[-1]

    until = dt.date(2026, 12, 31)
    for i in range(12):
        give(i, ("A", "B")[i % 2], dt.date(2026, 5, 1) + dt.timedelta(days=i))
    at(dt.timedelta(hours=2))  # the first doses are over an hour old: the first run tallies them
    services.dose_tally_refresh()
    mark = DoseTallyMark.objects.get()
    assert mark.through_id == doses[-1].pk and DoseTally.objects.exists()
    assert selectors.doses_by_product_band(until=until) == plain(until)

    late = [give(i, "C", dt.date(2026, 6, 1)) for i in range(3)]  # after the mark
    void(doses[0], at)  # a tallied dose voided
    void(late[0], at)  # a recent one voided
    at(dt.timedelta(minutes=10))
    services.dose_tally_refresh()  # within the lag: the mark stays
    assert DoseTallyMark.objects.get().through_id == mark.through_id
    assert selectors.doses_by_product_band(until=until) == plain(until)
    assert selectors.doses_by_product_band(until=dt.date(2026, 5, 5)) == plain(dt.date(2026, 5, 5))

    at(dt.timedelta(hours=2))
    services.dose_tally_refresh()  # the first candidate (read with the first tally) is old enough: taken
    assert DoseTallyMark.objects.get().pending_id == late[-1].pk
    assert selectors.doses_by_product_band(until=until) == plain(until)
    at(dt.timedelta(hours=2))
    services.dose_tally_refresh()  # the candidate read at the run before: the mark moves past the late doses
    moved = DoseTallyMark.objects.get()
    assert moved.through_id == late[-1].pk and moved.voids_through > mark.voids_through
    assert selectors.doses_by_product_band(until=until) == plain(until)
    void(doses[1], at)
    void(late[1], at)
    give(7, "A", dt.date(2026, 6, 2))
    at(dt.timedelta(hours=2))
    services.dose_tally_refresh()
    at(dt.timedelta(hours=2))
    services.dose_tally_refresh()
    assert DoseTallyMark.objects.get().through_id == doses[-1].pk
    assert selectors.doses_by_product_band(until=until) == plain(until)
    before = set(
        DoseTally.objects.filter(doses__gt=0).values_list("given_on", "product_code", "band", "doses")
    )
    services.dose_tally_refresh(rebuild=True)
    after = set(
        DoseTally.objects.filter(doses__gt=0).values_list("given_on", "product_code", "band", "doses")
    )
    assert after == before
    assert selectors.doses_by_product_band(until=until) == plain(until)


def test_doses_after_the_candidate_are_counted_until_the_mark_reaches_them(county, at):
    """The mark moves only to the highest id read one lag earlier (no transaction begun before then can still
    be open), so a dose recorded after that read stays in the part read live until a later run takes it."""
    person = make_resident("330199001001", 1)
    Dose.objects.create(resident=person, product_code="A", given_on=dt.date(2026, 5, 1))
    at(dt.timedelta(hours=2))
    services.dose_tally_refresh()
    pending = DoseTallyMark.objects.get().pending_id
    late = Dose.objects.create(resident=person, product_code="A", given_on=dt.date(2026, 5, 2))
    assert late.pk > pending  # ids after the candidate stay in the recent part
    at(dt.timedelta(hours=2))
    services.dose_tally_refresh()
    assert DoseTallyMark.objects.get().through_id == pending < late.pk  # still read live
    until = dt.date(2026, 12, 31)
    assert selectors.doses_by_product_band(until=until) == plain(until) == {"A": {"18-59": 2}}
    at(dt.timedelta(hours=2))
    services.dose_tally_refresh()
    assert DoseTallyMark.objects.get().through_id == late.pk
    assert selectors.doses_by_product_band(until=until) == plain(until) == {"A": {"18-59": 2}}


def test_the_daily_run_does_not_read_the_whole_dose_table(county, at):
    person = make_resident("330199001001", 1)
    Dose.objects.create(resident=person, product_code="A", given_on=dt.date(2026, 5, 1))
    at(dt.timedelta(hours=2))
    services.dose_tally_refresh()
    with CaptureQueriesContext(connection) as q:
        selectors.doses_by_product_band(until=dt.date(2026, 12, 31))
    dose_reads = [x["sql"] for x in q.captured_queries if '"clinic_dose"' in x["sql"]]
    assert dose_reads and all('"clinic_dose"."id" >' in s or '"voided_at" >' in s for s in dose_reads), (
        dose_reads
    )


def test_events_are_counted_by_the_database_as_by_the_sign_groups(county, at):
    from vaxops.safety import domain
    from vaxops.safety.models import AdverseEventReport, Outcome

    for code, group in (("anaphylaxis", "anaphylaxis"), ("fc", "convulsion"), ("odd", "耳鸣")):
        Outcome.objects.create(code=code, name=code, sign_group=group)
    person = make_resident("330199001001", 1)
    signs = [
        ["过敏性休克", "喉头水肿"],  # one report, counted once for its group
        ["发热", "热性惊厥"],
        ["惊厥"],
        ["耳鸣"],  # a sign outside the table is its own group
        ["皮疹"],
        ["抽搐", "严重过敏反应"],
    ]
    for i, s in enumerate(signs):
        dose = Dose.objects.create(
            resident=person, product_code=("A", "B")[i % 2], given_on=dt.date(2026, 5, 1 + i)
        )
        onset = T0 - dt.timedelta(days=20 - i)
        AdverseEventReport.objects.create(
            number=f"T{i}",
            dose=dose,
            resident=person,
            village_code=person.village_code,
            product_code=dose.product_code,
            source="county",
            onset_at=onset,
            discovered_at=onset,
            reported_at=onset,
            signs=s,
            reporter_name="县疾控",
        )
    groups = set(Outcome.objects.values_list("sign_group", flat=True))
    expected: dict = {}
    for r in AdverseEventReport.objects.all():
        for g in {domain.sign_group(x) for x in r.signs} & groups:
            expected[(r.product_code, g)] = expected.get((r.product_code, g), 0) + 1
    got = selectors.events_by_product_outcome(until=T0.date())
    assert got == expected
    assert got[("A", "anaphylaxis")] == 1 and got[("B", "anaphylaxis")] == 1 and got[("B", "耳鸣")] == 1
    assert got[("B", "convulsion")] == 2 and got[("A", "convulsion")] == 1
    assert selectors.events_by_product_outcome(until=(T0 - dt.timedelta(days=30)).date()) == {}
