"""Allocation of an arriving shipment across townships and sites (疫苗分配): proportional, whole packs,
within free cold-chain volume, largest-remainder rounding (pure, no database)."""

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxops.supply import domain
from vaxops.supply.domain import AllocationWeights, PlaceNeed

NO_WEIGHTS = AllocationWeights(risk=0, density=0, mobility=0)
ROOM = 10**6


def place(code, need, *, second=0, stock=0, risk=0, density=0, mobility=0, room=ROOM, name=None):
    return PlaceNeed(
        code=code,
        name=name or f"{code}镇",
        remaining_need=need,
        second_doses_due=second,
        risk_weight=risk,
        density_weight=density,
        mobility_weight=mobility,
        stock_on_hand_doses=stock,
        free_volume_packs=room,
    )


def run(places, doses, *, pack=10, weights=NO_WEIGHTS):
    return domain.allocate(doses_arriving=doses, pack_size=pack, places=places, weights=weights)


def packs(allocation):
    return {line.place: line.packs for line in allocation.lines}


class TestProportionalShares:
    @pytest.mark.parametrize(
        ("places", "doses", "expected"),
        [
            # exact proportions
            ([place("A", 600), place("B", 300), place("C", 100)], 100, {"A": 6, "B": 3, "C": 1}),
            # Hamilton: quotas 3.5 / 2.1 / 1.4 → floors 3/2/1, the spare pack to the largest remainder
            ([place("A", 500), place("B", 300), place("C", 200)], 70, {"A": 4, "B": 2, "C": 1}),
            # quotas 1.4 / 1.4 / 1.2 (the A/B tie in remainder and need falls to the smaller code)
            ([place("C", 300), place("B", 350), place("A", 350)], 40, {"A": 2, "B": 1, "C": 1}),
            # second doses due count as need; stock on hand is subtracted
            ([place("A", 100, second=100), place("B", 300, stock=100)], 40, {"A": 2, "B": 2}),
            # stock above need: no net need, nothing
            ([place("A", 100, stock=500), place("B", 100)], 50, {"A": 0, "B": 5}),
        ],
    )
    def test_it_shares_whole_packs_in_proportion_to_net_need(self, places, doses, expected):
        assert packs(run(places, doses)) == expected

    def test_weights_raise_a_places_share(self):
        weights = AllocationWeights(risk=Decimal("0.5"), density=0.25, mobility=1)
        places = [
            place("A", 100, risk=2),
            place("B", 100, density=4),
            place("C", 100, mobility=1),
            place("D", 100),
        ]
        allocation = run(places, 70, weights=weights)
        # factors 2 / 2 / 2 / 1 → 20 / 20 / 20 / 10
        assert packs(allocation) == {"A": 2, "B": 2, "C": 2, "D": 1}
        assert [line.share for line in allocation.lines] == [2 / 7, 2 / 7, 2 / 7, 1 / 7]

    def test_it_rounds_down_arrivals_to_whole_packs(self):
        allocation = run([place("A", 1000)], 1005)
        assert packs(allocation) == {"A": 100}
        assert allocation.unallocated_doses == 5
        assert allocation.notes_zh == ("到货1,005剂，按每盒10剂只能整盒分配100盒，余5剂留在县级",)


class TestTies:
    def test_equal_remainders_and_needs_go_to_the_smaller_code(self):
        assert packs(run([place("B", 100), place("A", 100)], 10)) == {"A": 1, "B": 0}

    def test_equal_remainders_go_to_the_larger_need_before_the_code(self):
        # A: 100 × factor 2, B: 200 × factor 1 — the same quota, B needs more.
        places = [place("A", 100, risk=1), place("B", 200)]
        allocation = run(places, 10, weights=AllocationWeights(risk=1, density=0, mobility=0))
        assert packs(allocation) == {"A": 0, "B": 1}

    def test_three_way_tie_for_two_spare_packs(self):
        assert packs(run([place(c, 100) for c in "CAB"], 20)) == {"A": 1, "B": 1, "C": 0}


