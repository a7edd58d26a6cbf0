"""Stable error codes of field operations: training, mobile teams' stock, the grid's follow-ups.

A code names one kind of refusal for programs; the Chinese message beside it is for people."""

from enum import StrEnum


class FieldErrorCode(StrEnum):
    COURSE_INVALID = "course_invalid"
    COURSE_OUT_OF_SCOPE = "course_out_of_scope"
    EXAM_ALREADY_PASSED = "exam_already_passed"
    EXAM_ATTENDANCE_MISSING = "exam_attendance_missing"
    EXAM_SCORE_INVALID = "exam_score_invalid"
    TRAINEE_ALREADY_ENROLLED = "trainee_already_enrolled"
    TRAINEE_OUT_OF_SCOPE = "trainee_out_of_scope"
    TEAM_NOT_MOBILE = "team_not_mobile"
    TEAM_NO_PLACE = "team_no_place"
    TEAM_NOTHING_TO_RETURN = "team_nothing_to_return"
    FOLLOWUP_OUT_OF_SCOPE = "followup_out_of_scope"
    FOLLOWUP_INVALID = "followup_invalid"
