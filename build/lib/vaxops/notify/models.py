"""Messages sent to people (SMS in production, a console or file channel in the demo and tests), each
recorded with its status, and one-time codes that confirm a phone number."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")


class Notification(models.Model):
    template = models.CharField(_("模板"), max_length=30)
    phone = models.CharField(_("手机号"), max_length=20)
    resident = models.ForeignKey(
        "registry.Resident", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("居民")
    )
    text = models.CharField(_("内容"), max_length=300)
    reference = models.CharField(_("关联"), max_length=60, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.QUEUED
    )
    channel = models.CharField(_("通道"), max_length=20, blank=True)
    due_at = models.DateTimeField(_("计划发送时间"), db_index=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    error = models.CharField(_("错误"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "due_at"], name="notification_status_due")]
        constraints = [
            # A reminder is planned once per appointment and template, however often the planner runs.
            models.UniqueConstraint(
                fields=["template", "reference"],
                condition=~models.Q(reference=""),
                name="notification_once_per_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} {self.status}"


class OneTimeCode(models.Model):
    """A code sent to a phone to prove the person holds it; only its hash is stored."""

    purpose = models.CharField(_("用途"), max_length=30)
    subject = models.CharField(_("对象"), max_length=64, db_index=True)
    code_hash = models.CharField(max_length=64)
    issued_at = models.DateTimeField(_("发送时间"))
    attempts = models.PositiveSmallIntegerField(_("验证次数"), default=0)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("验证码")
        verbose_name_plural = _("验证码")
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"{self.purpose} {self.issued_at:%Y-%m-%d %H:%M}"
