"""``vaxops settlement --month YYYY-MM [--site CODE] [--json] [--show]``: settle the month (its drafts are
computed anew; confirmed, approved and paid statements stay as they are) and print each site's totals.

``--json`` prints ``{"month": …, "rows": [{"site", "doses", "service_fee_yuan", "vaccine_cost_yuan",
"payable_yuan", "fiscal_subsidy_yuan", "old_channel_doses"}], "total": {…}}`` with money as decimal strings;
``--show`` prints what is stored without computing."""

import json

from django.core.management.base import BaseCommand, CommandError

from vaxops.core.actors import SystemActor
from vaxops.core.errors import VaxOpsError
from vaxops.settlement import domain, selectors, services
from vaxops.settlement.models import Settlement
from vaxops.sites.models import Site


class Command(BaseCommand):
    help = "疫苗及接种费用月度结算 / monthly settlement of vaccine and service fees"

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--site", help="接种单位编码 / site code")
        parser.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
        parser.add_argument("--show", action="store_true", help="只显示已存的结算，不计算")

    def handle(self, *args, month, site, json: bool, show: bool, **options):
        try:
            first = domain.parse_month(month)
        except ValueError:
            raise CommandError(f"月份格式应为 YYYY-MM：{month}") from None
        the_site = None
        if site:
            the_site = Site.objects.filter(code=site).first()
            if the_site is None:
                raise CommandError(f"没有编码为 {site} 的接种单位")
        if not show:
            try:
                services.settlement_run(actor=SystemActor(), month=first, site=the_site)
            except VaxOpsError as e:
                raise CommandError(f"{e} [{e.code}]") from None
        qs = Settlement.objects.select_related("site")
        if the_site is not None:
            qs = qs.filter(site=the_site)
        summary = selectors.month_summary(qs, first)
        if json:
            self.stdout.write(_dumps(summary))
            return
        self.stdout.write(f"{summary['month']} 结算（元）")
        for r in [*summary["rows"], {"site": "合计", **summary["total"]}]:
            self.stdout.write(
                f"{r['site']:<12} 剂次 {r['doses']:>8}  服务费 {r['service_fee_yuan']:>14}  疫苗 "
                f"{r['vaccine_cost_yuan']:>14}  医保应付 {r['payable_yuan']:>14}  财政补助 "
                f"{r['fiscal_subsidy_yuan']:>13}  原渠道 {r['old_channel_doses']}"
            )


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
