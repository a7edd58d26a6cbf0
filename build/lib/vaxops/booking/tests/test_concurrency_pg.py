"""Real concurrent connections on PostgreSQL: capacity is never exceeded and nobody is booked twice."""

import pytest
from django.db import connection

from vaxops.booking import services
from vaxops.booking.models import Appointment, Slot
from vaxops.core.actors import SystemActor
from vaxops.testing.concurrency import race

from .factories import resident, session, site

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("audit_log_flushable")]


@pytest.fixture
def pg():
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite serialises writers, so it cannot show concurrent bookings racing"
        )


def test_twelve_people_racing_for_five_places_get_exactly_five(pg, village_a1, cdc):
    s = session(site(village_a1), cdc)
    slot = s.slots.order_by("start").first()
    Slot.objects.filter(pk=slot.pk).update(open_capacity=5)
    people = [resident(village_a1, i, name=f"居民{i}") for i in range(12)]

    outcomes = race(
        12,
        lambda i: services.appointment_book(
            actor=SystemActor(f"c{i}"), resident=people[i], slot=slot, channel="self"
        ),
    )

    assert outcomes.count("ok") == 5, outcomes
    assert all("约满" in o for o in outcomes if o != "ok")
    assert Slot.objects.get(pk=slot.pk).open_booked == 5
    assert Appointment.objects.filter(slot=slot).count() == 5


def test_one_person_booking_eight_slots_at_once_holds_one_appointment(pg, village_a1, cdc):
    s = session(site(village_a1), cdc)
    slots = list(s.slots.order_by("start"))
    person = resident(village_a1, 1)

    outcomes = race(
        8,
        lambda i: services.appointment_book(
            actor=SystemActor(f"c{i}"), resident=person, slot=slots[i], channel="self"
        ),
    )

    assert outcomes.count("ok") == 1, outcomes
    assert Appointment.objects.filter(resident=person).count() == 1
    assert sum(Slot.objects.filter(session=s).values_list("open_booked", flat=True)) == 1
