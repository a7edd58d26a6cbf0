import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from vaxops.core.actors import cli_actor
from vaxops.core.errors import VaxOpsError
from vaxops.core.importing import run_with_progress, write_result
from vaxops.supply.models import PlaceKind, StockPlace
from vaxops.supply.services import codes_import
from vaxops.supply.tables import codes_table_open


class Command(BaseCommand):
    help = "导入疫苗追溯码到货文件（CSV UTF-8/GBK 或 XLSX：追溯码、批号、疫苗品种、有效期至）。Import a receipt file of traceability codes."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--place", help="收货地点编码；默认县疾控中心冷库")
        parser.add_argument("--user", help="以该用户身份导入；默认系统身份")
        parser.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
        parser.add_argument("--errors", metavar="FILE.csv", help="把全部逐行错误写入该 CSV 文件")

    def handle(self, *args, path, place, user, json: bool, errors=None, **options):
        p = Path(path)
        if not p.is_file():
            raise CommandError(f"文件不存在：{path}")
        if place:
            target = StockPlace.objects.filter(code=place).first()
            if target is None:
                raise CommandError(f"库存地点不存在：{place}")
        else:
            target = StockPlace.objects.filter(kind=PlaceKind.COUNTY_STORE).order_by("code").first()
            if target is None:
                raise CommandError(
                    "尚未登记县疾控中心冷库（类型为“县级疾控冷库”的库存地点），请先登记或用 --place 指定收货地点"
                )
        try:
            actor = cli_actor(user)
            with p.open("rb") as f:
                table = codes_table_open(f, size=p.stat().st_size, filename=p.name)
                quiet = not (not json and sys.stderr.isatty() or options.get("verbosity", 1) > 1)
                result = run_with_progress(
                    table,
                    lambda on_batch: codes_import(
                        table=table, actor=actor, place=target, filename=p.name, on_batch=on_batch
                    ),
                    quiet=quiet,
                    xlsx=p.suffix.lower() == ".xlsx",
                )
        except VaxOpsError as e:
            raise CommandError(e.message) from None
        write_result(self.stdout, result.as_dict(), as_json=json, errors_path=errors)
