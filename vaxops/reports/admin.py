from django.contrib import admin

from vaxops.core.admin import AuditedModelAdmin

from .models import GroupPopulation, Population


@admin.register(Population)
class PopulationAdmin(AuditedModelAdmin):
    list_display = ("division", "year", "kind", "total", "age_18_plus", "age_60_plus", "updated_at")
    list_filter = ("year", "kind")
    search_fields = ("division__code", "division__name")
    raw_id_fields = ("division",)


@admin.register(GroupPopulation)
class GroupPopulationAdmin(AuditedModelAdmin):
    list_display = ("division", "year", "group", "total", "updated_at")
    list_filter = ("year", "group")
    search_fields = ("division__code", "division__name", "group__code", "group__name_zh")
    raw_id_fields = ("division",)
