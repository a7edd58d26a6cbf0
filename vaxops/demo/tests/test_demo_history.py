"""The demo's progress history: doses over 2021–2022 with the campaign's shape, facts equal to a recount,
population and targets, a week of daily reports with late townships, and one published bulletin."""

import io
from collections import Counter

import pytest
from django.core.management import call_command

from vaxops.catalog.models import PhaseTarget
from vaxops.clinic.models import Dose
from vaxops.demo.county import COUNTY_CODE
from vaxops.registry.models import Employer
from vaxops.reports.models import DailyReport, DailyReportLate, Population, WeeklyBulletin
from vaxops.reports.services import facts_check


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo(db):
    call_command(
        "seed-demo",
        "--residents",
        "600",
        "--seed",
        "7",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        verbosity=0,
    )


def test_the_demo_has_a_campaigns_history_and_its_progress_records(demo):
    history = Dose.objects.filter(external=True)
    by_month = Counter(d.strftime("%Y-%m") for d in history.values_list("given_on", flat=True))
    assert min(by_month) >= "2021-01" and max(by_month) <= "2022-12"
    # the spring 2021 peak is far above the quiet months of 2022
    assert by_month["2021-06"] > 3 * max(by_month.get("2022-07", 0), 1)
    assert history.filter(is_booster=True, given_on__lt="2021-10-25").count() == 0
    assert history.filter(is_booster=True).exists()
    assert facts_check()["ok"]
    assert Population.objects.filter(division__code__startswith=COUNTY_CODE).count() == 11
    from vaxops.reports.models import GroupPopulation

    assert GroupPopulation.objects.filter(division__code=COUNTY_CODE.ljust(12, "0")).exists()
    assert PhaseTarget.objects.filter(division__code__startswith=COUNTY_CODE).exists()
    assert Employer.objects.filter(sector__isnull=False).exists()
    assert DailyReport.objects.exists() and DailyReportLate.objects.count() == 7 * 2
    bulletin = WeeklyBulletin.objects.get()
    assert bulletin.status == "published" and bulletin.figures["townships"]
