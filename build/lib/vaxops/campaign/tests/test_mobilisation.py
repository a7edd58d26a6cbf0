"""Mobilisation lists: the stored status filtered in SQL must say what the engine says, person by person."""

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from vaxops.audit.models import AuditEvent
from vaxops.campaign.models import ImmunizationStatus
from vaxops.campaign.selectors import category_q, mobilisation_counts, mobilisation_list
from vaxops.campaign.services import status_refresh
from vaxops.catalog import domain
from vaxops.catalog.selectors import catalogue_current
from vaxops.clinic.models import Deferral, Dose
from vaxops.clinic.selectors import person_inputs
from vaxops.conftest import make_id
from vaxops.registry.models import Resident

TODAY = date(2021, 9, 1)

# (birth date, doses as (product, date)) — a spread over every list.
PEOPLE = [
    (date(1980, 1, 1), []),  # not started
    (date(1985, 5, 5), [("BBIBP-CorV", date(2021, 8, 20))]),  # waiting out 21 days
    (date(1975, 3, 3), [("BBIBP-CorV", date(2021, 6, 1))]),  # dose 2 window passed: overdue
    (date(1970, 7, 7), [("CoronaVac", date(2021, 7, 20))]),  # dose 2 due
    (date(1960, 2, 2), [("BBIBP-CorV", date(2021, 1, 5)), ("BBIBP-CorV", date(2021, 2, 1))]),  # booster due
    (date(1990, 9, 9), [("Convidecia", date(2021, 8, 1))]),  # complete
    (date(2010, 1, 1), []),  # too young
    (date(1988, 8, 8), [("ZF2001", date(2021, 6, 1)), ("ZF2001", date(2021, 7, 1))]),  # dose 3 due
]


@pytest.fixture
def people(county, village_a1, cdc):
    out = []
    for i, (birth, doses) in enumerate(PEOPLE, start=1):
        r = Resident.objects.create(
            id_type="resident_id",
            id_number=make_id(birth, seq=i),
            name=f"测试{i}",
            birth_date=birth,
            village=village_a1,
            village_code=village_a1.code,
        )
        for product, given in doses:
            Dose.objects.create(resident=r, product_code=product, given_on=given)
        out.append(r)
    Deferral.objects.create(resident=out[1], until=TODAY + timedelta(days=40), reason="发热")
    status_refresh(resident_ids=[r.pk for r in out], on=TODAY)
    return out


def _engine_category(resident: Resident, on: date) -> str:
    inputs = person_inputs(resident_ids=[resident.pk]).get(resident.pk)
    f = domain.evaluate(
        birth_date=resident.birth_date,
        doses=inputs.doses if inputs else (),
        contraindications=inputs.contraindications if inputs else (),
        deferrals=inputs.deferrals if inputs else (),
        on=TODAY,
        catalogue=catalogue_current(),
    )
    return domain.mobilisation_category(f, on).value


class TestCategoryQ:
    @pytest.mark.parametrize("days_later", [0, 1, 10, 30, 90, 200])
    def test_it_agrees_with_the_engine_for_every_person_and_day(self, people, days_later):
        on = TODAY + timedelta(days=days_later)
        for r in people:
            expected = _engine_category(r, on)
            sql = [
                c.value
                for c in domain.MobilisationCategory
                if Resident.objects.filter(pk=r.pk).filter(category_q(c, on)).exists()
            ]
            assert sql == [expected], (r.name, r.birth_date, on, sql, expected)

    def test_it_covers_the_lists_the_spread_is_meant_to_cover(self, people):
        cats = {_engine_category(r, TODAY) for r in people}
        assert {"not_started", "not_yet_due", "overdue", "dose_due", "booster_due", "complete"} <= cats


class TestLists:
    def test_it_counts_each_list_in_scope(self, people, cdc):
        counts = mobilisation_counts(user=cdc, on=TODAY)
        assert sum(counts.values()) == len(PEOPLE)
        assert counts["not_started"] == 1
        assert counts["booster_due"] == 1

    def test_it_hides_other_villages(self, people, worker_b, worker_a):
        assert mobilisation_list(user=worker_b, category="not_started", on=TODAY).count() == 0
        assert mobilisation_list(user=worker_a, category="not_started", on=TODAY).count() == 1

    def test_it_refreshes_when_a_dose_is_recorded(self, people):
        r = people[0]
        Dose.objects.create(resident=r, product_code="BBIBP-CorV", given_on=TODAY)
        status_refresh(resident_ids=[r.pk], on=TODAY)
        s = ImmunizationStatus.objects.get(pk=r.pk)
        assert (s.valid_doses, s.next_number, s.next_earliest) == (1, 2, TODAY + timedelta(days=21))


