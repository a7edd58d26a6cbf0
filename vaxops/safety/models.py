"""Vaccine safety: designated hospitals and their pairing with sites, reports of suspected adverse events
following immunisation (AEFI) with their clocks, the hospital's case (一人一案), the expert panel's
classification, lot holds proposed by serious cases and clusters, MaxSPRT signals, and compensation claims."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import domain


def _choices(name: str, kinds) -> type[models.TextChoices]:
    return models.TextChoices(name, [(k.name, (k.value, _(k.label_zh))) for k in kinds])


Classification = _choices("Classification", domain.Classification)
Status = _choices("Status", domain.Status)


class Hospital(models.Model):
    """A designated treatment hospital (定点救治医院) for vaccination reactions."""

    class Level(models.TextChoices):
        SECONDARY = "2", _("二级")
        TERTIARY = "3", _("三级")

    name = models.CharField(_("名称"), max_length=100, unique=True)
    level = models.CharField(_("等级"), max_length=1, choices=Level.choices)
    designated_severe = models.BooleanField(_("严重异常反应定点救治医院"), default=False)
    phone = models.CharField(_("急诊电话"), max_length=40)
    beds_held = models.PositiveSmallIntegerField(_("预留床位"), default=0)
    reporter_name = models.CharField(_("报告人"), max_length=50)
    reporter_phone = models.CharField(_("报告人电话"), max_length=40, blank=True)
    division = models.ForeignKey(
        "jurisdictions.Division", models.PROTECT, related_name="+", verbose_name=_("所在县（区）")
    )
    active = models.BooleanField(_("启用"), default=True)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="hospitals", verbose_name=_("医院用户")
    )
    rescue_staff = models.ManyToManyField(
        "sites.StaffMember",
        blank=True,
        related_name="rescue_hospitals",
        verbose_name=_("现场救治人员"),
        help_text=_("本院派驻对口接种单位值守的医疗救治人员（须持有效培训证书）"),
    )

    class Meta:
        verbose_name = _("定点救治医院")
        verbose_name_plural = _("定点救治医院")
        ordering = ["-designated_severe", "name"]

    def __str__(self) -> str:
        return self.name


class SitePairing(models.Model):
    """The 医共体 pairing table: each site's paired hospital (severe cases go to the designated one)."""

    site = models.OneToOneField(
        "sites.Site", models.CASCADE, related_name="hospital_pairing", verbose_name=_("接种单位")
    )
    hospital = models.ForeignKey(Hospital, models.PROTECT, related_name="sites", verbose_name=_("对口医院"))

    class Meta:
        verbose_name = _("接种单位与医院对口")
        verbose_name_plural = _("接种单位与医院对口")

    def __str__(self) -> str:
        return f"{self.site_id} → {self.hospital}"


class AmbulanceCover(models.Model):
    """The ambulance covering one session (the "四有"'s 120 救护车): on site or on rounds, and its phone."""

    class Mode(models.TextChoices):
        ON_SITE = "on_site", _("现场驻守")
        ON_ROUNDS = "on_rounds", _("巡回待命")

    session = models.OneToOneField(
        "sites.Session", models.CASCADE, related_name="ambulance_cover", verbose_name=_("接种场次")
    )
    mode = models.CharField(_("方式"), max_length=10, choices=Mode.choices)
    phone = models.CharField(_("救护车电话"), max_length=40)
    plate = models.CharField(_("车牌号"), max_length=20, blank=True)
    hospital = models.ForeignKey(
        Hospital, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("派车医院")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("登记人")
    )
    recorded_at = models.DateTimeField(_("登记时间"))

    class Meta:
        verbose_name = _("救护车保障")
        verbose_name_plural = _("救护车保障")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(mode__in=["on_site", "on_rounds"]), name="ambulance_mode_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} {self.phone}"


