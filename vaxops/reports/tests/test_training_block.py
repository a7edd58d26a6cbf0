"""The dashboard and the daily report carry the training block: staff certified and in training (running
totals, per township and role), read from the field app's selector."""

import pytest

from vaxops.jurisdictions.models import Division

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(county, cdc):
    """甲镇's team: a certified vaccinator, a screener on the county's course (in training) and one on no course."""
    import datetime as dt

    from vaxops.field import services
    from vaxops.field.domain import SYLLABUS
    from vaxops.field.tests.factories import mobile_team, staff

    team = mobile_team(Division.objects.get(code="330199001000"))
    staff(team, "已持证", "vaccination")
    learner = staff(team, "培训中", "screening", certified=False)
    staff(team, "未报名", "observation", certified=False)
    course = services.course_create(
        actor=cdc,
        code="PX-QX-01",
        title="清溪县乡镇骨干培训",
        division=county,
        syllabus=list(SYLLABUS),
        deadline=dt.date(2099, 3, 10),
    )
    services.trainee_enrol(actor=cdc, course=course, staff=learner)


@pytest.mark.parametrize("path", ["/reports/daily/", "/reports/dashboard/"])
def test_the_block_shows_the_running_totals(client, cdc, trained, path):
    client.force_login(cdc)
    body = client.get(path).content.decode()
    assert 'id="training-block"' in body
    assert "累计培训并发证 <strong>1</strong> 人，正在接受培训 <strong>1</strong> 人" in body
    assert '<td>甲镇</td><td>接种</td><td class="num">1</td><td class="num">0</td>' in body
    assert '<td>甲镇</td><td>预检</td><td class="num">0</td><td class="num">1</td>' in body
    assert '<td>甲镇</td><td>留观</td><td class="num">0</td><td class="num">0</td>' in body