class TestPages:
    def test_it_renders_the_list_with_masked_ids(self, client, people, cdc):
        client.force_login(cdc)
        r = client.get("/mobilisation/", {"category": "not_started", "on": TODAY.isoformat()})
        assert r.status_code == 200
        body = r.content.decode()
        assert "测试1" in body
        assert people[0].id_number not in body
        assert people[0].id_number_masked in body

    def test_it_exports_xlsx_and_audits_it(self, client, people, cdc):
        client.force_login(cdc)
        r = client.get("/mobilisation/export.xlsx", {"category": "booster_due", "on": TODAY.isoformat()})
        assert r.status_code == 200
        ws = load_workbook(io.BytesIO(r.content)).active
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][0] == "姓名"
        assert [row[0] for row in rows[1:]] == ["测试5"]
        assert rows[1][1] == people[4].id_number_masked
        assert AuditEvent.objects.filter(action="mobilisation.export", object_id="booster_due").count() == 1

    def test_it_refuses_a_leader(self, client, people, leader):
        client.force_login(leader)
        assert client.get("/mobilisation/").status_code == 403


class TestImportKeepsStatus:
    def test_it_computes_status_for_imported_people(
        self, county, village_a1, cdc, django_capture_on_commit_callbacks
    ):
        from vaxops.registry.services import residents_import
        from vaxops.registry.tables import open_table

        csv = f"姓名,证件号码,村(社区)代码\n李四,{make_id(date(1970, 1, 1), seq=77)},{village_a1.code}\n"
        with django_capture_on_commit_callbacks(execute=True):
            residents_import(table=open_table(io.BytesIO(csv.encode())), actor=cdc)
        r = Resident.objects.get(name="李四")
        assert ImmunizationStatus.objects.get(pk=r.pk).next_number == 1


class TestEmployerFilter:
    def test_it_narrows_a_list_to_one_employer(self, client, people, cdc, employer):
        Resident.objects.filter(pk=people[0].pk).update(employer=employer)
        ImmunizationStatus.objects.filter(pk=people[0].pk).update(employer_id=employer.pk)
        assert (
            mobilisation_list(user=cdc, category="not_started", on=TODAY, employer_id=employer.pk).count()
            == 1
        )
        assert mobilisation_counts(user=cdc, on=TODAY, employer_id=employer.pk + 1)["not_started"] == 0
        client.force_login(cdc)
        r = client.get(
            "/mobilisation/", {"category": "not_started", "on": TODAY.isoformat(), "employer": employer.pk}
        )
        assert "测试1" in r.content.decode()
        assert employer.name in r.content.decode()


class TestPolicyChange:
    def test_it_recomputes_statuses_when_a_schedule_changes(self, people, django_capture_on_commit_callbacks):
        from vaxops.catalog.models import SchedulePolicy

        ImmunizationStatus.objects.filter(pk=people[0].pk).update(next_number=9)
        policy = SchedulePolicy.objects.filter(product__code="BBIBP-CorV").order_by("effective_from").first()
        with django_capture_on_commit_callbacks(execute=True):
            policy.save()
        assert ImmunizationStatus.objects.get(pk=people[0].pk).next_number == 1


class TestPeopleWithoutStatus:
    def test_it_puts_them_on_no_list_and_counts_them_apart(self, people, cdc, village_a1):
        newcomer = Resident.objects.create(
            id_type="passport",
            id_number="E99887766",
            name="无生日",
            village=village_a1,
            village_code=village_a1.code,
        )
        counts = mobilisation_counts(user=cdc, on=TODAY)
        assert counts["unknown"] == 1
        assert sum(v for k, v in counts.items() if k != "unknown") == len(PEOPLE)
        assert not mobilisation_list(user=cdc, category="complete", on=TODAY).filter(pk=newcomer.pk).exists()


class TestFutureVersion:
    def test_it_schedules_a_recompute_for_the_day_a_version_starts(
        self, people, django_capture_on_commit_callbacks
    ):
        from django_q.models import Schedule

        from vaxops.catalog.models import SchedulePolicy

        policy = SchedulePolicy.objects.filter(product__code="BBIBP-CorV").order_by("effective_from").last()
        start = date.today() + timedelta(days=30)
        SchedulePolicy.objects.filter(pk=policy.pk).update(effective_from=start)
        policy.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            policy.save()
        s = Schedule.objects.get(name=f"status-refresh-{start.isoformat()}")
        assert s.func == "vaxops.campaign.tasks.status_refresh_all_task"
        assert s.next_run.astimezone().date() in (start, start - timedelta(days=1))
