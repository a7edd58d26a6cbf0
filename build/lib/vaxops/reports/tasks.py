"""Jobs of ``vaxops worker`` for the progress reports."""

from .services import daily_reports_mark_late as _mark_late


def daily_reports_mark_late() -> int:
    """17:00 every day: mark the townships that have not confirmed today's report (逾期未报)."""
    return len(_mark_late())
