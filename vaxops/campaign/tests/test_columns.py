"""The mobilisation list's columns say what a village worker can act on: since when the person may be
vaccinated (for a first dose, when their phase opened — not their 18th birthday) and how late they are."""

import re
from datetime import date

import pytest

from vaxops.campaign.services import status_refresh
from vaxops.catalog.defaults import PHASES
from vaxops.catalog.domain import due_note, eligible_since
from vaxops.clinic.models import Dose
from vaxops.conftest import make_id
from vaxops.registry.models import Resident

TODAY = date(2021, 9, 1)


def test_an_old_persons_first_dose_is_eligible_since_their_phase_opened():
    since = eligible_since(
        birth_date=date(1934, 3, 3),
        priority_group=None,
        dose_number=1,
        earliest=date(1952, 3, 3),
        phases=PHASES,
    )
    assert since == date(2021, 7, 1)  # step 2 (older people) opened; not 1952, the day they turned 18
    adult = eligible_since(
        birth_date=date(1980, 1, 1),
        priority_group=None,
        dose_number=1,
        earliest=date(1998, 1, 1),
        phases=PHASES,
    )
    assert adult == date(2021, 4, 1)  # step 1 phase 2, everyone 18–59
    second = eligible_since(
        birth_date=date(1980, 1, 1),
        priority_group=None,
        dose_number=2,
        earliest=date(2021, 6, 22),
        phases=PHASES,
    )
    assert second == date(2021, 6, 22)  # later doses: the schedule's earliest day
    assert (
        eligible_since(
            birth_date=date(1980, 1, 1), priority_group=None, dose_number=None, earliest=None, phases=PHASES
        )
        is None
    )


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"dose_number": 2, "since": date(2021, 6, 22), "latest": date(2021, 7, 27)}, ("逾期36天", 36)),
        (
            {"dose_number": 2, "since": date(2021, 8, 20), "latest": date(2021, 9, 10)},
            ("2021-09-10前（还有9天）", None),
        ),
        ({"dose_number": 2, "since": None, "latest": None, "window_missed": True}, ("已超出接种时限", None)),
        ({"dose_number": 1, "since": date(2021, 7, 1), "latest": None}, ("已可接种62天", None)),
        ({"dose_number": 1, "since": None, "latest": None}, ("尚无开放的接种阶段", None)),
        ({"dose_number": 3, "since": date(2022, 1, 1), "latest": None}, ("无时限", None)),
        ({"dose_number": None, "since": None, "latest": None}, ("", None)),
    ],
)
def test_the_due_note_is_never_a_blank_without_meaning(kw, expected):
    assert due_note(on=TODAY, **kw) == expected


@pytest.mark.django_db
def test_the_list_shows_eligible_since_and_overdue(client, county, village_a1, cdc):
    old = Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(date(1934, 3, 3), seq=1),
        name="老人甲",
        birth_date=date(1934, 3, 3),
        village=village_a1,
        village_code=village_a1.code,
    )
    late = Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(date(1975, 3, 3), seq=2),
        name="逾期乙",
        birth_date=date(1975, 3, 3),
        village=village_a1,
        village_code=village_a1.code,
    )
    Dose.objects.create(resident=late, product_code="BBIBP-CorV", given_on=date(2021, 6, 1))
    status_refresh(resident_ids=[old.pk, late.pk], on=TODAY)
    client.force_login(cdc)

    body = client.get("/mobilisation/", {"category": "not_started", "on": TODAY.isoformat()}).content.decode()
    row = re.search(r"<tr><td><a [^>]*>老人甲</a>.*?</tr>", body, re.S).group(0)
    assert "2021-07-01" in row and "已可接种62天" in row and "1952" not in row
    assert "可接种自" in body and "时限" in body

    body = client.get("/mobilisation/", {"category": "overdue", "on": TODAY.isoformat()}).content.decode()
    row = re.search(r"<tr><td><a [^>]*>逾期乙</a>.*?</tr>", body, re.S).group(0)
    assert re.search(r"逾期\d+天", row), row
