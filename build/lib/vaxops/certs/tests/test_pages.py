"""The pages and the API: the resident's link, the staff page, the public verifier and the lists."""

import json

from vaxops.certs import selectors, services
from vaxops.clinic import services as clinic
from vaxops.core.actors import SystemActor


def _token(person) -> str:
    return clinic.record_link_token(
        clinic.record_link_issue(actor=SystemActor("t"), resident=person, channel="staff")
    )


def _post_json(client, path, data, **headers):
    return client.post(path, json.dumps(data), content_type="application/json", **headers)


def test_the_resident_sees_their_certificate_through_the_private_link(client, vaccinated, signing_key):
    person, dose = vaccinated
    token = _token(person)

    # a GET never writes: it offers the certificate, which a POST issues
    first = client.get(f"/certs/{token}/")
    assert first.status_code == 200 and 'id="issue"' in first.content.decode()
    assert person.vaccination_certificates.count() == 0
    assert client.get(f"/certs/{token}/certificate.pdf").status_code == 404
    assert person.vaccination_certificates.count() == 0
    issued = client.post(f"/certs/{token}/")
    assert issued.status_code == 302 and issued["Location"] == f"/certs/{token}/"

    r = client.get(f"/certs/{token}/")

    assert r.status_code == 200 and r["Cache-Control"].startswith("max-age=0")
    html = r.content.decode()
    cert = selectors.certificate_latest(resident=person)
    assert "新冠病毒疫苗接种凭证" in html and "COVID-19 Vaccination Certificate" in html
    assert "王小明" in html and "WANG&lt;XIAOMING" in html and cert.uvci in html
    assert (
        "<svg" in html and "第2剂 / 共2剂" in html and "Dose 2 of 2" in html and dose.lot.lot_number in html
    )
    assert person.id_number not in html and person.id_number[:6] + "********" in html
    # the same certificate on a second visit, and on a second POST
    client.get(f"/certs/{token}/")
    client.post(f"/certs/{token}/")
    assert person.vaccination_certificates.count() == 1

    pdf = client.get(f"/certs/{token}/certificate.pdf")
    assert (
        pdf.status_code == 200
        and pdf["Content-Type"] == "application/pdf"
        and pdf.content.startswith(b"%PDF")
    )


def test_a_forged_link_shows_nothing(client, vaccinated, signing_key):
    person, _ = vaccinated
    token = _token(person)
    assert client.get(f"/certs/{token[:-1]}x/").status_code == 404
    assert client.get(f"/certs/{token[:-1]}x/certificate.pdf").status_code == 404


def test_a_person_without_valid_doses_gets_a_message(client, county, village_a1, signing_key):
    from vaxops.clinic.tests.conftest import make_resident

    person = make_resident(village_a1.code, 5, "孙七")
    r = client.get(f"/certs/{_token(person)}/")
    assert r.status_code == 400 and "没有有效的新冠疫苗接种记录" in r.content.decode()


