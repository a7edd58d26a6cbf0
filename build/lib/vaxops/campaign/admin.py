from django.contrib import admin

from vaxops.core.admin import PersonalDataAdmin

from .models import ImmunizationStatus


@admin.register(ImmunizationStatus)
class ImmunizationStatusAdmin(PersonalDataAdmin):
    list_display = (
        "resident_id",
        "village_code",
        "status",
        "valid_doses",
        "next_number",
        "next_earliest",
        "next_latest",
    )
    list_filter = ("status",)
