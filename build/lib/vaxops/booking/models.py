"""Slots of a session with their capacity, quotas and walk-in share; appointments and the waiting list.

Capacity is enforced in the database: a booking takes a place by a conditional UPDATE of a counter
(``booked < capacity``) backed by a check constraint, and a person holds at most one active appointment per
dose number (a partial unique index), whatever the concurrency.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Slot(models.Model):
    """A time slot of a session. ``open_capacity`` places are open to anyone; ``walk_in`` are kept for people
    who come without an appointment; the rest is reserved in ``SlotQuota`` rows for villages or employers."""

    session = models.ForeignKey(
        "sites.Session", models.CASCADE, related_name="slots", verbose_name=_("接种场次")
    )
    start = models.DateTimeField(_("开始"))
    end = models.DateTimeField(_("结束"))
    capacity = models.PositiveIntegerField(_("容量"))
    walk_in = models.PositiveIntegerField(_("现场号"), default=0)
    walk_in_used = models.PositiveIntegerField(_("已用现场号"), default=0)
    open_capacity = models.PositiveIntegerField(_("开放预约容量"))
    open_booked = models.PositiveIntegerField(_("开放预约已约"), default=0)

    class Meta:
        verbose_name = _("预约时段")
        verbose_name_plural = _("预约时段")
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(open_booked__lte=F("open_capacity")), name="slot_open_not_overbooked"
            ),
            models.CheckConstraint(
                condition=Q(walk_in_used__lte=F("walk_in")), name="slot_walk_in_not_overused"
            ),
            models.CheckConstraint(
                condition=Q(open_capacity__lte=F("capacity") - F("walk_in")),
                name="slot_parts_within_capacity",
            ),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="slot_order"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.start:%H:%M}"


class SlotQuota(models.Model):
    """Places of a slot reserved for one village (``V:<code>``) or employer (``E:<id>``)."""

    slot = models.ForeignKey(Slot, models.CASCADE, related_name="quotas", verbose_name=_("预约时段"))
    key = models.CharField(_("预留对象"), max_length=40)
    label = models.CharField(_("名称"), max_length=100, blank=True)
    capacity = models.PositiveIntegerField(_("预留名额"))
    booked = models.PositiveIntegerField(_("已约"), default=0)

    class Meta:
        verbose_name = _("预留名额")
        verbose_name_plural = _("预留名额")
        constraints = [
            models.UniqueConstraint(fields=["slot", "key"], name="quota_once_per_slot"),
            models.CheckConstraint(condition=Q(booked__lte=F("capacity")), name="quota_not_overbooked"),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.booked}/{self.capacity}"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("已预约")
    CHECKED_IN = "checked_in", _("已签到")
    COMPLETED = "completed", _("已接种")
    CANCELLED = "cancelled", _("已取消")
    NO_SHOW = "no_show", _("爽约")


ACTIVE = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)


class Channel(models.TextChoices):
    COMMUNITY = "community", _("村（社区）代约")
    EMPLOYER = "employer", _("单位集体预约")
    SELF = "self", _("本人预约")
    WALK_IN = "walk_in", _("现场登记")


class Appointment(models.Model):
    resident = models.ForeignKey(
        "registry.Resident", models.PROTECT, related_name="appointments", verbose_name=_("受种者")
    )
    slot = models.ForeignKey(Slot, models.PROTECT, related_name="appointments", verbose_name=_("预约时段"))
    quota = models.ForeignKey(
        SlotQuota,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="appointments",
        verbose_name=_("占用的预留名额"),
    )
    walk_in = models.BooleanField(_("现场号"), default=False)
    dose_number = models.PositiveSmallIntegerField(_("剂次"))
    is_booster = models.BooleanField(_("加强针"), default=False)
    status = models.CharField(
        _("状态"), max_length=12, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    channel = models.CharField(_("预约渠道"), max_length=12, choices=Channel.choices)
    created_at = models.DateTimeField(_("预约时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("预约")
        verbose_name_plural = _("预约")
        ordering = ["slot__start", "id"]
        indexes = [models.Index(fields=["slot", "status"], name="appointment_slot_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "dose_number"],
                condition=Q(status__in=ACTIVE),
                name="appointment_one_active_per_dose",
            ),
            models.CheckConstraint(
                condition=Q(status__in=AppointmentStatus.values), name="appointment_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} #{self.dose_number} {self.status}"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("候补中")
    BOOKED = "booked", _("已转预约")
    CANCELLED = "cancelled", _("已取消")


class WaitlistEntry(models.Model):
    """A person waiting for a place in a full session; filled first come, first served when one frees."""

    resident = models.ForeignKey(
        "registry.Resident", models.PROTECT, related_name="+", verbose_name=_("受种者")
    )
    session = models.ForeignKey(
        "sites.Session", models.CASCADE, related_name="waitlist", verbose_name=_("接种场次")
    )
    dose_number = models.PositiveSmallIntegerField(_("剂次"))
    quota_key = models.CharField(_("预留对象"), max_length=40, blank=True)
    channel = models.CharField(_("预约渠道"), max_length=12, choices=Channel.choices)
    status = models.CharField(
        _("状态"), max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    appointment = models.ForeignKey(
        Appointment, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("转成的预约")
    )

    class Meta:
        verbose_name = _("候补")
        verbose_name_plural = _("候补")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "session"],
                condition=Q(status="waiting"),
                name="waitlist_once_per_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.status}"
