"""Pure rules of booking: whether a person's schedule lets them be booked for a day, spreading an
employer's staff list over free slots, the waiting list, the SMS texts and when reminders go out, and
whether a one-time code may still be used.

No Django, no ORM, no clock: every function takes the day or moment it reasons about (``today``,
``slot_day``, ``now``) and returns plain, frozen values, so the same input always gives the same
answer and tests need no database. The person's schedule comes from the catalogue's rules engine
(:func:`vaxops.catalog.domain.evaluate` returns a :class:`~vaxops.catalog.domain.Forecast`); campaign
phases (who may start a course when) are judged by
:func:`vaxops.catalog.domain.booking_eligibility`, not here. Moments are time-zone aware and are read
in the county's local time zone (:data:`LOCAL_TZ`, Asia/Shanghai) whatever zone they arrive in (the
database hands them back in UTC). User-facing messages are Chinese.

Capacity itself is enforced in the database (a conditional ``UPDATE … WHERE booked < capacity``); the
functions here propose and explain.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar
from zoneinfo import ZoneInfo

from vaxops.catalog.domain import Forecast, Status
from vaxops.registry.domain import mask_name

__all__ = [
    "LOCAL_TZ",
    "SMS_MAX_CHARS",
    "BookingCheck",
    "Spread",
    "Template",
    "WaitlistEntry",
    "booking_check",
    "otp_valid",
    "reminder_due_at",
    "render",
    "spread_over_slots",
    "waitlist_order",
    "waitlist_pick",
]


LOCAL_TZ: Final[dt.tzinfo] = ZoneInfo("Asia/Shanghai")


def _require_aware(*moments: tuple[str, dt.datetime]) -> None:
    for label, moment in moments:
        if not isinstance(moment, dt.datetime):
            raise ValueError(f"{label}须为日期时间")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{label}须带时区")


def _dose_label(number: int, is_booster: bool) -> str:
    return "加强针" if is_booster else f"第{number}剂"


# --------------------------------------------------------------------------------------------------
# May this person be booked for that day? (预约资格)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingCheck:
    """The answer of :func:`booking_check`.

    ``dose_number``, ``is_booster``, ``products`` and ``earliest`` describe the person's next dose
    whenever the forecast has one, also when the booking is refused (so a refusal can offer the first
    possible day); they are ``None``/``False``/``()`` when nothing more may be given.
    ``products`` are the catalogue codes the forecast offers for that dose, in order of preference.
    """

    ok: bool
    dose_number: int | None
    is_booster: bool
    products: tuple[str, ...]
    earliest: dt.date | None
    reason_zh: str


def booking_check(forecast: Forecast, *, slot_day: dt.date, today: dt.date) -> BookingCheck:
    """May the person whose schedule is ``forecast`` be booked for a slot on ``slot_day``, asked on
    ``today``?

    ``forecast`` comes from ``evaluate`` for a day on or before ``slot_day`` (normally ``today``); it
    may not be from a later day than the slot, since it would then count doses given after it
    (``ValueError``). Refused, in this order, when:

    1. ``slot_day`` is before ``today`` (the day has passed);
    2. the person is contraindicated for every product that could be given;
    3. the course is complete and nothing more is due (no booster in the schedule, the booster has
       been given, or no booster product is left to the person);
    4. a deferral is still in force on ``slot_day``: one without a date (until a condition is met), or
       one dated after ``slot_day`` (a deferral ``until`` a day allows vaccination on that day);
    5. the primary course is complete and the booster is not due by ``slot_day`` (says from when);
    6. ``slot_day`` is before the next dose's earliest date (says the earliest date).

    Otherwise the booking is allowed for the next dose's number. A day after the recommended latest
    date is still allowed (an interrupted course is continued), with a note to catch up.
    """
    nd = forecast.next_dose
    dose_number = nd.number if nd else None
    is_booster = nd.is_booster if nd else False
    products = nd.allowed_products if nd else ()
    earliest = nd.earliest if nd else None

    def refuse(reason: str) -> BookingCheck:
        return BookingCheck(False, dose_number, is_booster, products, earliest, reason)

    if slot_day < today:
        return refuse(f"所选日期{slot_day.isoformat()}已过，请选择今天或以后的日期")
    if forecast.on > slot_day:
        raise ValueError(
            f"接种预测的日期（{forecast.on.isoformat()}）晚于预约日期（{slot_day.isoformat()}），"
            "须用预约日期当天或之前的预测"
        )
    if forecast.status is Status.CONTRAINDICATED:
        return BookingCheck(False, None, False, (), None, "存在接种禁忌，不能预约")
    if nd is None:
        if forecast.booster_given_on is not None:
            return refuse("已完成全程接种和加强免疫，目前无需再接种")
        return refuse("已完成全程接种，目前无需再接种")
    if forecast.status is Status.DEFERRED:
        if forecast.deferred_condition:
            return refuse(f"暂缓接种（{forecast.deferred_condition}），条件解除前不能预约")
        until = forecast.deferred_until
        if until is not None and until > slot_day:
            # The engine already pushed the next dose past the deferral, so its earliest day is the answer.
            return refuse(f"暂缓接种至{until.isoformat()}，{max(until, nd.earliest).isoformat()}起可以预约")
    if nd.is_booster and nd.earliest > slot_day:
        return refuse(f"已完成全程接种，加强针{nd.earliest.isoformat()}起可以预约")
    label = _dose_label(nd.number, nd.is_booster)
    if nd.earliest > slot_day:
        return refuse(f"未到接种时间，{label}最早可于{nd.earliest.isoformat()}接种")
    msg = f"可以预约{label}"
    if nd.overdue or (nd.latest is not None and slot_day > nd.latest):
        msg += "（已超过建议的最晚接种日期，请尽快补种，无需重新开始）"
    return BookingCheck(True, nd.number, nd.is_booster, products, nd.earliest, msg)


# --------------------------------------------------------------------------------------------------
# An employer books its staff list at once (单位集体预约)
# --------------------------------------------------------------------------------------------------

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Spread(Generic[K]):
    """``assigned`` maps each placed person to a slot key, in the order of the list; ``unplaced`` are
    the people left over when the free places ran out, in list order."""

    assigned: Mapping[str, K] = field(hash=False)
    unplaced: tuple[str, ...]


def spread_over_slots(people: Sequence[str], slots: Sequence[tuple[K, int]]) -> Spread[K]:
    """Place ``people`` in ``slots`` (``(slot key, free places)`` in the order to fill, normally by start
    time): the first people fill the first slot up to its free places, the next ones the next slot, and
    so on; whoever is left is ``unplaced``. No slot receives more than its free places.

    Deterministic: the same list and slots always give the same answer. Raises ``ValueError`` for a
    person listed twice, a slot listed twice and negative free places.
    """
    seen: set[str] = set()
    for person in people:
        if person in seen:
            raise ValueError(f"名单中人员重复：{person}")
        seen.add(person)
    keys: set[K] = set()
    for key, free in slots:
        if key in keys:
            raise ValueError(f"预约时段重复：{key}")
        keys.add(key)
        if isinstance(free, bool) or not isinstance(free, int) or free < 0:
            raise ValueError(f"预约时段{key}的剩余名额须为非负整数")
    assigned: dict[str, K] = {}
    queue = iter(people)
    for key, free in slots:
        for _ in range(free):
            placed = next(queue, None)
            if placed is None:
                return Spread(assigned=assigned, unplaced=())
            assigned[placed] = key
    return Spread(assigned=assigned, unplaced=tuple(queue))


# --------------------------------------------------------------------------------------------------
# Waiting list (候补)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitlistEntry:
    """A person waiting for a place in a full session. ``quota_key`` is the village/employer whose
    reserved places they may take (``None``: booked on their own, only open places); ``id`` is the
    caller's record id, breaking ties between entries that joined at the same moment."""

    id: int | str
    joined_at: dt.datetime
    quota_key: str | None = None

    def __post_init__(self) -> None:
        _require_aware(("候补登记时间", self.joined_at))
        if self.quota_key is not None and not self.quota_key.strip():
            object.__setattr__(self, "quota_key", None)


