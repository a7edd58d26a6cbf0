"""Stock places, lots, traceability codes and the stock ledger.

The database enforces the invariants that ``domain.py`` states: a code enters once (unique index on
``TraceCode.code``), an administered code names its recipient and time, and a balance never goes
negative (``StockBalance`` check constraint, changed only by conditional UPDATEs in ``services``).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import domain

LOT_STATUS_CHOICES = [(s.value, s.label_zh) for s in domain.LotStatus]
MOVEMENT_KIND_CHOICES = [(k.value, k.label_zh) for k in domain.MovementKind]
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


class StockPlace(models.Model):
    """A place that holds stock: the county CDC store, a township store or a vaccination site."""

    code = models.CharField(_("地点编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=PlaceKind.choices)
    division = models.ForeignKey("jurisdictions.Division", models.PROTECT, related_name="+", verbose_name=_("行政区划"))

    class Meta:
        verbose_name = _("库存地点")
        verbose_name_plural = _("库存地点")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=PlaceKind.values), name="stockplace_kind_valid"),
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
            models.CheckConstraint(condition=models.Q(kind__in=ColdChainKind.values), name="coldchainunit_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}".strip()


class Lot(models.Model):
    """A lot (批号) of one product; its status applies everywhere at once."""

    product = models.ForeignKey("catalog.Product", models.PROTECT, related_name="lots", verbose_name=_("疫苗品种"))
    lot_number = models.CharField(_("批号"), max_length=40)
    manufacturer = models.CharField(_("生产企业"), max_length=100, blank=True)
    expiry = models.DateField(_("有效期至"))
    release_certificate = models.CharField(_("批签发号"), max_length=60, blank=True)
    quantity_doses = models.PositiveIntegerField(_("数量（剂）"), default=0)
    status = models.CharField(_("状态"), max_length=20, choices=LOT_STATUS_CHOICES,
                              default=domain.LotStatus.RELEASED.value)
    status_changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                          related_name="+", verbose_name=_("状态变更人"))
    status_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    status_reason = models.CharField(_("状态变更原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("批号")
        verbose_name_plural = _("批号")
        ordering = ["expiry", "lot_number"]
        constraints = [
            models.UniqueConstraint(fields=["product", "lot_number"], name="lot_once_per_product"),
            models.CheckConstraint(condition=models.Q(status__in=[s.value for s in domain.LotStatus]),
                                   name="lot_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id and self.product.code} {self.lot_number}"


class TraceCode(models.Model):
    """One smallest package's 20-digit traceability code and its one current state."""

    code = models.CharField(_("追溯码"), max_length=20, unique=True)
    lot = models.ForeignKey(Lot, models.PROTECT, related_name="codes", verbose_name=_("批号"))
    state = models.CharField(_("状态"), max_length=20, choices=CodeState.choices, default=CodeState.IN_STOCK)
    place = models.ForeignKey(StockPlace, models.PROTECT, null=True, blank=True, related_name="codes",
                              verbose_name=_("所在地点"))
    administered_to = models.ForeignKey("registry.Resident", models.PROTECT, null=True, blank=True, related_name="+",
                                        verbose_name=_("受种者"))
    administered_at = models.DateTimeField(_("接种时间"), null=True, blank=True)
    wasted_reason = models.CharField(_("损耗原因"), max_length=20, choices=WASTAGE_REASON_CHOICES, blank=True)

    class Meta:
        verbose_name = _("追溯码")
        verbose_name_plural = _("追溯码")
        indexes = [models.Index(fields=["lot", "state", "place"], name="tracecode_lot_state_place")]
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=CodeState.values), name="tracecode_state_valid"),
            models.CheckConstraint(
                condition=~models.Q(state=CodeState.ADMINISTERED)
                | (models.Q(administered_to__isnull=False) & models.Q(administered_at__isnull=False)),
                name="tracecode_administered_has_recipient",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class StockMovement(models.Model):
    """One row of the append-only stock ledger; ``doses`` is the signed change to the balance."""

    kind = models.CharField(_("类型"), max_length=30, choices=MOVEMENT_KIND_CHOICES)
    place = models.ForeignKey(StockPlace, models.PROTECT, related_name="movements", verbose_name=_("库存地点"))
    lot = models.ForeignKey(Lot, models.PROTECT, related_name="movements", verbose_name=_("批号"))
    doses = models.IntegerField(_("剂数（增减）"))
    code = models.ForeignKey(TraceCode, models.PROTECT, null=True, blank=True, related_name="movements",
                             verbose_name=_("追溯码"))
    reference = models.CharField(_("关联单号"), max_length=60, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("操作人"))
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
            models.CheckConstraint(condition=models.Q(kind__in=[k.value for k in domain.MovementKind]),
                                   name="movement_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.doses:+d}"


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
