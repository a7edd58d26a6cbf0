"""The project's own page: the home page, a dashboard across the apps (the jurisdiction's registry figures
and the tasks the user's role may start). It sits with ``urls`` above every app."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from vaxops.accounts.scope import scope_for
from vaxops.registry.models import Willingness
from vaxops.registry.selectors import resident_statistics


@login_required
def home(request):
    user = request.user
    if user.role == "hospital":
        # The designated hospital's home is its inbox of referred and transferred people.
        return redirect("safety:hospital")
    stats = groups = willingness = areas = None
    if user.has_perm("registry.view_resident") or user.has_perm("registry.view_statistics"):
        stats = resident_statistics(user=user)
        top = max([g["n"] for g in stats["by_group"]] or [1])
        groups = [{**g, "pct": round(g["n"] * 100 / top)} for g in stats["by_group"]]
        top_area = max([a["n"] for a in stats["by_area"]] or [1])
        areas = [{**a, "pct": round(a["n"] * 100 / top_area)} for a in stats["by_area"]]
        willingness = [(v, label, stats["by_willingness"].get(v, 0)) for v, label in Willingness.choices]
    tasks = []
    if user.has_perm("registry.view_resident"):
        tasks.append((_("查询辖区居民"), reverse("registry:residents")))
    if user.has_perm("registry.import_residents"):
        tasks.append((_("导入摸底名单"), reverse("registry:import")))
    if user.has_perm("reports.view_dailyreport"):
        # Named unlike the header's links (the page's other way there), so each link's name says where it goes.
        tasks.append((_("各乡镇接种进度（每日17时前确认）"), reverse("reports:daily")))
    if user.has_perm("reports.view_dashboard"):
        tasks.insert(0, (_("接种进度看板（图表、大屏）"), reverse("reports:dashboard")))
    if user.has_perm("reports.view_weeklybulletin"):
        tasks.append((_("疫苗接种周通报（往期通报）"), reverse("reports:bulletins")))
    if user.has_perm("safety.view_adverseeventreport") or user.has_perm("safety.view_safety_counts"):
        tasks.append((_("疑似预防接种异常反应（个案、时限、批号叫停）"), reverse("safety:cases")))
    if user.has_perm("clinic.administer_dose") or user.has_perm("clinic.void_dose") or hasattr(user, "staff"):
        tasks.append((_("接种台（签到、预检、接种、留观）"), reverse("desk:home")))
    if user.has_perm("audit.view_auditevent"):
        tasks.append((_("查询审计日志"), reverse("audit:events")))
    return render(
        request,
        "accounts/home.html",
        {
            "stats": stats,
            "groups": groups,
            "areas": areas,
            "willingness": willingness,
            "tasks": tasks,
            "scope_label": scope_for(user).label,
        },
    )
