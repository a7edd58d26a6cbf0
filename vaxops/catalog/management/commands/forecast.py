"""``vaxops forecast --birth-date D --dose PRODUCT@DATE … --on D [--json]``: what may this person receive, and when?"""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from vaxops.catalog import domain
from vaxops.catalog.selectors import catalogue_current, forecast_from_inputs
from vaxops.core import clock
from vaxops.core.errors import VaxOpsError

LABELS = {
    "birth_date": "--birth-date",
    "doses": "--dose",
    "on": "--on",
    "contraindicated": "--contraindicated",
    "deferred_until": "--deferred-until",
}


class Command(BaseCommand):
    help = "接种评估：已接种剂次是否有效、接种状态和下一剂。Forecast the next COVID-19 dose."

    def add_arguments(self, parser):
        parser.add_argument("--birth-date", help="出生日期 YYYY-MM-DD（必填）")
        parser.add_argument(
            "--dose",
            action="append",
            default=[],
            metavar="PRODUCT@DATE",
            help="已接种剂次，可重复；品种为目录编码或 DCC mp 编码，如 BBIBP-CorV@2021-04-01",
        )
        parser.add_argument("--on", help="评估日期 YYYY-MM-DD（默认今天）")
        parser.add_argument(
            "--contraindicated",
            action="append",
            default=[],
            metavar="PRODUCT|all",
            help="有接种禁忌的品种，可重复；all 表示全部品种",
        )
        parser.add_argument("--deferred-until", help="暂缓接种至该日期 YYYY-MM-DD")
        parser.add_argument("--json", action="store_true", help="输出 JSON（与 POST /api/v1/forecast 相同）")

    def handle(self, *args, birth_date, dose, on, contraindicated, deferred_until, json: bool, **options):
        if not birth_date:
            raise CommandError("--birth-date：请填写出生日期（YYYY-MM-DD）")
        try:
            forecast = forecast_from_inputs(
                birth_date=birth_date,
                doses=dose,
                on=on or clock.today(),
                contraindicated=contraindicated,
                deferred_until=deferred_until,
                labels=LABELS,
            )
        except VaxOpsError as e:
            raise CommandError(e.message) from None
        if json:
            self.stdout.write(_json(domain.forecast_to_dict(forecast)))
            return
        # Already validated by forecast_from_inputs.
        birth = dt.date.fromisoformat(birth_date.strip())
        for line in summary_lines(forecast, birth_date=birth, catalogue=catalogue_current()):
            self.stdout.write(line)


def _json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def summary_lines(
    forecast: domain.Forecast, *, birth_date: dt.date, catalogue: domain.Catalogue
) -> list[str]:
    """A readable Chinese account of the forecast, one line per item."""
    age = domain.age_on(birth_date, forecast.on)

    def name(code: str) -> str:  # the short name people know (国药北京…), the code when there is none
        found = catalogue.find_product(code)
        return found.short_zh if found else code

    lines = [
        f"评估日期：{forecast.on.isoformat()}　出生日期：{birth_date.isoformat()}（{age}周岁）",
        f"接种状态：{forecast.status_zh}",
    ]
    if forecast.course_product:
        product = catalogue.find_product(forecast.course_product)
        lines.append(f"首剂品种：{product.label_zh if product else forecast.course_product}")
    if forecast.doses:
        lines.append(f"已接种剂次：{len(forecast.doses)}（有效 {forecast.valid_dose_count}）")
        for d in forecast.doses:
            if d.valid:
                which = "加强针" if d.is_booster else f"第{d.dose_number}剂"
                verdict = f"{which}，{d.reason.message_zh}"
            else:
                verdict = f"无效：{d.reason.message_zh}"
            lines.append(f"  {d.dose.date.isoformat()}　{name(d.dose.product_code)}　{verdict}")
    else:
        lines.append("已接种剂次：无")
    nd = forecast.next_dose
    if nd is None:
        lines.append("下一剂：无")
    else:
        which = "加强针" if nd.is_booster else f"第{nd.number}剂"
        lines.append(f"下一剂：{which}")
        lines.append("  可选品种：" + "、".join(name(c) for c in nd.allowed_products))
        latest = nd.latest.isoformat() if nd.latest else "—"
        overdue = "（已逾期，请尽快补种）" if nd.overdue or (nd.latest and forecast.on > nd.latest) else ""
        lines.append(
            f"  最早：{nd.earliest.isoformat()}　推荐：{nd.recommended.isoformat()}　最晚：{latest}{overdue}"
        )
    if forecast.reasons:
        lines.append("说明：")
        lines += [f"  - {r}" for r in forecast.reasons]
    return lines
