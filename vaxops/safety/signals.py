"""What safety tells the apps above it (exchange). safety never imports them; they connect receivers here in
their ``AppConfig.ready``. Sent inside the writing transaction with ``send``: a receiver's rows commit or roll
back with the report's."""

from django.dispatch import Signal

# A suspected adverse event report was made, or changed what it says (status, classification, outcome).
# kwargs: ``report`` (the row as written), ``at`` (the moment).
# exchange: the report goes out to the provincial and national platforms as a FHIR ``AdverseEvent``.
report_changed = Signal()
