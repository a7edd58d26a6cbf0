"""booking's reactions to the vaccination record (clinic, below this app, sends; this app acts in the same
transaction) and to the sites' calendar."""

import datetime as dt
from decimal import Decimal

from django.dispatch import receiver
from django.utils import timezone

from vaxops.clinic.signals import dose_voided, resident_reach
from vaxops.core import clock
from vaxops.sites import domain as sites_domain
from vaxops.sites.selectors import staff_site_id
from vaxops.sites.signals import session_planned

from .models import Appointment, AppointmentStatus, Slot


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


@receiver(session_planned, dispatch_uid="booking.session_planned")
def on_session_planned(sender, session, slots, **kwargs) -> None:
    """The session's slots, each split into walk-in and open places by the site's walk-in share."""
    tz = timezone.get_current_timezone()
    share = Decimal(str(session.site.walk_in_share))
    rows = []
    for spec in slots:
        split = sites_domain.split_capacity(spec.capacity, walk_in_share=share)
        rows.append(
            Slot(
                session=session,
                start=dt.datetime.combine(session.day, spec.start, tz),
                end=dt.datetime.combine(session.day, spec.end, tz),
                capacity=spec.capacity,
                walk_in=split.walk_in,
                open_capacity=split.open,
            )
        )
    Slot.objects.bulk_create(rows)