class TestCaps:
    def test_a_place_capped_by_volume_passes_its_packs_to_the_others(self):
        places = [place("A", 1000, room=2), place("B", 1000), place("C", 1000)]
        allocation = run(places, 300)
        assert packs(allocation) == {"A": 2, "B": 14, "C": 14}
        assert [line.capped_by_volume for line in allocation.lines] == [True, False, False]
        assert allocation.line_for("A").reasoning_zh == (
            "剩余需求 1,000 人 − 库存 0 剂 = 净需求 1,000 剂，加权系数 1 → 占 33.3%，"
            "按比例应得 10 盒，受冷链容积限制（最多可再存 2 盒），分得 2 盒（20 剂）"
        )
        assert allocation.unallocated_doses == 0

    def test_caps_cascade_until_stable(self):
        # Round 1: quotas 10 each, B capped at 1. Round 2: 39 over A, C, D = 13 each, A capped at 11.
        # Round 3: 28 over C, D = 14 each.
        places = [place("A", 1000, room=11), place("B", 1000, room=1), place("C", 1000), place("D", 1000)]
        assert packs(run(places, 400)) == {"A": 11, "B": 1, "C": 14, "D": 14}

    def test_no_free_volume_means_no_packs(self):
        allocation = run([place("A", 1000, room=0), place("B", 1000)], 100)
        assert packs(allocation) == {"A": 0, "B": 10}
        assert allocation.line_for("A").capped_by_volume is True
        assert allocation.line_for("A").reasoning_zh.endswith("→ 占 50.0%，冷链无剩余容积，未分配")

    def test_no_place_gets_more_than_its_need_rounded_up_to_a_pack(self):
        allocation = run([place("A", 95), place("B", 105)], 300)
        assert packs(allocation) == {"A": 10, "B": 11}
        assert [line.capped_by_volume for line in allocation.lines] == [False, False]
        assert allocation.unallocated_doses == 90
        assert allocation.notes_zh == ("各地点净需求或冷链容积已满，90剂（9盒）未分配，留在县级",)
        assert allocation.line_for("A").reasoning_zh.endswith(
            "分得 10 盒（100 剂），已满足全部净需求（按整盒向上取整）"
        )

    def test_volume_that_covers_the_need_is_not_a_volume_cap(self):
        # A's 10 packs of room are exactly its need rounded up: the need, not the volume, limits it.
        allocation = run([place("A", 95, room=10), place("B", 100)], 300)
        assert packs(allocation) == {"A": 10, "B": 10}
        assert allocation.line_for("A").capped_by_volume is False


class TestNothingToAllocate:
    def test_zero_need_everywhere_allocates_nothing(self):
        allocation = run([place("A", 0), place("B", 100, stock=100), place("C", 0, stock=40)], 1000)
        assert packs(allocation) == {"A": 0, "B": 0, "C": 0}
        assert [line.share for line in allocation.lines] == [0.0, 0.0, 0.0]
        assert allocation.allocated_doses == 0
        assert allocation.unallocated_doses == 1000
        assert allocation.line_for("B").reasoning_zh == "剩余需求 100 人 − 库存 100 剂，无净需求，不分配"

    def test_no_places(self):
        allocation = run([], 500)
        assert allocation.lines == ()
        assert allocation.unallocated_doses == 500

    def test_nothing_arriving(self):
        allocation = run([place("A", 100)], 0)
        assert packs(allocation) == {"A": 0}
        assert allocation.unallocated_doses == 0
        assert allocation.line_for("Z") is None


class TestReasoning:
    def test_it_explains_each_place_in_chinese(self):
        weights = AllocationWeights(risk=Decimal("0.3"), density=0, mobility=0)
        places = [
            place("A", 1200, second=300, stock=200, risk=1),
            place("B", 3000, stock=0),
        ]
        allocation = run(places, 2000, pack=20, weights=weights)
        a = allocation.line_for("A")
        # scores 1,300 × 1.3 = 1,690 and 3,000 → 36.0% of 100 packs = 36.03 → 36
        assert (a.packs, a.doses, a.need) == (36, 720, 1300)
        assert a.reasoning_zh == (
            "剩余需求 1,200 人 + 到期第二剂 300 剂 − 库存 200 剂 = 净需求 1,300 剂，"
            "加权系数 1.3 → 占 36.0%，分得 36 盒（720 剂）"
        )
        assert allocation.line_for("B").packs == 64


