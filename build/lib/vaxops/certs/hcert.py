"""HCERT: sign a DCC payload into an ``HC1:`` string, and read and verify one (ours or anyone's).

CBOR Web Token (claims ``iss`` 1, ``iat`` 6, ``exp`` 4, ``hcert`` -260 → {1: DCC}) → COSE_Sign1 (ES256,
``kid`` = first 8 bytes of SHA-256 of the DER signing certificate, in the protected header) → zlib →
Base45 → ``HC1:``. CBOR by ``cbor2``, COSE by ``cwt``, Base45 by ``base45``, keys and X.509 by
``cryptography``. No Django here: the caller passes the trusted certificates, the clock and the
revocation test.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import base45
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from . import domain

PREFIX = "HC1:"
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_HCERT = 1, 4, 6, -260
HEADER_ALG, HEADER_KID = 1, 4
ALG_ES256, ALG_PS256 = -7, -37
COSE_SIGN1_TAG, CWT_TAG = 18, 61
# Extended key usages of DCC signing certificates (the eHN OIDs): may sign test / vaccination / recovery.
EKU_VACCINATION = x509.ObjectIdentifier("1.3.6.1.4.1.1847.2021.1.2")
CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_INFLATED = 64 * 1024  # a real HCERT inflates to well under 2 KB


# --------------------------------------------------------------------------------------------------
# Keys and certificates
# --------------------------------------------------------------------------------------------------


def kid_of(certificate: x509.Certificate) -> bytes:
    """The DCC key identifier: the first 8 bytes of SHA-256 of the certificate's DER."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()[:8]


def kid_text(kid: bytes) -> str:
    return base64.b64encode(kid).decode("ascii")


