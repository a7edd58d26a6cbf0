"""Products and their versioned schedules (免疫程序), looked up through the ``Catalogue``.

Construction validates each value, and the ``Catalogue`` the cross-references between them, so the admin
refuses exactly what the engine would.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Final, Literal

from .dates import add_years, age_on

__all__ = [
    "ALL",
    "BoosterRule",
    "Catalogue",
    "Interval",
    "Platform",
    "Product",
    "ProductScope",
    "SchedulePolicy",
    "Scope",
]


class Platform(enum.StrEnum):
    """Technical route (技术路线); a course may only be completed within one platform."""

    INACTIVATED = "inactivated"
    ADENOVIRUS = "adenovirus"
    PROTEIN = "protein"
    MRNA = "mrna"

    @property
    def label_zh(self) -> str:
        return _PLATFORM_ZH[self]


_PLATFORM_ZH: Final[dict[Platform, str]] = {
    Platform.INACTIVATED: "灭活疫苗",
    Platform.ADENOVIRUS: "腺病毒载体疫苗",
    Platform.PROTEIN: "重组蛋白疫苗",
    Platform.MRNA: "mRNA疫苗",
}


class Scope(enum.Enum):
    """Sentinel type for "every product"; use the module constant ``ALL``."""

    ALL = "all"


ALL: Final = Scope.ALL
ProductScope = tuple[str, ...] | Literal[Scope.ALL]


@dataclass(frozen=True)
class Product:
    """One vaccine product (品种) as the county's catalogue knows it.

    ``dcc_mp``/``dcc_ma``/``dcc_vp`` are EU DCC value-set codes (medicinal product, marketing
    authorisation holder or manufacturer, vaccine/prophylaxis); ``None`` where the value set has none.
    ``open_vial_discard_hours`` is ``None`` for single-dose presentations. ``max_age_years`` ``None``
    means no upper age limit.
    """

    code: str
    name_zh: str
    name_en: str
    manufacturer_zh: str
    manufacturer_en: str
    mah: str
    platform: Platform
    dcc_mp: str | None
    dcc_ma: str | None
    dcc_vp: str | None
    presentation: str
    doses_per_vial: int
    open_vial_discard_hours: int | None
    dose_volume_ml: float
    route: str
    site: str
    storage_min_c: float
    storage_max_c: float
    trace_prefixes: tuple[str, ...]
    min_age_years: int
    max_age_years: int | None = None
    # The short Chinese name nurses know (国药北京, 科兴…); the code stays the key in data and exchange.
    short_name_zh: str = ""

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("产品编码不能为空")
        for prefix in self.trace_prefixes:
            if len(prefix) != 7 or not prefix.isdigit():
                raise ValueError(f"{self.code}: 追溯码前缀必须是7位数字，收到“{prefix}”")
        if self.doses_per_vial < 1:
            raise ValueError(f"{self.code}: 每瓶剂数必须≥1")
        if self.storage_min_c > self.storage_max_c:
            raise ValueError(f"{self.code}: 储存温度下限高于上限")
        if self.min_age_years < 0 or (
            self.max_age_years is not None and self.max_age_years < self.min_age_years
        ):
            raise ValueError(f"{self.code}: 适用年龄范围无效")

    @property
    def short_zh(self) -> str:
        """What a person reads: the short Chinese name, or the code when the catalogue has none."""
        return self.short_name_zh or self.code

    @property
    def label_zh(self) -> str:
        """Name as shown at the desk: generic name plus manufacturer, since three products share a name."""
        return f"{self.name_zh}（{self.manufacturer_zh}）"

    def min_age_date(self, birth_date: dt.date) -> dt.date:
        """First day the person is old enough for this product."""
        return add_years(birth_date, self.min_age_years)

    def too_old_on(self, birth_date: dt.date, on: dt.date) -> bool:
        return self.max_age_years is not None and age_on(birth_date, on) > self.max_age_years


@dataclass(frozen=True)
class Interval:
    """Gap before the next primary dose, counted from the previous valid dose.

    ``latest_days`` (from the previous dose) and ``latest_from_dose1_days`` (from dose 1) are the
    recommended completion windows; missing them never invalidates a dose (an interrupted course is
    continued), it only makes the next dose overdue. ``None`` means no such limit.
    """

    min_days: int
    recommended_days: int
    latest_days: int | None = None
    latest_from_dose1_days: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.min_days <= self.recommended_days:
            raise ValueError("间隔设置无效：须 0 ≤ 最短间隔 ≤ 推荐间隔")
        for latest in (self.latest_days, self.latest_from_dose1_days):
            if latest is not None and latest < self.recommended_days:
                raise ValueError("间隔设置无效：最晚间隔不能短于推荐间隔")


@dataclass(frozen=True)
class BoosterRule:
    """One booster dose after the primary course; ``allowed_products`` lists homologous and
    heterologous (序贯) products in order of preference. ``recommended_days_after_primary`` ``None``
    means the minimum is also the recommendation."""

    min_days_after_primary: int
    allowed_products: tuple[str, ...]
    recommended_days_after_primary: int | None = None
    min_age_years: int = 18

    def __post_init__(self) -> None:
        if not self.allowed_products:
            raise ValueError("加强免疫须至少允许一个品种")
        rec = self.recommended_days_after_primary
        if self.min_days_after_primary < 0 or (rec is not None and rec < self.min_days_after_primary):
            raise ValueError("加强免疫间隔设置无效")

    @property
    def recommended_days(self) -> int:
        return self.recommended_days_after_primary or self.min_days_after_primary


@dataclass(frozen=True)
class SchedulePolicy:
    """The schedule (免疫程序) for courses started with ``product_code``, in force from
    ``effective_from`` to ``effective_to`` inclusive (``None`` = still in force).

    ``intervals[i]`` is the gap between dose i+1 and dose i+2. ``completion_products`` are the
    same-platform products that may complete a course begun with this product (the product itself is
    always allowed). ``booster`` is ``None`` when the policy has no booster.
    """

    product_code: str
    effective_from: dt.date
    effective_to: dt.date | None
    primary_doses: int
    intervals: tuple[Interval, ...]
    completion_products: tuple[str, ...]
    booster: BoosterRule | None = None
    grace_days: int = 4
    min_gap_other_vaccines_days: int = 14

    def __post_init__(self) -> None:
        if self.primary_doses < 1:
            raise ValueError(f"{self.product_code}: 基础免疫剂次必须≥1")
        if len(self.intervals) != self.primary_doses - 1:
            raise ValueError(f"{self.product_code}: 间隔数量应为剂次数减一")
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(f"{self.product_code}: 失效日期早于生效日期")
        if self.grace_days < 0 or self.min_gap_other_vaccines_days < 0:
            raise ValueError(f"{self.product_code}: 宽限期和间隔天数不能为负")

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def allows_completion_with(self, product_code: str) -> bool:
        return product_code == self.product_code or product_code in self.completion_products


@dataclass(frozen=True)
class Catalogue:
    """Products plus their versioned schedules, with look-ups. Construction validates cross-references
    (unknown codes, completion across platforms, overlapping versions) and raises ``ValueError``."""

    products: tuple[Product, ...]
    policies: tuple[SchedulePolicy, ...]
    _by_code: dict[str, Product] = field(init=False, repr=False, compare=False)
    _by_mp: dict[str, Product] = field(init=False, repr=False, compare=False)
    _policies: dict[str, tuple[SchedulePolicy, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code: dict[str, Product] = {}
        by_mp: dict[str, Product] = {}
        for p in self.products:
            if p.code in by_code:
                raise ValueError(f"产品编码重复：{p.code}")
            by_code[p.code] = p
            if p.dcc_mp:
                by_mp.setdefault(p.dcc_mp, p)
        grouped: dict[str, list[SchedulePolicy]] = {}
        for pol in self.policies:
            course = by_code.get(pol.product_code)
            if course is None:
                raise ValueError(f"免疫程序引用了未知产品：{pol.product_code}")
            for code in pol.completion_products:
                other = by_code.get(code)
                if other is None:
                    raise ValueError(f"{pol.product_code}: 续种品种未知：{code}")
                if other.platform is not course.platform:
                    raise ValueError(f"{pol.product_code}: 续种品种{code}技术路线不同")
            if pol.booster is not None:
                for code in pol.booster.allowed_products:
                    if code not in by_code:
                        raise ValueError(f"{pol.product_code}: 加强品种未知：{code}")
            grouped.setdefault(pol.product_code, []).append(pol)
        ordered: dict[str, tuple[SchedulePolicy, ...]] = {}
        for code, versions in grouped.items():
            versions.sort(key=lambda v: v.effective_from)
            for a, b in zip(versions, versions[1:], strict=False):
                if a.effective_to is None or a.effective_to >= b.effective_from:
                    raise ValueError(
                        f"{code}: 免疫程序版本的有效期重叠（{a.effective_from}与{b.effective_from}）"
                    )
            ordered[code] = tuple(versions)
        object.__setattr__(self, "_by_code", by_code)
        object.__setattr__(self, "_by_mp", by_mp)
        object.__setattr__(self, "_policies", ordered)

    def find_product(self, code: str) -> Product | None:
        """The product with this catalogue code, else with this DCC ``mp`` code; ``None`` if neither."""
        return self._by_code.get(code) or self._by_mp.get(code)

    def product(self, code: str) -> Product:
        """Like ``find_product`` but raises ``KeyError`` for an unknown code."""
        found = self.find_product(code)
        if found is None:
            raise KeyError(f"疫苗品种“{code}”不在目录中")
        return found

    def product_for_trace_code(self, trace_code: str) -> Product | None:
        """The product whose 7-digit prefix starts a 20-digit traceability code; ``None`` if none does."""
        prefix = trace_code.strip()[:7]
        for p in self.products:
            if prefix in p.trace_prefixes:
                return p
        return None

    def policies_for(self, product_code: str) -> tuple[SchedulePolicy, ...]:
        """All versions for courses begun with this product, oldest first (empty if none)."""
        return self._policies.get(product_code, ())

    def policy_in_force(self, product_code: str, day: dt.date) -> SchedulePolicy | None:
        """The version in force on ``day``; ``None`` if no version covers that day."""
        for pol in self.policies_for(product_code):
            if pol.in_force(day):
                return pol
        return None

    def policy_for(self, product_code: str, day: dt.date) -> SchedulePolicy | None:
        """The version that governs a dose or forecast on ``day``: the one in force, else the nearest.

        Emergency-use doses given before the first published version follow the first version, and a
        course begun with a product whose schedule has since lapsed is still completed under its last
        version (an interrupted course is never abandoned). ``None`` only if the product has no
        schedule at all.
        """
        versions = self.policies_for(product_code)
        if not versions:
            return None
        in_force = self.policy_in_force(product_code, day)
        if in_force is not None:
            return in_force
        if day < versions[0].effective_from:
            return versions[0]
        earlier = [v for v in versions if v.effective_from <= day]
        return earlier[-1] if earlier else versions[-1]

    def products_in_use(self, day: dt.date) -> tuple[Product, ...]:
        """Products with which a new course may be started on ``day``, in catalogue order."""
        return tuple(p for p in self.products if self.policy_in_force(p.code, day) is not None)

    def codes_on_platform(self, platform: Platform) -> tuple[str, ...]:
        return tuple(p.code for p in self.products if p.platform is platform)