def waitlist_order(entries: Iterable[WaitlistEntry]) -> tuple[WaitlistEntry, ...]:
    """First come, first served: by ``joined_at``, then ``id`` (ids must be all ints or all strings)."""
    return tuple(sorted(entries, key=lambda e: (e.joined_at, e.id)))


def waitlist_pick(entries: Iterable[WaitlistEntry], slot_quota_key: str | None) -> WaitlistEntry | None:
    """Who gets a freed place: the first entry (in :func:`waitlist_order`) allowed to take it.

    A place reserved for a village/employer (``slot_quota_key``) goes only to an entry of that same
    quota; an open place (``None`` or blank) goes to any entry, quota or not. ``None`` when nobody
    waiting may take it (the caller may then release a quota place to open booking).
    """
    key = slot_quota_key if slot_quota_key and slot_quota_key.strip() else None
    for entry in waitlist_order(entries):
        if key is None or entry.quota_key == key:
            return entry
    return None


# --------------------------------------------------------------------------------------------------
# Notifications (短信)
# --------------------------------------------------------------------------------------------------

SMS_MAX_CHARS: Final = 140
_WEEKDAY_ZH: Final = "一二三四五六日"
# A 身份证 number (18 characters, or the legacy 15 digits) must never be sent; phone numbers may be.
_ID_LIKE: Final = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9Xx])")


