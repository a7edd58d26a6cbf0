"""The exchange's rows: the endpoints the county configures, the outbox (one message per dose event and
endpoint, written in the dose's own transaction), what came in and needs a person to decide."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EndpointKind(models.TextChoices):
    PROVINCIAL = "provincial", _("省级免疫规划信息平台")
    NATIONAL = "national", _("国家免疫规划信息系统")
    TRACEABILITY = "traceability", _("疫苗电子追溯协同服务平台")


class Endpoint(models.Model):
    """A receiving FHIR server. Every active endpoint gets a message for every dose event (its profile
    decides what the bundle carries: the traceability platform gets no Patient)."""

    code = models.SlugField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=EndpointKind.choices)
    url = models.URLField(_("FHIR 服务地址"), max_length=300)
    username = models.CharField(_("用户名"), max_length=100, blank=True)
    secret = models.CharField(_("口令或令牌"), max_length=300, blank=True)
    profile = models.CharField(_("资源规范（profile URL）"), max_length=300, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    batch_size = models.PositiveIntegerField(_("每批剂次数"), default=200)
    timeout_seconds = models.PositiveIntegerField(_("超时（秒）"), default=30)
    # The endpoint's own back-off: a transport failure delays the whole endpoint, not message by message,
    # so an endpoint that was down drains at full speed as soon as one probe succeeds.
    failures = models.PositiveIntegerField(_("连续失败次数"), default=0)
    retry_at = models.DateTimeField(_("下次重试"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("交换端点")
        verbose_name_plural = _("交换端点")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["provincial", "national", "traceability"]),
                name="endpoint_kind_valid",
            ),
            models.CheckConstraint(condition=models.Q(batch_size__gte=1), name="endpoint_batch_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class MessageKind(models.TextChoices):
    CREATE = "create", _("新增接种")
    VOID = "void", _("作废")
    CORRECT = "correct", _("更正")
    AEFI = "aefi", _("疑似异常反应")
    CODE = "code", _("追溯码状态")


# The events of a dose (sent to the provincial and national platforms) and of a code (to the traceability
# platform only).
DOSE_KINDS = ("create", "void", "correct")


class MessageState(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    FAILED = "failed", _("被拒收")


class OutboundMessage(models.Model):
    """One event for one endpoint: a dose created, voided or corrected, or a suspected adverse event
    reported or changed (the provincial and national platforms); a traceability code's new state (the
    traceability platform). A dose's or a report's payload is built when it is sent, from the record as it
    then stands (a void sent after its create carries ``entered-in-error``); a code's message carries the
    state it was written with (each change a message of its own). The receiver recognises a resend by the
    record's identifier (conditional create / update), so a message sent twice is applied once.

    ``resident_id`` is the key the messages are sent in order of: the person (a dose's, a report's); for a
    code's message, which has no person, the code's id negated (so a code's changes go in order)."""

    endpoint = models.ForeignKey(Endpoint, models.PROTECT, related_name="messages", verbose_name=_("端点"))
    dose = models.ForeignKey(
        "clinic.Dose", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("剂次")
    )
    report = models.ForeignKey(
        "safety.AdverseEventReport",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("疑似异常反应报告"),
        db_index=False,
    )
    trace_code = models.ForeignKey(
        "supply.TraceCode",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("追溯码"),
        db_index=False,
    )
    code_state = models.CharField(_("追溯码新状态"), max_length=20, blank=True, db_default="")
    resident_id = models.BigIntegerField(_("居民"))
    kind = models.CharField(_("事件"), max_length=10, choices=MessageKind.choices)
    state = models.CharField(_("状态"), max_length=15, choices=MessageState.choices, default="pending")
    created_at = models.DateTimeField(_("写入时间"))
    next_attempt_at = models.DateTimeField(_("下次发送"))
    attempts = models.PositiveIntegerField(_("发送次数"), default=0)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    lease_until = models.DateTimeField(_("占用至"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    remote_id = models.CharField(_("对方资源"), max_length=200, blank=True)
    error = models.TextField(_("对方答复"), blank=True)

    class Meta:
        verbose_name = _("待交换消息")
        verbose_name_plural = _("待交换消息")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["create", "void", "correct", "aefi", "code"]),
                name="outbound_kind_valid",
            ),
            # What each event is about: a dose's events name the dose, a report's the report (and its dose),
            # a code's the code and its new state.
            models.CheckConstraint(
                condition=~models.Q(kind__in=["create", "void", "correct"]) | models.Q(dose__isnull=False),
                name="outbound_dose_event_has_dose",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="aefi") | models.Q(report__isnull=False, dose__isnull=False),
                name="outbound_aefi_has_report",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="code")
                | (models.Q(trace_code__isnull=False) & ~models.Q(code_state="")),
                name="outbound_code_has_state",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=["pending", "sent", "acknowledged", "failed"]),
                name="outbound_state_valid",
            ),
        ]
        indexes = [
            # The worker's claim: an endpoint's open messages in order.
            models.Index(
                fields=["endpoint", "id"],
                name="outbound_open",
                condition=models.Q(state__in=["pending", "sent"]),
            ),
            # In order per person: an earlier open message for the same person holds the later ones back.
            models.Index(
                fields=["endpoint", "resident_id", "id"],
                name="outbound_open_person",
                condition=models.Q(state__in=["pending", "sent"]),
            ),
            models.Index(fields=["dose", "kind"], name="outbound_dose"),
            # A report's and a code's messages (a small part of the table: partial indexes).
            models.Index(fields=["report"], name="outbound_report", condition=models.Q(report__isnull=False)),
            models.Index(
                fields=["trace_code"], name="outbound_code", condition=models.Q(trace_code__isnull=False)
            ),
            # The 2-day rule: the dose-create messages not acknowledged (a small part of a large table).
            models.Index(
                fields=["dose"],
                name="outbound_unacknowledged",
                condition=models.Q(kind="create", state__in=["pending", "sent", "failed"]),
            ),
        ]

    def __str__(self) -> str:
        if self.kind == MessageKind.CODE:
            return f"{self.endpoint.code} code {self.trace_code_id} → {self.code_state} ({self.state})"
        if self.kind == MessageKind.AEFI:
            return f"{self.endpoint.code} aefi {self.report_id} ({self.state})"
        return f"{self.endpoint.code} {self.kind} dose {self.dose_id} ({self.state})"


