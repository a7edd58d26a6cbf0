"""People and site staff for the clinic tests (on top of the county and users of vaxops/conftest.py)."""

from datetime import date

import pytest

from vaxops.conftest import make_id

A1, B1 = "330199001001", "330199002001"
BORN = date(1980, 6, 15)


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_resident(code: str, seq: int, name: str = "王芳", *, birth: date = BORN, group: str | None = None):
    from vaxops.jurisdictions.models import Division
    from vaxops.registry.models import PriorityGroup, Resident

    return Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(birth, seq),
        name=name,
        sex="F",
        birth_date=birth,
        village=Division.objects.get(code=code),
        village_code=code,
        priority_group=PriorityGroup.objects.get(code=group) if group else None,
    )


@pytest.fixture
def resident_a(county):
    """A woman of 1980 in village A1 (worker_a's)."""
    return make_resident(A1, 1, "王芳", group="general")


@pytest.fixture
def resident_b(county):
    """A resident of village B1 (worker_b's), outside worker_a's scope."""
    return make_resident(B1, 2, "李强")


@pytest.fixture
def screener(county):
    from vaxops.accounts.services import user_create
    from vaxops.conftest import PASSWORD
    from vaxops.jurisdictions.models import Division

    return user_create(
        username="screener",
        password=PASSWORD,
        role="site_screening",
        division=Division.objects.get(code="330199001000"),
    )
