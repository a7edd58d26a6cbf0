"""Every list, search, detail, statistic, import and API call returns only what the user's scope allows."""

import io
from datetime import date

import pytest

from vaxops.accounts.services import user_create
from vaxops.conftest import PASSWORD, make_id
from vaxops.core.errors import NotFound, PermissionDenied
from vaxops.jurisdictions.models import Division
from vaxops.registry.models import Employer, Resident
from vaxops.registry.selectors import resident_get, resident_statistics, residents_search, residents_visible
from vaxops.registry.services import residents_import
from vaxops.registry.tables import open_table

A1, A2, B1, B2 = "330199001001", "330199001002", "330199002001", "330199002002"
HEADER = "姓名,证件号码,手机号码,村(社区)代码,工作单位,接种意愿"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def person(code: str, seq: int, name: str, *, employer=None, willingness="willing") -> Resident:
    village = Division.objects.get(code=code)
    born = date(1980, 5, 1)
    return Resident.objects.create(
        id_type="resident_id",
        id_number=make_id(born, seq),
        name=name,
        sex="F",
        birth_date=born,
        phone="13812345678",
        village=village,
        village_code=code,
        employer=employer,
        employer_name=employer.name if employer else "",
        willingness=willingness,
    )


@pytest.fixture
def people(county, employer):
    return {
        "a1": person(A1, 1, "张一"),
        "a1b": person(A1, 2, "张二", willingness="refused"),
        "a2": person(A2, 3, "李三"),
        "b1": person(B1, 4, "王四"),
        "staff": person(B2, 5, "赵五", employer=employer),
    }


def names(qs) -> set[str]:
    return set(qs.values_list("name", flat=True))


def run(text: str, actor, **kwargs):
    data = text.encode()
    return residents_import(table=open_table(io.BytesIO(data)), actor=actor, **kwargs)


class TestVillageWorker:
    def test_it_lists_only_their_village(self, worker_a, people):
        assert names(residents_visible(user=worker_a)) == {"张一", "张二"}
        assert names(residents_search(user=worker_a)) == {"张一", "张二"}

    def test_it_searches_only_within_their_village(self, worker_a, people):
        assert names(residents_search(user=worker_a, q="王四")) == set()
        assert names(residents_search(user=worker_a, q="李")) == set()
        assert names(residents_search(user=worker_a, q="张")) == {"张一", "张二"}
        assert names(residents_search(user=worker_a, village_code=B1)) == set()

    def test_it_finds_no_resident_of_another_village(self, worker_a, people):
        with pytest.raises(NotFound):
            resident_get(user=worker_a, resident_id=people["b1"].pk)
        with pytest.raises(NotFound):
            resident_get(user=worker_a, resident_id=people["a2"].pk)
        assert resident_get(user=worker_a, resident_id=people["a1"].pk) == people["a1"]

    def test_it_counts_only_their_village(self, worker_a, people):
        stats = resident_statistics(user=worker_a)

        assert stats["total"] == 2
        assert stats["by_willingness"] == {"willing": 1, "refused": 1}

    def test_it_shows_only_their_village_in_the_web_list(self, client, worker_a, people):
        client.force_login(worker_a)

        r = client.get("/residents/")

        assert r.status_code == 200
        body = r.content.decode()
        assert "张一" in body and "张二" in body
        assert "王四" not in body and "李三" not in body and "赵五" not in body

    def test_it_gets_404_for_another_village_in_the_web_detail(self, client, worker_a, people):
        client.force_login(worker_a)

        assert client.get(f"/residents/{people['b1'].pk}/").status_code == 404
        assert client.get(f"/residents/{people['a1'].pk}/").status_code == 200

    def test_it_lists_only_their_village_in_the_api(self, client, worker_a, people):
        client.force_login(worker_a)

        r = client.get("/api/v1/residents")

        assert r.status_code == 200
        data = r.json()
        assert data["count"] == 2
        assert {i["name"] for i in data["items"]} == {"张一", "张二"}

    def test_it_gets_404_for_another_village_in_the_api(self, client, worker_a, people):
        client.force_login(worker_a)

        r = client.get(f"/api/v1/residents/{people['b1'].pk}")

        assert r.status_code == 404
        assert "王四" not in r.content.decode()
        assert client.get(f"/api/v1/residents/{people['a1'].pk}").status_code == 200


class TestTownshipWorker:
    def test_it_sees_every_village_of_the_township(self, people):
        user = user_create(
            username="town_a",
            password=PASSWORD,
            role="township_worker",
            division=Division.objects.get(code="330199001000"),
        )

        assert names(residents_visible(user=user)) == {"张一", "张二", "李三"}


