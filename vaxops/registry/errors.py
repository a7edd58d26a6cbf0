"""Stable error codes of registry: residents, employers and table imports.

A code names one kind of refusal for programs (the API's ``code``); the message beside it is for
people and may be reworded or translated. Values never change once clients may have seen them."""

from enum import StrEnum


class RegistryErrorCode(StrEnum):
    BIRTH_DATE_MISSING = "birth_date_missing"
    GROUP_INVALID = "group_invalid"
    WILLINGNESS_INVALID = "willingness_invalid"
    DUPLICATE = "duplicate"
    EMPLOYER_UNKNOWN = "employer_unknown"
    FILE_COLUMNS_MISSING = "file_columns_missing"
    FILE_CSV_INVALID = "file_csv_invalid"
    FILE_ENCODING_INVALID = "file_encoding_invalid"
    FILE_NOT_XLSX = "file_not_xlsx"
    FILE_NO_HEADER = "file_no_header"
    FILE_NO_SHEET = "file_no_sheet"
    FILE_TOO_MANY_ROWS = "file_too_many_rows"
    FILE_UNREADABLE = "file_unreadable"
    FILE_XLS_UNSUPPORTED = "file_xls_unsupported"
    ID_NUMBER_IMMUTABLE = "id_number_immutable"
    ID_NUMBER_INVALID = "id_number_invalid"
    IMPORT_OTHER_EMPLOYER = "import_other_employer"
    RESIDENT_INVALID = "resident_invalid"
    RESIDENT_NOT_FOUND = "resident_not_found"
    VILLAGE_UNKNOWN = "village_unknown"
