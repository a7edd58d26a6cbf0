"""What coldchain does when the apps below it speak (connected in ``ColdchainConfig.ready``)."""

from __future__ import annotations


def dispatch_received(sender, *, dispatch, actor, **kwargs) -> None:
    """supply received a dispatch: codes an excursion held in transit are quarantined where they arrived,
    and an arrival temperature out of range quarantines what arrived."""
    from .services import arrival_check, transit_hold

    transit_hold(actor=actor, dispatch=dispatch)
    arrival_check(actor=actor, dispatch=dispatch)


def dispatch_shown(sender, *, dispatch, user, **kwargs):
    """A dispatch's page: the transport temperatures of the unit that carried it, with its curve."""
    from django.template.loader import render_to_string

    from . import selectors
    from .views import curve

    transport = selectors.dispatch_transport(dispatch=dispatch)
    if transport is None:
        return None
    eq = transport["equipment"]
    drawn = curve(
        [(at, float(c)) for at, c in transport["readings"]],
        since=transport["since"],
        until=transport["until"],
        low=float(eq.low_c),
        high=float(eq.high_c),
    )
    return render_to_string(
        "coldchain/_dispatch_transport.html",
        {"t": transport, "eq": eq, "curve": drawn, "may_open": user.has_perm("coldchain.view_equipment")},
    )
