"""Readings in, excursions out, and stock quarantined in the same transaction; the county's decision."""

import datetime as dt
import uuid

import pytest

from vaxops.coldchain import services
from vaxops.coldchain.models import Destruction, Excursion, QuarantinedCode, Reading, StaffAlert
from vaxops.core.errors import ValidationFailed
from vaxops.desk import services as desk_services
from vaxops.desk.tests.desk_setup import code, open_site, ready_person, ten_in_the_morning
from vaxops.supply import selectors as supply_selectors
from vaxops.supply import services as supply_services
from vaxops.supply.models import CodeState, ColdChainUnit, StockMovement, TraceCode

from .helpers import equipment_for, feed


@pytest.fixture
def site(county, village_a1, vaccinator, monkeypatch):
    now = ten_in_the_morning(monkeypatch)
    d = open_site(county, village_a1, vaccinator)
    d.now = now
    return d


@pytest.fixture
def eq(site, worker_a):
    return equipment_for(site.place, keeper=worker_a)


def _dose(vaccinator, person, serial=1):
    return desk_services.dose_administer(
        actor=vaccinator,
        resident_id=person.pk,
        code=code(serial),
        client_id=uuid.uuid4().hex,
        phone_last4="5678",
    )


def test_receipt_puts_codes_into_the_places_only_unit(site):
    unit = ColdChainUnit.objects.get(place=site.place)
    assert TraceCode.objects.filter(place=site.place).count() == 10
    assert set(TraceCode.objects.filter(place=site.place).values_list("unit", flat=True)) == {unit.pk}


def test_59_minutes_of_freeze_leave_the_stock_alone(site, eq):
    start = site.now - dt.timedelta(hours=3)
    result = feed(eq, start, [5.0] + [-1.0] * 60 + [5.0])
    assert (result.read, result.stored, result.excursions_opened) == (62, 62, 1)  # the out-of-range warning
    assert not Excursion.objects.filter(kind="freeze").exists()
    assert not TraceCode.objects.filter(state=CodeState.QUARANTINED).exists()


def test_a_freeze_quarantines_every_code_in_the_unit_and_the_desk_refuses_them(
    site, eq, village_a1, vaccinator
):
    start = site.now - dt.timedelta(hours=3)
    result = feed(eq, start, [5.0] + [-1.0] * 61 + [5.0])
    freeze = Excursion.objects.get(kind="freeze")
    assert (freeze.start, freeze.end) == (start + dt.timedelta(minutes=1), start + dt.timedelta(minutes=62))
    assert freeze.duration_seconds == 3600 and str(freeze.extreme) == "-1.00"
    assert freeze.codes_quarantined == 10 and result.codes_quarantined == 10
    assert TraceCode.objects.filter(state=CodeState.QUARANTINED).count() == 10
    assert supply_selectors.ledger_check()["balanced"]
    [row] = supply_selectors.balances(place=site.place)
    assert (row["doses"], row["quarantined_doses"]) == (10, 10)
    assert StaffAlert.objects.filter(excursion=freeze, role="county_admin").exists()
    assert StaffAlert.objects.filter(excursion=freeze, user=eq.keeper).exists()

    person = ready_person(site, village_a1, 1)
    with pytest.raises(ValidationFailed) as refused:
        _dose(vaccinator, person)
    assert refused.value.code == "code_quarantined"
    check = desk_services.dose_check(actor=vaccinator, resident_id=person.pk, code=code(1))
    assert [f["code"] for f in check["failures"]] == ["code_quarantined"]


def test_a_late_reading_completes_the_freeze(site, eq):
    start = site.now - dt.timedelta(hours=3)
    feed(eq, start + dt.timedelta(minutes=1), [-1.0] * 60 + [5.0])  # 59 minutes
    assert not Excursion.objects.filter(kind="freeze").exists()
    result = feed(eq, start, [-2.0])  # the minute before arrives late
    assert result.excursions_opened == 1
    freeze = Excursion.objects.get(kind="freeze")
    assert freeze.start == start and str(freeze.extreme) == "-2.00"
    assert TraceCode.objects.filter(state=CodeState.QUARANTINED).count() == 10


