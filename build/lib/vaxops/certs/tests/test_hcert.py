"""Sign → encode → decode → verify, and every way a string can fail, without the database."""

import base64
import datetime as dt
import io
import json
import zlib

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives import serialization

from vaxops.certs import document, domain, hcert

NOW = dt.datetime(2022, 3, 1, 8, 0, tzinfo=dt.UTC)


def _signer(cn="VaxOps DSC test", now=NOW - dt.timedelta(days=1), days=730):
    key, cert = hcert.keypair_generate(
        common_name=cn, organisation="清溪县疾病预防控制中心", now=now, days=days
    )
    return hcert.Signer(key, cert)


def _payload(name="张三丰", ci=None):
    return domain.payload_build(
        name=domain.transliterate_name(name),
        birth_date=dt.date(1980, 5, 1),
        vaccination=domain.Vaccination(
            mp="BBIBP-CorV", ma="ORG-100020693", vp="1157024006", dn=2, sd=2, date=dt.date(2021, 6, 1)
        ),
        issuer="清溪县疾病预防控制中心 / Qingxi County CDC",
        uvci=ci or domain.uvci_make(issuer="QXCDC", unique=domain.uvci_unique()),
    )


@pytest.fixture(scope="module")
def signer():
    return _signer()


@pytest.fixture(scope="module")
def hc1(signer):
    return signer.sign(_payload(), issued_at=NOW, expires_at=NOW + dt.timedelta(days=365))


def test_round_trip(signer, hc1):
    v = hcert.verify(hc1, trust=hcert.TrustStore.of([signer.certificate]), at=NOW + dt.timedelta(days=1))
    assert v.valid and v.as_dict()["reasons"] == []
    assert v.as_dict()["payload"]["nam"]["fnt"] == "ZHANG"
    assert v.kid == hcert.kid_text(signer.kid) and v.issuer_country == "CN"
    assert (v.issued_at, v.expires_at) == (NOW, NOW + dt.timedelta(days=365))
    assert set(v.as_dict()) == {
        "valid",
        "decoded",
        "signature_valid",
        "expired",
        "schema_valid",
        "payload",
        "reasons",
    }


def test_the_encoding_is_hcert(signer, hc1):
    """HC1: + Base45 of zlib of a tagged COSE_Sign1 (ES256, kid in the protected header) over a CWT."""
    assert hc1.startswith("HC1:")
    raw = base45.b45decode(hc1[4:])
    assert raw[:1] == b"\x78"  # zlib
    sign1 = cbor2.loads(zlib.decompress(raw))
    assert sign1.tag == 18 and len(sign1.value) == 4
    protected = cbor2.loads(sign1.value[0])
    assert protected == {1: -7, 4: signer.kid}
    from cryptography import x509

    der = signer.certificate.public_bytes(serialization.Encoding.DER)
    import hashlib

    assert signer.kid == hashlib.sha256(der).digest()[:8] and isinstance(signer.certificate, x509.Certificate)
    claims = cbor2.loads(sign1.value[2])
    assert claims[1] == "CN" and claims[6] == int(NOW.timestamp()) and claims[4] > claims[6]
    assert claims[-260][1]["v"][0]["tg"] == "840539006"
    assert len(sign1.value[3]) == 64  # raw r||s of ES256


def _resign_without_key(hc1: str, change) -> str:
    """Decode, change the claims, and put the old signature back (what a forger can do)."""
    sign1 = cbor2.loads(zlib.decompress(base45.b45decode(hc1[4:])))
    claims = cbor2.loads(sign1.value[2])
    change(claims)
    sign1.value[2] = cbor2.dumps(claims)
    return "HC1:" + base45.b45encode(zlib.compress(cbor2.dumps(sign1))).decode()


def test_a_tampered_payload_fails_the_signature(signer, hc1):
    def later_dose(claims):
        claims[-260][1]["v"][0]["dn"] = 3
        claims[-260][1]["v"][0]["sd"] = 3

    forged = _resign_without_key(hc1, later_dose)
    v = hcert.verify(forged, trust=hcert.TrustStore.of([signer.certificate]), at=NOW)
    assert v.decoded and not v.signature_valid and not v.valid
    assert v.reasons == [
        "签名无效：内容被改动或与签名密钥不符 / invalid signature: altered content or wrong key"
    ]


def test_a_damaged_string_is_not_decoded(signer, hc1):
    damaged = hc1[:40] + ("A" if hc1[40] != "A" else "B") + hc1[41:]
    v = hcert.verify(damaged, trust=hcert.TrustStore.of([signer.certificate]), at=NOW)
    assert not v.decoded and not v.valid and v.reasons
    assert not hcert.verify("HELLO", trust=hcert.TrustStore(), at=NOW).decoded
    assert "HC1" in hcert.verify("HELLO", trust=hcert.TrustStore(), at=NOW).reasons[0]


