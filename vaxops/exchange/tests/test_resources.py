"""The resources are R4 (fhir.resources' R4B models) and carry what the issue asks, nothing more."""

import datetime as dt

import pytest

from vaxops.exchange import resources as r

PERSON = r.PersonRow(
    7, "resident_id", "330102198005010011", "王小明", "M", dt.date(1980, 5, 1), "330199001001"
)
SITE = r.SiteRow("S1", "甲镇卫生院接种门诊", "330199001000", "甲镇路1号")
GIVEN = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
DOSE = r.DoseRow(
    dose_id=42,
    resident_id=7,
    product_code="SINOVAC",
    product_name="新冠病毒灭活疫苗",
    eu_product="EU/1/20/1528",
    given_on=dt.date(2026, 3, 2),
    given_at=GIVEN,
    recorded_at=GIVEN + dt.timedelta(minutes=1),
    lot_number="L2026",
    expiry=dt.date(2027, 1, 31),
    trace_code="81234567890123456789",
    site_code="S1",
    site_name="甲镇卫生院接种门诊",
    vaccinator="接种员甲",
    injection_site="左上臂三角肌",
    dose_number=2,
    is_booster=False,
    voided=False,
)


def test_the_models_are_r4_not_the_default_r5():
    from fhir.resources.immunization import Immunization as R5Immunization

    assert r.MODELS["Immunization"].__module__ == "fhir.resources.R4B.immunization"
    imm = r.immunization(DOSE, patient_ref="urn:uuid:p")
    r.validated(imm)
    # R5 replaced protocolApplied.doseNumberPositiveInt by doseNumber: our R4 resource is no R5 resource.
    with pytest.raises(ValueError):
        R5Immunization.model_validate(imm)


def test_an_immunization_carries_the_dose_and_validates():
    imm = r.validated(
        r.immunization(
            DOSE, patient_ref="urn:uuid:p", profile="https://example.org/fhir/StructureDefinition/imm"
        )
    )
    assert imm["status"] == "completed"
    assert {"system": r.SYSTEM_DOSE, "value": "42"} in imm["identifier"]
    assert {"system": r.SYSTEM_TRACE_CODE, "value": "81234567890123456789"} in imm["identifier"]
    assert imm["vaccineCode"]["coding"][0] == {
        "system": r.SYSTEM_PRODUCT,
        "code": "SINOVAC",
        "display": "新冠病毒灭活疫苗",
    }
    assert imm["vaccineCode"]["coding"][1]["code"] == "EU/1/20/1528"
    assert imm["lotNumber"] == "L2026" and imm["expirationDate"] == "2027-01-31"
    assert imm["occurrenceDateTime"] == "2026-03-02T02:00:00+00:00"
    assert imm["protocolApplied"] == [{"doseNumberPositiveInt": 2}]
    assert imm["location"]["reference"] == r.urn("Location", "S1")
    assert imm["performer"][0]["actor"]["reference"] == r.urn("Organization", "S1")
    assert imm["performer"][1]["actor"]["display"] == "接种员甲"
    assert imm["meta"]["profile"] == ["https://example.org/fhir/StructureDefinition/imm"]


def test_a_voided_dose_is_entered_in_error_with_its_reason():
    from dataclasses import replace

    imm = r.validated(
        r.immunization(replace(DOSE, voided=True, void_reason="录入错误"), patient_ref="urn:uuid:p")
    )
    assert imm["status"] == "entered-in-error"
    assert imm["statusReason"] == {"text": "录入错误"}


def test_the_patient_has_only_what_the_receiver_needs():
    p = r.validated(r.patient(PERSON))
    assert set(p) == {"resourceType", "identifier", "name", "gender", "birthDate", "address"}
    assert p["identifier"] == [{"system": r.id_document_system("resident_id"), "value": "330102198005010011"}]
    assert p["gender"] == "male" and p["birthDate"] == "1980-05-01"
    assert p["address"] == [{"extension": [{"url": r.EXT_DIVISION, "valueCode": "330199001001"}]}]


