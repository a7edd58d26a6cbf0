"""Pure rules of vaccine safety: the AEFI reporting clocks, seriousness, classification, clusters, and the
continuous Poisson MaxSPRT (Kulldorff et al., 2011) with its exactly computed critical value.

No Django, no clock: the caller gives every moment. Messages built here stay Chinese.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------


class Classification(enum.StrEnum):
    """The expert panel's classification of a suspected AEFI (疑似预防接种异常反应分类)."""

    COMMON = "common"  # 一般反应
    ABNORMAL = "abnormal"  # 异常反应
    COINCIDENTAL = "coincidental"  # 偶合症
    QUALITY = "quality"  # 疫苗质量事故
    PROGRAMME_ERROR = "programme_error"  # 接种事故
    PSYCHOGENIC = "psychogenic"  # 心因性反应
    UNDETERMINED = "undetermined"  # 待定（不能明确）

    @property
    def label_zh(self) -> str:
        return CLASSIFICATION_LABELS[self]


CLASSIFICATION_LABELS: dict[Classification, str] = {
    Classification.COMMON: "一般反应",
    Classification.ABNORMAL: "异常反应",
    Classification.COINCIDENTAL: "偶合症",
    Classification.QUALITY: "疫苗质量事故",
    Classification.PROGRAMME_ERROR: "接种事故",
    Classification.PSYCHOGENIC: "心因性反应",
    Classification.UNDETERMINED: "待定",
}

# Classifications that let a held lot go back into use: the event was not caused by the vaccine's quality.
# A quality incident keeps the lot held (it is recalled by supply, not released here); "undetermined" decides
# nothing yet.
RELEASING_CLASSIFICATIONS = frozenset(
    {
        Classification.COMMON,
        Classification.ABNORMAL,
        Classification.COINCIDENTAL,
        Classification.PROGRAMME_ERROR,
        Classification.PSYCHOGENIC,
    }
)
# Classifications for which the manufacturer pays compensation (补偿) under the vaccine administration law.
COMPENSABLE = frozenset({Classification.ABNORMAL, Classification.QUALITY})


class Criterion(enum.StrEnum):
    """What makes a case serious (严重疑似预防接种异常反应), as on the case report card."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALISATION = "hospitalisation"
    DISABILITY = "disability"
    SERIOUS_DISABILITY = "serious_disability"
    CONGENITAL = "congenital"
    OTHER_MEDICAL = "other_medical"

    @property
    def label_zh(self) -> str:
        return CRITERION_LABELS[self]


CRITERION_LABELS: dict[Criterion, str] = {
    Criterion.DEATH: "死亡",
    Criterion.LIFE_THREATENING: "危及生命",
    Criterion.HOSPITALISATION: "住院或延长住院时间",
    Criterion.DISABILITY: "永久或显著的人体伤残",
    Criterion.SERIOUS_DISABILITY: "严重残疾",
    Criterion.CONGENITAL: "先天性异常或出生缺陷",
    Criterion.OTHER_MEDICAL: "其他重要医学事件",
}

# The events reported within 2 hours (死亡、严重残疾、群体性、对社会有重大影响).
_IMMEDIATE = frozenset({Criterion.DEATH, Criterion.SERIOUS_DISABILITY})


class Status(enum.StrEnum):
    REPORTED = "reported"
    INVESTIGATING = "investigating"
    CLASSIFIED = "classified"
    CLOSED = "closed"

    @property
    def label_zh(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: dict[Status, str] = {
    Status.REPORTED: "已报告",
    Status.INVESTIGATING: "调查中",
    Status.CLASSIFIED: "已诊断分类",
    Status.CLOSED: "已结案",
}
# The only moves a case may make, each by its own service.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.REPORTED: frozenset({Status.INVESTIGATING, Status.CLASSIFIED}),
    Status.INVESTIGATING: frozenset({Status.CLASSIFIED}),
    Status.CLASSIFIED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


def may_move(old: str, new: str) -> bool:
    """Whether a case in status ``old`` may move to ``new``."""
    try:
        return Status(new) in TRANSITIONS[Status(old)]
    except ValueError:
        return False


def is_serious(criteria: Iterable[str]) -> bool:
    """A case is serious when it meets any of the card's seriousness criteria."""
    return any(c in Criterion.__members__.values() for c in criteria)


def needs_immediate_report(criteria: Iterable[str], *, cluster: bool, major_concern: bool) -> bool:
    """Death, serious disability, a cluster or an event of major public concern: reported within 2 hours."""
    return cluster or major_concern or any(c in _IMMEDIATE for c in criteria)


