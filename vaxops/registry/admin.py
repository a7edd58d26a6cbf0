from django.contrib import admin

from vaxops.core.admin import AuditedModelAdmin, PersonalDataAdmin

from . import domain
from .models import Employer, ImportJob, PriorityGroup, Resident, Sector, VillageGroup


@admin.register(PriorityGroup)
class PriorityGroupAdmin(AuditedModelAdmin):
    list_display = ("code", "name_zh", "name_en", "phase", "sort")
    list_editable = ("phase", "sort")


@admin.register(Sector)
class SectorAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "division")
    search_fields = ("code", "name")
    raw_id_fields = ("division",)


@admin.register(Employer)
class EmployerAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "division", "priority_group", "sector")
    list_filter = ("sector",)
    search_fields = ("code", "name")
    raw_id_fields = ("division",)


@admin.register(VillageGroup)
class VillageGroupAdmin(AuditedModelAdmin):
    list_display = ("name", "kind", "village", "parent", "head_name", "head")
    list_filter = ("kind",)
    search_fields = ("name", "head_name", "village__name")
    raw_id_fields = ("village", "parent", "head")


@admin.register(Resident)
class ResidentAdmin(PersonalDataAdmin):
    """Read-only here: changes go through the audited services (web pages, API, import)."""

    list_display = ("name", "masked_id", "village_code", "priority_group", "willingness")
    list_filter = ("willingness", "priority_group")
    exclude = ("id_number", "phone")
    readonly_fields = ("masked_id",)

    @admin.display(description="证件号码")
    def masked_id(self, obj):
        return domain.mask_id(obj.id_number)


@admin.register(ImportJob)
class ImportJobAdmin(PersonalDataAdmin):
    list_display = ("filename", "created_by", "created_at", "status", "read", "rejected")
    readonly_fields = [f.name for f in ImportJob._meta.fields]
