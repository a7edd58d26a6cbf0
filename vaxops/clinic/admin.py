"""Read-only: vaccination records change only through the audited services (pages, API)."""

from django.contrib import admin

from vaxops.core.admin import PersonalDataAdmin

from .models import Contraindication, Deferral, Dose, ScreeningRecord


class ReadOnlyAdmin(PersonalDataAdmin):
    raw_id_fields = ("resident",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(Dose)
class DoseAdmin(ReadOnlyAdmin):
    list_display = ("resident", "product_code", "given_on", "place", "external", "voided_at")
    list_filter = ("product_code", "external")
    date_hierarchy = "given_on"


@admin.register(ScreeningRecord)
class ScreeningRecordAdmin(ReadOnlyAdmin):
    list_display = ("resident", "at", "question_set_version", "outcome", "defer_until")
    list_filter = ("outcome", "question_set_version")


@admin.register(Deferral)
class DeferralAdmin(ReadOnlyAdmin):
    list_display = ("resident", "until", "condition", "created_at", "ended_at")


@admin.register(Contraindication)
class ContraindicationAdmin(ReadOnlyAdmin):
    list_display = ("resident", "products", "created_at", "lifted_at")
