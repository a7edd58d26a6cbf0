"""People with doses before, on and after the report's day, for the progress-report tests."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from vaxops.clinic.models import Dose
from vaxops.clinic.tests.conftest import make_resident

DAY = date(2021, 6, 10)
A1, A2, B1 = "330199001001", "330199001002", "330199002001"


def dose(person, on, *, product="BBIBP-CorV", booster=False, external=False, voided=False):
    """A dose row written directly, the facts brought up to date after it (as every writing path does)."""
    from vaxops.reports.services import facts_apply

    made = Dose.objects.create(
        resident=person,
        product_code=product,
        given_on=on,
        is_booster=booster,
        external=external,
        voided_at=timezone.now() if voided else None,
        void_reason="登记错人" if voided else "",
    )
    facts_apply(resident_ids=[person.pk])
    return made


@pytest.fixture
def history(county):
    """Five people in two townships, with doses before, on and after the day, voided and external ones."""
    wang = make_resident(A1, 1, "王芳")  # dose 1 on 20 May, dose 2 today: first dose long ago
    li = make_resident(A2, 2, "李强", birth=date(1950, 3, 1))  # 60+: first dose today
    zhao = make_resident(B1, 3, "赵敏")  # first dose elsewhere (external) on 1 June, booster today
    qian = make_resident(B1, 4, "钱进")  # only dose voided: not vaccinated
    sun = make_resident(A1, 5, "孙丽")  # first dose tomorrow: not yet
    dose(wang, date(2021, 5, 20))
    dose(wang, DAY)
    dose(li, DAY)
    dose(zhao, date(2021, 6, 1), external=True)
    dose(zhao, DAY, booster=True)
    dose(qian, DAY, voided=True)
    dose(sun, DAY + timedelta(days=1))
    return wang, li, zhao, qian, sun
