import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from vaxops.core.actors import cli_actor
from vaxops.core.errors import VaxOpsError
from vaxops.core.importing import run_with_progress, write_result
from vaxops.registry.services import residents_import
from vaxops.registry.tables import open_table


class Command(BaseCommand):
    help = "导入摸底名单（CSV UTF-8/GBK 或 XLSX）。Import a census file."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--village", help="村(社区)代码：文件中所有人都属于该村")
        parser.add_argument("--employer", help="单位代码：文件中所有人都属于该单位")
        parser.add_argument("--user", help="以该用户身份导入（其辖区和权限生效）；默认系统身份")
        parser.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
        parser.add_argument("--errors", metavar="FILE.csv", help="把全部逐行错误写入该 CSV 文件")

    def handle(self, *args, path, village, employer, user, json: bool, errors=None, **options):
        p = Path(path)
        if not p.is_file():
            raise CommandError(f"文件不存在：{path}")
        try:
            actor = cli_actor(user)
            with p.open("rb") as f:
                table = open_table(f, size=p.stat().st_size, filename=p.name)
                quiet = not (not json and sys.stderr.isatty() or options.get("verbosity", 1) > 1)
                result = run_with_progress(
                    table,
                    lambda on_batch: residents_import(
                        table=table,
                        actor=actor,
                        village_code=village,
                        employer_code=employer,
                        filename=p.name,
                        on_batch=on_batch,
                    ),
                    quiet=quiet,
                    xlsx=p.suffix.lower() == ".xlsx",
                )
        except VaxOpsError as e:
            raise CommandError(e.message) from None
        write_result(self.stdout, result.as_dict(), as_json=json, errors_path=errors)
