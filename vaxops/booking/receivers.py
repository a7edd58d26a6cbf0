"""booking's reactions to the vaccination record (clinic, below this app, sends; this app acts in the same
transaction) and to the sites' calendar."""

from django.dispatch import receiver

from vaxops.clinic.signals import dose_voided, resident_reach
from vaxops.core import clock
from vaxops.sites.selectors import staff_site_id

from .models import Appointment, AppointmentStatus


@receiver(dose_voided, dispatch_uid="booking.dose_voided")
def on_dose_voided(sender, dose, reason, at, **kwargs) -> None:
    """The visit no longer counts as done; the dose is due again and may be booked anew."""
    if dose.appointment_id:
        Appointment.objects.filter(pk=dose.appointment_id, status=AppointmentStatus.COMPLETED).update(
            status=AppointmentStatus.CANCELLED, changed_at=at, reason=f"接种记录作废：{reason}"[:200]
        )


@receiver(resident_reach, dispatch_uid="booking.resident_reach")
def on_resident_reach(sender, actor, resident_id, **kwargs) -> bool:
    """Site staff may record for anyone checked in today at their site (a site serves the whole county)."""
    site_id = staff_site_id(actor)
    return site_id is not None and (
        Appointment.objects.filter(
            resident_id=resident_id,
            status=AppointmentStatus.CHECKED_IN,
            slot__session__site_id=site_id,
            slot__session__day=clock.today(),
        ).exists()
    )
