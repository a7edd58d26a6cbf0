"""The actor for work started from the command line, where nobody is signed in."""

import getpass

from django.utils.translation import gettext as _

from .errors import CoreErrorCode


class SystemActor:
    """Acts with full scope; audited as ``cli:<os user>`` with no user row."""

    is_authenticated = True
    is_superuser = True
    is_active = True
    pk = None
    id = None
    employer_id = None
    division_id = None

    def __init__(self, label: str | None = None) -> None:
        try:
            who = getpass.getuser()
        except Exception:  # no passwd entry in some containers
            who = "unknown"
        self.username = label or f"cli:{who}"

    def has_perm(self, perm: str) -> bool:
        return True

    def __str__(self) -> str:
        return self.username


def cli_actor(username: str | None):
    """The named user (their scope and permissions apply), or the system actor."""
    if not username:
        return SystemActor()
    from django.contrib.auth import get_user_model

    from vaxops.core.errors import NotFound

    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise NotFound(
            _("用户不存在：%(username)s") % {"username": username}, code=CoreErrorCode.USER_NOT_FOUND
        ) from None
