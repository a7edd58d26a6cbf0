from django.contrib import admin

from .models import RateCounter
from .signals import admin_changed


class PersonalDataAdmin(admin.ModelAdmin):
    """Admin pages over personal or health data: superusers only, read-only.

    The admin cannot apply a user's jurisdiction scope, so planners (staff for
    the catalogue) must not reach these pages at all; their scoped views are the
    application's own pages.
    """

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _plain(value):
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class AuditedModelAdmin(admin.ModelAdmin):
    """Every add, change and delete made in the admin writes an audit event with the stored values
    (``core.signals.admin_changed``, recorded by the audit app).

    The admin saves inside its own transaction; the event is written in the same one.
    Fields named in ``audit_exclude`` (password hashes…) are left out.
    """

    audit_exclude: tuple[str, ...] = ("password", "digest")

    def _snapshot(self, obj) -> dict:
        return {
            f.attname: _plain(getattr(obj, f.attname))
            for f in obj._meta.concrete_fields
            if f.attname not in self.audit_exclude
        }

    def _audit(self, request, obj, action: str, *, old=None, new=None) -> None:
        admin_changed.send(sender=type(obj), request=request, obj=obj, action=action, old=old, new=new)

    def log_addition(self, request, obj, message):
        self._audit(request, obj, "add", new=self._snapshot(obj))
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, obj, "change", new=self._snapshot(obj))
        return super().log_change(request, obj, message)

    def save_formset(self, request, form, formset, change):
        """Inline rows (desks, hours, cold-chain units, certificates…) are audited like the parent."""
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            self._audit(request, obj, "delete", old=self._snapshot(obj))
            obj.delete()
        for obj in instances:
            is_new = obj.pk is None
            obj.save()
            self._audit(request, obj, "add" if is_new else "change", new=self._snapshot(obj))
        formset.save_m2m()

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, obj, "delete", old=self._snapshot(obj))
        return super().log_deletions(request, queryset)


@admin.register(RateCounter)
class RateCounterAdmin(PersonalDataAdmin):
    """How often each client address (or hashed ID number / phone) used a door that needs no login, and how
    often it was refused (scope ``refused``): the counts behind the one audit event per client and window."""

    list_display = ("scope", "key", "window_start", "hits")
    list_filter = ("scope",)
    search_fields = ("key",)
    ordering = ("-window_start", "-hits")
