"""Where the county planner edits the catalogue, schedules, phases and questions, without a code change.

A new schedule version is added with "保存为新的" (save as new) on the version it replaces, after
changing its effective date: the replaced version is closed the day before. Every edit is audited.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from vaxops.core import clock
from vaxops.core.errors import ValidationFailed

from . import services
from .errors import CatalogErrorCode
from .models import (
    Phase,
    PhaseTarget,
    PolicyInterval,
    Product,
    Question,
    QuestionSet,
    SchedulePolicy,
    TracePrefix,
)
from .selectors import catalogue_build


class AuditedAdmin(admin.ModelAdmin):
    """Writes an audit event (with the stored values) for every add, change and delete."""

    def log_addition(self, request, obj, message):
        services.catalogue_change_audit(actor=request.user, action="add", obj=obj)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        services.catalogue_change_audit(actor=request.user, action="change", obj=obj)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            services.catalogue_change_audit(actor=request.user, action="delete", obj=obj)
        return super().log_deletions(request, queryset)

    def changeform_view(self, request, *args, **kwargs):
        # The whole-catalogue check raises inside the admin's transaction (so the
        # save is rolled back); show its reason on the form page, not a 500.
        try:
            return super().changeform_view(request, *args, **kwargs)
        except ValidationFailed as e:
            self.message_user(request, e.message, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class TracePrefixInline(admin.TabularInline):
    model = TracePrefix
    extra = 0


@admin.register(Product)
class ProductAdmin(AuditedAdmin):
    """Products are never deleted: dose records keep their product code for ever."""

    list_display = ("code", "name_zh", "manufacturer_zh", "platform", "dcc_mp", "min_age_years", "sort")
    list_filter = ("platform",)
    search_fields = ("code", "name_zh", "manufacturer_zh")
    inlines = [TracePrefixInline]
    fieldsets = (
        (None, {"fields": ("code", "name_zh", "name_en", "platform", "sort")}),
        (_("企业"), {"fields": ("manufacturer_zh", "manufacturer_en", "mah")}),
        (_("EU DCC 编码"), {"fields": ("dcc_mp", "dcc_ma", "dcc_vp")}),
        (
            _("剂型与接种"),
            {
                "fields": (
                    "presentation",
                    "doses_per_vial",
                    "open_vial_discard_hours",
                    "dose_volume_ml",
                    "route",
                    "site",
                )
            },
        ),
        (
            _("储存与适用年龄"),
            {"fields": ("storage_min_c", "storage_max_c", "min_age_years", "max_age_years")},
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        _check_catalogue()


def _product_choices() -> list[tuple[str, str]]:
    return [
        (p.code, f"{p.code}（{p.get_platform_display()}）") for p in Product.objects.order_by("sort", "code")
    ]


class SchedulePolicyForm(forms.ModelForm):
    completion_products = forms.MultipleChoiceField(
        label=_("可续种品种"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("同一技术路线、可替换完成全程接种的品种（含本品种）"),
    )
    booster_products = forms.MultipleChoiceField(
        label=_("加强免疫可用品种"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("同源及序贯加强可用品种"),
    )

    class Meta:
        model = SchedulePolicy
        fields = (
            "product",
            "effective_from",
            "effective_to",
            "note",
            "primary_doses",
            "completion_products",
            "grace_days",
            "min_gap_other_vaccines_days",
            "booster_min_days",
            "booster_recommended_days",
            "booster_products",
            "booster_min_age_years",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = _product_choices()
        self.fields["completion_products"].choices = choices
        self.fields["booster_products"].choices = choices


class IntervalFormSet(BaseInlineFormSet):
    """A schedule of N primary doses has exactly the intervals before doses 2…N."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        numbers = sorted(
            f.cleaned_data["dose_number"]
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        )
        doses = self.instance.primary_doses or 1
        expected = list(range(2, doses + 1))
        if numbers != expected:
            wanted = "、".join(f"第{n}剂" for n in expected) or "无"
            raise ValidationError(
                _("基础免疫%(doses)s剂，须且只须填写以下剂次的间隔：%(wanted)s")
                % {"doses": doses, "wanted": wanted}
            )


class PolicyIntervalInline(admin.TabularInline):
    model = PolicyInterval
    formset = IntervalFormSet
    extra = 0


@admin.register(SchedulePolicy)
class SchedulePolicyAdmin(AuditedAdmin):
    form = SchedulePolicyForm
    inlines = [PolicyIntervalInline]
    save_as = True
    list_display = (
        "product",
        "effective_from",
        "effective_to",
        "in_force_today",
        "primary_doses",
        "booster_min_days",
        "grace_days",
        "note",
    )
    list_filter = ("product",)
    fieldsets = (
        (None, {"fields": ("product", "effective_from", "effective_to", "note")}),
        (
            _("基础免疫"),
            {"fields": ("primary_doses", "completion_products", "grace_days", "min_gap_other_vaccines_days")},
        ),
        (
            _("加强免疫"),
            {
                "fields": (
                    "booster_min_days",
                    "booster_recommended_days",
                    "booster_products",
                    "booster_min_age_years",
                )
            },
        ),
    )

    @admin.display(description=_("今日生效"), boolean=True)
    def in_force_today(self, obj):
        today = clock.today()
        return obj.effective_from <= today and (obj.effective_to is None or today <= obj.effective_to)

    def save_model(self, request, obj, form, change):
        services.schedule_policy_close_previous(actor=request.user, policy=obj)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        _check_catalogue()


def _check_catalogue() -> None:
    # The forms validated each piece; this is the last guard, inside the admin's transaction, that the
    # whole catalogue still builds (two planners saving at once). Raising rolls the save back.
    try:
        catalogue_build()
    except ValueError as e:
        raise ValidationFailed(
            _("保存后目录无效，已撤销：%(error)s") % {"error": e}, code=CatalogErrorCode.CATALOGUE_INVALID
        ) from None


class PhaseTargetInline(admin.TabularInline):
    model = PhaseTarget
    extra = 0
    raw_id_fields = ("division",)


@admin.register(Phase)
class PhaseAdmin(AuditedAdmin):
    list_display = ("code", "name_zh", "min_age", "max_age", "starts_on", "ends_on", "sort")
    filter_horizontal = ("priority_groups",)
    inlines = [PhaseTargetInline]


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 0
    fields = (
        ("position", "code", "answer_type", "required"),
        "text_zh",
        "text_en",
        "choices",
        ("rule_action", "rule_scope"),
        "rule_reason_zh",
        ("defer_days", "defer_days_after_answer", "defer_condition"),
    )


@admin.register(QuestionSet)
class QuestionSetAdmin(AuditedAdmin):
    """A new version is "保存为新的" with a new version name and effective date; records of past
    screenings keep the version they were made with."""

    list_display = ("version", "effective_from", "temp_max_c", "bp_systolic_max", "bp_diastolic_max", "note")
    inlines = [QuestionInline]
    save_as = True
