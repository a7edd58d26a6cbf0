"""A planner changes a schedule in the admin; the change applies only from its effective date."""

from datetime import date, timedelta

import pytest

from vaxops.audit.models import AuditEvent
from vaxops.catalog import domain
from vaxops.catalog.models import PolicyInterval, SchedulePolicy
from vaxops.catalog.selectors import catalogue_current

NEW_FROM = date(2022, 2, 19)
INACT = ["BBIBP-CorV", "WIBP-CorV", "CoronaVac"]


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def planner(client, cdc):
    cdc.is_staff = True
    cdc.save()
    client.force_login(cdc)
    return client


@pytest.fixture
def only_2021(db):
    """BBIBP-CorV with its 2021 schedule only, still in force (as before the 2022 change was made)."""
    SchedulePolicy.objects.filter(product__code="BBIBP-CorV", effective_from=NEW_FROM).delete()
    old = SchedulePolicy.objects.get(product__code="BBIBP-CorV")
    old.effective_to = None
    old.save()
    return old


def form_data(**changes) -> dict:
    """The admin's add form for a BBIBP-CorV schedule: the 2021 rule unless changed."""
    data = {
        "product": SchedulePolicy.objects.filter(product__code="BBIBP-CorV").first().product_id,
        "effective_from": "2021-01-01",
        "effective_to": "",
        "note": "",
        "primary_doses": "2",
        "completion_products": INACT,
        "grace_days": "4",
        "min_gap_other_vaccines_days": "14",
        "booster_min_days": "180",
        "booster_recommended_days": "",
        "booster_products": INACT,
        "booster_min_age_years": "18",
        "intervals-TOTAL_FORMS": "1",
        "intervals-INITIAL_FORMS": "0",
        "intervals-MIN_NUM_FORMS": "0",
        "intervals-MAX_NUM_FORMS": "1000",
        "intervals-0-dose_number": "2",
        "intervals-0-min_days": "21",
        "intervals-0-recommended_days": "21",
        "intervals-0-latest_days": "",
        "intervals-0-latest_from_dose1_days": "56",
    }
    data.update(changes)
    return data


def booster_earliest(completed: date, on: date) -> tuple[date, tuple[str, ...]]:
    doses = [
        domain.GivenDose("BBIBP-CorV", completed - timedelta(days=21)),
        domain.GivenDose("BBIBP-CorV", completed),
    ]
    f = domain.evaluate(birth_date=date(1980, 6, 15), doses=doses, on=on, catalogue=catalogue_current())
    return f.next_dose.earliest, f.next_dose.allowed_products


