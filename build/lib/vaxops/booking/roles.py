"""What each role may do with appointments, quotas and waiting lists (assembled into groups by
``vaxops.accounts.roles``)."""

_BOOK = (
    "booking.view_appointment",
    "booking.add_appointment",
    "booking.change_appointment",
    "booking.view_slot",
)

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": _BOOK
    + ("booking.add_slotquota", "booking.view_waitlistentry", "booking.add_waitlistentry"),
    "township_worker": _BOOK + ("booking.add_waitlistentry", "booking.add_slotquota"),
    "village_worker": _BOOK + ("booking.add_waitlistentry",),
    "employer_contact": _BOOK + ("booking.add_waitlistentry",),
    # The registration desk checks people in and books walk-ins.
    "site_registration": _BOOK,
    "site_screening": ("booking.view_appointment",),
    "site_vaccinator": ("booking.view_appointment",),
    "site_observation": ("booking.view_appointment",),
    "auditor": ("booking.view_appointment",),
}
