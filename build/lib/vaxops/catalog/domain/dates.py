"""Calendar arithmetic of ages and intervals, shared by every part of the engine."""

from __future__ import annotations

import datetime as dt

__all__ = [
    "add_years",
    "age_on",
    "days",
]


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` later; 29 February maps to 1 March in common years.

    1 March rather than 28 February because an age limit must never be reached a day early.
    """
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Completed years (周岁) on ``on``; negative if ``on`` is before the birth date."""
    years = on.year - birth_date.year
    if on < add_years(birth_date, years):
        years -= 1
    return years


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)
