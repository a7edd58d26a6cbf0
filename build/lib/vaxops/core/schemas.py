"""What every API input and answer shares: bounded numbers and dates, and the error answer.

A number or a date a client sends is checked against what the database column and the campaign can hold
before any service sees it, so an id past 64 bits, a quantity past 32 bits or a day in the year 7367 is a
422 naming the field (``vaxops.api.request_invalid``), never a 500 and never a stored row.
"""

from datetime import date, datetime
from typing import Annotated

from ninja import Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from .bounds import BIGINT_MAX, EARLIEST_DAY, INT32_MAX, LATEST_DAY, day_in_range

Id = Annotated[int, Field(ge=1, le=BIGINT_MAX, description="记录编号（正整数）")]
Quantity = Annotated[int, Field(ge=0, le=INT32_MAX, description="数量（0–2147483647）")]
Offset = Annotated[int, Field(ge=0, le=INT32_MAX, description="跳过的条数（从0起）")]
SmallCount = Annotated[int, Field(ge=0, le=32767, description="数量（0–32767）")]


def _day_in_range(value: date) -> date:
    if not day_in_range(value):
        raise PydanticCustomError(
            "date_range",
            "date must be between {earliest} and {latest}",
            {"earliest": EARLIEST_DAY.isoformat(), "latest": LATEST_DAY.isoformat()},
        )
    return value


def _moment_in_range(value: datetime) -> datetime:
    _day_in_range(value.date())
    return value


Day = Annotated[
    date,
    AfterValidator(_day_in_range),
    Field(description=f"日期 YYYY-MM-DD（{EARLIEST_DAY.isoformat()}至{LATEST_DAY.isoformat()}）"),
]
Moment = Annotated[
    datetime,
    AfterValidator(_moment_in_range),
    Field(description=f"时间 ISO 8601（{EARLIEST_DAY.year}–{LATEST_DAY.year}年）"),
]


def _error_codes_schema(schema: dict) -> None:
    """List every code a refusal can carry (each app's ``errors.py``, see ``core.errors.error_codes``)."""
    from django.apps import apps

    from .errors import CoreErrorCode, error_codes

    schema["enum"] = error_codes() if apps.ready else [str(c) for c in CoreErrorCode]


class ErrorOut(Schema):
    """Every refusal: a stable ``code`` for programs, a Chinese ``message`` for people, the ``field``."""

    code: str = Field(
        description=(
            "拒绝原因的固定代码，供程序判断（如 slot_full、code_used、role_forbidden）；提示语可能调整或翻译，"
            "代码不变。A stable machine code naming the refusal: match on it, never on the message."
        ),
        json_schema_extra=_error_codes_schema,
    )
    message: str = Field(description="给人看的提示语（中文；用户选择英文界面时为英文）")
    field: str | None = Field(default=None, description="出错的字段（如有）")


class PageIn(Schema):
    limit: Annotated[int, Field(ge=1, le=1000, description="每页条数（1–1000）")] = 100
    offset: Offset = 0


class BoundedPagination(LimitOffsetPagination):
    """django-ninja's limit/offset pages with both numbers bounded (an offset past 64 bits reached the
    database as is)."""

    Input = PageIn
