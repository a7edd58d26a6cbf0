from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from vaxops.core.admin import AuditedModelAdmin

from .models import ApiToken, User


@admin.register(User)
class UserAdmin(AuditedModelAdmin, BaseUserAdmin):
    list_display = ("username", "full_name", "role", "division", "employer", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("VaxOps", {"fields": ("full_name", "role", "division", "employer", "site_name")}),
    )
    raw_id_fields = ("division", "employer")


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")