def needs_investigation(criteria: Iterable[str], *, cluster: bool, major_concern: bool) -> bool:
    """Serious cases, clusters and events of major concern are investigated (the county may open others)."""
    return cluster or major_concern or is_serious(criteria)


# --------------------------------------------------------------------------------------------------
# Clocks
# --------------------------------------------------------------------------------------------------


class ClockKind(enum.StrEnum):
    IMMEDIATE = "immediate"  # 2 h from discovery to the county CDC and the health bureau
    CARD = "card"  # 48 h from discovery: the case report card
    INVESTIGATION = "investigation"  # 48 h from the report: investigation started
    PRELIMINARY = "preliminary"  # 7 days from the investigation's start: preliminary report (serious cases)

    @property
    def label_zh(self) -> str:
        return CLOCK_LABELS[self]


CLOCK_LABELS: dict[ClockKind, str] = {
    ClockKind.IMMEDIATE: "2小时内报告县疾控和卫生健康行政部门",
    ClockKind.CARD: "48小时内填报个案报告卡",
    ClockKind.INVESTIGATION: "报告后48小时内开始调查",
    ClockKind.PRELIMINARY: "调查开始后7日内完成初步调查报告",
}
CLOCK_LIMITS: dict[ClockKind, dt.timedelta] = {
    ClockKind.IMMEDIATE: dt.timedelta(hours=2),
    ClockKind.CARD: dt.timedelta(hours=48),
    ClockKind.INVESTIGATION: dt.timedelta(hours=48),
    ClockKind.PRELIMINARY: dt.timedelta(days=7),
}
# "Due soon" once this share of the allowed time is left (a quarter: 30 min of 2 h, 12 h of 48 h, 42 h of 7 d).
DUE_SOON_SHARE = 0.25


class ClockState(enum.StrEnum):
    ON_TIME = "on_time"  # running, plenty left
    DUE_SOON = "due_soon"  # running, a quarter or less left
    OVERDUE = "overdue"  # running past its due time
    DONE = "done"  # done on time
    DONE_LATE = "done_late"  # done after its due time

    @property
    def label_zh(self) -> str:
        return CLOCK_STATE_LABELS[self]


CLOCK_STATE_LABELS: dict[ClockState, str] = {
    ClockState.ON_TIME: "按时",
    ClockState.DUE_SOON: "即将到期",
    ClockState.OVERDUE: "已超时",
    ClockState.DONE: "按时完成",
    ClockState.DONE_LATE: "超时完成",
}


@dataclass(frozen=True)
class CaseTimes:
    """What the clocks of one case are computed from."""

    discovered_at: dt.datetime
    reported_at: dt.datetime
    criteria: frozenset[str] = frozenset()
    cluster: bool = False
    major_concern: bool = False
    county_notified_at: dt.datetime | None = None
    card_completed_at: dt.datetime | None = None
    investigation_started_at: dt.datetime | None = None
    preliminary_report_at: dt.datetime | None = None


@dataclass(frozen=True)
class Clock:
    kind: ClockKind
    starts: dt.datetime
    due: dt.datetime
    done_at: dt.datetime | None
    state: ClockState
    left: dt.timedelta  # negative when overdue; zero once done

    @property
    def late(self) -> bool:
        return self.state in (ClockState.OVERDUE, ClockState.DONE_LATE)

    @property
    def running(self) -> bool:
        return self.done_at is None


def clock_state(
    *, starts: dt.datetime, due: dt.datetime, done_at: dt.datetime | None, now: dt.datetime
) -> ClockState:
    """The state of one clock at ``now``."""
    if done_at is not None:
        return ClockState.DONE if done_at <= due else ClockState.DONE_LATE
    if now > due:
        return ClockState.OVERDUE
    if (due - now) <= (due - starts) * DUE_SOON_SHARE:
        return ClockState.DUE_SOON
    return ClockState.ON_TIME


def _clock(kind: ClockKind, starts: dt.datetime, done_at: dt.datetime | None, now: dt.datetime) -> Clock:
    due = starts + CLOCK_LIMITS[kind]
    state = clock_state(starts=starts, due=due, done_at=done_at, now=now)
    return Clock(kind, starts, due, done_at, state, dt.timedelta(0) if done_at else due - now)


