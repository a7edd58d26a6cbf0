"""The pure rules of vaccine safety: clocks, seriousness, clusters and the MaxSPRT critical value.

The critical value is checked against an independent, slower exact computation written here: conditional on
N(T) = n the n event times are uniform order statistics on [0, T], and the probability that each k-th of them
lies above its boundary is an n-fold integral evaluated as an exact polynomial in rational arithmetic.
"""

import datetime as dt
import math
from fractions import Fraction

import pytest

from vaxops.safety import domain as d

UTC = dt.UTC
T0 = dt.datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
H = dt.timedelta(hours=1)


# ------------------------------------------------------------------------------------------- clocks


def _kinds(clocks):
    return {c.kind: c for c in clocks}


def test_a_death_has_the_two_hour_clock_and_an_ordinary_case_has_only_the_card():
    death = d.CaseTimes(discovered_at=T0, reported_at=T0 + 3 * H, criteria=frozenset({"death"}))
    cs = _kinds(d.clocks(death, T0 + 4 * H))
    assert set(cs) == {
        d.ClockKind.IMMEDIATE,
        d.ClockKind.CARD,
        d.ClockKind.INVESTIGATION,
        d.ClockKind.PRELIMINARY,
    }
    assert cs[d.ClockKind.IMMEDIATE].due == T0 + 2 * H
    assert cs[d.ClockKind.IMMEDIATE].state == d.ClockState.DONE_LATE
    mild = d.CaseTimes(discovered_at=T0, reported_at=T0 + H)
    assert [c.kind for c in d.clocks(mild, T0 + H)] == [d.ClockKind.CARD]


def test_the_card_clock_runs_on_time_then_due_soon_then_overdue():
    case = d.CaseTimes(discovered_at=T0, reported_at=T0)
    states = [_kinds(d.clocks(case, T0 + h * H))[d.ClockKind.CARD].state for h in (1, 35, 36, 47, 48, 49)]
    assert states == [
        d.ClockState.ON_TIME,
        d.ClockState.ON_TIME,
        d.ClockState.DUE_SOON,
        d.ClockState.DUE_SOON,
        d.ClockState.DUE_SOON,
        d.ClockState.OVERDUE,
    ]
    done = d.CaseTimes(discovered_at=T0, reported_at=T0, card_completed_at=T0 + 47 * H)
    assert _kinds(d.clocks(done, T0 + 100 * H))[d.ClockKind.CARD].state == d.ClockState.DONE


def test_investigation_is_due_48_hours_after_the_report_and_the_preliminary_report_7_days_after_it_starts():
    case = d.CaseTimes(
        discovered_at=T0,
        reported_at=T0 + H,
        criteria=frozenset({"hospitalisation"}),
        investigation_started_at=T0 + 10 * H,
    )
    cs = _kinds(d.clocks(case, T0 + 11 * H))
    assert cs[d.ClockKind.INVESTIGATION].due == T0 + 49 * H
    assert cs[d.ClockKind.INVESTIGATION].state == d.ClockState.DONE
    assert cs[d.ClockKind.PRELIMINARY].due == T0 + 10 * H + dt.timedelta(days=7)
    assert d.ClockKind.IMMEDIATE not in cs  # hospitalisation alone is not a 2-hour event


def test_a_cluster_or_major_concern_needs_the_two_hour_report():
    assert d.needs_immediate_report([], cluster=True, major_concern=False)
    assert d.needs_immediate_report([], cluster=False, major_concern=True)
    assert d.needs_immediate_report(["serious_disability"], cluster=False, major_concern=False)
    assert not d.needs_immediate_report(["hospitalisation"], cluster=False, major_concern=False)
    assert d.is_serious(["life_threatening"]) and not d.is_serious([]) and not d.is_serious(["itch"])


def test_status_moves_only_forward():
    assert d.may_move("reported", "investigating")
    assert d.may_move("investigating", "classified")
    assert d.may_move("classified", "closed")
    assert not d.may_move("closed", "reported")
    assert not d.may_move("reported", "closed")
    assert not d.may_move("reported", "nonsense")


def test_classification_labels_are_the_national_ones():
    assert [c.label_zh for c in d.Classification] == [
        "一般反应",
        "异常反应",
        "偶合症",
        "疫苗质量事故",
        "接种事故",
        "心因性反应",
        "待定",
    ]


# ------------------------------------------------------------------------------------------ clusters


def _case(i, *, site=1, lot=10, hours=0, signs=("发热",), serious=True):
    return d.CaseLite(i, site, lot, T0 + hours * H, frozenset(signs), serious)


def test_two_serious_cases_with_similar_signs_at_one_site_within_the_window_are_a_cluster():
    found = d.detect_clusters([_case(1, signs=("发热",)), _case(2, lot=11, hours=30, signs=("高热",))])
    assert [(c.by, c.key, c.sign, c.case_ids) for c in found] == [("site", 1, "fever", (1, 2))]


def test_the_same_lot_at_two_sites_is_a_cluster_and_outside_the_window_is_not():
    found = d.detect_clusters([_case(1, site=1), _case(2, site=2, hours=24)])
    assert [(c.by, c.key) for c in found] == [("lot", 10)]
    assert d.detect_clusters([_case(1, site=1), _case(2, site=2, hours=24 * 8)]) == []
    wide = d.ClusterPolicy(window=dt.timedelta(days=10))
    assert len(d.detect_clusters([_case(1, site=1), _case(2, site=2, hours=24 * 8)], wide)) == 1


