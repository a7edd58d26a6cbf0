"""What safety does when the apps below it speak (connected in ``SafetyConfig.ready``)."""

from __future__ import annotations


def session_readiness(sender, *, session, **kwargs) -> list[str]:
    """sites asks before a session opens: the paired hospital's rescue staff on duty and the ambulance."""
    from .services import cover_problems

    return cover_problems(session)
