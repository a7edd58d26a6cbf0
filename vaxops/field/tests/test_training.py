"""Training in the cascade: a township's course, classes with attendance, the exam; passing issues the
training certificate so the person can be put at a desk at once."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from vaxops.core.errors import PermissionDenied, ValidationFailed
from vaxops.field import selectors, services
from vaxops.field.errors import FieldErrorCode
from vaxops.field.models import TraineeStatus
from vaxops.jurisdictions.models import Division
from vaxops.sites import services as site_services
from vaxops.sites.errors import SitesErrorCode
from vaxops.sites.models import Certificate, Desk, VenueKind

from .factories import mobile_team, staff

pytestmark = pytest.mark.django_db

ALL = ["实施方案", "免疫程序", "禁忌", "接种点管理", "冷链", "安全注射", "异常反应监测报告与处置"]


@pytest.fixture
def township(county):
    return Division.objects.get(code="330199001000")


@pytest.fixture
def course(township, cdc):
    return services.course_create(
        actor=cdc,
        code="PX-JZ-01",
        title="甲镇接种点人员培训",
        division=township,
        syllabus=ALL,
        deadline=dt.date(2099, 3, 10),
    )


def test_a_township_course_is_township_level_with_the_syllabus_in_order(course):
    assert course.level == "township"
    assert course.syllabus == ALL


def test_a_topic_outside_the_syllabus_is_refused(township, cdc):
    with pytest.raises(ValidationFailed) as e:
        services.course_create(
            actor=cdc,
            code="X",
            title="X",
            division=township,
            syllabus=["广场舞"],
            deadline=dt.date(2099, 1, 1),
        )
    assert e.value.code == FieldErrorCode.COURSE_INVALID and "广场舞" in e.value.message


def test_a_township_cannot_run_a_course_for_another(county, township, worker_b_township):
    with pytest.raises(PermissionDenied) as e:
        services.course_create(
            actor=worker_b_township,
            code="X",
            title="X",
            division=township,
            syllabus=ALL,
            deadline=dt.date(2099, 1, 1),
        )
    assert e.value.code == FieldErrorCode.COURSE_OUT_OF_SCOPE


@pytest.fixture
def worker_b_township(county):
    from vaxops.accounts.services import user_create

    return user_create(
        username="tb",
        password="x-long-password-1",
        role="township_worker",
        division=Division.objects.get(code="330199002000"),
    )


def test_passing_issues_the_certificate_and_the_person_is_assigned_at_once(course, township, cdc, employer):
    team = mobile_team(township)
    nurse = staff(team, "钱护士", "vaccination", certified=False)
    trainee = services.trainee_enrol(actor=cdc, course=course, staff=nurse)
    today = timezone.localdate()
    services.class_record(
        actor=cdc, course=course, day=today, place="甲镇卫生院", topics=ALL[:4], present=[trainee.pk]
    )
    session = site_services.session_plan(
        actor=cdc,
        site=team,
        day=today + dt.timedelta(days=1),
        venue={"venue_kind": VenueKind.EMPLOYER, "venue_employer": employer},
    )
    vac = Desk.objects.get(site=team, kind="vaccination")
    with pytest.raises(ValidationFailed) as e:
        site_services.assignment_add(actor=cdc, session=session, staff=nurse, desk=vac, role="vaccination")
    assert e.value.code == SitesErrorCode.STAFF_UNQUALIFIED
    t = services.exam_record(actor=cdc, trainee=trainee, score="92.5", on=today)
    assert t.status == TraineeStatus.PASSED and t.score == Decimal("92.5")
    cert = Certificate.objects.get(staff=nurse)
    assert cert.number == "PX-JZ-01-0001" and cert.kind == "training" and cert.valid_from == today
    assert cert.issuer == "甲镇新冠疫苗接种工作领导小组"
    site_services.assignment_add(actor=cdc, session=session, staff=nurse, desk=vac, role="vaccination")
    with pytest.raises(ValidationFailed) as e:
        services.exam_record(actor=cdc, trainee=t, score="95", on=today)
    assert e.value.code == FieldErrorCode.EXAM_ALREADY_PASSED


def test_a_low_score_fails_without_a_certificate_and_may_sit_again(course, township, cdc):
    nurse = staff(mobile_team(township), "孙护士", "vaccination", certified=False)
    trainee = services.trainee_enrol(actor=cdc, course=course, staff=nurse)
    t = services.exam_record(actor=cdc, trainee=trainee, score="59")
    assert t.status == TraineeStatus.FAILED and not Certificate.objects.filter(staff=nurse).exists()
    t = services.exam_record(actor=cdc, trainee=trainee, score="81")
    assert t.status == TraineeStatus.PASSED


def test_a_missed_class_blocks_the_exam(course, township, cdc):
    team = mobile_team(township)
    a = services.trainee_enrol(
        actor=cdc, course=course, staff=staff(team, "甲", "vaccination", certified=False)
    )
    services.trainee_enrol(actor=cdc, course=course, staff=staff(team, "乙", "vaccination", certified=False))
    services.class_record(
        actor=cdc, course=course, day=timezone.localdate(), place="", topics=["冷链"], present=[]
    )
    with pytest.raises(ValidationFailed) as e:
        services.exam_record(actor=cdc, trainee=a, score="99")
    assert e.value.code == FieldErrorCode.EXAM_ATTENDANCE_MISSING
    with pytest.raises(ValidationFailed) as e:
        services.exam_record(actor=cdc, trainee=a, score="101")
    assert e.value.code == FieldErrorCode.EXAM_SCORE_INVALID


def test_staff_of_another_township_cannot_join_a_township_course(course, county, cdc):
    other = mobile_team(Division.objects.get(code="330199002000"))
    with pytest.raises(ValidationFailed) as e:
        services.trainee_enrol(actor=cdc, course=course, staff=staff(other, "外镇", "vaccination"))
    assert e.value.code == FieldErrorCode.TRAINEE_OUT_OF_SCOPE


def test_counts_per_township_and_role_and_expiring_certificates(course, township, cdc):
    team = mobile_team(township)
    staff(team, "已持证", "vaccination")  # certified, open-ended
    n = staff(team, "培训中", "screening", certified=False)
    services.trainee_enrol(actor=cdc, course=course, staff=n)
    soon = staff(team, "将到期", "observation", certified=False)
    today = timezone.localdate()
    Certificate.objects.create(
        staff=soon,
        kind="training",
        number="S",
        valid_from=today - dt.timedelta(days=300),
        valid_to=today + dt.timedelta(days=10),
    )
    rows = selectors.training_counts(user=cdc)
    by = {(r["township"], r["role"]): (r["certified"], r["in_training"]) for r in rows}
    assert by[("甲镇", "接种")] == (1, 0)
    assert by[("甲镇", "预检")] == (0, 1)
    assert by[("甲镇", "留观")] == (1, 0)
    totals = selectors.training_totals(user=cdc)
    assert totals == {"certified": 2, "in_training": 1}
    expiring = selectors.certificates_expiring(user=cdc, days=30)
    assert [c.staff.name for c in expiring] == ["将到期"]
    assert selectors.certificates_expiring(user=cdc, days=5) == []


def test_a_county_course_trains_the_townships_staff(county, township, cdc, worker_b_township):
    """The cascade's first level: the county trains the townships' staff (each township then trains its sites'):
    a county course takes staff of every township, counts them in training per township until they pass, and
    its certificate names the county as issuer. A township cannot run a county course."""
    from vaxops.booking.tests.factories import site

    other = Division.objects.get(code="330199002000")
    jia = staff(site(township, code="SJ"), "甲镇骨干", "screening", certified=False)
    yi = staff(site(other, code="SY"), "乙镇骨干", "vaccination", certified=False)
    course = services.course_create(
        actor=cdc,
        code="PX-QX-01",
        title="清溪县乡镇骨干培训（师资）",
        division=county,
        syllabus=ALL,
        deadline=dt.date(2099, 2, 28),
        certificate_months=6,
    )
    assert course.level == "county" and course.syllabus == ALL
    with pytest.raises(PermissionDenied) as e:
        services.course_create(
            actor=worker_b_township,
            code="PX-QX-02",
            title="X",
            division=county,
            syllabus=ALL,
            deadline=dt.date(2099, 1, 1),
        )
    assert e.value.code == FieldErrorCode.COURSE_OUT_OF_SCOPE

    a = services.trainee_enrol(actor=cdc, course=course, staff=jia)
    b = services.trainee_enrol(actor=cdc, course=course, staff=yi)
    by = {
        (r["township"], r["role"]): (r["certified"], r["in_training"])
        for r in selectors.training_counts(user=cdc)
    }
    assert by[("甲镇", "预检")] == (0, 1) and by[("乙镇", "接种")] == (0, 1)
    assert selectors.training_totals(user=cdc) == {"certified": 0, "in_training": 2}

    today = timezone.localdate()
    services.class_record(
        actor=cdc, course=course, day=today, place="县疾控中心", topics=ALL, present=[a.pk, b.pk]
    )
    services.exam_record(actor=cdc, trainee=a, score="88", on=today)
    services.exam_record(actor=cdc, trainee=b, score="70", on=today)  # below 80: sits again

    cert = Certificate.objects.get(staff=jia)
    assert (cert.number, cert.issuer, cert.valid_from) == (
        "PX-QX-01-0001",
        "清溪县新冠疫苗接种工作领导小组",
        today,
    )
    assert cert.valid_to is not None and (cert.valid_to - today).days in range(180, 185)
    assert not Certificate.objects.filter(staff=yi).exists()
    by = {
        (r["township"], r["role"]): (r["certified"], r["in_training"])
        for r in selectors.training_counts(user=cdc)
    }
    assert by[("甲镇", "预检")] == (1, 0) and by[("乙镇", "接种")] == (0, 1)
    assert selectors.training_totals(user=cdc) == {"certified": 1, "in_training": 1}