def clocks(case: CaseTimes, now: dt.datetime) -> list[Clock]:
    """Every clock that applies to the case, in the scheme's order.

    The 2-hour report is done when the county CDC was told (``county_notified_at``; a report entered in
    VaxOps tells it at once, so the report time stands in); the card when its fields are complete; the
    investigation when the county opens it; the preliminary report when it is filed. The 7-day clock runs from
    the investigation's start, or — while none has started — from the moment the investigation was due.
    """
    out: list[Clock] = []
    crit = case.criteria
    if needs_immediate_report(crit, cluster=case.cluster, major_concern=case.major_concern):
        told = case.county_notified_at or case.reported_at
        out.append(_clock(ClockKind.IMMEDIATE, case.discovered_at, told, now))
    out.append(_clock(ClockKind.CARD, case.discovered_at, case.card_completed_at, now))
    if needs_investigation(crit, cluster=case.cluster, major_concern=case.major_concern):
        out.append(_clock(ClockKind.INVESTIGATION, case.reported_at, case.investigation_started_at, now))
        if is_serious(crit) or case.cluster:
            start = case.investigation_started_at or (
                case.reported_at + CLOCK_LIMITS[ClockKind.INVESTIGATION]
            )
            out.append(_clock(ClockKind.PRELIMINARY, start, case.preliminary_report_at, now))
    return out


# --------------------------------------------------------------------------------------------------
# Clusters (群体性疑似预防接种异常反应)
# --------------------------------------------------------------------------------------------------

# Signs grouped so that "the same or similar" signs fall together (the card's wording varies).
SIGN_GROUPS: dict[str, str] = {
    "发热": "fever",
    "高热": "fever",
    "皮疹": "rash",
    "荨麻疹": "rash",
    "过敏性皮疹": "rash",
    "过敏性休克": "anaphylaxis",
    "严重过敏反应": "anaphylaxis",
    "喉头水肿": "anaphylaxis",
    "晕厥": "syncope",
    "晕针": "syncope",
    "抽搐": "convulsion",
    "热性惊厥": "convulsion",
    "惊厥": "convulsion",
    "局部红肿": "local",
    "硬结": "local",
    "局部疼痛": "local",
    "头痛": "headache",
    "呕吐": "gastro",
    "腹泻": "gastro",
    "恶心": "gastro",
    "格林巴利综合征": "gbs",
    "吉兰-巴雷综合征": "gbs",
    "肢体无力": "gbs",
    "呼吸困难": "respiratory",
    "胸闷": "respiratory",
}


def sign_group(sign: str) -> str:
    """The group a sign belongs to (its own text, stripped, when it is not in the table)."""
    s = sign.strip()
    return SIGN_GROUPS.get(s, s)


@dataclass(frozen=True)
class CaseLite:
    id: int
    site_id: int
    lot_id: int
    onset: dt.datetime
    signs: frozenset[str]
    serious: bool


@dataclass(frozen=True)
class Cluster:
    by: str  # "site" or "lot"
    key: int
    sign: str  # the sign group shared
    case_ids: tuple[int, ...]
    first: dt.datetime
    last: dt.datetime
    serious: bool


@dataclass(frozen=True)
class ClusterPolicy:
    """What counts as a cluster: ``min_serious`` serious cases (2 by default) or ``min_any`` cases of any
    seriousness (a marked rise of non-serious ones; 0 turns it off) with the same sign group at one site or of
    one lot, with onsets within ``window``."""

    window: dt.timedelta = dt.timedelta(days=7)
    min_serious: int = 2
    min_any: int = 0


def detect_clusters(cases: Iterable[CaseLite], policy: ClusterPolicy | None = None) -> list[Cluster]:
    """Every cluster among ``cases``: for each site and each lot and sign group, the maximal runs of cases whose
    onsets lie within the window of one another's first, that reach the policy's threshold. A case may be in
    a site cluster and a lot cluster at once. Sorted by (by, key, sign, first)."""
    pol = policy or ClusterPolicy()
    groups: dict[tuple[str, int, str], list[CaseLite]] = defaultdict(list)
    for c in cases:
        for g in {sign_group(s) for s in c.signs}:
            groups[("site", c.site_id, g)].append(c)
            groups[("lot", c.lot_id, g)].append(c)
    found: list[Cluster] = []
    for (by, key, sign), members in groups.items():
        if len(members) < 2:
            continue
        members.sort(key=lambda c: (c.onset, c.id))
        for serious_only, need in ((True, pol.min_serious), (False, pol.min_any)):
            if need < 2:
                continue
            pool = [c for c in members if c.serious] if serious_only else members
            found.extend(_runs(pool, by, key, sign, pol.window, need, serious_only))
    # A serious cluster and an "any" cluster over the same cases: keep the serious one.
    seen: set[tuple[str, int, str, tuple[int, ...]]] = set()
    out: list[Cluster] = []
    for cl in sorted(found, key=lambda c: (c.by, c.key, c.sign, c.first, not c.serious)):
        k = (cl.by, cl.key, cl.sign, cl.case_ids)
        if k in seen:
            continue
        seen.add(k)
        out.append(cl)
    return out


