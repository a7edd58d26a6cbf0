"""Field operations: training courses in the county's cascade (培训, 持证上岗) and the stock a mobile team
(流动接种队) carries out to a session and back."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import domain

CourseLevel = models.TextChoices(
    "CourseLevel", [(k.name, (k.value, _(k.label_zh))) for k in domain.CourseLevel]
)


class Course(models.Model):
    """A training course: the county trains the townships' staff, a township its sites' staff; passing its
    exam issues the staff member's training certificate (培训合格证)."""

    code = models.CharField(_("课程编号"), max_length=30, unique=True)
    title = models.CharField(_("课程名称"), max_length=100)
    level = models.CharField(_("培训层级"), max_length=10, choices=CourseLevel.choices)
    division = models.ForeignKey(
        "jurisdictions.Division", models.PROTECT, related_name="+", verbose_name=_("组织单位所在区划")
    )
    syllabus = models.JSONField(_("培训内容"), default=list)
    deadline = models.DateField(_("完成期限"))
    pass_score = models.DecimalField(
        _("合格分"),
        max_digits=4,
        decimal_places=1,
        default=80,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    certificate_months = models.PositiveSmallIntegerField(_("证书有效期（月）"), default=12)
    issuer = models.CharField(_("发证机构"), max_length=100)
    created_at = models.DateTimeField(_("创建时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+", verbose_name=_("创建人")
    )

    class Meta:
        verbose_name = _("培训课程")
        verbose_name_plural = _("培训课程")
        ordering = ["-deadline", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__in=CourseLevel.values), name="course_level_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(pass_score__gte=0) & models.Q(pass_score__lte=100),
                name="course_pass_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class CourseSession(models.Model):
    """One class of a course (a day, a place, the topics taught), with who attended."""

    course = models.ForeignKey(Course, models.CASCADE, related_name="sessions", verbose_name=_("培训课程"))
    day = models.DateField(_("日期"))
    place = models.CharField(_("地点"), max_length=100, blank=True)
    topics = models.JSONField(_("本次内容"), default=list)

    class Meta:
        verbose_name = _("培训课")
        verbose_name_plural = _("培训课")
        ordering = ["course", "day", "id"]

    def __str__(self) -> str:
        return f"{self.course} {self.day}"


class TraineeStatus(models.TextChoices):
    ENROLLED = "enrolled", _("培训中")
    PASSED = "passed", _("考核合格")
    FAILED = "failed", _("考核不合格")


class Trainee(models.Model):
    """A staff member on a course: attendance, the exam's score, and the certificate passing issued."""

    course = models.ForeignKey(Course, models.CASCADE, related_name="trainees", verbose_name=_("培训课程"))
    staff = models.ForeignKey(
        "sites.StaffMember", models.PROTECT, related_name="trainings", verbose_name=_("工作人员")
    )
    seq = models.PositiveIntegerField(_("序号"))
    status = models.CharField(
        _("状态"), max_length=10, choices=TraineeStatus.choices, default=TraineeStatus.ENROLLED
    )
    score = models.DecimalField(_("考核成绩"), max_digits=4, decimal_places=1, null=True, blank=True)
    examined_on = models.DateField(_("考核日期"), null=True, blank=True)
    certificate = models.OneToOneField(
        "sites.Certificate",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="training",
        verbose_name=_("培训合格证"),
    )
    attended = models.ManyToManyField(
        CourseSession, blank=True, related_name="present", verbose_name=_("出勤")
    )

    class Meta:
        verbose_name = _("学员")
        verbose_name_plural = _("学员")
        ordering = ["course", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["course", "staff"], name="trainee_once_per_course"),
            models.UniqueConstraint(fields=["course", "seq"], name="trainee_seq_once"),
            models.CheckConstraint(
                condition=models.Q(status__in=TraineeStatus.values), name="trainee_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff} @ {self.course}"


class TeamTrip(models.Model):
    """The stock a mobile team carries to a session: dispatched from its home store into its cold box
    (a ``supply.ColdChainUnit``) before the session and what is left dispatched back after it. Both legs
    are supply's dispatches, so the ledger shows the stock leaving and coming back."""

    session = models.ForeignKey(
        "sites.Session", models.PROTECT, related_name="trips", verbose_name=_("接种场次")
    )
    cold_box = models.ForeignKey(
        "supply.ColdChainUnit", models.PROTECT, related_name="+", verbose_name=_("冷藏箱")
    )
    product = models.ForeignKey("catalog.Product", models.PROTECT, related_name="+", verbose_name=_("疫苗"))
    out = models.OneToOneField(
        "supply.Dispatch", models.PROTECT, related_name="trip_out", verbose_name=_("出发调拨单")
    )
    back = models.OneToOneField(
        "supply.Dispatch",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="trip_back",
        verbose_name=_("返回调拨单"),
    )

    class Meta:
        verbose_name = _("流动接种携带疫苗")
        verbose_name_plural = _("流动接种携带疫苗")
        ordering = ["session", "id"]

    def __str__(self) -> str:
        return f"{self.session} {self.product}"


class FollowUpList(models.Model):
    """A mobilisation list (动员名单, from campaign) handed to a group's head: the people of the group on that
    list when it was handed over, each to be followed up (visited or phoned) until they book or refuse."""

    group = models.ForeignKey(
        "registry.VillageGroup",
        models.PROTECT,
        related_name="followup_lists",
        verbose_name=_("村民小组（楼栋、单元）"),
    )
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="followup_lists", verbose_name=_("负责人")
    )
    category = models.CharField(_("名单"), max_length=20)
    title = models.CharField(_("名称"), max_length=100)
    created_at = models.DateTimeField(_("下发时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+", verbose_name=_("下发人")
    )

    class Meta:
        verbose_name = _("随访名单")
        verbose_name_plural = _("随访名单")
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return self.title


class FollowUpEntry(models.Model):
    followup_list = models.ForeignKey(
        FollowUpList, models.CASCADE, related_name="entries", verbose_name=_("随访名单")
    )
    resident = models.ForeignKey(
        "registry.Resident", models.CASCADE, related_name="+", verbose_name=_("居民")
    )
    last_at = models.DateTimeField(_("最近随访"), null=True, blank=True)
    booked = models.BooleanField(_("已预约"), default=False)

    class Meta:
        verbose_name = _("随访对象")
        verbose_name_plural = _("随访对象")
        ordering = ["followup_list", "id"]
        constraints = [
            models.UniqueConstraint(fields=["followup_list", "resident"], name="followupentry_once_per_list")
        ]

    def __str__(self) -> str:
        return str(self.resident)


class Contact(models.TextChoices):
    VISITED = "visited", _("上门走访")
    PHONE = "phone", _("电话联系")
    UNREACHED = "unreached", _("未联系上")


class Attitude(models.TextChoices):
    WILLING = "willing", _("愿意")
    HESITANT = "hesitant", _("犹豫")
    REFUSED = "refused", _("拒绝")


class FollowUp(models.Model):
    """One follow-up of a person by the group's head: how they were reached, what they said (愿意 / 犹豫 /
    拒绝 with the reason), whether they booked. The willingness it records goes to the registry with its
    history (``registry.services.resident_willingness_set``)."""

    entry = models.ForeignKey(
        FollowUpEntry, models.CASCADE, related_name="followups", verbose_name=_("随访对象")
    )
    at = models.DateTimeField(_("时间"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("随访人")
    )
    contact = models.CharField(_("方式"), max_length=10, choices=Contact.choices)
    attitude = models.CharField(_("意愿"), max_length=10, choices=Attitude.choices, blank=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    booked = models.BooleanField(_("已预约"), default=False)

    class Meta:
        verbose_name = _("随访记录")
        verbose_name_plural = _("随访记录")
        ordering = ["entry", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(contact__in=Contact.values), name="followup_contact_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(attitude__in=[*Attitude.values, ""]), name="followup_attitude_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry} {self.at}"
