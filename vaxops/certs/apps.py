from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


class CertsConfig(AppConfig):
    name = "vaxops.certs"
    label = "certs"
    verbose_name = "接种凭证"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from vaxops.clinic.models import Dose

        # clinic.services.dose_void calls certificates_revoke_for_dose itself (it voids by a conditional
        # UPDATE, which sends no signal); this covers a dose voided by any save().
        post_save.connect(_dose_saved, sender=Dose, dispatch_uid="certs.dose_saved")
        post_migrate.connect(_after_migrate, sender=self)


def _dose_saved(sender, instance, created: bool, **kwargs) -> None:
    """A dose saved with ``voided_at`` set (the admin, a fixture, any ``save()``) revokes the certificates
    covering it."""
    if instance.voided_at is not None and not kwargs.get("raw"):
        from .services import certificates_revoke_for_dose

        certificates_revoke_for_dose(
            instance, f"接种记录作废：{instance.void_reason}".rstrip("："), actor=instance.voided_by
        )


def _after_migrate(sender, **kwargs) -> None:
    from vaxops.accounts.services import roles_sync

    # The apps before this one synced the roles before its permissions existed; sync again.
    roles_sync()
