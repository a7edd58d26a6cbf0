import sys
import time

from django.core.management.base import BaseCommand
from tqdm import tqdm

from vaxops.core import clock
from vaxops.demo.county import DEMO_PASSWORD, demo_seed


class Steps:
    """The stages after the residents' import, one line each with the seconds it took (the import has its bar;
    what follows took as long again in silence)."""

    def __init__(self, out, bar, *, quiet: bool = False) -> None:
        self.out, self.bar, self.quiet = out, bar, quiet
        self.label = ""
        self.started = 0.0
        self.seen: list[str] = []

    def __call__(self, label: str) -> None:
        if not self.seen:
            self.bar.close()  # the import is done: its bar stands at 100 %
        self.finish()
        self.seen.append(label)
        self.label, self.started = label, time.monotonic()
        if not self.quiet:
            self.out.write(f"  {label} …", ending="")
            self.out.flush()

    def finish(self) -> None:
        if self.label and not self.quiet:
            self.out.write(f" {time.monotonic() - self.started:.1f} 秒 / s")
            self.out.flush()
        self.label = ""


class Command(BaseCommand):
    help = "载入演示县（区划、单位、各角色用户、合成居民）。Load the demo county."

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=2021)

    def handle(self, *args, residents: int, seed: int, **options):
        bar = tqdm(
            total=residents, unit="人", desc="生成居民", file=sys.stderr, disable=options["verbosity"] < 1
        )

        def progress(result):
            bar.n = result.read
            bar.refresh()

        steps = Steps(self.stderr, bar, quiet=options["verbosity"] < 1)
        result, users = demo_seed(
            residents=residents, seed=seed, today=clock.today(), on_batch=progress, on_step=steps
        )
        steps.finish()
        bar.close()
        self.stdout.write(
            f"居民：读取 {result.read}，新建 {result.created}，更新 {result.updated}，未变 {result.unchanged}，拒绝 {result.rejected}"
        )
        self.stdout.write(f"\n演示账号（密码均为 {DEMO_PASSWORD}）：")
        for username, role, scope in users:
            self.stdout.write(f"  {username:<14}{role}（{scope}）")
