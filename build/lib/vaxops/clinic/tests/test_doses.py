"""External doses and voiding: scoped, audited, idempotent, and reflected in the forecast."""

from datetime import date

from vaxops.audit.models import AuditEvent
from vaxops.catalog import domain
from vaxops.catalog.errors import CatalogErrorCode
from vaxops.clinic.errors import ClinicErrorCode
from vaxops.clinic.models import Dose
from vaxops.clinic.selectors import forecast_for
from vaxops.clinic.services import dose_record_external, dose_void
from vaxops.core.errors import CoreErrorCode
from vaxops.registry.errors import RegistryErrorCode
from vaxops.testing.refusals import refused

D1 = date(2021, 4, 1)
ON = date(2021, 5, 10)


def record(actor, resident, product="BBIBP-CorV", given_on=D1, place="杭州市西湖区接种点"):
    return dose_record_external(
        actor=actor, resident_id=resident.pk, product=product, given_on=given_on, place=place
    )


def post(client, resident, **headers):
    data = {"product": "BBIBP-CorV", "given_on": "2021-04-01", "place": "杭州市西湖区接种点"}
    return client.post(
        f"/api/v1/clinic/residents/{resident.pk}/doses", data, content_type="application/json", **headers
    )


class TestRecordExternal:
    def test_it_records_the_catalogue_code_and_audits(self, worker_a, resident_a):
        dose = record(worker_a, resident_a, product="CoronaVac")

        assert (dose.product_code, dose.given_on, dose.external, dose.recorded_by) == (
            "CoronaVac",
            D1,
            True,
            worker_a,
        )
        event = AuditEvent.objects.get(action="dose.record_external")
        assert event.actor == worker_a
        assert event.new == {
            "resident_id": resident_a.pk,
            "product_code": "CoronaVac",
            "given_on": "2021-04-01",
            "place": "杭州市西湖区接种点",
            "external": True,
        }

    def test_it_refuses_an_unknown_product(self, worker_a, resident_a):
        with refused(CatalogErrorCode.PRODUCT_UNKNOWN) as e:
            record(worker_a, resident_a, product="Comirnaty")

        assert e.value.field == "product"

    def test_it_refuses_a_future_date_and_a_missing_place(self, worker_a, resident_a):
        with refused(ClinicErrorCode.DOSE_IN_FUTURE):
            record(worker_a, resident_a, given_on=date(2099, 1, 1))
        with refused(ClinicErrorCode.DOSE_PLACE_REQUIRED):
            record(worker_a, resident_a, place="  ")

    def test_it_refuses_the_same_product_twice_on_one_day(self, worker_a, resident_a):
        record(worker_a, resident_a)

        with refused(ClinicErrorCode.DOSE_DUPLICATE):
            record(worker_a, resident_a)

        assert Dose.objects.count() == 1

    def test_it_hides_a_resident_outside_the_scope(self, worker_b, resident_a):
        with refused(RegistryErrorCode.RESIDENT_NOT_FOUND):
            record(worker_b, resident_a)

        assert not Dose.objects.exists()

    def test_it_needs_the_permission(self, vaccinator, resident_a):
        with refused(CoreErrorCode.ROLE_FORBIDDEN):
            record(vaccinator, resident_a)


