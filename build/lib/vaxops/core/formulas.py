"""Text a spreadsheet would run as a formula (pure, stdlib only).

Excel, WPS and LibreOffice treat a cell typed or imported as text that begins with ``=``, ``+``, ``-`` or ``@``
as a formula (``=HYPERLINK(…)``, the DDE payload ``=cmd|' /C calc'!A0``), and a leading tab or carriage return
hides such a prefix from a naive check. The exports write such text as text (``core.xlsx``); the census import
refuses it in names and addresses (``registry.domain.check_free_text``).
"""

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PREFIXES_SHOWN = "= + - @、制表符或回车"


def starts_like_formula(value: object) -> bool:
    """True for a string a spreadsheet could read as a formula; numbers (a real -5) are never flagged."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)
