"""Who issues certificates (the desk and the CDC) and who revokes them (the CDC) (assembled into groups by
``vaxops.accounts.roles``)."""

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": (
        "certs.issue_certificate",
        "certs.revoke_certificate",
        "certs.view_vaccinationcertificate",
    ),
    "site_registration": ("certs.issue_certificate",),
    "site_vaccinator": ("certs.issue_certificate",),
    "township_worker": ("certs.issue_certificate",),
    "village_worker": ("certs.issue_certificate",),
    "auditor": ("certs.view_vaccinationcertificate",),
}