def test_an_open_freeze_is_extended_not_opened_again(site, eq):
    start = site.now - dt.timedelta(hours=5)
    feed(eq, start, [-1.0] * 61)
    first = Excursion.objects.get(kind="freeze")
    assert first.end is None
    feed(eq, start + dt.timedelta(minutes=61), [-3.0] * 30 + [4.0])
    again = Excursion.objects.get(kind="freeze")
    assert again.pk == first.pk and str(again.extreme) == "-3.00"
    assert again.end == start + dt.timedelta(minutes=91) and again.duration_seconds == 90 * 60


def test_readings_are_idempotent_and_a_conflicting_one_is_rejected(site, eq):
    start = site.now - dt.timedelta(hours=1)
    feed(eq, start, [5.0, 5.5, 6.0])
    again = feed(eq, start, [5.0, 5.5, 6.1])
    assert (again.read, again.stored, again.unchanged, again.rejected) == (3, 0, 2, 1)
    assert again.errors[0]["row"] == 3
    assert Reading.objects.count() == 3


def _frozen(site, eq):
    feed(eq, site.now - dt.timedelta(hours=3), [5.0] + [-1.0] * 61 + [5.0])
    return Excursion.objects.get(kind="freeze")


def test_the_county_releases_with_a_reason(site, eq, cdc, worker_a, village_a1, vaccinator):
    e = _frozen(site, eq)
    with pytest.raises(ValidationFailed) as refused:
        services.excursion_assess(actor=cdc, excursion=e, decision="release", reason="厂家稳定性数据")
    assert refused.value.code == "excursion_status_step"
    services.excursion_acknowledge(actor=worker_a, excursion=e)
    services.excursion_assess(actor=cdc, excursion=e, decision="release", reason="厂家稳定性数据支持继续使用")
    assert TraceCode.objects.filter(state=CodeState.IN_STOCK, place=site.place).count() == 10
    assert set(QuarantinedCode.objects.values_list("outcome", flat=True)) == {"released"}
    services.excursion_close(actor=cdc, excursion=e)
    assert Excursion.objects.get(pk=e.pk).status == "closed"
    assert _dose(vaccinator, ready_person(site, village_a1, 1)).pk


def test_the_county_destroys_with_a_witness_and_the_ledger_balances(site, eq, cdc, worker_a):
    e = _frozen(site, eq)
    services.excursion_acknowledge(actor=worker_a, excursion=e)
    with pytest.raises(ValidationFailed) as refused:
        services.excursion_assess(actor=cdc, excursion=e, decision="destroy", reason="冻结")
    assert refused.value.code == "witness_required"
    assert Excursion.objects.get(pk=e.pk).status == "acknowledged"  # nothing kept from the refused try
    services.excursion_assess(actor=cdc, excursion=e, decision="destroy", reason="冻结", witness="李监督")
    assert TraceCode.objects.filter(state=CodeState.WASTED, wasted_reason="temperature").count() == 10
    d = Destruction.objects.get(excursion=e)
    assert (d.destroyed_by, d.witness, d.codes, d.doses) == (cdc, "李监督", 10, 10)
    wastage = StockMovement.objects.filter(kind="wastage", place=site.place)
    assert sum(m.doses for m in wastage) == -10
    assert supply_selectors.ledger_check()["balanced"]
    assert supply_selectors.balances(place=site.place) == []


def test_only_the_county_assesses(site, eq, worker_a):
    e = _frozen(site, eq)
    services.excursion_acknowledge(actor=worker_a, excursion=e)
    from vaxops.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.excursion_assess(actor=worker_a, excursion=e, decision="release", reason="x")


