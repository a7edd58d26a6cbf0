from django.contrib import admin

from vaxops.core.admin import AuditedModelAdmin

from .models import Population


@admin.register(Population)
class PopulationAdmin(AuditedModelAdmin):
    list_display = ("division", "year", "kind", "total", "age_18_plus", "age_60_plus", "updated_at")
    list_filter = ("year", "kind")
    search_fields = ("division__code", "division__name")
    raw_id_fields = ("division",)
