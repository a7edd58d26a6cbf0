"""Where the county registers hospitals and their users, the expert panel, the watched outcomes and their
background rates (editable data, audited). Cases are superuser-only and read-only (health data)."""

from django.contrib import admin

from vaxops.core.admin import AuditedModelAdmin, PersonalDataAdmin

from .models import AdverseEventReport, BackgroundRate, Expert, Hospital, Outcome


@admin.register(Hospital)
class HospitalAdmin(AuditedModelAdmin):
    list_display = ("name", "level", "designated_severe", "phone", "beds_held", "reporter_name", "active")
    filter_horizontal = ("staff", "rescue_staff")


@admin.register(Expert)
class ExpertAdmin(AuditedModelAdmin):
    list_display = ("name", "title", "specialty", "employer", "active")


class BackgroundRateInline(admin.TabularInline):
    model = BackgroundRate
    extra = 0


@admin.register(Outcome)
class OutcomeAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "sign_group")
    inlines = [BackgroundRateInline]


@admin.register(AdverseEventReport)
class AdverseEventReportAdmin(PersonalDataAdmin):
    list_display = ("number", "product_code", "status", "serious", "reported_at")
