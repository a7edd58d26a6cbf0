"""The resident's own door, after the one-time code: a short-lived signed token naming the resident.

``self_token_issue`` signs the resident's id with ``TimestampSigner`` (salt ``vaxops.self-booking``);
``self_token_resident`` gives the resident back for 30 minutes. The API reads it from the
``X-Self-Token`` header; the web pages may keep it in the session. The token carries no personal data
(only the id, signed), and it lets its holder book and cancel for that one person only.
"""

from datetime import timedelta

from django.core import signing

from vaxops.clinic.selectors import forecast_for
from vaxops.core import clock
from vaxops.core.actors import SystemActor
from vaxops.core.errors import PermissionDenied, ValidationFailed
from vaxops.registry.domain import mask_name
from vaxops.registry.models import Resident

from .errors import BookingErrorCode

SALT = "vaxops.self-booking"
TOKEN_MAX_AGE = timedelta(minutes=30)


class SelfTokenError(PermissionDenied):
    """The token was altered or names nobody: 403. Subclasses say "sign in again" (401)."""

    code = BookingErrorCode.SELF_TOKEN_INVALID
    status = 403


class SelfTokenMissing(SelfTokenError):
    code = BookingErrorCode.SELF_TOKEN_MISSING
    status = 401


class SelfTokenExpired(SelfTokenError):
    code = BookingErrorCode.SELF_TOKEN_EXPIRED
    status = 401


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def self_token_issue(resident: Resident) -> str:
    """A token for ``resident``, valid for ``TOKEN_MAX_AGE``; give it only after ``services.self_verify``."""
    return _signer().sign(str(resident.pk))


def self_token_resident(token: str | None) -> Resident:
    """The resident a token was issued for. Raises ``SelfTokenMissing`` / ``SelfTokenExpired`` (401) or
    ``SelfTokenError`` (403: altered, or the person no longer exists)."""
    token = (token or "").strip()
    if not token:
        raise SelfTokenMissing("请先验证身份（姓名、证件号码、手机验证码）后再预约")
    try:
        value = _signer().unsign(token, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise SelfTokenExpired("验证已超过30分钟失效，请重新获取验证码") from None
    except signing.BadSignature:
        raise SelfTokenError("身份凭证无效，请重新验证身份") from None
    if not value.isdigit():
        raise SelfTokenError("身份凭证无效，请重新验证身份")
    # priority_group: the booking rules read it (one query here rather than one later).
    person = Resident.objects.select_related("priority_group").filter(pk=int(value)).first()
    if person is None:
        raise SelfTokenError("身份凭证无效，请重新验证身份")
    return person


def self_actor(resident: Resident) -> SystemActor:
    """Who the audit log names for the resident's own bookings (no user row; ``self-booking:<id>``)."""
    return SystemActor(f"self-booking:{resident.pk}")


def self_summary(resident: Resident) -> dict:
    """What the resident sees about themselves after verifying: the name masked, the vaccination status
    and the next dose due (``None`` when nothing is due or the birth date is unknown)."""

    try:
        forecast = forecast_for(resident=resident, on=clock.today())
    except ValidationFailed:
        return {"name": mask_name(resident.name), "status": None, "status_zh": None, "next_dose": None}
    nd = forecast.next_dose
    next_dose = (
        None
        if nd is None
        else {
            "number": nd.number,
            "is_booster": nd.is_booster,
            "earliest": nd.earliest.isoformat(),
            "recommended": nd.recommended.isoformat(),
            "latest": nd.latest.isoformat() if nd.latest else None,
            "overdue": nd.overdue,
        }
    )
    return {
        "name": mask_name(resident.name),
        "status": str(forecast.status),
        "status_zh": forecast.status_zh,
        "next_dose": next_dose,
    }


# The appointment's QR (shown on the confirmation page, scanned at the registration desk): "VXA:" + a
# signed appointment id, valid until the end of the appointment's day plus a margin.
QR_SALT = "vaxops.appointment-qr"
QR_MAX_AGE = timedelta(days=60)


def appointment_qr_text(appointment) -> str:
    return "VXA:" + signing.TimestampSigner(salt=QR_SALT).sign(str(appointment.pk))


def appointment_from_qr(text: str):
    """The appointment a scanned QR names, or ``None`` when it was altered or is too old."""
    from .models import Appointment

    body = (text or "").strip()
    if body[:4].upper() != "VXA:":
        return None
    try:
        pk = signing.TimestampSigner(salt=QR_SALT).unsign(body[4:], max_age=QR_MAX_AGE)
    except signing.BadSignature:
        return None
    return Appointment.objects.select_related("resident", "slot__session").filter(pk=int(pk)).first()
