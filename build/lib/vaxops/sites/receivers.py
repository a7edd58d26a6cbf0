"""sites' answers to the vaccination record (clinic, below this app, asks)."""

from django.dispatch import receiver

from vaxops.clinic.signals import dose_reach

from .selectors import staff_site_id


@receiver(dose_reach, dispatch_uid="sites.dose_reach")
def on_dose_reach(sender, actor, dose, **kwargs) -> bool:
    """Staff may reach a dose given at the site where they work, whoever's jurisdiction the person is in."""
    return dose.site_id is not None and dose.site_id == staff_site_id(actor)
