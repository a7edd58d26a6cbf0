"""The daily report's and the dashboard's block on vaccine safety and the cold chain: suspected adverse events
(reported today, serious, open, clocks run late) from ``safety.selectors.aefi_counts`` and open temperature
excursions with the doses quarantined from ``coldchain.selectors.excursion_counts``. Plain figures, no health
details; read for the user's whole scope."""

from __future__ import annotations

import datetime as dt

from vaxops.accounts.scope import Scope


def safety_coldchain_block(*, scope: Scope, day: dt.date) -> dict:
    from vaxops.coldchain.selectors import excursion_counts
    from vaxops.safety.selectors import aefi_counts

    return {"aefi": aefi_counts(scope, day), "coldchain": excursion_counts(scope, day)}