def test_codes_moved_out_during_an_excursion_are_quarantined_too(site):
    fridge = ColdChainUnit.objects.get(place=site.place)
    box = ColdChainUnit.objects.create(place=site.place, kind="cold_box", usable_volume_cm3=1000)
    eq = equipment_for(site.place, code="S1-F1")
    from vaxops.coldchain.models import Equipment

    Equipment.objects.create(unit=box, code="S1-BOX")
    start = site.now - dt.timedelta(hours=3)
    feed(eq, start, [5.0] + [-1.0] * 30)
    moved = supply_services.codes_move(actor=None, codes=[code(1), code(2)], to_unit=box, reason="出诊")
    assert moved == 2
    assert (
        TraceCode.objects.filter(unit=box).count() == 2 and TraceCode.objects.filter(unit=fridge).count() == 8
    )
    moves = StockMovement.objects.filter(kind="unit_move")
    assert sorted(m.doses for m in moves) == [-2, 2]
    assert supply_selectors.ledger_check()["balanced"]
    # the move happened "now" (10:00), after the freeze started: the two codes were in the fridge during it
    feed(eq, site.now - dt.timedelta(minutes=10), [-1.0] * 61)
    assert TraceCode.objects.filter(state=CodeState.QUARANTINED).count() == 10


def test_a_move_to_a_unit_of_another_place_is_refused(site, county):
    from vaxops.supply.models import StockPlace

    other = ColdChainUnit.objects.create(
        place=StockPlace.objects.get(code="CDC"), kind="refrigerator", usable_volume_cm3=1000
    )
    with pytest.raises(ValidationFailed) as refused:
        supply_services.codes_move(actor=None, codes=[code(1)], to_unit=other)
    assert refused.value.code == "code_not_in_stock"


def test_the_manual_log(site, eq, worker_a, monkeypatch):
    from vaxops.core import clock

    morning = site.now - dt.timedelta(hours=1)  # 09:00
    services.manual_reading_record(actor=worker_a, equipment=eq, celsius="4.5", at=morning)
    with pytest.raises(ValidationFailed) as refused:
        services.manual_reading_record(
            actor=worker_a, equipment=eq, celsius="4.6", at=morning + dt.timedelta(hours=4)
        )
    assert refused.value.code == "manual_too_soon"
    monkeypatch.setattr(clock, "now", lambda: site.now + dt.timedelta(hours=9))  # 19:00
    assert services.manual_log_check() == 1
    assert services.manual_log_check() == 1  # alerts once per slot however often it runs
    assert StaffAlert.objects.filter(kind="manual_missing").count() == 2  # keeper and county