class TestImportScope:
    def test_it_rejects_rows_for_a_village_outside_the_scope(self, worker_b, people):
        new = make_id(date(1990, 1, 1), 9)
        b_new = make_id(date(1990, 1, 1), 10)

        result = run(
            f"{HEADER}\n钱八,{new},13800001111,{A1},,愿意\n孙九,{b_new},13800002222,{B1},,愿意\n", worker_b
        )

        assert (result.read, result.created, result.rejected) == (2, 1, 1)
        err = result.errors[0].as_dict()
        assert err["row"] == 2
        assert err["column"] == "村(社区)代码"
        assert "不在您的管辖范围内" in err["message"]
        assert not Resident.objects.filter(id_number=new).exists()
        assert Resident.objects.get(id_number=b_new).village_code == B1

    def test_it_refuses_to_update_a_resident_of_another_village(self, worker_b, people):
        a1 = people["a1"]

        result = run(
            f"{HEADER}\n张一改,{a1.id_number},13999999999,{B1},,拒绝\n"
            f"张一,{a1.id_number},13999999999,{A1},,拒绝\n",
            worker_b,
        )

        assert (result.updated, result.rejected) == (0, 2)
        first, second = sorted(result.errors, key=lambda e: e.row)
        assert "管辖范围" in first.message
        assert "与第2行的证件号码相同" in second.message  # the same ID twice in one file: a duplicate
        a1.refresh_from_db()
        assert (a1.name, a1.phone, a1.village_code, a1.willingness) == ("张一", "13812345678", A1, "willing")

    def test_it_does_not_move_a_new_person_out_of_scope_by_repeating_the_row(self, worker_a, county):
        new = make_id(date(1990, 1, 1), 9)

        result = run(
            f"{HEADER}\n钱八,{new},13800001111,{A1},,愿意\n钱八,{new},13800001111,{B1},,愿意\n", worker_a
        )

        # The second row names a village outside worker_a's scope: it must be refused like any other.
        assert result.rejected == 1
        assert result.errors[0].row == 3
        assert Resident.objects.get(id_number=new).village_code == A1


class TestEmployerContact:
    def test_it_sees_only_the_employers_staff(self, employer_contact, people):
        assert names(residents_visible(user=employer_contact)) == {"赵五"}
        assert names(residents_search(user=employer_contact, q="张")) == set()
        with pytest.raises(NotFound):
            resident_get(user=employer_contact, resident_id=people["a1"].pk)
        assert resident_statistics(user=employer_contact)["total"] == 1

    def test_it_forces_imports_to_the_employer(self, employer_contact, employer, people):
        new = make_id(date(1990, 1, 1), 9)

        result = run(f"{HEADER}\n钱八,{new},13800001111,{A1},别的单位,愿意\n", employer_contact)

        assert result.created == 1
        r = Resident.objects.get(id_number=new)
        assert r.employer_id == employer.id
        assert r.employer_name == employer.name

    def test_it_refuses_importing_for_another_employer(self, employer_contact, employer, people):
        Employer.objects.create(code="E2", name="别的单位", division=employer.division)

        with pytest.raises(PermissionDenied):
            run(
                f"{HEADER}\n钱八,{make_id(date(1990, 1, 1), 9)},13800001111,{A1},,愿意\n",
                employer_contact,
                employer_code="E2",
            )
        assert Resident.objects.count() == 5

    def test_it_cannot_take_over_another_employers_staff(self, employer_contact, employer, people):
        other = Employer.objects.create(code="E2", name="别的单位", division=employer.division)
        theirs = person(B1, 20, "周十", employer=other)

        result = run(f"{HEADER}\n周十,{theirs.id_number},13900000000,{B1},,拒绝\n", employer_contact)

        assert result.rejected == 1
        theirs.refresh_from_db()
        assert theirs.employer_id == other.id
        assert theirs.phone == "13812345678"


class TestLeader:
    def test_it_has_no_resident_list(self, client, leader, people):
        client.force_login(leader)

        assert client.get("/residents/").status_code == 403
        assert client.get(f"/residents/{people['a1'].pk}/").status_code == 403
        assert residents_visible(user=leader).count() == 0

    def test_it_gets_no_residents_from_the_api(self, client, leader, people):
        client.force_login(leader)

        r = client.get("/api/v1/residents")

        assert r.status_code == 403 or r.json()["count"] == 0
        assert "张一" not in r.content.decode()

    def test_it_sees_statistics_on_home(self, client, leader, people):
        client.force_login(leader)

        r = client.get("/")

        assert r.status_code == 200
        body = r.content.decode()
        assert "辖区建档人数" in body
        assert '<div class="n">5</div>' in body
        assert resident_statistics(user=leader)["total"] == 5


class TestCountyCdc:
    def test_it_sees_the_whole_county(self, cdc, people):
        assert names(residents_visible(user=cdc)) == {"张一", "张二", "李三", "王四", "赵五"}
        assert resident_statistics(user=cdc)["total"] == 5
        assert resident_get(user=cdc, resident_id=people["b1"].pk) == people["b1"]

    def test_it_lists_the_whole_county_in_the_api(self, client, cdc, people):
        client.force_login(cdc)

        assert client.get("/api/v1/residents").json()["count"] == 5


class TestNoScope:
    def test_it_sees_nothing_without_division_or_employer(self, client, people):
        user = user_create(username="nowhere", password=PASSWORD, role="village_worker")

        assert residents_visible(user=user).count() == 0
        assert resident_statistics(user=user)["total"] == 0
        with pytest.raises(NotFound):
            resident_get(user=user, resident_id=people["a1"].pk)
        client.force_login(user)
        body = client.get("/residents/").content.decode()
        assert "张一" not in body
        assert client.get("/api/v1/residents").json()["count"] == 0

    def test_it_cannot_import_anywhere(self, people):
        user = user_create(username="nowhere", password=PASSWORD, role="village_worker")

        result = run(f"{HEADER}\n钱八,{make_id(date(1990, 1, 1), 9)},13800001111,{A1},,愿意\n", user)

        assert (result.created, result.rejected) == (0, 1)
