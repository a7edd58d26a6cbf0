"""Keys and certificates are read-only in the admin: they change only through ``vaxops cert`` and the
certificate services, which audit every change (no personal data beyond the holder's link is listed)."""

from django.contrib import admin

from .models import SigningKey, VaccinationCertificate


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SigningKey)
class SigningKeyAdmin(_ReadOnly):
    list_display = ("kid", "subject", "active", "not_before", "not_after", "retired_at", "revoked_at")
    list_filter = ("active",)
    exclude = ("private_key_ref",)


@admin.register(VaccinationCertificate)
class VaccinationCertificateAdmin(_ReadOnly):
    list_display = ("uvci", "issued_at", "expires_at", "kid", "issued_via", "revoked_at")
    list_filter = ("issued_via",)
    search_fields = ("uvci",)
    exclude = ("payload", "document", "hc1", "doses")
    raw_id_fields = ("resident", "latest_dose", "issued_by", "signing_key")