class InboundState(models.TextChoices):
    OPEN = "open", _("待核对")
    ACCEPTED = "accepted", _("已采纳")
    REJECTED = "rejected", _("已驳回")


class InboundReview(models.Model):
    """An incoming dose the exchange would not guess about: no resident with that ID document, or a dose
    that disagrees with one we hold. A person decides."""

    source = models.CharField(_("来源"), max_length=200)
    identifier = models.CharField(_("对方剂次标识"), max_length=300)
    reason = models.CharField(_("原因"), max_length=300)
    resource = models.JSONField(_("资源"))
    resident_id = models.BigIntegerField(_("居民"), null=True, blank=True)
    village_code = models.CharField(_("村（社区）代码"), max_length=12, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=InboundState.choices, default="open")
    received_at = models.DateTimeField(_("收到时间"))

    class Meta:
        verbose_name = _("待核对的外来剂次")
        verbose_name_plural = _("待核对的外来剂次")
        constraints = [
            models.UniqueConstraint(fields=["source", "identifier"], name="inbound_review_once"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.identifier}"


class InboundDose(models.Model):
    """Which incoming dose identifier became which external dose here (de-duplication of resends)."""

    source = models.CharField(_("来源"), max_length=200)
    identifier = models.CharField(_("对方剂次标识"), max_length=300)
    dose = models.ForeignKey("clinic.Dose", models.PROTECT, related_name="+", verbose_name=_("剂次"))
    received_at = models.DateTimeField(_("收到时间"))

    class Meta:
        verbose_name = _("外来剂次")
        verbose_name_plural = _("外来剂次")
        constraints = [
            models.UniqueConstraint(fields=["source", "identifier"], name="inbound_dose_once"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.identifier} → {self.dose_id}"
