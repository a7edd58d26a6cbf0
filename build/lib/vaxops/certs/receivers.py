"""certs' reactions to the vaccination record: a voided dose revokes the certificates covering it."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from vaxops.clinic.models import Dose
from vaxops.clinic.signals import dose_voided

from .services import certificates_revoke_for_dose


@receiver(dose_voided, dispatch_uid="certs.dose_voided")
def on_dose_voided(sender, dose, actor, reason, **kwargs):
    """``clinic.services.dose_void`` (a conditional UPDATE, which sends no ``post_save``)."""
    certificates_revoke_for_dose(dose, f"接种记录作废：{reason}", actor=actor)


@receiver(post_save, sender=Dose, dispatch_uid="certs.dose_saved")
def on_dose_saved(sender, instance, created: bool, **kwargs) -> None:
    """A dose saved with ``voided_at`` set (the admin, a fixture, any ``save()``) revokes the certificates
    covering it."""
    if instance.voided_at is not None and not kwargs.get("raw"):
        certificates_revoke_for_dose(
            instance, f"接种记录作废：{instance.void_reason}".rstrip("："), actor=instance.voided_by
        )
