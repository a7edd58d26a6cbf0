from django.contrib import admin

from .models import ImmunizationStatus


@admin.register(ImmunizationStatus)
class ImmunizationStatusAdmin(admin.ModelAdmin):
    list_display = ("resident_id", "village_code", "status", "valid_doses", "next_number", "next_earliest", "next_latest")
    list_filter = ("status",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
