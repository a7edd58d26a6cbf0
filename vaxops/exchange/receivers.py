"""The outbox follows the record: a voided dose recorded here sends its ``entered-in-error`` (the desk's new
dose writes its messages in its own statement, see ``services.outbox_cte``)."""

from django.dispatch import receiver

from vaxops.clinic.signals import dose_voided

from .models import MessageKind
from .services import outbox_dose


@receiver(dose_voided, dispatch_uid="exchange.dose_voided")
def on_dose_voided(sender, dose, at=None, **kwargs):
    if dose.external:
        return  # a dose given elsewhere is the other system's to report
    outbox_dose(dose_id=dose.pk, resident_id=dose.resident_id, kind=MessageKind.VOID, now=at)
