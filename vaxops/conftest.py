"""Shared test characters: a small county with two townships, and users with different reach.

- ``cdc``: county CDC planner, sees the whole county
- ``worker_a``: village worker of village A1 (township A)
- ``worker_b``: village worker of village B1 (township B) — an outsider to A
- ``employer_contact``: contact of employer E1
- ``leader``, ``auditor``: county-wide, no personal-data writes
"""

import os
from datetime import date

import pytest
from hypothesis import HealthCheck, settings

from vaxops.registry.domain import check_character
from vaxops.testing.browser import audit_log_flushable, browser, page  # noqa: F401  (shared fixtures)

# The properties are checked on shared two-core machines: how long an example takes says nothing about whether
# the rule holds, so the time limits (the per-example deadline and the "too slow" health check) are off. The
# other health checks (filters that reject too much, data too large) stay on.
settings.register_profile("vaxops", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("vaxops")

PASSWORD = "correct-horse-battery"  # noqa: S105


def make_id(birth: date, seq: int = 1, area: str = "330199", sex: str = "F") -> str:
    """A valid 18-digit 身份证 number; ``seq`` picks the sequence, ``sex`` fixes its parity."""
    n = seq * 2 + (1 if sex == "M" else 0)
    body = f"{area}{birth:%Y%m%d}{n % 1000:03d}"
    return body + check_character(body)


@pytest.fixture
def county(db):
    from vaxops.jurisdictions.models import Division, Level

    province = Division.objects.create(code="330000000000", name="浙江省", level=Level.PROVINCE)
    city = Division.objects.create(code="330100000000", name="杭州市", level=Level.CITY, parent=province)
    county = Division.objects.create(code="330199000000", name="清溪县", level=Level.COUNTY, parent=city)
    ta = Division.objects.create(code="330199001000", name="甲镇", level=Level.TOWNSHIP, parent=county)
    tb = Division.objects.create(code="330199002000", name="乙镇", level=Level.TOWNSHIP, parent=county)
    for t, prefix in ((ta, "330199001"), (tb, "330199002")):
        for i in (1, 2):
            Division.objects.create(
                code=f"{prefix}{i:03d}", name=f"{t.name}{i}村", level=Level.VILLAGE, parent=t
            )
    return county


@pytest.fixture
def village_a1(county):
    from vaxops.jurisdictions.models import Division

    return Division.objects.get(code="330199001001")


@pytest.fixture
def village_b1(county):
    from vaxops.jurisdictions.models import Division

    return Division.objects.get(code="330199002001")


@pytest.fixture
def employer(county):
    from vaxops.registry.models import Employer, PriorityGroup

    return Employer.objects.create(
        code="E1",
        name="清溪冷链物流公司",
        division=county,
        priority_group=PriorityGroup.objects.get(code="cold_chain"),
    )


def _user(username, role, **kw):
    from vaxops.accounts.services import user_create

    return user_create(username=username, password=PASSWORD, role=role, **kw)


@pytest.fixture
def cdc(county):
    return _user("cdc", "county_admin", division=county)


@pytest.fixture
def worker_a(village_a1):
    return _user("worker_a", "village_worker", division=village_a1)


@pytest.fixture
def worker_b(village_b1):
    return _user("worker_b", "village_worker", division=village_b1)


@pytest.fixture
def employer_contact(employer):
    return _user("contact", "employer_contact", employer=employer)


@pytest.fixture
def leader(county):
    return _user("leader", "leader", division=county)


@pytest.fixture
def auditor(county):
    return _user("auditor", "auditor", division=county)


@pytest.fixture
def vaccinator(county):
    from vaxops.jurisdictions.models import Division

    return _user("vaccinator", "site_vaccinator", division=Division.objects.get(code="330199001000"))


@pytest.fixture
def sms_outbox():
    """The messages the memory channel (the test settings' channel) handed over during the test."""
    from vaxops.notify.channels import outbox

    outbox.clear()
    yield outbox
    outbox.clear()


def pytest_configure(config):
    # Playwright's sync API runs an event loop in the test thread; the tests
    # themselves are synchronous, so Django's async guard does not apply.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
