"""Vaccination certificates (预防接种凭证) in the EU DCC format and the keys that sign them.

A private key never lives in the database or in code: ``SigningKey.private_key_ref`` names where it is
(``file:/path/to/key.pem`` or ``env:VARIABLE``). Keys rotate: a new key signs from now on, the old ones
stay in the trust list, so certificates already issued keep verifying. A certificate is revoked, never
deleted; revoked certificates are published by the hash of their UVCI.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SigningKey(models.Model):
    """A document-signing certificate (DSC) and, for ours, where its private key is kept."""

    kid = models.CharField(
        _("密钥标识（kid）"),
        max_length=16,
        unique=True,
        help_text=_("签名证书 DER 的 SHA-256 前 8 字节，base64"),
    )
    certificate_pem = models.TextField(_("签名证书（PEM）"))
    private_key_ref = models.CharField(
        _("私钥位置"),
        max_length=300,
        blank=True,
        help_text=_("file:/路径 或 env:环境变量名；留空表示仅用于验证"),
    )
    subject = models.CharField(_("证书主体"), max_length=300)
    not_before = models.DateTimeField(_("证书生效时间"))
    not_after = models.DateTimeField(_("证书失效时间"))
    active = models.BooleanField(_("当前签名密钥"), default=False)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(
        _("吊销时间"), null=True, blank=True, help_text=_("吊销后移出信任列表，其签发的全部凭证不再有效")
    )

    class Meta:
        verbose_name = _("签名密钥")
        verbose_name_plural = _("签名密钥")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=models.Q(active=True), name="signing_key_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kid} {self.subject}"


class VaccinationCertificate(models.Model):
    """One signed certificate of a person's doses. The QR (``hc1``) carries the latest valid dose; the
    printed document lists every dose in ``doses``. Voiding any of them revokes the certificate."""

    resident = models.ForeignKey(
        "registry.Resident", models.PROTECT, related_name="vaccination_certificates", verbose_name=_("居民")
    )
    uvci = models.CharField(_("凭证编号（UVCI）"), max_length=80, unique=True)
    uvci_hash = models.CharField(_("UVCI 哈希"), max_length=24, db_index=True)
    issued_at = models.DateTimeField(_("签发时间"))
    expires_at = models.DateTimeField(_("到期时间"))
    signing_key = models.ForeignKey(
        SigningKey, models.PROTECT, related_name="certificates", verbose_name=_("签名密钥")
    )
    kid = models.CharField(_("密钥标识（kid）"), max_length=16)
    doses = models.ManyToManyField("clinic.Dose", related_name="certificates", verbose_name=_("所含接种记录"))
    latest_dose = models.ForeignKey(
        "clinic.Dose", models.PROTECT, related_name="+", verbose_name=_("二维码所载剂次")
    )
    payload = models.JSONField(_("DCC 数据"))
    document = models.JSONField(
        _("凭证内容"), default=dict, help_text=_("签发时的双语内容快照：姓名、证件号（已遮蔽）、各剂次")
    )
    hc1 = models.TextField(_("HC1 字符串"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("签发人"),
    )
    issued_via = models.CharField(_("签发途径"), max_length=40, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoke_reason = models.CharField(_("撤销原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("接种凭证")
        verbose_name_plural = _("接种凭证")
        ordering = ["resident", "-issued_at", "-id"]
        indexes = [
            models.Index(fields=["resident", "revoked_at"], name="cert_resident_standing"),
            models.Index(fields=["revoked_at"], name="cert_revoked"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True) | ~models.Q(revoke_reason=""),
                name="cert_revoke_has_reason",
            ),
        ]
        permissions = [("issue_certificate", "签发接种凭证"), ("revoke_certificate", "撤销接种凭证")]

    def __str__(self) -> str:
        return self.uvci
