"""person_inputs: the engine's inputs for any number of people in a constant number of queries."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from vaxops.catalog import domain
from vaxops.clinic.models import Contraindication, Deferral, Dose
from vaxops.clinic.selectors import NO_INPUTS, forecast_for, person_inputs
from vaxops.registry.models import Resident

from .conftest import A1, make_resident

D1 = date(2021, 4, 1)


def people(n: int) -> list[Resident]:
    out = []
    for i in range(n):
        r = make_resident(A1, 100 + i, f"居民{i}")
        Dose.objects.create(resident=r, product_code="BBIBP-CorV", given_on=D1, place="甲镇卫生院")
        Dose.objects.create(
            resident=r, product_code="BBIBP-CorV", given_on=D1 + timedelta(days=21), place="甲镇卫生院"
        )
        Deferral.objects.create(resident=r, until=date(2021, 6, 1), reason="发热")
        Contraindication.objects.create(resident=r, products=["ZF2001"], reason="过敏")
        out.append(r)
    return out


class TestPersonInputs:
    def test_it_reads_one_person(self, county):
        r = make_resident(A1, 1)
        kept = Dose.objects.create(
            resident=r, product_code="BBIBP-CorV", given_on=D1, place="甲镇卫生院", external=True
        )
        Dose.objects.create(
            resident=r,
            product_code="CoronaVac",
            given_on=D1,
            place="乙镇",
            voided_at=timezone.now(),
            void_reason="录入错误",
        )
        Deferral.objects.create(resident=r, condition="妊娠结束后", reason="妊娠期暂缓接种")
        Deferral.objects.create(resident=r, until=date(2021, 5, 1), reason="发热", ended_at=timezone.now())
        Contraindication.objects.create(resident=r, products="all", reason="严重过敏")
        Contraindication.objects.create(
            resident=r, products=["ZF2001"], reason="误录", lifted_at=timezone.now()
        )

        inputs = person_inputs(resident_ids=[r.pk])[r.pk]

        assert inputs.doses == (domain.GivenDose("BBIBP-CorV", D1, "甲镇卫生院", True, str(kept.pk)),)
        assert inputs.deferrals == (
            domain.Deferral(until=None, condition="妊娠结束后", reason="妊娠期暂缓接种"),
        )
        assert inputs.contraindications == (domain.Contraindication(products=domain.ALL, reason="严重过敏"),)

    def test_it_answers_every_id_even_without_records(self, county):
        r = make_resident(A1, 1)

        assert person_inputs(resident_ids=[r.pk, 999_999]) == {r.pk: NO_INPUTS, 999_999: NO_INPUTS}

    def test_it_takes_the_same_number_of_queries_for_1_and_50_people(self, county, django_assert_num_queries):
        crowd = people(50)

        with django_assert_num_queries(3):
            one = person_inputs(resident_ids=[crowd[0].pk])
        with django_assert_num_queries(3):
            fifty = person_inputs(resident_ids=[r.pk for r in crowd])

        assert one[crowd[0].pk] == fifty[crowd[0].pk]
        assert len(fifty) == 50
        assert all(
            len(i.doses) == 2 and len(i.deferrals) == 1 and len(i.contraindications) == 1
            for i in fifty.values()
        )

    def test_it_takes_a_queryset_as_a_subquery(self, county, django_assert_num_queries):
        crowd = people(5)

        with django_assert_num_queries(4):
            got = person_inputs(resident_ids=Resident.objects.filter(village_code=A1))

        assert set(got) == {r.pk for r in crowd}
        assert got[crowd[0].pk].doses[1].date == D1 + timedelta(days=21)

    def test_it_chunks_long_lists(self, county, django_assert_num_queries, monkeypatch):
        from vaxops.clinic import selectors

        crowd = people(5)
        monkeypatch.setattr(selectors, "CHUNK", 2)

        with django_assert_num_queries(9):
            got = person_inputs(resident_ids=[r.pk for r in crowd])

        assert all(len(i.doses) == 2 for i in got.values())


class TestForecastFor:
    def test_it_forecasts_from_the_stored_records(self, county):
        r = make_resident(A1, 1)
        Dose.objects.create(resident=r, product_code="BBIBP-CorV", given_on=D1, place="甲镇卫生院")

        f = forecast_for(resident=r, on=date(2021, 4, 10))

        assert f.status is domain.Status.IN_PROGRESS
        assert f.next_dose.earliest == date(2021, 4, 22)

    def test_it_needs_a_birth_date(self, county):
        r = make_resident(A1, 1)
        r.birth_date = None

        with pytest.raises(Exception, match="未登记出生日期"):
            forecast_for(resident=r, on=D1)
