"""The eligibility answer can name a deferral (pregnancy): only roles that see clinic records may read it."""

from datetime import date

from vaxops.conftest import make_id
from vaxops.registry.models import Resident


def test_it_refuses_eligibility_to_an_employer_contact(client, employer_contact, employer, village_a1):
    r = Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(date(1980, 1, 1), seq=51),
        name="员工",
        birth_date=date(1980, 1, 1),
        village=village_a1,
        village_code=village_a1.code,
        employer=employer,
    )
    client.force_login(employer_contact)
    assert client.get(f"/api/v1/clinic/residents/{r.pk}/eligibility").status_code == 403


def test_it_answers_eligibility_to_a_village_worker(client, worker_a, village_a1):
    r = Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(date(1980, 1, 1), seq=52),
        name="村民",
        birth_date=date(1980, 1, 1),
        village=village_a1,
        village_code=village_a1.code,
    )
    client.force_login(worker_a)
    body = client.get(f"/api/v1/clinic/residents/{r.pk}/eligibility", {"on": "2021-06-01"}).json()
    assert body["resident_id"] == r.pk and isinstance(body["allowed"], bool) and body["reason_zh"]
