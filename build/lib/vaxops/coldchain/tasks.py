"""Work run by ``vaxops worker``."""

from . import services


def manual_log_check() -> int:
    return services.manual_log_check()