class TestNewVersion:
    def test_it_applies_a_new_booster_interval_only_from_its_effective_date(self, planner, only_2021):
        completed = date(2022, 1, 10)
        assert booster_earliest(completed, date(2022, 3, 1))[0] == completed + timedelta(days=180)

        r = planner.post(
            "/admin/catalog/schedulepolicy/add/",
            form_data(
                effective_from="2022-02-19",
                booster_min_days="90",
                booster_products=[*INACT, "Convidecia", "ZF2001"],
                note="国家卫健委 2022-02-19",
            ),
        )

        assert r.status_code == 302, r.content.decode()[:2000]
        only_2021.refresh_from_db()
        assert only_2021.effective_to == date(2022, 2, 18)
        # The day before the new version: the old rule (6 months, homologous only).
        assert booster_earliest(completed, date(2022, 2, 18)) == (
            completed + timedelta(days=180),
            tuple(INACT),
        )
        # From its effective date: 3 months, heterologous boosters too.
        earliest, products = booster_earliest(completed, NEW_FROM)
        assert earliest == completed + timedelta(days=90)
        assert products == (*INACT, "Convidecia", "ZF2001")

    def test_it_judges_a_dose_by_the_rule_of_its_own_day(self, planner, only_2021):
        planner.post(
            "/admin/catalog/schedulepolicy/add/",
            form_data(effective_from="2022-02-19", booster_min_days="90"),
        )
        # Primary course complete 2021-11-01; boosters 100 days later: before and after the change.
        doses = [
            domain.GivenDose("BBIBP-CorV", date(2021, 10, 11)),
            domain.GivenDose("BBIBP-CorV", date(2021, 11, 1)),
        ]
        early = domain.GivenDose("BBIBP-CorV", date(2022, 2, 9))
        later = domain.GivenDose("BBIBP-CorV", date(2022, 2, 20))

        def verdict(booster):
            f = domain.evaluate(
                birth_date=date(1980, 6, 15),
                doses=[*doses, booster],
                on=date(2022, 6, 1),
                catalogue=catalogue_current(),
            )
            return f.doses[-1].reason.code

        assert verdict(early) is domain.ReasonCode.TOO_EARLY
        assert verdict(later) is domain.ReasonCode.VALID

    def test_it_saves_as_new_from_the_version_it_replaces(self, planner, only_2021):
        interval = PolicyInterval.objects.get(policy=only_2021)
        data = form_data(effective_from="2022-02-19", booster_min_days="90", _saveasnew="保存为新的")
        data.update(
            {
                "intervals-INITIAL_FORMS": "1",
                "intervals-0-id": str(interval.pk),
                "intervals-0-policy": str(only_2021.pk),
            }
        )

        r = planner.post(f"/admin/catalog/schedulepolicy/{only_2021.pk}/change/", data)

        assert r.status_code == 302, r.content.decode()[:2000]
        versions = list(SchedulePolicy.objects.filter(product__code="BBIBP-CorV").order_by("effective_from"))
        assert [(v.effective_from, v.effective_to, v.booster_min_days) for v in versions] == [
            (date(2021, 1, 1), date(2022, 2, 18), 180),
            (NEW_FROM, None, 90),
        ]
        assert versions[1].intervals.get().min_days == 21
        assert interval.policy_id == only_2021.pk and PolicyInterval.objects.filter(policy=only_2021).exists()

    def test_it_audits_the_new_version_and_the_closing_of_the_old(self, planner, cdc, only_2021):
        planner.post(
            "/admin/catalog/schedulepolicy/add/",
            form_data(effective_from="2022-02-19", booster_min_days="90"),
        )

        closed = AuditEvent.objects.get(action="catalog.schedulepolicy.close")
        assert (closed.actor, closed.object_id) == (cdc, str(only_2021.pk))
        assert closed.new == {"effective_to": "2022-02-18"}
        added = AuditEvent.objects.get(action="catalog.schedulepolicy.add")
        assert added.new["booster_min_days"] == 90
        assert added.new["intervals"] == [
            {
                "dose_number": 2,
                "min_days": 21,
                "recommended_days": 21,
                "latest_days": None,
                "latest_from_dose1_days": 56,
            }
        ]


class TestRefusals:
    def test_it_refuses_a_completion_product_of_another_platform(self, planner, only_2021):
        r = planner.post(
            "/admin/catalog/schedulepolicy/add/",
            form_data(effective_from="2022-02-19", completion_products=[*INACT, "ZF2001"]),
        )

        assert r.status_code == 200
        assert "续种品种ZF2001技术路线不同" in r.content.decode()
        assert SchedulePolicy.objects.filter(product__code="BBIBP-CorV").count() == 1
        only_2021.refresh_from_db()
        assert only_2021.effective_to is None

    def test_it_refuses_overlapping_versions(self, planner, only_2021):
        r = planner.post(
            "/admin/catalog/schedulepolicy/add/",
            form_data(effective_from="2020-06-01", effective_to="2021-06-01"),
        )

        assert r.status_code == 200
        assert "有效期重叠" in r.content.decode()

    def test_it_refuses_intervals_that_do_not_match_the_doses(self, planner, only_2021):
        r = planner.post(
            "/admin/catalog/schedulepolicy/add/", form_data(effective_from="2022-02-19", primary_doses="3")
        )

        assert r.status_code == 200
        assert "基础免疫3剂，须且只须填写以下剂次的间隔：第2剂、第3剂" in r.content.decode()
        assert SchedulePolicy.objects.filter(product__code="BBIBP-CorV").count() == 1

    def test_it_never_deletes_a_product(self, planner):
        from vaxops.catalog.models import Product

        pk = Product.objects.get(code="BBIBP-CorV").pk
        r = planner.get(f"/admin/catalog/product/{pk}/delete/")

        assert r.status_code == 403
        assert catalogue_current().find_product("BBIBP-CorV") is not None