class Template(enum.StrEnum):
    """SMS templates. Context each one takes (``?`` = optional; every one also takes ``sign?``, the SMS
    signature without brackets, e.g. "清溪县疾控"):

    - BOOKING_CONFIRMED: ``name?``, ``site``, ``start`` (aware datetime), ``end?`` (datetime),
      ``dose_number``, ``is_booster?``, ``address?``
    - REMINDER: the same, and ``sent_on?`` (date): the local day it goes out, so that it says 今天 or 明天
      only when that is true (booked the same day, it is sent at once and says 今天; without ``sent_on``
      it names the day alone)
    - SECOND_DOSE_DUE: ``name?``, ``dose_number``, ``is_booster?``, ``earliest`` (date), ``latest?``
      (date), ``site?`` — any next dose that has become due, the second dose above all
    - OVERDUE: ``name?``, ``dose_number``, ``is_booster?``, ``latest`` (date), ``site?``
    - OTP: ``code`` (4–8 digits), ``minutes?`` (default 10)

    Every one also takes ``tz?``, the zone to show times in (default :data:`LOCAL_TZ`).
    """

    BOOKING_CONFIRMED = "booking_confirmed"
    REMINDER = "reminder"
    SECOND_DOSE_DUE = "second_dose_due"
    OVERDUE = "overdue"
    OTP = "otp"

    @property
    def label_zh(self) -> str:
        return _TEMPLATE_ZH[self]


_TEMPLATE_ZH: Final[dict[Template, str]] = {
    Template.BOOKING_CONFIRMED: "预约成功",
    Template.REMINDER: "接种提醒",
    Template.SECOND_DOSE_DUE: "第二剂到期",
    Template.OVERDUE: "逾期未种",
    Template.OTP: "验证码",
}
_APPOINTMENT_KEYS: Final = ({"site", "start", "dose_number"}, {"name", "end", "is_booster", "address"})
_KEYS: Final[dict[Template, tuple[set[str], set[str]]]] = {
    Template.BOOKING_CONFIRMED: _APPOINTMENT_KEYS,
    Template.REMINDER: (_APPOINTMENT_KEYS[0], _APPOINTMENT_KEYS[1] | {"sent_on"}),
    Template.SECOND_DOSE_DUE: ({"dose_number", "earliest"}, {"name", "latest", "site", "is_booster"}),
    Template.OVERDUE: ({"dose_number", "latest"}, {"name", "site", "is_booster"}),
    Template.OTP: ({"code"}, {"minutes"}),
}


