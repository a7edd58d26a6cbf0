"""The other events the outbox carries, against the real receiving FHIR server over HTTP: a suspected adverse
event report (and its changes) as an ``AdverseEvent``, a traceability code's changes of state as messages of
their own for the traceability platform, and a corrected dose as an update of the same Immunization."""

import datetime as dt

import pytest
from django.db import transaction

from vaxops.clinic import services as clinic_services
from vaxops.clinic.errors import ClinicErrorCode
from vaxops.clinic.models import Dose
from vaxops.core import clock
from vaxops.core.errors import PermissionDenied, ValidationFailed
from vaxops.exchange import resources, services
from vaxops.exchange.models import Endpoint, OutboundMessage
from vaxops.safety import services as safety
from vaxops.supply import services as supply
from vaxops.supply.models import TraceCode

from .conftest import give


def _kinds(endpoint):
    return list(
        OutboundMessage.objects.filter(endpoint=endpoint).order_by("id").values_list("kind", flat=True)
    )


def _report(cdc, dose, **kw):
    return safety.report_create(
        actor=cdc,
        dose=dose,
        source="county",
        onset_at=clock.now(),
        signs=["发热"],
        reporter_name="县疾控",
        **kw,
    )


def test_a_safety_report_goes_out_as_an_adverse_event(desk1, village_a1, vaccinator, cdc, endpoint, receiver):
    (dose,) = give(desk1, village_a1, vaccinator, 1)
    report = _report(cdc, dose, description="体温38.9℃")
    assert _kinds(endpoint) == ["create", "aefi"]
    m = OutboundMessage.objects.get(kind="aefi")
    assert (m.report_id, m.dose_id, m.resident_id) == (report.pk, dose.pk, dose.resident_id)

    result = services.outbox_drain()
    assert (result.acknowledged, result.failed) == (2, 0), result.errors
    (event,) = receiver.store.resources["AdverseEvent"].values()
    assert event["identifier"] == {"system": resources.SYSTEM_AEFI, "value": report.number}
    assert "发热" in event["event"]["text"] and event["seriousness"]["coding"][0]["code"] == "non-serious"
    # The event points at the dose and the person the receiver already holds (no second copy of either).
    (imm_id,) = receiver.store.resources["Immunization"]
    (patient_id,) = receiver.store.resources["Patient"]
    assert event["suspectEntity"][0]["instance"]["reference"] == f"Immunization/{imm_id}"
    assert event["subject"]["reference"] == f"Patient/{patient_id}"
    assert OutboundMessage.objects.get(kind="aefi").remote_id.startswith("AdverseEvent/")

    # A change of the report goes out as an update of the same AdverseEvent.
    safety.investigation_open(actor=cdc, report_id=report.pk)
    assert _kinds(endpoint) == ["create", "aefi", "aefi"]
    updates = receiver.store.updates
    assert services.outbox_drain().acknowledged == 1
    assert receiver.store.count("AdverseEvent") == 1 and receiver.store.updates == updates + 1


def test_a_report_rolled_back_leaves_no_message(desk1, village_a1, vaccinator, cdc, endpoint):
    (dose,) = give(desk1, village_a1, vaccinator, 1)
    with pytest.raises(RuntimeError), transaction.atomic():
        _report(cdc, dose)
        assert _kinds(endpoint) == ["create", "aefi"]
        raise RuntimeError("the report's transaction fails after it was written")
    assert _kinds(endpoint) == ["create"]


def test_a_report_does_not_go_to_the_traceability_platform(desk1, village_a1, vaccinator, cdc, receiver):
    trace = Endpoint.objects.create(code="trace", name="追溯平台", kind="traceability", url=receiver.url)
    (dose,) = give(desk1, village_a1, vaccinator, 1)
    _report(cdc, dose)
    assert _kinds(trace) == ["code"]