def keypair_generate(
    *,
    common_name: str,
    organisation: str = "",
    country: str = domain.DEFAULT_COUNTRY,
    days: int = 730,
    now: dt.datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A P-256 document-signing key and a self-signed certificate for it (the demo's DSC), valid from ``now``
    (the caller's clock: ``vaxops.core.clock.now()`` in the product)."""
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, country)]
    if organisation:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64]))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]))
    name = x509.Name(attrs)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([EKU_VACCINATION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def private_key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _valid_from(certificate: x509.Certificate) -> dt.datetime:
    return certificate.not_valid_before_utc


def _valid_to(certificate: x509.Certificate) -> dt.datetime:
    return certificate.not_valid_after_utc


def _der_sequence(raw: bytes) -> bytes | None:
    """The one DER SEQUENCE at the start of ``raw``, cut at its own length (a certificate's last bytes
    may look like white space, so the file cannot simply be stripped), or None when ``raw`` is not one
    followed only by white space."""
    if len(raw) < 2 or raw[0] != 0x30:
        return None
    first = raw[1]
    if first < 0x80:
        start, length = 2, first
    else:
        width = first & 0x7F
        if not 1 <= width <= 4 or len(raw) < 2 + width:
            return None
        start, length = 2 + width, int.from_bytes(raw[2 : 2 + width], "big")
    end = start + length
    if len(raw) < end or raw[end:].strip():
        return None
    return raw[:end]


def certificates_parse(data: bytes | str) -> list[x509.Certificate]:
    """X.509 certificates from a trust file: PEM (one or many), DER (one), bare base64 DER (one per
    line, or one spread over lines), or a JSON trust list (``{"certificates": [{"rawData": …}]}``, or a
    list of such objects). Raises ``ValueError`` with a bilingual message."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    stripped = raw.strip()
    if not stripped:
        raise ValueError("信任文件为空 / the trust file is empty")
    if b"-----BEGIN CERTIFICATE-----" in stripped:
        try:
            return x509.load_pem_x509_certificates(stripped)
        except ValueError as e:
            raise ValueError(f"PEM 证书无法读取 / unreadable PEM certificate: {e}") from None
    if stripped[:1] in (b"{", b"["):
        try:
            doc = json.loads(stripped)
        except ValueError:
            pass
        else:
            entries = doc.get("certificates", []) if isinstance(doc, dict) else doc
            blobs = [e.get("rawData") or e.get("raw_data") or "" for e in entries if isinstance(e, dict)]
            if not blobs:
                raise ValueError("JSON 信任列表中没有证书 / no certificates in the JSON trust list")
            return [_der(base64.b64decode(b)) for b in blobs]
    der = _der_sequence(raw.lstrip())
    if der is not None:
        try:
            return [x509.load_der_x509_certificate(der)]
        except ValueError:
            pass
    try:
        text = stripped.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError(
            "信任文件不是 PEM、DER 或 base64 格式 / the trust file is not PEM, DER or base64"
        ) from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    try:
        return [_der(base64.b64decode(ln, validate=True)) for ln in lines]
    except ValueError:
        try:
            return [_der(base64.b64decode("".join(lines), validate=True))]
        except ValueError:
            raise ValueError(
                "信任文件不是 PEM、DER 或 base64 格式 / the trust file is not PEM, DER or base64"
            ) from None


def _der(blob: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(blob)
    except ValueError as e:
        raise ValueError(f"DER 证书无法读取 / unreadable DER certificate: {e}") from None


@dataclass
class TrustStore:
    """Trusted signing certificates by ``kid``."""

    by_kid: dict[bytes, x509.Certificate] = field(default_factory=dict)
    _keys: dict[tuple[bytes, int], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, certificates: Iterable[x509.Certificate]) -> TrustStore:
        store = cls()
        for c in certificates:
            store.by_kid[kid_of(c)] = c
        return store

    def __len__(self) -> int:
        return len(self.by_kid)

    def cose_key(self, kid: bytes, alg: int):
        """The ``cwt`` verification key of ``kid`` for ``alg`` (cached), or ``None`` if not trusted."""
        cached = self._keys.get((kid, alg))
        if cached is not None:
            return cached
        certificate = self.by_kid.get(kid)
        if certificate is None:
            return None
        from cwt import COSEKey

        public = certificate.public_key()
        if alg == ALG_ES256 and isinstance(public, ec.EllipticCurvePublicKey):
            name = "ES256"
        elif alg == ALG_PS256 and isinstance(public, rsa.RSAPublicKey):
            name = "PS256"
        else:
            raise ValueError(f"不支持的签名算法 {alg} / unsupported signature algorithm {alg}")
        key = COSEKey.from_pem(
            public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
            alg=name,
            kid=kid,
        )
        self._keys[(kid, alg)] = key
        return key


# --------------------------------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------------------------------


class Signer:
    """Signs DCC payloads with one document-signing key (ES256)."""

    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        *,
        issuer_country: str = domain.DEFAULT_COUNTRY,
    ) -> None:
        from cwt import COSE, COSEKey

        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or private_key.curve.name != "secp256r1":
            raise ValueError("签名密钥必须是 P-256 椭圆曲线密钥（ES256）")
        if private_key.public_key().public_numbers() != certificate.public_key().public_numbers():
            raise ValueError("签名密钥与证书的公钥不一致")
        self.certificate = certificate
        self.kid = kid_of(certificate)
        self.issuer_country = issuer_country
        self._key = COSEKey.from_pem(private_key_pem(private_key), alg="ES256", kid=self.kid)
        self._cose = COSE.new()
        self._protected = {HEADER_ALG: ALG_ES256, HEADER_KID: self.kid}

    def sign(self, payload: dict[str, Any], *, issued_at: dt.datetime, expires_at: dt.datetime) -> str:
        """The ``HC1:`` string of ``payload``."""
        claims = {
            CLAIM_ISS: self.issuer_country,
            CLAIM_IAT: int(issued_at.timestamp()),
            CLAIM_EXP: int(expires_at.timestamp()),
            CLAIM_HCERT: {1: payload},
        }
        cose = self._cose.encode(cbor2.dumps(claims), self._key, protected=self._protected, unprotected={})
        return PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")


# --------------------------------------------------------------------------------------------------
# Reading and verifying
# --------------------------------------------------------------------------------------------------


@dataclass
class Verdict:
    """The outcome of reading one ``HC1:`` string. ``as_dict`` is the published JSON shape."""

    decoded: bool = False
    signature_valid: bool = False
    expired: bool = False
    schema_valid: bool = False
    revoked: bool = False
    not_yet_valid: bool = False
    payload: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)
    kid: str | None = None
    issuer_country: str | None = None
    issued_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    signer_subject: str | None = None

    @property
    def valid(self) -> bool:
        return (
            self.decoded
            and self.signature_valid
            and not self.expired
            and self.schema_valid
            and not self.revoked
            and not self.not_yet_valid
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "decoded": self.decoded,
            "signature_valid": self.signature_valid,
            "expired": self.expired,
            "schema_valid": self.schema_valid,
            "payload": self.payload or {},
            "reasons": list(self.reasons),
        }


@dataclass
class _Parsed:
    sign1: list
    protected: dict
    unprotected: dict
    claims: dict


def _when(seconds: Any) -> dt.datetime | None:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, cbor2.CBORTag):
        return _jsonable(value.value)
    return value


def _parse(text: str, verdict: Verdict) -> _Parsed | None:
    text = (text or "").strip()
    if not text.startswith(PREFIX):
        verdict.reasons.append(
            '不是 HC1 健康证书字符串（缺少“HC1:”前缀）/ not an HC1 string (no "HC1:" prefix)'
        )
        return None
    try:
        data = base45.b45decode(text[len(PREFIX) :])
    except (ValueError, KeyError, IndexError):
        verdict.reasons.append(
            "Base45 解码失败：字符串已损坏或被改动 / Base45 decoding failed: the string is damaged or altered"
        )
        return None
    if data[:1] == b"\x78":  # zlib (compression is optional in the spec)
        try:
            inflater = zlib.decompressobj()
            data = inflater.decompress(data, MAX_INFLATED)
            if inflater.unconsumed_tail:
                verdict.reasons.append("解压后数据过大 / the decompressed data is too large")
                return None
        except zlib.error:
            verdict.reasons.append(
                "解压失败：字符串已损坏或被改动 / zlib decompression failed: the string is damaged or altered"
            )
            return None
    try:
        obj = cbor2.loads(data)
        while isinstance(obj, cbor2.CBORTag) and obj.tag in (CWT_TAG, COSE_SIGN1_TAG):
            obj = obj.value
        if not (
            isinstance(obj, list)
            and len(obj) == 4
            and isinstance(obj[0], bytes)
            and isinstance(obj[2], bytes)
            and isinstance(obj[3], bytes)
        ):
            raise ValueError("not a COSE_Sign1")
        protected = cbor2.loads(obj[0]) if obj[0] else {}
        unprotected = obj[1] if isinstance(obj[1], dict) else {}
        claims = cbor2.loads(obj[2])
        if not isinstance(protected, dict) or not isinstance(claims, dict):
            raise ValueError("bad headers or claims")
    except (ValueError, cbor2.CBORDecodeError, TypeError, EOFError):
        verdict.reasons.append("不是有效的 COSE_Sign1 / CWT 结构 / not a valid COSE_Sign1 / CWT structure")
        return None
    return _Parsed(sign1=obj, protected=protected, unprotected=unprotected, claims=claims)


def verify(
    text: str, *, trust: TrustStore, at: dt.datetime, is_revoked: Callable[[str], bool] | None = None
) -> Verdict:
    """Read ``text`` and check it: signature against ``trust`` (by ``kid``, certificate valid at ``iat``),
    expiry at ``at``, the DCC schema and value sets, and (when given) revocation by UVCI."""
    verdict = Verdict()
    parsed = _parse(text, verdict)
    if parsed is None:
        return verdict
    hcert = parsed.claims.get(CLAIM_HCERT)
    payload = hcert.get(1) if isinstance(hcert, dict) else None
    if not isinstance(payload, dict):
        verdict.reasons.append("缺少健康证书声明（-260）/ no health certificate claim (-260)")
        return verdict
    verdict.decoded = True
    verdict.payload = _jsonable(payload)
    iss = parsed.claims.get(CLAIM_ISS)
    verdict.issuer_country = iss if isinstance(iss, str) else None
    verdict.issued_at = _when(parsed.claims.get(CLAIM_IAT))
    verdict.expires_at = _when(parsed.claims.get(CLAIM_EXP))

    # Signature
    kid = parsed.protected.get(HEADER_KID, parsed.unprotected.get(HEADER_KID))
    alg = parsed.protected.get(HEADER_ALG, parsed.unprotected.get(HEADER_ALG))
    if isinstance(kid, bytes):
        verdict.kid = kid_text(kid)
    if not isinstance(kid, bytes):
        verdict.reasons.append("签名缺少密钥标识（kid）/ the signature has no key identifier (kid)")
    elif kid not in trust.by_kid:
        verdict.reasons.append(
            f"签名密钥不在信任列表中（kid {verdict.kid}）/ signing key not trusted (kid {verdict.kid})"
        )
    else:
        certificate = trust.by_kid[kid]
        verdict.signer_subject = certificate.subject.rfc4514_string()
        try:
            key = trust.cose_key(kid, alg)
        except ValueError as e:
            verdict.reasons.append(str(e))
        else:
            verdict.signature_valid = _signature_ok(parsed.sign1, key)
            if not verdict.signature_valid:
                verdict.reasons.append(
                    "签名无效：内容被改动或与签名密钥不符 / invalid signature: altered content or wrong key"
                )
            elif verdict.issued_at is None:
                verdict.signature_valid = False
                verdict.reasons.append(
                    "缺少签发时间（iat），无法核对签名证书有效期 / no issue time (iat) to check the signing certificate against"
                )
            elif not (_valid_from(certificate) - CLOCK_SKEW <= verdict.issued_at <= _valid_to(certificate)):
                verdict.signature_valid = False
                verdict.reasons.append(
                    f"签发时间 {verdict.issued_at:%Y-%m-%d %H:%M} UTC 不在签名证书有效期内 / issue time outside the signing "
                    f"certificate's validity ({_valid_from(certificate):%Y-%m-%d} – {_valid_to(certificate):%Y-%m-%d})"
                )

    # Time
    if verdict.expires_at is None:
        verdict.expired = True
        verdict.reasons.append("缺少到期时间（exp）/ no expiry time (exp)")
    elif verdict.expires_at <= at:
        verdict.expired = True
        verdict.reasons.append(
            f"证书已于 {verdict.expires_at:%Y-%m-%d %H:%M} UTC 过期 / certificate expired on "
            f"{verdict.expires_at:%Y-%m-%d %H:%M} UTC"
        )
    if verdict.issued_at is not None and verdict.issued_at > at + CLOCK_SKEW:
        verdict.not_yet_valid = True
        verdict.reasons.append(
            f"签发时间 {verdict.issued_at:%Y-%m-%d %H:%M} UTC 晚于验证时间 / issued after the validation time"
        )

    # Schema and value sets
    problems = domain.schema_check(verdict.payload)
    verdict.schema_valid = not problems
    verdict.reasons.extend(problems)

    # Revocation
    if is_revoked is not None:
        for entry in (
            (verdict.payload.get("v") or [])
            + (verdict.payload.get("t") or [])
            + (verdict.payload.get("r") or [])
        ):
            ci = entry.get("ci") if isinstance(entry, dict) else None
            if isinstance(ci, str) and is_revoked(ci):
                verdict.revoked = True
                verdict.reasons.append(f"证书已被撤销（{ci}）/ certificate revoked ({ci})")
    return verdict


def _signature_ok(sign1: list, key) -> bool:
    from cwt import COSE
    from cwt.exceptions import CWTError

    try:
        COSE.new().decode(cbor2.CBORTag(COSE_SIGN1_TAG, sign1), key)
    except (CWTError, ValueError, TypeError):
        return False
    return True


# --------------------------------------------------------------------------------------------------
# Revocation lists
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevocationList:
    """UVCI hashes (DCC revocation, hash type UCI) and plain UVCIs that a verifier treats as revoked."""

    hashes: frozenset[str] = frozenset()
    uvcis: frozenset[str] = frozenset()

    def is_revoked(self, uvci: str) -> bool:
        return uvci in self.uvcis or domain.uvci_hash(uvci) in self.hashes

    @classmethod
    def parse(cls, data: bytes | str) -> RevocationList:
        """Our published JSON (``{"hashes": [...]}`` or ``{"entries": [{"hash": ...}]}``), or plain text
        with one UVCI or hash per line."""
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        text = text.strip()
        hashes, uvcis = set(), set()
        if text.startswith(("{", "[")):
            try:
                doc = json.loads(text)
            except ValueError:
                raise ValueError("撤销列表不是有效的 JSON / the revocation list is not valid JSON") from None
            items = doc.get("hashes", []) if isinstance(doc, dict) else doc
            if isinstance(doc, dict):
                items = list(items) + [e.get("hash") for e in doc.get("entries", []) if isinstance(e, dict)]
                uvcis.update(u for u in doc.get("uvcis", []) if isinstance(u, str))
            hashes.update(h for h in items if isinstance(h, str))
        else:
            for line in text.splitlines():
                line = line.strip()
                if line.startswith(domain.UVCI_PREFIX):
                    uvcis.add(line)
                elif line and not line.startswith("#"):
                    hashes.add(line)
        return cls(hashes=frozenset(hashes), uvcis=frozenset(uvcis))
