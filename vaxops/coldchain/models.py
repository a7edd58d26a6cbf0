"""Cold-chain equipment, its sensors and readings, the excursions found in them and what was decided.

``Equipment`` extends supply's ``ColdChainUnit`` one-to-one (its primary key is the unit's): supply keeps
what it needs to place stock (the place, the kind, the usable volume) and knows nothing of temperatures;
the cold chain keeps the inventory details, the range and the excursion rules as data per unit.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import domain

# The domain's Chinese labels, translatable here (the domain is pure: no Django, no gettext).
_KIND_LABELS = {
    domain.ExcursionKind.FREEZE: _("冻结"),
    domain.ExcursionKind.HEAT: _("高温"),
    domain.ExcursionKind.WARNING: _("超出温度范围"),
    domain.ExcursionKind.SILENT: _("传感器无数据"),
    domain.ExcursionKind.ARRIVAL: _("到货温度异常"),
}
_STATUS_LABELS = {
    domain.ExcursionStatus.OPEN: _("待确认"),
    domain.ExcursionStatus.ACKNOWLEDGED: _("已确认"),
    domain.ExcursionStatus.ASSESSED: _("已评估"),
    domain.ExcursionStatus.CLOSED: _("已关闭"),
}
SLOT_LABELS = {domain.ManualSlot.MORNING: _("上午"), domain.ManualSlot.AFTERNOON: _("下午")}
KIND_CHOICES = [(k.value, _KIND_LABELS[k]) for k in domain.ExcursionKind]
STATUS_CHOICES = [(s.value, _STATUS_LABELS[s]) for s in domain.ExcursionStatus]


class EquipmentStatus(models.TextChoices):
    IN_USE = "in_use", _("在用")
    REPAIR = "repair", _("维修")
    IDLE = "idle", _("停用")
    SCRAPPED = "scrapped", _("报废")


class Equipment(models.Model):
    """A cold-chain unit's inventory record (冷链设备台账) and its excursion rules."""

    unit = models.OneToOneField(
        "supply.ColdChainUnit",
        models.PROTECT,
        primary_key=True,
        related_name="equipment",
        verbose_name=_("冷链设备"),
    )
    code = models.CharField(
        _("设备编码"), max_length=40, unique=True, help_text=_("接口、记录仪文件和 MQTT 主题用此编码")
    )
    make = models.CharField(_("品牌/生产企业"), max_length=100, blank=True)
    model_name = models.CharField(_("型号"), max_length=100, blank=True)
    serial = models.CharField(_("出厂编号"), max_length=100, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=EquipmentStatus.choices, default=EquipmentStatus.IN_USE
    )
    year_in_service = models.PositiveSmallIntegerField(_("启用年份"), null=True, blank=True)
    service_life_years = models.PositiveSmallIntegerField(
        _("使用年限（年）"), default=10, help_text=_("启用年份加使用年限即到期更新年份")
    )
    keeper = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("责任人"),
    )
    low_c = models.DecimalField(_("温度下限（℃）"), max_digits=5, decimal_places=2, default=Decimal("2"))
    high_c = models.DecimalField(_("温度上限（℃）"), max_digits=5, decimal_places=2, default=Decimal("8"))
    freeze_at_or_below_c = models.DecimalField(
        _("冻结限值（℃，含）"), max_digits=5, decimal_places=2, default=Decimal("-0.5")
    )
    freeze_minutes = models.PositiveIntegerField(_("冻结持续（分钟）"), default=60)
    heat_above_c = models.DecimalField(
        _("高温限值（℃，不含）"), max_digits=5, decimal_places=2, default=Decimal("8")
    )
    heat_minutes = models.PositiveIntegerField(_("高温持续（分钟）"), default=600)
    silent_minutes = models.PositiveIntegerField(_("无数据告警（分钟）"), default=60)
    manual_log = models.BooleanField(_("每日两次人工记录"), default=True)

    class Meta:
        verbose_name = _("冷链设备台账")
        verbose_name_plural = _("冷链设备台账")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=EquipmentStatus.values), name="equipment_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(low_c__lt=models.F("high_c")), name="equipment_range_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def rules(self, *, silent_minutes: int | None = None) -> domain.Rules:
        return domain.Rules(
            low_c=self.low_c,
            high_c=self.high_c,
            freeze_at_or_below_c=self.freeze_at_or_below_c,
            freeze_minutes=self.freeze_minutes,
            heat_above_c=self.heat_above_c,
            heat_minutes=self.heat_minutes,
            silent_minutes=silent_minutes or self.silent_minutes,
        )

    @property
    def renewal_year(self) -> int | None:
        return self.year_in_service + self.service_life_years if self.year_in_service else None


