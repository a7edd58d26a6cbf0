"""The pure rules: a population row, coverage as a percentage, the daily quota."""

from datetime import date
from fractions import Fraction

import pytest

from vaxops.reports import domain

GOOD = {
    "division": "330199001",
    "year": "2021",
    "kind": "户籍",
    "total": "12,000",
    "age_18_plus": 9000,
    "age_60_plus": 2500.0,
}


def test_a_good_row_is_read_with_its_code_padded_and_counts_as_numbers():
    row, errors = domain.population_row(GOOD)
    assert errors == []
    assert row == domain.PopulationRow(
        "330199001000", 2021, domain.PopulationKind.REGISTERED, 12000, 9000, 2500
    )
    assert domain.population_row({**GOOD, "kind": "常住人口"})[0].kind is domain.PopulationKind.RESIDENT


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"division": "33019"}, "division", "6、9或12位"),
        ({"year": "21"}, "year", "四位数字"),
        ({"year": "1899"}, "year", "2000至2100"),
        ({"kind": "流动"}, "kind", "户籍"),
        ({"total": ""}, "total", "不能为空"),
        ({"total": "-3"}, "total", "非负整数"),
        ({"total": "1e9"}, "total", "非负整数"),
        ({"total": "999999999999"}, "total", "超出合理范围"),
        ({"age_18_plus": "13000"}, "age_18_plus", "不能多于总人口"),
        ({"age_60_plus": "9001"}, "age_60_plus", "不能多于18岁及以上"),
    ],
)
def test_a_bad_row_is_refused_naming_the_field_and_why(change, field, words):
    row, errors = domain.population_row({**GOOD, **change})
    assert row is None
    assert [e.field for e in errors] == [field]
    assert words in errors[0].message


def test_every_problem_of_a_row_is_named_at_once():
    row, errors = domain.population_row({"division": "x", "year": "", "kind": "", "total": "a"})
    assert row is None
    assert {e.field for e in errors} == {"division", "year", "kind", "total", "age_18_plus", "age_60_plus"}


def test_coverage_is_exact_and_printed_rounded_half_up():
    assert domain.coverage(1, 3) == Fraction(1, 3)
    assert domain.coverage(5, 0) is None and domain.coverage(5, None) is None
    assert domain.percent_text(Fraction(1, 3)) == "33.3%"
    assert domain.percent_text(Fraction(2, 3)) == "66.7%"
    assert domain.percent_text(Fraction(1, 2000)) == "0.1%"  # 0.05% rounds half up
    assert domain.percent_text(Fraction(1, 1)) == "100.0%"
    assert domain.percent_text(None) == "—"


def test_the_daily_quota_spreads_what_is_left_over_the_days_left_rounded_up():
    today = date(2021, 6, 1)
    # 200,000 people by 30 June, 50,000 done: 150,000 over 30 days.
    assert domain.daily_quota(target=200_000, done=50_000, today=today, deadline=date(2021, 6, 30)) == 5000
    assert domain.daily_quota(target=100, done=0, today=today, deadline=date(2021, 6, 3)) == 34
    assert domain.daily_quota(target=100, done=100, today=today, deadline=date(2021, 6, 3)) == 0
    assert domain.daily_quota(target=100, done=120, today=today, deadline=date(2021, 6, 3)) == 0
    # The deadline is today: all of it today; passed: still all of it, never a negative number of days.
    assert domain.daily_quota(target=100, done=40, today=today, deadline=today) == 60
    assert domain.daily_quota(target=100, done=40, today=today, deadline=date(2021, 5, 1)) == 60
