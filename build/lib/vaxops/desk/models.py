"""What the desk itself keeps: who found whom by document at which session (登记台扫码查人)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DeskFind(models.Model):
    """A staff member found a person by scanning their ID card at a session's registration desk. It lets that
    staff member register the person as a walk-in on the same day (people come to a site from anywhere in
    the county; a bare id opens no one's record) and expires with the day (``on``, the local day)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="+", verbose_name=_("工作人员")
    )
    resident = models.ForeignKey(
        "registry.Resident", models.CASCADE, related_name="+", verbose_name=_("居民")
    )
    session = models.ForeignKey("sites.Session", models.CASCADE, related_name="+", verbose_name=_("场次"))
    at = models.DateTimeField(_("查找时间"))
    on = models.DateField(_("日期"))

    class Meta:
        verbose_name = _("登记台查找记录")
        verbose_name_plural = _("登记台查找记录")
        indexes = [models.Index(fields=["user", "resident", "on"], name="deskfind_user_resident_day")]

    def __str__(self) -> str:
        return f"{self.user_id}→{self.resident_id} {self.on.isoformat() if self.on else ''}"
