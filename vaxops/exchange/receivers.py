"""The outbox follows the records of the apps below: a voided or corrected dose recorded here sends its new
state, a suspected adverse event report made or changed goes out as an ``AdverseEvent``, a traceability code's
change of state goes to the traceability platform (the desk's new dose writes its messages in its own
statement, see ``services.outbox_cte``). Every receiver writes in the sender's transaction."""

from django.dispatch import receiver

from vaxops.clinic.models import Dose
from vaxops.clinic.signals import dose_corrected, dose_voided
from vaxops.safety.signals import report_changed
from vaxops.supply.signals import codes_changed

from .models import MessageKind
from .services import outbox_codes, outbox_dose, outbox_report


@receiver(dose_voided, dispatch_uid="exchange.dose_voided")
def on_dose_voided(sender, dose, at=None, **kwargs):
    if dose.external:
        return  # a dose given elsewhere is the other system's to report
    outbox_dose(dose_id=dose.pk, resident_id=dose.resident_id, kind=MessageKind.VOID, now=at)


@receiver(dose_corrected, dispatch_uid="exchange.dose_corrected")
def on_dose_corrected(sender, dose, at=None, **kwargs):
    if dose.external:
        return
    outbox_dose(dose_id=dose.pk, resident_id=dose.resident_id, kind=MessageKind.CORRECT, now=at)


@receiver(report_changed, dispatch_uid="exchange.report_changed")
def on_report_changed(sender, report, at=None, **kwargs):
    outbox_report(report_id=report.pk, dose_id=report.dose_id, resident_id=report.resident_id, now=at)


@receiver(codes_changed, dispatch_uid="exchange.codes_changed")
def on_codes_changed(sender, code_ids, state, at=None, **kwargs):
    doses = {}
    if state == "administered":  # the dose given from the code, for the platform to link code and dose
        doses = dict(
            Dose.objects.filter(trace_code_id__in=code_ids, voided_at__isnull=True).values_list(
                "trace_code_id", "id"
            )
        )
    outbox_codes(code_ids=code_ids, state=state, now=at, doses=doses)
