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

    resident = models.ForeignKey(
        "registry.Resident", models.PROTECT, related_name="doses", verbose_name=_("居民")
    )
    product_code = models.CharField(_("疫苗品种"), max_length=40)
    given_on = models.DateField(_("接种日期"))
    place = models.CharField(_("接种地点"), max_length=200, blank=True)
    external = models.BooleanField(_("外地接种"), default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("登记人"),
    )
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    voided_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("作废人"),
    )
    void_reason = models.CharField(_("作废原因"), max_length=200, blank=True)
    # Recorded at the vaccination desk (empty for doses given elsewhere and the demo history):
    given_at = models.DateTimeField(_("接种时间"), null=True, blank=True)
    dose_number = models.PositiveSmallIntegerField(_("剂次"), null=True, blank=True)
    is_booster = models.BooleanField(_("加强针"), default=False)
    lot = models.ForeignKey(
        "supply.Lot", models.PROTECT, null=True, blank=True, related_name="doses", verbose_name=_("批号")
    )
    trace_code = models.ForeignKey(
        "supply.TraceCode",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="doses",
        verbose_name=_("追溯码"),
    )
    site = models.ForeignKey(
        "sites.Site", models.PROTECT, null=True, blank=True, related_name="doses", verbose_name=_("接种单位")
    )
    desk = models.ForeignKey(
        "sites.Desk", models.PROTECT, null=True, blank=True, related_name="doses", verbose_name=_("接种台")
    )
    vaccinator = models.ForeignKey(
        "sites.StaffMember",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="doses",
        verbose_name=_("接种人员"),
    )
    injection_site = models.CharField(_("接种部位"), max_length=40, blank=True)
    appointment = models.ForeignKey(
        "booking.Appointment",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="doses",
        verbose_name=_("预约"),
    )
    screening = models.ForeignKey(
        "ScreeningRecord",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="doses",
        verbose_name=_("预检记录"),
    )
    consent = models.ForeignKey(
        "Consent", models.PROTECT, null=True, blank=True, related_name="doses", verbose_name=_("知情同意")
    )
    client_id = models.CharField(
        _("客户端请求标识"),
        max_length=64,
        null=True,
        blank=True,
        unique=True,
        help_text=_("接种台生成，重试时据此返回同一条记录"),
    )

    class Meta:
        verbose_name = _("接种记录")
        verbose_name_plural = _("接种记录")
        ordering = ["resident", "given_on", "id"]
        constraints = [
            # Also the index person_inputs reads standing doses through.
            models.UniqueConstraint(
                fields=["resident", "given_on", "product_code"],
                condition=models.Q(voided_at__isnull=True),
                name="dose_once_per_day_and_product",
            ),
            models.CheckConstraint(
                condition=models.Q(voided_at__isnull=True) | ~models.Q(void_reason=""),
                name="dose_void_has_reason",
            ),
            # 一人一苗一扫码: a traceability code stands behind at most one standing dose.
            models.UniqueConstraint(
                fields=["trace_code"],
                condition=models.Q(voided_at__isnull=True) & models.Q(trace_code__isnull=False),
                name="dose_one_per_code",
            ),
        ]
        indexes = [
            # The voids since a moment (vaccine safety's dose tally): only voided doses are in it, so
            # recording a dose writes nothing here.
            models.Index(
                fields=["voided_at"], condition=models.Q(voided_at__isnull=False), name="dose_voided_at"
            ),
        ]
        permissions = [("void_dose", "作废接种记录"), ("administer_dose", "接种台登记接种")]

    def __str__(self) -> str:
        return f"{self.product_code} {self.given_on.isoformat() if self.given_on else ''}"


class ScreeningRecord(models.Model):
    """One pre-screening (预检): the answers and vital signs, and what the question set in force made of
    them. ``contraindicated_products`` is ``"all"`` or a list of catalogue codes."""

    resident = models.ForeignKey(
        "registry.Resident", models.PROTECT, related_name="screenings", verbose_name=_("居民")
    )
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
    screener = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("预检人员"),
    )

    class Meta:
        verbose_name = _("预检记录")
        verbose_name_plural = _("预检记录")
        ordering = ["resident", "-at"]

    def __str__(self) -> str:
        return f"{self.screened_on.isoformat()} {self.get_outcome_display()}"


class Deferral(models.Model):
    """A standing deferral (暂缓接种) from a screening: until a date (vaccination allowed that day), or
    until a condition is met. It ends when a later screening supersedes it."""

    resident = models.ForeignKey(
        "registry.Resident", models.PROTECT, related_name="deferrals", verbose_name=_("居民")
    )
    screening = models.ForeignKey(
        ScreeningRecord,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="deferrals",
        verbose_name=_("预检记录"),
    )
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
            models.CheckConstraint(
                condition=models.Q(until__isnull=False) | ~models.Q(condition=""),
                name="deferral_has_date_or_condition",
            ),
        ]

    def __str__(self) -> str:
        return f"暂缓至{self.until.isoformat()}" if self.until else f"暂缓（{self.condition}）"