def test_the_site_is_a_location_and_an_organization():
    loc = r.validated(r.location(SITE))
    org = r.validated(r.organization(SITE))
    assert loc["identifier"] == org["identifier"] == [{"system": r.SYSTEM_SITE, "value": "S1"}]
    assert loc["managingOrganization"]["reference"] == r.urn("Organization", "S1")


def test_an_adverse_event_validates():
    report = r.ReportRow(
        report_id=1,
        number="AEFI-2026-0001",
        dose_id=42,
        resident_id=7,
        onset_at=GIVEN,
        discovered_at=GIVEN,
        reported_at=GIVEN,
        signs=("发热",),
        description="38.9℃",
        serious=False,
        outcome="recovered",
        classification="common",
        status="classified",
    )
    ae = r.validated(r.adverse_event(report, patient_ref="urn:uuid:p", dose_ref=r.urn("Immunization", "42")))
    assert ae["actuality"] == "potential" and ae["event"]["text"] == "发热：38.9℃"
    assert ae["seriousness"]["coding"][0]["code"] == "non-serious"
    assert ae["outcome"]["coding"][0]["code"] == "resolved"
    assert ae["suspectEntity"][0]["causality"][0]["assessment"]["coding"][0]["code"] == "common"


def test_a_code_state_is_a_valid_medication_without_a_person():
    code = r.CodeRow(
        1,
        "81234567890123456789",
        "BBIBP-CorV",
        "国药北京",
        "202105001",
        dt.date(2027, 5, 1),
        "S1",
        "门诊",
        42,
    )
    med = r.validated(r.code_medication(code, state="quarantined", at=GIVEN))
    assert med["status"] == "inactive" and med["batch"] == {
        "lotNumber": "202105001",
        "expirationDate": "2027-05-01",
    }
    assert [e["url"] for e in med["extension"]] == [r.EXT_CODE_STATE, r.EXT_CODE_STATE_AT, r.EXT_CODE_PLACE]
    administered = r.validated(r.code_medication(code, state="administered", at=GIVEN))
    assert administered["extension"][-1]["valueIdentifier"] == {"system": r.SYSTEM_DOSE, "value": "42"}


def test_a_transaction_uses_conditional_creates_and_each_person_once():
    from dataclasses import replace

    second = replace(DOSE, dose_id=43, dose_number=3)
    entries = r.dose_entries([(DOSE, "create"), (second, "void")], {7: PERSON}, {"S1": SITE})
    bundle = r.validated(r.transaction(entries))
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Patient", "Organization", "Location", "Immunization", "Immunization"]
    assert bundle["entry"][0]["request"]["ifNoneExist"] == r.patient_search(PERSON)
    assert bundle["entry"][3]["request"] == {
        "method": "POST",
        "url": "Immunization",
        "ifNoneExist": r.dose_search(42),
    }
    assert bundle["entry"][4]["request"] == {"method": "PUT", "url": f"Immunization?{r.dose_search(43)}"}


def test_the_traceability_platform_gets_no_person():
    entries = r.dose_entries([(DOSE, "create")], {7: PERSON}, {"S1": SITE}, with_patient=False)
    r.validated(r.transaction(entries))
    assert [e["resource"]["resourceType"] for e in entries] == ["Immunization"]
    assert "王小明" not in str(entries)


def test_an_invalid_resource_is_refused_with_the_path():
    bad = r.immunization(DOSE, patient_ref="urn:uuid:p")
    bad["occurrenceDateTime"] = "yesterday"
    errors = r.validation_errors(bad)
    assert errors and "occurrenceDateTime" in errors[0]
    with pytest.raises(ValueError):
        r.validated(bad)
    assert r.validation_errors({"resourceType": "Spaceship"}) == ["不支持的资源类型：Spaceship"]


def test_an_operation_outcome_reads_in_chinese():
    text = r.outcome_zh(r.operation_outcome("business-rule", "site not registered"))
    assert text == "错误：违反业务规则（business-rule）：site not registered"


