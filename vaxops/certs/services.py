"""Writes of the certificates app: signing keys, issuing and revoking certificates, and verifying.

Every write is one transaction with its audit event. Private keys are read from where
``SigningKey.private_key_ref`` points (a file or an environment variable), once per process.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxops.audit.services import audit_record, audit_record_many
from vaxops.catalog.errors import CatalogErrorCode
from vaxops.catalog.models import Product
from vaxops.clinic.models import Dose, RecordLink
from vaxops.clinic.selectors import forecast_for
from vaxops.clinic.services import record_link_issue, record_link_url
from vaxops.core import clock
from vaxops.core.actors import SystemActor
from vaxops.core.errors import CoreErrorCode, NotFound, PermissionDenied, ValidationFailed
from vaxops.notify.services import notification_queue
from vaxops.registry.domain import ID_TYPE_LABELS, mask_id, mask_name
from vaxops.registry.errors import RegistryErrorCode
from vaxops.registry.models import Resident
from vaxops.registry.selectors import resident_get, residents_visible

from . import conf, domain, hcert, selectors
from .errors import CertsErrorCode
from .models import SigningKey, VaccinationCertificate

# Until the roles table grants the certs permissions: those who record or give doses may issue; the county
# CDC (who may void doses) may revoke.
ISSUE_PERMS = ("certs.issue_certificate", "clinic.add_dose", "clinic.administer_dose")
REVOKE_PERMS = ("certs.revoke_certificate", "clinic.void_dose")

_signers: dict[str, hcert.Signer] = {}


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def may_issue(user) -> bool:
    return any(user.has_perm(p) for p in ISSUE_PERMS)


def may_revoke(user) -> bool:
    return any(user.has_perm(p) for p in REVOKE_PERMS)


# --------------------------------------------------------------------------------------------------
# Signing keys
# --------------------------------------------------------------------------------------------------


def private_key_load(ref: str):
    """The private key at ``ref``: ``file:/path`` (PEM) or ``env:NAME`` (PEM in the variable; ``\\n`` may
    stand for newlines). ``VAXOPS_CERT_KEY_PASSWORD`` decrypts an encrypted key."""
    if ref.startswith("file:"):
        path = Path(ref[5:])
        if not path.is_file():
            raise ValidationFailed(
                _("签名私钥文件不存在：%(path)s（请运行 vaxops cert keygen 或检查配置）") % {"path": path},
                code=CertsErrorCode.SIGNING_KEY_FILE_MISSING,
            )
        data = path.read_bytes()
    elif ref.startswith("env:"):
        value = os.environ.get(ref[4:], "")
        if not value:
            raise ValidationFailed(
                _("环境变量 %(ref)s 未设置，无法读取签名私钥") % {"ref": ref[4:]},
                code=CertsErrorCode.SIGNING_KEY_ENV_MISSING,
            )
        data = value.replace("\\n", "\n").encode("ascii")
    else:
        raise ValidationFailed(
            _("私钥位置须为 file:/路径 或 env:变量名"), code=CertsErrorCode.SIGNING_KEY_REF_INVALID
        )
    password = os.environ.get("VAXOPS_CERT_KEY_PASSWORD", "").encode() or None
    try:
        return serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError) as e:
        raise ValidationFailed(
            _("签名私钥无法读取：%(error)s") % {"error": e}, code=CertsErrorCode.SIGNING_KEY_UNREADABLE
        ) from None


def signer_for(key: SigningKey) -> hcert.Signer:
    """The signer of ``key`` (its private key loaded once per process)."""
    signer = _signers.get(key.kid)
    if signer is None:
        if not key.private_key_ref:
            raise ValidationFailed(
                _("签名密钥 %(key_kid)s 没有登记私钥位置，只能用于验证") % {"key_kid": key.kid},
                code=CertsErrorCode.SIGNING_KEY_NO_PRIVATE,
            )
        certificate = hcert.certificates_parse(key.certificate_pem)[0]
        try:
            signer = hcert.Signer(
                private_key_load(key.private_key_ref), certificate, issuer_country=conf.country()
            )
        except ValueError as e:
            raise ValidationFailed(str(e), code=CertsErrorCode.SIGNING_KEY_INVALID) from None
        _signers[key.kid] = signer
    return signer


@transaction.atomic
def signing_key_register(
    *, actor, certificate_pem: str, private_key_ref: str = "", activate: bool = True
) -> SigningKey:
    """Register a document-signing certificate (and where its private key is). With ``activate`` it signs
    from now on and the key that signed until now is retired: it stays in the trust list."""
    try:
        certificate = hcert.certificates_parse(certificate_pem)[0]
    except ValueError as e:
        raise ValidationFailed(
            str(e), field="certificate", code=CertsErrorCode.SIGNING_CERTIFICATE_INVALID
        ) from None
    kid = hcert.kid_text(hcert.kid_of(certificate))
    if SigningKey.objects.filter(kid=kid).exists():
        raise ValidationFailed(
            _("该签名证书已登记（kid %(kid)s）") % {"kid": kid},
            field="certificate",
            code=CertsErrorCode.SIGNING_CERTIFICATE_DUPLICATE,
        )
    if activate and not private_key_ref:
        raise ValidationFailed(
            _("启用签名须登记私钥位置"), field="private_key_ref", code=CertsErrorCode.SIGNING_KEY_REF_REQUIRED
        )
    if private_key_ref:
        try:
            hcert.Signer(private_key_load(private_key_ref), certificate)
        except ValueError as e:
            raise ValidationFailed(
                str(e), field="private_key_ref", code=CertsErrorCode.SIGNING_KEY_INVALID
            ) from None
    now = clock.now()
    retired = []
    if activate:
        retired = list(SigningKey.objects.filter(active=True).values_list("kid", flat=True))
        SigningKey.objects.filter(active=True).update(active=False, retired_at=now)
    key = SigningKey.objects.create(
        kid=kid,
        certificate_pem=hcert.certificate_pem(certificate),
        private_key_ref=private_key_ref,
        subject=certificate.subject.rfc4514_string()[:300],
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        active=activate,
    )
    audit_record(
        actor=actor,
        action="signing_key.register",
        obj=key,
        new={
            "kid": kid,
            "subject": key.subject,
            "active": activate,
            "retired": retired,
            "not_after": key.not_after.isoformat(),
        },
    )
    return key


@transaction.atomic
def signing_key_revoke(*, actor, kid: str, reason: str) -> tuple[SigningKey, int]:
    """Revoke a document-signing key (its private key lost or compromised): it leaves the trust list at
    once, stops signing, and every standing certificate it signed is revoked too, so the published
    revocation list names them for verifiers holding an older trust list; residents' pages issue new
    ones with the signing key then in use. Returns the key and how many certificates were revoked."""
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed(_("请填写吊销原因"), field="reason", code=CoreErrorCode.REASON_REQUIRED)
    key = SigningKey.objects.select_for_update().filter(kid=(kid or "").strip()).first()
    if key is None:
        raise NotFound(
            _("签名密钥 %(kid)s 不存在") % {"kid": kid},
            field="kid",
            code=CertsErrorCode.SIGNING_KEY_NOT_FOUND,
        )
    if key.revoked_at is not None:
        raise ValidationFailed(
            _("签名密钥 %(key_kid)s 已于%(revoked_at)s吊销")
            % {
                "key_kid": key.kid,
                "revoked_at": format(timezone.localtime(key.revoked_at), "%Y-%m-%d %H:%M"),
            },
            field="kid",
            code=CertsErrorCode.SIGNING_KEY_REVOKED,
        )
    now = clock.now()
    was_active = key.active
    SigningKey.objects.filter(pk=key.pk).update(
        revoked_at=now, active=False, retired_at=key.retired_at or now
    )
    key.refresh_from_db()
    ids = list(
        VaccinationCertificate.objects.filter(signing_key=key, revoked_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    why = f"签名密钥吊销：{reason}"[:200]
    VaccinationCertificate.objects.filter(pk__in=ids, revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason=why
    )
    audit_record(
        actor=actor,
        action="signing_key.revoke",
        obj=key,
        purpose=reason[:200],
        old={"revoked_at": None, "active": was_active},
        new={"kid": key.kid, "revoked_at": now.isoformat(), "certificates_revoked": len(ids)},
    )
    if ids:
        audit_record_many(
            actor=actor,
            action="certificate.revoke",
            object_type="certs.vaccinationcertificate",
            items=[
                (pk, {"revoked_at": None}, {"revoked_at": now.isoformat(), "kid": key.kid, "reason": why})
                for pk in ids
            ],
            purpose=why,
        )
    return key, len(ids)


def signing_key_generate(
    *, actor, common_name: str = "", days: int = 730, directory: Path | None = None
) -> SigningKey:
    """Make a P-256 key and a self-signed certificate (the demo's DSC), write them under ``directory``
    (default ``var/keys/``; the key 0600) and make it the signing key; earlier keys stay trusted."""
    if days < 1:
        raise ValidationFailed(_("有效天数须为正整数"), field="days", code=CertsErrorCode.CERT_DAYS_INVALID)
    directory = Path(directory or conf.key_dir())
    organisation = conf.issuer_zh()
    key, certificate = hcert.keypair_generate(
        common_name=common_name or f"VaxOps DSC {clock.now():%Y-%m-%d}",
        organisation=organisation,
        country=conf.country(),
        days=days,
        now=clock.now(),
    )  # the project's clock, as every validity check
    kid = hcert.kid_of(certificate)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_path = directory / f"dsc-{kid.hex()}.key"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(hcert.private_key_pem(key))
    (directory / f"dsc-{kid.hex()}.crt").write_text(hcert.certificate_pem(certificate), encoding="ascii")
    return signing_key_register(
        actor=actor,
        certificate_pem=hcert.certificate_pem(certificate),
        private_key_ref=f"file:{key_path.resolve()}",
        activate=True,
    )


def signing_key_active(*, actor=None) -> SigningKey:
    """The key that signs now. With DEBUG on (development) and none yet, one is made; otherwise a clear
    refusal tells how to make or register one."""
    key = SigningKey.objects.filter(active=True, revoked_at__isnull=True).first()
    if key is None and conf.auto_keygen():
        key = signing_key_generate(actor=actor or SystemActor("certs:auto-keygen"))
    if key is None:
        raise ValidationFailed(
            _("尚未配置凭证签名密钥：请运行 vaxops cert keygen（演示）或 vaxops cert register（生产）"),
            code=CertsErrorCode.SIGNING_NOT_CONFIGURED,
        )
    now = clock.now()
    if not key.not_before <= now <= key.not_after:
        raise ValidationFailed(
            _("当前签名证书不在有效期内（%(not_before)s – %(not_after)s），请轮换密钥")
            % {
                "not_before": format(key.not_before, "%Y-%m-%d"),
                "not_after": format(key.not_after, "%Y-%m-%d"),
            },
            code=CertsErrorCode.SIGNING_CERTIFICATE_EXPIRED,
        )
    return key


# --------------------------------------------------------------------------------------------------
# Issuing
# --------------------------------------------------------------------------------------------------


def _dose_label(*, valid: bool, dn: int | None, sd: int | None, booster: bool, reason: str) -> dict[str, str]:
    if not valid:
        return {"zh": f"不计入有效剂次（{reason}）", "en": "Not counted as a valid dose"}
    if booster:
        return {"zh": f"加强免疫 第{dn}剂（{dn}/{sd}）", "en": f"Booster, dose {dn} ({dn}/{sd})"}
    return {"zh": f"第{dn}剂 / 共{sd}剂", "en": f"Dose {dn} of {sd}"}


def _document(*, resident: Resident, name: domain.Name, rows: list[dict], uvci: str) -> dict:
    id_label = ID_TYPE_LABELS.get(resident.id_type, resident.id_type)
    return {
        "name_zh": resident.name,
        "name_latin": name.standardised,
        "fn": name.fn,
        "gn": name.gn,
        "fnt": name.fnt,
        "gnt": name.gnt,
        "birth_date": resident.birth_date.isoformat() if resident.birth_date else "",
        "id_type": str(id_label),
        "id_masked": mask_id(resident.id_number),
        "issuer_zh": conf.issuer_zh(),
        "issuer_en": conf.issuer_en(),
        "uvci": uvci,
        "doses": rows,
    }


def _build(resident: Resident, *, now: dt.datetime):
    """(standing dose ids, latest valid dose id, payload parts, document rows) from the rules engine."""
    if resident.birth_date is None:
        raise ValidationFailed(
            _("该居民未登记出生日期，无法出具接种凭证"),
            field="birth_date",
            code=RegistryErrorCode.BIRTH_DATE_MISSING,
        )
    forecast = forecast_for(resident=resident, on=clock.today())
    judged = [j for j in forecast.doses if j.dose.ref]
    valid = [j for j in judged if j.valid and j.product]
    if not valid:
        raise ValidationFailed(
            _("该居民没有有效的新冠疫苗接种记录，无法出具接种凭证"), code=CertsErrorCode.CERT_NO_DOSES
        )
    doses = {
        d.pk: d
        for d in Dose.objects.filter(
            pk__in=[int(j.dose.ref) for j in judged], voided_at__isnull=True
        ).select_related("lot", "site")
    }
    codes = {j.product for j in judged if j.product} | {d.product_code for d in doses.values()}
    products = {p.code: p for p in Product.objects.filter(code__in=codes)}
    rows = []
    for j in judged:
        dose = doses.get(int(j.dose.ref))
        if dose is None:
            continue
        product = products.get(j.product or dose.product_code)
        dn = sd = None
        if j.valid and j.dose_number:
            dn, sd = domain.dose_numbers(
                number=j.dose_number, is_booster=j.is_booster, primary_doses=forecast.primary_doses
            )
        rows.append(
            {
                "dose_id": dose.pk,
                "date": dose.given_on.isoformat(),
                "product_code": dose.product_code,
                "product_zh": product.name_zh if product else dose.product_code,
                "product_en": product.name_en if product else dose.product_code,
                "manufacturer_zh": product.manufacturer_zh if product else "",
                "manufacturer_en": product.manufacturer_en if product else "",
                "lot": dose.lot.lot_number if dose.lot_id else "",
                "place": dose.site.name if dose.site_id else (dose.place or ""),
                "external": dose.external,
                "valid": bool(j.valid),
                "booster": bool(j.is_booster),
                "dn": dn,
                "sd": sd,
                "label": _dose_label(
                    valid=bool(j.valid), dn=dn, sd=sd, booster=bool(j.is_booster), reason=j.reason.message_zh
                ),
            }
        )
    latest = valid[-1]
    product = products.get(latest.product)
    if product is None:
        raise ValidationFailed(
            _("疫苗品种 %(product)s 不在目录中，无法出具接种凭证") % {"product": latest.product},
            code=CatalogErrorCode.PRODUCT_UNKNOWN,
        )
    try:
        mp, ma, vp = domain.dcc_codes(
            product_code=product.code, mp=product.dcc_mp, ma=product.dcc_ma, vp=product.dcc_vp
        )
    except ValueError as e:
        raise ValidationFailed(str(e), code=CertsErrorCode.CERT_PRODUCT_NO_DCC) from None
    row = next(r for r in rows if r["dose_id"] == int(latest.dose.ref))
    vaccination = domain.Vaccination(
        mp=mp, ma=ma, vp=vp, dn=row["dn"], sd=row["sd"], date=latest.dose.date, country=conf.country()
    )
    return sorted(doses), int(latest.dose.ref), vaccination, rows


def _current(resident: Resident, dose_ids: list[int], latest_id: int) -> VaccinationCertificate | None:
    cert = selectors.certificate_latest(resident=resident)
    if cert is None or cert.latest_dose_id != latest_id:
        return None
    if sorted(cert.doses.values_list("pk", flat=True)) != dose_ids:
        return None
    return cert


@transaction.atomic
def _issue(*, actor, resident: Resident, via: str, reissue: bool) -> VaccinationCertificate:
    now = clock.now()
    dose_ids, latest_id, vaccination, rows = _build(resident, now=now)
    if not reissue:
        current = _current(resident, dose_ids, latest_id)
        if current is not None:
            return current
    key = signing_key_active(actor=actor)
    signer = signer_for(key)
    try:
        name = domain.transliterate_name(resident.name)
        uvci = domain.uvci_make(
            issuer=conf.uvci_issuer(), unique=domain.uvci_unique(), country=conf.country()
        )
        payload = domain.payload_build(
            name=name,
            birth_date=resident.birth_date,
            vaccination=vaccination,
            issuer=conf.issuer(),
            uvci=uvci,
        )
    except ValueError as e:
        raise ValidationFailed(str(e), code=CertsErrorCode.CERT_PAYLOAD_INVALID) from None
    problems = domain.schema_check(payload)
    if problems:
        raise ValidationFailed(
            _("凭证数据不符合 DCC 规范：%(problems)s") % {"problems": "；".join(problems)},
            code=CertsErrorCode.CERT_PAYLOAD_INVALID,
        )
    expires = now + dt.timedelta(days=conf.valid_days())
    hc1 = signer.sign(payload, issued_at=now, expires_at=expires)
    cert = VaccinationCertificate.objects.create(
        resident=resident,
        uvci=uvci,
        uvci_hash=domain.uvci_hash(uvci),
        issued_at=now.replace(microsecond=0),
        expires_at=expires.replace(microsecond=0),
        signing_key=key,
        kid=key.kid,
        latest_dose_id=latest_id,
        payload=payload,
        document=_document(resident=resident, name=name, rows=rows, uvci=uvci),
        hc1=hc1,
        issued_by=_user(actor),
        issued_via=via,
    )
    cert.doses.set(dose_ids)
    audit_record(
        actor=actor,
        action="certificate.issue",
        obj=cert,
        new={
            "resident_id": resident.pk,
            "uvci": uvci,
            "kid": key.kid,
            "doses": dose_ids,
            "via": via,
            "expires_at": expires.isoformat(),
        },
    )
    return cert


def certificate_issue(*, actor, resident_id: int, reissue: bool = False) -> VaccinationCertificate:
    """Issue (or return the standing) certificate of a resident in the actor's scope: staff at the desk or
    in the office. The standing one is returned when it still covers exactly the person's doses, unless
    ``reissue``."""
    if not may_issue(actor):
        raise PermissionDenied(_("您的角色无权签发接种凭证"), code=CoreErrorCode.ROLE_FORBIDDEN)
    resident = resident_get(user=actor, resident_id=resident_id)
    return _issue(actor=actor, resident=resident, via="staff", reissue=reissue)


def certificate_for_record(*, actor, resident: Resident) -> VaccinationCertificate:
    """The certificate printed on a person's record at the desk ("打印接种凭证"): the standing one, or a new one
    when their doses changed. The caller has already found the person through a dose the actor may see (the
    desk's staff see the people of their session, not a jurisdiction); the actor must be one who issues."""
    if not may_issue(actor):
        raise PermissionDenied(_("您的角色无权签发接种凭证"), code=CoreErrorCode.ROLE_FORBIDDEN)
    return _issue(actor=actor, resident=resident, via="record", reissue=False)


def certificate_standing(*, resident: Resident) -> VaccinationCertificate | None:
    """A read: the resident's certificate that still covers exactly their valid doses (not revoked, not
    expired), or None when one must be issued. ``ValidationFailed`` when no certificate can be issued at all."""
    dose_ids, latest_id, _, _ = _build(resident, now=clock.now())
    return _current(resident, dose_ids, latest_id)


def certificate_for_link(*, resident: Resident) -> VaccinationCertificate:
    """Issue the certificate a resident asks for through their private link (an explicit POST; the link is
    the proof of who they are): the standing one, or a new one when their doses changed."""

    return _issue(actor=SystemActor("resident-link"), resident=resident, via="link", reissue=False)


@transaction.atomic
def certificate_link_send(*, actor, resident_id: int, base_url: str) -> bool:
    """Text the resident the private link to their certificate (``/certs/<token>/``); False when they have
    no phone number on file. The number is never shown to the sender."""

    if not may_issue(actor):
        raise PermissionDenied(_("您的角色无权发送接种凭证链接"), code=CoreErrorCode.ROLE_FORBIDDEN)
    resident = resident_get(user=actor, resident_id=resident_id)
    if not resident.phone:
        return False
    link = record_link_issue(actor=actor, resident=resident, channel=RecordLink.Channel.CERTIFICATE_SMS)
    url = record_link_url(link, base_url=base_url, page="certs")
    sent = notification_queue(
        template="certificate_link",
        phone=resident.phone,
        resident=resident,
        text=f"【清溪县疫苗接种】{mask_name(resident.name)}，您的新冠疫苗接种凭证（中英文，含可验证二维码）：{url} "
        f"请妥善保管，勿转发他人。",
        send_now=True,
    )
    audit_record(actor=actor, action="certificate.link_send", obj=resident, new={"queued": sent is not None})
    return True


# --------------------------------------------------------------------------------------------------
# Revoking
# --------------------------------------------------------------------------------------------------


@transaction.atomic
def certificate_revoke(
    *, actor, reason: str, certificate_id: int | None = None, uvci: str | None = None
) -> VaccinationCertificate:
    """Revoke one certificate (it then appears in the published revocation list)."""
    if not may_revoke(actor):
        raise PermissionDenied(_("您的角色无权撤销接种凭证"), code=CoreErrorCode.ROLE_FORBIDDEN)
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed(_("请填写撤销原因"), field="reason", code=CoreErrorCode.REASON_REQUIRED)
    if len(reason) > 200:
        raise ValidationFailed(_("撤销原因超过200个字符"), field="reason", code=CoreErrorCode.REASON_TOO_LONG)
    qs = VaccinationCertificate.objects.filter(resident__in=residents_visible(user=actor))
    cert = (
        qs.filter(pk=certificate_id).first()
        if certificate_id
        else qs.filter(uvci=(uvci or "").strip()).first()
    )
    if cert is None:
        raise NotFound(_("接种凭证不存在或不在您的管辖范围内"), code=CertsErrorCode.CERTIFICATE_NOT_FOUND)
    now = clock.now()
    if not VaccinationCertificate.objects.filter(pk=cert.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason=reason
    ):
        raise ValidationFailed(_("该凭证已撤销"), code=CertsErrorCode.CERTIFICATE_REVOKED)
    cert.refresh_from_db()
    audit_record(
        actor=actor,
        action="certificate.revoke",
        obj=cert,
        purpose=reason,
        old={"revoked_at": None},
        new={"uvci": cert.uvci, "revoked_at": now.isoformat(), "reason": reason},
    )
    return cert


def certificates_revoke_for_dose(dose: Dose, reason: str, *, actor=None) -> int:
    """Revoke every standing certificate that covers ``dose`` (called when a dose is voided); returns how
    many. Idempotent: certificates already revoked are left as they are."""
    ids = list(
        VaccinationCertificate.objects.filter(doses=dose, revoked_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    if not ids:
        return 0
    now = clock.now()
    reason = (reason or "接种记录作废").strip()[:200]
    with transaction.atomic():
        n = VaccinationCertificate.objects.filter(pk__in=ids, revoked_at__isnull=True).update(
            revoked_at=now, revoke_reason=reason
        )
        audit_record_many(
            actor=actor,
            action="certificate.revoke",
            object_type="certs.vaccinationcertificate",
            items=[
                (
                    pk,
                    {"revoked_at": None},
                    {"revoked_at": now.isoformat(), "dose_id": dose.pk, "reason": reason},
                )
                for pk in ids
            ],
            purpose=reason,
        )
    return n


# --------------------------------------------------------------------------------------------------
# Verifying
# --------------------------------------------------------------------------------------------------


def certificate_verify(
    *,
    text: str,
    at: dt.datetime | None = None,
    trust: hcert.TrustStore | None = None,
    revocations: hcert.RevocationList | None = None,
) -> hcert.Verdict:
    """Verify an ``HC1:`` string: against ``trust`` (default: our trust list) and ``revocations``
    (default: our own records of revoked certificates), at ``at`` (default: now)."""
    store = trust if trust is not None else selectors.trust_store()
    is_revoked = revocations.is_revoked if revocations is not None else selectors.uvci_revoked
    return hcert.verify(text, trust=store, at=at or clock.now(), is_revoked=is_revoked)
