"""``vaxops seed-demo``: the demo county, its users and residents, reproducible and idempotent."""

import io

import pytest
from django.core.management import call_command

from vaxops.accounts.models import User
from vaxops.accounts.roles import ROLES
from vaxops.demo.county import COUNTY_CODE, DEMO_PASSWORD
from vaxops.jurisdictions.models import Division, Level
from vaxops.registry.models import Employer, Resident
from vaxops.registry.selectors import residents_visible


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed() -> str:
    out = io.StringIO()
    call_command(
        "seed-demo", "--residents", "300", "--seed", "7", stdout=out, stderr=io.StringIO(), verbosity=0
    )
    return out.getvalue()


@pytest.fixture
def demo(db):
    return seed()


def in_county(level: Level):
    return Division.objects.filter(code__startswith=COUNTY_CODE, level=level)


class TestSeedDemo:
    def test_it_builds_ten_townships_and_150_villages(self, demo):
        county = Division.objects.get(code=COUNTY_CODE + "000000")
        assert county.level == Level.COUNTY
        assert county.parent.code == "330100000000"  # a real prefecture
        assert county.parent.parent.code == "330000000000"
        assert in_county(Level.TOWNSHIP).count() == 10
        assert in_county(Level.VILLAGE).count() == 150
        for village in in_county(Level.VILLAGE).select_related("parent")[:20]:
            assert village.parent.level == Level.TOWNSHIP
            assert village.code.startswith(village.parent.short_code)

    def test_it_creates_a_user_for_every_role(self, demo):
        roles = set(User.objects.values_list("role", flat=True))
        for role in ROLES:
            assert role.code in roles, role.code
        assert User.objects.filter(username="admin", is_superuser=True).exists()
        assert User.objects.get(username="cdc").check_password(DEMO_PASSWORD)

    def test_it_gives_every_user_a_scope(self, demo):
        for user in User.objects.exclude(username="admin"):
            assert user.division_id or user.employer_id, user.username

    def test_it_loads_the_residents(self, demo):
        assert Resident.objects.count() == 300
        assert "读取 300" in demo
        assert "新建 300" in demo
        assert "拒绝 0" in demo
        assert not Resident.objects.exclude(village_code__startswith=COUNTY_CODE).exists()
        assert Employer.objects.exists()

    def test_it_prints_the_demo_logins(self, demo):
        assert DEMO_PASSWORD in demo
        for username in ("cdc", "village", "employer", "leader", "auditor", "vaccinator"):
            assert username in demo

    def test_it_changes_nothing_when_run_twice(self, demo):
        counts = (
            Division.objects.count(),
            User.objects.count(),
            Employer.objects.count(),
            Resident.objects.count(),
        )
        ids = set(Resident.objects.values_list("id_number", flat=True))

        second = seed()

        assert "新建 0" in second
        assert "未变 300" in second
        assert (
            Division.objects.count(),
            User.objects.count(),
            Employer.objects.count(),
            Resident.objects.count(),
        ) == counts
        assert set(Resident.objects.values_list("id_number", flat=True)) == ids

    def test_it_scopes_the_demo_village_worker(self, demo):
        worker = User.objects.get(username="village")
        visible = residents_visible(user=worker)

        assert set(visible.values_list("village_code", flat=True)) <= {worker.division.code}
        assert visible.count() < Resident.objects.count()

    def test_it_renders_home_for_every_demo_user(self, demo, client):
        for user in User.objects.all():
            client.force_login(user)
            r = client.get("/", follow=True)  # the hospital's home is its inbox (a redirect)
            assert r.status_code == 200, user.username


class TestDemoColdChain:
    def test_a_week_of_readings_and_one_freeze_quarantining_the_box(self, demo):
        from vaxops.coldchain.models import Equipment, Excursion, Reading
        from vaxops.supply import selectors as supply_selectors
        from vaxops.supply.models import CodeState, TraceCode

        assert Equipment.objects.count() >= 3
        assert Reading.objects.filter(sensor__equipment__code="QX-CDC-1").count() >= 7 * 96
        [freeze] = Excursion.objects.filter(kind="freeze")
        assert freeze.equipment.unit.kind == "cold_box" and 90 * 60 <= freeze.duration_seconds <= 105 * 60
        quarantined = TraceCode.objects.filter(state=CodeState.QUARANTINED)
        assert quarantined.count() == freeze.codes_quarantined > 0
        assert set(quarantined.values_list("unit", flat=True)) == {freeze.equipment.unit_id}
        assert supply_selectors.ledger_check()["balanced"]
        seed()
        assert Excursion.objects.filter(kind="freeze").count() == 1
