"""``vaxops safety maxsprt-cv --T 10 --M 3 --alpha 0.05 [--json]``: the exact MaxSPRT critical value;
``vaxops safety signals [--date D]``: the daily signals run; ``vaxops safety clocks``: escalate the clocks."""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from vaxops.safety import domain


class Command(BaseCommand):
    help = "疫苗安全性 / vaccine safety: maxsprt-cv, signals, clocks"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        cv = sub.add_parser("maxsprt-cv", help="连续泊松 MaxSPRT 的精确临界值")
        cv.add_argument("--T", type=float, required=True, help="期望事件数上限")
        cv.add_argument("--M", type=int, default=1, help="发出信号所需最少事件数")
        cv.add_argument("--alpha", type=float, default=0.05, help="显著性水平")
        cv.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
        sig = sub.add_parser("signals", help="运行一次每日信号检测")
        sig.add_argument("--date", help="YYYY-MM-DD（默认今天）")
        sub.add_parser("clocks", help="检查各个案的时限并提醒")

    def handle(self, *args, what, **options):
        if what == "maxsprt-cv":
            r = domain.critical_value(options["T"], options["M"], options["alpha"])
            if options["json"]:
                out = {"cv": r.cv, "T": r.T, "M": r.M, "alpha": r.alpha}
                if r.cv is None:
                    out["reason"] = r.reason
                self.stdout.write(json.dumps(out, ensure_ascii=False))
            elif r.cv is None:
                self.stdout.write(f"无临界值：{r.reason}")
            else:
                self.stdout.write(f"CV = {r.cv:.10f}（T={r.T:g}，M={r.M}，alpha={r.alpha:g}）")
            return
        from vaxops.safety import services

        if what == "signals":
            try:
                day = dt.date.fromisoformat(options["date"]) if options.get("date") else None
            except ValueError:
                raise CommandError(f"日期格式应为 YYYY-MM-DD：{options['date']}") from None
            opened = services.signals_run(day=day)
            self.stdout.write(f"新信号 {len(opened)} 个")
            for s in opened:
                self.stdout.write(
                    f"{s.product_code} {s.outcome.name}: 观察 {s.observed}，期望 {s.expected:.3f}，LLR {s.llr:.3f} ≥ CV {s.cv:.3f}"
                )
            return
        self.stdout.write(f"时限提醒 {services.clocks_escalate()} 条")
