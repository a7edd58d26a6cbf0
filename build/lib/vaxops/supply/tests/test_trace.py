from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from vaxops.accounts.models import User
from vaxops.conftest import make_id
from vaxops.core.errors import PermissionDenied
from vaxops.registry.models import Resident
from vaxops.supply import selectors
from vaxops.supply.models import CodeState, TraceCode

from .factories import code, county_store, lot


def _resident(village, seq, name):
    return Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(date(1980, 1, 1), seq),
        name=name,
        village=village,
        village_code=village.code,
    )


def test_it_traces_a_lot_listing_only_recipients_in_scope(county, village_a1, village_b1, worker_a, cdc):
    store = county_store(county)
    a_lot = lot()
    TraceCode.objects.create(code=code(1), lot=a_lot, place=store)
    now = timezone.now()
    for serial, village, name in ((2, village_a1, "张三丰"), (3, village_b1, "李四")):
        TraceCode.objects.create(
            code=code(serial),
            lot=a_lot,
            place=store,
            state=CodeState.ADMINISTERED,
            administered_to=_resident(village, serial, name),
            administered_at=now,
        )

    mine = selectors.lot_trace(user=cdc, lot=a_lot)
    assert mine["in_stock"] == [{"place": "CDC", "place_name": "县疾控冷库", "codes": 1}]
    assert (mine["administered_total"], mine["administered_hidden"]) == (2, 0)
    assert {r["name"] for r in mine["recipients"]} == {"张*丰", "李*"}
    assert all("*" in r["id_number"] for r in mine["recipients"])
    assert mine["by_state"] == {"in_stock": 1, "administered": 2}

    worker_a.user_permissions.add(
        Permission.objects.get(content_type__app_label="supply", codename="view_lot")
    )
    narrow = selectors.lot_trace(user=User.objects.get(pk=worker_a.pk), lot=a_lot)
    assert (narrow["administered_total"], narrow["administered_hidden"]) == (2, 1)
    assert [r["name"] for r in narrow["recipients"]] == ["张*丰"]


def test_it_refuses_a_trace_without_the_supply_permission(county, worker_b):
    with pytest.raises(PermissionDenied):
        selectors.lot_trace(user=worker_b, lot=lot())
