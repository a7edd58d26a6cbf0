"""The demo county: a fictional county under a real prefecture, with people, employers and one user per role."""

from datetime import date

from django.db import transaction

from vaxops.accounts.models import User
from vaxops.accounts.roles import ROLES
from vaxops.accounts.services import user_create
from vaxops.core.actors import SystemActor
from vaxops.demo.population import DEMO_EMPLOYERS, generate_people, township_names, village_names
from vaxops.jurisdictions.models import Division
from vaxops.jurisdictions.services import division_create, divisions_load_national
from vaxops.registry.models import Employer, PriorityGroup
from vaxops.registry.services import ImportResult, residents_import
from vaxops.registry.tables import TEMPLATE_HEADERS, table_from_dicts

PREFECTURE = "3301"  # 杭州市 (real)
COUNTY_CODE = "330199"  # not a real county code: the demo county is fictional
COUNTY_NAME = "清溪县"
DEMO_PASSWORD = "vaxops-demo-2021"  # noqa: S105 - printed for the demo on purpose
TOWNSHIPS = 10
VILLAGES_PER_TOWNSHIP = 15


def demo_county_build(*, seed: int) -> Division:
    """Create the province/city chain (official codes), the demo county, its townships and villages."""
    divisions_load_national(provinces=[PREFECTURE[:2]], townships=False)
    city = Division.objects.get(code=PREFECTURE.ljust(12, "0"))
    county = division_create(code=COUNTY_CODE, name=COUNTY_NAME, parent=city)
    vnames = iter(village_names(seed, TOWNSHIPS * VILLAGES_PER_TOWNSHIP))
    for t, tname in enumerate(township_names(seed, TOWNSHIPS), start=1):
        township = division_create(code=f"{COUNTY_CODE}{t:03d}", name=tname, parent=county)
        for v in range(1, VILLAGES_PER_TOWNSHIP + 1):
            division_create(code=f"{township.short_code}{v:03d}", name=next(vnames), parent=township)
    return county


def demo_employers_build(*, county: Division) -> list[Employer]:
    groups = {g.code: g for g in PriorityGroup.objects.all()}
    out = []
    for code, name, group in DEMO_EMPLOYERS:
        employer, _ = Employer.objects.get_or_create(
            code=code, defaults={"name": name, "division": county, "priority_group": groups.get(group)}
        )
        out.append(employer)
    return out


def demo_users_build(*, county: Division, employer: Employer) -> list[tuple[str, str, str]]:
    """One user per role (plus ``admin``); returns (username, role label, scope label) rows."""
    township = Division.objects.get(code=f"{COUNTY_CODE}001".ljust(12, "0"))
    village = Division.objects.get(code=f"{COUNTY_CODE}001001")
    plan = {
        "county_admin": ("cdc", county, None),
        "township_worker": ("township", township, None),
        "village_worker": ("village", village, None),
        "employer_contact": ("employer", None, employer),
        "site_screening": ("screening", township, None),
        "site_registration": ("registration", township, None),
        "site_vaccinator": ("vaccinator", township, None),
        "site_observation": ("observation", township, None),
        "hospital": ("hospital", county, None),
        "safety_panel": ("panel", county, None),
        "leader": ("leader", county, None),
        "auditor": ("auditor", county, None),
        "medical_insurance": ("yibao", county, None),
        "finance": ("caizheng", county, None),
        "grid_head": ("gridhead", village, None),
    }
    # Each account is a person: the header shows the name, then the role.
    names = {
        "county_admin": "陈立新",
        "township_worker": "周海燕",
        "village_worker": "李德明",
        "employer_contact": "孙丽",
        "site_screening": "吴敏",
        "site_registration": "郑晓东",
        "site_vaccinator": "王桂兰",
        "site_observation": "冯静",
        "hospital": "蒋文华",
        "safety_panel": "沈国平",
        "leader": "韩志强",
        "auditor": "杨帆",
    }
    rows = []
    for role in ROLES:
        username, division, emp = plan[role.code]
        if not User.objects.filter(username=username).exists():
            user_create(
                username=username,
                password=DEMO_PASSWORD,
                role=role.code,
                division=division,
                employer=emp,
                full_name=names.get(role.code, role.name_zh),
                site_name=f"{township.name}卫生院接种点" if role.code.startswith("site_") else "",
            )
        rows.append((username, role.name_zh, emp.name if emp else (division.name if division else "")))
    if not User.objects.filter(username="admin").exists():
        user_create(
            username="admin",
            password=DEMO_PASSWORD,
            role="",
            division=county,
            is_superuser=True,
            full_name="系统管理员",
        )
    rows.append(("admin", "系统管理员（后台）", "全部"))
    return rows