def _day_zh(day: dt.date) -> str:
    return f"{day.month}月{day.day}日（周{_WEEKDAY_ZH[day.weekday()]}）"


def _text(context: Mapping[str, Any], key: str) -> str:
    value = context.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"短信参数{key}须为文字")
    return value.strip()


def _date(context: Mapping[str, Any], key: str) -> dt.date:
    value = context[key]
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError(f"短信参数{key}须为日期")
    return value


def _dose(context: Mapping[str, Any]) -> str:
    number = context["dose_number"]
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValueError("短信参数dose_number须为正整数")
    return _dose_label(number, bool(context.get("is_booster", False)))


def _relative_day(context: Mapping[str, Any], tz: dt.tzinfo) -> str:
    """今天 or 明天 for a reminder sent on ``sent_on`` about a slot starting at ``start``; "" otherwise (the
    text names the day anyway)."""
    sent_on = context.get("sent_on")
    if sent_on is None:
        return ""
    if isinstance(sent_on, dt.datetime) or not isinstance(sent_on, dt.date):
        raise ValueError("短信参数sent_on须为日期")
    day = context["start"].astimezone(tz).date()
    if day == sent_on:
        return "今天"
    if day == sent_on + dt.timedelta(days=1):
        return "明天"
    return ""


def _appointment_when(context: Mapping[str, Any], tz: dt.tzinfo) -> str:
    start = context["start"]
    _require_aware(("短信参数start", start))
    start = start.astimezone(tz)
    when = f"{_day_zh(start.date())}{start:%H:%M}"
    end = context.get("end")
    if end is not None:
        _require_aware(("短信参数end", end))
        end = end.astimezone(tz)
        if end <= start:
            raise ValueError("短信参数end须晚于start")
        when += f"—{end:%H:%M}"
    return when


def render(template: Template | str, **context: Any) -> str:
    """The plain Chinese SMS text of ``template`` with ``context`` (see :class:`Template` for the keys).

    A given name is masked (张三丰 → 张*丰); ID numbers are never part of a text, and a context value
    that looks like one is refused. Dates read "6月15日（周二）", times "09:00—09:30" in local time
    (``tz``, default :data:`LOCAL_TZ`). With ordinary names and site names a text stays within :data:`SMS_MAX_CHARS`
    characters (one SMS). Raises ``ValueError`` (Chinese) for a missing or unknown key and a value of
    the wrong kind.
    """
    template = Template(template)
    required, optional = _KEYS[template]
    keys = set(context) - {"sign", "tz"}
    missing = sorted(required - keys)
    if missing:
        raise ValueError(f"短信模板“{template.label_zh}”缺少参数：{'、'.join(missing)}")
    unknown = sorted(keys - required - optional)
    if unknown:
        raise ValueError(f"短信模板“{template.label_zh}”不使用参数：{'、'.join(unknown)}")
    for key, value in context.items():
        if isinstance(value, str) and _ID_LIKE.search(value):
            raise ValueError(f"短信参数{key}疑似含证件号码，短信不得包含证件号码")

    sign = _text(context, "sign")
    prefix = f"【{sign}】" if sign else ""
    name = mask_name(_text(context, "name"))
    who = f"{name}，" if name else ""
    site = _text(context, "site")

    if template is Template.OTP:
        code = _text(context, "code")
        if not re.fullmatch(r"\d{4,8}", code):
            raise ValueError("验证码须为4至8位数字")
        minutes = context.get("minutes", 10)
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
            raise ValueError("短信参数minutes须为正整数")
        return f"{prefix}您的验证码为{code}，{minutes}分钟内有效。请勿将验证码告诉他人。"

    dose = _dose(context)
    if template in (Template.BOOKING_CONFIRMED, Template.REMINDER):
        if not site:
            raise ValueError("短信参数site不能为空")
        tz = context.get("tz") or LOCAL_TZ
        if not isinstance(tz, dt.tzinfo):
            raise ValueError("短信参数tz须为时区")
        when = _appointment_when(context, tz)
        address = _text(context, "address")
        where = f"{site}（{address}）" if address else site
        if template is Template.BOOKING_CONFIRMED:
            return (
                f"{prefix}{who}您已预约新冠病毒疫苗{dose}：{when}，{where}。"
                "请带身份证件按时前往；如不能前往，请提前取消。"
            )
        return (
            f"{prefix}{who}提醒您{_relative_day(context, tz)}接种新冠病毒疫苗{dose}：{when}，{where}。"
            "请带身份证件；如有发热等不适，请告知预检医生。"
        )

    at = f"到{site}" if site else ""
    if template is Template.SECOND_DOSE_DUE:
        earliest = _date(context, "earliest")
        text = f"{prefix}{who}您的新冠病毒疫苗{dose}自{_day_zh(earliest)}起可以接种"
        if context.get("latest") is not None:
            text += f"，请于{_day_zh(_date(context, 'latest'))}前"
        else:
            text += "，请按时"
        return text + f"{at}接种，或联系村（社区）预约。"
    latest = _date(context, "latest")
    return (
        f"{prefix}{who}您的新冠病毒疫苗{dose}已超过建议接种日期{_day_zh(latest)}，"
        f"请尽快{at}补种，无需重新开始。"
    )


