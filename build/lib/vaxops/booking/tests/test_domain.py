"""Booking: eligibility of a person for a slot day (from the real schedule engine), spreading a staff
list over slots, the waiting list, SMS texts, reminder times and one-time codes (pure, no database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxops.booking.domain import (
    SMS_MAX_CHARS,
    BookingCheck,
    Spread,
    Template,
    WaitlistEntry,
    booking_check,
    otp_valid,
    reminder_due_at,
    render,
    spread_over_slots,
    waitlist_order,
    waitlist_pick,
)
from vaxops.catalog.defaults import CATALOGUE, PHASES
from vaxops.catalog.domain import (
    ALL,
    Contraindication,
    Deferral,
    Forecast,
    GivenDose,
    Status,
    booking_eligibility,
    evaluate,
)

FAST = settings(max_examples=150, deadline=None)
SH = ZoneInfo("Asia/Shanghai")
ADULT = dt.date(1980, 6, 15)
D0 = dt.date(2021, 4, 1)
INACT = ("BBIBP-CorV", "WIBP-CorV", "CoronaVac")
ALL_FIVE = (*INACT, "Convidecia", "ZF2001")


def day(n: int, start: dt.date = D0) -> dt.date:
    return start + dt.timedelta(days=n)


def forecast(
    doses: Sequence[tuple[str, dt.date]] = (),
    on: dt.date = D0,
    *,
    birth: dt.date = ADULT,
    contraindications: tuple[Contraindication, ...] = (),
    deferrals: tuple[Deferral, ...] = (),
) -> Forecast:
    return evaluate(
        birth_date=birth,
        doses=[GivenDose(code, when) for code, when in doses],
        contraindications=contraindications,
        deferrals=deferrals,
        on=on,
        catalogue=CATALOGUE,
    )


def at(y, mo, d, h=0, mi=0, s=0):
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=SH)


# ------------------------------------------------------------------------------------------------
# booking_check, with forecasts from the real engine and default catalogue
# ------------------------------------------------------------------------------------------------


class TestBookingCheck:
    def test_a_person_not_started_may_book_the_first_dose(self):
        got = booking_check(forecast([], D0), slot_day=day(3), today=D0)
        # The engine's earliest day for a first dose is the 18th birthday.
        assert got == BookingCheck(True, 1, False, ALL_FIVE, dt.date(1998, 6, 15), "可以预约第1剂")

    def test_the_second_dose_is_refused_before_its_earliest_date_and_says_it(self):
        f = forecast([("BBIBP-CorV", D0)], day(5))
        got = booking_check(f, slot_day=day(20), today=day(5))
        assert got == BookingCheck(
            False, 2, False, INACT, day(21), "未到接种时间，第2剂最早可于2021-04-22接种"
        )

    def test_the_second_dose_may_be_booked_exactly_on_its_earliest_date(self):
        f = forecast([("BBIBP-CorV", D0)], day(5))
        got = booking_check(f, slot_day=day(21), today=day(5))
        assert (got.ok, got.dose_number, got.is_booster, got.reason_zh) == (True, 2, False, "可以预约第2剂")
        assert got.products[0] == "BBIBP-CorV"  # the same product first

    def test_a_late_second_dose_is_allowed_with_a_note_to_catch_up(self):
        f = forecast([("CoronaVac", D0)], day(60))
        got = booking_check(f, slot_day=day(61), today=day(60))
        assert got.ok and got.dose_number == 2
        assert got.reason_zh == "可以预约第2剂（已超过建议的最晚接种日期，请尽快补种，无需重新开始）"

    def test_a_slot_after_the_latest_date_gets_the_note_even_if_today_is_not_late(self):
        f = forecast([("CoronaVac", D0)], day(30))  # latest is day 56
        assert booking_check(f, slot_day=day(56), today=day(30)).reason_zh == "可以预约第2剂"
        assert "请尽快补种" in booking_check(f, slot_day=day(57), today=day(30)).reason_zh

    def test_zf2001_third_dose(self):
        f = forecast([("ZF2001", D0), ("ZF2001", day(28))], day(40))
        assert (
            booking_check(f, slot_day=day(55), today=day(40)).reason_zh
            == "未到接种时间，第3剂最早可于2021-05-27接种"
        )
        got = booking_check(f, slot_day=day(56), today=day(40))
        assert (got.ok, got.dose_number, got.products) == (True, 3, ("ZF2001",))

    def test_a_complete_course_without_a_booster_is_refused(self):
        got = booking_check(forecast([("Convidecia", D0)], day(300)), slot_day=day(301), today=day(300))
        assert got == BookingCheck(False, None, False, (), None, "已完成全程接种，目前无需再接种")

    def test_the_booster_is_refused_before_it_is_due_and_says_from_when(self):
        # 2021 policy: booster 180 days after completing the primary course.
        f = forecast([("BBIBP-CorV", D0), ("BBIBP-CorV", day(21))], day(30))
        got = booking_check(f, slot_day=day(200), today=day(30))
        assert f.status is Status.PRIMARY_COMPLETE
        assert (got.ok, got.dose_number, got.is_booster, got.earliest) == (False, 3, True, day(201))
        assert got.reason_zh == "已完成全程接种，加强针2021-10-19起可以预约"

    def test_the_booster_may_be_booked_from_its_first_day(self):
        f = forecast([("BBIBP-CorV", D0), ("BBIBP-CorV", day(21))], day(30))
        got = booking_check(f, slot_day=day(201), today=day(30))
        assert (got.ok, got.dose_number, got.is_booster, got.reason_zh) == (True, 3, True, "可以预约加强针")

    def test_a_heterologous_booster_is_offered_under_the_2022_policy(self):
        f = forecast(
            [("CoronaVac", dt.date(2021, 9, 1)), ("CoronaVac", dt.date(2021, 9, 22))], dt.date(2022, 3, 1)
        )
        got = booking_check(f, slot_day=dt.date(2022, 3, 2), today=dt.date(2022, 3, 1))
        assert got.ok and got.is_booster
        assert {"Convidecia", "ZF2001"} <= set(got.products)

    def test_after_the_booster_nothing_more_is_due(self):
        f = forecast([("BBIBP-CorV", D0), ("BBIBP-CorV", day(21)), ("BBIBP-CorV", day(210))], day(220))
        got = booking_check(f, slot_day=day(221), today=day(220))
        assert (got.ok, got.reason_zh) == (False, "已完成全程接种和加强免疫，目前无需再接种")

    def test_a_contraindicated_person_is_refused(self):
        f = forecast([], D0, contraindications=(Contraindication(ALL, "对疫苗成分严重过敏"),))
        got = booking_check(f, slot_day=day(1), today=D0)
        assert got == BookingCheck(False, None, False, (), None, "存在接种禁忌，不能预约")

    def test_a_partial_contraindication_narrows_the_products(self):
        f = forecast([], D0, contraindications=(Contraindication(INACT, "灭活疫苗严重反应"),))
        got = booking_check(f, slot_day=D0, today=D0)
        assert got.ok and got.products == ("Convidecia", "ZF2001")

    def test_a_dated_deferral_blocks_until_its_day_and_not_on_it(self):
        deferral = Deferral(until=day(7), condition=None, reason="体温37.8℃")
        f = forecast([], D0, deferrals=(deferral,))
        got = booking_check(f, slot_day=day(6), today=D0)
        assert (got.ok, got.earliest, got.reason_zh) == (
            False,
            day(7),
            "暂缓接种至2021-04-08，2021-04-08起可以预约",
        )
        assert booking_check(f, slot_day=day(7), today=D0).ok

    def test_a_deferral_pushing_a_second_dose_names_the_dose_date(self):
        deferral = Deferral(until=day(10), condition=None, reason="发热")
        f = forecast([("BBIBP-CorV", D0)], day(5), deferrals=(deferral,))
        got = booking_check(f, slot_day=day(9), today=day(5))
        assert got.reason_zh == "暂缓接种至2021-04-11，2021-04-22起可以预约"

    def test_an_open_ended_deferral_blocks_any_day(self):
        deferral = Deferral(until=None, condition="妊娠结束后", reason="妊娠")
        f = forecast([], D0, deferrals=(deferral,))
        got = booking_check(f, slot_day=day(400), today=D0)
        assert (got.ok, got.reason_zh) == (False, "暂缓接种（妊娠结束后），条件解除前不能预约")

    def test_a_past_day_is_refused(self):
        got = booking_check(forecast([], day(10)), slot_day=day(9), today=day(10))
        assert (got.ok, got.reason_zh) == (False, "所选日期2021-04-10已过，请选择今天或以后的日期")

    def test_today_is_not_past(self):
        assert booking_check(forecast([], D0), slot_day=D0, today=D0).ok

    def test_a_forecast_from_after_the_slot_day_is_refused(self):
        with pytest.raises(ValueError, match="晚于预约日期"):
            booking_check(forecast([], day(10)), slot_day=day(9), today=day(8))


# Random dose histories: the booking check must agree with the engine's own booking eligibility for
# every dose after the first (campaign phases only gate a first dose, and booking_check leaves them out).
CODES = [p.code for p in CATALOGUE.products]
dates = st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2022, 12, 31))
histories = st.lists(st.tuples(st.sampled_from(CODES), dates), max_size=4)
one_deferral = st.one_of(
    st.just(()),
    st.builds(lambda d: (Deferral(until=d, condition=None, reason="暂缓"),), dates),
    st.just((Deferral(until=None, condition="妊娠结束后", reason="妊娠"),)),
)
some_contraindication = st.one_of(
    st.just(()),
    st.just((Contraindication(ALL, "禁忌"),)),
    st.lists(st.sampled_from(CODES), min_size=1, max_size=2).map(
        lambda c: (Contraindication(tuple(c), "禁忌"),)
    ),
)


@FAST
@given(
    doses=histories,
    on=dates,
    ahead=st.integers(0, 400),
    deferrals=one_deferral,
    contra=some_contraindication,
)
def test_booking_check_agrees_with_the_engine(doses, on, ahead, deferrals, contra):
    slot_day = on + dt.timedelta(days=ahead)
    f = forecast(doses, on, contraindications=contra, deferrals=deferrals)
    got = booking_check(f, slot_day=slot_day, today=on)
    nd = f.next_dose
    if got.ok:
        assert nd is not None and got.dose_number == nd.number
        assert slot_day >= nd.earliest and slot_day >= on
        assert f.status is not Status.CONTRAINDICATED
        assert not f.deferred_condition
    else:
        assert got.reason_zh
    if nd is not None and nd.number > 1:
        # Judged on the slot day itself, the engine's eligibility and this check say the same thing.
        f_then = forecast(doses, slot_day, contraindications=contra, deferrals=deferrals)
        same_day = booking_check(f_then, slot_day=slot_day, today=slot_day)
        eligibility = booking_eligibility(
            birth_date=ADULT, priority_group=None, forecast=f_then, phases=PHASES, on=slot_day
        )
        assert same_day.ok == eligibility.allowed, (same_day, eligibility)


# ------------------------------------------------------------------------------------------------
# Spreading an employer's staff list over slots
# ------------------------------------------------------------------------------------------------


class TestSpread:
    def test_it_fills_slots_in_order(self):
        got = spread_over_slots(
            ["a", "b", "c", "d", "e"], [("09:00", 2), ("09:30", 0), ("10:00", 2), ("10:30", 5)]
        )
        assert got == Spread({"a": "09:00", "b": "09:00", "c": "10:00", "d": "10:00", "e": "10:30"}, ())

    def test_an_exact_fit_leaves_nobody_over(self):
        got = spread_over_slots(["a", "b", "c"], [(1, 1), (2, 2)])
        assert got.assigned == {"a": 1, "b": 2, "c": 2} and got.unplaced == ()

    def test_people_left_over_are_returned_in_list_order(self):
        got = spread_over_slots(["a", "b", "c", "d"], [(1, 1), (2, 1)])
        assert got.assigned == {"a": 1, "b": 2}
        assert got.unplaced == ("c", "d")

    def test_no_slots_or_no_people(self):
        assert spread_over_slots(["a"], []) == Spread({}, ("a",))
        assert spread_over_slots([], [(1, 3)]) == Spread({}, ())

    @pytest.mark.parametrize(
        ("people", "slots", "fragment"),
        [
            (["a", "b", "a"], [(1, 5)], "名单中人员重复：a"),
            (["a"], [(1, 1), (1, 2)], "预约时段重复：1"),
            (["a"], [(1, -1)], "剩余名额须为非负整数"),
        ],
    )
    def test_it_rejects_bad_input(self, people, slots, fragment):
        with pytest.raises(ValueError, match=fragment):
            spread_over_slots(people, slots)


@FAST
@given(
    people=st.lists(st.text("甲乙丙丁戊己庚辛", min_size=1, max_size=3), unique=True, max_size=40),
    frees=st.lists(st.integers(0, 8), max_size=8),
)
def test_spread_never_overfills_and_loses_nobody(people, frees):
    slots = list(enumerate(frees))
    got = spread_over_slots(people, slots)
    for key, free in slots:
        assert sum(1 for k in got.assigned.values() if k == key) <= free
    assert list(got.assigned) + list(got.unplaced) == people
    assert len(got.assigned) == min(len(people), sum(frees))
    # First fit: slot keys never go back in time along the list.
    keys = list(got.assigned.values())
    assert keys == sorted(keys)
    assert spread_over_slots(people, slots) == got


# ------------------------------------------------------------------------------------------------
# Waiting list
# ------------------------------------------------------------------------------------------------


class TestWaitlist:
    E1 = WaitlistEntry(3, at(2021, 6, 1, 9, 0), "V:A")
    E2 = WaitlistEntry(1, at(2021, 6, 1, 9, 5))
    E3 = WaitlistEntry(2, at(2021, 6, 1, 9, 5), "E:7")
    E4 = WaitlistEntry(4, at(2021, 6, 1, 10, 0), "V:A")

    def test_first_come_first_served_then_by_id(self):
        assert waitlist_order([self.E4, self.E3, self.E2, self.E1]) == (self.E1, self.E2, self.E3, self.E4)

    def test_the_same_moment_in_another_zone_is_the_same_moment(self):
        utc = WaitlistEntry(0, at(2021, 6, 1, 9, 5).astimezone(dt.UTC))
        assert waitlist_order([self.E2, utc]) == (utc, self.E2)

    def test_an_open_place_goes_to_the_first_entry_of_any_kind(self):
        assert waitlist_pick([self.E4, self.E3, self.E2, self.E1], None) is self.E1
        assert waitlist_pick([self.E4, self.E3, self.E2], "") is self.E2

    def test_a_quota_place_goes_to_the_first_entry_of_that_quota(self):
        assert waitlist_pick([self.E4, self.E3, self.E2, self.E1], "E:7") is self.E3
        assert waitlist_pick([self.E4, self.E2], "V:A") is self.E4

    def test_nobody_eligible(self):
        assert waitlist_pick([self.E2, self.E3], "V:A") is None
        assert waitlist_pick([], None) is None

    def test_a_blank_quota_key_is_an_open_entry(self):
        assert WaitlistEntry(9, at(2021, 6, 1), " ").quota_key is None

    def test_a_naive_time_is_refused(self):
        with pytest.raises(ValueError, match="候补登记时间须带时区"):
            WaitlistEntry(1, dt.datetime(2021, 6, 1, 9))


# ------------------------------------------------------------------------------------------------
# SMS texts
# ------------------------------------------------------------------------------------------------

SLOT = {"start": at(2021, 6, 15, 9, 0), "end": at(2021, 6, 15, 9, 30)}
LONG_SITE = "清溪县人民医院新冠病毒疫苗大规模临时接种点"


class TestRender:
    @pytest.mark.parametrize("template", [Template.BOOKING_CONFIRMED, Template.REMINDER])
    def test_an_appointment_text_names_the_masked_name_site_date_time_and_dose(self, template):
        text = render(template, name="张三丰", site="城关镇卫生院", dose_number=2, sign="清溪县疾控", **SLOT)
        assert text.startswith("【清溪县疾控】张*丰，")
        assert "张三丰" not in text
        assert "城关镇卫生院" in text and "6月15日（周二）09:00—09:30" in text and "第2剂" in text

    def test_the_booking_confirmation_text(self):
        text = render(Template.BOOKING_CONFIRMED, name="李四", site="城关镇卫生院", dose_number=1, **SLOT)
        assert text == (
            "李*，您已预约新冠病毒疫苗第1剂：6月15日（周二）09:00—09:30，城关镇卫生院。"
            "请带身份证件按时前往；如不能前往，请提前取消。"
        )

    def test_the_reminder_says_tomorrow_and_works_without_a_name_or_end(self):
        text = render(
            Template.REMINDER,
            site="城关镇卫生院",
            dose_number=3,
            is_booster=True,
            start=SLOT["start"],
            sent_on=dt.date(2021, 6, 14),
        )
        assert text == (
            "提醒您明天接种新冠病毒疫苗加强针：6月15日（周二）09:00，城关镇卫生院。"
            "请带身份证件；如有发热等不适，请告知预检医生。"
        )

    def test_a_reminder_sent_on_the_day_says_today_and_one_without_its_day_says_neither(self):
        today = render(
            Template.REMINDER, site="城关镇卫生院", dose_number=1, **SLOT, sent_on=dt.date(2021, 6, 15)
        )
        assert (
            today.startswith("提醒您今天接种新冠病毒疫苗第1剂：6月15日（周二）09:00—09:30")
            and "明天" not in today
        )
        plain = render(Template.REMINDER, site="城关镇卫生院", dose_number=1, **SLOT)
        assert "明天" not in plain and "今天" not in plain and "6月15日（周二）09:00—09:30" in plain
        earlier = render(
            Template.REMINDER, site="城关镇卫生院", dose_number=1, **SLOT, sent_on=dt.date(2021, 6, 1)
        )
        assert "明天" not in earlier and "今天" not in earlier
        with pytest.raises(ValueError, match="sent_on"):
            render(Template.REMINDER, site="城关镇卫生院", dose_number=1, **SLOT, sent_on="2021-06-15")

    def test_times_are_shown_in_local_time_whatever_zone_they_come_in(self):
        # The database returns UTC: 14 June 16:30 UTC is 15 June 00:30 in Shanghai.
        text = render(
            Template.REMINDER,
            site="城关镇卫生院",
            dose_number=1,
            start=at(2021, 6, 15, 0, 30).astimezone(dt.UTC),
            end=at(2021, 6, 15, 1, 0).astimezone(dt.UTC),
        )
        assert "6月15日（周二）00:30—01:00" in text
        utc = render(Template.REMINDER, site="x", dose_number=1, start=at(2021, 6, 15, 0, 30), tz=dt.UTC)
        assert "6月14日（周一）16:30" in utc

    def test_the_second_dose_due_text(self):
        text = render(
            Template.SECOND_DOSE_DUE,
            name="王小明",
            dose_number=2,
            earliest=dt.date(2021, 4, 22),
            latest=dt.date(2021, 5, 27),
            site="城关镇卫生院",
        )
        assert text == (
            "王*明，您的新冠病毒疫苗第2剂自4月22日（周四）起可以接种，"
            "请于5月27日（周四）前到城关镇卫生院接种，或联系村（社区）预约。"
        )
        plain = render(Template.SECOND_DOSE_DUE, dose_number=2, earliest=dt.date(2021, 4, 22))
        assert plain == "您的新冠病毒疫苗第2剂自4月22日（周四）起可以接种，请按时接种，或联系村（社区）预约。"

    def test_the_overdue_text(self):
        text = render(
            Template.OVERDUE, name="王小明", dose_number=2, latest=dt.date(2021, 5, 27), site="城关镇卫生院"
        )
        assert (
            text
            == "王*明，您的新冠病毒疫苗第2剂已超过建议接种日期5月27日（周四），请尽快到城关镇卫生院补种，无需重新开始。"
        )

    def test_the_one_time_code_text(self):
        assert render(Template.OTP, code="042917", sign="清溪县疾控") == (
            "【清溪县疾控】您的验证码为042917，10分钟内有效。请勿将验证码告诉他人。"
        )
        assert "5分钟内有效" in render("otp", code="1234", minutes=5)

    @pytest.mark.parametrize(
        ("template", "context"),
        [
            (
                Template.BOOKING_CONFIRMED,
                {
                    "name": "欧阳娜娜",
                    "site": LONG_SITE,
                    "address": "城关镇人民路188号体育馆",
                    "dose_number": 2,
                    **SLOT,
                },
            ),
            (
                Template.REMINDER,
                {
                    "name": "欧阳娜娜",
                    "site": LONG_SITE,
                    "address": "城关镇人民路188号体育馆",
                    "dose_number": 2,
                    **SLOT,
                },
            ),
            (
                Template.SECOND_DOSE_DUE,
                {
                    "name": "欧阳娜娜",
                    "site": LONG_SITE,
                    "dose_number": 2,
                    "earliest": dt.date(2021, 12, 22),
                    "latest": dt.date(2021, 12, 31),
                },
            ),
            (
                Template.OVERDUE,
                {"name": "欧阳娜娜", "site": LONG_SITE, "dose_number": 2, "latest": dt.date(2021, 12, 31)},
            ),
            (Template.OTP, {"code": "12345678", "minutes": 10}),
        ],
    )
    def test_a_normal_text_fits_one_sms(self, template, context):
        text = render(template, sign="清溪县疾病预防控制中心", **context)
        assert len(text) <= SMS_MAX_CHARS

    def test_every_template_has_a_chinese_label(self):
        assert [t.label_zh for t in Template] == ["预约成功", "接种提醒", "第二剂到期", "逾期未种", "验证码"]

    @pytest.mark.parametrize(
        ("template", "context", "fragment"),
        [
            (Template.BOOKING_CONFIRMED, {"site": "x", "dose_number": 1}, "缺少参数：start"),
            (Template.OVERDUE, {"dose_number": 2}, "缺少参数：latest"),
            (Template.OTP, {"code": "1234", "id_number": "x"}, "不使用参数：id_number"),
            (
                Template.REMINDER,
                {"site": "x", "dose_number": 1, "start": dt.datetime(2021, 6, 15, 9)},
                "须带时区",
            ),
            (Template.REMINDER, {"site": " ", "dose_number": 1, **SLOT}, "site不能为空"),
            (Template.REMINDER, {"site": "x", "dose_number": 0, **SLOT}, "dose_number须为正整数"),
            (
                Template.REMINDER,
                {"site": "x", "dose_number": 1, "start": SLOT["end"], "end": SLOT["start"]},
                "end须晚于start",
            ),
            (Template.OVERDUE, {"dose_number": 2, "latest": at(2021, 5, 27)}, "latest须为日期"),
            (Template.OTP, {"code": "12ab"}, "4至8位数字"),
            (Template.OTP, {"code": 1234}, "须为文字"),
            (Template.OTP, {"code": "1234", "minutes": 0}, "minutes须为正整数"),
        ],
    )
    def test_it_rejects_bad_context(self, template, context, fragment):
        with pytest.raises(ValueError, match=fragment):
            render(template, **context)

    @pytest.mark.parametrize("number", ["33019919800615002X", "330199198006150", "11010519491231002x"])
    def test_an_id_number_is_never_sent(self, number):
        with pytest.raises(ValueError, match="不得包含证件号码"):
            render(Template.BOOKING_CONFIRMED, name=number, site="城关镇卫生院", dose_number=1, **SLOT)
        with pytest.raises(ValueError, match="不得包含证件号码"):
            render(Template.OVERDUE, dose_number=2, latest=dt.date(2021, 5, 27), site=f"卫生院{number}")

    def test_a_phone_number_in_the_address_is_fine(self):
        text = render(
            Template.BOOKING_CONFIRMED,
            site="城关镇卫生院",
            address="咨询电话13812345678",
            dose_number=1,
            **SLOT,
        )
        assert "13812345678" in text


# ------------------------------------------------------------------------------------------------
# When the reminder goes out
# ------------------------------------------------------------------------------------------------


class TestReminderDueAt:
    def test_it_is_18_00_the_day_before(self):
        assert reminder_due_at(at(2021, 6, 15, 9)) == at(2021, 6, 14, 18)

    def test_it_crosses_month_and_year_ends(self):
        assert reminder_due_at(at(2021, 3, 1, 8)) == at(2021, 2, 28, 18)
        assert reminder_due_at(at(2022, 1, 1, 8)) == at(2021, 12, 31, 18)

    def test_an_early_morning_slot_still_uses_the_evening_before(self):
        assert reminder_due_at(at(2021, 6, 15, 0, 30)) == at(2021, 6, 14, 18)

    def test_the_local_day_counts_not_the_utc_day(self):
        # 07:00 in Shanghai is 23:00 UTC the day before (as the database hands it back); the reminder
        # is still 18:00 Shanghai on 14 June, given in Shanghai time.
        start = at(2021, 6, 15, 7).astimezone(dt.UTC)
        due = reminder_due_at(start)
        assert due == at(2021, 6, 14, 18)
        assert (due.hour, due.utcoffset()) == (18, dt.timedelta(hours=8))

    def test_another_zone_may_be_given(self):
        due = reminder_due_at(at(2021, 6, 15, 7), tz=dt.UTC)  # 14 June 23:00 UTC
        assert due == dt.datetime(2021, 6, 13, 18, tzinfo=dt.UTC)

    def test_a_late_booking_in_utc_comes_back_in_local_time(self):
        booked = at(2021, 6, 14, 20).astimezone(dt.UTC)
        due = reminder_due_at(at(2021, 6, 15, 9), booked_at=booked)
        assert due == booked and due.utcoffset() == dt.timedelta(hours=8)

    @pytest.mark.parametrize(
        ("booked_at", "due"),
        [
            (at(2021, 6, 10, 12), at(2021, 6, 14, 18)),  # booked days ahead
            (at(2021, 6, 14, 18), at(2021, 6, 14, 18)),  # booked exactly at 18:00
            (at(2021, 6, 14, 18, 0, 1), at(2021, 6, 14, 18, 0, 1)),  # booked after: send at once
            (at(2021, 6, 15, 8), at(2021, 6, 15, 8)),  # booked on the day
        ],
    )
    def test_a_late_booking_is_reminded_at_once(self, booked_at, due):
        assert reminder_due_at(at(2021, 6, 15, 9), booked_at=booked_at) == due

    def test_it_refuses_naive_and_impossible_moments(self):
        with pytest.raises(ValueError, match="接种时间须带时区"):
            reminder_due_at(dt.datetime(2021, 6, 15, 9))
        with pytest.raises(ValueError, match="预约时间须带时区"):
            reminder_due_at(at(2021, 6, 15, 9), booked_at=dt.datetime(2021, 6, 14, 9))
        with pytest.raises(ValueError, match="预约时间不能晚于"):
            reminder_due_at(at(2021, 6, 15, 9), booked_at=at(2021, 6, 15, 9))


# ------------------------------------------------------------------------------------------------
# One-time codes
# ------------------------------------------------------------------------------------------------

ISSUED = at(2021, 6, 15, 9)


class TestOtpValid:
    @pytest.mark.parametrize(
        ("now", "attempts", "expected"),
        [
            (ISSUED, 0, (True, "")),
            (ISSUED + dt.timedelta(minutes=10) - dt.timedelta(microseconds=1), 4, (True, "")),
            (ISSUED + dt.timedelta(minutes=10), 0, (False, "验证码已过期（10分钟内有效），请重新获取")),
            (ISSUED + dt.timedelta(minutes=1), 5, (False, "验证码已输错5次，请重新获取")),
            (ISSUED - dt.timedelta(seconds=1), 0, (False, "验证码签发时间异常，请重新获取")),
        ],
    )
    def test_defaults(self, now, attempts, expected):
        assert otp_valid(issued_at=ISSUED, now=now, attempts=attempts) == expected

    def test_custom_limits(self):
        assert otp_valid(
            issued_at=ISSUED, now=ISSUED + dt.timedelta(minutes=4), attempts=2, max_attempts=3, ttl_minutes=5
        )[0]
        assert not otp_valid(issued_at=ISSUED, now=ISSUED, attempts=3, max_attempts=3)[0]
        assert not otp_valid(
            issued_at=ISSUED, now=ISSUED + dt.timedelta(minutes=5), attempts=0, ttl_minutes=5
        )[0]

    def test_moments_in_different_zones_compare_as_moments(self):
        now = (ISSUED + dt.timedelta(minutes=9)).astimezone(dt.UTC)
        assert otp_valid(issued_at=ISSUED, now=now, attempts=0) == (True, "")

    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            ({"issued_at": dt.datetime(2021, 6, 15, 9)}, "签发时间须带时区"),
            ({"now": dt.datetime(2021, 6, 15, 9)}, "当前时间须带时区"),
            ({"attempts": -1}, "非负整数"),
            ({"max_attempts": 0}, "正整数"),
            ({"ttl_minutes": 0}, "正整数"),
        ],
    )
    def test_it_rejects_bad_input(self, kwargs, fragment):
        base = {"issued_at": ISSUED, "now": ISSUED, "attempts": 0}
        with pytest.raises(ValueError, match=fragment):
            otp_valid(**{**base, **kwargs})
