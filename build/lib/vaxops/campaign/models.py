from django.db import models
from django.utils.translation import gettext_lazy as _


class ImmunizationStatus(models.Model):
    """The engine's verdict for one person, kept so that lists of 100,000s can be filtered in SQL.

    Only date-independent facts are stored (next dose number and its earliest /
    latest dates, deferral end, …); which list a person is on is decided at
    query time against the day asked about (``campaign.selectors.category_q``),
    so nobody has to recompute anything when a date passes. Rows are recomputed
    whenever the person's doses, screenings or record change, and all of them
    when a policy version is added.
    """

    resident = models.OneToOneField(
        "registry.Resident", models.CASCADE, primary_key=True, related_name="status"
    )
    village_code = models.CharField(max_length=12)
    employer_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(_("状态"), max_length=20)
    valid_doses = models.PositiveSmallIntegerField(default=0)
    contraindicated = models.BooleanField(default=False)
    deferred_until = models.DateField(null=True, blank=True)
    deferred_open = models.BooleanField(default=False)  # deferred until a condition, not a date
    next_number = models.PositiveSmallIntegerField(null=True, blank=True)
    next_is_booster = models.BooleanField(default=False)
    next_products = models.CharField(max_length=200, blank=True)
    next_earliest = models.DateField(null=True, blank=True)
    next_latest = models.DateField(null=True, blank=True)
    window_missed = models.BooleanField(default=False)  # overdue with no date left to meet
    computed_on = models.DateField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("接种状态")
        verbose_name_plural = _("接种状态")
        indexes = [
            models.Index(fields=["village_code", "next_earliest"], name="status_village_earliest"),
            models.Index(fields=["employer_id", "next_earliest"], name="status_employer_earliest"),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id}: {self.status}"
