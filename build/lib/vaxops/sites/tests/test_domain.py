"""Sites: opening hours, slots and capacity, the split of a slot's places, "四有" readiness and
持证上岗 (pure rules, no database)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxops.sites import domain
from vaxops.sites.domain import (
    Certificate,
    CertificateKind,
    DeskKind,
    HoursException,
    ReadinessItem,
    SiteKind,
    SlotSpec,
    Split,
    StaffRole,
    WeeklyHours,
    certificate_valid,
    may_assign,
    open_intervals,
    qualified,
    readiness_missing,
    session_may_open,
    slots_for_day,
    split_capacity,
    validate_intervals,
)

FAST = settings(max_examples=200, deadline=None)
MONDAY = dt.date(2021, 6, 14)
SATURDAY = dt.date(2021, 6, 19)


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def r(start: str, end: str) -> tuple[dt.time, dt.time]:
    return (t(start), t(end))


# ------------------------------------------------------------------------------------------------
# Kinds
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "label"),
    [
        (SiteKind.FIXED, "固定接种门诊"),
        (SiteKind.TEMPORARY, "大规模临时接种点"),
        (SiteKind.MOBILE, "流动接种队"),
        (StaffRole.SCREENING, "预检"),
        (StaffRole.REGISTRATION, "登记"),
        (StaffRole.VACCINATION, "接种"),
        (StaffRole.OBSERVATION, "留观"),
        (StaffRole.RESCUE, "医疗救治"),
        (DeskKind.SCREENING, "预检台"),
        (DeskKind.REGISTRATION, "登记台"),
        (DeskKind.VACCINATION, "接种台"),
        (DeskKind.OBSERVATION, "留观区"),
        (ReadinessItem.MEDICAL_STAFF, "医护人员在岗"),
        (ReadinessItem.EMERGENCY_KIT, "急救药品器械"),
        (ReadinessItem.AMBULANCE, "120救护车待命"),
        (ReadinessItem.GREEN_CHANNEL, "转诊路线与绿色通道"),
        (CertificateKind.TRAINING, "培训合格证"),
        (CertificateKind.LICENCE, "执业资格证"),
    ],
)
def test_every_kind_has_a_chinese_label(member, label):
    assert member.label_zh == label


def test_the_stored_values_match_the_models_choices():
    # The models store these strings; the domain must accept them back as they are.
    assert [k.value for k in SiteKind] == ["fixed", "temporary", "mobile"]
    assert {r.value for r in StaffRole} == {
        "screening",
        "registration",
        "vaccination",
        "observation",
        "rescue",
    }
    assert {d.value for d in DeskKind} == {"screening", "registration", "vaccination", "observation"}
    assert [c.value for c in CertificateKind] == ["training", "licence"]
    assert [i.value for i in ReadinessItem] == [
        "medical_staff",
        "emergency_kit",
        "ambulance",
        "green_channel",
    ]


def test_each_desk_role_staffs_its_own_desk_and_rescue_none():
    assert {role: role.desk_kind for role in StaffRole} == {
        StaffRole.SCREENING: DeskKind.SCREENING,
        StaffRole.REGISTRATION: DeskKind.REGISTRATION,
        StaffRole.VACCINATION: DeskKind.VACCINATION,
        StaffRole.OBSERVATION: DeskKind.OBSERVATION,
        StaffRole.RESCUE: None,
    }


# ------------------------------------------------------------------------------------------------
# Opening hours
# ------------------------------------------------------------------------------------------------


class TestIntervals:
    def test_it_sorts_and_accepts_touching_intervals(self):
        got = validate_intervals([r("14:00", "17:00"), r("08:00", "12:00"), r("12:00", "14:00")])
        assert got == (r("08:00", "12:00"), r("12:00", "14:00"), r("14:00", "17:00"))

    def test_empty_means_closed(self):
        assert validate_intervals([]) == ()

    @pytest.mark.parametrize(
        ("intervals", "fragment"),
        [
            ([r("08:00", "12:00"), r("11:30", "14:00")], "08:00—12:00与11:30—14:00重叠"),
            ([r("08:00", "17:00"), r("09:00", "10:00")], "重叠"),
            ([r("12:00", "08:00")], "结束时间须晚于开始时间"),
            ([r("08:00", "08:00")], "结束时间须晚于开始时间"),
            ([(t("08:00"), dt.time(12, 0, 30))], "精确到分钟"),
            ([(dt.time(8, tzinfo=dt.UTC), t("12:00"))], "不带时区"),
            ([("08:00", "12:00")], "须为时间"),
            ([(t("08:00"),)], "开始时间, 结束时间"),
        ],
    )
    def test_it_rejects_bad_intervals(self, intervals, fragment):
        with pytest.raises(ValueError, match=fragment):
            validate_intervals(intervals)


class TestWeeklyHours:
    HOURS = WeeklyHours({0: [r("14:00", "17:00"), r("08:00", "12:00")], 5: [r("08:00", "12:00")], 6: []})

    def test_it_gives_the_intervals_of_a_weekday_sorted(self):
        assert self.HOURS.intervals_on(0) == (r("08:00", "12:00"), r("14:00", "17:00"))
        assert self.HOURS.intervals_on(5) == (r("08:00", "12:00"),)

    def test_a_missing_or_empty_weekday_is_closed(self):
        assert self.HOURS.intervals_on(2) == ()
        assert self.HOURS.intervals_on(6) == ()
        assert 6 not in self.HOURS.by_weekday

    @pytest.mark.parametrize("weekday", [-1, 7, True, "0"])
    def test_it_rejects_a_bad_weekday(self, weekday):
        with pytest.raises(ValueError, match="星期须为0"):
            WeeklyHours({weekday: [r("08:00", "12:00")]})

    def test_it_names_the_weekday_of_a_bad_interval(self):
        with pytest.raises(ValueError, match="星期三的开放时段.*重叠"):
            WeeklyHours({2: [r("08:00", "12:00"), r("11:00", "13:00")]})


class TestOpenIntervals:
    HOURS = WeeklyHours({0: [r("08:00", "12:00"), r("14:00", "17:00")], 5: [r("08:30", "11:30")]})

    def test_it_uses_the_weekly_hours(self):
        assert open_intervals(self.HOURS, [], MONDAY) == (r("08:00", "12:00"), r("14:00", "17:00"))
        assert open_intervals(self.HOURS, [], SATURDAY) == (r("08:30", "11:30"),)
        assert open_intervals(self.HOURS, [], MONDAY + dt.timedelta(days=1)) == ()

    def test_a_closed_exception_closes_the_day(self):
        closed = HoursException(MONDAY, note="端午节")
        assert closed.closed
        assert open_intervals(self.HOURS, [closed], MONDAY) == ()
        assert open_intervals(self.HOURS, [closed], MONDAY + dt.timedelta(days=7)) == self.HOURS.intervals_on(
            0
        )

    def test_special_hours_replace_the_weekly_hours(self):
        # A Sunday opened for a mass session, and a Monday with evening hours instead of the usual ones.
        sunday = HoursException(dt.date(2021, 6, 20), (r("08:00", "18:00"),))
        evening = HoursException(MONDAY, (r("18:00", "21:00"), r("08:00", "12:00")))
        assert open_intervals(self.HOURS, [sunday, evening], dt.date(2021, 6, 20)) == (r("08:00", "18:00"),)
        assert open_intervals(self.HOURS, [sunday, evening], MONDAY) == (
            r("08:00", "12:00"),
            r("18:00", "21:00"),
        )

    def test_two_exceptions_for_one_day_are_refused(self):
        with pytest.raises(ValueError, match="2021-06-14有2条特殊开放安排"):
            open_intervals(
                self.HOURS, [HoursException(MONDAY), HoursException(MONDAY, (r("08:00", "09:00"),))], MONDAY
            )

    def test_an_exception_validates_its_intervals(self):
        with pytest.raises(ValueError, match="2021-06-14的特殊开放时段.*重叠"):
            HoursException(MONDAY, (r("08:00", "10:00"), r("09:00", "11:00")))


# ------------------------------------------------------------------------------------------------
# Slots
# ------------------------------------------------------------------------------------------------


class TestSlots:
    def test_an_interval_that_fits_exactly_gives_whole_slots(self):
        slots = slots_for_day([r("08:00", "10:00")], slot_minutes=30, desks=2, per_desk_per_hour=20)
        assert slots == (
            SlotSpec(t("08:00"), t("08:30"), 20),
            SlotSpec(t("08:30"), t("09:00"), 20),
            SlotSpec(t("09:00"), t("09:30"), 20),
            SlotSpec(t("09:30"), t("10:00"), 20),
        )

    def test_a_trailing_part_shorter_than_a_slot_is_dropped(self):
        slots = slots_for_day([r("08:00", "09:59")], slot_minutes=30, desks=1, per_desk_per_hour=20)
        assert [(s.start, s.end) for s in slots] == [
            r("08:00", "08:30"),
            r("08:30", "09:00"),
            r("09:00", "09:30"),
        ]

    def test_an_interval_shorter_than_a_slot_gives_none(self):
        assert slots_for_day([r("08:00", "08:20")], slot_minutes=30, desks=1, per_desk_per_hour=20) == ()

    def test_slots_never_run_across_the_lunch_break(self):
        slots = slots_for_day(
            [r("14:00", "15:00"), r("08:00", "09:45")], slot_minutes=45, desks=4, per_desk_per_hour=15
        )
        assert [(s.start, s.end, s.capacity) for s in slots] == [
            (t("08:00"), t("08:45"), 45),
            (t("08:45"), t("09:30"), 45),
            (t("14:00"), t("14:45"), 45),
        ]

    def test_a_slot_may_end_at_the_last_minute_of_the_day(self):
        slots = slots_for_day([r("23:00", "23:59")], slot_minutes=59, desks=1, per_desk_per_hour=60)
        assert slots == (SlotSpec(t("23:00"), t("23:59"), 59),)

    @pytest.mark.parametrize(
        ("desks", "rate", "minutes", "capacity"),
        [
            (3, 20, 30, 30),
            (1, 5, 10, 0),  # 0.83 → 0: too few desks for so short a slot
            (0, 20, 30, 0),  # no desks staffed
            (2, 7, 20, 4),  # 4.67 rounds down
            (2, Decimal("7.5"), 20, 5),
            (3, Fraction(25, 2), 20, 12),
            (100, 4.35, 60, 435),  # float 100 × 4.35 = 434.99999999999994; read as the decimal 4.35
            (100, Decimal("4.35"), 60, 435),
        ],
    )
    def test_capacity_is_the_exact_floor(self, desks, rate, minutes, capacity):
        slots = slots_for_day(
            [r("08:00", "12:00")], slot_minutes=minutes, desks=desks, per_desk_per_hour=rate
        )
        assert {s.capacity for s in slots} == {capacity}

    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            ({"slot_minutes": 0, "desks": 1, "per_desk_per_hour": 20}, "时段长度"),
            ({"slot_minutes": 15.0, "desks": 1, "per_desk_per_hour": 20}, "时段长度"),
            ({"slot_minutes": 30, "desks": -1, "per_desk_per_hour": 20}, "接种台数"),
            ({"slot_minutes": 30, "desks": 1, "per_desk_per_hour": -1}, "不能为负"),
            ({"slot_minutes": 30, "desks": 1, "per_desk_per_hour": float("nan")}, "有限数值"),
            ({"slot_minutes": 30, "desks": 1, "per_desk_per_hour": "20"}, "须为数值"),
        ],
    )
    def test_it_rejects_bad_settings(self, kwargs, fragment):
        with pytest.raises(ValueError, match=fragment):
            slots_for_day([r("08:00", "12:00")], **kwargs)

    def test_it_rejects_overlapping_intervals(self):
        with pytest.raises(ValueError, match="重叠"):
            slots_for_day(
                [r("08:00", "12:00"), r("11:00", "13:00")], slot_minutes=30, desks=1, per_desk_per_hour=20
            )


@st.composite
def day_intervals(draw):
    """Up to 4 non-overlapping intervals within a day, in random order."""
    cuts = sorted(draw(st.sets(st.integers(0, 24 * 60 - 1), max_size=8)))
    pairs = [(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if a < b]
    intervals = [(domain._time(a), domain._time(b)) for a, b in pairs]
    return draw(st.permutations(intervals))


@FAST
@given(
    intervals=day_intervals(),
    minutes=st.integers(1, 240),
    desks=st.integers(0, 30),
    rate=st.one_of(st.integers(0, 60), st.fractions(min_value=0, max_value=60, max_denominator=20)),
)
def test_slots_stay_inside_their_intervals(intervals, minutes, desks, rate):
    slots = slots_for_day(intervals, slot_minutes=minutes, desks=desks, per_desk_per_hour=rate)
    mins = domain._minutes
    for s in slots:
        assert mins(s.end) - mins(s.start) == minutes
        assert any(a <= s.start and s.end <= b for a, b in intervals)
        assert s.capacity == math.floor(Fraction(desks) * Fraction(rate) * minutes / 60)
        assert s.capacity >= 0
    assert all(a.end <= b.start for a, b in zip(slots, slots[1:], strict=False))
    # As many slots as fit whole into each interval: nothing usable is dropped.
    assert len(slots) == sum((mins(b) - mins(a)) // minutes for a, b in intervals)


# ------------------------------------------------------------------------------------------------
# Splitting a slot's places
# ------------------------------------------------------------------------------------------------


class TestSplitCapacity:
    @pytest.mark.parametrize(
        ("capacity", "quotas", "walk_in", "expected"),
        [
            # Walk-in 20 % of 10 = 2; quotas are shares of the other 8: A 4, B 2; 2 open.
            (
                10,
                {"V:A": Fraction(1, 2), "E:1": Fraction(1, 4)},
                Decimal("0.2"),
                Split(2, {"E:1": 2, "V:A": 4}, 2),
            ),
            # No quotas, no walk-in: everything open.
            (30, {}, 0, Split(0, {}, 30)),
            # Quota shares summing to 1 leave nothing open.
            (30, {"V:A": 0.5, "V:B": 0.5}, 0.2, Split(6, {"V:A": 12, "V:B": 12}, 0)),
            # Walk-in share 1: the whole slot is kept for walk-ins.
            (7, {"V:A": 0.5}, 1, Split(7, {"V:A": 0}, 0)),
            # Capacity 0: all parts 0.
            (0, {"V:A": 0.5}, 0.2, Split(0, {"V:A": 0}, 0)),
            # Walk-in 2.5 → 2, A 3.75 → 4, open 3.75 → 4: remainders .5/.75/.75, the spare two go to A and open.
            (10, {"V:A": 0.5}, 0.25, Split(2, {"V:A": 4}, 4)),
            # Three quotas of 1/3 of 10: 3.33 each; the spare place goes to the first key.
            (
                10,
                {"V:C": Fraction(1, 3), "V:A": Fraction(1, 3), "V:B": Fraction(1, 3)},
                0,
                Split(0, {"V:A": 4, "V:B": 3, "V:C": 3}, 0),
            ),
            # Ties between walk-in and a quota (both .5): walk-in first, then quotas by key, then open.
            # (walk-in 0.5, A 0.5, open 1: the spare place goes to the walk-in reserve)
            (2, {"V:A": Fraction(1, 3)}, Fraction(1, 4), Split(1, {"V:A": 0}, 1)),
            # (walk-in 1.5, A 0.75, open 0.75: A and open have the larger remainders)
            (3, {"V:A": Fraction(1, 2)}, Fraction(1, 2), Split(1, {"V:A": 1}, 1)),
            (1, {"V:B": Fraction(1, 2), "V:A": Fraction(1, 2)}, 0, Split(0, {"V:A": 1, "V:B": 0}, 0)),
            (1, {"V:A": Fraction(1, 2)}, 0, Split(0, {"V:A": 1}, 0)),
        ],
    )
    def test_it_splits_by_largest_remainder(self, capacity, quotas, walk_in, expected):
        got = split_capacity(capacity, quotas=quotas, walk_in_share=walk_in)
        assert got == expected
        assert got.total == capacity

    def test_quotas_come_back_sorted_by_key(self):
        got = split_capacity(10, quotas={"V:B": 0.1, "E:9": 0.1, "V:A": 0.1})
        assert list(got.quotas) == ["E:9", "V:A", "V:B"]

    def test_float_shares_are_read_as_decimals(self):
        # 0.1 + 0.2 + 0.7 is 1.0000000000000002 in floats, which would be "more than 1".
        got = split_capacity(100, quotas={"a": 0.1, "b": 0.2, "c": 0.7})
        assert got == Split(0, {"a": 10, "b": 20, "c": 70}, 0)

    @pytest.mark.parametrize(
        ("capacity", "quotas", "walk_in", "fragment"),
        [
            (10, {}, 1.2, "现场号比例须在0到1之间"),
            (10, {}, -0.1, "现场号比例须在0到1之间"),
            (10, {"V:A": 1.5}, 0, "V:A的预留比例须在0到1之间"),
            (10, {"V:A": -0.5}, 0, "V:A的预留比例须在0到1之间"),
            (10, {"V:A": 0.6, "V:B": 0.5}, 0, "比例之和为1.1，不能超过1"),
            (10, {" ": 0.5}, 0, "预留对象编码不能为空"),
            (-1, {}, 0, "容量须为非负整数"),
            (10, {}, True, "须为数值"),
        ],
    )
    def test_it_rejects_bad_shares(self, capacity, quotas, walk_in, fragment):
        with pytest.raises(ValueError, match=fragment):
            split_capacity(capacity, quotas=quotas, walk_in_share=walk_in)


shares = st.fractions(min_value=0, max_value=1, max_denominator=100)


@st.composite
def quota_shares(draw):
    keys = draw(st.lists(st.text("ABCDE", min_size=1, max_size=3), max_size=5, unique=True))
    # Shares in 1/120ths (halves, thirds, quarters, fifths, … all occur), summing to at most 1.
    quotas = {}
    left = 120
    for key in keys:
        units = draw(st.integers(0, left))
        quotas[key] = Fraction(units, 120)
        left -= units
    return quotas


@FAST
@given(capacity=st.integers(0, 500), quotas=quota_shares(), walk_in=shares)
def test_split_always_sums_to_capacity_and_rounds_each_part_by_at_most_one(capacity, quotas, walk_in):
    got = split_capacity(capacity, quotas=quotas, walk_in_share=walk_in)
    assert got.total == capacity
    rest = capacity * (1 - walk_in)
    exact = {"walk_in": capacity * walk_in, "open": rest * (1 - sum(quotas.values(), Fraction(0)))}
    exact |= {f"q:{k}": rest * s for k, s in quotas.items()}
    parts = {"walk_in": got.walk_in, "open": got.open} | {f"q:{k}": v for k, v in got.quotas.items()}
    assert parts.keys() == exact.keys()
    for key, value in parts.items():
        assert 0 <= value <= capacity
        assert math.floor(exact[key]) <= value <= math.ceil(exact[key]), key


# ------------------------------------------------------------------------------------------------
# "四有" readiness
# ------------------------------------------------------------------------------------------------

ALL_CONFIRMED = {item: "王医生" for item in ReadinessItem}


class TestReadiness:
    def test_nothing_confirmed_misses_all_four_in_order(self):
        assert readiness_missing({}) == (
            "医护人员在岗",
            "急救药品器械",
            "120救护车待命",
            "转诊路线与绿色通道",
        )

    def test_all_confirmed_misses_nothing(self):
        assert readiness_missing(ALL_CONFIRMED) == ()

    def test_a_none_or_blank_confirmer_counts_as_missing(self):
        confirmed = {**ALL_CONFIRMED, ReadinessItem.AMBULANCE: None, ReadinessItem.MEDICAL_STAFF: "  "}
        assert readiness_missing(confirmed) == ("医护人员在岗", "120救护车待命")

    def test_stored_string_keys_are_accepted(self):
        assert readiness_missing({"medical_staff": "a", "emergency_kit": "b", "ambulance": "c"}) == (
            "转诊路线与绿色通道",
        )

    def test_an_unknown_item_is_refused(self):
        with pytest.raises(ValueError, match="未知的开诊准备项目：parking"):
            readiness_missing({"parking": "a"})


class TestSessionMayOpen:
    def test_it_opens_when_everything_is_in_place(self):
        assert session_may_open(
            readiness=ALL_CONFIRMED, designated_hospital="县人民医院", staffed_desks=list(DeskKind) * 2
        ) == (True, "")

    def test_it_names_the_missing_readiness_items(self):
        ok, reason = session_may_open(
            readiness={**ALL_CONFIRMED, ReadinessItem.GREEN_CHANNEL: None},
            designated_hospital="县人民医院",
            staffed_desks=DeskKind,
        )
        assert not ok
        assert reason == "不能开诊：“四有”未落实：转诊路线与绿色通道"

    def test_it_needs_a_designated_hospital(self):
        ok, reason = session_may_open(
            readiness=ALL_CONFIRMED, designated_hospital=" ", staffed_desks=DeskKind
        )
        assert (ok, reason) == (False, "不能开诊：未指定定点救治医院")

    def test_it_needs_every_desk_kind_staffed(self):
        ok, reason = session_may_open(
            readiness=ALL_CONFIRMED,
            designated_hospital="县人民医院",
            staffed_desks=["vaccination", "registration"],
        )
        assert (ok, reason) == (False, "不能开诊：以下岗位无人值守：预检台、留观区")

    def test_a_mobile_team_may_require_fewer_desks(self):
        assert session_may_open(
            readiness=ALL_CONFIRMED,
            designated_hospital="乡镇卫生院",
            staffed_desks=[DeskKind.VACCINATION, DeskKind.OBSERVATION, DeskKind.SCREENING],
            required_desks=[DeskKind.SCREENING, DeskKind.VACCINATION, DeskKind.OBSERVATION],
        ) == (True, "")

    def test_it_lists_every_problem_at_once(self):
        ok, reason = session_may_open(readiness={}, designated_hospital=None, staffed_desks=[])
        assert not ok
        assert reason.count("；") == 2
        assert "120救护车待命" in reason and "未指定定点救治医院" in reason and "接种台" in reason


# ------------------------------------------------------------------------------------------------
# Certificates and assignments
# ------------------------------------------------------------------------------------------------

JUNE_1 = dt.date(2021, 6, 1)
MAY_31 = dt.date(2021, 5, 31)


def training(number="PX-2021-001", valid_from=dt.date(2021, 1, 10), valid_to=MAY_31):
    return Certificate(CertificateKind.TRAINING, number, valid_from, valid_to)


class TestCertificateValid:
    @pytest.mark.parametrize(
        ("on", "valid"),
        [
            (dt.date(2021, 1, 9), False),  # the day before it starts
            (dt.date(2021, 1, 10), True),  # its first day
            (MAY_31, True),  # expiring on the day: still valid that day
            (JUNE_1, False),  # the day after
        ],
    )
    def test_validity_is_inclusive_at_both_ends(self, on, valid):
        assert certificate_valid(training(), on) is valid

    def test_a_certificate_without_expiry_stays_valid(self):
        licence = Certificate(CertificateKind.LICENCE, "110000000001", dt.date(2005, 7, 1))
        assert certificate_valid(licence, dt.date(2040, 1, 1))
        assert not certificate_valid(licence, dt.date(2005, 6, 30))

    def test_it_accepts_the_stored_kind_string(self):
        assert Certificate("training", "T1", JUNE_1, JUNE_1).kind is CertificateKind.TRAINING

    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            ({"number": " "}, "编号不能为空"),
            ({"valid_from": JUNE_1, "valid_to": MAY_31}, "有效期至早于生效日期"),
        ],
    )
    def test_it_rejects_bad_certificates(self, kwargs, fragment):
        with pytest.raises(ValueError, match=fragment):
            training(**kwargs)


class TestMayAssign:
    def test_a_vaccinator_with_a_valid_training_certificate_may_vaccinate(self):
        assert may_assign(StaffRole.VACCINATION, DeskKind.VACCINATION, [training()], MAY_31) == (True, "")

    def test_the_certificate_expiring_on_the_day_still_counts(self):
        assert may_assign("vaccination", "vaccination", [training()], MAY_31)[0]
        assert not may_assign("vaccination", "vaccination", [training()], JUNE_1)[0]

    def test_an_expired_certificate_is_named_with_its_expiry(self):
        ok, reason = may_assign(StaffRole.VACCINATION, DeskKind.VACCINATION, [training()], JUNE_1)
        assert not ok
        assert (
            reason
            == "接种人员须持有效的培训合格证上岗（持证上岗）：培训合格证（编号PX-2021-001）已于2021-05-31到期"
        )

    def test_the_latest_expired_certificate_is_named(self):
        old = training("PX-2020-007", dt.date(2020, 6, 1), dt.date(2020, 12, 31))
        ok, reason = may_assign(StaffRole.VACCINATION, DeskKind.VACCINATION, [training(), old], JUNE_1)
        assert not ok and "PX-2021-001）已于2021-05-31到期" in reason and "PX-2020-007" not in reason

    def test_a_certificate_not_yet_valid_says_from_when(self):
        renewed = training("PX-2021-088", dt.date(2021, 6, 3), dt.date(2023, 6, 2))
        ok, reason = may_assign(StaffRole.VACCINATION, DeskKind.VACCINATION, [training(), renewed], JUNE_1)
        assert not ok
        assert reason.endswith("培训合格证（编号PX-2021-088）尚未生效，2021-06-03起有效")
        assert may_assign(
            StaffRole.VACCINATION, DeskKind.VACCINATION, [training(), renewed], dt.date(2021, 6, 3)
        )[0]

    def test_one_valid_certificate_among_expired_ones_is_enough(self):
        renewed = training("PX-2021-088", JUNE_1, dt.date(2023, 5, 31))
        assert may_assign(StaffRole.VACCINATION, DeskKind.VACCINATION, [training(), renewed], JUNE_1) == (
            True,
            "",
        )

    def test_without_a_training_certificate_a_vaccinator_may_not_vaccinate(self):
        licence = Certificate(CertificateKind.LICENCE, "N-330199-01", dt.date(2010, 1, 1))
        ok, reason = may_assign(StaffRole.VACCINATION, DeskKind.VACCINATION, [licence], JUNE_1)
        assert (ok, reason) == (False, "接种人员须持有效的培训合格证上岗（持证上岗）：未登记培训合格证")

    @pytest.mark.parametrize("role", [StaffRole.SCREENING, StaffRole.OBSERVATION])
    def test_screening_and_observation_staff_need_training_too(self, role):
        assert not may_assign(role, role.desk_kind, [], JUNE_1)[0]
        assert may_assign(role, role.desk_kind, [training(valid_to=JUNE_1)], JUNE_1) == (True, "")

    def test_registration_clerks_need_no_certificate(self):
        assert may_assign(StaffRole.REGISTRATION, DeskKind.REGISTRATION, [], JUNE_1) == (True, "")

    @pytest.mark.parametrize(
        ("role", "desk", "reason"),
        [
            (StaffRole.REGISTRATION, DeskKind.VACCINATION, "登记人员不能安排到接种台（应安排到登记台）"),
            (StaffRole.VACCINATION, DeskKind.SCREENING, "接种人员不能安排到预检台（应安排到接种台）"),
            (StaffRole.OBSERVATION, DeskKind.VACCINATION, "留观人员不能安排到接种台（应安排到留观区）"),
            (StaffRole.RESCUE, DeskKind.OBSERVATION, "医疗救治人员负责现场应急救治值守，不安排到留观区"),
        ],
    )
    def test_a_role_only_staffs_its_own_desk(self, role, desk, reason):
        assert may_assign(role, desk, [training(valid_to=None)], JUNE_1) == (False, reason)

    def test_the_county_may_also_require_a_practising_licence(self):
        rules = {
            **domain.REQUIRED_CERTIFICATES,
            StaffRole.VACCINATION: (CertificateKind.TRAINING, CertificateKind.LICENCE),
        }
        cert = training(valid_to=None)
        ok, reason = may_assign(
            StaffRole.VACCINATION, DeskKind.VACCINATION, [cert], JUNE_1, requirements=rules
        )
        assert (ok, reason) == (
            False,
            "接种人员须持有效的培训合格证、执业资格证上岗（持证上岗）：未登记执业资格证",
        )
        licence = Certificate(CertificateKind.LICENCE, "N-1", dt.date(2010, 1, 1), dt.date(2025, 1, 1))
        assert may_assign(
            StaffRole.VACCINATION, DeskKind.VACCINATION, [cert, licence], JUNE_1, requirements=rules
        )[0]

    def test_rescue_staff_on_duty_need_training(self):
        assert qualified(StaffRole.RESCUE, [training()], MAY_31) == (True, "")
        ok, reason = qualified(StaffRole.RESCUE, [training()], JUNE_1)
        assert not ok and reason.startswith("医疗救治人员须持有效的培训合格证上岗")
