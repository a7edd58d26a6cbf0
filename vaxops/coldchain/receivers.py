"""What coldchain does when the apps below it speak (connected in ``ColdchainConfig.ready``)."""

from __future__ import annotations


def dispatch_received(sender, *, dispatch, actor, **kwargs) -> None:
    """supply received a dispatch: an arrival temperature out of range quarantines what arrived."""
    from .services import arrival_check

    arrival_check(actor=actor, dispatch=dispatch)
