from django.conf import settings
from django.db import models


class IdempotencyRecord(models.Model):
    """The first answer to a write made with an ``Idempotency-Key``; a retry gets it back unchanged."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")]

    def __str__(self) -> str:
        return f"{self.endpoint} [{self.key}]"


class RateCounter(models.Model):
    """How many requests one client address (or one target identity) made in one fixed window of one scope.

    Incremented by a single ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (``core.ratelimit``), so every
    server process counts in the same row; rows of past windows are pruned daily.
    """

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=80)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "key", "window_start"], name="rate_counter_one_per_window"
            )
        ]
        indexes = [models.Index(fields=["window_start"], name="rate_counter_window")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} {self.window_start:%Y-%m-%d %H:%M}: {self.hits}"
