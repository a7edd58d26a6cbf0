"""Stable error codes of the progress reports.

A code names one kind of refusal for programs (the API's ``code``); the message beside it is for
people and may be reworded or translated. Values never change once clients may have seen them."""

from enum import StrEnum


class ReportsErrorCode(StrEnum):
    DIVISION_NOT_FOUND = "report_division_not_found"
    DIVISION_OUT_OF_SCOPE = "report_division_out_of_scope"
    DIVISION_LEVEL = "report_division_level"
    NO_DIVISION = "report_no_division"
    TOWNSHIP_NOT_FOUND = "report_township_not_found"
    TOWNSHIP_OUT_OF_SCOPE = "report_township_out_of_scope"
    DAY_FUTURE = "report_day_future"
    ALREADY_CONFIRMED = "report_already_confirmed"
    POPULATION_COLUMNS_MISSING = "population_columns_missing"
    BULLETIN_NOT_FOUND = "bulletin_not_found"
    BULLETIN_WEEK_NOT_OVER = "bulletin_week_not_over"
    BULLETIN_PUBLISHED = "bulletin_published"
    BULLETIN_COUNTY_ONLY = "bulletin_county_only"
    BULLETIN_FONT_MISSING = "bulletin_font_missing"
