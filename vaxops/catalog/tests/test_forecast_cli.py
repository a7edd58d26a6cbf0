"""``vaxops forecast`` and ``POST /api/v1/forecast`` give the same answers, and say which argument is wrong."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db

CASES = [
    # (birth date, doses, on, extra CLI args, extra API fields)
    ("1980-06-15", [], "2021-05-01", [], {}),
    ("1980-06-15", ["BBIBP-CorV@2021-04-01"], "2021-04-10", [], {}),
    ("1980-06-15", ["BBIBP-CorV@2021-04-01", "CoronaVac@2021-04-19"], "2022-03-01", [], {}),
    ("1980-06-15", ["ZF2001@2021-04-01", "ZF2001@2021-05-01"], "2021-12-01", [], {}),
    (
        "1980-06-15",
        ["BBIBP-CorV@2021-04-01"],
        "2021-05-01",
        ["--contraindicated", "all"],
        {"contraindicated": ["all"]},
    ),
    (
        "1980-06-15",
        ["CoronaVac@2021-04-01", "CoronaVac@2021-04-29"],
        "2022-03-01",
        ["--contraindicated", "BBIBP-CorV", "--contraindicated", "ZF2001"],
        {"contraindicated": ["BBIBP-CorV", "ZF2001"]},
    ),
    ("1980-06-15", [], "2021-05-01", ["--deferred-until", "2021-05-08"], {"deferred_until": "2021-05-08"}),
    ("2010-01-01", [], "2021-05-01", [], {}),
]


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def cli(*args: str) -> str:
    out = io.StringIO()
    call_command("forecast", *args, stdout=out)
    return out.getvalue()


def cli_args(birth: str, doses: list[str], on: str, extra: list[str]) -> list[str]:
    args = ["--birth-date", birth, "--on", on, *extra]
    for d in doses:
        args += ["--dose", d]
    return args


class TestSameAnswers:
    @pytest.mark.parametrize(("birth", "doses", "on", "extra", "fields"), CASES)
    def test_it_gives_identical_json_on_the_cli_and_the_api(
        self, client, cdc, birth, doses, on, extra, fields
    ):
        client.force_login(cdc)

        from_cli = json.loads(cli(*cli_args(birth, doses, on, extra), "--json"))
        r = client.post(
            "/api/v1/forecast",
            {"birth_date": birth, "doses": doses, "on": on, **fields},
            content_type="application/json",
        )

        assert r.status_code == 200, r.content
        assert r.json() == from_cli


class TestSummary:
    def test_it_prints_a_readable_chinese_summary(self):
        out = cli(
            "--birth-date",
            "1980-06-15",
            "--dose",
            "BBIBP-CorV@2021-04-01",
            "--dose",
            "ZF2001@2021-04-29",
            "--on",
            "2021-05-10",
        )

        assert "评估日期：2021-05-10　出生日期：1980-06-15（40周岁）" in out
        assert "接种状态：接种中" in out
        # Vaccines by the short names nurses know; codes stay in the data.
        assert "2021-04-01　国药北京　第1剂，有效" in out
        assert (
            "2021-04-29　智飞　无效：与第1剂（国药北京，灭活疫苗）技术路线不同，不能用于完成全程接种" in out
        )
        assert "BBIBP-CorV" not in out and "ZF2001" not in out
        assert "下一剂：第2剂" in out
        assert "可选品种：国药北京、国药武汉、科兴" in out
        assert "最早：2021-04-22　推荐：2021-04-22　最晚：2021-05-27" in out


class TestErrors:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--on", "2021-05-01"], "--birth-date：请填写出生日期"),
            (["--birth-date", "1980-13-01"], "--birth-date：日期“1980-13-01”无效，应为 YYYY-MM-DD"),
            (
                ["--birth-date", "1980-06-15", "--on", "yesterday"],
                "--on：日期“yesterday”无效，应为 YYYY-MM-DD",
            ),
            (
                ["--birth-date", "1980-06-15", "--dose", "Comirnaty@2021-04-01"],
                "--dose：疫苗品种“Comirnaty”不在目录中（可用：BBIBP-CorV、WIBP-CorV、CoronaVac、Convidecia、ZF2001）",
            ),
            (
                ["--birth-date", "1980-06-15", "--dose", "BBIBP-CorV 2021-04-01"],
                "--dose：“BBIBP-CorV 2021-04-01”格式错误，应为 品种@日期，如 BBIBP-CorV@2021-04-01",
            ),
            (
                ["--birth-date", "1980-06-15", "--dose", "BBIBP-CorV@2021-02-30"],
                "--dose：日期“2021-02-30”无效",
            ),
            (
                ["--birth-date", "1980-06-15", "--dose", "BBIBP-CorV@1979-01-01"],
                "--dose：“BBIBP-CorV@1979-01-01”的接种日期早于出生日期",
            ),
            (
                ["--birth-date", "1980-06-15", "--contraindicated", "mRNA"],
                "--contraindicated：疫苗品种“mRNA”不在目录中",
            ),
            (["--birth-date", "1980-06-15", "--deferred-until", "soon"], "--deferred-until：日期“soon”无效"),
        ],
    )
    def test_it_names_the_argument(self, args, message):
        with pytest.raises(CommandError) as e:
            cli(*args)

        assert str(e.value).startswith(message)

    def test_it_answers_400_with_the_field_on_the_api(self, client, cdc):
        client.force_login(cdc)

        r = client.post(
            "/api/v1/forecast",
            {"birth_date": "1980-06-15", "doses": ["Comirnaty@2021-04-01"]},
            content_type="application/json",
        )

        assert r.status_code == 400
        assert r.json()["field"] == "doses"
        assert r.json()["message"].startswith("doses：疫苗品种“Comirnaty”不在目录中")

    def test_it_needs_authentication(self, client):
        r = client.post("/api/v1/forecast", {"birth_date": "1980-06-15"}, content_type="application/json")

        assert r.status_code == 401
