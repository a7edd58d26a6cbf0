"""What each role may do with a person's vaccination record and at the vaccination desk (assembled into
groups by ``vaxops.accounts.roles``)."""

# The record: doses (also external ones), voiding, pre-screening and the standing contraindications.
_RECORD = {
    "county_admin": (
        "clinic.view_dose",
        "clinic.add_dose",
        "clinic.void_dose",
        "clinic.view_screeningrecord",
        "clinic.change_contraindication",
    ),
    "township_worker": ("clinic.view_dose", "clinic.add_dose"),
    "village_worker": ("clinic.view_dose", "clinic.add_dose"),
    "site_screening": (
        "clinic.view_dose",
        "clinic.view_screeningrecord",
        "clinic.add_screeningrecord",
        "clinic.change_contraindication",
    ),
    "site_registration": ("clinic.view_dose", "clinic.add_dose"),
    "site_vaccinator": ("clinic.view_dose", "clinic.view_screeningrecord"),
    "site_observation": ("clinic.view_dose",),
    "auditor": ("clinic.view_dose",),
}
# The desk: consent, giving a dose from a scanned code, observation and reaction notes (the designated
# hospital reads the notes of the people it treats).
_DESK = {
    "county_admin": (
        "clinic.administer_dose",
        "clinic.view_consent",
        "clinic.add_consent",
        "clinic.view_observation",
        "clinic.change_observation",
        "clinic.add_reactionnote",
        "clinic.view_reactionnote",
        "clinic.view_consenttext",
        "clinic.add_consenttext",
        "clinic.change_consenttext",
    ),
    "site_registration": ("clinic.add_consent", "clinic.view_consent"),
    "site_screening": ("clinic.add_consent", "clinic.view_consent", "clinic.view_consenttext"),
    # The vaccinator re-takes consent at the station for the product in hand (a scan of another product).
    "site_vaccinator": (
        "clinic.administer_dose",
        "clinic.view_consent",
        "clinic.add_consent",
        "clinic.view_consenttext",
        "clinic.view_observation",
    ),
    "site_observation": (
        "clinic.view_observation",
        "clinic.change_observation",
        "clinic.add_reactionnote",
        "clinic.view_reactionnote",
    ),
    "hospital": ("clinic.view_reactionnote",),
}
# The private link to a person's record is shown only to those who hand it to the person — the registration
# desk, the observation desk (the person waits there 30 minutes) and the county CDC.
_RECORD_LINK = {
    "county_admin": ("clinic.share_record_link",),
    "site_registration": ("clinic.share_record_link",),
    "site_observation": ("clinic.share_record_link",),
}

GRANTS: dict[str, tuple[str, ...]] = {
    code: _RECORD.get(code, ()) + _DESK.get(code, ()) + _RECORD_LINK.get(code, ())
    for code in {**_RECORD, **_DESK, **_RECORD_LINK}
}