class SensorKind(models.TextChoices):
    LOGGER = "logger", _("温度记录仪/探头")
    MANUAL = "manual", _("人工记录")


class Sensor(models.Model):
    """A sensor fitted to a unit (or the unit's manual log); readings belong to one sensor."""

    equipment = models.ForeignKey(Equipment, models.PROTECT, related_name="sensors", verbose_name=_("设备"))
    kind = models.CharField(_("类型"), max_length=10, choices=SensorKind.choices, default=SensorKind.LOGGER)
    serial = models.CharField(_("编号"), max_length=100, blank=True)
    silent_minutes = models.PositiveIntegerField(
        _("无数据告警（分钟）"), null=True, blank=True, help_text=_("空：按设备的设置")
    )
    active = models.BooleanField(_("在用"), default=True)

    class Meta:
        verbose_name = _("温度传感器")
        verbose_name_plural = _("温度传感器")
        ordering = ["equipment", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["equipment"], condition=models.Q(kind="manual"), name="sensor_one_manual_log"
            ),
            models.CheckConstraint(condition=models.Q(kind__in=SensorKind.values), name="sensor_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.equipment_id} {self.get_kind_display()} {self.serial}".strip()

    def rules(self) -> domain.Rules:
        return self.equipment.rules(silent_minutes=self.silent_minutes)


class ReadingSource(models.TextChoices):
    API = "api", _("接口")
    FILE = "file", _("记录仪文件")
    MQTT = "mqtt", _("MQTT")
    MANUAL = "manual", _("人工记录")
    DEMO = "demo", _("演示")


class Reading(models.Model):
    """One temperature of one sensor at one moment; a moment is stored once (a retry changes nothing)."""

    # No index of its own: the unique (sensor, at) serves every look-up by sensor; one index less to keep
    # up on a million-reading insert.
    sensor = models.ForeignKey(
        Sensor, models.PROTECT, related_name="readings", verbose_name=_("传感器"), db_index=False
    )
    at = models.DateTimeField(_("时间"))
    celsius = models.DecimalField(_("温度（℃）"), max_digits=5, decimal_places=2)
    source = models.CharField(_("来源"), max_length=8, choices=ReadingSource.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("记录人"),
        db_index=False,
    )

    class Meta:
        verbose_name = _("温度读数")
        verbose_name_plural = _("温度读数")
        ordering = ["sensor", "at"]
        indexes = [
            # Only the manual log's readings have a recorder: a partial index, empty for loggers.
            models.Index(
                fields=["recorded_by"],
                name="reading_recorded_by",
                condition=models.Q(recorded_by__isnull=False),
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["sensor", "at"], name="reading_once_per_sensor_moment")
        ]

    def __str__(self) -> str:
        return f"{self.sensor_id} {self.at:%Y-%m-%d %H:%M} {self.celsius}"


class Decision(models.TextChoices):
    RELEASE = "release", _("解除隔离（可继续使用）")
    DESTROY = "destroy", _("销毁（温度异常损耗）")
    NONE = "none", _("无需处置")


class Excursion(models.Model):
    """One excursion of one sensor, kept up to date as readings arrive (start, last reading in it, end,
    extreme) and moved by people open → acknowledged → assessed → closed; never recomputed on a read."""

    equipment = models.ForeignKey(
        Equipment, models.PROTECT, related_name="excursions", verbose_name=_("设备")
    )
    sensor = models.ForeignKey(Sensor, models.PROTECT, related_name="excursions", verbose_name=_("传感器"))
    kind = models.CharField(_("类型"), max_length=10, choices=KIND_CHOICES)
    start = models.DateTimeField(_("开始"))
    last_seen = models.DateTimeField(_("最后一次超标读数"))
    end = models.DateTimeField(_("结束"), null=True, blank=True)
    extreme = models.DecimalField(_("极值（℃）"), max_digits=5, decimal_places=2, null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("持续（秒）"), default=0)
    status = models.CharField(
        _("状态"), max_length=14, choices=STATUS_CHOICES, default=domain.ExcursionStatus.OPEN.value
    )
    opened_at = models.DateTimeField(_("发现时间"))
    codes_quarantined = models.PositiveIntegerField(_("隔离追溯码数"), default=0)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("确认人"),
    )
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("评估人"),
    )
    assessed_at = models.DateTimeField(_("评估时间"), null=True, blank=True)
    decision = models.CharField(_("处置决定"), max_length=10, choices=Decision.choices, blank=True)
    decision_reason = models.CharField(_("理由"), max_length=300, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("关闭人"),
    )
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("温度超标事件")
        verbose_name_plural = _("温度超标事件")
        ordering = ["-start", "-id"]
        indexes = [
            models.Index(fields=["sensor", "kind", "start"], name="excursion_sensor_kind_start"),
            models.Index(
                fields=["status"], name="excursion_not_closed", condition=~models.Q(status="closed")
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in domain.ExcursionKind]),
                name="excursion_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in domain.ExcursionStatus]),
                name="excursion_status_valid",
            ),
            # The run's last reading lies between its first and its end (the first reading after it).
            models.CheckConstraint(
                condition=models.Q(start__lte=models.F("last_seen"))
                & (models.Q(end__isnull=True) | models.Q(last_seen__lte=models.F("end"))),
                name="excursion_span_ordered",
            ),
        ]
        permissions = [
            ("acknowledge_excursion", _("确认温度超标事件")),
            ("assess_excursion", _("评估并处置温度超标事件")),
        ]

    def __str__(self) -> str:
        return f"{self.equipment_id} {self.get_kind_display()} {self.start:%Y-%m-%d %H:%M}"

    @property
    def holds_stock(self) -> bool:
        return domain.ExcursionKind(self.kind) in domain.HOLDING_KINDS


