from django.contrib import admin

from vaxops.core.admin import AuditedModelAdmin

from .models import Division


@admin.register(Division)
class DivisionAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)
