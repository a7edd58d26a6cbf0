"""Where the county planner registers sites, their desks and hours, staff and certificates (audited)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from vaxops.core.admin import AuditedModelAdmin

from .models import Certificate, Desk, HoursException, OpeningHours, Site, StaffMember


class DeskInline(admin.TabularInline):
    model = Desk
    extra = 0


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class HoursExceptionInline(admin.TabularInline):
    model = HoursException
    extra = 0


class QualifiedFilter(admin.SimpleListFilter):
    """Sites with or without their 接种单位资格 (only a qualified site may have sessions planned)."""

    title = _("接种单位资格")
    parameter_name = "qualified"

    def lookups(self, request, model_admin):
        return [("yes", _("已登记资格")), ("no", _("未登记资格"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(qualification_number="")
        if self.value() == "no":
            return queryset.filter(qualification_number="")
        return queryset


@admin.register(Site)
class SiteAdmin(AuditedModelAdmin):
    list_display = (
        "code",
        "name",
        "kind",
        "division",
        "hospital_name",
        "qualification_number",
        "qualification_date",
        "planned_opening",
        "per_desk_per_hour",
        "walk_in_share",
        "active",
    )
    list_filter = ("kind", "active", QualifiedFilter, "qualification_date", "planned_opening")
    search_fields = ("code", "name", "qualification_number")
    autocomplete_fields = ("division",)
    inlines = [DeskInline, OpeningHoursInline, HoursExceptionInline]


class CertificateInline(admin.TabularInline):
    model = Certificate
    extra = 0


@admin.register(StaffMember)
class StaffMemberAdmin(AuditedModelAdmin):
    list_display = ("name", "site", "roles", "active")
    list_filter = ("site", "active")
    search_fields = ("name",)
    inlines = [CertificateInline]
