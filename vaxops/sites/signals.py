"""What the sites' calendar tells the apps above it (booking). sites never imports booking; booking connects
receivers here in its ``AppConfig.ready``. Sent inside the writing transaction with ``send``: a receiver's
rows commit or roll back with the session."""

from django.dispatch import Signal

# A session was planned. kwargs: ``session``, ``slots`` (the day's ``domain.SlotSpec``s, in order).
# booking: creates the session's ``Slot`` rows, each split into open and walk-in places.
session_planned = Signal()

# A session is about to open (asked inside ``session_open``'s transaction, and by ``session_open_check``).
# kwargs: ``session``. A receiver returns a list of Chinese problems (empty when it has none); any problem
# keeps the session closed. safety: the rescue staff on duty from the paired hospital and the ambulance.
session_readiness_asked = Signal()