def _runs(
    pool: Sequence[CaseLite], by: str, key: int, sign: str, window: dt.timedelta, need: int, serious: bool
) -> list[Cluster]:
    out: list[Cluster] = []
    i = 0
    n = len(pool)
    while i < n:
        j = i
        while j + 1 < n and pool[j + 1].onset - pool[i].onset <= window:
            j += 1
        if j - i + 1 >= need:
            run = pool[i : j + 1]
            out.append(Cluster(by, key, sign, tuple(c.id for c in run), run[0].onset, run[-1].onset, serious))
            i = j + 1
        else:
            i += 1
    return out


# --------------------------------------------------------------------------------------------------
# Signals: continuous Poisson MaxSPRT
# --------------------------------------------------------------------------------------------------


def llr(c: float, mu: float) -> float:
    """The log-likelihood ratio of the continuous Poisson MaxSPRT: ``(μ − c) + c·ln(c/μ)`` when c > μ, else 0."""
    if mu <= 0:
        return math.inf if c > 0 else 0.0
    if c <= mu:
        return 0.0
    return (mu - c) + c * math.log(c / mu)


def signals(c: int, mu: float, cv: float, minimum: int) -> bool:
    """Whether ``c`` observed against ``mu`` expected signals: LLR ≥ CV and at least ``minimum`` events."""
    return c >= minimum and c > mu and llr(c, mu) >= cv


def expected_count(doses_by_band: dict[str, int], rate_per_100k: dict[str, float]) -> float:
    """Expected events: Σ over age bands of doses × background rate per 100,000 doses."""
    return sum(doses_by_band.get(b, 0) * rate_per_100k.get(b, 0.0) / 100_000 for b in doses_by_band)


def signal_time(k: int, cv: float) -> float:
    """The latest expected count μ at which a k-th event still signals: the root in (0, k) of
    ``k·ln(k/μ) − k + μ = cv`` (the LLR decreases in μ on (0, k), from ∞ to 0)."""
    if k <= 0:
        return 0.0
    lo, hi = 0.0, float(k)
    # Bisection in μ (the function is smooth and monotone; 200 halvings reach the float's resolution).
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if llr(k, mid) >= cv:
            lo = mid
        else:
            hi = mid
    return lo


def _poisson_pmf(mean: float, upto: int) -> list[float]:
    """P(X = 0..upto) for X ~ Poisson(mean), by the recurrence (no factorial overflow)."""
    out = [0.0] * (upto + 1)
    if mean <= 0:
        out[0] = 1.0
        return out
    # Start from the log of P(0) and multiply up; fine for the means here (≤ a few thousand) in pieces.
    logp = -mean
    for j in range(upto + 1):
        if j > 0:
            logp += math.log(mean) - math.log(j)
        out[j] = math.exp(logp)
    return out


# Masses below this are dropped from the carried distribution (far below a float's resolution of α).
_NEGLIGIBLE = 1e-40


def _poisson_kernel(mean: float, upto: int) -> list[float]:
    """P(X = 0..) for X ~ Poisson(mean), at most ``upto`` + 1 terms, stopping past the mean once the terms
    are negligible."""
    out: list[float] = []
    logp = -mean
    logm = math.log(mean) if mean > 0 else -math.inf
    for j in range(upto + 1):
        if j > 0:
            if mean <= 0:
                break
            logp += logm - math.log(j)
        v = math.exp(logp)
        if j > mean and v < _NEGLIGIBLE:
            break
        out.append(v)
    return out or [0.0]


def boundaries(T: float, M: int, cv: float) -> list[float]:
    """``b_k = min(t_k, T)`` for k = M, M+1, … up to the first k with t_k ≥ T (index 0 is k = M)."""
    out: list[float] = []
    k = M
    while True:
        t = signal_time(k, cv)
        if t >= T:
            out.append(T)
            return out
        out.append(t)
        k += 1


