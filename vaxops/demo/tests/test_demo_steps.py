"""``vaxops seed-demo`` tells what it is doing after its residents' progress bar reaches 100 %: each later
stage on its own line, with the seconds it took."""

import io

import pytest
from django.core.management import call_command


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db
def test_every_stage_after_the_import_says_so():
    err = io.StringIO()
    call_command(
        "seed-demo", "--residents", "200", "--seed", "7", stdout=io.StringIO(), stderr=err, verbosity=1
    )
    text = err.getvalue()
    after_bar = text
    stages = [
        "2021–2022 年接种史",
        "接种进度统计",
        "每人接种状态",
        "疫苗批号、库存与追溯码",
        "接种点、场次与预约",
        "冷链设备与一周温度记录",
        "疫苗安全个案",
        "凭证签名密钥",
        "历年接种进度记录",
    ]
    positions = [after_bar.index(s) for s in stages]
    assert positions == sorted(positions)
    lines = [line for line in after_bar.splitlines() if any(s in line for s in stages)]
    assert len(lines) == len(stages) and all(line.rstrip().endswith("秒 / s") for line in lines)
