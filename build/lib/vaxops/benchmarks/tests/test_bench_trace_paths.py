"""``lot_trace`` reads a page of recipients in two ways: from the codes alone when every recipient is in the
user's scope (the path the trace benchmark measures), and joined to the people when some are not."""

from datetime import date, timedelta

from django.contrib.auth.models import Permission
from django.utils import timezone

from vaxops.accounts.models import User
from vaxops.audit.models import AuditEvent
from vaxops.conftest import make_id
from vaxops.registry.models import Resident
from vaxops.supply import selectors
from vaxops.supply.models import CodeState, TraceCode
from vaxops.supply.tests.factories import code, county_store, lot


def _lot_given_to_five(county, village_a1, village_b1):
    store = county_store(county)
    a_lot = lot()
    TraceCode.objects.create(code=code(99), lot=a_lot, place=store, origin=store)
    start = timezone.now() - timedelta(days=10)
    # serial, village, name, hours after start: administered out of serial order
    for serial, village, name, hours in (
        (1, village_a1, "张三丰", 5),
        (2, village_b1, "李四", 1),
        (3, village_a1, "王五", 3),
        (4, village_b1, "赵六", 4),
        (5, village_a1, "钱七", 2),
    ):
        person = Resident.objects.create(
            id_type="resident_id",
            id_number=make_id(date(1980, 1, 1), serial),
            name=name,
            village=village,
            village_code=village.code,
        )
        TraceCode.objects.create(
            code=code(serial),
            lot=a_lot,
            place=store,
            origin=store,
            state=CodeState.ADMINISTERED,
            administered_to=person,
            administered_at=start + timedelta(hours=hours),
        )
    return store, a_lot


def test_a_county_user_gets_the_page_in_administration_order_with_masked_people(
    county, village_a1, village_b1, cdc
):
    store, a_lot = _lot_given_to_five(county, village_a1, village_b1)

    out = selectors.lot_trace(user=cdc, lot=a_lot, limit=3, offset=1)

    assert (out["administered_total"], out["administered_hidden"]) == (5, 0)
    assert [r["code"] for r in out["recipients"]] == [code(5), code(3), code(4)]
    first = out["recipients"][0]
    person = Resident.objects.get(name="钱七")
    assert first == {
        "code": code(5),
        "administered_at": TraceCode.objects.get(code=code(5)).administered_at.isoformat(),
        "resident_id": person.pk,
        "name": "钱*",
        "id_number": person.id_number_masked,
        "place": "CDC",
        "place_name": "县疾控冷库",
    }
    assert out["by_state"] == {"in_stock": 1, "administered": 5} and out["codes_total"] == 6
    assert out["places"] == [
        {
            "place": "CDC",
            "place_name": "县疾控冷库",
            "received": 6,
            "sent": 0,
            "received_from_dispatch": 0,
            "in_stock": 1,
            "administered": 5,
            "wasted": 0,
        }
    ]


def test_a_narrow_user_pages_only_the_people_in_scope_and_a_reveal_names_them(
    county, village_a1, village_b1, worker_a, cdc
):
    _, a_lot = _lot_given_to_five(county, village_a1, village_b1)
    worker_a.user_permissions.add(
        Permission.objects.get(content_type__app_label="supply", codename="view_lot")
    )
    narrow = User.objects.get(pk=worker_a.pk)

    out = selectors.lot_trace(user=narrow, lot=a_lot, limit=2)
    assert (out["administered_total"], out["administered_hidden"]) == (5, 2)
    assert [r["name"] for r in out["recipients"]] == ["钱*", "王*"]
    assert [r["name"] for r in selectors.lot_trace(user=narrow, lot=a_lot, offset=2)["recipients"]] == [
        "张*丰"
    ]

    shown = selectors.lot_trace(user=cdc, lot=a_lot, limit=2, reveal_purpose="召回通知")
    assert [r["name"] for r in shown["recipients"]] == ["李四", "钱七"] and shown["revealed"]
    event = AuditEvent.objects.get(action="supply.trace_reveal")
    assert event.new["residents"] == [r["resident_id"] for r in shown["recipients"]]