def alpha_of(T: float, M: int, cv: float) -> float:
    """P(any signal up to μ = T) under the null for critical value ``cv``, computed exactly.

    Between events the LLR falls, so the test can only signal at an event: the k-th event (k ≥ M), at
    expected time τ_k, signals iff τ_k ≤ t_k (the signal time of k, ``signal_time``), and only while τ_k ≤ T.
    No signal ⟺ N(b_k) < k for every k ≥ M, with b_k = min(t_k, T), a non-decreasing boundary; from the
    first K with t_K ≥ T on the condition is N(T) < K. The distribution of N at b_M, b_{M+1}, …, b_K
    restricted to the no-signal paths is carried forward with independent Poisson increments; its
    remaining mass is P(no signal).
    """
    bs = boundaries(T, M, cv)
    # Mass at b_M: N(b_M) = j for j ≤ M − 1.
    p = _poisson_pmf(bs[0], M - 1)
    prev = bs[0]
    for idx, b in enumerate(bs[1:], start=1):
        k = M + idx  # N(b) must be < k
        kernel = _poisson_kernel(b - prev, k - 1)
        q = [0.0] * k
        for i, pi in enumerate(p):
            if pi < _NEGLIGIBLE:
                continue
            top = min(k - 1 - i, len(kernel) - 1)
            for d in range(top + 1):
                q[i + d] += pi * kernel[d]
        p = q
        prev = b
    return max(0.0, min(1.0, 1.0 - math.fsum(p)))


@dataclass(frozen=True)
class CriticalValue:
    cv: float | None
    T: float
    M: int
    alpha: float
    reason: str = ""
    attained_alpha: float | None = field(default=None)


MAX_T = 200.0


@functools.lru_cache(maxsize=256)
def critical_value(T: float, M: int, alpha: float, *, tolerance: float = 1e-10) -> CriticalValue:
    """The critical value CV of the continuous Poisson MaxSPRT such that P(any signal under H0 up to T) = α,
    solved by bisection on the exact ``alpha_of`` (strictly decreasing in CV wherever a CV exists).

    No CV exists when even the smallest positive one cannot spend α: when P(N(T) ≥ M) ≤ α the test can never
    reach α (it can signal only with at least M events by T); more generally when α(CV → 0) ≤ α.
    """
    if not (T > 0) or not math.isfinite(T):
        return CriticalValue(None, T, M, alpha, "T（期望事件数上限）须为正数")
    if T > MAX_T:
        return CriticalValue(None, T, M, alpha, f"T 不得超过 {MAX_T:g}")
    if M < 1:
        return CriticalValue(None, T, M, alpha, "M（最少事件数）须至少为1")
    if not (0 < alpha < 1):
        return CriticalValue(None, T, M, alpha, "alpha 须在 0 与 1 之间")
    reach = 1.0 - math.fsum(_poisson_pmf(T, M - 1))  # P(N(T) ≥ M): no CV can exceed this
    if reach <= alpha:
        return CriticalValue(
            None,
            T,
            M,
            alpha,
            f"在 T={T:g} 内出现至少 M={M} 例的概率仅为 {reach:.6g}，不超过 alpha={alpha:g}，不存在临界值",
        )
    lo = 1e-9
    a_lo = alpha_of(T, M, lo)
    if a_lo <= alpha:
        return CriticalValue(
            None,
            T,
            M,
            alpha,
            f"即使临界值趋于0，第一类错误概率也仅为 {a_lo:.6g}，不超过 alpha={alpha:g}，不存在临界值",
        )
    hi = 1.0
    while alpha_of(T, M, hi) > alpha:
        lo = hi
        hi *= 2
        if hi > 1e4:
            return CriticalValue(None, T, M, alpha, "临界值超出可计算范围")
    while hi - lo > tolerance * max(1.0, hi):
        mid = (lo + hi) / 2
        if alpha_of(T, M, mid) > alpha:
            lo = mid
        else:
            hi = mid
    # ``hi`` is the smallest CV found whose α does not exceed the requested one.
    return CriticalValue(hi, T, M, alpha, "", alpha_of(T, M, hi))


@dataclass(frozen=True)
class SignalTest:
    observed: int
    expected: float
    llr: float
    cv: float | None
    signal: bool
    exhausted: bool  # the expected count passed T: the surveillance ended without a signal


def maxsprt_test(observed: int, expected: float, *, T: float, M: int, alpha: float) -> SignalTest:
    """One look of the continuous MaxSPRT (the daily run)."""
    cv = critical_value(T, M, alpha).cv
    value = llr(observed, expected)
    sig = cv is not None and expected <= T and signals(observed, expected, cv, M)
    return SignalTest(observed, expected, value, cv, sig, expected > T and not sig)
