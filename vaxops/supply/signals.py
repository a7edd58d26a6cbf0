"""What supply tells the apps above it (coldchain, exchange). supply never imports them; they connect receivers here in
their ``AppConfig.ready``. Sent inside the writing transaction with ``send``: a receiver's rows commit or roll
back with supply's."""

from django.dispatch import Signal

# A dispatch was received at its destination. kwargs: ``dispatch`` (with ``arrival_celsius``, the temperature
# on arrival, or ``None``), ``actor``. coldchain: an out-of-range arrival quarantines what arrived.
dispatch_received = Signal()

# Traceability codes changed state (administered, back in stock after a void or a release, wasted — also on a
# dispatch's receipt (broken, not arrived) and by a stock count —, recalled, quarantined, destroyed). kwargs: ``code_ids`` (list of ids), ``state`` (the new ``CodeState`` value), ``at``
# (the moment). exchange: each change goes to the traceability platform as a message of its own.
codes_changed = Signal()
# A dispatch's page is being drawn. kwargs: ``dispatch``, ``user``. Each receiver returns an HTML section
# (a ``SafeString``, already scoped to what the user may see) or ``None``; the page shows them in order.
# coldchain: the transport temperatures of the unit that carried it.
dispatch_shown = Signal()
