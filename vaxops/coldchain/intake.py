"""Readings at the edge: each door's raw rows (API items, logger files, MQTT payloads) checked one by one
into ``services.Item``s or row errors, then ingested with the census import's counting rule
(read = stored + unchanged + rejected; a bad row never stops the good ones)."""

from __future__ import annotations

import datetime as dt
from typing import BinaryIO

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from vaxops.core import clock
from vaxops.core.errors import ValidationFailed
from vaxops.registry.errors import RegistryErrorCode
from vaxops.registry.tables import Table, aliases_for, open_table

from . import domain, selectors, services
from .errors import ColdchainErrorCode
from .models import Equipment

FUTURE_SLACK = dt.timedelta(minutes=5)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
API_MAX_ITEMS = 10_000

COLUMNS: dict[str, tuple[str, ...]] = {
    "at": ("时间", "记录时间", "采集时间", "日期时间", "datetime", "date/time", "time", "timestamp", "at"),
    "date": ("日期", "date"),
    "clock": ("时刻", "clocktime"),
    "celsius": (
        "温度",
        "温度(℃)",
        "温度(°c)",
        "温度℃",
        "温度值",
        "temperature",
        "temperature(°c)",
        "temperature(℃)",
        "temp",
        "temp(°c)",
        "celsius",
        "℃",
    ),
}
_ALIASES = aliases_for(COLUMNS)


def parse_moment(raw: object, *, naive_is_local: bool) -> dt.datetime:
    """An aware moment from an ISO text (or a spreadsheet's datetime); a moment without a zone is local
    time (Asia/Shanghai) for a logger file and refused for the API."""
    if isinstance(raw, dt.datetime):
        value = raw
    else:
        text = str(raw or "").strip().replace("/", "-")
        if not text:
            raise ValueError("时间为空")
        try:
            value = parse_datetime(text)
        except ValueError:
            value = None
        if value is None:
            raise ValueError(f"时间“{text[:30]}”无法识别（应为 2026-12-01 08:00:00 这样的格式）")
    if timezone.is_naive(value):
        if not naive_is_local:
            raise ValueError("时间须带时区（如 2026-12-01T08:00:00+08:00）")
        value = timezone.make_aware(value, timezone.get_default_timezone())
    value = value.astimezone(dt.UTC).replace(microsecond=0)
    if value < EARLIEST:
        raise ValueError("时间早于2000年")
    if value > clock.now() + FUTURE_SLACK:
        raise ValueError("时间晚于当前时间")
    return value


def check_reading(
    row: int, at: object, celsius: object, *, sensor, naive_is_local: bool
) -> tuple[services.Item | None, str | None]:
    try:
        moment = parse_moment(at, naive_is_local=naive_is_local)
        value = domain.parse_celsius(celsius)
    except ValueError as e:
        return None, str(e)
    return services.Item(row, sensor, moment, value), None


def api_readings(*, user, items: list[dict]) -> services.IngestResult:
    """``POST /api/v1/coldchain/readings``: each item's unit must be visible to the user and in the
    user's power to record (``coldchain.add_reading``)."""
    from vaxops.accounts.scope import require

    require(user, "coldchain.add_reading")
    if len(items) > API_MAX_ITEMS:
        raise ValidationFailed(
            _("一次最多提交%(n)s条读数") % {"n": format(API_MAX_ITEMS, ",")},
            field="body",
            code=ColdchainErrorCode.READINGS_TOO_MANY,
        )
    result = services.IngestResult()
    units: dict[str, Equipment | None] = {}
    good: list[services.Item] = []
    for row, item in enumerate(items, start=1):
        code = str(item.get("unit") or "").strip()
        if code not in units:
            units[code] = selectors.equipment_get(user=user, code=code) if code else None
        eq = units[code]
        if eq is None:
            result.read += 1
            result.reject(row, _("设备编码“%(code)s”不存在或不在管辖范围内") % {"code": code[:40]})
            continue
        checked, why = check_reading(
            row,
            item.get("at"),
            item.get("celsius"),
            sensor=services.sensor_default(equipment=eq),
            naive_is_local=False,
        )
        if checked is None:
            result.read += 1
            result.reject(row, why or "")
            continue
        good.append(checked)
    return services.readings_ingest(actor=user, items=good, source="api", result=result)


