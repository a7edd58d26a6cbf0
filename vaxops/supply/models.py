"""Stock places, lots, traceability codes and the stock ledger.

The database enforces the invariants that ``domain.py`` states: a code enters once (unique index on
``TraceCode.code``), an administered code names its recipient and time, and a balance never goes
negative (``StockBalance`` check constraint, changed only by conditional UPDATEs in ``services``).
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import domain

LOT_STATUS_CHOICES = [(s.value, s.label_zh) for s in domain.LotStatus]
MOVEMENT_KIND_CHOICES = [(k.value, k.label_zh) for k in domain.MovementKind]
_MOVEMENT_KIND_LABELS = dict(MOVEMENT_KIND_CHOICES)
WASTAGE_REASON_CHOICES = [(r.value, r.label_zh) for r in domain.WastageReason]


class PlaceKind(models.TextChoices):
    COUNTY_STORE = "county_store", _("县级疾控冷库")
    TOWNSHIP_STORE = "township_store", _("乡镇（街道）冷库")
    SITE = "site", _("接种单位")


class ColdChainKind(models.TextChoices):
    REFRIGERATOR = "refrigerator", _("冰箱")
    COLD_BOX = "cold_box", _("冷藏箱")
    COLD_ROOM = "cold_room", _("冷库")
    VEHICLE = "vehicle", _("冷藏车")


class CodeState(models.TextChoices):
    IN_STOCK = "in_stock", _("在库")
    IN_TRANSIT = "in_transit", _("在途")
    ADMINISTERED = "administered", _("已接种")
    WASTED = "wasted", _("已损耗")
    RECALLED = "recalled", _("已召回")
    # Held after a freeze or heat excursion of its cold-chain unit until the county releases or destroys it;
    # still on the place's books (the balance counts it, shown apart), never usable.
    QUARANTINED = "quarantined", _("温度异常隔离")


class StockPlace(models.Model):
    """A place that holds stock: the county CDC store, a township store or a vaccination site."""

    code = models.CharField(_("地点编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=PlaceKind.choices)
    division = models.ForeignKey(
        "jurisdictions.Division", models.PROTECT, related_name="+", verbose_name=_("行政区划")
    )
    parent = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级库存地点"),
        help_text=_("通常从这里调入疫苗"),
    )
    risk_index = models.DecimalField(
        _("疫情风险系数"), max_digits=6, decimal_places=2, default=1, validators=[MinValueValidator(0)]
    )
    density_index = models.DecimalField(
        _("人口密度系数"), max_digits=6, decimal_places=2, default=1, validators=[MinValueValidator(0)]
    )
    mobility_index = models.DecimalField(
        _("人口流动系数"), max_digits=6, decimal_places=2, default=1, validators=[MinValueValidator(0)]
    )
    low_stock_days = models.PositiveSmallIntegerField(
        _("库存预警天数"), default=3, help_text=_("库存按近7日用量可用天数低于此值时预警")
    )

    class Meta:
        verbose_name = _("库存地点")
        verbose_name_plural = _("库存地点")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=PlaceKind.values), name="stockplace_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class ColdChainUnit(models.Model):
    """A refrigerator, cold box, cold room or refrigerated vehicle at a place, with its usable volume."""

    place = models.ForeignKey(StockPlace, models.PROTECT, related_name="units", verbose_name=_("库存地点"))
    kind = models.CharField(_("设备类型"), max_length=20, choices=ColdChainKind.choices)
    name = models.CharField(_("名称"), max_length=100, blank=True)
    usable_volume_cm3 = models.PositiveIntegerField(_("可用容积（cm³）"))

    class Meta:
        verbose_name = _("冷链设备")
        verbose_name_plural = _("冷链设备")
        ordering = ["place", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ColdChainKind.values), name="coldchainunit_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}".strip()


class Lot(models.Model):
    """A lot (批号) of one product; its status applies everywhere at once."""

    product = models.ForeignKey(
        "catalog.Product", models.PROTECT, related_name="lots", verbose_name=_("疫苗品种")
    )
    lot_number = models.CharField(_("批号"), max_length=40)
    manufacturer = models.CharField(_("生产企业"), max_length=100, blank=True)
    expiry = models.DateField(_("有效期至"))
    release_certificate = models.CharField(_("批签发号"), max_length=60, blank=True)
    quantity_doses = models.PositiveIntegerField(_("数量（剂）"), default=0)
    status = models.CharField(
        _("状态"), max_length=20, choices=LOT_STATUS_CHOICES, default=domain.LotStatus.RELEASED.value
    )
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("状态变更人"),
    )
    status_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    status_reason = models.CharField(_("状态变更原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("批号")
        verbose_name_plural = _("批号")
        ordering = ["expiry", "lot_number"]
        constraints = [
            models.UniqueConstraint(fields=["product", "lot_number"], name="lot_once_per_product"),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in domain.LotStatus]), name="lot_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id and self.product.code} {self.lot_number}"


class TraceCode(models.Model):
    """One smallest package's 20-digit traceability code and its one current state."""

    code = models.CharField(_("追溯码"), max_length=20, unique=True)
    # Indexes are chosen for a million-code receipt: the single-column ones Django would add are covered by
    # the composite (lot, state, place) and (place, state) indexes, or made partial (most codes are unused).
    lot = models.ForeignKey(Lot, models.PROTECT, related_name="codes", verbose_name=_("批号"), db_index=False)
    state = models.CharField(_("状态"), max_length=20, choices=CodeState.choices, default=CodeState.IN_STOCK)
    place = models.ForeignKey(
        StockPlace,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="codes",
        verbose_name=_("所在地点"),
        db_index=False,
    )
    administered_to = models.ForeignKey(
        "registry.Resident",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("受种者"),
        db_index=False,
    )
    administered_at = models.DateTimeField(_("接种时间"), null=True, blank=True)
    wasted_reason = models.CharField(_("损耗原因"), max_length=20, choices=WASTAGE_REASON_CHOICES, blank=True)
    origin = models.ForeignKey(
        StockPlace,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("入库地点"),
        db_index=False,
    )
    package = models.CharField(
        _("包装码"), max_length=20, blank=True, help_text=_("收货文件给出的上级包装（盒/箱）码")
    )
    dispatch = models.ForeignKey(
        "Dispatch",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("最近调拨单"),
        db_index=False,
    )
    unit = models.ForeignKey(
        ColdChainUnit,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="codes",
        verbose_name=_("所在冷链设备"),
        db_index=False,
    )

    class Meta:
        verbose_name = _("追溯码")
        verbose_name_plural = _("追溯码")
        indexes = [
            models.Index(fields=["lot", "state", "place"], name="tracecode_lot_state_place"),
            models.Index(fields=["place", "state"], name="tracecode_place_state"),
            models.Index(fields=["package"], name="tracecode_package", condition=~models.Q(package="")),
            models.Index(
                fields=["administered_to"],
                name="tracecode_recipient",
                condition=models.Q(administered_to__isnull=False),
            ),
            models.Index(
                fields=["dispatch"], name="tracecode_dispatch", condition=models.Q(dispatch__isnull=False)
            ),
            models.Index(
                fields=["unit", "state"], name="tracecode_unit_state", condition=models.Q(unit__isnull=False)
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=CodeState.values), name="tracecode_state_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(state=CodeState.ADMINISTERED)
                | (models.Q(administered_to__isnull=False) & models.Q(administered_at__isnull=False)),
                name="tracecode_administered_has_recipient",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class UnitMove(models.Model):
    """One code moved from one cold-chain unit of a place to another (the ledger holds the pair of
    ``unit_move`` rows per lot); kept per code so a unit's stock at a past moment can be told."""

    code = models.ForeignKey(TraceCode, models.PROTECT, related_name="unit_moves", verbose_name=_("追溯码"))
    from_unit = models.ForeignKey(
        ColdChainUnit, models.PROTECT, null=True, related_name="+", verbose_name=_("移出设备")
    )
    to_unit = models.ForeignKey(ColdChainUnit, models.PROTECT, related_name="+", verbose_name=_("移入设备"))
    at = models.DateTimeField(_("时间"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )

    class Meta:
        verbose_name = _("设备间移库")
        verbose_name_plural = _("设备间移库")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["from_unit", "at"], name="unitmove_from_at")]

    def __str__(self) -> str:
        return f"{self.code_id}: {self.from_unit_id}→{self.to_unit_id}"


