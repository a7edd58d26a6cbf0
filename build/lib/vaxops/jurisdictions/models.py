from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    PROVINCE = 1, _("省")
    CITY = 2, _("市")
    COUNTY = 3, _("县")
    TOWNSHIP = 4, _("乡镇/街道")
    VILLAGE = 5, _("村/社区")


# How many leading digits of the 12-digit statistical code identify a node at
# each level; the rest of the code is zero for that node.
PREFIX_LENGTH = {Level.PROVINCE: 2, Level.CITY: 4, Level.COUNTY: 6, Level.TOWNSHIP: 9, Level.VILLAGE: 12}


def code_range(code: str, level: int) -> tuple[str, str]:
    """The inclusive range of 12-digit codes inside the node ``code`` at ``level``."""
    prefix = code[: PREFIX_LENGTH[Level(level)]]
    return prefix.ljust(12, "0"), prefix.ljust(12, "9")


class Division(models.Model):
    """A node of the tree 省 → 市 → 县 → 乡镇/街道 → 村/社区.

    ``code`` is the 12-digit statistical code, zero-padded for the upper levels
    (330000000000 for 浙江省), so that every subtree is one range of codes and
    scoping a query is an indexed ``BETWEEN``.
    """

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    level = models.PositiveSmallIntegerField(_("层级"), choices=Level.choices)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children")

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=5), name="division_level_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.short_code}）"

    @property
    def short_code(self) -> str:
        """The code without its zero padding: 6 digits for a county (GB/T 2260), 9 for a township."""
        return self.code[: PREFIX_LENGTH[Level(self.level)]]

    @property
    def code_range(self) -> tuple[str, str]:
        return code_range(self.code, self.level)

    def contains(self, other_code: str) -> bool:
        low, high = self.code_range
        return low <= other_code <= high
