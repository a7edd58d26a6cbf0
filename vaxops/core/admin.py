from django.contrib import admin


class PersonalDataAdmin(admin.ModelAdmin):
    """Admin pages over personal or health data: superusers only, read-only.

    The admin cannot apply a user's jurisdiction scope, so planners (staff for
    the catalogue) must not reach these pages at all; their scoped views are the
    application's own pages.
    """

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
