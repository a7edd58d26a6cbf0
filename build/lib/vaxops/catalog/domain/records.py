"""What a person's record gives the engine: the doses given, standing contraindications and deferrals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .catalogue import ALL, ProductScope

__all__ = [
    "Contraindication",
    "Deferral",
    "GivenDose",
]


@dataclass(frozen=True)
class GivenDose:
    """A dose on record. ``product_code`` may be a catalogue code or a DCC ``mp`` code; ``external``
    marks doses given elsewhere (another county, abroad); ``ref`` is the caller's record id, echoed back
    so results can be matched to rows."""

    product_code: str
    date: dt.date
    place: str | None = None
    external: bool = False
    ref: str | None = None


@dataclass(frozen=True)
class Contraindication:
    """The person must not receive ``products`` (catalogue codes, or ``ALL``)."""

    products: ProductScope
    reason: str

    def __post_init__(self) -> None:
        if self.products is not ALL and not self.products:
            raise ValueError("禁忌须指明品种或全部品种")

    def applies_to(self, product_code: str) -> bool:
        return self.products is ALL or product_code in self.products


@dataclass(frozen=True)
class Deferral:
    """Vaccination is postponed until ``until`` (exclusive: vaccination allowed on that day) or, when
    ``until`` is ``None``, until ``condition`` is met (e.g. "妊娠结束后") and someone clears it."""

    until: dt.date | None
    condition: str | None
    reason: str

    def __post_init__(self) -> None:
        if self.until is None and not self.condition:
            raise ValueError("暂缓须给出日期或条件")

    def active_on(self, on: dt.date) -> bool:
        return self.until > on if self.until is not None else True
