import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from vaxops.core.actors import cli_actor
from vaxops.core.errors import VaxOpsError
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

    def handle(self, *args, path, village, employer, user, json: bool, **options):
        p = Path(path)
        if not p.is_file():
            raise CommandError(f"文件不存在：{path}")
        try:
            actor = cli_actor(user)
            with p.open("rb") as f:
                table = open_table(f, size=p.stat().st_size, filename=p.name)
                show = not json and sys.stderr.isatty() or options.get("verbosity", 1) > 1
                bar = tqdm(total=table.size, unit="B" if p.suffix.lower() != ".xlsx" else "行", unit_scale=True,
                           desc="导入", disable=not show, file=sys.stderr)

                def progress(result):
                    bar.n = table.done()
                    bar.set_postfix(行=result.read, 拒绝=result.rejected, refresh=False)
                    bar.refresh()

                result = residents_import(table=table, actor=actor, village_code=village, employer_code=employer,
                                          filename=p.name, on_batch=progress)
                bar.close()
        except VaxOpsError as e:
            raise CommandError(e.message) from None
        out = result.as_dict()
        if json:
            self.stdout.write(_json(out))
            return
        self.stdout.write(
            f"读取 {out['read']} 行：新建 {out['created']}，更新 {out['updated']}，未变 {out['unchanged']}，拒绝 {out['rejected']}"
        )
        for e in out["errors"][:50]:
            self.stdout.write(f"  第{e['row']}行 [{e['column']}] {e['message']}")
        if len(out["errors"]) > 50:
            self.stdout.write(f"  ……另有 {len(out['errors']) - 50} 条错误（使用 --json 查看全部）")


def _json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
