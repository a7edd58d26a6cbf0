import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from vaxops.core.actors import cli_actor
from vaxops.core.errors import VaxOpsError
from vaxops.core.importing import run_with_progress, write_result
from vaxops.reports.services import population_import
from vaxops.reports.tables import population_table_open


class Command(BaseCommand):
    help = (
        "导入各区划人口数（CSV UTF-8/GBK 或 XLSX：区划代码、年份、人口口径（户籍/常住）、总人口、18岁及以上、"
        "60岁及以上）。Load population denominators per division."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--user", help="以该用户身份导入；默认系统身份")
        parser.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
        parser.add_argument("--errors", metavar="FILE.csv", help="把全部逐行错误写入该 CSV 文件")

    def handle(self, *args, path, user, json: bool, errors=None, **options):
        p = Path(path)
        if not p.is_file():
            raise CommandError(f"文件不存在：{path}")
        try:
            actor = cli_actor(user)
            with p.open("rb") as f:
                table = population_table_open(f, size=p.stat().st_size, filename=p.name)
                quiet = not (not json and sys.stderr.isatty() or options.get("verbosity", 1) > 1)
                result = run_with_progress(
                    table,
                    lambda on_batch: population_import(
                        table=table, actor=actor, filename=p.name, on_batch=on_batch
                    ),
                    quiet=quiet,
                    xlsx=p.suffix.lower() == ".xlsx",
                )
        except VaxOpsError as e:
            raise CommandError(e.message) from None
        write_result(self.stdout, result.as_dict(), as_json=json, errors_path=errors)
