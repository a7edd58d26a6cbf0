"""The dashboard and the daily report carry the training block: staff certified and in training (running
totals, per township and role), read from the field app's selector."""

import pytest

from vaxops.jurisdictions.models import Division

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(county):
    from vaxops.field.tests.factories import mobile_team, staff

    team = mobile_team(Division.objects.get(code="330199001000"))
    staff(team, "已持证", "vaccination")
    staff(team, "未持证", "screening", certified=False)


@pytest.mark.parametrize("path", ["/reports/daily/", "/reports/dashboard/"])
def test_the_block_shows_the_running_totals(client, cdc, trained, path):
    client.force_login(cdc)
    body = client.get(path).content.decode()
    assert 'id="training-block"' in body
    assert "累计培训并发证 <strong>1</strong> 人，正在接受培训 <strong>0</strong> 人" in body
    assert '<td>甲镇</td><td>接种</td><td class="num">1</td>' in body
