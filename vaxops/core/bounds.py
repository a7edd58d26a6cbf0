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
