from django.contrib import admin

from vaxops.core.admin import PersonalDataAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(PersonalDataAdmin):
    list_display = ("at", "actor_label", "ip", "action", "object_type", "object_id", "purpose")
    list_filter = ("action",)
    search_fields = ("actor_label", "object_id", "purpose")