class QuarantinedCode(models.Model):
    """A code an excursion quarantined, and what became of it."""

    class Outcome(models.TextChoices):
        HELD = "held", _("隔离中")
        RELEASED = "released", _("已解除隔离")
        DESTROYED = "destroyed", _("已销毁")

    excursion = models.ForeignKey(Excursion, models.PROTECT, related_name="codes", verbose_name=_("超标事件"))
    code = models.ForeignKey("supply.TraceCode", models.PROTECT, related_name="+", verbose_name=_("追溯码"))
    outcome = models.CharField(_("结果"), max_length=10, choices=Outcome.choices, default=Outcome.HELD)

    class Meta:
        verbose_name = _("隔离追溯码")
        verbose_name_plural = _("隔离追溯码")
        constraints = [models.UniqueConstraint(fields=["excursion", "code"], name="quarantinedcode_once")]

    def __str__(self) -> str:
        return f"{self.excursion_id}/{self.code_id}: {self.outcome}"


class Destruction(models.Model):
    """The supervised-destruction record (监督销毁记录) of an excursion's codes: who, when, witness."""

    excursion = models.OneToOneField(
        Excursion, models.PROTECT, related_name="destruction", verbose_name=_("超标事件")
    )
    destroyed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("销毁人")
    )
    destroyed_at = models.DateTimeField(_("销毁时间"))
    witness = models.CharField(_("监督人"), max_length=100)
    method = models.CharField(_("销毁方式"), max_length=100, blank=True)
    codes = models.PositiveIntegerField(_("追溯码数"))
    doses = models.PositiveIntegerField(_("剂数"))

    class Meta:
        verbose_name = _("监督销毁记录")
        verbose_name_plural = _("监督销毁记录")

    def __str__(self) -> str:
        return f"{self.excursion_id} {self.destroyed_at:%Y-%m-%d %H:%M}"


class AlertKind(models.TextChoices):
    EXCURSION = "excursion", _("温度超标")
    QUARANTINE = "quarantine", _("疫苗隔离")
    MANUAL_MISSING = "manual_missing", _("人工记录缺项")
    SILENT = "silent", _("传感器无数据")


class StaffAlert(models.Model):
    """An in-app notification to staff: a named user (the unit's keeper) or everyone of a role at a
    place's division and above it (the county); shown on the cold-chain pages until read."""

    kind = models.CharField(_("类型"), max_length=20, choices=AlertKind.choices)
    equipment = models.ForeignKey(Equipment, models.PROTECT, related_name="alerts", verbose_name=_("设备"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("接收人"),
    )
    role = models.CharField(_("接收角色"), max_length=30, blank=True)
    text = models.CharField(_("内容"), max_length=300)
    excursion = models.ForeignKey(
        Excursion, models.PROTECT, null=True, blank=True, related_name="alerts", verbose_name=_("超标事件")
    )
    key = models.CharField(_("去重键"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("时间"))
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    # Set when what the alert is about has passed (a silent sensor reports again): no longer shown.
    resolved_at = models.DateTimeField(_("解除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("冷链提醒")
        verbose_name_plural = _("冷链提醒")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=~models.Q(key=""), name="staffalert_once_per_key"
            )
        ]

    def __str__(self) -> str:
        return self.text
