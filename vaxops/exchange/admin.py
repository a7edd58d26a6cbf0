"""Where the county configures the receiving endpoints (URL, credentials, profile; audited)."""

from django.contrib import admin

from vaxops.core.admin import AuditedModelAdmin

from .models import Endpoint


@admin.register(Endpoint)
class EndpointAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "kind", "url", "active", "batch_size", "failures", "retry_at")
    readonly_fields = ("failures", "retry_at", "last_error")
