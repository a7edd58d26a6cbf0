"""Vaccination sites, their desks and hours, staff with certificates, and the daily sessions whose
"四有" readiness must be confirmed before they open."""

import enum

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import domain


def _choices(name: str, kinds: type[enum.StrEnum]) -> type[models.TextChoices]:
    """Django choices from one of the domain's enums (the values and Chinese labels are defined there once);
    the labels stay translatable."""
    return models.TextChoices(name, [(k.name, (k.value, _(k.label_zh))) for k in kinds])


def display(choices: type[models.TextChoices], value) -> str:
    """What ``get_<field>_display()`` shows for ``value`` of a field with these choices (the value itself when
    it is not one of them), without rebuilding the choices' mapping on every call as Django does."""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


SiteKind = _choices("SiteKind", domain.SiteKind)
DeskKind = _choices("DeskKind", domain.DeskKind)
StaffRole = _choices("StaffRole", domain.StaffRole)
CertificateKind = _choices("CertificateKind", domain.CertificateKind)
ReadinessItem = _choices("ReadinessItem", domain.ReadinessItem)


class Site(models.Model):
    """A vaccination unit (接种单位/接种点): where sessions are held and doses given."""

    code = models.CharField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=SiteKind.choices, default=SiteKind.FIXED)
    division = models.ForeignKey(
        "jurisdictions.Division", models.PROTECT, related_name="+", verbose_name=_("行政区划")
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    stock_place = models.OneToOneField(
        "supply.StockPlace",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="site",
        verbose_name=_("库存地点（冷链）"),
    )
    hospital_name = models.CharField(_("定点救治医院"), max_length=100, blank=True)
    hospital_phone = models.CharField(_("救治医院电话"), max_length=40, blank=True)
    per_desk_per_hour = models.PositiveSmallIntegerField(
        _("每接种台每小时接种人数"), default=20, validators=[MinValueValidator(1)]
    )
    slot_minutes = models.PositiveSmallIntegerField(
        _("预约时段长度（分钟）"), default=30, validators=[MinValueValidator(5), MaxValueValidator(240)]
    )
    walk_in_share = models.DecimalField(
        _("现场号比例"),
        max_digits=3,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    active = models.BooleanField(_("启用"), default=True)
    qualification_number = models.CharField(
        _("接种单位资格编号"), max_length=60, blank=True, help_text=_("已取得资格的预防接种单位方可接种")
    )
    qualification_date = models.DateField(_("资格认定日期"), null=True, blank=True)
    planned_opening = models.DateField(_("拟启用日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("接种单位")
        verbose_name_plural = _("接种单位")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=SiteKind.values), name="site_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(walk_in_share__gte=0) & models.Q(walk_in_share__lte=1),
                name="site_walk_in_share_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Desk(models.Model):
    site = models.ForeignKey(Site, models.CASCADE, related_name="desks", verbose_name=_("接种单位"))
    kind = models.CharField(_("类型"), max_length=20, choices=DeskKind.choices)
    number = models.PositiveSmallIntegerField(_("编号"))
    also = models.JSONField(
        _("兼作"),
        default=list,
        blank=True,
        help_text=_("合并工作台另外承担的环节，如流动接种队的“登记+预检”台：registration、screening…"),
    )

    class Meta:
        verbose_name = _("工作台")
        verbose_name_plural = _("工作台")
        ordering = ["site", "kind", "number"]
        constraints = [models.UniqueConstraint(fields=["site", "kind", "number"], name="desk_once")]

    def __str__(self) -> str:
        if self.also:
            return f"{domain.desk_label(self.kind, self.also)}{self.number}"
        return f"{display(DeskKind, self.kind)}{self.number}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if not isinstance(self.also, list) or any(k not in DeskKind.values for k in self.also):
            raise ValidationError(
                {"also": _("兼作环节须为以下之一：%(kinds)s") % {"kinds": "、".join(DeskKind.values)}}
            )

    @property
    def serves(self) -> tuple[domain.DeskKind, ...]:
        return domain.desk_serves(self.kind, self.also or ())


class OpeningHours(models.Model):
    site = models.ForeignKey(Site, models.CASCADE, related_name="hours", verbose_name=_("接种单位"))
    weekday = models.PositiveSmallIntegerField(
        _("星期"), validators=[MaxValueValidator(6)], help_text=_("0=星期一 … 6=星期日")
    )
    start = models.TimeField(_("开始"))
    end = models.TimeField(_("结束"))

    class Meta:
        verbose_name = _("开放时间")
        verbose_name_plural = _("开放时间")
        ordering = ["site", "weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="hours_order")
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.start}-{self.end}"


class HoursException(models.Model):
    site = models.ForeignKey(Site, models.CASCADE, related_name="exceptions", verbose_name=_("接种单位"))
    day = models.DateField(_("日期"))
    closed = models.BooleanField(_("停诊"), default=True)
    start = models.TimeField(_("开始"), null=True, blank=True)
    end = models.TimeField(_("结束"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("开放时间例外")
        verbose_name_plural = _("开放时间例外")
        ordering = ["site", "day", "start"]

    def __str__(self) -> str:
        return f"{self.day} {'停诊' if self.closed else ''}"


class StaffMember(models.Model):
    """A person who works at sites: their roles and certificates decide where they may be assigned."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("系统账号"),
    )
    site = models.ForeignKey(Site, models.PROTECT, related_name="staff", verbose_name=_("所属接种单位"))
    name = models.CharField(_("姓名"), max_length=50)
    roles = models.JSONField(_("岗位"), default=list)
    phone = models.CharField(_("电话"), max_length=20, blank=True)
    active = models.BooleanField(_("在岗"), default=True)

    class Meta:
        verbose_name = _("工作人员")
        verbose_name_plural = _("工作人员")
        ordering = ["site", "name"]

    def __str__(self) -> str:
        return self.name


class Certificate(models.Model):
    staff = models.ForeignKey(
        StaffMember, models.CASCADE, related_name="certificates", verbose_name=_("工作人员")
    )
    kind = models.CharField(_("证书类型"), max_length=20, choices=CertificateKind.choices)
    number = models.CharField(_("证书编号"), max_length=60)
    valid_from = models.DateField(_("生效日期"))
    valid_to = models.DateField(_("有效期至"), null=True, blank=True, help_text=_("留空表示长期有效"))
    issuer = models.CharField(_("发证机构"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("培训与资格证书")
        verbose_name_plural = _("培训与资格证书")
        ordering = ["staff", "kind", "-valid_to"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                name="certificate_dates_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class SessionStatus(models.TextChoices):
    PLANNED = "planned", _("计划")
    OPEN = "open", _("开诊")
    CLOSED = "closed", _("结束")


class VenueKind(models.TextChoices):
    SITE = "site", _("本接种单位")
    VILLAGE = "village", _("村（社区）")
    EMPLOYER = "employer", _("单位驻地")
    ADDRESS = "address", _("其他地址")


class Session(models.Model):
    """One site's working day; it opens only when the "四有" readiness checklist is complete. A mobile team
    (流动接种队, a site of kind ``mobile``) or a temporary site works at a venue away from its base: a
    village, an employer's premises or an address."""

    site = models.ForeignKey(Site, models.PROTECT, related_name="sessions", verbose_name=_("接种单位"))
    day = models.DateField(_("日期"))
    status = models.CharField(
        _("状态"), max_length=10, choices=SessionStatus.choices, default=SessionStatus.PLANNED
    )
    desks = models.PositiveSmallIntegerField(_("接种台数"))
    venue_kind = models.CharField(
        _("接种地点"), max_length=10, choices=VenueKind.choices, default=VenueKind.SITE
    )
    venue_village = models.ForeignKey(
        "jurisdictions.Division",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("村（社区）"),
    )
    venue_employer = models.ForeignKey(
        "registry.Employer",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("单位"),
    )
    venue_address = models.CharField(_("地址"), max_length=200, blank=True)
    opened_at = models.DateTimeField(_("开诊时间"), null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("开诊人"),
    )

    class Meta:
        verbose_name = _("接种场次")
        verbose_name_plural = _("接种场次")
        ordering = ["day", "site"]
        constraints = [
            models.UniqueConstraint(fields=["site", "day"], name="session_once_per_site_day"),
            models.CheckConstraint(
                condition=models.Q(status__in=SessionStatus.values), name="session_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(venue_kind__in=VenueKind.values), name="session_venue_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.day}"

    @property
    def venue_label(self) -> str:
        """Where the session is held, in Chinese: the village, the employer or the address (with the
        address added when given); the site's own address for a session at the site."""
        kind = self.venue_kind
        if kind == VenueKind.VILLAGE and self.venue_village_id:
            name = self.venue_village.name
        elif kind == VenueKind.EMPLOYER and self.venue_employer_id:
            name = self.venue_employer.name
        elif kind == VenueKind.ADDRESS:
            return self.venue_address
        else:
            return self.site.address or self.site.name
        return f"{name}（{self.venue_address}）" if self.venue_address else name


class ReadinessCheck(models.Model):
    session = models.ForeignKey(Session, models.CASCADE, related_name="readiness", verbose_name=_("接种场次"))
    item = models.CharField(_("项目"), max_length=20, choices=ReadinessItem.choices)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("确认人")
    )
    confirmed_at = models.DateTimeField(_("确认时间"))
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("开诊准备确认")
        verbose_name_plural = _("开诊准备确认")
        constraints = [models.UniqueConstraint(fields=["session", "item"], name="readiness_once_per_item")]

    def __str__(self) -> str:
        return self.get_item_display()


class Assignment(models.Model):
    """A staff member at a desk for a session; a vaccinator needs a valid training certificate that day."""

    session = models.ForeignKey(
        Session, models.CASCADE, related_name="assignments", verbose_name=_("接种场次")
    )
    staff = models.ForeignKey(
        StaffMember, models.PROTECT, related_name="assignments", verbose_name=_("工作人员")
    )
    desk = models.ForeignKey(
        Desk,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments",
        verbose_name=_("工作台"),
        help_text=_("医疗救治人员为现场值守，不在工作台"),
    )
    role = models.CharField(_("岗位"), max_length=20, choices=StaffRole.choices)

    class Meta:
        verbose_name = _("排班")
        verbose_name_plural = _("排班")
        constraints = [
            models.UniqueConstraint(fields=["session", "staff"], name="assignment_one_desk_per_session"),
            # Rescue staff are on duty for the site (no desk); everyone else is at a desk.
            models.CheckConstraint(
                condition=(models.Q(role="rescue") & models.Q(desk__isnull=True))
                | (~models.Q(role="rescue") & models.Q(desk__isnull=False)),
                name="assignment_desk_unless_rescue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff} @ {self.desk or _('现场救治值守')}"