def readings_table_open(stream: BinaryIO, *, size: int = 0, filename: str = "") -> Table:
    """A logger's export (CSV in UTF-8/GBK or XLSX), time and temperature columns in any order."""
    table = open_table(stream, size=size, filename=filename, aliases=_ALIASES)
    have_time = "at" in table.columns or ("date" in table.columns and "clock" in table.columns)
    if not have_time or "celsius" not in table.columns:
        raise ValidationFailed(
            _("缺少时间或温度列（表头可用中文或英文：时间/Time、温度/Temperature，或 日期/Date 加 时刻）"),
            code=RegistryErrorCode.FILE_COLUMNS_MISSING,
        )
    return table


def file_readings(*, actor, table: Table, equipment: Equipment, batch: int = 50_000) -> services.IngestResult:
    """A logger file for one unit: each row checked, the good ones ingested in batches."""
    sensor = services.sensor_default(equipment=equipment)
    cols = table.columns
    result = services.IngestResult()
    good: list[services.Item] = []

    def cell(values: list, key: str):
        i = cols.get(key)
        return values[i] if i is not None and i < len(values) else None

    for row, values in table.rows:
        if "at" in cols:
            at = cell(values, "at")
        else:
            d, t = cell(values, "date"), cell(values, "clock")
            at = (
                dt.datetime.combine(d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)[:10]), t)
                if isinstance(t, dt.time)
                else f"{str(d or '')[:10]} {t or ''}"
            )
        checked, why = check_reading(row, at, cell(values, "celsius"), sensor=sensor, naive_is_local=True)
        if checked is None:
            result.read += 1
            result.reject(row, why or "")
            continue
        good.append(checked)
        if len(good) >= batch:
            services.readings_ingest(actor=actor, items=good, source="file", result=result)
            good = []
    services.readings_ingest(actor=actor, items=good, source="file", result=result)
    result.errors.sort(key=lambda e: e["row"])
    return result


def mqtt_reading(*, actor, topic: str, payload: bytes) -> services.IngestResult:
    """One MQTT message on ``vaxops/coldchain/<unit code>/temperature`` with ``{"at", "celsius"}``."""
    return mqtt_readings(actor=actor, messages=[(topic, payload)])


def mqtt_readings(
    *, actor, messages: list[tuple[str, bytes]], sensors: dict[str, object] | None = None
) -> services.IngestResult:
    """MQTT messages (topic, payload) as they were drained from the broker, checked one by one (a bad one
    is a row error, counted by its place in the list) and ingested in one transaction. ``sensors``: the
    listener's cache of unit code → sensor (``None`` for an unknown code), kept between calls."""
    import json

    result = services.IngestResult()
    cache: dict[str, object] = {} if sensors is None else sensors
    good: list[services.Item] = []
    for row, (topic, payload) in enumerate(messages, start=1):
        parts = topic.split("/")
        if len(parts) != 4 or parts[0] != "vaxops" or parts[1] != "coldchain" or parts[3] != "temperature":
            result.read += 1
            result.reject(row, f"主题“{topic[:80]}”不是 vaxops/coldchain/<设备编码>/temperature")
            continue
        try:
            body = json.loads(payload)
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            result.read += 1
            result.reject(row, '消息内容须为 JSON 对象 {"at", "celsius"}')
            continue
        code = parts[2]
        if code not in cache:
            eq = selectors.equipment_by_code(code=code)
            cache[code] = services.sensor_default(equipment=eq) if eq is not None else None
        sensor = cache[code]
        if sensor is None:
            result.read += 1
            result.reject(row, f"设备编码“{code[:40]}”不存在")
            continue
        checked, why = check_reading(
            row, body.get("at"), body.get("celsius"), sensor=sensor, naive_is_local=False
        )
        if checked is None:
            result.read += 1
            result.reject(row, why or "")
            continue
        good.append(checked)
    if good:
        services.readings_ingest(actor=actor, items=good, source="mqtt", result=result, together=True)
    return result
