"""Where the county planner registers sites, their desks and hours, staff and certificates (audited)."""

from django.contrib import admin

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


@admin.register(Site)
class SiteAdmin(AuditedModelAdmin):
    list_display = (
        "code",
        "name",
        "kind",
        "division",
        "hospital_name",
        "per_desk_per_hour",
        "walk_in_share",
        "active",
    )
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
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
