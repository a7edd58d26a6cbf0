from django.contrib import admin

from vaxops.core.admin import AuditedModelAdmin

from .models import Equipment, Sensor


class SensorInline(admin.TabularInline):
    model = Sensor
    extra = 0


@admin.register(Equipment)
class EquipmentAdmin(AuditedModelAdmin):
    list_display = ("code", "unit", "make", "model_name", "serial", "status", "year_in_service")
    list_filter = ("status",)
    search_fields = ("code", "serial", "make", "model_name")
    inlines = [SensorInline]
