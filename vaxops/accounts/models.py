import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from vaxops.core import clock

from .roles import ROLE_BY_CODE, ROLE_CHOICES


class User(AbstractUser):
    """A person who signs in. Every user sees only their scope: a division subtree or an employer."""

    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    role = models.CharField(_("角色"), max_length=32, choices=ROLE_CHOICES, blank=True)
    division = models.ForeignKey(
        "jurisdictions.Division",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("所属区划"),
    )
    employer = models.ForeignKey(
        "registry.Employer",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="contacts",
        verbose_name=_("所属单位"),
    )
    site_name = models.CharField(_("接种单位"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        permissions = [("manage_users", "管理用户")]

    @property
    def role_label(self) -> str:
        # In the language of the page: the English name when English is chosen.
        role = ROLE_BY_CODE.get(self.role)
        if not role:
            return ""
        return role.name_en if (get_language() or "").startswith("en") else role.name_zh

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_expiry_default():
    """When a token made now expires: ``settings.VAXOPS_API_TOKEN_DAYS`` (default 90) days from now. Tokens that
    existed before expiry was introduced got this once, counted from the migration."""
    return clock.now() + timedelta(days=getattr(settings, "VAXOPS_API_TOKEN_DAYS", 90))


class ApiToken(models.Model):
    """A bearer token for a machine client. Only its SHA-256 is stored; the raw token is shown once."""

    user = models.ForeignKey(User, models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(max_length=8, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    expires_at = models.DateTimeField(_("有效期至"), default=token_expiry_default)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_raw() -> str:
        return "vx_" + secrets.token_urlsafe(32)

    @staticmethod
    def digest_of(raw: str) -> str:
        return _hash_token(raw)
