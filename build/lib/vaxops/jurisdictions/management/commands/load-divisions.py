from django.core.management.base import BaseCommand

from vaxops.jurisdictions.services import divisions_load_national


class Command(BaseCommand):
    help = "载入全国省、市、县、乡镇（街道）区划代码。Load the national division lists."

    def add_arguments(self, parser):
        parser.add_argument("--province", action="append", help="只载入这些省（2位代码），可重复")
        parser.add_argument("--no-townships", action="store_true")

    def handle(self, *args, province, no_townships, **options):
        n = divisions_load_national(provinces=province, townships=not no_townships)
        self.stdout.write(f"新增区划 {n} 个")