def test_an_untrusted_key_is_rejected(hc1):
    other = _signer("someone else")
    v = hcert.verify(hc1, trust=hcert.TrustStore.of([other.certificate]), at=NOW)
    assert v.decoded and not v.signature_valid and not v.valid
    assert "signing key not trusted" in v.reasons[0]


def test_a_same_kid_with_another_key_fails(signer, hc1):
    """A certificate is trusted only by its own kid: another key under a copied kid cannot verify."""
    other = _signer("impostor")
    store = hcert.TrustStore(by_kid={signer.kid: other.certificate})
    v = hcert.verify(hc1, trust=store, at=NOW)
    assert not v.signature_valid


def test_expired_at_the_clock(signer, hc1):
    v = hcert.verify(hc1, trust=hcert.TrustStore.of([signer.certificate]), at=NOW + dt.timedelta(days=366))
    assert v.expired and v.signature_valid and not v.valid
    assert v.reasons[0].startswith("证书已于 2023-03-01 08:00 UTC 过期")
    early = hcert.verify(hc1, trust=hcert.TrustStore.of([signer.certificate]), at=NOW - dt.timedelta(days=2))
    assert not early.valid and early.not_yet_valid


def test_the_signing_certificate_must_be_valid_at_issue_time():
    short = _signer("short-lived", now=NOW - dt.timedelta(days=30), days=10)  # expired before NOW
    text = short.sign(_payload(), issued_at=NOW, expires_at=NOW + dt.timedelta(days=365))
    v = hcert.verify(text, trust=hcert.TrustStore.of([short.certificate]), at=NOW)
    assert not v.signature_valid and "不在签名证书有效期内" in v.reasons[0]


def test_revoked_by_uvci_hash():
    signer = _signer()
    uvci = domain.uvci_make(issuer="QXCDC", unique="REVOKEDREVOKED22")
    text = signer.sign(_payload(ci=uvci), issued_at=NOW, expires_at=NOW + dt.timedelta(days=365))
    revoked = hcert.RevocationList.parse(json.dumps({"hashes": [domain.uvci_hash(uvci)]}))
    v = hcert.verify(
        text, trust=hcert.TrustStore.of([signer.certificate]), at=NOW, is_revoked=revoked.is_revoked
    )
    assert (
        v.revoked and not v.valid and v.reasons == [f"证书已被撤销（{uvci}）/ certificate revoked ({uvci})"]
    )
    assert hcert.RevocationList.parse(uvci + "\n").is_revoked(uvci)
    assert not hcert.RevocationList.parse("{}").is_revoked(uvci)


def test_a_certificate_of_another_issuer_is_read_and_verified():
    """Another country's DCC (test entry, German issuer, its own key) given through its certificate."""
    key, cert = hcert.keypair_generate(
        common_name="DSC DE test", country="DE", now=NOW - dt.timedelta(days=5)
    )
    other = hcert.Signer(key, cert, issuer_country="DE")
    payload = {
        "ver": "1.3.0",
        "nam": {"fn": "Musterfrau", "fnt": "MUSTERFRAU", "gn": "Erika", "gnt": "ERIKA"},
        "dob": "1964-08-12",
        "v": [
            {
                "tg": "840539006",
                "vp": "1119349007",
                "mp": "EU/1/20/1528",
                "ma": "ORG-100030215",
                "dn": 3,
                "sd": 3,
                "dt": "2021-12-01",
                "co": "DE",
                "is": "Robert Koch-Institut",
                "ci": "URN:UVCI:01DE/IZ12345A/5CWLU12RNOB9RXSEOP6FG8#W",
            }
        ],
    }
    text = other.sign(payload, issued_at=NOW, expires_at=NOW + dt.timedelta(days=270))
    v = hcert.verify(
        text, trust=hcert.TrustStore.of(hcert.certificates_parse(hcert.certificate_pem(cert))), at=NOW
    )
    assert v.valid, v.reasons
    assert v.issuer_country == "DE" and v.payload["v"][0]["mp"] == "EU/1/20/1528"


