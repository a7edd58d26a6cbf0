"""In headless Chromium: the home page's bar charts are drawn to scale — every bar starts at the same offset,
its length is its value's share of the largest, and a small value (7 of 217) still shows a bar."""

import os
from datetime import date, timedelta

import pytest

from vaxops.conftest import PASSWORD, make_id
from vaxops.testing.browser import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip("chromium not installed: sudo apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("audit_log_flushable")]
expect.set_options(timeout=10_000)

COUNTS = {"甲类": 217, "乙类": 206, "丙类": 176, "丁类": 123, "戊类": 7}


@pytest.fixture
def people(county):
    from vaxops.jurisdictions.models import Division
    from vaxops.registry.models import PriorityGroup, Resident

    village = Division.objects.get(code="330199001001")
    rows, i = [], 0
    for sort, (name, n) in enumerate(COUNTS.items()):
        group = PriorityGroup.objects.create(code=f"bars_{sort}", name_zh=name, sort=sort)
        for _ in range(n):
            birth = date(1980, 1, 1) + timedelta(days=i // 400)
            rows.append(
                Resident(
                    id_type="resident_id",
                    id_number=make_id(birth, i % 400 + 1),
                    name="王芳",
                    birth_date=birth,
                    village=village,
                    village_code=village.code,
                    priority_group=group,
                )
            )
            i += 1
    Resident.objects.bulk_create(rows)


def test_the_home_pages_bars_are_to_scale(page, people, cdc):
    page.goto("/accounts/login/")
    page.locator("#id_username").fill("cdc")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/")
    rows = page.locator("#bars-groups tbody tr")
    expect(rows).to_have_count(len(COUNTS))
    top = max(COUNTS.values())
    starts, seen = set(), {}
    for i in range(len(COUNTS)):
        row = rows.nth(i)
        name = row.locator("td").first.inner_text()
        track = row.locator(".track").bounding_box()
        fill = row.locator(".fill").bounding_box()
        assert track and fill
        starts.add(round(fill["x"], 1))
        assert fill["x"] == pytest.approx(track["x"], abs=0.5)
        assert fill["width"] / track["width"] == pytest.approx(COUNTS[name] / top, abs=0.01), name
        assert row.locator("td.value").inner_text() == str(COUNTS[name])
        seen[name] = fill["width"]
    assert len(starts) == 1  # every bar starts at the same offset
    assert seen["甲类"] > seen["乙类"] > seen["丙类"] > seen["丁类"] > seen["戊类"] >= 2
