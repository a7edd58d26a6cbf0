"""Doses given elsewhere come in as FHIR (a Bundle through the API, Bulk Data files): matched by ID document,
stored as external doses with their source, de-duplicated, voided when the sender voids them, and sent to
review where the exchange would have to guess. The bulk export validates and reads back."""

import json

import pytest
from django.core.management import call_command

from vaxops.accounts.services import api_token_create
from vaxops.clinic.models import Dose
from vaxops.core.actors import SystemActor
from vaxops.exchange import bulk, resources
from vaxops.exchange.errors import ExchangeErrorCode
from vaxops.exchange.models import InboundDose, InboundReview

from .conftest import give


def _bundle(
    person, *, ident="d-1", product="CoronaVac", day="2026-06-01", status="completed", id_number=None
):
    p = {
        "resourceType": "Patient",
        "identifier": [
            {"system": resources.id_document_system("resident_id"), "value": id_number or person.id_number}
        ],
        "name": [{"text": person.name}],
    }
    imm = {
        "resourceType": "Immunization",
        "identifier": [{"system": "https://other-county.example/dose", "value": ident}],
        "status": status,
        "vaccineCode": {"coding": [{"system": resources.SYSTEM_PRODUCT, "code": product}]},
        "patient": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"},
        "occurrenceDateTime": f"{day}T09:30:00+08:00",
        "location": {"display": "邻县人民医院接种门诊"},
    }
    return {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111",
                "resource": p,
                "request": {"method": "POST", "url": "Patient"},
            },
            {"resource": imm, "request": {"method": "POST", "url": "Immunization"}},
        ],
    }


@pytest.fixture
def api(client, cdc):
    _, token = api_token_create(user=cdc, name="neighbour")

    def post(bundle, source="neighbour-county"):
        return client.post(
            f"/api/v1/exchange/bundle?source={source}",
            data=json.dumps(bundle),
            content_type="application/fhir+json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    return post


def test_a_dose_from_elsewhere_is_stored_once_as_an_external_dose(api, resident_a):
    first = api(_bundle(resident_a))
    assert first.status_code == 200, first.content
    assert first.json()["created"] == 1
    dose = Dose.objects.get(resident=resident_a)
    assert dose.external and dose.product_code == "CoronaVac" and str(dose.given_on) == "2026-06-01"
    assert dose.place == "邻县人民医院接种门诊（neighbour-county）"
    again = api(_bundle(resident_a))
    assert again.json()["duplicate"] == 1 and Dose.objects.filter(resident=resident_a).count() == 1
    void = api(_bundle(resident_a, status="entered-in-error"))
    assert void.json()["voided"] == 1
    dose.refresh_from_db()
    assert dose.voided_at is not None and "neighbour-county" in dose.void_reason


def test_an_unknown_person_and_a_conflict_go_to_review(api, resident_a, cdc, client):
    assert api(_bundle(resident_a, id_number="110101199001011234")).json()["review"] == 1
    assert api(_bundle(resident_a, ident="d-2", day="2026-06-02")).json()["created"] == 1
    conflict = api(_bundle(resident_a, ident="d-3", day="2026-06-02", product="BBIBP-CorV")).json()
    assert conflict["review"] == 1
    reasons = sorted(InboundReview.objects.values_list("reason", flat=True))
    assert reasons[0].startswith("与本地记录冲突：该居民2026-06-02已有CoronaVac")
    assert reasons[1] == "未找到证件号码对应的居民"
    assert Dose.objects.filter(resident=resident_a).count() == 1
    client.force_login(cdc)
    page = client.get("/exchange/reviews/")
    assert page.content.decode().count("data-review=") == 1  # the unmatched one has no village: outside scope
    review = InboundReview.objects.get(resident_id=resident_a.pk)
    client.post("/exchange/reviews/", {"review": review.pk, "do": "reject"})
    review.refresh_from_db()
    assert review.state == "rejected"


def test_an_invalid_bundle_is_refused_with_its_code(api, resident_a):
    bundle = _bundle(resident_a)
    bundle["entry"][1]["resource"]["occurrenceDateTime"] = "昨天"
    answer = api(bundle)
    assert answer.status_code == 400
    assert answer.json()["code"] == ExchangeErrorCode.BUNDLE_INVALID
    assert Dose.objects.count() == 0


def test_the_bulk_export_validates_and_reads_back_as_the_same_doses(
    desk1, village_a1, vaccinator, tmp_path, endpoint
):
    doses = give(desk1, village_a1, vaccinator, 3)
    out = tmp_path / "export"
    call_command("exchange", "export", "--since", str(desk1.session.day), "--out", str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    assert {o["type"]: o["count"] for o in manifest["output"]} == {
        "Patient": 3, "Location": 1, "Organization": 1, "Immunization": 3
    }  # fmt: skip
    for name in ("Patient", "Immunization", "Location", "Organization"):
        for r in bulk.read_ndjson(out / f"{name}.ndjson"):
            assert resources.validation_errors(r) == [], name
    imms = bulk.read_ndjson(out / "Immunization.ndjson")
    assert {i["id"] for i in imms} == {f"dose-{d.pk}" for d in doses}
    # Read back here: every dose is one we hold (same person, day and product): linked, nothing added.
    result = bulk.import_path(actor=SystemActor("test"), path=out, source="self")
    assert (result.created, result.duplicate, result.review) == (0, 3, 0)
    assert InboundDose.objects.count() == 3 and Dose.objects.count() == 3


def test_the_export_of_another_division_is_empty(desk1, village_a1, vaccinator, tmp_path):
    give(desk1, village_a1, vaccinator, 1)
    manifest = bulk.export(since=desk1.session.day, out=tmp_path, code_range=("330199002000", "330199002999"))
    assert {o["type"]: o["count"] for o in manifest["output"]}["Immunization"] == 0
