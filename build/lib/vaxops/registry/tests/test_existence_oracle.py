"""Adding someone whose document is registered outside the user's scope (issue 11, Low: an existence oracle):
the answer has the same code and field as inside the scope, but names neither the place nor the person; inside
the scope it names the record. The same holds for the API, the service and the census import."""

import io
from datetime import date

import pytest

from vaxops.conftest import make_id
from vaxops.core.errors import ValidationFailed
from vaxops.registry.models import Resident
from vaxops.registry.services import REGISTERED_ELSEWHERE, resident_create, residents_import
from vaxops.registry.tables import open_table

NUMBER = make_id(date(1975, 5, 5), seq=77)


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def registered_in_b(cdc, village_b1):
    return resident_create(
        actor=cdc, data={"name": "乙村人", "id_number": NUMBER, "village_code": village_b1.code}
    )


def _api_create(client, user, village):
    client.force_login(user)
    return client.post(
        "/api/v1/residents",
        {"name": "试探", "id_number": NUMBER, "village_code": village.code},
        content_type="application/json",
    )


@pytest.mark.django_db
def test_the_api_answer_outside_the_scope_says_nothing_of_where(
    client, worker_a, village_a1, registered_in_b
):
    r = _api_create(client, worker_a, village_a1)

    assert r.status_code == 400
    body = r.json()
    assert (body["code"], body["field"]) == ("duplicate", "id_number")
    assert body["message"] == REGISTERED_ELSEWHERE
    assert "县疾控" in body["message"]
    for secret in ("乙", "乙村人", str(registered_in_b.pk), "330199002"):
        assert secret not in body["message"], secret


@pytest.mark.django_db
def test_inside_the_scope_the_answer_names_the_record(client, worker_b, village_b1, registered_in_b):
    r = _api_create(client, worker_b, village_b1)

    body = r.json()
    assert (r.status_code, body["code"], body["field"]) == (400, "duplicate", "id_number")
    assert f"居民编号{registered_in_b.pk}" in body["message"]
    assert body["message"] != REGISTERED_ELSEWHERE


@pytest.mark.django_db
def test_the_service_answers_the_same_for_a_registration_desk(cdc, village_a1, registered_in_b):
    from vaxops.accounts.services import user_create
    from vaxops.conftest import PASSWORD
    from vaxops.jurisdictions.models import Division

    desk = user_create(
        username="reg",
        password=PASSWORD,
        role="site_registration",
        division=Division.objects.get(code="330199001000"),
    )
    with pytest.raises(ValidationFailed) as e:
        resident_create(
            actor=desk, data={"name": "试探", "id_number": NUMBER, "village_code": village_a1.code}
        )
    assert e.value.message == REGISTERED_ELSEWHERE


@pytest.mark.django_db
def test_the_census_import_gives_the_same_answer(worker_a, village_a1, registered_in_b):
    data = f"姓名,证件号码,村(社区)代码\n试探,{NUMBER},{village_a1.code}\n".encode()
    result = residents_import(table=open_table(io.BytesIO(data), size=len(data)), actor=worker_a)

    assert result.rejected == 1
    assert result.errors[0].message == REGISTERED_ELSEWHERE
    assert Resident.objects.get(id_number=NUMBER).name == "乙村人"
