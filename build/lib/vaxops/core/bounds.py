"""The bounds every input is held to, shared by the API schemas, the forms and the services (no Django)."""

from datetime import date

INT32_MAX = 2**31 - 1  # an IntegerField / PositiveIntegerField column
BIGINT_MAX = 2**63 - 1  # a BigAutoField primary key
# No one alive was born before 1900 and no campaign date lies past 2100: a day outside is a typing error
# (or a probe), refused before it reaches date arithmetic or a stored row.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2100, 12, 31)


def day_in_range(value: date) -> bool:
    return EARLIEST_DAY <= value <= LATEST_DAY


def day_range_zh() -> str:
    return f"须在{EARLIEST_DAY.isoformat()}至{LATEST_DAY.isoformat()}之间"


def parse_int(value: object, *, low: int = -BIGINT_MAX - 1, high: int = BIGINT_MAX) -> int | None:
    """A whole number typed into a form or a URL, or ``None`` when it is none or lies outside
    ``low``…``high`` (by default what a bigint column holds: past it a lookup overflows)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def parse_day(text: object) -> date | None:
    """A YYYY-MM-DD day typed into a form or a URL, or ``None`` when it is none or outside the bounds."""
    try:
        day = date.fromisoformat(str(text or "").strip())
    except ValueError:
        return None
    return day if day_in_range(day) else None