class Contraindication(models.Model):
    """A standing contraindication (接种禁忌): ``products`` is ``"all"`` or a list of catalogue codes.
    Unlike a deferral, a later screening does not end it; only an explicit lift does."""

    resident = models.ForeignKey(
        "registry.Resident", models.PROTECT, related_name="contraindications", verbose_name=_("居民")
    )
    screening = models.ForeignKey(
        ScreeningRecord,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="contraindications",
        verbose_name=_("预检记录"),
    )
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


class ConsentText(models.Model):
    """The informed-consent text of a product (知情同意书), versioned; the version signed is kept."""

    product_code = models.CharField(_("疫苗品种"), max_length=40)
    version = models.CharField(_("版本"), max_length=20)
    effective_from = models.DateField(_("生效日期"))
    title = models.CharField(_("标题"), max_length=100)
    text = models.TextField(_("正文"))

    class Meta:
        verbose_name = _("知情同意书")
        verbose_name_plural = _("知情同意书")
        ordering = ["product_code", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["product_code", "version"], name="consent_text_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.product_code} {self.version}"


class Consent(models.Model):
    """A recipient's (or guardian's) signed consent for a product, or a recorded refusal."""

    resident = models.ForeignKey(
        "registry.Resident", models.PROTECT, related_name="consents", verbose_name=_("居民")
    )
    text = models.ForeignKey(ConsentText, models.PROTECT, related_name="+", verbose_name=_("知情同意书版本"))
    at = models.DateTimeField(_("时间"))
    signed_on = models.DateField(_("日期"))
    signer_name = models.CharField(_("签署人"), max_length=50)
    signer_relation = models.CharField(_("与受种者关系"), max_length=20, default="本人")
    signature = models.TextField(_("签名图像（PNG data URL）"), blank=True)
    refused = models.BooleanField(_("拒绝"), default=False)
    refusal_reason = models.CharField(_("拒绝原因"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("经办人"),
    )

    class Meta:
        verbose_name = _("知情同意记录")
        verbose_name_plural = _("知情同意记录")
        ordering = ["resident", "-at"]
        indexes = [models.Index(fields=["resident", "signed_on"], name="consent_resident_day")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(refused=True) | ~models.Q(signature=""), name="consent_signed_or_refused"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.signed_on} {'拒绝' if self.refused else '同意'}"


class Observation(models.Model):
    """The 30 minutes after a dose (留观): when it started, when and by whom the person was released."""

    dose = models.OneToOneField(Dose, models.PROTECT, related_name="observation", verbose_name=_("接种记录"))
    site = models.ForeignKey("sites.Site", models.PROTECT, related_name="+", verbose_name=_("接种单位"))
    started_at = models.DateTimeField(_("开始时间"))
    released_at = models.DateTimeField(_("离开时间"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("放行人"),
    )
    release_note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("留观")
        verbose_name_plural = _("留观")
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["site", "released_at", "started_at"], name="observation_live")]

    def __str__(self) -> str:
        return f"{self.dose_id} {self.started_at:%H:%M}"


class ReactionNote(models.Model):
    """An adverse-reaction note opened during observation; the safety work builds on it."""

    class Severity(models.TextChoices):
        MILD = "mild", _("轻微")
        MODERATE = "moderate", _("较重")
        SEVERE = "severe", _("严重")

    observation = models.ForeignKey(
        Observation, models.PROTECT, related_name="reactions", verbose_name=_("留观")
    )
    at = models.DateTimeField(_("时间"))
    severity = models.CharField(_("程度"), max_length=10, choices=Severity.choices)
    description = models.TextField(_("表现与处置"))
    transferred = models.BooleanField(_("已转诊定点救治医院"), default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("记录人"),
    )

    class Meta:
        verbose_name = _("异常反应记录")
        verbose_name_plural = _("异常反应记录")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_severity_display()} {self.at:%Y-%m-%d %H:%M}"


class RecordLink(models.Model):
    """A private link to a person's own record and certificate (``/r/<token>/``, ``/certs/<token>/``) handed to
    them: texted after a dose, texted from the certificate page, or shown to the desk staff who hand it over.
    The signed token names this row; the link works until ``expires_at`` unless revoked (by the person, by
    staff on their request, or when the dose it was made for is voided)."""

    class Channel(models.TextChoices):
        DOSE_SMS = "dose_sms", _("接种后短信")
        CERTIFICATE_SMS = "certificate_sms", _("凭证短信")
        STAFF = "staff", _("工作人员当面提供")

    resident = models.ForeignKey(
        "registry.Resident", models.PROTECT, related_name="record_links", verbose_name=_("受种者")
    )
    dose = models.ForeignKey(
        Dose, models.PROTECT, null=True, blank=True, related_name="record_links", verbose_name=_("接种记录")
    )
    channel = models.CharField(_("提供方式"), max_length=20, choices=Channel.choices)
    created_at = models.DateTimeField(_("生成时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("提供人"),
    )
    expires_at = models.DateTimeField(_("有效期至"))
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoke_reason = models.CharField(_("撤销原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("电子接种记录链接")
        verbose_name_plural = _("电子接种记录链接")
        permissions = [("share_record_link", "向受种者提供或撤销电子接种记录链接")]
        indexes = [models.Index(fields=["resident", "revoked_at"], name="record_link_live")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True) | ~models.Q(revoke_reason=""),
                name="record_link_revoked_with_reason",
            )
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.created_at:%Y-%m-%d}"