class TestVoid:
    def test_it_voids_audits_and_drops_the_dose_from_the_forecast(self, cdc, worker_a, resident_a):
        first = record(worker_a, resident_a)
        record(worker_a, resident_a, given_on=date(2021, 4, 25))
        assert forecast_for(resident=resident_a, on=ON).valid_dose_count == 2

        dose_void(actor=cdc, dose_id=first.pk, reason="凭证日期录入错误")

        first.refresh_from_db()
        assert (
            first.voided_at is not None and first.voided_by == cdc and first.void_reason == "凭证日期录入错误"
        )
        forecast = forecast_for(resident=resident_a, on=ON)
        assert forecast.valid_dose_count == 1
        assert forecast.doses[0].dose.date == date(2021, 4, 25)
        event = AuditEvent.objects.get(action="dose.void")
        assert (event.actor, event.object_id, event.purpose) == (cdc, str(first.pk), "凭证日期录入错误")

    def test_it_lets_the_same_day_be_recorded_again_after_a_void(self, worker_a, resident_a):
        dose_void(actor=worker_a, dose_id=record(worker_a, resident_a).pk, reason="重复录入")

        record(worker_a, resident_a)

        assert Dose.objects.filter(voided_at__isnull=True).count() == 1

    def test_it_refuses_twice_and_without_a_reason(self, worker_a, resident_a):
        dose = record(worker_a, resident_a)
        with refused(CoreErrorCode.REASON_REQUIRED):
            dose_void(actor=worker_a, dose_id=dose.pk, reason=" ")
        dose_void(actor=worker_a, dose_id=dose.pk, reason="录入错误")

        with refused(ClinicErrorCode.DOSE_ALREADY_VOIDED):
            dose_void(actor=worker_a, dose_id=dose.pk, reason="录入错误")

    def test_it_keeps_local_doses_for_the_county(self, cdc, worker_a, resident_a):
        local = Dose.objects.create(
            resident=resident_a, product_code="BBIBP-CorV", given_on=D1, place="甲镇接种点"
        )

        with refused(ClinicErrorCode.DOSE_VOID_COUNTY_ONLY):
            dose_void(actor=worker_a, dose_id=local.pk, reason="录入错误")

        dose_void(actor=cdc, dose_id=local.pk, reason="录入错误")

    def test_it_hides_a_dose_outside_the_scope(self, worker_a, worker_b, resident_a):
        dose = record(worker_a, resident_a)

        with refused(ClinicErrorCode.DOSE_NOT_FOUND):
            dose_void(actor=worker_b, dose_id=dose.pk, reason="录入错误")


class TestApi:
    def test_it_creates_with_201(self, client, worker_a, resident_a):
        client.force_login(worker_a)

        r = post(client, resident_a)

        assert r.status_code == 201, r.content
        body = r.json()
        assert (body["product_code"], body["given_on"], body["external"]) == (
            "BBIBP-CorV",
            "2021-04-01",
            True,
        )

    def test_it_replays_an_idempotent_retry(self, client, worker_a, resident_a):
        client.force_login(worker_a)

        first = post(client, resident_a, HTTP_IDEMPOTENCY_KEY="paper-record-17")
        again = post(client, resident_a, HTTP_IDEMPOTENCY_KEY="paper-record-17")

        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        assert Dose.objects.count() == 1
        assert AuditEvent.objects.filter(action="dose.record_external").count() == 1

    def test_it_refuses_a_second_dose_without_a_key_with_400(self, client, worker_a, resident_a):
        client.force_login(worker_a)
        post(client, resident_a)

        r = post(client, resident_a)

        assert r.status_code == 400
        assert r.json() == {
            "code": "dose_duplicate",
            "message": "该居民2021-04-01已有BBIBP-CorV的接种记录",
            "field": "given_on",
        }

    def test_it_answers_404_outside_the_scope(self, client, worker_b, resident_a):
        client.force_login(worker_b)

        assert post(client, resident_a).status_code == 404
        assert client.get(f"/api/v1/clinic/residents/{resident_a.pk}/doses").status_code == 404

    def test_it_voids_through_the_api(self, client, cdc, worker_a, resident_a):
        dose = record(worker_a, resident_a)
        client.force_login(cdc)

        r = client.post(
            f"/api/v1/clinic/doses/{dose.pk}/void", {"reason": "录入错误"}, content_type="application/json"
        )

        assert r.status_code == 200, r.content
        assert r.json()["void_reason"] == "录入错误"
        history = client.get(f"/api/v1/clinic/residents/{resident_a.pk}/doses").json()
        assert [d["voided_at"] is not None for d in history] == [True]
        forecast = client.get(f"/api/v1/clinic/residents/{resident_a.pk}/forecast?on=2021-05-10").json()
        assert forecast["forecast"]["status"] == domain.Status.NOT_STARTED
