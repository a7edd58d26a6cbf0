"""supply's reactions to the vaccination record (clinic, below this app, sends; this app acts in the same
transaction)."""

from django.dispatch import receiver

from vaxops.clinic.signals import dose_voided

from .services import code_after_void


@receiver(dose_voided, dispatch_uid="supply.dose_voided")
def on_dose_voided(sender, dose, actor, reason, disposition, **kwargs):
    """A voided dose given from a traceability code: the unopened package goes back into stock
    (``returned``), otherwise the code is written off as wasted."""
    if dose.trace_code_id:
        code_after_void(actor=actor, code=dose.trace_code, returned=disposition == "returned", reason=reason)
