"""Lot status, first-expiry-first-out dispatch proposals and expiry alerts (pure, no database)."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxops.supply import domain
from vaxops.supply.domain import LotStatus, StockLine

TODAY = dt.date(2021, 6, 1)
TOMORROW = TODAY + dt.timedelta(days=1)
YESTERDAY = TODAY - dt.timedelta(days=1)
R, H, X, E = LotStatus.RELEASED, LotStatus.ON_HOLD, LotStatus.RECALLED, LotStatus.EXPIRED


def line(lot, expiry, doses, *, status=R, product="BBIBP-CorV", per_pack=10, volume=50):
    return StockLine(
        lot=lot,
        product=product,
        expiry=expiry,
        status=status,
        doses_available=doses,
        doses_per_pack=per_pack,
        pack_volume_cm3=volume,
    )


def propose(stock, doses, *, free=10**9, on=TODAY, product="BBIBP-CorV"):
    return domain.propose_dispatch(stock=stock, product=product, doses=doses, free_volume_cm3=free, on=on)


def taken(proposal):
    return [(dl.lot, dl.packs, dl.doses) for dl in proposal.lines]


class TestLotUsable:
    @pytest.mark.parametrize(
        ("status", "expiry", "on", "expected"),
        [
            (R, TOMORROW, TODAY, (True, "")),
            (R, TODAY, TODAY, (True, "")),  # usable through the end of its expiry date
            (R, YESTERDAY, TODAY, (False, "已过有效期（有效期至2021-05-31），不得使用")),
            (R, TODAY, TOMORROW, (False, "已过有效期（有效期至2021-06-01），不得使用")),
            (H, TOMORROW, TODAY, (False, "批号暂停使用（待评估），不得使用")),
            (X, TOMORROW, TODAY, (False, "批号已召回，不得使用")),
            (X, YESTERDAY, TODAY, (False, "批号已召回，不得使用")),  # recall named before expiry
            (H, YESTERDAY, TODAY, (False, "批号暂停使用（待评估），不得使用")),
            (E, TOMORROW, TODAY, (False, "批号已标记为过期（有效期至2021-06-02），不得使用")),
            ("released", TODAY, TODAY, (True, "")),
            ("recalled", TODAY, TODAY, (False, "批号已召回，不得使用")),
        ],
    )
    def test_it_applies_status_then_expiry(self, status, expiry, on, expected):
        assert domain.lot_usable(status=status, expiry=expiry, on=on) == expected

    def test_an_unknown_status_is_an_error(self):
        with pytest.raises(ValueError):
            domain.lot_usable(status="quarantine", expiry=TODAY, on=TODAY)

    @pytest.mark.parametrize(
        ("status", "label"), [(R, "已放行"), (H, "暂停使用"), (X, "已召回"), (E, "已过期")]
    )
    def test_statuses_have_chinese_labels(self, status, label):
        assert status.label_zh == label


class TestProposeDispatch:
    @pytest.mark.parametrize(
        ("stock", "doses", "expected"),
        [
            # earliest expiry first, whatever the input order
            (
                [line("L3", dt.date(2021, 9, 1), 100), line("L1", dt.date(2021, 7, 1), 30)],
                50,
                [("L1", 3, 30), ("L3", 2, 20)],
            ),
            # same expiry: lot number breaks the tie
            (
                [line("B", dt.date(2021, 8, 1), 100), line("A", dt.date(2021, 8, 1), 100)],
                150,
                [("A", 10, 100), ("B", 5, 50)],
            ),
            # whole packs: 35 doses of 10-dose packs is 4 packs
            ([line("L1", dt.date(2021, 8, 1), 100)], 35, [("L1", 4, 40)]),
            # a lot expiring today is still sent today
            (
                [line("L0", TODAY, 20), line("L1", dt.date(2021, 8, 1), 100)],
                30,
                [("L0", 2, 20), ("L1", 1, 10)],
            ),
            # a lot's loose doses (less than a pack) stay behind
            (
                [line("L1", dt.date(2021, 7, 1), 25), line("L2", dt.date(2021, 8, 1), 100)],
                30,
                [("L1", 2, 20), ("L2", 1, 10)],
            ),
            # nothing requested, nothing sent
            ([line("L1", dt.date(2021, 8, 1), 100)], 0, []),
            # another product's stock is ignored
            (
                [
                    line("C1", dt.date(2021, 6, 2), 100, product="CoronaVac"),
                    line("L1", dt.date(2021, 8, 1), 100),
                ],
                10,
                [("L1", 1, 10)],
            ),
        ],
    )
    def test_it_takes_lots_first_expiry_first_out(self, stock, doses, expected):
        assert taken(propose(stock, doses)) == expected

    def test_a_lot_expiring_today_is_skipped_tomorrow(self):
        stock = [line("L0", TODAY, 20), line("L1", dt.date(2021, 8, 1), 100)]
        proposal = propose(stock, 30, on=TOMORROW)
        assert taken(proposal) == [("L1", 3, 30)]
        assert (
            proposal.reasons_zh[0]
            == "批号L0（有效期至2021-06-01）：已过有效期（有效期至2021-06-01），不得使用，跳过"
        )

    @pytest.mark.parametrize(
        ("status", "reason"),
        [
            (H, "批号L0（有效期至2021-06-10）：批号暂停使用（待评估），不得使用，跳过"),
            (X, "批号L0（有效期至2021-06-10）：批号已召回，不得使用，跳过"),
            (E, "批号L0（有效期至2021-06-10）：批号已标记为过期（有效期至2021-06-10），不得使用，跳过"),
        ],
    )
    def test_held_recalled_and_expired_lots_are_skipped(self, status, reason):
        stock = [line("L0", dt.date(2021, 6, 10), 1000, status=status), line("L1", dt.date(2021, 8, 1), 100)]
        proposal = propose(stock, 30)
        assert taken(proposal) == [("L1", 3, 30)]
        assert proposal.reasons_zh == (reason, "批号L1（有效期至2021-08-01）：3盒（30剂）")
        assert proposal.shortfall_doses == 0

    def test_it_reports_a_shortfall_of_usable_stock(self):
        stock = [line("L1", dt.date(2021, 8, 1), 40), line("L2", dt.date(2021, 7, 1), 500, status=X)]
        proposal = propose(stock, 100)
        assert taken(proposal) == [("L1", 4, 40)]
        assert proposal.shortfall_doses == 60
        assert proposal.volume_cut_doses == 0
        assert proposal.reasons_zh[-1] == "可用库存不足：申请100剂，可用库存最多可发40剂，缺60剂"

    def test_it_notes_the_doses_sent_above_the_request(self):
        proposal = propose([line("L1", dt.date(2021, 8, 1), 100)], 35)
        assert proposal.total_doses == 40
        assert proposal.shortfall_doses == 0
        assert proposal.reasons_zh[-1] == "按整盒发放，比申请多5剂"

    def test_it_never_exceeds_the_free_volume_and_says_how_much_it_cut(self):
        stock = [line("L1", dt.date(2021, 7, 1), 30), line("L2", dt.date(2021, 8, 1), 100)]
        proposal = propose(stock, 80, free=275)  # 5 packs of 50 cm³ fit
        assert taken(proposal) == [("L1", 3, 30), ("L2", 2, 20)]
        assert proposal.total_packs == 5
        assert proposal.volume_cut_doses == 30
        assert proposal.shortfall_doses == 30
        assert proposal.reasons_zh[-1] == (
            "目的地冷链剩余容积275 cm³，批号L2只能装下2盒（每盒50 cm³）；"
            "容积限制少发30剂（按先到期先出，不改发后到期的批号）"
        )

    def test_the_volume_never_lets_a_later_lot_jump_ahead(self):
        # L1's bulky packs no longer fit, L2's small ones would: FEFO stops rather than send L2 first.
        stock = [
            line("L1", dt.date(2021, 7, 1), 100, volume=400),
            line("L2", dt.date(2021, 8, 1), 100, volume=10),
        ]
        proposal = propose(stock, 50, free=900)
        assert taken(proposal) == [("L1", 2, 20)]
        assert proposal.volume_cut_doses == 30

    def test_no_free_volume_sends_nothing(self):
        proposal = propose([line("L1", dt.date(2021, 8, 1), 100)], 20, free=0)
        assert taken(proposal) == []
        assert (proposal.shortfall_doses, proposal.volume_cut_doses) == (20, 20)

    def test_fractional_volumes_are_exact(self):
        # 3 × 0.1 cm³ is exactly 0.3, not 0.30000000000000004: the third pack fits.
        stock = [line("L1", dt.date(2021, 8, 1), 100, volume=0.1)]
        assert taken(propose(stock, 30, free=0.3)) == [("L1", 3, 30)]
        assert taken(propose(stock, 30, free=Decimal("0.3"))) == [("L1", 3, 30)]

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"doses": -1}, "申请剂数不能为负"),
            ({"free_volume_cm3": -1}, "冷链剩余容积不能为负"),
            ({"stock": [line("L1", TODAY, 10), line("L1", TOMORROW, 10)]}, "批号L1出现了不止一条库存行"),
        ],
    )
    def test_it_rejects_impossible_input(self, kwargs, message):
        args = {"stock": [], "product": "BBIBP-CorV", "doses": 10, "free_volume_cm3": 100, "on": TODAY}
        args.update(kwargs)
        with pytest.raises(ValueError, match=message):
            domain.propose_dispatch(**args)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"doses": -1}, "库存剂数不能为负"),
            ({"per_pack": 0}, "每盒剂数须≥1"),
            ({"volume": 0}, "每盒体积须大于0"),
        ],
    )
    def test_a_stock_line_validates_itself(self, kwargs, message):
        args = {"lot": "L1", "expiry": TODAY, "doses": 10}
        args.update(kwargs)
        with pytest.raises(ValueError, match=message):
            line(**args)


# --------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------

FAST = settings(max_examples=150, deadline=None)

stock_lines = st.lists(
    st.builds(
        line,
        lot=st.sampled_from([f"L{i:02d}" for i in range(12)]),
        expiry=st.dates(min_value=dt.date(2021, 5, 25), max_value=dt.date(2021, 6, 10)),
        doses=st.integers(0, 60),
        status=st.sampled_from([R, R, R, H, X, E]),
        product=st.sampled_from(["BBIBP-CorV", "BBIBP-CorV", "CoronaVac"]),
        per_pack=st.sampled_from([1, 2, 5, 10]),
        volume=st.sampled_from([1, 2.5, 10, Decimal("0.7")]),
    ),
    max_size=10,
    unique_by=lambda s: s.lot,
)


def exact(value):
    return domain._exact(value, "体积")


@FAST
@given(stock_lines, st.integers(0, 300), st.integers(0, 400), st.randoms(use_true_random=False))
def test_fefo_properties(stock, doses, free, rnd):
    proposal = propose(stock, doses, free=free)
    by_lot = {s.lot: s for s in stock}
    usable = sorted(
        (
            s
            for s in stock
            if s.product == "BBIBP-CorV"
            and domain.lot_usable(status=s.status, expiry=s.expiry, on=TODAY)[0]
            and s.whole_packs > 0
        ),
        key=lambda s: (s.expiry, s.lot),
    )
    sent = {dl.lot: dl.packs for dl in proposal.lines}
    for dl in proposal.lines:
        s = by_lot[dl.lot]
        assert s in usable
        assert 0 < dl.packs <= s.whole_packs
        assert dl.doses == dl.packs * s.doses_per_pack
        # FEFO: every usable lot that expires earlier (or ties and sorts first) is emptied first.
        for earlier in usable[: usable.index(s)]:
            assert sent.get(earlier.lot, 0) == earlier.whole_packs
    assert sum(dl.packs * exact(by_lot[dl.lot].pack_volume_cm3) for dl in proposal.lines) <= free
    assert proposal.shortfall_doses == max(0, doses - proposal.total_doses)
    if proposal.lines:
        # whole packs, but never a pack more than the request needs
        last = by_lot[proposal.lines[-1].lot]
        assert proposal.total_doses - last.doses_per_pack < doses
    unlimited = propose(stock, doses)
    assert proposal.volume_cut_doses == unlimited.total_doses - proposal.total_doses
    shuffled = list(stock)
    rnd.shuffle(shuffled)
    assert propose(shuffled, doses, free=free) == proposal


class TestExpiringSoon:
    LOTS = (
        line("past", YESTERDAY, 10),
        line("today", TODAY, 10),
        line("d30", TODAY + dt.timedelta(days=30), 10),
        line("d31", TODAY + dt.timedelta(days=31), 10),
        line("d7", TODAY + dt.timedelta(days=7), 10),
        line("d7b", TODAY + dt.timedelta(days=7), 10),
    )

    @pytest.mark.parametrize(
        ("days", "expected"),
        [
            (30, ["today", "d7", "d7b", "d30"]),
            (7, ["today", "d7", "d7b"]),
            (0, ["today"]),
            (31, ["today", "d7", "d7b", "d30", "d31"]),
        ],
    )
    def test_it_lists_lots_whose_last_day_falls_in_the_window_soonest_first(self, days, expected):
        assert [s.lot for s in domain.expiring_soon(self.LOTS, on=TODAY, days=days)] == expected

    def test_the_default_window_is_30_days(self):
        assert [s.lot for s in domain.expiring_soon(reversed(self.LOTS), on=TODAY)] == [
            "today",
            "d7b",
            "d7",
            "d30",
        ]

    def test_a_negative_window_is_an_error(self):
        with pytest.raises(ValueError):
            domain.expiring_soon(self.LOTS, on=TODAY, days=-1)
