"""The demo's field operations: a township's course with a passed nurse and one awaiting her score, the
mobile team's session at an employer with two desks, and the grid head's follow-up list."""

import io

import pytest
from django.core.management import call_command

from vaxops.field.models import Course, FollowUpList, TeamTrip, TraineeStatus
from vaxops.sites.models import Site

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_demo_has_field_operations_to_look_at():
    call_command("seed-demo", "--residents", "300", "--seed", "7", stdout=io.StringIO(), stderr=io.StringIO())
    course = Course.objects.get(code="PX-T001-01")
    statuses = sorted(course.trainees.values_list("status", flat=True))
    assert statuses == sorted([TraineeStatus.PASSED, TraineeStatus.ENROLLED, TraineeStatus.ENROLLED])
    assert course.trainees.get(status=TraineeStatus.PASSED).certificate is not None
    team = Site.objects.get(code="QX-M001")
    session = team.sessions.get()
    assert session.venue_kind == "employer" and team.desks.count() == 2
    assert session.assignments.count() == 4
    assert TeamTrip.objects.filter(session=session).exists()
    fl = FollowUpList.objects.get()
    assert fl.head.username == "gridhead" and fl.head.role == "grid_head"
    # run again: nothing new
    call_command("seed-demo", "--residents", "300", "--seed", "7", stdout=io.StringIO(), stderr=io.StringIO())
    assert Course.objects.count() == 1 and FollowUpList.objects.count() == 1
