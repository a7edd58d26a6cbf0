"""The county's rules and prices in the admin (every change audited); a version in or before a settled month
can be neither added, changed nor deleted. Settlements are read-only here: their flow is on the pages."""

from django.contrib import admin
from django.core.exceptions import ValidationError

from vaxops.core.admin import AuditedModelAdmin
from vaxops.core.errors import ValidationFailed

from . import services
from .models import LotPrice, Settlement, SettlementRule, VaccinePrice


class _VersionAdmin(AuditedModelAdmin):
    what = "版本"

    def _settled(self, obj) -> bool:
        through = services.settled_through()
        return obj is not None and through is not None and obj.effective_from <= through

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not self._settled(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not self._settled(obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        what = self.what

        class Guarded(form):
            def clean(self):
                data = super().clean()
                day = data.get("effective_from")
                if day is not None:
                    try:
                        services.version_guard(day, what=what)
                    except ValidationFailed as e:
                        raise ValidationError({"effective_from": e.message}) from None
                return data

        return Guarded


@admin.register(SettlementRule)
class SettlementRuleAdmin(_VersionAdmin):
    what = "结算规则"
    list_display = ("effective_from", "service_fee", "subsidy_share", "cutover_date", "note")


@admin.register(VaccinePrice)
class VaccinePriceAdmin(_VersionAdmin):
    what = "疫苗价格"
    list_display = ("product", "effective_from", "price", "note")
    list_filter = ("product",)


@admin.register(LotPrice)
class LotPriceAdmin(_VersionAdmin):
    what = "批号合同价格"
    list_display = ("lot", "effective_from", "price", "note")
    raw_id_fields = ("lot",)


@admin.register(Settlement)
class SettlementAdmin(admin.ModelAdmin):
    list_display = ("month", "site", "status", "doses", "payable", "fiscal_subsidy", "reconciled")
    list_filter = ("status", "month")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
