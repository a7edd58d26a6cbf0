"""The denominators progress is measured against."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .domain import KIND_LABELS, PopulationKind


class Population(models.Model):
    """A division's population (户籍 or 常住) in a year: everyone, aged 18+ and aged 60+ (统计口径).

    Loaded from the statistics bureau's table (``vaxops load-population``) and editable by the county; the
    coverage of a division and year is read against the row of that division, year and kind."""

    division = models.ForeignKey(
        "jurisdictions.Division", models.PROTECT, related_name="+", verbose_name=_("行政区划")
    )
    year = models.PositiveSmallIntegerField(_("年份"))
    kind = models.CharField(
        _("人口口径"), max_length=12, choices=[(k.value, KIND_LABELS[k]) for k in PopulationKind]
    )
    total = models.PositiveIntegerField(_("总人口"))
    age_18_plus = models.PositiveIntegerField(_("18岁及以上"))
    age_60_plus = models.PositiveIntegerField(_("60岁及以上"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("人口数")
        verbose_name_plural = _("人口数")
        ordering = ["division__code", "-year", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["division", "year", "kind"], name="population_once_per_year_kind"
            ),
            models.CheckConstraint(
                condition=models.Q(age_18_plus__lte=models.F("total"))
                & models.Q(age_60_plus__lte=models.F("age_18_plus")),
                name="population_age_bands_nest",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.division_id and self.division.name} {self.year} {self.get_kind_display()}: {self.total}"
        )


class GroupPopulation(models.Model):
    """How many people of a priority group (重点人群, e.g. 医务人员) a division counts in a year: the group's
    denominator, so that the dashboard reads the group's coverage (people vaccinated ÷ this).

    Loaded from the same table as the population (``vaxops load-population``: a row with the 人群分类 column
    filled) and editable by the county; the coverage of a group in a division and year is read against the row
    of that division and group for the year or the latest year before it."""

    division = models.ForeignKey(
        "jurisdictions.Division", models.PROTECT, related_name="+", verbose_name=_("行政区划")
    )
    year = models.PositiveSmallIntegerField(_("年份"))
    group = models.ForeignKey(
        "registry.PriorityGroup", models.PROTECT, related_name="+", verbose_name=_("人群分类")
    )
    total = models.PositiveIntegerField(_("人数"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("重点人群人数")
        verbose_name_plural = _("重点人群人数")
        ordering = ["division__code", "-year", "group__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["division", "year", "group"], name="group_population_once_per_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self.division_id and self.division.name} {self.year} {self.group_id and self.group}: {self.total}"


class DailyReport(models.Model):
    """A township's 日报表 for a day as it confirmed it: the figures of that moment, kept as they were.

    Version 1 is the confirmation (due by 17:00 Beijing time); a correction after it is a new version with its
    reason, never an edit."""

    township = models.ForeignKey(
        "jurisdictions.Division", models.PROTECT, related_name="+", verbose_name=_("乡镇（街道）")
    )
    day = models.DateField(_("统计日期"))
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    figures = models.JSONField(_("报表数据"))
    note = models.CharField(_("备注"), max_length=500, blank=True)
    reason = models.CharField(_("更正原因"), max_length=200, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+", verbose_name=_("确认人")
    )
    confirmed_at = models.DateTimeField(_("确认时间"))
    late = models.BooleanField(_("逾期确认"), default=False)

    class Meta:
        verbose_name = _("日报表")
        verbose_name_plural = _("日报表")
        ordering = ["-day", "township__code", "-version"]
        permissions = [("confirm_dailyreport", "确认本乡镇日报表")]
        constraints = [
            models.UniqueConstraint(fields=["township", "day", "version"], name="daily_report_version_once"),
            models.CheckConstraint(
                condition=models.Q(version=1) | ~models.Q(reason=""),
                name="daily_report_correction_has_reason",
            ),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="daily_report_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.township_id and self.township.name} {self.day} v{self.version}"


class DailyReportLate(models.Model):
    """A township that had not confirmed its day's report when the 17:00 job ran (逾期未报)."""

    township = models.ForeignKey(
        "jurisdictions.Division", models.PROTECT, related_name="+", verbose_name=_("乡镇（街道）")
    )
    day = models.DateField(_("统计日期"))
    marked_at = models.DateTimeField(_("标记时间"))

    class Meta:
        verbose_name = _("逾期未报")
        verbose_name_plural = _("逾期未报")
        ordering = ["-day", "township__code"]
        constraints = [models.UniqueConstraint(fields=["township", "day"], name="daily_report_late_once")]

    def __str__(self) -> str:
        return f"{self.township_id and self.township.name} {self.day}"


# ------------------------------------------------------------------------------- facts kept as doses happen
#
# Kept in the transaction of every dose, void and external dose (``receivers.py``), recomputed in bulk by
# ``vaxops report rebuild`` and compared with a recount by ``vaxops report check``. ``site_id``, ``group_id``
# and ``employer_id`` hold 0 for "none" (an external dose, no group, no employer) so that every dimension takes
# part in the unique key the upserts meet on. A "total" table holds the same counts without the day: a figure
# as of a day is the total less what happened after it.


