from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .domain import IdType


class PriorityGroup(models.Model):
    """A 重点人群 category. ``phase`` is the seed's 三阶段 grouping, used to order the groups; who may be
    booked when is decided by the campaign phases of the catalogue (``catalog.Phase``), not by this field."""

    code = models.CharField(_("代码"), max_length=32, unique=True)
    name_zh = models.CharField(_("名称"), max_length=64)
    name_en = models.CharField(_("英文名称"), max_length=64, blank=True)
    phase = models.PositiveSmallIntegerField(_("阶段"), default=3)
    sort = models.PositiveSmallIntegerField(default=100)

    class Meta:
        verbose_name = _("人群分类")
        verbose_name_plural = _("人群分类")
        ordering = ["phase", "sort", "code"]

    def __str__(self) -> str:
        return self.name_zh


class Sector(models.Model):
    """A 行业主管部门 (e.g. 县教育局, 县卫健局) answerable for the employers of its trade: progress is read by
    place (属地责任) and by sector (行业管理责任)."""

    code = models.CharField(_("部门代码"), max_length=32, unique=True)
    name = models.CharField(_("部门名称"), max_length=100)
    division = models.ForeignKey(
        "jurisdictions.Division", models.PROTECT, related_name="+", verbose_name=_("所属区划")
    )

    class Meta:
        verbose_name = _("行业主管部门")
        verbose_name_plural = _("行业主管部门")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Employer(models.Model):
    """A 工作单位 whose contact books its staff; scoped users of the employer see only its staff."""

    code = models.CharField(_("单位代码"), max_length=32, unique=True)
    name = models.CharField(_("单位名称"), max_length=100, db_index=True)
    division = models.ForeignKey(
        "jurisdictions.Division", models.PROTECT, related_name="+", verbose_name=_("所在区划")
    )
    priority_group = models.ForeignKey(
        PriorityGroup, models.PROTECT, null=True, blank=True, verbose_name=_("人群分类")
    )
    sector = models.ForeignKey(
        Sector,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="employers",
        verbose_name=_("行业主管部门"),
    )

    class Meta:
        verbose_name = _("工作单位")
        verbose_name_plural = _("工作单位")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Willingness(models.TextChoices):
    UNKNOWN = "unknown", _("未登记")
    WILLING = "willing", _("愿意")
    HESITANT = "hesitant", _("犹豫")
    REFUSED = "refused", _("拒绝")


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class GroupKind(models.TextChoices):
    GROUP = "group", _("村民小组")
    BUILDING = "building", _("楼栋")
    UNIT = "unit", _("单元")


