"""``{% header_menu %}``: the header's menu from ``vaxops.core.menu.MENU`` for the signed-in user."""

from django import template

from vaxops.core.menu import menu_for

register = template.Library()


@register.inclusion_tag("core/_menu.html", takes_context=True)
def header_menu(context):
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    path = getattr(request, "path", "")
    groups = menu_for(user)
    for g in groups:
        g["current"] = any(path.startswith(e["url"]) for e in g["entries"])
    return {"groups": groups}


@register.simple_tag
def who_label(user) -> str:
    """The person's name, then their role once: "王建国 · 县疾控中心（免疫规划科）" (the name alone when it is
    the role's own label, or when the account has no role)."""
    name = getattr(user, "display_name", "") or ""
    role = getattr(user, "role_label", "") or ""
    if not role or role == name or role == getattr(user, "full_name", None):
        return name
    return f"{name} · {role}"
