"""The denominators progress is measured against."""

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
