"""Stable error codes of sites: sites, desks, sessions, quotas, readiness and staff.

A code names one kind of refusal for programs (the API's ``code``); the message beside it is for
people and may be reworded or translated. Values never change once clients may have seen them."""

from enum import StrEnum


class SitesErrorCode(StrEnum):
    ASSIGNMENT_INCOMPLETE = "assignment_incomplete"
    CERTIFICATE_INVALID = "certificate_invalid"
    DESK_NOT_FOUND = "desk_not_found"
    DESK_OTHER_SITE = "desk_other_site"
    QUOTA_CONFLICT = "quota_conflict"
    QUOTA_EXCEEDS_FREE = "quota_exceeds_free"
    QUOTA_KEY_INVALID = "quota_key_invalid"
    QUOTA_PLACES_INVALID = "quota_places_invalid"
    READINESS_ACTOR_REQUIRED = "readiness_actor_required"
    READINESS_ALREADY_CONFIRMED = "readiness_already_confirmed"
    READINESS_ITEM_UNKNOWN = "readiness_item_unknown"
    SESSION_CLOSED = "session_closed"
    SESSION_EXISTS = "session_exists"
    SESSION_IN_PAST = "session_in_past"
    SESSION_NOT_FOUND = "session_not_found"
    SESSION_NOT_PLANNED = "session_not_planned"
    SESSION_NOT_READY = "session_not_ready"
    SESSION_REQUIRED = "session_required"
    SITE_CLOSED_ON_DAY = "site_closed_on_day"
    SITE_HOURS_INVALID = "site_hours_invalid"
    SITE_INACTIVE = "site_inactive"
    SITE_NOT_FOUND = "site_not_found"
    SITE_NO_DESKS = "site_no_desks"
    SITE_NOT_YET_OPEN = "site_not_yet_open"
    SITE_UNQUALIFIED = "site_unqualified"
    STAFF_ALREADY_ASSIGNED = "staff_already_assigned"
    STAFF_NOT_FOUND = "staff_not_found"
    STAFF_ROLE_MISSING = "staff_role_missing"
    STAFF_UNQUALIFIED = "staff_unqualified"
    VENUE_INVALID = "venue_invalid"
