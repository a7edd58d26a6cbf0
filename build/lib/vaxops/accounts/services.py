import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxops.audit.services import audit_record
from vaxops.core import clock
from vaxops.core.errors import VaxOpsError

from .errors import AccountsErrorCode
from .models import ApiToken, User
from .roles import ROLE_BY_CODE, ROLES


def roles_sync() -> None:
    """Create or update one group per role with exactly the role's permissions."""
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role.code)
        perms = []
        for dotted in role.permissions:
            app_label, codename = dotted.split(".")
            perms.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(perms)


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    actor=None,
    full_name: str = "",
    division=None,
    employer=None,
    site_name: str = "",
    is_superuser: bool = False,
) -> User:
    """Create a user in one role with its scope; the role's group is joined and the event audited."""
    if role and role not in ROLE_BY_CODE:
        raise ValueError(f"未知角色：{role}")
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        division=division,
        employer=employer,
        site_name=site_name,
        is_superuser=is_superuser,
        # The county planner edits the catalogue and policies in the admin.
        is_staff=is_superuser or role == "county_admin",
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    if role:
        user.groups.add(Group.objects.get(name=role))
    audit_record(
        actor=actor,
        action="user.create",
        obj=user,
        new={
            "username": username,
            "role": role,
            "division": division.code if division else None,
            "employer": employer.code if employer else None,
        },
    )
    return user


@transaction.atomic
def api_token_create(*, user: User, name: str, actor=None, days: int | None = None) -> tuple[ApiToken, str]:
    """Issue a token valid for ``days`` (default ``settings.VAXOPS_API_TOKEN_DAYS``, 90); returns the row and
    the raw token, which is not stored and cannot be shown again."""
    days = getattr(settings, "VAXOPS_API_TOKEN_DAYS", 90) if days is None else days
    if not 1 <= days <= 3660:
        raise VaxOpsError(
            _("令牌有效天数须在1至3660天之间"), code=AccountsErrorCode.TOKEN_DAYS_INVALID, field="days"
        )
    raw = ApiToken.new_raw()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[3:11],
        digest=ApiToken.digest_of(raw),
        expires_at=clock.now() + timedelta(days=days),
    )
    audit_record(
        actor=actor or user,
        action="api_token.create",
        obj=token,
        new={"user": user.username, "name": name, "expires_at": token.expires_at.isoformat()},
    )
    return token, raw


class TokenExpired(VaxOpsError):
    """A known, unrevoked token past its expiry: the API answers 401 with this message."""

    code = AccountsErrorCode.TOKEN_EXPIRED


def _refuse_expired(expires_at) -> None:
    if expires_at is not None and clock.now() >= expires_at:
        raise TokenExpired(
            f"API 令牌已于{timezone.localtime(expires_at):%Y-%m-%d %H:%M}过期，请联系管理员重新创建"
            f"（vaxops token-create）/ API token expired"
        )


_token_users: dict[str, tuple[float, User]] = {}


def api_token_authenticate(raw: str) -> User | None:
    """The active user owning this token, or None (unknown, revoked, or user inactive); ``TokenExpired`` for a
    token past its ``expires_at``.

    A process keeps a found user (with their permissions and division, once read) for
    ``settings.VAXOPS_TOKEN_CACHE_SECONDS`` (default 10), so a machine client's burst costs no
    authentication queries; a revoked token or deactivated user is refused at most that long after.
    """
    ttl = getattr(settings, "VAXOPS_TOKEN_CACHE_SECONDS", 10)
    digest = ApiToken.digest_of(raw)
    if ttl:
        hit = _token_users.get(digest)
        if hit is not None and time.monotonic() - hit[0] < ttl:
            _refuse_expired(hit[2])
            return hit[1]
    found = _token_user(raw)
    if found is None:
        return None
    user, expires_at = found
    if ttl:
        if len(_token_users) > 10_000:
            _token_users.clear()
        user.get_all_permissions()  # fill the permission cache once
        _ = user.division
        _token_users[digest] = (time.monotonic(), user, expires_at)
    return user


def _token_user(raw: str):
    try:
        token = ApiToken.objects.select_related("user").get(
            digest=ApiToken.digest_of(raw), revoked_at__isnull=True
        )
    except ApiToken.DoesNotExist:
        return None
    if not token.user.is_active:
        return None
    _refuse_expired(token.expires_at)
    now = clock.now()
    # One write a minute at most: a busy client should not turn every read into a write.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token.expires_at


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor) -> None:
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=clock.now())
    audit_record(actor=actor, action="api_token.revoke", obj=token)
