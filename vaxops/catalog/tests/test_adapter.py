"""The database copy of the catalogue, handed back to the engine: defaults, cache, idempotent loading."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from vaxops.catalog import defaults, domain
from vaxops.catalog.errors import CatalogErrorCode
from vaxops.catalog.models import (
    CatalogueRevision,
    Phase,
    PolicyInterval,
    Product,
    Question,
    QuestionSet,
    SchedulePolicy,
    TracePrefix,
)
from vaxops.catalog.selectors import catalogue_current, phases_current, question_set_on, question_sets_current
from vaxops.catalog.services import catalogue_defaults_ensure
from vaxops.testing.refusals import refused

pytestmark = pytest.mark.django_db


class TestDefaults:
    def test_it_builds_the_default_catalogue_from_the_database(self):
        assert catalogue_current() == defaults.CATALOGUE

    def test_it_builds_the_default_phases_and_question_sets(self):
        assert phases_current() == defaults.PHASES
        guide_march, guide_june = defaults.QUESTION_SETS
        # the seed's own list (篇九) is loaded beside them, not in use
        assert question_sets_current() == (guide_march, defaults.SEED_QUESTION_SET, guide_june)

    def test_it_picks_the_question_set_in_force(self):
        assert question_set_on(dt.date(2021, 5, 31)).version == "2021-03"
        assert question_set_on(dt.date(2021, 6, 1)).bp_systolic_max == 160

    def test_it_says_when_no_question_set_is_in_force(self):
        with refused(CatalogErrorCode.QUESTION_SET_MISSING):
            question_set_on(dt.date(2020, 12, 31))

    def test_it_loads_defaults_idempotently(self):
        counts = (
            Product.objects.count(),
            SchedulePolicy.objects.count(),
            PolicyInterval.objects.count(),
            TracePrefix.objects.count(),
            Phase.objects.count(),
            QuestionSet.objects.count(),
            Question.objects.count(),
        )

        assert catalogue_defaults_ensure() == {"products": 0, "phases": 0, "question_sets": 0}

        assert counts == (5, 8, 8, 5, 3, 3, 20 + 22)
        assert (
            Product.objects.count(),
            SchedulePolicy.objects.count(),
            PolicyInterval.objects.count(),
            TracePrefix.objects.count(),
            Phase.objects.count(),
            QuestionSet.objects.count(),
            Question.objects.count(),
        ) == counts

    def test_it_never_overwrites_the_countys_edits(self):
        Product.objects.filter(code="ZF2001").update(name_zh="智飞重组蛋白疫苗")
        SchedulePolicy.objects.filter(product__code="Convidecia").update(grace_days=0)
        Phase.objects.filter(code="step2").delete()

        created = catalogue_defaults_ensure()

        assert created == {"products": 0, "phases": 1, "question_sets": 0}
        assert Product.objects.get(code="ZF2001").name_zh == "智飞重组蛋白疫苗"
        assert SchedulePolicy.objects.get(product__code="Convidecia").grace_days == 0
        assert Phase.objects.get(code="step2").max_age is None

    def test_it_restores_a_missing_product_with_its_schedules(self):
        SchedulePolicy.objects.filter(product__code="ZF2001").delete()
        Product.objects.filter(code="ZF2001").delete()

        assert catalogue_defaults_ensure()["products"] == 1

        assert catalogue_current() == defaults.CATALOGUE


class TestCache:
    def test_it_serves_the_catalogue_from_cache_with_one_query(self, django_assert_num_queries):
        catalogue_current()

        with django_assert_num_queries(1):
            again = catalogue_current()

        assert again is catalogue_current()

    def test_it_reloads_after_a_save(self):
        before = catalogue_current()
        product = Product.objects.get(code="CoronaVac")
        product.name_en = "CoronaVac (Sinovac)"
        product.save()

        after = catalogue_current()

        assert after is not before
        assert after.product("CoronaVac").name_en == "CoronaVac (Sinovac)"

    def test_it_reloads_when_another_process_changed_the_catalogue(self):
        before = catalogue_current()
        # Another process edited and bumped the token; this process's signals never fired.
        Product.objects.filter(code="CoronaVac").update(min_age_years=3)
        CatalogueRevision.objects.update(token="changed-elsewhere")

        assert catalogue_current() is not before
        assert catalogue_current().product("CoronaVac").min_age_years == 3

    def test_it_reloads_phases_when_their_groups_change(self):
        phases_current()
        phase = Phase.objects.get(code="step1_phase1")
        phase.priority_groups.remove(*phase.priority_groups.filter(code="medical"))

        assert "medical" not in phases_current()[0].priority_groups


class TestValidation:
    def policy(self, **kw) -> SchedulePolicy:
        base = SchedulePolicy.objects.get(product__code="BBIBP-CorV", effective_to__isnull=True)
        base.pk = None
        base._state.adding = True
        for k, v in kw.items():
            setattr(base, k, v)
        return base

    def test_it_refuses_a_completion_product_of_another_platform(self):
        p = self.policy(effective_from=dt.date(2023, 1, 1), completion_products=["BBIBP-CorV", "ZF2001"])

        with pytest.raises(ValidationError, match="续种品种ZF2001技术路线不同"):
            p.full_clean()

    def test_it_refuses_overlapping_versions(self):
        # Starts before the 2022 version and runs past its start.
        p = self.policy(effective_from=dt.date(2021, 6, 1), effective_to=dt.date(2022, 6, 1))

        with pytest.raises(ValidationError, match="有效期重叠"):
            p.full_clean()

    def test_it_accepts_a_version_that_takes_over_from_the_one_in_force(self):
        self.policy(effective_from=dt.date(2023, 1, 1), booster_min_days=60).full_clean()

    def test_it_refuses_an_unknown_booster_product(self):
        p = self.policy(effective_from=dt.date(2023, 1, 1), booster_products=["Comirnaty"])

        with pytest.raises(ValidationError, match="加强品种未知：Comirnaty"):
            p.full_clean()

    def test_it_refuses_a_product_platform_change_that_breaks_a_schedule(self):
        product = Product.objects.get(code="WIBP-CorV")
        product.platform = domain.Platform.MRNA.value

        with pytest.raises(ValidationError, match="技术路线不同"):
            product.full_clean()

    def test_it_refuses_a_bad_interval(self):
        iv = PolicyInterval(
            policy=SchedulePolicy.objects.first(),
            dose_number=2,
            min_days=21,
            recommended_days=21,
            latest_days=10,
        )

        with pytest.raises(ValidationError, match="最晚间隔不能短于推荐间隔"):
            iv.full_clean()

    def test_it_refuses_a_deferral_rule_without_days_or_condition(self):
        q = Question.objects.get(question_set__version="2021-06", code="pregnancy")
        q.defer_condition = ""

        with pytest.raises(ValidationError, match="暂缓规则须给出天数或条件"):
            q.full_clean()


class TestMigrate:
    def test_it_migrates_again_without_changing_anything(self):
        from django.core.management import call_command

        before = catalogue_current()
        counts = (
            Product.objects.count(),
            SchedulePolicy.objects.count(),
            Phase.objects.count(),
            Question.objects.count(),
        )

        call_command("migrate", verbosity=0)

        assert (
            Product.objects.count(),
            SchedulePolicy.objects.count(),
            Phase.objects.count(),
            Question.objects.count(),
        ) == counts
        assert catalogue_current() == before

    def test_it_gives_the_roles_the_new_permissions(self, cdc, worker_a, vaccinator):
        from django.contrib.auth.models import Group

        screening = Group.objects.get(name="site_screening").permissions.values_list("codename", flat=True)
        assert {"add_screeningrecord", "view_product"} <= set(screening)
        assert cdc.has_perm("catalog.change_schedulepolicy")
        assert worker_a.has_perm("clinic.add_dose") and not worker_a.has_perm("clinic.void_dose")
        assert vaccinator.has_perm("clinic.view_screeningrecord")
        assert not vaccinator.has_perm("clinic.add_dose")
