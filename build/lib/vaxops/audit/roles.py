"""Who may read the audit log (assembled into groups by ``vaxops.accounts.roles``)."""

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": ("audit.view_auditevent",),
    "auditor": ("audit.view_auditevent",),
}
