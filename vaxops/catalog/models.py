"""The catalogue as data: products, versioned schedules, campaign phases and pre-screening questions.

Each model mirrors a dataclass of ``domain.py``; ``selectors`` turns rows back into those dataclasses.
``clean()`` validates by building the domain objects (and, for products and schedules, the whole
``domain.Catalogue``), so the admin refuses exactly what the rules engine would refuse.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import domain

PLATFORM_CHOICES = [(p.value, p.label_zh) for p in domain.Platform]
ANSWER_TYPE_CHOICES = [
    (domain.AnswerType.BOOL.value, _("是/否")),
    (domain.AnswerType.CHOICE.value, _("单选")),
    (domain.AnswerType.TEXT.value, _("文字")),
    (domain.AnswerType.DATE.value, _("日期")),
]
RULE_ACTION_CHOICES = [
    (domain.RuleAction.NOTE.value, _("记录（不影响接种）")),
    (domain.RuleAction.DEFER.value, _("暂缓接种")),
    (domain.RuleAction.CONTRAINDICATE.value, _("禁止接种")),
]
RULE_SCOPE_CHOICES = [
    (domain.RuleScope.ALL_PRODUCTS.value, _("全部品种")),
    (domain.RuleScope.ANSWERED_PLATFORM.value, _("回答中所选品种的同类（同技术路线）疫苗")),
]

_code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$", _("编码只能包含字母、数字、点、横线和下划线")
)


def _invalid(error: ValueError) -> ValidationError:
    return ValidationError(str(error).strip("'\""))


class Product(models.Model):
    """A vaccine product (品种). Never deleted: dose records name products by code."""

    code = models.CharField(
        _("产品编码"),
        max_length=40,
        unique=True,
        validators=[_code_validator],
        help_text=_("例如 BBIBP-CorV；建立后不可修改"),
    )
    name_zh = models.CharField(_("通用名称"), max_length=100)
    short_name_zh = models.CharField(
        _("简称"),
        max_length=20,
        blank=True,
        help_text=_("接种人员熟知的名称，如 国药北京、科兴；页面和提示显示它"),
    )
    name_en = models.CharField(_("英文名称"), max_length=120)
    manufacturer_zh = models.CharField(_("生产企业"), max_length=100)
    manufacturer_en = models.CharField(_("生产企业（英文）"), max_length=120)
    mah = models.CharField(_("上市许可持有人"), max_length=100)
    platform = models.CharField(_("技术路线"), max_length=20, choices=PLATFORM_CHOICES)
    dcc_mp = models.CharField(_("DCC 药品编码（mp）"), max_length=60, blank=True)
    dcc_ma = models.CharField(_("DCC 持有人编码（ma）"), max_length=60, blank=True)
    dcc_vp = models.CharField(_("DCC 疫苗类型编码（vp）"), max_length=60, blank=True)
    presentation = models.CharField(_("剂型规格"), max_length=100)
    doses_per_vial = models.PositiveSmallIntegerField(
        _("每瓶剂数"), default=1, validators=[MinValueValidator(1)]
    )
    open_vial_discard_hours = models.PositiveSmallIntegerField(
        _("开启后废弃时限（小时）"), null=True, blank=True, help_text=_("单剂包装留空")
    )
    pack_volume_cm3 = models.DecimalField(
        _("最小包装体积（cm³）"),
        max_digits=8,
        decimal_places=1,
        default=20,
        validators=[MinValueValidator(1)],
        help_text=_("一个最小包装（一个追溯码）占用的冷链容积，用于调拨和分配"),
    )
    dose_volume_ml = models.DecimalField(_("每剂次体积（mL）"), max_digits=4, decimal_places=2)
    route = models.CharField(_("接种途径"), max_length=20)
    site = models.CharField(_("接种部位"), max_length=40)
    storage_min_c = models.DecimalField(_("储存温度下限（℃）"), max_digits=4, decimal_places=1)
    storage_max_c = models.DecimalField(_("储存温度上限（℃）"), max_digits=4, decimal_places=1)
    min_age_years = models.PositiveSmallIntegerField(_("最小适用年龄（周岁）"), default=18)
    max_age_years = models.PositiveSmallIntegerField(
        _("最大适用年龄（周岁）"), null=True, blank=True, help_text=_("留空表示无上限")
    )
    sort = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("疫苗品种")
        verbose_name_plural = _("疫苗品种")
        ordering = ["sort", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(doses_per_vial__gte=1), name="product_doses_per_vial_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(storage_min_c__lte=models.F("storage_max_c")),
                name="product_storage_range_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(max_age_years__isnull=True)
                | models.Q(max_age_years__gte=models.F("min_age_years")),
                name="product_age_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.short_name_zh or self.code}（{self.manufacturer_zh}）"

    def clean(self) -> None:
        from .selectors import catalogue_build

        if self.storage_min_c is None or self.storage_max_c is None or self.dose_volume_ml is None:
            return  # field errors are reported on their own
        try:
            catalogue_build(product=self)
        except ValueError as e:
            raise _invalid(e) from None


class TracePrefix(models.Model):
    """The first 7 digits of the 20-digit traceability code (疫苗追溯码) that identify the product."""

    product = models.ForeignKey(
        Product, models.CASCADE, related_name="trace_prefixes", verbose_name=_("疫苗品种")
    )
    prefix = models.CharField(
        _("追溯码前缀"),
        max_length=7,
        unique=True,
        validators=[RegexValidator(r"^\d{7}$", _("追溯码前缀必须是7位数字"))],
    )

    class Meta:
        verbose_name = _("追溯码前缀")
        verbose_name_plural = _("追溯码前缀")
        ordering = ["product", "id"]

    def __str__(self) -> str:
        return self.prefix


class SchedulePolicy(models.Model):
    """One version of the schedule (免疫程序) for courses begun with ``product``.

    Versions of one product never overlap. Saving a version that starts while an earlier one is in
    force closes the earlier one the day before (see ``services.schedule_policy_close_previous``).
    ``completion_products`` and ``booster_products`` hold product codes.
    """

    product = models.ForeignKey(Product, models.PROTECT, related_name="policies", verbose_name=_("首剂品种"))
    effective_from = models.DateField(_("生效日期"))
    effective_to = models.DateField(_("失效日期"), null=True, blank=True, help_text=_("留空表示长期有效"))
    primary_doses = models.PositiveSmallIntegerField(_("基础免疫剂次"), validators=[MinValueValidator(1)])
    completion_products = models.JSONField(
        _("可续种品种"), default=list, blank=True, help_text=_("同一技术路线、可替换完成全程接种的品种")
    )
    booster_min_days = models.PositiveSmallIntegerField(
        _("加强免疫最短间隔（天）"), null=True, blank=True, help_text=_("距完成全程接种；留空表示无加强免疫")
    )
    booster_recommended_days = models.PositiveSmallIntegerField(
        _("加强免疫推荐间隔（天）"), null=True, blank=True
    )
    booster_products = models.JSONField(
        _("加强免疫可用品种"), default=list, blank=True, help_text=_("同源及序贯加强可用品种，按优先顺序")
    )
    booster_min_age_years = models.PositiveSmallIntegerField(_("加强免疫最小年龄（周岁）"), default=18)
    grace_days = models.PositiveSmallIntegerField(
        _("宽限期（天）"), default=4, help_text=_("早于最短间隔不超过该天数的剂次仍计为有效")
    )
    min_gap_other_vaccines_days = models.PositiveSmallIntegerField(_("与其他疫苗最短间隔（天）"), default=14)
    note = models.CharField(_("依据"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("免疫程序")
        verbose_name_plural = _("免疫程序")
        ordering = ["product__sort", "product__code", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "effective_from"], name="policy_one_version_per_start"
            ),
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True)
                | models.Q(effective_to__gte=models.F("effective_from")),
                name="policy_dates_in_order",
            ),
            models.CheckConstraint(
                condition=models.Q(primary_doses__gte=1), name="policy_primary_doses_positive"
            ),
        ]

    def __str__(self) -> str:
        end = self.effective_to.isoformat() if self.effective_to else "至今"
        return f"{self.product_id and self.product.code} {self.effective_from.isoformat()}—{end}"

    def clean(self) -> None:
        from .selectors import catalogue_build

        if self.product_id is None or self.effective_from is None or not self.primary_doses:
            return
        if self.booster_min_days is None and self.booster_products:
            raise ValidationError({"booster_min_days": _("选择了加强免疫品种，须填写加强免疫最短间隔")})
        if self.booster_min_days is not None and not self.booster_products:
            raise ValidationError({"booster_products": _("填写了加强免疫间隔，须选择至少一个加强免疫品种")})
        try:
            catalogue_build(policy=self)
        except ValueError as e:
            raise _invalid(e) from None


class PolicyInterval(models.Model):
    """The gap before primary dose ``dose_number`` (2, 3, …), counted from the previous valid dose."""

    policy = models.ForeignKey(
        SchedulePolicy, models.CASCADE, related_name="intervals", verbose_name=_("免疫程序")
    )
    dose_number = models.PositiveSmallIntegerField(
        _("剂次"), validators=[MinValueValidator(2)], help_text=_("本间隔之后的剂次，如 2 表示第1剂到第2剂")
    )
    min_days = models.PositiveSmallIntegerField(_("最短间隔（天）"))
    recommended_days = models.PositiveSmallIntegerField(_("推荐间隔（天）"))
    latest_days = models.PositiveSmallIntegerField(_("最晚（距上一剂，天）"), null=True, blank=True)
    latest_from_dose1_days = models.PositiveSmallIntegerField(_("最晚（距第1剂，天）"), null=True, blank=True)

    class Meta:
        verbose_name = _("剂次间隔")
        verbose_name_plural = _("剂次间隔")
        ordering = ["policy", "dose_number"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "dose_number"], name="interval_once_per_dose"),
            models.CheckConstraint(
                condition=models.Q(min_days__lte=models.F("recommended_days")),
                name="interval_min_not_after_recommended",
            ),
        ]

    def __str__(self) -> str:
        return f"第{self.dose_number}剂：≥{self.min_days}天"

    def to_domain(self) -> domain.Interval:
        return domain.Interval(
            min_days=self.min_days,
            recommended_days=self.recommended_days,
            latest_days=self.latest_days,
            latest_from_dose1_days=self.latest_from_dose1_days,
        )

    def clean(self) -> None:
        if self.min_days is None or self.recommended_days is None:
            return
        try:
            self.to_domain()
        except ValueError as e:
            raise _invalid(e) from None


class Phase(models.Model):
    """A campaign phase (阶段): which priority groups and ages may start a course, and from when."""

    code = models.CharField(_("代码"), max_length=40, unique=True, validators=[_code_validator])
    name_zh = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=120, blank=True)
    priority_groups = models.ManyToManyField(
        "registry.PriorityGroup",
        blank=True,
        related_name="+",
        verbose_name=_("目标人群"),
        help_text=_("不选表示所有人群"),
    )
    min_age = models.PositiveSmallIntegerField(_("最小年龄（周岁）"), null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(
        _("最大年龄（周岁）"), null=True, blank=True, help_text=_("含该年龄，如 59 表示至年满60周岁前一天")
    )
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"), null=True, blank=True, help_text=_("留空表示长期"))
    sort = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("接种阶段")
        verbose_name_plural = _("接种阶段")
        ordering = ["sort", "starts_on", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                name="phase_dates_in_order",
            ),
            models.CheckConstraint(
                condition=models.Q(min_age__isnull=True)
                | models.Q(max_age__isnull=True)
                | models.Q(max_age__gte=models.F("min_age")),
                name="phase_ages_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name_zh

    def clean(self) -> None:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("结束日期早于开始日期")})
        if self.min_age is not None and self.max_age is not None and self.max_age < self.min_age:
            raise ValidationError({"max_age": _("最大年龄小于最小年龄")})


class PhaseTarget(models.Model):
    """How many people a jurisdiction plans to vaccinate in a phase (目标人数)."""

    phase = models.ForeignKey(Phase, models.CASCADE, related_name="targets", verbose_name=_("接种阶段"))
    division = models.ForeignKey(
        "jurisdictions.Division", models.PROTECT, related_name="+", verbose_name=_("行政区划")
    )
    target_people = models.PositiveIntegerField(_("目标人数"))
    target_doses = models.PositiveIntegerField(_("目标剂次"), null=True, blank=True)
    deadline = models.DateField(_("完成时限"), null=True, blank=True)
    daily_quota = models.PositiveIntegerField(
        _("每日任务量（人/天）"),
        null=True,
        blank=True,
        help_text=_("留空则按剩余目标人数与完成时限自动计算"),
    )

    class Meta:
        verbose_name = _("阶段目标")
        verbose_name_plural = _("阶段目标")
        ordering = ["phase", "division__code"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "division"], name="phase_target_once_per_division")
        ]

    def __str__(self) -> str:
        return f"{self.phase_id and self.phase.code} · {self.division_id and self.division.name}: {self.target_people}"


class QuestionSet(models.Model):
    """A version of the pre-screening questionnaire (预检问题集) with its vital-sign thresholds."""

    version = models.CharField(_("版本"), max_length=20, unique=True)
    effective_from = models.DateField(_("生效日期"))
    temp_max_c = models.DecimalField(
        _("体温上限（℃）"),
        max_digits=3,
        decimal_places=1,
        default=37.3,
        help_text=_("达到或超过该体温暂缓接种"),
    )
    bp_systolic_max = models.PositiveSmallIntegerField(_("收缩压上限（mmHg）"), default=140)
    bp_diastolic_max = models.PositiveSmallIntegerField(_("舒张压上限（mmHg）"), default=90)
    vitals_defer_days = models.PositiveSmallIntegerField(_("体征异常暂缓天数"), default=7)
    note = models.CharField(_("依据"), max_length=200, blank=True)
    in_use = models.BooleanField(
        _("在用"),
        default=True,
        help_text=_("县可选用技术指南版或本地版（按工作方案所列禁忌）；只有在用的版本按生效日期起作用"),
    )

    class Meta:
        verbose_name = _("预检问题集")
        verbose_name_plural = _("预检问题集")
        ordering = ["effective_from", "version"]

    def __str__(self) -> str:
        return f"{self.version}（{self.effective_from.isoformat()}起）"


class Question(models.Model):
    """One pre-screening question and the rule a positive answer triggers."""

    question_set = models.ForeignKey(
        QuestionSet, models.CASCADE, related_name="questions", verbose_name=_("预检问题集")
    )
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)
    code = models.CharField(_("问题编码"), max_length=40, validators=[_code_validator])
    text_zh = models.TextField(_("问题"))
    text_en = models.TextField(_("问题（英文）"), blank=True)
    answer_type = models.CharField(_("回答类型"), max_length=10, choices=ANSWER_TYPE_CHOICES)
    required = models.BooleanField(_("必答"), default=True)
    choices = models.JSONField(
        _("可选回答"),
        default=list,
        blank=True,
        help_text=_('单选题的可选值，如 ["no", "yes"]；"no" 表示否定回答'),
    )
    rule_action = models.CharField(_("肯定回答的处理"), max_length=20, choices=RULE_ACTION_CHOICES)
    rule_reason_zh = models.CharField(_("原因说明"), max_length=200)
    rule_scope = models.CharField(
        _("禁忌范围"), max_length=20, choices=RULE_SCOPE_CHOICES, default=domain.RuleScope.ALL_PRODUCTS.value
    )
    defer_days = models.PositiveSmallIntegerField(_("暂缓天数（自预检日）"), null=True, blank=True)
    defer_days_after_answer = models.PositiveSmallIntegerField(
        _("暂缓天数（自回答的日期）"), null=True, blank=True
    )
    defer_condition = models.CharField(
        _("暂缓至条件"), max_length=100, blank=True, help_text=_("如“痊愈后”“妊娠结束后”")
    )

    class Meta:
        verbose_name = _("预检问题")
        verbose_name_plural = _("预检问题")
        ordering = ["question_set", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["question_set", "code"], name="question_code_once_per_set")
        ]

    def __str__(self) -> str:
        return self.code

    def to_domain(self) -> domain.Question:
        return domain.Question(
            code=self.code,
            text_zh=self.text_zh,
            text_en=self.text_en,
            answer_type=domain.AnswerType(self.answer_type),
            rule=domain.Rule(
                action=domain.RuleAction(self.rule_action),
                reason_zh=self.rule_reason_zh,
                scope=domain.RuleScope(self.rule_scope),
                defer_days=self.defer_days,
                defer_days_after_answer=self.defer_days_after_answer,
                defer_condition=self.defer_condition or None,
            ),
            required=self.required,
            choices=tuple(self.choices or ()),
        )

    def clean(self) -> None:
        if not isinstance(self.choices, list) or not all(isinstance(c, str) and c for c in self.choices):
            raise ValidationError({"choices": _("可选回答须为非空文字的列表")})
        if self.answer_type == domain.AnswerType.CHOICE and not self.choices:
            raise ValidationError({"choices": _("单选题须列出可选回答")})
        if not self.answer_type or not self.rule_action or not self.rule_scope:
            return
        try:
            self.to_domain()
        except ValueError as e:
            raise _invalid(e) from None


class CatalogueRevision(models.Model):
    """A token that changes on every save or delete of catalogue data, so that every process (web
    workers, the task worker) notices an edit made in another and reloads its cached catalogue."""

    token = models.CharField(max_length=32)

    class Meta:
        verbose_name = _("目录版本")
        verbose_name_plural = _("目录版本")

    def __str__(self) -> str:
        return self.token
