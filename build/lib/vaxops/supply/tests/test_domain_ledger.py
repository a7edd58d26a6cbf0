"""The stock ledger's rules: movement signs, balances, never negative, stock counts, open-vial discard
and stock alerts (pure, no database)."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxops.supply import domain
from vaxops.supply.domain import Movement, MovementKind, WastageReason

K = MovementKind
W = WastageReason
CST = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
OPENED = dt.datetime(2021, 6, 1, 9, 0, tzinfo=CST)


def m(kind, place, doses, *, lot="L1", wastage=None, reason=""):
    return Movement(kind=kind, place=place, lot=lot, doses=doses, wastage_reason=wastage, reason_zh=reason)


class TestMovements:
    @pytest.mark.parametrize(
        ("kind", "sign", "label"),
        [
            (K.RECEIPT, 1, "入库"),
            (K.DISPATCH, -1, "调出"),
            (K.RECEIPT_AT_DESTINATION, 1, "调入签收"),
            (K.ADMINISTRATION, -1, "接种使用"),
            (K.WASTAGE, -1, "损耗"),
            (K.ADJUSTMENT, 0, "盘点调整"),
            (K.RECALL_RETURN, -1, "召回退回"),
        ],
    )
    def test_each_kind_has_a_sign_and_a_label(self, kind, sign, label):
        assert (kind.sign, kind.label_zh) == (sign, label)

    @pytest.mark.parametrize(
        ("movement", "delta"),
        [
            (m(K.RECEIPT, "county", 1000), 1000),
            (m(K.DISPATCH, "county", 400), -400),
            (m(K.RECEIPT_AT_DESTINATION, "site", 390), 390),
            (m(K.ADMINISTRATION, "site", 1), -1),
            (m(K.WASTAGE, "site", 2, wastage=W.BROKEN), -2),
            (m(K.ADJUSTMENT, "site", -3, reason="盘点少3剂"), -3),
            (m(K.ADJUSTMENT, "site", 5, reason="盘点多5剂"), 5),
            (m(K.RECALL_RETURN, "site", 10), -10),
        ],
    )
    def test_delta_applies_the_sign(self, movement, delta):
        assert movement.delta == delta

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"kind": K.RECEIPT, "doses": 0}, "入库数量须为正数"),
            ({"kind": K.ADMINISTRATION, "doses": -1}, "接种使用数量须为正数"),
            ({"kind": K.ADJUSTMENT, "doses": 0, "reason": "无"}, "盘点调整数量不能为0"),
            ({"kind": K.ADJUSTMENT, "doses": 3}, "盘点调整须填写原因"),
            ({"kind": K.ADJUSTMENT, "doses": 3, "reason": "  "}, "盘点调整须填写原因"),
            ({"kind": K.WASTAGE, "doses": 1}, "损耗须选择原因"),
            ({"kind": K.WASTAGE, "doses": 1, "wastage": W.OTHER}, "损耗原因为“其他”时须说明"),
            ({"kind": K.DISPATCH, "doses": 1, "wastage": W.BROKEN}, "调出不应有损耗原因"),
        ],
    )
    def test_it_rejects_malformed_movements(self, kwargs, message):
        args = {"place": "site"}
        args.update(kwargs)
        with pytest.raises(ValueError, match=message):
            m(**args)

    @pytest.mark.parametrize(
        ("reason", "label"),
        [
            (W.BROKEN, "破损"),
            (W.EXPIRED, "过期"),
            (W.TEMPERATURE, "温度异常"),
            (W.OPEN_VIAL_DISCARD, "开瓶超时废弃"),
            (W.OTHER, "其他"),
        ],
    )
    def test_wastage_reasons_have_labels(self, reason, label):
        assert reason.label_zh == label

    def test_stored_strings_become_enums(self):
        movement = m("wastage", "site", 1, wastage="temperature")
        assert movement.kind is K.WASTAGE
        assert movement.wastage_reason is W.TEMPERATURE


SHIPMENT = [
    m(K.RECEIPT, "county", 1000),
    m(K.DISPATCH, "county", 400),
    m(K.RECEIPT_AT_DESTINATION, "site", 400),
    m(K.ADMINISTRATION, "site", 350),
    m(K.WASTAGE, "site", 2, wastage=W.OPEN_VIAL_DISCARD),
    m(K.ADJUSTMENT, "site", -3, reason="盘点少3剂"),
    m(K.RECALL_RETURN, "site", 45),
    m(K.RECEIPT, "county", 200, lot="L2"),
]


class TestBalance:
    def test_it_sums_per_place_and_lot(self):
        assert domain.balance(SHIPMENT) == {("county", "L1"): 600, ("site", "L1"): 0, ("county", "L2"): 200}

    def test_no_movements_no_balances(self):
        assert domain.balance([]) == {}


class TestNonNegative:
    def test_a_consistent_ledger_never_goes_negative(self):
        assert domain.check_non_negative(SHIPMENT) is None

    @pytest.mark.parametrize(
        ("movements", "first_bad"),
        [
            # administered before the receipt at destination was recorded
            ([m(K.DISPATCH, "county", 10)], 0),
            (
                [
                    m(K.RECEIPT, "county", 10),
                    m(K.ADMINISTRATION, "site", 1),
                    m(K.RECEIPT_AT_DESTINATION, "site", 10),
                ],
                1,
            ),
            # balances are per lot: L2's stock does not cover L1
            ([m(K.RECEIPT, "site", 10, lot="L2"), m(K.ADMINISTRATION, "site", 1)], 1),
            # the exact balance may be used up, one more is too many
            (
                [
                    m(K.RECEIPT, "site", 2),
                    m(K.ADMINISTRATION, "site", 1),
                    m(K.WASTAGE, "site", 1, wastage=W.BROKEN),
                    m(K.ADJUSTMENT, "site", -1, reason="盘亏"),
                ],
                3,
            ),
        ],
    )
    def test_it_returns_the_first_movement_that_would_go_negative(self, movements, first_bad):
        assert domain.check_non_negative(movements) is movements[first_bad]

    @settings(max_examples=150, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.sampled_from([K.RECEIPT, K.DISPATCH, K.ADMINISTRATION, K.RECALL_RETURN]),
                st.sampled_from(["county", "site"]),
                st.sampled_from(["L1", "L2"]),
                st.integers(1, 20),
            ),
            max_size=30,
        )
    )
    def test_the_first_bad_movement_is_where_a_running_balance_dips(self, rows):
        movements = [m(kind, place, doses, lot=lot) for kind, place, lot, doses in rows]
        bad = domain.check_non_negative(movements)
        if bad is None:
            assert all(v >= 0 for v in domain.balance(movements).values())
            for i in range(len(movements)):
                assert all(v >= 0 for v in domain.balance(movements[:i]).values())
        else:
            i = next(i for i, mv in enumerate(movements) if mv is bad)
            assert domain.check_non_negative(movements[:i]) is None
            assert domain.balance(movements[: i + 1])[bad.key] < 0


def code(n):
    return f"8100101{n:09d}0000"


class TestStockCount:
    @pytest.mark.parametrize(
        ("scanned", "ledger", "missing", "unexpected", "matched", "duplicates"),
        [
            ([code(1), code(2)], [code(2), code(1)], (), (), 2, ()),
            ([code(1)], [code(1), code(3), code(2)], (code(2), code(3)), (), 1, ()),
            ([code(1), code(9)], [code(1)], (), (code(9),), 1, ()),
            ([code(1), code(1), code(2)], [code(1), code(2)], (), (), 2, (code(1),)),
            # scanner input is normalised: spaces, newline, full-width digits
            (
                ["8100101 000000001 0000\n", "".join(chr(ord(c) + 0xFEE0) for c in code(2)), "", "  "],
                [code(1), code(2)],
                (),
                (),
                2,
                (),
            ),
            ([], [code(1)], (code(1),), (), 0, ()),
            ([], [], (), (), 0, ()),
            (["not-a-code"], [], (), ("not-a-code",), 0, ()),
        ],
    )
    def test_it_lists_the_differences(self, scanned, ledger, missing, unexpected, matched, duplicates):
        result = domain.stock_count_differences(scanned_codes=scanned, ledger_codes=ledger)
        assert (result.missing, result.unexpected, result.matched_count, result.duplicates) == (
            missing,
            unexpected,
            matched,
            duplicates,
        )
        assert result.balanced is (not missing and not unexpected)


class TestOpenVial:
    @pytest.mark.parametrize(
        ("now", "hours", "expected"),
        [
            (OPENED, 6, False),
            (OPENED + dt.timedelta(hours=5, minutes=59), 6, False),
            (OPENED + dt.timedelta(hours=6), 6, True),  # at N hours it is already too late
            (OPENED + dt.timedelta(hours=7), 6, True),
            (OPENED + dt.timedelta(days=3), None, False),  # single-dose presentation
            (OPENED - dt.timedelta(minutes=5), 6, False),  # clock skew
            (OPENED + dt.timedelta(minutes=1), 0, True),
            # the same instant in another zone
            (dt.datetime(2021, 6, 1, 7, 0, tzinfo=dt.UTC), 6, True),
            (dt.datetime(2021, 6, 1, 6, 59, tzinfo=dt.UTC), 6, False),
        ],
    )
    def test_it_says_when_the_vial_must_be_discarded(self, now, hours, expected):
        assert domain.open_vial_expired(opened_at=OPENED, discard_hours=hours, now=now) is expected

    def test_naive_datetimes_are_refused(self):
        with pytest.raises(ValueError, match="开瓶时间须带时区"):
            domain.open_vial_expired(opened_at=dt.datetime(2021, 6, 1, 9), discard_hours=6, now=OPENED)
        with pytest.raises(ValueError, match="当前时间须带时区"):
            domain.open_vial_expired(opened_at=OPENED, discard_hours=6, now=dt.datetime(2021, 6, 1, 9))


class TestAlerts:
    @pytest.mark.parametrize(
        ("stock", "rate", "expected"),
        [
            (1000, 100, 10.0),
            (150, 40, 3.75),
            (0, 50, 0.0),
            (100, 0.5, 200.0),
            (500, 0, None),  # no recent use: unknown, not infinite
            (0, 0, None),
        ],
    )
    def test_days_of_cover(self, stock, rate, expected):
        assert domain.days_of_cover(stock_doses=stock, recent_daily_use=rate) == expected

    @pytest.mark.parametrize(("stock", "rate"), [(-1, 10), (10, -1)])
    def test_days_of_cover_rejects_negatives(self, stock, rate):
        with pytest.raises(ValueError):
            domain.days_of_cover(stock_doses=stock, recent_daily_use=rate)

    @pytest.mark.parametrize(
        ("hours_later", "expected"), [(23.99, False), (24, True), (30, True), (0, False)]
    )
    def test_a_receipt_is_overdue_after_24_hours(self, hours_later, expected):
        now = OPENED + dt.timedelta(hours=hours_later)
        assert domain.receipt_overdue(dispatched_at=OPENED, now=now) is expected

    def test_the_receipt_window_can_be_set(self):
        assert domain.receipt_overdue(dispatched_at=OPENED, now=OPENED + dt.timedelta(hours=12), hours=12)
