"""Who may read the messages sent (assembled into groups by ``vaxops.accounts.roles``)."""

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": ("notify.view_notification",),
    "auditor": ("notify.view_notification",),
}
