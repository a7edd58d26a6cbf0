"""Work run by ``vaxops worker``."""

from . import services


def manual_log_check() -> int:
    return services.manual_log_check()


def silent_check() -> dict:
    """Every ``VAXOPS_COLDCHAIN["silent_check_minutes"]`` (15 by default): sensors that stopped reporting."""
    return services.silent_check()