class VillageGroup(models.Model):
    """A cell of the grid (网格化) inside a village or community: a 村民小组, a 楼栋 or a 单元 of a building,
    nested one inside another (社区管楼长，楼长管单元长：一级套一级), each with its named head (组长、楼长、
    单元长), who may hold a log-in (the ``grid_head`` role) to follow up the group's people."""

    village = models.ForeignKey(
        "jurisdictions.Division", models.PROTECT, related_name="+", verbose_name=_("村（社区）")
    )
    parent = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("上一级")
    )
    kind = models.CharField(_("类型"), max_length=10, choices=GroupKind.choices, default=GroupKind.GROUP)
    name = models.CharField(_("名称"), max_length=50)
    head_name = models.CharField(_("负责人"), max_length=50, blank=True)
    head_phone = models.CharField(_("负责人电话"), max_length=20, blank=True)
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="grid_groups",
        verbose_name=_("负责人账号"),
    )

    class Meta:
        verbose_name = _("村民小组（楼栋、单元）")
        verbose_name_plural = _("村民小组（楼栋、单元）")
        ordering = ["village", "parent_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["village", "parent", "name"], name="villagegroup_name_once"),
            models.CheckConstraint(
                condition=models.Q(kind__in=GroupKind.values), name="villagegroup_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent}·{self.name}" if self.parent_id else self.name


class Resident(models.Model):
    """One person, one record (建档立卡), keyed by the normalised identity document."""

    id_type = models.CharField(_("证件类型"), max_length=20, choices=[(t.value, t.value) for t in IdType])
    id_number = models.CharField(_("证件号码"), max_length=32)
    name = models.CharField(_("姓名"), max_length=50)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    phone = models.CharField(_("手机号码"), max_length=11, blank=True)
    address = models.CharField(_("现住址"), max_length=200, blank=True)
    # No index of its own: every query goes by village_code (below), and each
    # extra index is paid on every one of a million imported rows.
    village = models.ForeignKey(
        "jurisdictions.Division",
        models.PROTECT,
        related_name="+",
        verbose_name=_("村（社区）"),
        db_index=False,
    )
    # Denormalised from village.code: scoping every query by a code range needs no join.
    village_code = models.CharField(_("村（社区）代码"), max_length=12)
    employer = models.ForeignKey(
        Employer,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("工作单位"),
        db_index=False,
    )  # covered by resident_employer_name
    employer_name = models.CharField(_("工作单位名称"), max_length=100, blank=True)
    occupation = models.CharField(_("职业"), max_length=50, blank=True)
    priority_group = models.ForeignKey(
        PriorityGroup, models.PROTECT, null=True, blank=True, verbose_name=_("人群分类"), db_index=False
    )
    chronic_conditions = models.CharField(_("慢性病"), max_length=200, blank=True)
    pregnant = models.BooleanField(_("妊娠"), default=False)
    willingness = models.CharField(
        _("接种意愿"), max_length=10, choices=Willingness.choices, default=Willingness.UNKNOWN
    )
    willingness_reason = models.CharField(_("意愿原因"), max_length=200, blank=True)
    group = models.ForeignKey(
        VillageGroup,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="residents",
        verbose_name=_("村民小组（楼栋、单元）"),
        # Read only within one village (the village_code range narrows first); no index to pay on imports.
        db_index=False,
    )
    created_at = models.DateTimeField(_("建档时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        ordering = ["village_code", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["id_number", "id_type"], name="resident_one_record_per_document"),
            models.CheckConstraint(condition=models.Q(sex__in=["", "M", "F"]), name="resident_sex_valid"),
            models.CheckConstraint(
                condition=models.Q(willingness__in=["unknown", "willing", "hesitant", "refused"]),
                name="resident_willingness_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["village_code", "name"], name="resident_village_name"),
            models.Index(fields=["employer", "name"], name="resident_employer_name"),
        ]
        permissions = [
            ("reveal_identity", "查看完整证件号码和手机号码"),
            ("search_by_document", "按完整证件号码查找居民"),
            ("import_residents", "导入摸底名单"),
            ("view_statistics", "查看统计数据"),
        ]

    def __str__(self) -> str:
        from .domain import mask_name

        return mask_name(self.name)

    @property
    def id_number_masked(self) -> str:
        from .domain import mask_id

        return mask_id(self.id_number)

    @property
    def phone_masked(self) -> str:
        from .domain import mask_phone

        return mask_phone(self.phone) if self.phone else ""

    @property
    def priority_group_code(self) -> str | None:
        return self.priority_group.code if self.priority_group_id else None


class WillingnessChange(models.Model):
    """One change of a person's willingness, with who recorded it, when, why and from where (a follow-up, a
    correction): the history the import's single column cannot keep."""

    resident = models.ForeignKey(
        Resident, models.CASCADE, related_name="willingness_changes", verbose_name=_("居民")
    )
    old = models.CharField(_("原意愿"), max_length=10, choices=Willingness.choices)
    new = models.CharField(_("新意愿"), max_length=10, choices=Willingness.choices)
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    source = models.CharField(_("来源"), max_length=30, blank=True)
    at = models.DateTimeField(_("时间"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+", verbose_name=_("记录人")
    )

    class Meta:
        verbose_name = _("接种意愿变化")
        verbose_name_plural = _("接种意愿变化")
        ordering = ["resident", "at", "id"]

    def __str__(self) -> str:
        return f"{self.old}→{self.new}"


class ImportJob(models.Model):
    """One census file being (or having been) imported, with its progress and row errors."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("导入中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    filename = models.CharField(max_length=200)
    file = models.FileField(upload_to="imports/%Y/%m/")
    village_code = models.CharField(max_length=12, blank=True)
    employer_code = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    bytes_total = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    read = models.IntegerField(default=0)
    created = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.bytes_total:
            return 0
        return min(99, int(self.bytes_done * 100 / self.bytes_total))
