"""Reads of certificates, the trust list and the revocation list."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import serialization
from django.utils.translation import gettext as _

from vaxops.core import clock
from vaxops.core.errors import NotFound
from vaxops.registry.models import Resident
from vaxops.registry.selectors import residents_visible

from . import conf, domain, hcert
from .errors import CertsErrorCode
from .models import SigningKey, VaccinationCertificate

_trust_cache: dict[tuple, hcert.TrustStore] = {}


def signing_keys_trusted():
    """Our keys that verifiers trust: every key not revoked, retired ones included (rotation keeps the
    certificates they signed valid)."""
    return SigningKey.objects.filter(revoked_at__isnull=True).order_by("created_at", "id")


def trust_store() -> hcert.TrustStore:
    """VaxOps's own trust list as a ``TrustStore`` (parsed once per set of keys)."""
    rows = list(signing_keys_trusted().values_list("kid", "certificate_pem"))
    token = tuple(kid for kid, _ in rows)
    store = _trust_cache.get(token)
    if store is None:
        certificates = [c for _, pem in rows for c in hcert.certificates_parse(pem)]
        store = hcert.TrustStore.of(certificates)
        _trust_cache.clear()
        _trust_cache[token] = store
    return store


def trustlist() -> dict:
    """The public trust list (JSON): one entry per trusted signing certificate, in the shape of the EU
    gateway's DSC lists (``kid``, ``country``, ``certificateType``, ``rawData`` = base64 DER, ``thumbprint``)."""
    entries = []
    for key in signing_keys_trusted():
        certificate = hcert.certificates_parse(key.certificate_pem)[0]
        der = certificate.public_bytes(serialization.Encoding.DER)
        entries.append(
            {
                "kid": key.kid,
                "country": conf.country(),
                "certificateType": "DSC",
                "subject": key.subject,
                "notBefore": key.not_before.isoformat(),
                "notAfter": key.not_after.isoformat(),
                "active": key.active,
                "thumbprint": hashlib.sha256(der).hexdigest(),
                "rawData": base64.b64encode(der).decode("ascii"),
            }
        )
    return {
        "issuer": conf.issuer(),
        "country": conf.country(),
        "generatedAt": clock.now().isoformat(),
        "certificates": entries,
    }


def trustlist_pem() -> str:
    return "".join(key.certificate_pem.strip() + "\n" for key in signing_keys_trusted())


def revocation_list() -> dict:
    """Revoked certificates, published by the hash of their UVCI (DCC revocation, hash type UCI: first
    128 bits of SHA-256 of the UVCI, base64). No names, no reasons."""
    rows = (
        VaccinationCertificate.objects.filter(revoked_at__isnull=False)
        .order_by("revoked_at", "id")
        .values_list("uvci_hash", "revoked_at", "kid")
    )
    entries = [{"hash": h, "revokedAt": at.isoformat(), "kid": kid} for h, at, kid in rows]
    return {
        "issuer": conf.issuer(),
        "country": conf.country(),
        "hashType": "UCI",
        "hashAlgorithm": "SHA-256, first 128 bits, base64",
        "generatedAt": clock.now().isoformat(),
        "hashes": [e["hash"] for e in entries],
        "entries": entries,
    }


def uvci_revoked(uvci: str) -> bool:
    """Is this UVCI revoked in our records?"""
    return VaccinationCertificate.objects.filter(
        uvci_hash=domain.uvci_hash(uvci), revoked_at__isnull=False
    ).exists()


def certificates_of(*, resident: Resident) -> list[VaccinationCertificate]:
    """Every certificate of the resident, newest first (revoked ones included)."""
    return list(
        VaccinationCertificate.objects.filter(resident=resident)
        .select_related("signing_key")
        .order_by("-issued_at", "-id")
    )


def certificate_get(*, user, certificate_id: int) -> VaccinationCertificate:
    """One certificate whose holder the user may see; ``NotFound`` otherwise."""
    cert = (
        VaccinationCertificate.objects.select_related("resident")
        .filter(pk=certificate_id, resident__in=residents_visible(user=user))
        .first()
    )
    if cert is None:
        raise NotFound(_("接种凭证不存在或不在您的管辖范围内"), code=CertsErrorCode.CERTIFICATE_NOT_FOUND)
    return cert


def certificate_latest(*, resident: Resident) -> VaccinationCertificate | None:
    """The newest certificate of the resident that is not revoked and not expired."""
    return (
        VaccinationCertificate.objects.filter(
            resident=resident, revoked_at__isnull=True, expires_at__gt=clock.now()
        )
        .order_by("-issued_at", "-id")
        .first()
    )