class DoseFact(models.Model):
    """Standing doses given on a day to the people of a village, by site, product and dose kind."""

    day = models.DateField()
    village_code = models.CharField(max_length=12)
    site_id = models.BigIntegerField(default=0)
    product_code = models.CharField(max_length=40)
    kind = models.PositiveSmallIntegerField()  # domain.DoseKind
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("接种剂次（按日）")
        verbose_name_plural = verbose_name
        constraints = [
            models.UniqueConstraint(
                fields=["day", "village_code", "site_id", "product_code", "kind"], name="dose_fact_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.village_code} {self.product_code} #{self.kind}: {self.n}"


class DoseTotal(models.Model):
    """``DoseFact`` summed over every day."""

    village_code = models.CharField(max_length=12)
    site_id = models.BigIntegerField(default=0)
    product_code = models.CharField(max_length=40)
    kind = models.PositiveSmallIntegerField()
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("接种剂次（累计）")
        verbose_name_plural = verbose_name
        constraints = [
            models.UniqueConstraint(
                fields=["village_code", "site_id", "product_code", "kind"], name="dose_total_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.village_code} {self.product_code} #{self.kind}: {self.n}"


class PeopleFact(models.Model):
    """People of a village who reached a step on a day (first dose, completed primary course, first booster),
    by their age band on that day, sex, priority group and employer."""

    day = models.DateField()
    village_code = models.CharField(max_length=12)
    event = models.PositiveSmallIntegerField()  # domain.Event
    band = models.PositiveSmallIntegerField()  # domain.BANDS
    sex = models.CharField(max_length=1, blank=True)
    group_id = models.BigIntegerField(default=0)
    employer_id = models.BigIntegerField(default=0)
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("接种人数（按日）")
        verbose_name_plural = verbose_name
        constraints = [
            models.UniqueConstraint(
                fields=["day", "village_code", "event", "band", "sex", "group_id", "employer_id"],
                name="people_fact_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.village_code} event {self.event}: {self.n}"


class PeopleTotal(models.Model):
    """``PeopleFact`` summed over every day."""

    village_code = models.CharField(max_length=12)
    event = models.PositiveSmallIntegerField()
    band = models.PositiveSmallIntegerField()
    sex = models.CharField(max_length=1, blank=True)
    group_id = models.BigIntegerField(default=0)
    employer_id = models.BigIntegerField(default=0)
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("接种人数（累计）")
        verbose_name_plural = verbose_name
        constraints = [
            models.UniqueConstraint(
                fields=["village_code", "event", "band", "sex", "group_id", "employer_id"],
                name="people_total_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.village_code} event {self.event}: {self.n}"


class PersonProgress(models.Model):
    """What one person adds to the facts now: where they count and their doses' kinds, so that a change of
    their record applies (new − old) to the facts without reading anyone else."""

    resident_id = models.BigIntegerField(primary_key=True)
    village_code = models.CharField(max_length=12)
    birth_date = models.DateField(null=True)
    sex = models.CharField(max_length=1, blank=True)
    group_id = models.BigIntegerField(default=0)
    employer_id = models.BigIntegerField(default=0)
    first_on = models.DateField(null=True)
    completed_on = models.DateField(null=True)
    booster_on = models.DateField(null=True)
    doses = models.TextField(blank=True)  # domain.doses_text

    class Meta:
        verbose_name = _("个人接种进度")
        verbose_name_plural = verbose_name

    def __str__(self) -> str:
        return f"{self.resident_id}: {self.first_on} / {self.completed_on} / {self.booster_on}"


class WeeklyBulletin(models.Model):
    """A county's 周通报 for a Monday-to-Sunday week: townships and sector departments / employers ranked by
    coverage and by the week's progress against their quota, with their bands (红/黄/绿), the week's totals and
    the change from the week before. ``figures`` is the snapshot the PDF and XLSX are made from; a draft is
    regenerated until the county publishes it, and a published bulletin is frozen."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")

    division = models.ForeignKey(
        "jurisdictions.Division", models.PROTECT, related_name="+", verbose_name=_("行政区划")
    )
    week_start = models.DateField(_("周起始日（周一）"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    figures = models.JSONField(_("通报数据"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+", verbose_name=_("生成人")
    )
    created_at = models.DateTimeField(_("生成时间"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("发布人"),
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("周通报")
        verbose_name_plural = _("周通报")
        ordering = ["-week_start", "division__code"]
        permissions = [
            ("publish_weeklybulletin", "审核发布周通报"),
            ("view_dashboard", "查看接种进度看板"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["division", "week_start"], name="weekly_bulletin_once_per_week"),
            models.CheckConstraint(
                condition=models.Q(status="draft", published_at__isnull=True)
                | models.Q(status="published", published_at__isnull=False),
                name="weekly_bulletin_published_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.division_id and self.division.name} {self.week_start}"
