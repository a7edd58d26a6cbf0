"""The roles of DESIGN.md §1 as permission groups.

Permissions are Django permissions ("app_label.codename"); a role is a group
holding them. ``roles_sync`` (run after every migrate) keeps the groups true to
this table, so changing a role is a code review, not a click in the admin.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    code: str
    name_zh: str
    name_en: str
    scope: str  # "division", "employer" or "site"
    permissions: tuple[str, ...]


_READ = ("registry.view_resident",)
_WRITE = ("registry.add_resident", "registry.change_resident", "registry.import_residents")
_REVEAL = ("registry.reveal_identity", "registry.search_by_document")

ROLES: tuple[Role, ...] = (
    Role(
        "county_admin",
        "县疾控中心（免疫规划科）",
        "County CDC planner",
        "division",
        _READ + _WRITE + _REVEAL + ("audit.view_auditevent", "accounts.manage_users"),
    ),
    Role("township_worker", "乡镇（街道）工作人员", "Township worker", "division", _READ + _WRITE + _REVEAL),
    Role(
        "village_worker",
        "村（社区）工作人员",
        "Village / community worker",
        "division",
        _READ + _WRITE + _REVEAL,
    ),
    Role(
        "employer_contact",
        "单位联络员",
        "Employer contact",
        "employer",
        _READ + _WRITE + ("registry.reveal_identity",),
    ),
    Role("site_screening", "接种单位·预检", "Site: pre-screening", "site", _READ + _REVEAL),
    Role(
        "site_registration",
        "接种单位·登记",
        "Site: registration",
        "site",
        _READ + _REVEAL + ("registry.add_resident",),
    ),
    Role("site_vaccinator", "接种单位·接种", "Site: vaccinator", "site", _READ),
    Role("site_observation", "接种单位·留观", "Site: observation nurse", "site", _READ),
    Role("hospital", "定点救治医院", "Designated treatment hospital", "division", ()),
    Role("leader", "领导小组", "Leadership group", "division", ("registry.view_statistics",)),
    Role(
        "auditor",
        "市场监管局 / 审计",
        "Regulator / auditor",
        "division",
        ("audit.view_auditevent", "registry.view_resident", "registry.view_statistics"),
    ),
)

# Catalogue and clinic (issue 3): appended per role so that each app's permissions stay in one block.
_CATALOG_READ = (
    "catalog.view_product",
    "catalog.view_schedulepolicy",
    "catalog.view_phase",
    "catalog.view_questionset",
)
_CATALOG_EDIT = (
    "catalog.add_product",
    "catalog.change_product",
    *(
        f"catalog.{verb}_{model}"
        for model in (
            "traceprefix",
            "schedulepolicy",
            "policyinterval",
            "phase",
            "phasetarget",
            "questionset",
            "question",
        )
        for verb in ("view", "add", "change", "delete")
    ),
)
_CLINIC_EXTRA = {
    "county_admin": _CATALOG_READ
    + _CATALOG_EDIT
    + (
        "clinic.view_dose",
        "clinic.add_dose",
        "clinic.void_dose",
        "clinic.view_screeningrecord",
        "clinic.change_contraindication",
    ),
    "township_worker": _CATALOG_READ + ("clinic.view_dose", "clinic.add_dose"),
    "village_worker": _CATALOG_READ + ("clinic.view_dose", "clinic.add_dose"),
    "employer_contact": _CATALOG_READ,
    "site_screening": _CATALOG_READ
    + (
        "clinic.view_dose",
        "clinic.view_screeningrecord",
        "clinic.add_screeningrecord",
        "clinic.change_contraindication",
    ),
    "site_registration": _CATALOG_READ + ("clinic.view_dose", "clinic.add_dose"),
    "site_vaccinator": _CATALOG_READ + ("clinic.view_dose", "clinic.view_screeningrecord"),
    "site_observation": _CATALOG_READ + ("clinic.view_dose",),
    "auditor": _CATALOG_READ + ("clinic.view_dose",),
}
ROLES = tuple(
    Role(r.code, r.name_zh, r.name_en, r.scope, r.permissions + _CLINIC_EXTRA.get(r.code, ())) for r in ROLES
)

ROLE_BY_CODE = {r.code: r for r in ROLES}
ROLE_CHOICES = [(r.code, r.name_zh) for r in ROLES]

# Supply chain (issue 4): appended like the clinic block above.
_SUPPLY_MODELS = (
    "stockplace",
    "coldchainunit",
    "lot",
    "tracecode",
    "stockmovement",
    "stockbalance",
    "dispatch",
    "stockcount",
    "allocationrun",
)
# Township stores and sites receive dispatches, record wastage and count their own stock (scoped to their places).
_SUPPLY_LOCAL = (
    "supply.view_stockplace",
    "supply.view_lot",
    "supply.view_tracecode",
    "supply.view_stockbalance",
    "supply.view_dispatch",
    "supply.change_dispatch",
    "supply.add_stockmovement",
    "supply.add_stockcount",
    "supply.view_stockcount",
)
_SUPPLY_EXTRA = {
    "county_admin": tuple(
        f"supply.{verb}_{model}" for model in _SUPPLY_MODELS for verb in ("view", "add", "change")
    ),
    "township_worker": _SUPPLY_LOCAL + ("supply.add_dispatch",),
    "site_registration": _SUPPLY_LOCAL,
    "site_vaccinator": ("supply.view_lot", "supply.view_tracecode"),
    "auditor": tuple(f"supply.view_{model}" for model in _SUPPLY_MODELS),
    "leader": ("supply.view_stockplace", "supply.view_stockbalance", "supply.view_allocationrun"),
}
ROLES = tuple(
    Role(r.code, r.name_zh, r.name_en, r.scope, r.permissions + _SUPPLY_EXTRA.get(r.code, ())) for r in ROLES
)
ROLE_BY_CODE = {r.code: r for r in ROLES}
ROLE_CHOICES = [(r.code, r.name_zh) for r in ROLES]

# Sites and booking (issue 5): appended like the blocks above.
_BOOK = (
    "booking.view_appointment",
    "booking.add_appointment",
    "booking.change_appointment",
    "booking.view_slot",
    "sites.view_site",
    "sites.view_session",
)
_SITE_RUN = (
    "sites.view_site",
    "sites.view_session",
    "sites.change_session",
    "sites.add_readinesscheck",
    "sites.add_assignment",
    "sites.view_staffmember",
    "booking.view_appointment",
    "booking.view_slot",
    "booking.change_appointment",
)
_SITES_EXTRA = {
    "county_admin": _BOOK
    + tuple(
        f"sites.{verb}_{model}"
        for model in (
            "site",
            "desk",
            "openinghours",
            "hoursexception",
            "staffmember",
            "certificate",
            "session",
            "readinesscheck",
            "assignment",
        )
        for verb in ("view", "add", "change")
    )
    + (
        "booking.add_slotquota",
        "booking.view_waitlistentry",
        "booking.add_waitlistentry",
        "notify.view_notification",
    ),
    "township_worker": _BOOK + ("booking.add_waitlistentry", "booking.add_slotquota", "sites.add_session"),
    "village_worker": _BOOK + ("booking.add_waitlistentry",),
    "employer_contact": _BOOK + ("booking.add_waitlistentry",),
    "site_registration": _SITE_RUN + ("booking.add_appointment",),
    "site_screening": ("sites.view_site", "sites.view_session", "booking.view_appointment"),
    "site_vaccinator": ("sites.view_site", "sites.view_session", "booking.view_appointment"),
    "site_observation": ("sites.view_site", "sites.view_session", "booking.view_appointment"),
    "auditor": (
        "sites.view_site",
        "sites.view_session",
        "booking.view_appointment",
        "notify.view_notification",
    ),
    "leader": ("sites.view_site", "sites.view_session"),
}
ROLES = tuple(
    Role(r.code, r.name_zh, r.name_en, r.scope, r.permissions + _SITES_EXTRA.get(r.code, ())) for r in ROLES
)
ROLE_BY_CODE = {r.code: r for r in ROLES}
ROLE_CHOICES = [(r.code, r.name_zh) for r in ROLES]

# The vaccination desk (issue 6): appended like the blocks above.
_DESK_EXTRA = {
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
    "site_registration": ("clinic.add_consent", "clinic.view_consent", "booking.change_appointment"),
    "site_screening": ("clinic.add_consent", "clinic.view_consent", "clinic.view_consenttext"),
    "site_vaccinator": ("clinic.administer_dose", "clinic.view_consent", "clinic.view_observation"),
    "site_observation": (
        "clinic.view_observation",
        "clinic.change_observation",
        "clinic.add_reactionnote",
        "clinic.view_reactionnote",
    ),
    "hospital": ("clinic.view_reactionnote",),
}
ROLES = tuple(
    Role(r.code, r.name_zh, r.name_en, r.scope, r.permissions + _DESK_EXTRA.get(r.code, ())) for r in ROLES
)
ROLE_BY_CODE = {r.code: r for r in ROLES}
ROLE_CHOICES = [(r.code, r.name_zh) for r in ROLES]

# Certificates (issue 7): who issues (the desk and the CDC) and who revokes (the CDC).
_CERTS_EXTRA = {
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
ROLES = tuple(
    Role(r.code, r.name_zh, r.name_en, r.scope, r.permissions + _CERTS_EXTRA.get(r.code, ())) for r in ROLES
)
ROLE_BY_CODE = {r.code: r for r in ROLES}
ROLE_CHOICES = [(r.code, r.name_zh) for r in ROLES]

# Record links (issue 11): the private link to a person's record is shown only to those who hand it to the
# person — the registration desk, the observation desk (the person waits there 30 minutes) and the county CDC.
_RECORD_LINK_EXTRA = {
    "county_admin": ("clinic.share_record_link",),
    "site_registration": ("clinic.share_record_link",),
    "site_observation": ("clinic.share_record_link",),
}
ROLES = tuple(
    Role(r.code, r.name_zh, r.name_en, r.scope, r.permissions + _RECORD_LINK_EXTRA.get(r.code, ()))
    for r in ROLES
)
ROLE_BY_CODE = {r.code: r for r in ROLES}
ROLE_CHOICES = [(r.code, r.name_zh) for r in ROLES]