def reminder_due_at(
    slot_start: dt.datetime, *, booked_at: dt.datetime | None = None, tz: dt.tzinfo = LOCAL_TZ
) -> dt.datetime:
    """When the reminder (接种提醒) for a slot starting at ``slot_start`` goes out: 18:00 local time
    (``tz``, default Asia/Shanghai, whatever zone ``slot_start`` is given in) on the local day before
    the slot, or ``booked_at`` itself when the booking was made after that (send at once). The answer
    is in ``tz``.

    Both moments must be time-zone aware; raises ``ValueError`` when ``booked_at`` is not before
    ``slot_start``.
    """
    _require_aware(("接种时间", slot_start))
    local_day = slot_start.astimezone(tz).date()
    due = dt.datetime.combine(local_day - dt.timedelta(days=1), dt.time(18), tzinfo=tz)
    if booked_at is None:
        return due
    _require_aware(("预约时间", booked_at))
    if booked_at >= slot_start:
        raise ValueError("预约时间不能晚于接种时段开始时间")
    return max(due, booked_at.astimezone(tz))


# --------------------------------------------------------------------------------------------------
# One-time codes (短信验证码)
# --------------------------------------------------------------------------------------------------


def otp_valid(
    *,
    issued_at: dt.datetime,
    now: dt.datetime,
    attempts: int,
    max_attempts: int = 5,
    ttl_minutes: int = 10,
) -> tuple[bool, str]:
    """Whether a one-time code issued at ``issued_at`` may still be checked at ``now``.

    ``attempts`` is how many wrong codes were already entered for it: once it reaches ``max_attempts``
    the code is dead. The code expires ``ttl_minutes`` after issue (exactly then is already too late).
    A code issued after ``now`` (clock skew between servers) is refused rather than trusted. Returns
    ``(True, "")`` or ``(False, reason)``; the code itself is generated and hashed by the service.
    Both moments must be time-zone aware.
    """
    _require_aware(("验证码签发时间", issued_at), ("当前时间", now))
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0:
        raise ValueError("验证次数须为非负整数")
    if max_attempts < 1 or ttl_minutes < 1:
        raise ValueError("验证码的最多尝试次数和有效分钟数须为正整数")
    if attempts >= max_attempts:
        return False, f"验证码已输错{attempts}次，请重新获取"
    if now < issued_at:
        return False, "验证码签发时间异常，请重新获取"
    if now >= issued_at + dt.timedelta(minutes=ttl_minutes):
        return False, f"验证码已过期（{ttl_minutes}分钟内有效），请重新获取"
    return True, ""