class StockMovement(models.Model):
    """One row of the append-only stock ledger; ``doses`` is the signed change to the balance."""

    kind = models.CharField(_("类型"), max_length=30, choices=MOVEMENT_KIND_CHOICES)
    place = models.ForeignKey(
        StockPlace, models.PROTECT, related_name="movements", verbose_name=_("库存地点")
    )
    lot = models.ForeignKey(Lot, models.PROTECT, related_name="movements", verbose_name=_("批号"))
    doses = models.IntegerField(_("剂数（增减）"))
    code = models.ForeignKey(
        TraceCode, models.PROTECT, null=True, blank=True, related_name="movements", verbose_name=_("追溯码")
    )
    reference = models.CharField(_("关联单号"), max_length=60, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    actor_label = models.CharField(_("操作人标识"), max_length=150, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("库存流水")
        verbose_name_plural = _("库存流水")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["place", "lot"], name="movement_place_lot")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(doses=0), name="movement_doses_nonzero"),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in domain.MovementKind]),
                name="movement_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        # get_kind_display()'s text, without rebuilding the choices' mapping on every call (each dose's ledger row).
        return f"{_MOVEMENT_KIND_LABELS.get(self.kind, self.kind)} {self.doses:+d}"


class StockBalance(models.Model):
    """Doses of one lot at one place, kept equal to the sum of its ledger rows; never negative."""

    place = models.ForeignKey(StockPlace, models.PROTECT, related_name="balances", verbose_name=_("库存地点"))
    lot = models.ForeignKey(Lot, models.PROTECT, related_name="balances", verbose_name=_("批号"))
    doses = models.IntegerField(_("结存（剂）"), default=0)

    class Meta:
        verbose_name = _("库存结存")
        verbose_name_plural = _("库存结存")
        ordering = ["place", "lot"]
        constraints = [
            models.UniqueConstraint(fields=["place", "lot"], name="balance_once_per_place_lot"),
            models.CheckConstraint(condition=models.Q(doses__gte=0), name="balance_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.place_id}/{self.lot_id}: {self.doses}"


class DispatchStatus(models.TextChoices):
    IN_TRANSIT = "in_transit", _("在途")
    RECEIVED = "received", _("已签收")
    DISCREPANCY = "discrepancy", _("签收有差异")


class Dispatch(models.Model):
    """A shipment of traceability codes from one place to another (调拨单); its codes are in transit until
    the destination confirms what arrived."""

    number = models.CharField(_("调拨单号"), max_length=30, unique=True)
    from_place = models.ForeignKey(
        StockPlace, models.PROTECT, related_name="dispatches_out", verbose_name=_("调出地点")
    )
    to_place = models.ForeignKey(
        StockPlace, models.PROTECT, related_name="dispatches_in", verbose_name=_("调入地点")
    )
    product = models.ForeignKey(
        "catalog.Product", models.PROTECT, related_name="+", verbose_name=_("疫苗品种")
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=DispatchStatus.choices, default=DispatchStatus.IN_TRANSIT
    )
    codes_count = models.PositiveIntegerField(_("追溯码数"), default=0)
    doses = models.PositiveIntegerField(_("剂数"), default=0)
    dispatched_at = models.DateTimeField(_("调出时间"))
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("调出人"),
    )
    received_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    arrival_celsius = models.DecimalField(
        _("到货温度（℃）"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    # The cold-chain unit that carried it (冷藏车 or 冷藏箱/包): its readings from dispatch to receipt are
    # the dispatch's transport temperatures, and its excursion in that time holds exactly these codes.
    vehicle = models.ForeignKey(
        ColdChainUnit,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="dispatches_carried",
        verbose_name=_("运输冷链设备"),
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("签收人"),
    )
    allocation = models.ForeignKey(
        "AllocationRun",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="dispatches",
        verbose_name=_("分配方案"),
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    reasons = models.JSONField(_("先到期先出说明"), default=list, blank=True)

    class Meta:
        verbose_name = _("调拨单")
        verbose_name_plural = _("调拨单")
        ordering = ["-dispatched_at", "-id"]
        indexes = [models.Index(fields=["status", "dispatched_at"], name="dispatch_status_at")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=DispatchStatus.values), name="dispatch_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(from_place=models.F("to_place")), name="dispatch_two_places"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class DispatchItem(models.Model):
    """The doses of one lot in a dispatch, as sent and as received."""

    dispatch = models.ForeignKey(Dispatch, models.CASCADE, related_name="items", verbose_name=_("调拨单"))
    lot = models.ForeignKey(Lot, models.PROTECT, related_name="dispatch_items", verbose_name=_("批号"))
    codes_sent = models.PositiveIntegerField(_("调出追溯码数"))
    doses_sent = models.PositiveIntegerField(_("调出剂数"))
    codes_received = models.PositiveIntegerField(_("签收追溯码数"), default=0)
    doses_received = models.PositiveIntegerField(_("签收剂数"), default=0)

    class Meta:
        verbose_name = _("调拨明细")
        verbose_name_plural = _("调拨明细")
        ordering = ["dispatch", "lot__expiry", "lot__lot_number"]
        constraints = [models.UniqueConstraint(fields=["dispatch", "lot"], name="dispatchitem_once_per_lot")]

    def __str__(self) -> str:
        return f"{self.dispatch_id}/{self.lot_id}: {self.doses_sent}"


class DispatchCode(models.Model):
    """One code of a dispatch and what became of it at the destination; a code's path through places is
    the list of its dispatches."""

    class Outcome(models.TextChoices):
        IN_TRANSIT = "in_transit", _("在途")
        RECEIVED = "received", _("已签收")
        SHORT = "short", _("短少")
        DAMAGED = "damaged", _("破损")

    dispatch = models.ForeignKey(Dispatch, models.CASCADE, related_name="codes", verbose_name=_("调拨单"))
    code = models.ForeignKey(
        TraceCode, models.PROTECT, related_name="dispatch_rows", verbose_name=_("追溯码")
    )
    outcome = models.CharField(
        _("签收结果"), max_length=20, choices=Outcome.choices, default=Outcome.IN_TRANSIT
    )
    # The unit the code was taken from: a code dispatched during an excursion of that unit is still found.
    from_unit = models.ForeignKey(
        ColdChainUnit, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("调出设备")
    )

    class Meta:
        verbose_name = _("调拨追溯码")
        verbose_name_plural = _("调拨追溯码")
        constraints = [models.UniqueConstraint(fields=["dispatch", "code"], name="dispatchcode_once")]

    def __str__(self) -> str:
        return f"{self.dispatch_id}/{self.code_id}"


class Discrepancy(models.Model):
    """A difference found when a dispatch was received: short, damaged, or a wrong/unknown code."""

    class Kind(models.TextChoices):
        SHORT = "short", _("短少")
        DAMAGED = "damaged", _("破损")
        WRONG_LOT = "wrong_lot", _("批号不符/非本单追溯码")

    dispatch = models.ForeignKey(
        Dispatch, models.CASCADE, related_name="discrepancies", verbose_name=_("调拨单")
    )
    kind = models.CharField(_("差异类型"), max_length=20, choices=Kind.choices)
    code = models.CharField(_("追溯码"), max_length=40)
    lot_number = models.CharField(_("批号"), max_length=40, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("签收差异")
        verbose_name_plural = _("签收差异")
        ordering = ["dispatch", "kind", "code"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.code}"


class StockCount(models.Model):
    """A stock count (盘点): the codes scanned at a place compared with those the ledger holds there."""

    place = models.ForeignKey(StockPlace, models.PROTECT, related_name="counts", verbose_name=_("库存地点"))
    counted_at = models.DateTimeField(_("盘点时间"))
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("盘点人"),
    )
    scanned = models.PositiveIntegerField(_("扫码数"))
    matched = models.PositiveIntegerField(_("相符数"))
    missing = models.JSONField(_("账有实无"), default=list)
    unexpected = models.JSONField(_("实有账无"), default=list)
    duplicates = models.JSONField(_("重复扫码"), default=list)
    adjusted = models.BooleanField(_("已调整台账"), default=False)
    reason = models.CharField(_("调整原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("盘点记录")
        verbose_name_plural = _("盘点记录")
        ordering = ["-counted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.place_id} {self.counted_at:%Y-%m-%d %H:%M}"


class AllocationStatus(models.TextChoices):
    PROPOSED = "proposed", _("待审批")
    APPROVED = "approved", _("已审批")


class AllocationRun(models.Model):
    """A proposal of how an arriving quantity is shared among places, with its reasoning; approving it
    creates the dispatches."""

    product = models.ForeignKey(
        "catalog.Product", models.PROTECT, related_name="+", verbose_name=_("疫苗品种")
    )
    source = models.ForeignKey(StockPlace, models.PROTECT, related_name="+", verbose_name=_("调出地点"))
    doses_arriving = models.PositiveIntegerField(_("到货剂数"))
    weights = models.JSONField(_("权重"), default=dict)
    lines = models.JSONField(_("分配明细"), default=list)
    notes = models.JSONField(_("说明"), default=list, blank=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=AllocationStatus.choices, default=AllocationStatus.PROPOSED
    )
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("生成人"),
    )
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审批人"),
    )

    class Meta:
        verbose_name = _("疫苗分配方案")
        verbose_name_plural = _("疫苗分配方案")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AllocationStatus.values), name="allocation_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.doses_arriving}"


class ReceiptImportJob(models.Model):
    """One uploaded receipt file of traceability codes being (or having been) imported into a place, with
    its progress and row errors; run in the background like the census import (``registry.ImportJob``)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("导入中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("上传人")
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    place = models.ForeignKey(StockPlace, models.PROTECT, related_name="+", verbose_name=_("入库地点"))
    filename = models.CharField(_("文件名"), max_length=200)
    file = models.FileField(_("文件"), upload_to="imports/receipts/%Y/%m/")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    bytes_total = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    read = models.IntegerField(_("读取行数"), default=0)
    created = models.IntegerField(_("新登记"), default=0)
    unchanged = models.IntegerField(_("未变"), default=0)
    rejected = models.IntegerField(_("拒绝"), default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("收货导入任务")
        verbose_name_plural = _("收货导入任务")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "done", "failed"]),
                name="receiptimportjob_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.bytes_total:
            return 0
        return min(99, int(self.bytes_done * 100 / self.bytes_total))