def test_trust_files_in_pem_der_base64_and_json(signer, hc1):
    other = _signer("another")
    pem = (hcert.certificate_pem(other.certificate) + hcert.certificate_pem(signer.certificate)).encode()
    der = signer.certificate.public_bytes(serialization.Encoding.DER)
    b64_lines = "\n".join(
        base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
        for c in (other.certificate, signer.certificate)
    )
    b64_wrapped = "\n".join(
        base64.b64encode(der).decode()[i : i + 64] for i in range(0, len(base64.b64encode(der)), 64)
    )
    listed = json.dumps({"certificates": [{"rawData": base64.b64encode(der).decode()}]})
    for data in (pem, der, b64_lines, b64_wrapped, listed):
        store = hcert.TrustStore.of(hcert.certificates_parse(data))
        assert hcert.verify(hc1, trust=store, at=NOW).valid
    with pytest.raises(ValueError, match="PEM、DER 或 base64"):
        hcert.certificates_parse(b"not a certificate at all!")
    with pytest.raises(ValueError, match="为空"):
        hcert.certificates_parse(b"  ")


def test_der_trust_file_whose_last_byte_looks_like_white_space():
    """A DER certificate ends in signature bytes; one in ~40 ends in a byte that ``strip()`` would cut."""
    for _ in range(2000):
        key, cert = hcert.keypair_generate(common_name="edge", now=NOW)
        der = cert.public_bytes(serialization.Encoding.DER)
        if der[-1:].isspace():
            break
    else:  # pragma: no cover - 2,000 tries without one is ~1e-20
        pytest.fail("no certificate ending in a white-space byte was generated")
    assert hcert.certificates_parse(der)[0] == cert
    assert hcert.certificates_parse(der + b"\n")[0] == cert


def test_key_rotation_keeps_old_certificates_valid():
    old, new = _signer("2021 key"), _signer("2022 key")
    before = old.sign(_payload(), issued_at=NOW, expires_at=NOW + dt.timedelta(days=365))
    after = new.sign(_payload(), issued_at=NOW, expires_at=NOW + dt.timedelta(days=365))
    both = hcert.TrustStore.of([old.certificate, new.certificate])
    assert hcert.verify(before, trust=both, at=NOW).valid and hcert.verify(after, trust=both, at=NOW).valid
    assert not hcert.verify(before, trust=hcert.TrustStore.of([new.certificate]), at=NOW).valid


def test_the_qr_image_decodes_to_the_same_string(hc1):
    import zxingcpp
    from PIL import Image

    code = document.qr(hc1)
    assert code.error == "Q" and code.mode == "alphanumeric"
    image = Image.open(io.BytesIO(document.qr_png(hc1, scale=4)))
    found = zxingcpp.read_barcodes(image.convert("L"))
    assert [c.text for c in found] == [hc1]
    assert str(found[0].ec_level) in ("Q", "25%")
    svg = document.qr_svg(hc1)
    assert svg.startswith("<svg") and "<path" in svg


def test_another_issuers_rsa_pss_signature_with_kid_in_the_unprotected_header():
    """The DCC allows PS256 (RSA-PSS) and a kid in the unprotected header; some countries used both."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from cwt import COSE, COSEKey

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"), x509.NameAttribute(NameOID.COMMON_NAME, "DSC")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=90))
        .sign(key, hashes.SHA256())
    )
    kid = hcert.kid_of(cert)
    signing = COSEKey.from_pem(hcert.private_key_pem(key), alg="PS256", kid=kid)
    payload = {
        "ver": "1.3.0",
        "nam": {"fn": "Jansen", "fnt": "JANSEN"},
        "dob": "1970",
        "v": [
            {
                "tg": "840539006",
                "vp": "1119349007",
                "mp": "EU/1/20/1507",
                "ma": "ORG-100031184",
                "dn": 2,
                "sd": 2,
                "dt": "2021-07-01",
                "co": "NL",
                "is": "Ministry of Health, Welfare and Sport",
                "ci": "URN:UVCI:01:NL:187/37512422923#Z",
            }
        ],
    }
    claims = cbor2.dumps(
        {1: "NL", 6: int(NOW.timestamp()), 4: int(NOW.timestamp()) + 86400, -260: {1: payload}}
    )
    text = (
        "HC1:"
        + base45.b45encode(
            zlib.compress(COSE.new().encode(claims, signing, protected={1: -37}, unprotected={4: kid}))
        ).decode()
    )
    v = hcert.verify(text, trust=hcert.TrustStore.of([cert]), at=NOW)
    assert v.valid, v.reasons


def test_a_compression_bomb_is_refused():
    text = "HC1:" + base45.b45encode(zlib.compress(b"\x00" * 5_000_000, 9)).decode()
    v = hcert.verify(text, trust=hcert.TrustStore(), at=NOW)
    assert not v.decoded and "too large" in v.reasons[0]
