"""What the shared kernel tells the apps above it. core imports no app; the audit app connects receivers here
(in its ``AppConfig.ready``) and writes the events, in the sender's transaction (``send``, not
``send_robust``: a failing receiver fails the change)."""

from django.dispatch import Signal

# An object was added, changed or deleted in the admin (``AuditedModelAdmin``).
# kwargs: ``request``, ``obj``, ``action`` ("add", "change" or "delete"), ``old``, ``new`` (stored values).
# audit: writes ``admin.<app>.<model>.<action>``.
admin_changed = Signal()

# The first anonymous refusal of a client in its window (``ratelimit.refusal_note``; later ones only count).
# kwargs: ``scope``, ``reason``, ``window_seconds``.
# audit: writes one ``public.refused`` event (``ratelimit.AUDIT_ACTION``) for the anonymous client.
client_refused = Signal()
