"""The demo county's safety set-up: the two designated hospitals of the plan (县人民医院, the severe-case
hospital, and 县中医院), every site paired with one of them, the hospital user on both, the expert panel, and
three watched outcomes with background rates per 100,000 doses by age band; the "四有" roster of the demo's
sessions (the paired hospital's trained rescue doctors on duty and the ambulance) and a few cases at different
steps of the workflow."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from vaxops.accounts.models import User
from vaxops.clinic.models import Dose
from vaxops.core import clock
from vaxops.core.actors import SystemActor
from vaxops.jurisdictions.models import Division
from vaxops.safety import services
from vaxops.safety.models import (
    AdverseEventReport,
    AmbulanceCover,
    BackgroundRate,
    Expert,
    Hospital,
    Outcome,
    SitePairing,
)
from vaxops.sites.models import Assignment, Certificate, Site, SiteKind, StaffMember, StaffRole

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


# The doctors each hospital sends to the sites paired with it (急诊科, trained for on-site rescue), and the
# ambulance covering the sites' sessions: on site at the large temporary site, on rounds for the clinic.
RESCUE_DOCTORS = ("急诊科医生", "麻醉科医生")


def demo_safety_cover_build(*, today: dt.date) -> int:
    """The "四有"'s roster for the demo's sessions from today on: at each paired site two rescue doctors of its
    paired hospital (trained, certificate valid a year), registered with the hospital, one on duty per session,
    and the ambulance (on site or on rounds, with its phone), recorded by the county CDC's user as a county
    would. Idempotent: a session already covered is left alone. Returns how many sessions were covered."""
    cdc = User.objects.filter(username="cdc").first()
    if cdc is None:
        return 0
    covered = 0
    with transaction.atomic():
        for pairing in SitePairing.objects.select_related("site", "hospital").order_by("site__code"):
            site, hospital = pairing.site, pairing.hospital
            doctors = list(hospital.rescue_staff.filter(site=site, active=True).order_by("pk"))
            for i, title in enumerate(RESCUE_DOCTORS[len(doctors) :], start=len(doctors) + 1):
                member = StaffMember.objects.create(
                    site=site,
                    name=f"{hospital.name.removeprefix('清溪县')}{title}{i}",
                    roles=[StaffRole.RESCUE.value],
                    phone=f"1380000{hospital.pk % 100:02d}{i:02d}",
                )
                Certificate.objects.create(
                    staff=member,
                    kind="training",
                    number=f"QXJJ{member.pk:04d}",
                    valid_from=dt.date(2021, 3, 1),
                    valid_to=today + dt.timedelta(days=365),
                    issuer="清溪县卫生健康局",
                )
                services.hospital_rescue_staff_add(actor=cdc, hospital=hospital, staff=member)
                doctors.append(member)
            on_site = site.kind == SiteKind.TEMPORARY
            for k, session in enumerate(site.sessions.filter(day__gte=today).order_by("day")):
                if AmbulanceCover.objects.filter(session=session).exists():
                    continue
                if not Assignment.objects.filter(session=session, role=StaffRole.RESCUE.value).exists():
                    services.rescue_duty_add(actor=cdc, session=session, staff=doctors[k % len(doctors)])
                services.ambulance_cover_set(
                    actor=cdc,
                    session=session,
                    mode="on_site" if on_site else "on_rounds",
                    phone=hospital.phone,
                    plate="浙A·QX120" if on_site else "",
                )
                covered += 1
    return covered


def demo_safety_cases_build(*, today: dt.date) -> int:
    """Three suspected AEFI cases on the clinic's recent desk doses, each at another step of the workflow, so
    the county's, the hospital's and the panel's pages have something to show:

    * a fever and local swelling reported by the site two days after the dose — reported, clocks running;
    * a serious allergic reaction (hospitalisation) referred to the designated hospital, admitted with a
      treatment record, under investigation by the county CDC (its lot proposed for a hold, waiting for the
      county's click);
    * a rash classified by the expert panel as a common reaction (一般反应), closed.

    Built once (returns 0 when the demo has cases already or the clinic has no desk doses)."""
    if AdverseEventReport.objects.exists():
        return 0
    users = {
        u.username: u for u in User.objects.filter(username__in=("observation", "hospital", "cdc", "panel"))
    }
    if len(users) < 4:
        return 0
    doses = list(
        Dose.objects.filter(site__code="QX-S001", voided_at__isnull=True, lot__isnull=False)
        .select_related("site")
        .order_by("-given_on", "-id")[:3]
    )
    if len(doses) < 3:
        return 0
    now = clock.now()
    nurse, doctor, cdc, panel = users["observation"], users["hospital"], users["cdc"], users["panel"]

    def onset(dose: Dose, hours: int) -> dt.datetime:
        given = dose.given_at or timezone.make_aware(dt.datetime.combine(dose.given_on, dt.time(9)))
        return min(given + dt.timedelta(hours=hours), now - dt.timedelta(hours=3))

    with transaction.atomic():
        fever = services.report_create(
            actor=nurse,
            dose=doses[0],
            source="site",
            onset_at=onset(doses[0], 30),
            discovered_at=now - dt.timedelta(hours=2),
            signs=["发热", "局部红肿"],
            description="接种后次日午后体温38.2℃，注射部位红肿约2厘米，家属电话告知接种门诊。",
            treatment="嘱多饮水、物理降温，随访观察。",
            reporter_name=nurse.full_name or nurse.username,
            reporter_unit=doses[0].site.name,
        )
        severe = services.report_create(
            actor=nurse,
            dose=doses[1],
            source="site",
            onset_at=onset(doses[1], 1),
            discovered_at=now - dt.timedelta(hours=20),
            signs=["过敏性休克", "呼吸困难", "皮疹"],
            description="接种后约1小时出现全身皮疹、胸闷气促，血压下降，现场肾上腺素肌注后由救护车转诊。",
            criteria=["hospitalisation", "life_threatening"],
            treatment="现场肾上腺素0.5mg肌注，吸氧，建立静脉通道。",
            reporter_name=nurse.full_name or nurse.username,
            reporter_unit=doses[1].site.name,
        )
        case = services.referral_make(actor=nurse, report=severe)
        services.treatment_add(
            actor=doctor,
            case_id=case.pk,
            note="急诊收入院：予抗过敏、补液治疗，生命体征平稳，留院观察。",
        )
        services.investigation_open(actor=cdc, report_id=severe.pk)
        rash = services.report_create(
            actor=nurse,
            dose=doses[2],
            source="site",
            onset_at=onset(doses[2], 6),
            discovered_at=now - dt.timedelta(days=1),
            signs=["皮疹"],
            description="接种当晚上臂及胸前散在红色皮疹，无瘙痒加重，未就医。",
            reporter_name=nurse.full_name or nurse.username,
            reporter_unit=doses[2].site.name,
        )
        services.investigation_open(actor=cdc, report_id=rash.pk)
        services.panel_classify(
            actor=panel,
            report_id=rash.pk,
            diagnosis="接种后一过性皮疹",
            classification="common",
            reasoning="皮疹局限、自行消退，与疫苗已知一般反应相符，无其他原因可解释。",
            expert_ids=list(Expert.objects.order_by("pk").values_list("pk", flat=True)[:3]),
        )
        services.report_close(actor=cdc, report_id=rash.pk)
    return len([fever, severe, rash])
