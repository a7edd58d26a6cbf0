"""Read-only: vaccination records change only through the audited services (pages, API)."""

from django.contrib import admin

from vaxops.core.admin import AuditedModelAdmin, PersonalDataAdmin

from .models import (
    Consent,
    ConsentText,
    Contraindication,
    Deferral,
    Dose,
    Observation,
    ReactionNote,
    ScreeningRecord,
)


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


@admin.register(ConsentText)
class ConsentTextAdmin(AuditedModelAdmin):
    """The county revises a consent text by adding a new version with a later effective date."""

    list_display = ("product_code", "version", "effective_from", "title")
    list_filter = ("product_code",)

    def get_readonly_fields(self, request, obj=None):
        # A signed version is kept as it was signed: edit by adding a version, never in place.
        return ("product_code", "version", "effective_from", "title", "text") if obj else ()


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ("resident", "signed_on", "text", "signer_relation", "refused")
    exclude = ("signature",)


@admin.register(Observation)
class ObservationAdmin(PersonalDataAdmin):
    list_display = ("dose", "site", "started_at", "released_at")
    raw_id_fields = ("dose",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(ReactionNote)
class ReactionNoteAdmin(PersonalDataAdmin):
    list_display = ("observation", "at", "severity", "transferred")
    list_filter = ("severity", "transferred")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]
