"""The monthly settlement of vaccine and service fees (疫苗及接种费用结算): the county's rules as effective-dated
versions, and per site and month a settlement with one line per dose.

A line is a copy of what was paid for — the dose's day, product, lot, masked code and the prices in force on
that day — so a later change of the rules or of the dose never changes a settled month: a dose voided after
its month was settled becomes a negative adjustment line in a later month. An approved or paid settlement is
frozen by database triggers (``0002_frozen``) as well as by the services."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import domain


class SettlementRule(models.Model):
    """One version of the county's rule: service fee per dose, fiscal subsidy share, funding-channel cut-over."""

    effective_from = models.DateField(_("生效日期"), unique=True)
    service_fee = models.DecimalField(
        _("接种服务费（元/剂次，含注射器）"),
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    subsidy_share = models.DecimalField(
        _("县财政补助比例"),
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("按医保基金应付金额的比例补助，如 0.3000 即 30%"),
    )
    cutover_date = models.DateField(_("资金渠道切换日期"), help_text=_("此日期之前的接种由原资金渠道支付"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("结算规则")
        verbose_name_plural = _("结算规则")
        ordering = ["-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(subsidy_share__gte=0, subsidy_share__lte=1, service_fee__gte=0),
                name="settlementrule_values_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.effective_from:%Y-%m-%d} {self.service_fee} 元"


class VaccinePrice(models.Model):
    """The negotiated price of one product (国家医保局与生产企业议定价格), from a date."""

    product = models.ForeignKey(
        "catalog.Product", models.PROTECT, related_name="+", verbose_name=_("疫苗品种")
    )
    effective_from = models.DateField(_("生效日期"))
    price = models.DecimalField(
        _("疫苗价格（元/剂）"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("疫苗议定价格")
        verbose_name_plural = _("疫苗议定价格")
        ordering = ["product", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["product", "effective_from"], name="vaccineprice_once_per_day"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="vaccineprice_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.effective_from:%Y-%m-%d} {self.price}"


class LotPrice(models.Model):
    """A lot's own contract price, from a date; where one is in force it replaces the product's price."""

    lot = models.ForeignKey("supply.Lot", models.PROTECT, related_name="+", verbose_name=_("批号"))
    effective_from = models.DateField(_("生效日期"))
    price = models.DecimalField(
        _("合同价格（元/剂）"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("批号合同价格")
        verbose_name_plural = _("批号合同价格")
        ordering = ["lot", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["lot", "effective_from"], name="lotprice_once_per_day"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="lotprice_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.lot_id} {self.effective_from:%Y-%m-%d} {self.price}"


class Status(models.TextChoices):
    DRAFT = "draft", _("草稿")
    CONFIRMED = "confirmed", _("接种单位已确认")
    APPROVED = "approved", _("县医保已审核")
    PAID = "paid", _("已支付")


def _money(label):
    return models.DecimalField(label, max_digits=14, decimal_places=2, default=domain.ZERO)


class Settlement(models.Model):
    """One site's settlement of one month (the month's first day), with its totals and its reconciliation."""

    site = models.ForeignKey("sites.Site", models.PROTECT, related_name="+", verbose_name=_("接种单位"))
    month = models.DateField(_("结算月份"))
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    computed_at = models.DateTimeField(_("计算时间"), null=True, blank=True)
    doses = models.IntegerField(_("医保基金支付剂次"), default=0)
    service_fee = _money(_("接种服务费（元）"))
    vaccine_cost = _money(_("疫苗费用（元）"))
    payable = _money(_("医保基金应付（元）"))
    subsidy_share = models.DecimalField(_("县财政补助比例"), max_digits=5, decimal_places=4, default=0)
    fiscal_subsidy = _money(_("县财政补助（元）"))
    old_channel_doses = models.IntegerField(_("原资金渠道剂次"), default=0)
    old_channel_amount = _money(_("原资金渠道金额（元）"))
    adjustment_lines = models.IntegerField(_("调整行数"), default=0)
    adjustment_amount = _money(_("调整金额（元）"))
    reconciled = models.BooleanField(_("与库存流水一致"), default=False)
    reconciliation = models.JSONField(_("对账明细"), default=list, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("确认人"),
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
    )
    approved_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    paid_on = models.DateField(_("支付日期"), null=True, blank=True)
    paid_reference = models.CharField(_("支付凭证号"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("月度结算")
        verbose_name_plural = _("月度结算")
        ordering = ["-month", "site"]
        constraints = [
            models.UniqueConstraint(fields=["site", "month"], name="settlement_once_per_site_month"),
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="settlement_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=Status.PAID)
                | (models.Q(paid_on__isnull=False) & ~models.Q(paid_reference="")),
                name="settlement_paid_has_date_and_reference",
            ),
        ]
        permissions = [
            ("confirm_settlement", "接种单位确认结算单"),
            ("approve_settlement", "县医保审核结算并登记支付"),
            ("run_settlement", "计算月度结算"),
            ("view_subsidy", "查看县财政补助汇总"),
            ("view_county_settlement", "查看全县结算汇总"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.site_id}"

    @property
    def frozen(self) -> bool:
        return self.status in domain.FROZEN


class LineKind(models.TextChoices):
    DOSE = "dose", _("接种")
    ADJUSTMENT = "adjustment", _("调整（作废冲减）")
    LATE = "late", _("调整（补录补付）")


class Channel(models.TextChoices):
    FUND = "fund", _("医保基金")
    OLD = "old", _("原资金渠道")


class SettlementLine(models.Model):
    """One dose paid for, with the prices in force on its day: ``dose``, a dose of the statement's month;
    ``late``, a dose of a month already settled but recorded after its statement was computed, paid in a later
    statement; ``adjustment``, negative, a dose voided after the statement paying it was approved. Written in
    bulk by one INSERT … SELECT (``services.settlement_run``)."""

    # No foreign key in the database: its check, deferred to the commit, costs a look-up per line (13 s of a
    # million-line month); a trigger checks the statements of a whole INSERT at once instead, and deletes a
    # deleted statement's lines (``0003``).
    settlement = models.ForeignKey(
        Settlement,
        models.CASCADE,
        related_name="lines",
        db_index=False,
        db_constraint=False,
        verbose_name=_("结算单"),
    )
    kind = models.CharField(_("类型"), max_length=12, choices=LineKind.choices)
    channel = models.CharField(_("资金渠道"), max_length=8, choices=Channel.choices)
    # Copies, not links the database checks: a line stays what was paid for.
    # No index of its own: a statement's lines are found by the statement; a dose's adjustment and late line by
    # the two partial unique indexes below (a full index would be paid for by every line of every month).
    dose = models.ForeignKey(
        "clinic.Dose",
        models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("接种记录"),
    )
    given_on = models.DateField(_("接种日期"))
    product_code = models.CharField(_("疫苗品种"), max_length=40)
    lot = models.ForeignKey(
        "supply.Lot",
        models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("批号"),
        db_index=False,
    )
    code_masked = models.CharField(_("追溯码（脱敏）"), max_length=40, blank=True)
    vaccine_price = models.DecimalField(_("疫苗价格（元）"), max_digits=10, decimal_places=2)
    service_fee = models.DecimalField(_("接种服务费（元）"), max_digits=8, decimal_places=2)

    class Meta:
        verbose_name = _("结算明细")
        verbose_name_plural = _("结算明细")
        ordering = ["settlement", "given_on", "id"]
        # One index for a statement's lines (no unique one over three columns: every line of a million-dose
        # month would pay for it; the run's row locks and its delete-then-insert keep a dose once per statement).
        indexes = [models.Index(fields=["settlement"], name="settlementline_settlement")]
        constraints = [
            # A voided dose is taken back once, in one settlement.
            models.UniqueConstraint(
                fields=["dose"], condition=models.Q(kind="adjustment"), name="settlementline_one_adjustment"
            ),
            # A dose recorded after its month was settled is paid once, in one later settlement.
            models.UniqueConstraint(
                fields=["dose"], condition=models.Q(kind="late"), name="settlementline_one_late"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.given_on} {self.product_code} {self.vaccine_price}+{self.service_fee}"
