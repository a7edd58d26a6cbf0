"""Issuing from real dose records, revocation on void, key rotation in the database, and the CLI."""

import datetime as dt
import json
import os
import stat

import pytest
from django.core.management import call_command
from django.utils import timezone

from vaxops.audit.models import AuditEvent
from vaxops.certs import domain, hcert, selectors, services
from vaxops.certs.errors import CertsErrorCode
from vaxops.certs.models import SigningKey, VaccinationCertificate
from vaxops.clinic import services as clinic
from vaxops.clinic.models import Dose
from vaxops.core.actors import SystemActor
from vaxops.core.errors import CoreErrorCode
from vaxops.registry.errors import RegistryErrorCode
from vaxops.testing.refusals import refused


def _cli(*args) -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("cert", *args, stdout=out, stderr=StringIO())
    except SystemExit as e:
        return int(e.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_keygen_writes_a_0600_key_and_a_self_signed_certificate(signing_key, settings):
    path = signing_key.private_key_ref.removeprefix("file:")
    assert path.startswith(settings.VAXOPS_CERT_KEY_DIR)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert signing_key.active and "-----BEGIN CERTIFICATE-----" in signing_key.certificate_pem
    certificate = hcert.certificates_parse(signing_key.certificate_pem)[0]
    assert hcert.kid_text(hcert.kid_of(certificate)) == signing_key.kid
    assert AuditEvent.objects.filter(action="signing_key.register", object_id=str(signing_key.pk)).exists()


def test_issue_from_the_desk_record(vaccinated, signing_key, cdc):
    person, dose = vaccinated
    cert = services.certificate_issue(actor=cdc, resident_id=person.pk)

    assert domain.schema_check(cert.payload) == []
    v = cert.payload["v"][0]
    assert (v["mp"], v["ma"], v["vp"], v["dn"], v["sd"], v["co"]) == (
        "BBIBP-CorV",
        "ORG-100020693",
        "1157024006",
        2,
        2,
        "CN",
    )
    assert (
        v["dt"] == dose.given_on.isoformat() and v["ci"] == cert.uvci and domain.uvci_check(cert.uvci) == []
    )
    assert v["is"] == "清溪县疾病预防控制中心 / Qingxi County CDC"
    assert cert.payload["nam"] == {"fn": "王", "fnt": "WANG", "gn": "小明", "gnt": "XIAOMING"}
    assert cert.payload["dob"] == "1980-05-01"
    assert cert.latest_dose == dose and cert.doses.count() == 2 and cert.kid == signing_key.kid
    doc = cert.document
    assert doc["id_masked"].count("*") == 8 and person.id_number not in json.dumps(doc)
    desk_row = doc["doses"][1]
    assert desk_row["lot"] == dose.lot.lot_number and desk_row["place"] == dose.site.name
    assert desk_row["label"] == {"zh": "第2剂 / 共2剂", "en": "Dose 2 of 2"}
    assert doc["doses"][0]["external"] and doc["doses"][0]["lot"] == ""
    assert services.certificate_verify(text=cert.hc1).valid
    assert AuditEvent.objects.filter(action="certificate.issue", object_id=str(cert.pk)).exists()


def test_the_standing_certificate_is_returned_until_the_doses_change(vaccinated, signing_key, cdc):
    person, _ = vaccinated
    first = services.certificate_issue(actor=cdc, resident_id=person.pk)
    assert services.certificate_issue(actor=cdc, resident_id=person.pk) == first
    again = services.certificate_issue(actor=cdc, resident_id=person.pk, reissue=True)
    assert again != first and again.uvci != first.uvci


def test_scope_and_permission_are_checked(vaccinated, signing_key, worker_b, auditor):
    person, _ = vaccinated

    with refused(RegistryErrorCode.RESIDENT_NOT_FOUND):
        services.certificate_issue(actor=worker_b, resident_id=person.pk)
    with refused(CoreErrorCode.ROLE_FORBIDDEN):
        services.certificate_issue(actor=auditor, resident_id=person.pk)


def test_no_valid_dose_no_certificate(county, village_a1, cdc, signing_key):
    from vaxops.clinic.tests.conftest import make_resident

    person = make_resident(village_a1.code, 7, "李四")
    with refused(CertsErrorCode.CERT_NO_DOSES):
        services.certificate_issue(actor=cdc, resident_id=person.pk)


def test_zf2001_uses_the_documented_fallback_codes(county, village_a1, cdc, signing_key):
    from vaxops.clinic.tests.conftest import make_resident

    person = make_resident(village_a1.code, 8, "欧阳娜娜")
    for (days,) in ((120,), (90,), (60,)):
        Dose.objects.create(
            resident=person,
            product_code="ZF2001",
            given_on=timezone.localdate() - dt.timedelta(days=days),
            place="清溪县",
        )
    cert = services.certificate_issue(actor=cdc, resident_id=person.pk)
    v = cert.payload["v"][0]
    assert (v["mp"], v["ma"], v["vp"], v["dn"], v["sd"]) == ("NVSI-06-08", "NVSI", "1162643001", 3, 3)
    assert cert.payload["nam"]["fnt"] == "OUYANG" and cert.payload["nam"]["gnt"] == "NANA"
    assert cert.document["doses"][2]["product_en"].startswith("ZF2001")


def test_a_heterologous_booster_is_3_of_3(county, village_a1, cdc, signing_key):
    from vaxops.clinic.tests.conftest import make_resident

    person = make_resident(village_a1.code, 9, "赵六")
    today = timezone.localdate()
    for product, days in (("BBIBP-CorV", 300), ("BBIBP-CorV", 270), ("Convidecia", 10)):
        Dose.objects.create(
            resident=person, product_code=product, given_on=today - dt.timedelta(days=days), place="清溪县"
        )
    cert = services.certificate_issue(actor=cdc, resident_id=person.pk)
    v = cert.payload["v"][0]
    assert (v["mp"], v["ma"], v["vp"], v["dn"], v["sd"]) == (
        "Convidecia",
        "ORG-100013793",
        "29061000087103",
        3,
        3,
    )
    assert (
        cert.document["doses"][2]["booster"]
        and cert.document["doses"][2]["label"]["en"] == "Booster, dose 3 (3/3)"
    )


def test_voiding_a_desk_dose_revokes_the_certificate_and_publishes_it(vaccinated, signing_key, cdc, tmp_path):
    person, dose = vaccinated
    cert = services.certificate_issue(actor=cdc, resident_id=person.pk)
    assert services.certificate_verify(text=cert.hc1).valid

    clinic.dose_void(actor=cdc, dose_id=dose.pk, reason="登记错人", disposition="returned")

    cert.refresh_from_db()
    assert cert.revoked_at is not None and cert.revoke_reason == "接种记录作废：登记错人"
    published = selectors.revocation_list()
    assert domain.uvci_hash(cert.uvci) in published["hashes"] and cert.uvci not in json.dumps(published)
    verdict = services.certificate_verify(text=cert.hc1)
    assert verdict.revoked and not verdict.valid and verdict.signature_valid
    assert any("已被撤销" in r and "revoked" in r for r in verdict.reasons)
    assert AuditEvent.objects.filter(action="certificate.revoke", object_id=str(cert.pk)).count() == 1

    # offline, with the published list as a file
    (tmp_path / "revocations.json").write_text(json.dumps(published), encoding="utf-8")
    (tmp_path / "trust.pem").write_text(selectors.trustlist_pem(), encoding="utf-8")
    code, out = _cli(
        "verify",
        cert.hc1,
        "--trust",
        str(tmp_path / "trust.pem"),
        "--revocations",
        str(tmp_path / "revocations.json"),
        "--json",
    )
    assert code == 1 and json.loads(out)["valid"] is False and "revoked" in json.loads(out)["reasons"][0]

    # a new certificate leaves the voided dose out
    fresh = services.certificate_issue(actor=cdc, resident_id=person.pk)
    assert fresh.pk != cert.pk and list(fresh.doses.all()) == [
        d for d in Dose.objects.filter(resident=person, voided_at__isnull=True)
    ]


def test_a_dose_voided_by_save_also_revokes(vaccinated, signing_key, cdc):
    person, dose = vaccinated
    cert = services.certificate_issue(actor=cdc, resident_id=person.pk)
    first = Dose.objects.filter(resident=person, external=True).get()
    first.voided_at, first.void_reason = timezone.now(), "重复录入"
    first.save()
    cert.refresh_from_db()
    assert cert.revoked_at is not None and "重复录入" in cert.revoke_reason
    assert services.certificates_revoke_for_dose(first, "again") == 0  # idempotent


def test_revoke_by_hand(vaccinated, signing_key, cdc, worker_a):
    person, _ = vaccinated
    cert = services.certificate_issue(actor=cdc, resident_id=person.pk)
    with refused(CoreErrorCode.ROLE_FORBIDDEN):
        services.certificate_revoke(actor=worker_a, certificate_id=cert.pk, reason="测试")
    with refused(CoreErrorCode.REASON_REQUIRED):
        services.certificate_revoke(actor=cdc, certificate_id=cert.pk, reason="")
    code, out = _cli("revoke", cert.uvci, "--reason", "凭证遗失补发")
    assert code == 0 and "已撤销" in out
    assert VaccinationCertificate.objects.get(pk=cert.pk).revoke_reason == "凭证遗失补发"


def test_key_rotation_keeps_issued_certificates_valid(vaccinated, signing_key, cdc):
    person, _ = vaccinated
    old_cert = services.certificate_issue(actor=cdc, resident_id=person.pk)
    code, out = _cli("keygen", "--cn", "VaxOps DSC 2022")
    assert code == 0 and "kid" in out
    new_key = SigningKey.objects.get(active=True)
    assert new_key != signing_key
    signing_key.refresh_from_db()
    assert not signing_key.active and signing_key.retired_at is not None

    new_cert = services.certificate_issue(actor=cdc, resident_id=person.pk, reissue=True)
    assert new_cert.kid == new_key.kid and old_cert.kid == signing_key.kid
    assert services.certificate_verify(text=old_cert.hc1).valid
    assert services.certificate_verify(text=new_cert.hc1).valid
    assert {c["kid"] for c in selectors.trustlist()["certificates"]} == {signing_key.kid, new_key.kid}


def test_without_a_key_issuing_says_how_to_make_one(vaccinated, cdc, settings):
    settings.DEBUG = False
    person, _ = vaccinated
    with refused(CertsErrorCode.SIGNING_NOT_CONFIGURED):
        services.certificate_issue(actor=cdc, resident_id=person.pk)


def test_demo_mode_makes_a_key_on_first_use(vaccinated, cdc, settings):
    settings.DEBUG = True
    person, _ = vaccinated
    cert = services.certificate_issue(actor=cdc, resident_id=person.pk)
    assert SigningKey.objects.get().kid == cert.kid


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_issue_and_verify_json_shape(vaccinated, signing_key, tmp_path):
    person, _ = vaccinated
    code, out = _cli("issue", str(person.pk), "--json", "--qr-png", str(tmp_path / "qr.png"))
    issued = json.loads(out)
    assert code == 0 and issued["hc1"].startswith("HC1:") and issued["uvci"].startswith("URN:UVCI:01:CN:")

    code, out = _cli("verify", issued["hc1"], "--json")
    result = json.loads(out)
    assert code == 0
    assert set(result) == {
        "valid",
        "decoded",
        "signature_valid",
        "expired",
        "schema_valid",
        "payload",
        "reasons",
    }
    assert result | {"payload": None} == {
        "valid": True,
        "decoded": True,
        "signature_valid": True,
        "expired": False,
        "schema_valid": True,
        "payload": None,
        "reasons": [],
    }
    assert result["payload"] == issued["payload"]

    # the QR image scans back to the same string, and verifies
    code, out = _cli("verify", "--qr", str(tmp_path / "qr.png"), "--json")
    assert code == 0 and json.loads(out)["payload"]["v"][0]["ci"] == issued["uvci"]

    # expired at --at
    later = (timezone.now() + dt.timedelta(days=400)).date().isoformat()
    code, out = _cli("verify", issued["hc1"], "--at", later, "--json")
    result = json.loads(out)
    assert code == 1 and result["expired"] and not result["valid"] and "过期" in result["reasons"][0]

    # human output
    code, out = _cli("verify", issued["hc1"])
    assert code == 0 and "有效 VALID" in out and "WANG<XIAOMING" in out


def test_cli_verify_rejects_tampering_and_untrusted_keys(vaccinated, signing_key, tmp_path):
    person, _ = vaccinated
    _, out = _cli("issue", str(person.pk), "--json")
    text = json.loads(out)["hc1"]

    other_key, other_cert = hcert.keypair_generate(common_name="not ours", now=timezone.now())
    (tmp_path / "other.pem").write_text(hcert.certificate_pem(other_cert))
    code, out = _cli("verify", text, "--trust", str(tmp_path / "other.pem"), "--json")
    assert (
        code == 1
        and json.loads(out)["signature_valid"] is False
        and "not trusted" in json.loads(out)["reasons"][0]
    )

    import zlib

    import base45
    import cbor2

    sign1 = cbor2.loads(zlib.decompress(base45.b45decode(text[4:])))
    claims = cbor2.loads(sign1.value[2])
    claims[-260][1]["nam"]["gn"] = "大明"
    sign1.value[2] = cbor2.dumps(claims)
    forged = "HC1:" + base45.b45encode(zlib.compress(cbor2.dumps(sign1))).decode()
    code, out = _cli("verify", forged, "--json")
    assert (
        code == 1
        and json.loads(out)["signature_valid"] is False
        and "invalid signature" in json.loads(out)["reasons"][0]
    )


def test_cli_verify_accepts_another_issuer_given_as_pem_der_or_base64(tmp_path, db):
    from cryptography.hazmat.primitives import serialization

    key, cert = hcert.keypair_generate(common_name="Other county CDC DSC", now=timezone.now())
    signer = hcert.Signer(key, cert)
    payload = domain.payload_build(
        name=domain.transliterate_name("李雷"),
        birth_date=dt.date(1990, 1, 2),
        vaccination=domain.Vaccination(
            mp="CoronaVac", ma="Sinovac-Biotech", vp="1157024006", dn=1, sd=2, date=dt.date(2021, 5, 5)
        ),
        issuer="邻县疾病预防控制中心 / Neighbouring County CDC",
        uvci=domain.uvci_make(issuer="LXCDC", unique="ABC123"),
    )
    now = timezone.now()
    text = signer.sign(payload, issued_at=now, expires_at=now + dt.timedelta(days=30))
    der = cert.public_bytes(serialization.Encoding.DER)
    import base64

    files = {"pem": hcert.certificate_pem(cert).encode(), "der": der, "b64": base64.b64encode(der) + b"\n"}
    for kind, data in files.items():
        path = tmp_path / f"trust.{kind}"
        path.write_bytes(data)
        code, out = _cli("verify", text, "--trust", str(path), "--json")
        assert code == 0 and json.loads(out)["valid"], (kind, out)
    # not in our own trust list
    code, out = _cli("verify", text, "--json")
    assert code == 1 and not json.loads(out)["signature_valid"]


def test_cli_trustlist_formats(signing_key, tmp_path):
    code, out = _cli("trustlist")
    assert code == 0 and hcert.certificates_parse(out)
    code, out = _cli("trustlist", "--format", "json", "--out", str(tmp_path / "t.json"))
    doc = json.loads((tmp_path / "t.json").read_text())
    assert (
        doc["certificates"][0]["kid"] == signing_key.kid
        and doc["certificates"][0]["certificateType"] == "DSC"
    )
    assert len(hcert.certificates_parse((tmp_path / "t.json").read_bytes())) == 1


def test_cli_register_a_production_key_from_the_environment(db, tmp_path, monkeypatch):
    key, cert = hcert.keypair_generate(common_name="Production DSC", now=timezone.now())
    monkeypatch.setenv("VAXOPS_TEST_DSC_KEY", hcert.private_key_pem(key).decode())
    (tmp_path / "dsc.crt").write_text(hcert.certificate_pem(cert))
    code, out = _cli("register", "--cert", str(tmp_path / "dsc.crt"), "--key-ref", "env:VAXOPS_TEST_DSC_KEY")
    assert code == 0
    registered = SigningKey.objects.get(active=True)
    assert registered.private_key_ref == "env:VAXOPS_TEST_DSC_KEY"
    assert services.signer_for(registered).kid == hcert.kid_of(cert)
    code, out = _cli("keys")
    assert registered.kid in out


def test_cli_verify_needs_exactly_one_input(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="二者选一"):
        call_command("cert", "verify")


def test_system_actor_issues_through_cli_with_full_scope(vaccinated, signing_key):
    person, _ = vaccinated
    cert = services.certificate_issue(actor=SystemActor("cli:test"), resident_id=person.pk)
    assert cert.issued_via == "staff" and cert.issued_by is None


def test_a_compromised_signing_key_is_revoked_with_the_certificates_it_signed(vaccinated, signing_key, cdc):
    person, _ = vaccinated
    cert = services.certificate_issue(actor=cdc, resident_id=person.pk)
    assert services.certificate_verify(text=cert.hc1).valid

    code, out = _cli("key-revoke", signing_key.kid, "--reason", "私钥文件外泄")

    assert code == 0 and signing_key.kid in out and "1份凭证已撤销" in out
    key = SigningKey.objects.get(pk=signing_key.pk)
    assert key.revoked_at is not None and not key.active
    assert key.kid not in [k.kid for k in selectors.signing_keys_trusted()]
    cert.refresh_from_db()
    assert cert.revoked_at is not None and "私钥文件外泄" in cert.revoke_reason
    assert selectors.certificate_latest(resident=person) is None  # the resident's page issues a new one
    verdict = services.certificate_verify(text=cert.hc1)
    assert not verdict.valid and not verdict.signature_valid
    assert cert.uvci_hash in json.dumps(selectors.revocation_list())
    event = AuditEvent.objects.get(action="signing_key.revoke", object_id=str(key.pk))
    assert event.purpose == "私钥文件外泄" and event.new["certificates_revoked"] == 1
    # no signing key now: issuing says so; a new key signs again and the old one stays out
    with refused(CertsErrorCode.SIGNING_NOT_CONFIGURED):
        services.certificate_issue(actor=cdc, resident_id=person.pk)
    services.signing_key_generate(actor=SystemActor("test"), common_name="VaxOps DSC 2")
    again = services.certificate_issue(actor=cdc, resident_id=person.pk)
    assert again.kid != key.kid and services.certificate_verify(text=again.hc1).valid


def test_revoking_a_key_twice_or_without_a_reason_is_refused(signing_key):
    with refused(CoreErrorCode.REASON_REQUIRED):
        services.signing_key_revoke(actor=SystemActor("test"), kid=signing_key.kid, reason=" ")
    services.signing_key_revoke(actor=SystemActor("test"), kid=signing_key.kid, reason="轮换后销毁")
    with refused(CertsErrorCode.SIGNING_KEY_REVOKED):
        services.signing_key_revoke(actor=SystemActor("test"), kid=signing_key.kid, reason="再次")

    with refused(CertsErrorCode.SIGNING_KEY_NOT_FOUND):
        services.signing_key_revoke(actor=SystemActor("test"), kid="nope", reason="没有这个")


def test_a_key_is_valid_from_the_projects_clock_not_the_machines(db, monkeypatch):
    """Tests and demos pin the clock (e.g. at 10:00 today); a key made then must already be valid then."""
    pinned = timezone.now() - dt.timedelta(hours=14)
    monkeypatch.setattr(timezone, "now", lambda: pinned)

    key = services.signing_key_generate(actor=SystemActor("test"), common_name="pinned clock")

    assert key.not_before <= pinned < key.not_after