def test_the_forecast_recommendation_is_built_on_the_r4_models():
    import inspect

    from fhir.resources.R4B.immunizationrecommendation import ImmunizationRecommendation

    from vaxops.catalog.domain import formats
    from vaxops.catalog.tests.test_domain_schedule import D0, run

    assert "ImmunizationRecommendation(" in inspect.getsource(formats.to_fhir_recommendation)
    resource = formats.to_fhir_recommendation(run([], D0), patient_ref="Patient/1")
    ImmunizationRecommendation.model_validate(resource)
    assert resource["recommendation"][0]["doseNumberPositiveInt"] == 1
    assert resource["date"] == D0.isoformat()


def test_a_safety_report_becomes_a_valid_adverse_event(desk1, village_a1, vaccinator, cdc):
    from vaxops.core import clock
    from vaxops.exchange import selectors
    from vaxops.exchange.tests.conftest import give
    from vaxops.safety import services as safety

    (dose,) = give(desk1, village_a1, vaccinator, 1)
    report = safety.report_create(
        actor=cdc, dose=dose, source="county", onset_at=clock.now(), signs=["发热"], reporter_name="县疾控"
    )
    bundle = selectors.adverse_event_bundle(report_id=report.pk)
    patient, imm, event = (e["resource"] for e in bundle["entry"])
    assert event["resourceType"] == "AdverseEvent" and event["identifier"]["value"] == report.number
    assert event["subject"]["reference"] == bundle["entry"][0]["fullUrl"]
    assert event["suspectEntity"][0]["instance"]["reference"] == bundle["entry"][1]["fullUrl"]
    assert imm["lotNumber"] == desk1.lot.lot_number and "发热" in event["event"]["text"]


def _mutations():
    """Resources that differ from valid ones in one element each: a sub-element broken several ways, and the
    same broken element next to the same element valid (each validated alone by its model, memo or not)."""
    good = r.immunization(DOSE, patient_ref="urn:uuid:p")
    yield good, True
    for path, value in (
        (("vaccineCode", "coding", 0, "system"), 7),
        (("vaccineCode", "coding", 0, "spaceship"), "x"),
        (("identifier", 0, "value"), ["42"]),
        (("performer", 0, "actor"), "text where a Reference goes"),
        (("protocolApplied", 0, "doseNumberPositiveInt"), 0),
        (("protocolApplied", 0, "doseNumberPositiveInt"), "two"),
        (("patient",), None),
        (("status",), 5),
        (("vaccineCode", "coding"), [None]),
        (("location",), {"reference": "urn:uuid:l", "display": 3}),
    ):
        import copy

        bad = copy.deepcopy(good)
        target = bad
        for key in path[:-1]:
            target = target[key]
        if value is None:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        yield bad, False
        yield good, True  # the valid element again, after its broken twin


def test_every_resource_is_still_checked_the_way_one_model_call_would():
    from fhir.resources.R4B.immunization import Immunization

    r._ELEMENTS.clear()
    for resource, valid in _mutations():
        try:
            Immunization.model_validate(resource)
            whole = True
        except ValueError:
            whole = False
        assert whole is valid, resource
        assert (r.validation_errors(resource) == []) is valid, resource
    # A broken resource still gets the library's errors with their full paths.
    bad = r.immunization(DOSE, patient_ref="urn:uuid:p")
    bad["protocolApplied"][0]["doseNumberPositiveInt"] = 0
    assert any(e.startswith("protocolApplied.0.doseNumberPositiveInt") for e in r.validation_errors(bad))


def test_the_element_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(r, "ELEMENTS_KEPT", 5)
    r._ELEMENTS.clear()
    for i in range(20):
        person = r.PersonRow(i, "resident_id", f"3301021980050100{i:02d}", "王", "F", None, "")
        assert r.validation_errors(r.patient(person)) == []
        assert len(r._ELEMENTS) <= 5
