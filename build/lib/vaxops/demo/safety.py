"""The demo county's safety set-up: the two designated hospitals of the plan (县人民医院, the severe-case
hospital, and 县中医院), every site paired with one of them, the hospital user on both, the expert panel, and
three watched outcomes with background rates per 100,000 doses by age band."""

from decimal import Decimal

from django.db import transaction

from vaxops.accounts.models import User
from vaxops.core.actors import SystemActor
from vaxops.jurisdictions.models import Division
from vaxops.safety import services
from vaxops.safety.models import BackgroundRate, Expert, Hospital, Outcome
from vaxops.sites.models import Site

EXPERTS = (
    ("孙立群", "主任医师", "儿科"),
    ("周文涛", "主任医师", "神经内科"),
    ("吴敏", "主任医师", "流行病学"),
    ("郑海", "副主任医师", "临床药学"),
    ("冯雪", "主任医师", "免疫学"),
)
OUTCOMES = (
    ("anaphylaxis", "严重过敏反应", "anaphylaxis", {"0-17": "0.5", "18-59": "1.0", "60+": "1.5"}),
    ("febrile_convulsion", "热性惊厥", "convulsion", {"0-17": "30", "18-59": "2", "60+": "2"}),
    ("gbs", "吉兰-巴雷综合征", "gbs", {"0-17": "0.5", "18-59": "1.5", "60+": "3"}),
)


def demo_safety_build(*, county_code: str) -> bool:
    """Build once; returns False when the demo hospitals exist already."""
    if Hospital.objects.exists():
        return False
    actor = SystemActor("seed-demo")
    county = Division.objects.get(code=county_code.ljust(12, "0"))
    with transaction.atomic():
        people = services.hospital_register(
            actor=actor,
            name=f"{county.name}人民医院",
            level="3",
            designated_severe=True,
            phone="0571-00000120",
            beds_held=6,
            reporter_name="钱卫东",
            reporter_phone="13800000120",
            division=county,
        )
        tcm = services.hospital_register(
            actor=actor,
            name=f"{county.name}中医院",
            level="2",
            designated_severe=False,
            phone="0571-00000121",
            beds_held=4,
            reporter_name="赵丽",
            reporter_phone="13800000121",
            division=county,
        )
        for user in User.objects.filter(role="hospital"):
            people.staff.add(user)
            tcm.staff.add(user)
        for i, site in enumerate(Site.objects.order_by("code")):
            services.site_pair(actor=actor, site=site, hospital=tcm if i == 0 else people)
        for name, title, specialty in EXPERTS:
            Expert.objects.create(
                name=name, title=title, specialty=specialty, employer="县预防接种异常反应调查诊断专家组"
            )
        for code, name, group, rates in OUTCOMES:
            o = Outcome.objects.create(code=code, name=name, sign_group=group)
            for band, v in rates.items():
                BackgroundRate.objects.create(outcome=o, band=band, per_100k=Decimal(v))
    return True
