"""Where the county planner registers stock places and their cold-chain units (audited). Lots, codes and
the ledger are read-only here: they change only through the supply services, which keep the books."""

from django.contrib import admin

from vaxops.core.admin import AuditedModelAdmin

from .models import AllocationRun, ColdChainUnit, Dispatch, Lot, StockMovement, StockPlace


class ColdChainUnitInline(admin.TabularInline):
    model = ColdChainUnit
    extra = 1


@admin.register(StockPlace)
class StockPlaceAdmin(AuditedModelAdmin):
    list_display = (
        "code",
        "name",
        "kind",
        "division",
        "parent",
        "risk_index",
        "density_index",
        "mobility_index",
    )
    list_filter = ("kind",)
    search_fields = ("code", "name")
    autocomplete_fields = ("division",)
    inlines = [ColdChainUnitInline]


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Lot)
class LotAdmin(_ReadOnly):
    list_display = (
        "lot_number",
        "product",
        "manufacturer",
        "expiry",
        "release_certificate",
        "quantity_doses",
        "status",
    )
    list_filter = ("status", "product")
    search_fields = ("lot_number", "release_certificate")


@admin.register(StockMovement)
class StockMovementAdmin(_ReadOnly):
    list_display = ("at", "kind", "place", "lot", "doses", "reference", "actor_label")
    list_filter = ("kind", "place")
    search_fields = ("reference", "lot__lot_number")


@admin.register(Dispatch)
class DispatchAdmin(_ReadOnly):
    list_display = (
        "number",
        "from_place",
        "to_place",
        "product",
        "doses",
        "status",
        "dispatched_at",
        "received_at",
    )
    list_filter = ("status",)
    search_fields = ("number",)


@admin.register(AllocationRun)
class AllocationRunAdmin(_ReadOnly):
    list_display = ("id", "product", "doses_arriving", "status", "created_at", "approved_at")