def test_staff_issue_print_and_revoke(client, vaccinated, signing_key, cdc, worker_b):
    person, _ = vaccinated
    client.force_login(cdc)
    url = f"/certs/residents/{person.pk}/"

    assert "尚无有效凭证" in client.get(url).content.decode()
    r = client.post(url, {"action": "issue"})
    assert r.status_code == 302
    cert = selectors.certificate_latest(resident=person)
    page = client.get(url).content.decode()
    assert cert.uvci in page and 'id="print"' in page
    pdf = client.get(f"/certs/residents/{person.pk}/certificates/{cert.pk}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    client.post(url, {"action": "revoke", "certificate": cert.pk, "reason": "信息有误"})
    cert.refresh_from_db()
    assert cert.revoke_reason == "信息有误"

    client.force_login(worker_b)  # another township: not in scope
    assert client.get(url).status_code == 404
    assert client.get(f"/certs/residents/{person.pk}/certificates/{cert.pk}.pdf").status_code == 404


def test_the_public_verifier_page(client, vaccinated, signing_key, cdc):
    person, _ = vaccinated
    cert = services.certificate_issue(actor=cdc, resident_id=person.pk)

    page = client.get("/verify/").content.decode()
    assert '<script src="/static/certs/verify.js" defer>' in page
    from pathlib import Path

    from django.contrib.staticfiles import finders

    script = Path(finders.find("certs/verify.js")).read_text(encoding="utf-8")
    assert "BarcodeDetector" in script and "此浏览器不支持摄像头扫码" in script

    ok = client.post("/verify/", {"hc1": cert.hc1}).content.decode()
    assert "有效 VALID" in ok and "王小明" in ok and "BBIBP-CorV" in ok and cert.uvci in ok

    bad = client.post("/verify/", {"hc1": cert.hc1[:60] + "%%" + cert.hc1[62:]}).content.decode()
    assert "无效 INVALID" in bad and 'id="reasons"' in bad

    clinic.dose_void(actor=cdc, dose_id=cert.latest_dose_id, reason="登记错人", disposition="wasted")
    revoked = client.post("/verify/", {"hc1": cert.hc1}).content.decode()
    assert "无效 INVALID" in revoked and "certificate revoked" in revoked


def test_published_lists(client, vaccinated, signing_key, cdc):
    person, _ = vaccinated
    cert = services.certificate_issue(actor=cdc, resident_id=person.pk)
    services.certificate_revoke(actor=cdc, certificate_id=cert.pk, reason="测试撤销")

    listed = client.get("/certs/revocations.json").json()
    assert listed["hashType"] == "UCI" and listed["hashes"] == [cert.uvci_hash]
    assert "测试撤销" not in json.dumps(listed, ensure_ascii=False)
    trust = client.get("/certs/trustlist.json").json()
    assert [c["kid"] for c in trust["certificates"]] == [signing_key.kid]


def test_api(client, vaccinated, signing_key, cdc):
    person, _ = vaccinated
    client.force_login(cdc)
    r = _post_json(client, f"/api/v1/certs/residents/{person.pk}/issue", {}, HTTP_IDEMPOTENCY_KEY="k1")
    assert r.status_code == 200, r.content
    issued = r.json()
    again = _post_json(
        client, f"/api/v1/certs/residents/{person.pk}/issue", {}, HTTP_IDEMPOTENCY_KEY="k1"
    ).json()
    assert again["uvci"] == issued["uvci"]
    client.logout()

    r = _post_json(client, "/api/v1/certs/verify", {"hc1": issued["hc1"]})
    assert (
        r.status_code == 200
        and r.json()["valid"]
        and set(r.json())
        == {"valid", "decoded", "signature_valid", "expired", "schema_valid", "payload", "reasons"}
    )
    r = _post_json(client, "/api/v1/certs/verify", {"hc1": issued["hc1"], "at": "2099-01-01T00:00:00+08:00"})
    assert r.json()["expired"] and not r.json()["valid"]

    assert client.get("/api/v1/certs/trustlist").json()["certificates"][0]["kid"] == signing_key.kid
    assert client.get("/api/v1/certs/revocations").json()["hashes"] == []
    r = _post_json(client, f"/api/v1/certs/residents/{person.pk}/issue", {})
    assert r.status_code in (401, 403)


def test_staff_send_the_private_link_to_the_phone(client, vaccinated, signing_key, cdc):
    from vaxops.notify.models import Notification

    person, _ = vaccinated
    client.force_login(cdc)
    r = client.post(f"/certs/residents/{person.pk}/", {"action": "send"})
    assert r.status_code == 302
    sms = Notification.objects.get(template="certificate_link")
    import re

    token = re.search(r"/certs/([^/\s]+)/", sms.text).group(1)
    assert clinic.record_link_from_token(token).resident == person
    assert sms.phone == person.phone and person.id_number not in sms.text
    assert client.get(f"/certs/{token}/").status_code == 200


def test_the_api_is_in_the_openapi_document(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/certs/verify",
        "/api/v1/certs/residents/{resident_id}/issue",
        "/api/v1/certs/trustlist",
        "/api/v1/certs/revocations",
    ):
        assert path in paths


def test_garbage_is_refused_plainly_and_never_called_unexpired(client, db):
    page = client.post("/verify/", {"hc1": "hello, this is not a certificate"}).content.decode()
    assert "无法识别" in page and 'id="reasons"' in page
    assert "未过期" not in page and "not expired" not in page
    assert 'id="checks"' not in page  # no signature, expiry or schema lines for what was never read


def test_the_verifier_puts_the_verdict_first_and_the_holder_under_the_vaccine(
    client, vaccinated, signing_key, cdc
):
    person, _ = vaccinated
    cert = services.certificate_issue(actor=cdc, resident_id=person.pk)
    page = client.post("/verify/", {"hc1": cert.hc1}).content.decode()
    assert page.index('id="verdict"') < page.index('id="scan"') < page.index('id="hc1"')
    vaccination = page[page.index('id="vaccination"') :]
    assert "上市许可持有人" in vaccination.split("</dl>")[0]
    assert "持有人" not in page[page.index('id="person"') :].split("</dl>")[0]
