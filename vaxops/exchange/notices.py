"""The 2-day rule's notification: every morning, each site with doses not yet acknowledged 2 days after they
were given gets a message (to its staff on duty with a phone, through notify; once per site, person and day)."""

from vaxops.core import clock
from vaxops.notify.services import notification_queue
from vaxops.sites.models import StaffMember

from . import selectors

TEMPLATE = "exchange_backlog"


def backlog_notify() -> int:
    """Queue the messages; returns how many were queued (a second run the same day queues none)."""
    rows = selectors.backlog_by_site()
    if not rows:
        return 0
    day = clock.today().isoformat()
    by_site = {r["site_id"]: r for r in rows if r["site_id"]}
    queued = 0
    staff = StaffMember.objects.filter(site_id__in=list(by_site), active=True).exclude(phone="")
    for member in staff.values("id", "site_id", "phone"):
        r = by_site[member["site_id"]]
        text = (
            f"【疫苗接种】{r['name']}有{r['doses']}剂次接种信息超过2天未上传到省级/国家平台"
            f"（最早{r['oldest']:%m月%d日}），请核对网络与录入后联系县疾控中心。"
        )
        if notification_queue(
            template=TEMPLATE, phone=member["phone"], text=text, reference=f"xb:{day}:{member['id']}"
        ):
            queued += 1
    return queued
