"""The facts follow every change of a person's record, in the writer's transaction (see ``services.facts_apply``)."""

from django.dispatch import receiver

from vaxops.clinic.signals import record_changed
from vaxops.registry.signals import residents_changed

from .services import facts_apply, facts_refresh_people


@receiver(record_changed, dispatch_uid="reports.record_changed")
def on_record_changed(sender, resident_ids, dose=None, **kwargs):
    """A dose recorded or voided, an external dose entered (the desk's dose comes as ``dose``, not yet
    written: it is counted with the person's standing doses; an external dose as ``dose`` written)."""
    facts_apply(resident_ids=resident_ids, pending=dose)


@receiver(residents_changed, dispatch_uid="reports.residents_changed")
def on_residents_changed(sender, resident_ids, **kwargs):
    """A person moved village, or their birth date, sex, group or employer was corrected: they count anew."""
    facts_refresh_people(resident_ids=resident_ids)
