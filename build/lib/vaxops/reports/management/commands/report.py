"""``vaxops report daily --date YYYY-MM-DD [--division CODE] [--json]``: the 日报表;
``vaxops report rebuild``: the facts recomputed from the records; ``vaxops report check [--json]``: the facts
compared with a recount (exit status 1 when they differ)."""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from vaxops.accounts.scope import Scope, scope_for
from vaxops.core import clock
from vaxops.core.actors import cli_actor
from vaxops.core.errors import VaxOpsError
from vaxops.reports.selectors import daily_report

LABELS = (
    ("doses_today", "当日接种剂次"),
    ("doses_cumulative", "累计接种剂次"),
    ("people_first_dose_today", "当日首剂人数"),
    ("people_first_dose_cumulative", "累计首剂人数"),
    ("people_completed_cumulative", "累计全程人数"),
    ("people_booster_cumulative", "累计加强人数"),
    ("people_60_plus_first_dose_cumulative", "60岁以上累计首剂人数"),
    ("booster_doses_cumulative", "累计加强剂次"),
    ("coverage_first_dose", "首剂覆盖率"),
    ("coverage_completed", "全程接种率"),
    ("stock_on_hand", "库存（剂）"),
)


class Command(BaseCommand):
    help = "接种进度报表 / progress reports: daily (日报表), rebuild (重算汇总表), check (核对汇总表)"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        daily = sub.add_parser("daily", help="日报表：各乡镇当日与累计接种情况")
        daily.add_argument("--date", help="统计日期 YYYY-MM-DD（默认今天）")
        daily.add_argument("--division", help="县或乡镇区划代码（默认：用户的管辖范围或第一个县）")
        daily.add_argument("--user", help="以该用户的管辖范围统计；默认系统身份（全部）")
        daily.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
        sub.add_parser("rebuild", help="由接种记录重算全部汇总表")
        check = sub.add_parser("check", help="重新计数并与汇总表核对；不一致时退出码为1")
        check.add_argument("--json", action="store_true", help="输出一个 JSON 对象")

    def handle(self, *args, what, **options):
        if what == "rebuild":
            return self.rebuild()
        if what == "check":
            return self.check_facts(as_json=options.get("json", False))
        try:
            day = date.fromisoformat(options["date"]) if options.get("date") else clock.today()
        except ValueError:
            raise CommandError(f"日期格式应为 YYYY-MM-DD：{options['date']}") from None
        try:
            actor = cli_actor(options.get("user"))
            scope = scope_for(actor) if getattr(actor, "pk", None) else Scope(unrestricted=True, label="全部")
            report = daily_report(scope=scope, day=day, division_code=options.get("division"))
        except VaxOpsError as e:
            raise CommandError(e.message) from None
        if options.get("json"):
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        self.stdout.write(f"{report['name']} 新冠疫苗接种日报表（{report['date']}）")
        self.stdout.write("\t".join(["乡镇（街道）", *(label for _, label in LABELS)]))
        for row in [*report["rows"], {**report["total"], "name": "合计"}]:
            self.stdout.write(
                "\t".join(
                    [row["name"], *(str(row[key] if row[key] is not None else "—") for key, _ in LABELS)]
                )
            )

    def rebuild(self) -> None:
        from vaxops.reports.services import facts_rebuild

        result = facts_rebuild(actor=cli_actor(None))
        rows = result["rows"]
        self.stdout.write(
            f"已重算汇总表：{result['people']} 人，剂次 {rows['dose']} 行（累计 {rows['dose_total']} 行），"
            f"人数 {rows['people']} 行（累计 {rows['people_total']} 行），用时 {result['seconds']} 秒"
        )

    def check_facts(self, *, as_json: bool) -> None:
        from vaxops.reports.services import facts_check

        result = facts_check()
        if as_json:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
        elif result["ok"]:
            self.stdout.write(f"汇总表与接种记录一致（{result['rows']}）")
        else:
            self.stdout.write(f"汇总表与接种记录不一致：{result['count']} 处")
            for d in result["differences"]:
                self.stdout.write(f"  {d['table']} {d['key']}: 应为 {d['expected']}，实为 {d['stored']}")
        if not result["ok"]:
            raise SystemExit(1)