class TestValidation:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"pack_size": 0}, "每盒剂数须≥1"),
            ({"doses_arriving": -10}, "到货剂数不能为负"),
            ({"places": [place("A", 1), place("A", 2)]}, "地点编码重复：A"),
        ],
    )
    def test_it_rejects_impossible_input(self, kwargs, message):
        args = {"doses_arriving": 100, "pack_size": 10, "places": [], "weights": NO_WEIGHTS}
        args.update(kwargs)
        with pytest.raises(ValueError, match=message):
            domain.allocate(**args)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"need": -1}, "A: 剩余需求不能为负"),
            ({"stock": -1}, "A: 库存不能为负"),
            ({"room": -1}, "A: 冷链剩余容积不能为负"),
            ({"risk": -0.1}, "A: 风险系数不能为负"),
        ],
    )
    def test_a_place_validates_itself(self, kwargs, message):
        args = {"code": "A", "need": 10}
        args.update(kwargs)
        with pytest.raises(ValueError, match=message):
            place(**args)

    def test_weights_cannot_be_negative(self):
        with pytest.raises(ValueError, match="密度权重不能为负"):
            AllocationWeights(risk=1, density=-1, mobility=0)


# --------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------

FAST = settings(max_examples=150, deadline=None)
indices = st.sampled_from([0, 0.5, 1, 1.3, Decimal("2.25")])
places_lists = st.lists(
    st.builds(
        place,
        code=st.sampled_from([f"T{i:02d}" for i in range(15)]),
        need=st.integers(0, 3000),
        second=st.integers(0, 500),
        stock=st.integers(0, 1000),
        risk=indices,
        density=indices,
        mobility=indices,
        room=st.integers(0, 400),
    ),
    max_size=8,
    unique_by=lambda p: p.code,
)
weight_sets = st.builds(AllocationWeights, risk=indices, density=indices, mobility=indices)


@FAST
@given(places_lists, st.integers(0, 20000), st.sampled_from([1, 2, 10, 20]), weight_sets, st.randoms())
def test_allocation_properties(places, doses, pack, weights, rnd):
    allocation = run(places, doses, pack=pack, weights=weights)
    by_code = {p.code: p for p in places}
    caps = {}
    for line in allocation.lines:
        p = by_code[line.place]
        caps[p.code] = min(p.free_volume_packs, math.ceil(p.net_need_doses / pack))
        assert line.doses == line.packs * pack
        assert 0 <= line.packs <= p.free_volume_packs
        assert line.packs <= caps[p.code]
        assert line.need == p.net_need_doses
    assert allocation.allocated_doses <= doses
    assert allocation.allocated_doses + allocation.unallocated_doses == doses
    # nothing held back while some place could still take a pack
    assert sum(line.packs for line in allocation.lines) == min(doses // pack, sum(caps.values()))
    # deterministic and independent of input order
    shuffled = list(places)
    rnd.shuffle(shuffled)
    assert run(shuffled, doses, pack=pack, weights=weights) == allocation
    assert [line.place for line in allocation.lines] == sorted(by_code)


@FAST
@given(places_lists, st.integers(0, 5000), weight_sets)
def test_without_caps_every_place_gets_the_floor_or_ceiling_of_its_quota(places, doses, weights):
    roomy = [
        place(p.code, p.remaining_need + 10**6, risk=p.risk_weight, density=p.density_weight) for p in places
    ]
    allocation = run(roomy, doses, pack=1, weights=weights)
    total = sum(line.share for line in allocation.lines)
    scores = {
        p.code: p.net_need_doses
        * (
            1
            + domain._exact(weights.risk, "w") * domain._exact(p.risk_weight, "r")
            + domain._exact(weights.density, "w") * domain._exact(p.density_weight, "d")
        )
        for p in roomy
    }
    pool = sum(scores.values(), Fraction(0))
    for line in allocation.lines:
        quota = doses * scores[line.place] / pool
        assert math.floor(quota) <= line.packs <= math.ceil(quota)
    # a larger weighted need never gets fewer packs (Hamilton is monotone in the quota)
    for a in allocation.lines:
        for b in allocation.lines:
            if scores[a.place] > scores[b.place]:
                assert a.packs >= b.packs
    if roomy:
        assert total == pytest.approx(1.0)
        assert allocation.unallocated_doses == 0