def test_code_states_go_to_the_traceability_platform_each_a_message(
    desk1, village_a1, vaccinator, cdc, endpoint, receiver
):
    trace = Endpoint.objects.create(code="trace", name="追溯平台", kind="traceability", url=receiver.url)
    (dose,) = give(desk1, village_a1, vaccinator, 1)
    clinic_services.dose_void(actor=cdc, dose_id=dose.pk, reason="录入错误", disposition="returned")
    # Two codes still in stock are quarantined after an excursion, one of them then destroyed.
    a, b = TraceCode.objects.filter(place=desk1.place, state="in_stock").exclude(pk=dose.trace_code_id)[:2]
    supply.codes_quarantine_listed(actor=cdc, code_ids=[a.pk, b.pk], reason="到货温度超标")
    supply.codes_destroy(actor=cdc, code_ids=[a.pk], note="温度异常销毁")
    rows = list(
        OutboundMessage.objects.filter(endpoint=trace)
        .order_by("id")
        .values_list("trace_code_id", "code_state")
    )
    assert rows == [
        (dose.trace_code_id, "administered"),
        (dose.trace_code_id, "in_stock"),
        (a.pk, "quarantined"),
        (b.pk, "quarantined"),
        (a.pk, "wasted"),
    ]
    assert _kinds(endpoint) == ["create", "void"]  # the record endpoint gets the dose, not the codes

    result = services.outbox_drain()
    assert (result.acknowledged, result.failed) == (7, 0), result.errors
    meds = {m["identifier"][0]["value"]: m for m in receiver.store.resources["Medication"].values()}
    assert len(meds) == 3  # each code once, updated in order

    def state(code):
        (ext,) = (e for e in meds[code]["extension"] if e["url"] == resources.EXT_CODE_STATE)
        return ext["valueCoding"]["code"], meds[code]["status"]

    assert state(dose.trace_code.code) == ("in_stock", "active")
    assert state(a.code) == ("wasted", "inactive")
    assert state(b.code) == ("quarantined", "inactive")


def test_a_code_message_resent_is_applied_once(desk1, village_a1, vaccinator, receiver):
    trace = Endpoint.objects.create(code="trace", name="追溯平台", kind="traceability", url=receiver.url)
    give(desk1, village_a1, vaccinator, 1)
    assert services.outbox_drain().acknowledged == 1
    OutboundMessage.objects.filter(endpoint=trace).update(state="pending")
    assert services.outbox_drain().acknowledged == 1
    assert receiver.store.count("Medication") == 1 and receiver.store.creates == 1


def test_a_corrected_dose_updates_the_same_immunization(
    desk1, village_a1, vaccinator, cdc, endpoint, receiver
):
    (dose,) = give(desk1, village_a1, vaccinator, 1)
    assert services.outbox_drain().acknowledged == 1
    earlier = dose.given_at - dt.timedelta(minutes=40)
    clinic_services.dose_correct(
        actor=cdc, dose_id=dose.pk, reason="接种时间录入有误", given_at=earlier, injection_site="右上臂三角肌"
    )
    assert _kinds(endpoint) == ["create", "correct"]
    assert services.outbox_drain().acknowledged == 1
    (imm,) = receiver.store.resources["Immunization"].values()
    assert imm["occurrenceDateTime"] == earlier.isoformat()
    assert imm["site"] == {"text": "右上臂三角肌"}
    assert {"system": resources.SYSTEM_DOSE, "value": str(dose.pk)} in imm["identifier"]
    assert receiver.store.updates == 1


def test_a_correction_is_refused_with_its_code(desk1, village_a1, vaccinator, cdc, endpoint):
    (dose,) = give(desk1, village_a1, vaccinator, 1)
    recorded = clock.now() - dt.timedelta(minutes=30)
    Dose.objects.filter(pk=dose.pk).update(recorded_at=recorded)
    dose.refresh_from_db()
    with pytest.raises(PermissionDenied):
        clinic_services.dose_correct(
            actor=vaccinator, dose_id=dose.pk, reason="时间有误", injection_site="右"
        )
    cases = [
        ({"given_at": dose.given_at}, ClinicErrorCode.DOSE_CORRECTION_EMPTY),
        ({"given_at": clock.now() + dt.timedelta(hours=1)}, ClinicErrorCode.DOSE_IN_FUTURE),
        ({"given_at": recorded + dt.timedelta(seconds=1)}, ClinicErrorCode.DOSE_CORRECTION_AFTER_RECORD),
    ]
    for fields, code in cases:
        with pytest.raises(ValidationFailed) as e:
            clinic_services.dose_correct(actor=cdc, dose_id=dose.pk, reason="时间有误", **fields)
        assert e.value.code == code
    assert _kinds(endpoint) == ["create"]
