import json

from django.core.management.base import BaseCommand, CommandError

from vaxops.jurisdictions.models import Division
from vaxops.jurisdictions.selectors import LEVEL_BY_NAME, division_get, divisions_within


class Command(BaseCommand):
    help = "列出行政区划节点（代码、名称、层级、上级代码）。List jurisdiction nodes."

    def add_arguments(self, parser):
        parser.add_argument("--level", choices=sorted(LEVEL_BY_NAME), help="只列出该层级")
        parser.add_argument("--within", help="只列出该节点之下（含自身）")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, level, within, json: bool, **options):
        qs = Division.objects.all()
        if within:
            root = division_get(code=within)
            if root is None:
                raise CommandError(f"区划代码不存在：{within}")
            qs = divisions_within(root=root)
        if level:
            qs = qs.filter(level=LEVEL_BY_NAME[level])
        rows = qs.order_by("code").values_list("code", "name", "level", "parent__code")
        names = {v: k for k, v in LEVEL_BY_NAME.items()}
        if json:
            self.stdout.write(
                _dump(
                    [
                        {"code": c, "name": n, "level": names[lv], "parent_code": p}
                        for c, n, lv, p in rows.iterator()
                    ]
                )
            )
            return
        for c, n, lv, p in rows.iterator():
            self.stdout.write(f"{c}\t{n}\t{names[lv]}\t{p or ''}")


def _dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