def test_non_serious_cases_count_only_when_the_policy_asks_for_a_rise():
    mild = [_case(i, hours=i, serious=False, signs=("皮疹",)) for i in range(1, 6)]
    assert d.detect_clusters(mild) == []
    found = d.detect_clusters(mild, d.ClusterPolicy(min_any=5))
    assert {c.by for c in found} == {"site", "lot"} and all(not c.serious for c in found)
    assert d.detect_clusters(mild[:4], d.ClusterPolicy(min_any=5)) == []


def test_different_signs_are_not_a_cluster():
    assert d.detect_clusters([_case(1, signs=("发热",)), _case(2, signs=("晕厥",))]) == []


# ------------------------------------------------------------------------------------------- MaxSPRT


def test_llr_is_zero_at_or_below_the_expected_count():
    assert d.llr(3, 3.0) == 0.0 and d.llr(1, 2.0) == 0.0
    assert d.llr(4, 1.0) == pytest.approx((1 - 4) + 4 * math.log(4))
    assert d.signals(4, 1.0, 1.0, 4) and not d.signals(3, 0.1, 1.0, 4)


def _newton_signal_time(k, cv):
    """t with k·ln(k/t) − k + t = cv, by Newton from the left (independent of the module's bisection)."""
    t = k * math.exp(-(cv + k) / k)  # below the root: the function is convex and decreasing
    for _ in range(200):
        f = k * math.log(k / t) - k + t - cv
        fp = -k / t + 1
        nt = t - f / fp
        if abs(nt - t) < 1e-15 * k:
            return nt
        t = nt
    return t


def _slow_alpha(T, M, cv):
    """P(signal by T) = 1 − Σ_n P(N(T)=n) · P(U_(k) > t_k/T for M ≤ k ≤ n | n), the conditional probability
    as n!·H_n(1) with H_k(u) = ∫_{a_k}^{u} H_{k−1}(v) dv (polynomials with exact rational coefficients)."""
    ts = []
    k = M
    while True:
        t = _newton_signal_time(k, cv)
        if t >= T:
            break
        ts.append(t)
        k += 1
    K = M + len(ts)  # N(T) must be below K for no signal
    no_signal = 0.0
    for n in range(K):
        if n < M:
            cond = Fraction(1)
        else:
            a = [Fraction(0)] * (M - 1) + [Fraction(x) / Fraction(T) for x in ts[: n - M + 1]]
            poly = [Fraction(1)]  # H_0 = 1, coefficients by power
            for ak in a:
                integ = [Fraction(0)] + [c / (i + 1) for i, c in enumerate(poly)]
                at = sum(c * ak**i for i, c in enumerate(integ))
                integ[0] -= at
                poly = integ
            cond = sum(poly) * math.factorial(n)
        weight = math.exp(-T) * T**n / math.factorial(n)
        no_signal += weight * float(cond)
    return 1 - no_signal


@pytest.mark.parametrize(
    ("T", "M", "alpha"),
    [(10, 3, 0.05), (10, 1, 0.05), (2, 1, 0.05), (5, 2, 0.01), (20, 4, 0.05), (3, 1, 0.1)],
)
def test_the_critical_value_spends_exactly_alpha_by_an_independent_computation(T, M, alpha):
    r = d.critical_value(T, M, alpha)
    assert r.cv is not None and r.cv > 0
    assert _slow_alpha(T, M, r.cv) == pytest.approx(alpha, abs=1e-8)
    # and it is the critical value, not merely one: a little lower spends more, a little higher less
    assert _slow_alpha(T, M, r.cv * 0.99) > alpha > _slow_alpha(T, M, r.cv * 1.01)


def test_the_fast_and_slow_alpha_agree_away_from_the_solution():
    for cv in (0.5, 2.0, 4.0):
        assert d.alpha_of(10, 2, cv) == pytest.approx(_slow_alpha(10, 2, cv), abs=1e-10)


def test_no_critical_value_when_m_events_by_t_are_too_unlikely():
    r = d.critical_value(1, 4, 0.05)  # P(N(1) ≥ 4) ≈ 0.019
    assert r.cv is None and "不存在临界值" in r.reason
    assert d.critical_value(-1, 1, 0.05).cv is None
    assert d.critical_value(10, 0, 0.05).cv is None


def test_the_daily_look_signals_only_past_the_critical_value_and_with_m_events():
    cv = d.critical_value(10, 3, 0.05).cv
    t = d.signal_time(5, cv)
    assert d.maxsprt_test(5, t * 0.99, T=10, M=3, alpha=0.05).signal
    assert not d.maxsprt_test(5, t * 1.01, T=10, M=3, alpha=0.05).signal
    assert not d.maxsprt_test(2, 0.001, T=10, M=3, alpha=0.05).signal
    assert d.maxsprt_test(3, 11, T=10, M=3, alpha=0.05).exhausted


def test_expected_count_from_doses_and_background_rates():
    assert d.expected_count({"18-59": 200_000, "60+": 100_000}, {"18-59": 1.5, "60+": 3.0}) == pytest.approx(
        6.0
    )
