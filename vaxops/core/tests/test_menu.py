"""The header menu is declared once (``core.menu.MENU``): every route it names exists, each role sees only the
entries its permissions allow, and the user label shows the person's name and the role once."""

import pytest
from django.urls import reverse

from vaxops.accounts.roles import ROLES
from vaxops.conftest import PASSWORD
from vaxops.core.menu import MENU, menu_for
from vaxops.core.templatetags.vaxops_menu import who_label


def test_every_menu_route_exists_and_groups_are_unique():
    keys = [g.key for g in MENU]
    assert len(keys) == len(set(keys))
    assert keys == ["registry", "campaign", "supply", "sites", "desk", "reports", "admin"]
    for group in MENU:
        for entry in group.entries:
            assert reverse(entry.route).startswith("/"), entry.route


@pytest.mark.django_db
@pytest.mark.parametrize("role", [r.code for r in ROLES])
def test_a_role_sees_only_the_entries_its_permissions_allow(county, role):
    from vaxops.accounts.services import user_create

    user = user_create(username=f"u_{role}", password=PASSWORD, role=role, division=county)
    shown = {e["route"] for g in menu_for(user) for e in g["entries"]}
    for group in MENU:
        for entry in group.entries:
            allowed = any(user.has_perm(p) for p in entry.perms) or bool(entry.also and entry.also(user))
            assert (entry.route in shown) == allowed, (role, entry.route)
    assert all(g["entries"] for g in menu_for(user))  # no empty group is drawn


@pytest.mark.django_db
def test_the_county_planner_sees_every_group_and_the_auditor_no_desk_or_import(cdc, auditor):
    assert [g["key"] for g in menu_for(cdc)] == [
        "registry",
        "campaign",
        "supply",
        "sites",
        "desk",
        "reports",
        "admin",
    ]
    routes = [e["route"] for g in menu_for(auditor) for e in g["entries"]]
    assert "audit:events" in routes
    assert "registry:import" not in routes and "desk:home" not in routes


@pytest.mark.django_db
def test_the_user_label_names_the_person_and_the_role_once(cdc):
    cdc.full_name = "陈立新"
    assert who_label(cdc) == "陈立新 · 县疾控中心（免疫规划科）"
    cdc.full_name = "县疾控中心（免疫规划科）"  # an account named after its role: said once
    assert who_label(cdc) == "县疾控中心（免疫规划科）"


@pytest.mark.django_db
def test_the_header_is_drawn_from_the_menu(client, cdc, auditor):
    client.force_login(cdc)
    html = client.get("/").content.decode()
    assert 'data-group="supply"' in html and reverse("coldchain:overview") in html
    assert html.count("县疾控中心（免疫规划科）") <= 2  # the label once, the home page's heading once
    client.force_login(auditor)
    html = client.get("/").content.decode()
    assert 'data-group="desk"' not in html and reverse("registry:import") not in html
    assert reverse("audit:events") in html


@pytest.mark.django_db
def test_the_registration_home_links_to_the_desk(client, county):
    from vaxops.accounts.services import user_create
    from vaxops.jurisdictions.models import Division

    user = user_create(
        username="reg",
        password=PASSWORD,
        role="site_registration",
        division=Division.objects.get(code="330199001000"),
    )
    from vaxops.sites.models import Site, StaffMember

    site = Site.objects.create(
        code="S1", name="甲镇卫生院接种门诊", division=user.division, hospital_name="县人民医院"
    )
    StaffMember.objects.create(site=site, name="郑晓东", roles=["registration"], user=user)
    client.force_login(user)
    html = client.get("/").content.decode()
    assert f'href="{reverse("desk:home")}"' in html
    assert "接种台（签到、预检、接种、留观）" in html