class Expert(models.Model):
    """A named member of the county's AEFI investigation and diagnosis expert panel (调查诊断专家组)."""

    name = models.CharField(_("姓名"), max_length=50)
    title = models.CharField(_("职称"), max_length=50, blank=True)
    specialty = models.CharField(_("专业"), max_length=50, blank=True)
    employer = models.CharField(_("单位"), max_length=100, blank=True)
    active = models.BooleanField(_("在任"), default=True)

    class Meta:
        verbose_name = _("专家组成员")
        verbose_name_plural = _("专家组成员")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AdverseEventReport(models.Model):
    """One suspected AEFI (疑似预防接种异常反应个案报告卡), linked to the dose and through it to the code, lot,
    product, site and vaccinator."""

    class Source(models.TextChoices):
        OBSERVATION = "observation", _("留观护士")
        SITE = "site", _("接种单位")
        HOSPITAL = "hospital", _("医疗机构")
        COUNTY = "county", _("县疾控中心")
        PERSON = "person", _("受种者本人或监护人")

    class Outcome(models.TextChoices):
        UNKNOWN = "unknown", _("不详")
        RECOVERED = "recovered", _("痊愈")
        IMPROVING = "improving", _("好转")
        NOT_RECOVERED = "not_recovered", _("未愈")
        SEQUELAE = "sequelae", _("有后遗症")
        DEATH = "death", _("死亡")

    number = models.CharField(_("编号"), max_length=20, unique=True)
    dose = models.ForeignKey("clinic.Dose", models.PROTECT, related_name="+", verbose_name=_("接种记录"))
    resident = models.ForeignKey(
        "registry.Resident", models.PROTECT, related_name="+", verbose_name=_("受种者")
    )
    village_code = models.CharField(_("居住地区划"), max_length=12, db_index=True)
    site = models.ForeignKey(
        "sites.Site", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("接种单位")
    )
    lot = models.ForeignKey(
        "supply.Lot", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("批号")
    )
    product_code = models.CharField(_("疫苗品种"), max_length=40)
    reaction_note = models.OneToOneField(
        "clinic.ReactionNote",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="adverse_event_report",
        verbose_name=_("留观异常反应记录"),
    )
    source = models.CharField(_("报告来源"), max_length=20, choices=Source.choices)
    onset_at = models.DateTimeField(_("发病时间"))
    discovered_at = models.DateTimeField(_("发现时间"))
    reported_at = models.DateTimeField(_("报告时间"))
    signs = models.JSONField(_("主要临床表现"), default=list)
    description = models.TextField(_("病情描述"), blank=True)
    criteria = models.JSONField(_("严重性"), default=list)
    serious = models.BooleanField(_("严重"), default=False)
    major_concern = models.BooleanField(_("对社会有重大影响"), default=False)
    cluster = models.BooleanField(_("群体性"), default=False)
    treatment = models.TextField(_("治疗"), blank=True)
    outcome = models.CharField(_("转归"), max_length=20, choices=Outcome.choices, default=Outcome.UNKNOWN)
    reporter_name = models.CharField(_("报告人"), max_length=50)
    reporter_unit = models.CharField(_("报告单位"), max_length=100, blank=True)
    reporter_phone = models.CharField(_("报告人电话"), max_length=40, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("录入人"),
    )
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.REPORTED)
    county_notified_at = models.DateTimeField(_("报告县疾控时间"), null=True, blank=True)
    card_completed_at = models.DateTimeField(_("报告卡填报完成时间"), null=True, blank=True)
    investigation_started_at = models.DateTimeField(_("开始调查时间"), null=True, blank=True)
    preliminary_report_at = models.DateTimeField(_("初步调查报告时间"), null=True, blank=True)
    classified_at = models.DateTimeField(_("诊断分类时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    classification = models.CharField(_("分类"), max_length=20, choices=Classification.choices, blank=True)
    hospital = models.ForeignKey(
        Hospital, models.PROTECT, null=True, blank=True, related_name="reports", verbose_name=_("救治医院")
    )

    class Meta:
        verbose_name = _("疑似预防接种异常反应报告")
        verbose_name_plural = _("疑似预防接种异常反应报告")
        ordering = ["-reported_at", "-id"]
        permissions = [
            ("view_health_details", "查看疑似异常反应个案的健康信息"),
            ("investigate_adverseeventreport", "调查疑似异常反应个案"),
            ("classify_adverseeventreport", "诊断分类疑似异常反应个案（专家组）"),
            ("view_safety_counts", "查看疑似异常反应统计数"),
        ]
        indexes = [
            models.Index(fields=["status", "reported_at"], name="aefi_status_reported"),
            models.Index(fields=["lot", "onset_at"], name="aefi_lot_onset"),
            models.Index(fields=["site", "onset_at"], name="aefi_site_onset"),
            models.Index(fields=["product_code", "onset_at"], name="aefi_product_onset"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=Status.values), name="aefi_status_valid"),
            models.CheckConstraint(
                condition=~models.Q(status__in=["classified", "closed"]) | ~models.Q(classification=""),
                name="aefi_classified_has_classification",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def case_times(self) -> domain.CaseTimes:
        return domain.CaseTimes(
            discovered_at=self.discovered_at,
            reported_at=self.reported_at,
            criteria=frozenset(self.criteria or ()),
            cluster=self.cluster,
            major_concern=self.major_concern,
            county_notified_at=self.county_notified_at,
            card_completed_at=self.card_completed_at,
            investigation_started_at=self.investigation_started_at,
            preliminary_report_at=self.preliminary_report_at,
        )


class PanelDecision(models.Model):
    """The expert panel's diagnosis and classification of a case, with its reasoning and members."""

    report = models.ForeignKey(
        AdverseEventReport, models.PROTECT, related_name="decisions", verbose_name=_("个案")
    )
    at = models.DateTimeField(_("时间"))
    diagnosis = models.TextField(_("诊断"))
    classification = models.CharField(_("分类"), max_length=20, choices=Classification.choices)
    reasoning = models.TextField(_("依据"))
    members = models.ManyToManyField(Expert, related_name="decisions", verbose_name=_("专家"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("记录人"),
    )

    class Meta:
        verbose_name = _("专家组诊断")
        verbose_name_plural = _("专家组诊断")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.report_id} {self.classification}"


class HospitalCase(models.Model):
    """A person referred or transferred to a hospital for a case (一人一案): treatment, outcome, discharge."""

    class Kind(models.TextChoices):
        REFERRAL = "referral", _("转诊")
        TRANSFER = "transfer", _("转院")
        SELF = "self", _("自行就诊")

    class State(models.TextChoices):
        REFERRED = "referred", _("待接收")
        ADMITTED = "admitted", _("救治中")
        DISCHARGED = "discharged", _("已出院")

    report = models.ForeignKey(
        AdverseEventReport, models.PROTECT, related_name="hospital_cases", verbose_name=_("个案")
    )
    hospital = models.ForeignKey(Hospital, models.PROTECT, related_name="cases", verbose_name=_("医院"))
    kind = models.CharField(_("方式"), max_length=10, choices=Kind.choices)
    state = models.CharField(_("状态"), max_length=12, choices=State.choices, default=State.REFERRED)
    referred_at = models.DateTimeField(_("转诊时间"))
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("转诊人"),
    )
    admitted_at = models.DateTimeField(_("接收时间"), null=True, blank=True)
    discharged_at = models.DateTimeField(_("出院时间"), null=True, blank=True)
    outcome = models.CharField(
        _("转归"),
        max_length=20,
        choices=AdverseEventReport.Outcome.choices,
        default=AdverseEventReport.Outcome.UNKNOWN,
    )
    doctor = models.CharField(_("主治医生"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("救治个案（一人一案）")
        verbose_name_plural = _("救治个案（一人一案）")
        ordering = ["state", "-referred_at"]
        indexes = [models.Index(fields=["hospital", "state"], name="hospital_case_inbox")]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "hospital"],
                condition=~models.Q(state="discharged"),
                name="hospital_case_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.report_id} → {self.hospital_id}"


class TreatmentEntry(models.Model):
    case = models.ForeignKey(HospitalCase, models.CASCADE, related_name="entries", verbose_name=_("救治个案"))
    at = models.DateTimeField(_("时间"))
    note = models.TextField(_("诊疗记录"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("记录人"),
    )

    class Meta:
        verbose_name = _("诊疗记录")
        verbose_name_plural = _("诊疗记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.at:%Y-%m-%d %H:%M}"


class LotHold(models.Model):
    """A proposed or confirmed stop (叫停) of a lot, raised by a serious case, a death or a cluster."""

    class State(models.TextChoices):
        PROPOSED = "proposed", _("建议暂停")
        HELD = "held", _("已暂停")
        RELEASED = "released", _("已恢复")
        DISMISSED = "dismissed", _("不予暂停")

    lot = models.ForeignKey("supply.Lot", models.PROTECT, related_name="+", verbose_name=_("批号"))
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.PROPOSED)
    reason = models.CharField(_("原因"), max_length=300)
    reports = models.ManyToManyField(AdverseEventReport, related_name="lot_holds", verbose_name=_("相关个案"))
    proposed_at = models.DateTimeField(_("提出时间"))
    confirmed_at = models.DateTimeField(_("暂停时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("确认人"),
    )
    released_at = models.DateTimeField(_("恢复时间"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("恢复人"),
    )
    release_reason = models.CharField(_("恢复依据"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("批号叫停")
        verbose_name_plural = _("批号叫停")
        ordering = ["-proposed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["lot"], condition=models.Q(state__in=["proposed", "held"]), name="lot_hold_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.lot_id} {self.state}"


class ClockAlert(models.Model):
    """An escalation of a case's clock (due soon, overdue), made once per case × clock × level."""

    report = models.ForeignKey(
        AdverseEventReport, models.CASCADE, related_name="alerts", verbose_name=_("个案")
    )
    clock = models.CharField(_("时限"), max_length=20)
    level = models.CharField(_("级别"), max_length=10)  # due_soon / overdue
    at = models.DateTimeField(_("时间"))
    roles = models.CharField(_("通知角色"), max_length=200)

    class Meta:
        verbose_name = _("时限提醒")
        verbose_name_plural = _("时限提醒")
        constraints = [models.UniqueConstraint(fields=["report", "clock", "level"], name="clock_alert_once")]

    def __str__(self) -> str:
        return f"{self.report_id} {self.clock} {self.level}"


class Outcome(models.Model):
    """An outcome watched for signals (e.g. anaphylaxis), matched by sign group."""

    code = models.CharField(_("编码"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    sign_group = models.CharField(_("症状组"), max_length=30)

    class Meta:
        verbose_name = _("监测结局")
        verbose_name_plural = _("监测结局")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class BackgroundRate(models.Model):
    """The background rate of an outcome per 100,000 doses in one age band (editable data)."""

    outcome = models.ForeignKey(Outcome, models.CASCADE, related_name="rates", verbose_name=_("结局"))
    band = models.CharField(_("年龄组"), max_length=10)
    per_100k = models.DecimalField(_("每10万剂次"), max_digits=10, decimal_places=4)

    class Meta:
        verbose_name = _("背景发生率")
        verbose_name_plural = _("背景发生率")
        constraints = [models.UniqueConstraint(fields=["outcome", "band"], name="background_rate_once")]

    def __str__(self) -> str:
        return f"{self.outcome_id} {self.band} {self.per_100k}"


class SafetySignal(models.Model):
    """A MaxSPRT signal for a product × outcome, opened for the county with the figures."""

    product_code = models.CharField(_("疫苗品种"), max_length=40)
    outcome = models.ForeignKey(Outcome, models.PROTECT, related_name="signals", verbose_name=_("结局"))
    day = models.DateField(_("日期"))
    observed = models.PositiveIntegerField(_("观察数"))
    expected = models.FloatField(_("期望数"))
    llr = models.FloatField(_("对数似然比"))
    cv = models.FloatField(_("临界值"))
    T = models.FloatField(_("期望事件数上限"))
    M = models.PositiveSmallIntegerField(_("最少事件数"))
    alpha = models.FloatField(_("显著性水平"))
    doses = models.PositiveIntegerField(_("接种剂次"))
    open = models.BooleanField(_("未处理"), default=True)

    class Meta:
        verbose_name = _("安全性信号")
        verbose_name_plural = _("安全性信号")
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(
                fields=["product_code", "outcome"], condition=models.Q(open=True), name="signal_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_code} {self.outcome_id} {self.day}"


class Claim(models.Model):
    """A compensation claim (补偿, paid by the manufacturer), a claim on the county's collective AEFI
    insurance, or treatment costs billed to the medical insurance fund."""

    class Kind(models.TextChoices):
        COMPENSATION = "compensation", _("异常反应补偿")
        INSURANCE = "insurance", _("商业保险")
        MEDICAL = "medical", _("医保基金")

    class State(models.TextChoices):
        FILED = "filed", _("已受理")
        APPROVED = "approved", _("已核准")
        REFUSED = "refused", _("不予补偿")
        PAID = "paid", _("已支付")

    report = models.ForeignKey(
        AdverseEventReport, models.PROTECT, related_name="claims", verbose_name=_("个案")
    )
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    payer = models.CharField(_("支付方"), max_length=100)
    classification = models.CharField(_("分类"), max_length=20, choices=Classification.choices, blank=True)
    amount_claimed = models.DecimalField(_("申请金额"), max_digits=12, decimal_places=2)
    amount_paid = models.DecimalField(_("支付金额"), max_digits=12, decimal_places=2, null=True, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.FILED)
    filed_at = models.DateTimeField(_("受理时间"))
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("补偿与保险")
        verbose_name_plural = _("补偿与保险")
        ordering = ["-filed_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_claimed__gte=0), name="claim_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(amount_paid__isnull=True) | models.Q(amount_paid__gte=0),
                name="claim_paid_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} {self.kind} {self.amount_claimed}"


class DoseTally(models.Model):
    """Standing doses per day given × product × age band at the dose, for the daily MaxSPRT run: the doses up
    to ``DoseTallyMark.through_id`` (as standing at ``voids_through``), so the run reads this small table and
    only the doses recorded or voided since, never the whole dose table (see ``services.dose_tally_refresh``)."""

    given_on = models.DateField(_("接种日期"))
    product_code = models.CharField(_("疫苗品种"), max_length=40)
    band = models.CharField(_("年龄组"), max_length=8)
    doses = models.IntegerField(_("剂次"), default=0)

    class Meta:
        verbose_name = _("接种剂次汇总")
        verbose_name_plural = _("接种剂次汇总")
        constraints = [
            models.UniqueConstraint(fields=["given_on", "product_code", "band"], name="dose_tally_once")
        ]

    def __str__(self) -> str:
        return f"{self.given_on} {self.product_code} {self.band}: {self.doses}"


class DoseTallyMark(models.Model):
    """How far ``DoseTally`` reaches (one row): every dose with id up to ``through_id``, voids up to
    ``voids_through``; the candidate (``pending_id`` read at ``pending_at``) it moves to once no transaction
    that began before ``pending_at`` can still be open; ``built_at`` when it was last counted from scratch."""

    through_id = models.BigIntegerField(default=0)
    voids_through = models.DateTimeField(null=True, blank=True)
    pending_id = models.BigIntegerField(null=True, blank=True)
    pending_at = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("接种剂次汇总进度")
        verbose_name_plural = _("接种剂次汇总进度")

    def __str__(self) -> str:
        return f"≤{self.through_id}"
