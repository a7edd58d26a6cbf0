"""A site open today, people ready at its desk, a local receiving FHIR server and an endpoint pointing at it."""

import uuid

import pytest

from vaxops.clinic.tests.conftest import *  # noqa: F403
from vaxops.desk import services as desk_services
from vaxops.desk.tests.desk_setup import code, open_site, ready_person, ten_in_the_morning
from vaxops.exchange.models import Endpoint
from vaxops.exchange.server import Receiver


@pytest.fixture
def desk1(county, village_a1, vaccinator, monkeypatch):
    ten_in_the_morning(monkeypatch)
    return open_site(county, village_a1, vaccinator, codes=12)


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def endpoint(receiver, db):
    return Endpoint.objects.create(
        code="province",
        name="省级平台",
        kind="provincial",
        url=receiver.url,
        batch_size=50,
        timeout_seconds=2,
    )


def give(desk1, village, vaccinator, n: int, *, start: int = 1):
    """``n`` people each get a dose at desk 1 (codes ``start`` …)."""
    doses = []
    for i in range(start, start + n):
        person = ready_person(desk1, village, i, name=f"王{i}")
        doses.append(
            desk_services.dose_administer(
                actor=vaccinator,
                resident_id=person.pk,
                code=code(i),
                client_id=uuid.uuid4().hex,
                phone_last4="5678",
            )
        )
    return doses
