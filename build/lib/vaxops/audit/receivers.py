"""The audit log's record of what the shared kernel reports (``core.signals``), in the sender's transaction."""

from django.dispatch import receiver

from vaxops.core.actors import SystemActor
from vaxops.core.ratelimit import AUDIT_ACTION
from vaxops.core.signals import admin_changed, client_refused

from .services import audit_record


@receiver(admin_changed, dispatch_uid="audit.admin_changed")
def on_admin_changed(sender, request, obj, action, old=None, new=None, **kwargs) -> None:
    audit_record(
        actor=request.user, action=f"admin.{obj._meta.label_lower}.{action}", obj=obj, old=old, new=new
    )


@receiver(client_refused, dispatch_uid="audit.client_refused")
def on_client_refused(sender, scope, reason, window_seconds, **kwargs) -> None:
    audit_record(
        actor=SystemActor("anonymous"),
        action=AUDIT_ACTION,
        object_type="core.ratecounter",
        new={"scope": scope, "reason": reason, "window_seconds": window_seconds},
    )
