"""``core.rounding.largest_remainder``: the one rounding rule of every split (no database)."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxops.core.rounding import largest_remainder


class TestLargestRemainder:
    @pytest.mark.parametrize(
        ("total", "weights", "expected"),
        [
            (10, [1, 1, 1], [4, 3, 3]),  # three equal remainders: the earliest gets the spare unit
            (10, [1, 1, 1, 1], [3, 3, 2, 2]),
            (7, [Fraction(1, 2), Fraction(1, 3), Fraction(1, 6)], [4, 2, 1]),  # 3.5 / 2.33 / 1.17
            (100, [1, 2, 7], [10, 20, 70]),  # exact quotas need no rounding
            (5, [0, 3, 0], [0, 5, 0]),
            (1, [2, 3], [0, 1]),  # 0.4 / 0.6: the larger remainder wins, whatever its position
            (3, [3, 2, 1], [2, 1, 0]),  # 1.5 / 1 / 0.5: the tie at .5 goes to the earlier part
        ],
    )
    def test_it_rounds_by_largest_remainder(self, total, weights, expected):
        assert largest_remainder(total, weights) == expected

    def test_it_breaks_ties_by_position_so_callers_order_the_parts(self):
        assert largest_remainder(1, [1, 1]) == [1, 0]
        assert largest_remainder(1, [1, 1])[::-1] == [0, 1]

    def test_it_computes_exactly_where_floats_would_not(self):
        # 0.1 + 0.2 ≠ 0.3 in floats; in fractions the three quotas are exactly 1, 2 and 3.
        weights = [Fraction("0.1"), Fraction("0.2"), Fraction("0.3")]
        assert largest_remainder(6, weights) == [1, 2, 3]

    def test_it_gives_nothing_for_a_zero_total(self):
        assert largest_remainder(0, [1, 2]) == [0, 0]
        assert largest_remainder(0, [0, 0]) == [0, 0]
        assert largest_remainder(0, []) == []

    @pytest.mark.parametrize(("total", "weights"), [(-1, [1]), (1, [-1, 2]), (3, [0, 0]), (3, [])])
    def test_it_refuses_what_cannot_be_divided(self, total, weights):
        with pytest.raises(ValueError):
            largest_remainder(total, weights)

    @given(
        total=st.integers(min_value=0, max_value=10_000),
        weights=st.lists(st.integers(min_value=0, max_value=1_000), min_size=1, max_size=12).filter(any),
    )
    def test_each_part_is_its_quota_rounded_down_or_up_and_they_add_up(self, total, weights):
        counts = largest_remainder(total, weights)
        assert sum(counts) == total
        pool = sum(weights)
        for n, w in zip(counts, weights, strict=True):
            quota = Fraction(total * w, pool)
            assert quota - 1 < n < quota + 1
