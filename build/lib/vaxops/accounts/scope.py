"""What a user may see. Every selector that returns personal data goes through here."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from vaxops.core.errors import CoreErrorCode, PermissionDenied


@dataclass(frozen=True)
class Scope:
    """Either a range of 12-digit division codes, or one employer, or everything (``unrestricted``)."""

    code_low: str | None = None
    code_high: str | None = None
    employer_id: int | None = None
    unrestricted: bool = False
    label: str = ""

    def residents_q(self, *, code_field: str = "village_code", employer_field: str = "employer_id") -> Q:
        if self.unrestricted:
            return Q()
        if self.employer_id is not None:
            return Q(**{employer_field: self.employer_id})
        if self.code_low is None:
            return Q(pk__in=[])
        return Q(**{f"{code_field}__gte": self.code_low, f"{code_field}__lte": self.code_high})

    def filter(self, qs: QuerySet, **kwargs) -> QuerySet:
        return qs.filter(self.residents_q(**kwargs))

    def covers_code(self, code: str) -> bool:
        if self.unrestricted:
            return True
        if self.code_low is None:
            return False
        return self.code_low <= code <= self.code_high


NOTHING = Scope(label="无")


def scope_for(user) -> Scope:
    """The scope of a signed-in user. A user with neither division nor employer sees nothing,

    except a superuser, who sees everything (used for set-up, not for daily work).
    """
    if user is None or not user.is_authenticated:
        return NOTHING
    if user.is_superuser:
        return Scope(unrestricted=True, label="全部")
    if user.employer_id:
        return Scope(employer_id=user.employer_id, label=str(user.employer))
    if user.division_id:
        d = user.division
        low, high = d.code_range
        return Scope(code_low=low, code_high=high, label=d.name)
    return NOTHING


def require(user, perm: str) -> None:
    """Raise PermissionDenied (with a Chinese message) unless ``user`` holds ``perm``."""
    if not user.has_perm(perm):
        raise PermissionDenied(_("您的角色无权执行此操作"), code=CoreErrorCode.ROLE_FORBIDDEN)
