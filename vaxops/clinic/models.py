"""A person's COVID-19 vaccination record: doses, pre-screenings and the deferrals and contraindications
they leave behind. Rows are never deleted: a wrong dose is voided with a reason, a deferral ends."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from vaxops.catalog import domain

OUTCOME_CHOICES = [(o.value, o.label_zh) for o in domain.Outcome]


class Dose(models.Model):
    """One dose a person received: here (recorded by the vaccination desk) or elsewhere (``external``,
    entered from a paper record). ``product_code`` is the catalogue code. A voided dose stays for the
    record and is left out of every evaluation."""

    resident = models.ForeignKey("registry.Resident", models.PROTECT, related_name="doses", verbose_name=_("居民"))
    product_code = models.CharField(_("疫苗品种"), max_length=40)
    given_on = models.DateField(_("接种日期"))
    place = models.CharField(_("接种地点"), max_length=200, blank=True)
    external = models.BooleanField(_("外地接种"), default=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("登记人"))
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    voided_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    voided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("作废人"))
    void_reason = models.CharField(_("作废原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("接种记录")
        verbose_name_plural = _("接种记录")
        ordering = ["resident", "given_on", "id"]
        constraints = [
            # Also the index person_inputs reads standing doses through.
            models.UniqueConstraint(fields=["resident", "given_on", "product_code"],
                                    condition=models.Q(voided_at__isnull=True), name="dose_once_per_day_and_product"),
            models.CheckConstraint(condition=models.Q(voided_at__isnull=True) | ~models.Q(void_reason=""),
                                   name="dose_void_has_reason"),
        ]
        permissions = [("void_dose", "作废接种记录")]

    def __str__(self) -> str:
        return f"{self.product_code} {self.given_on.isoformat() if self.given_on else ''}"


class ScreeningRecord(models.Model):
    """One pre-screening (预检): the answers and vital signs, and what the question set in force made of
    them. ``contraindicated_products`` is ``"all"`` or a list of catalogue codes."""

    resident = models.ForeignKey("registry.Resident", models.PROTECT, related_name="screenings",
                                 verbose_name=_("居民"))
    at = models.DateTimeField(_("预检时间"))
    screened_on = models.DateField(_("预检日期"))
    question_set_version = models.CharField(_("问题集版本"), max_length=20)
    answers = models.JSONField(_("回答"), default=dict)
    temperature_c = models.DecimalField(_("体温（℃）"), max_digits=3, decimal_places=1)
    bp_systolic = models.PositiveSmallIntegerField(_("收缩压"), null=True, blank=True)
    bp_diastolic = models.PositiveSmallIntegerField(_("舒张压"), null=True, blank=True)
    outcome = models.CharField(_("预检结论"), max_length=20, choices=OUTCOME_CHOICES)
    defer_until = models.DateField(_("暂缓至"), null=True, blank=True)
    defer_condition = models.CharField(_("暂缓条件"), max_length=200, blank=True)
    contraindicated_products = models.JSONField(_("禁忌品种"), default=list, blank=True)
    reasons = models.JSONField(_("原因"), default=list, blank=True)
    notes = models.JSONField(_("备注"), default=list, blank=True)
    screener = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("预检人员"))

    class Meta:
        verbose_name = _("预检记录")
        verbose_name_plural = _("预检记录")
        ordering = ["resident", "-at"]

    def __str__(self) -> str:
        return f"{self.screened_on.isoformat()} {self.get_outcome_display()}"


class Deferral(models.Model):
    """A standing deferral (暂缓接种) from a screening: until a date (vaccination allowed that day), or
    until a condition is met. It ends when a later screening supersedes it."""

    resident = models.ForeignKey("registry.Resident", models.PROTECT, related_name="deferrals",
                                 verbose_name=_("居民"))
    screening = models.ForeignKey(ScreeningRecord, models.PROTECT, null=True, blank=True, related_name="deferrals",
                                  verbose_name=_("预检记录"))
    until = models.DateField(_("暂缓至"), null=True, blank=True)
    condition = models.CharField(_("暂缓条件"), max_length=200, blank=True)
    reason = models.TextField(_("原因"))
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    end_reason = models.CharField(_("结束原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("暂缓接种")
        verbose_name_plural = _("暂缓接种")
        ordering = ["resident", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(until__isnull=False) | ~models.Q(condition=""),
                                   name="deferral_has_date_or_condition"),
        ]

    def __str__(self) -> str:
        return f"暂缓至{self.until.isoformat()}" if self.until else f"暂缓（{self.condition}）"


class Contraindication(models.Model):
    """A standing contraindication (接种禁忌): ``products`` is ``"all"`` or a list of catalogue codes.
    Unlike a deferral, a later screening does not end it; only an explicit lift does."""

    resident = models.ForeignKey("registry.Resident", models.PROTECT, related_name="contraindications",
                                 verbose_name=_("居民"))
    screening = models.ForeignKey(ScreeningRecord, models.PROTECT, null=True, blank=True,
                                  related_name="contraindications", verbose_name=_("预检记录"))
    products = models.JSONField(_("禁忌品种"))
    reason = models.TextField(_("原因"))
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    lifted_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    lift_reason = models.CharField(_("解除原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("接种禁忌")
        verbose_name_plural = _("接种禁忌")
        ordering = ["resident", "-created_at"]

    def __str__(self) -> str:
        return "禁忌：全部品种" if self.products == "all" else "禁忌：" + "、".join(self.products or [])

    def to_domain(self) -> domain.Contraindication:
        products = domain.ALL if self.products == "all" else tuple(self.products)
        return domain.Contraindication(products=products, reason=self.reason)