def demo_seed(
    *, residents: int, seed: int, today: date, on_batch=None, on_step=None
) -> tuple[ImportResult, list[tuple[str, str, str]]]:
    """Load the whole demo; running it again with the same arguments changes nothing. ``on_batch`` follows
    the residents' import; ``on_step(label)`` is told as each later stage begins (they take as long again,
    and a console that stopped at 100 % looked hung)."""
    step = on_step or (lambda label: None)
    with transaction.atomic():
        county = demo_county_build(seed=seed)
        employers = demo_employers_build(county=county)
        users = demo_users_build(county=county, employer=employers[0])
    villages = [
        d.code for d in Division.objects.filter(code__startswith=COUNTY_CODE, level=5).order_by("code")
    ]
    people = generate_people(
        n=residents,
        seed=seed,
        county_code=COUNTY_CODE,
        village_codes=villages,
        employers=[
            (e.code, e.name, e.priority_group.code if e.priority_group else "general") for e in employers
        ],
        today=today,
    )
    headers = list(TEMPLATE_HEADERS)
    table = table_from_dicts(headers, people)
    result = residents_import(
        table=table, actor=SystemActor("seed-demo"), filename="seed-demo", on_batch=on_batch
    )
    demo_doses_build(seed=seed, on_step=step)
    from vaxops.demo.supply import demo_supply_build

    step("疫苗批号、库存与追溯码 / vaccine lots, stock and trace codes")

    demo_supply_build(county_code=COUNTY_CODE, today=today)
    from vaxops.demo.sites import demo_sites_build

    step("接种点、场次与预约 / sites, sessions and bookings")

    demo_sites_build(county_code=COUNTY_CODE, today=today)
    from vaxops.demo.coldchain import demo_coldchain_build

    step("冷链设备与一周温度记录 / cold-chain equipment and a week of readings")

    demo_coldchain_build(seed=seed)
    from vaxops.demo.safety import demo_safety_build

    step("疫苗安全个案 / vaccine safety cases")

    demo_safety_build(county_code=COUNTY_CODE)
    from vaxops.demo.safety import demo_safety_cases_build, demo_safety_cover_build

    demo_safety_cover_build(today=today)
    from vaxops.demo.exchange import demo_exchange_build

    demo_exchange_build()
    from vaxops.demo.settlement import demo_settlement_build

    demo_settlement_build(today=today)
    step("疑似预防接种异常反应个案 / suspected adverse-event cases")
    demo_safety_cases_build(today=today)
    from vaxops.demo.field import demo_field_build

    demo_field_build(county_code=COUNTY_CODE, today=today)
    from vaxops.certs.models import SigningKey
    from vaxops.certs.services import signing_key_generate

    step("凭证签名密钥 / the certificate signing key")
    if not SigningKey.objects.filter(active=True, revoked_at__isnull=True).exists():
        signing_key_generate(actor=SystemActor("seed-demo"), common_name="VaxOps demo DSC 清溪县")
    from vaxops.demo.history import demo_progress_build

    step("历年接种进度记录 / the campaign's progress records")
    demo_progress_build(seed=seed, today=today)
    return result, users


def demo_doses_build(*, seed: int, refresh: bool = True, on_step=None) -> int:
    """The 2021–2022 dose history of the demo's adults (``vaxops.demo.history``); returns how many were added."""
    from vaxops.demo.history import demo_history_doses

    step = on_step or (lambda label: None)
    step("2021–2022 年接种史 / the 2021–2022 dose history")
    added = demo_history_doses(seed=seed)
    from vaxops.reports.services import facts_rebuild

    step("接种进度统计 / the progress figures")
    facts_rebuild()  # the progress facts of the doses just written in bulk
    if refresh:
        from vaxops.campaign.services import status_refresh_all

        step("每人接种状态 / each person's vaccination status")
        status_refresh_all()
    return added