@pytest.mark.parametrize("together", [False, True], ids=["one_sensor", "together"])
def test_a_late_normal_reading_splits_a_stored_freeze_in_two(site, eq, cdc, worker_a, together):
    """A run stored from readings in order, then one late in-range reading in its middle: the stored
    excursion shrinks to the first part and the second part is its own excursion; the codes stay held by
    both, so releasing one lets nothing go that the other still holds."""
    from vaxops.audit.models import AuditEvent

    start = site.now - dt.timedelta(hours=4)
    feed(eq, start, [5.0] + [-1.0] * 150 + [5.0])  # freezing from +1 to +150 minutes, in range at +151
    stored = Excursion.objects.get(kind="freeze")
    assert stored.duration_seconds == 149 * 60 and stored.codes_quarantined == 10

    late = services.readings_ingest(
        actor=worker_a,
        items=[
            services.Item(
                1, services.sensor_default(equipment=eq), start + dt.timedelta(minutes=75, seconds=30), 5
            )
        ],
        source="api",
        together=together,
    )
    assert (late.stored, late.excursions_opened, late.codes_quarantined) == (1, 2, 0)  # freeze and warning
    m = dt.timedelta(minutes=1)
    freezes = list(Excursion.objects.filter(kind="freeze").order_by("start"))
    assert [(e.start, e.last_seen, e.end, e.duration_seconds) for e in freezes] == [
        (start + m, start + 75 * m, start + 75 * m + dt.timedelta(seconds=30), 74 * 60),
        (start + 76 * m, start + 150 * m, start + 151 * m, 74 * 60),
    ]
    first, second = freezes
    assert first.pk == stored.pk  # the stored one shrank; the second part was opened
    warnings = list(Excursion.objects.filter(kind="warning").order_by("start"))
    assert [(e.start, e.last_seen) for e in warnings] == [
        (start + m, start + 75 * m),
        (start + 76 * m, start + 150 * m),
    ]
    for e in Excursion.objects.all():
        assert e.start <= e.last_seen and (e.end is None or e.last_seen <= e.end)
    assert (first.codes_quarantined, second.codes_quarantined) == (10, 10)
    assert QuarantinedCode.objects.filter(excursion=second, outcome="held").count() == 10
    event = AuditEvent.objects.get(action="coldchain.excursion_open", object_id=str(second.pk))
    assert event.new["split_from"] == first.pk and event.new["codes_quarantined"] == 10
    assert StaffAlert.objects.filter(excursion=second, role="county_admin").exists()

    for e in (first, second):
        services.excursion_acknowledge(actor=worker_a, excursion=e)
    services.excursion_assess(actor=cdc, excursion=first, decision="release", reason="厂家稳定性数据")
    assert TraceCode.objects.filter(state=CodeState.QUARANTINED).count() == 10  # the second still holds them
    services.excursion_assess(actor=cdc, excursion=second, decision="release", reason="厂家稳定性数据")
    assert TraceCode.objects.filter(state=CodeState.IN_STOCK, place=site.place).count() == 10
    assert supply_selectors.ledger_check()["balanced"]


def test_an_excursion_never_ends_before_its_last_reading(site, eq):
    from django.db import IntegrityError, transaction

    feed(eq, site.now - dt.timedelta(hours=3), [5.0] + [-1.0] * 61 + [5.0])
    e = Excursion.objects.get(kind="freeze")
    with pytest.raises(IntegrityError), transaction.atomic():
        Excursion.objects.filter(pk=e.pk).update(end=e.last_seen - dt.timedelta(minutes=1))


def test_the_migration_repairs_rows_the_defect_left(site, eq):
    """Migration 0004 brings a stored run's last reading back before its end before adding the constraint."""
    import importlib

    from django.apps import apps
    from django.db import connection

    repair = importlib.import_module("vaxops.coldchain.migrations.0004_excursion_span_ordered").repair_spans
    start = site.now - dt.timedelta(hours=4)
    m = dt.timedelta(minutes=1)
    feed(eq, start, [5.0] + [-1.0] * 70 + [5.0] + [-1.0] * 70 + [5.0])  # two freezes: +1…+70 and +72…+141
    first = Excursion.objects.filter(kind="freeze").order_by("start").first()
    with (
        connection.cursor() as c
    ):  # the row as the defect left it: last reading of both parts, end of the first
        if connection.vendor == "postgresql":
            c.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own inserts: no pending trigger events
            c.execute("ALTER TABLE coldchain_excursion DROP CONSTRAINT excursion_span_ordered")
        else:
            c.execute("PRAGMA ignore_check_constraints = ON")
        try:
            Excursion.objects.filter(pk=first.pk).update(last_seen=start + 141 * m, duration_seconds=140 * 60)
            repair(apps, None)
            if connection.vendor == "postgresql":  # as the migration does next, in the same transaction
                [constraint] = [x for x in Excursion._meta.constraints if x.name == "excursion_span_ordered"]
                with connection.schema_editor(atomic=False) as editor:
                    editor.add_constraint(Excursion, constraint)
        finally:
            if connection.vendor != "postgresql":
                c.execute("PRAGMA ignore_check_constraints = OFF")
    first.refresh_from_db()
    assert (first.last_seen, first.end, first.duration_seconds) == (start + 70 * m, start + 71 * m, 69 * 60)
