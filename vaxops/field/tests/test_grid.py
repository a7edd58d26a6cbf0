"""The grid: a village's groups with a head, a mobilisation list handed to the head, follow-ups with
willingness kept as history, and who has not been followed up in N days. A head sees only their people."""

import datetime as dt

import pytest

from vaxops.accounts.services import user_create
from vaxops.campaign.services import status_refresh
from vaxops.conftest import PASSWORD
from vaxops.core.errors import ValidationFailed
from vaxops.field import selectors, services
from vaxops.field.errors import FieldErrorCode
from vaxops.registry import services as registry_services
from vaxops.registry.errors import RegistryErrorCode
from vaxops.registry.models import WillingnessChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def grid(village_a1, cdc):
    from vaxops.booking.tests.factories import resident

    head = user_create(username="zz1", password=PASSWORD, role="grid_head", division=village_a1)
    other = user_create(username="zz2", password=PASSWORD, role="grid_head", division=village_a1)
    g1 = registry_services.village_group_create(
        actor=cdc, village=village_a1, name="第一村民小组", head_name="张组长", head=head
    )
    g2 = registry_services.village_group_create(
        actor=cdc, village=village_a1, name="第二村民小组", head_name="李组长", head=other
    )
    unit = registry_services.village_group_create(
        actor=cdc, village=village_a1, name="1单元", kind="unit", parent=g1, head_name="王单元长"
    )
    people = [resident(village_a1, i, name=n) for i, n in enumerate(["王小明", "赵大红", "孙三"], start=1)]
    registry_services.residents_group_set(actor=cdc, group=g1, resident_ids=[people[0].pk])
    registry_services.residents_group_set(actor=cdc, group=unit, resident_ids=[people[1].pk])
    registry_services.residents_group_set(actor=cdc, group=g2, resident_ids=[people[2].pk])
    status_refresh(resident_ids=[p.pk for p in people])
    return {"head": head, "other": other, "g1": g1, "g2": g2, "unit": unit, "people": people}


def test_a_list_handed_to_a_head_holds_the_group_and_its_nested_units(grid, cdc):
    fl = services.followup_list_assign(actor=cdc, group=grid["g1"], category="not_started")
    assert sorted(e.resident.name for e in fl.entries.all()) == ["王小明", "赵大红"]
    assert fl.head == grid["head"]


def test_a_head_sees_only_their_lists_masked(grid, cdc):
    fl = services.followup_list_assign(actor=cdc, group=grid["g1"], category="not_started")
    services.followup_list_assign(actor=cdc, group=grid["g2"], category="not_started")
    mine = list(selectors.followup_lists_visible(user=grid["head"]))
    assert mine == [fl]
    names = [r["name"] for r in selectors.entries_of(followup_list=fl)]
    assert "王小明" not in names and "王*明" in names
    assert selectors.followup_list_get(user=grid["other"], pk=fl.pk) is None


def test_a_follow_up_records_willingness_with_history(grid, cdc):
    fl = services.followup_list_assign(actor=cdc, group=grid["g1"], category="not_started")
    entry = fl.entries.get(resident=grid["people"][0])
    with pytest.raises(ValidationFailed) as e:
        services.followup_record(actor=grid["head"], entry=entry, contact="visited", attitude="refused")
    assert e.value.code == FieldErrorCode.FOLLOWUP_INVALID
    services.followup_record(
        actor=grid["head"], entry=entry, contact="visited", attitude="hesitant", reason="担心副作用"
    )
    services.followup_record(
        actor=grid["head"], entry=entry, contact="phone", attitude="willing", booked=True
    )
    r = grid["people"][0]
    r.refresh_from_db()
    assert r.willingness == "willing"
    history = list(WillingnessChange.objects.filter(resident=r).values_list("old", "new", "reason", "source"))
    assert history == [
        ("unknown", "hesitant", "担心副作用", "followup"),
        ("hesitant", "willing", "", "followup"),
    ]
    entry.refresh_from_db()
    assert entry.booked and entry.last_at is not None


def test_unreached_records_no_willingness(grid, cdc):
    fl = services.followup_list_assign(actor=cdc, group=grid["g1"], category="not_started")
    entry = fl.entries.first()
    with pytest.raises(ValidationFailed) as e:
        services.followup_record(actor=grid["head"], entry=entry, contact="unreached", attitude="willing")
    assert e.value.code == FieldErrorCode.FOLLOWUP_INVALID


def test_not_followed_up_in_n_days(grid, cdc):
    fl = services.followup_list_assign(actor=cdc, group=grid["g1"], category="not_started")
    a, b = fl.entries.order_by("id")
    services.followup_record(actor=grid["head"], entry=a, contact="phone", attitude="willing")
    names = [r["name"] for r in selectors.not_followed_up(user=grid["head"], days=7)]
    assert names == ["赵*红"]
    type(a).objects.filter(pk=a.pk).update(last_at=a.followups.get().at - dt.timedelta(days=8))
    assert len(selectors.not_followed_up(user=grid["head"], days=7)) == 2


def test_a_group_head_must_belong_to_the_village(village_a1, village_b1, cdc):
    outsider = user_create(username="zz9", password=PASSWORD, role="grid_head", division=village_b1)
    with pytest.raises(ValidationFailed) as e:
        registry_services.village_group_create(actor=cdc, village=village_a1, name="第三组", head=outsider)
    assert e.value.code == RegistryErrorCode.GROUP_INVALID


def test_a_list_needs_a_head_with_a_log_in(grid, cdc):
    with pytest.raises(ValidationFailed) as e:
        services.followup_list_assign(actor=cdc, group=grid["unit"], category="not_started")
    assert e.value.code == FieldErrorCode.FOLLOWUP_INVALID
