from django.apps import AppConfig
from django.db.models.signals import post_save


class CertsConfig(AppConfig):
    name = "vaxops.certs"
    label = "certs"
    verbose_name = "接种凭证"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from vaxops.audit.models import AuditEvent
        from vaxops.clinic.models import Dose

        post_save.connect(_dose_saved, sender=Dose, dispatch_uid="certs.dose_saved")
        post_save.connect(_audit_saved, sender=AuditEvent, dispatch_uid="certs.dose_void_audited")


def _dose_saved(sender, instance, created: bool, **kwargs) -> None:
    """A dose saved with ``voided_at`` set (the admin, a fixture, any ``save()``) revokes the certificates
    covering it."""
    if instance.voided_at is not None and not kwargs.get("raw"):
        from .services import certificates_revoke_for_dose

        certificates_revoke_for_dose(instance, f"接种记录作废：{instance.void_reason}".rstrip("："),
                                     actor=instance.voided_by)


def _audit_saved(sender, instance, created: bool, **kwargs) -> None:
    """``clinic.services.dose_void`` voids with a conditional UPDATE (no ``post_save`` of the dose) and
    writes a ``dose.void`` audit event in the same transaction: revoke on that event."""
    if not created or instance.action != "dose.void" or instance.object_type != "clinic.dose" or kwargs.get("raw"):
        return
    from vaxops.clinic.models import Dose

    from .services import certificates_revoke_for_dose

    dose = Dose.objects.filter(pk=instance.object_id, voided_at__isnull=False).first()
    if dose is not None:
        certificates_revoke_for_dose(dose, f"接种记录作废：{dose.void_reason}".rstrip("："), actor=instance.actor)

