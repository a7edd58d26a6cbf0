import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from vaxops.campaign.services import status_refresh_all
from vaxops.registry.models import Resident


class Command(BaseCommand):
    help = "重新计算每位居民的接种状态（动员名单依据）。Recompute every resident's immunisation status."

    def add_arguments(self, parser):
        parser.add_argument("--missing", action="store_true", help="只计算尚无状态的居民")

    def handle(self, *args, missing: bool, **options):
        total = Resident.objects.filter(status__isnull=True).count() if missing else Resident.objects.count()
        bar = tqdm(total=total, unit="人", desc="接种状态", file=sys.stderr, disable=options["verbosity"] < 1)

        def progress(done):
            bar.n = done
            bar.refresh()

        n = status_refresh_all(only_missing=missing, progress=progress)
        bar.close()
        self.stdout.write(f"已计算 {n} 人")
