"""Pure rules of field operations: the training syllabus, who passes a course's exam, and when a
follow-up is overdue. No Django."""

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Final

__all__ = [
    "SYLLABUS",
    "CourseLevel",
    "exam_outcome",
    "syllabus_checked",
    "overdue",
    "certificate_number",
]

# Seed: "培训内容包括实施方案、免疫程序、禁忌、接种点管理、冷链、安全注射、异常反应监测报告与处置".
SYLLABUS: Final[tuple[str, ...]] = (
    "实施方案",
    "免疫程序",
    "禁忌",
    "接种点管理",
    "冷链",
    "安全注射",
    "异常反应监测报告与处置",
)


class CourseLevel(enum.StrEnum):
    """The training cascade: the county trains the townships, each township trains its sites."""

    COUNTY = "county"
    TOWNSHIP = "township"

    @property
    def label_zh(self) -> str:
        return {CourseLevel.COUNTY: "县级培训（培训乡镇）", CourseLevel.TOWNSHIP: "乡镇培训（培训接种点）"}[
            self
        ]


def syllabus_checked(topics: Iterable[str]) -> tuple[str, ...]:
    """The topics in the syllabus's order, without repeats; raises ``ValueError`` naming an unknown topic or
    an empty list."""
    chosen = [t.strip() for t in topics if t and t.strip()]
    unknown = [t for t in chosen if t not in SYLLABUS]
    if unknown:
        raise ValueError(f"培训内容“{unknown[0]}”不在大纲中（{'、'.join(SYLLABUS)}）")
    if not chosen:
        raise ValueError("请至少选择一项培训内容")
    return tuple(t for t in SYLLABUS if t in chosen)


def exam_outcome(
    *, score: Decimal, pass_score: Decimal, attended: Sequence[int], held: Sequence[int]
) -> tuple[bool, str]:
    """Whether a trainee passes: every session held so far attended and a score of at least the pass mark
    (0—100). Returns ``(passed, reason)``; raises ``ValueError`` for a score outside 0—100 or a trainee who
    missed a session (no exam before the course is attended)."""
    if not isinstance(score, Decimal) or not score.is_finite() or score < 0 or score > 100:
        raise ValueError(f"考核成绩须在0—100之间：{score}")
    missed = [n for n in held if n not in set(attended)]
    if missed:
        raise ValueError(f"缺席{len(missed)}次培训课，须补课后方可考核")
    if score >= pass_score:
        return True, ""
    return False, f"成绩{score}分，低于合格分{pass_score}分"


def certificate_number(*, course_code: str, seq: int) -> str:
    """The training certificate's number: the course's code and the trainee's sequence (PX-2021-01-0007)."""
    return f"{course_code}-{seq:04d}"


def overdue(last: dt.date | None, *, today: dt.date, days: int) -> bool:
    """A person not followed up for ``days`` days (or never) is overdue."""
    if days < 0:
        raise ValueError("天数不能为负数")
    return last is None or (today - last).days >= days
