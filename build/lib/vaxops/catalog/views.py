"""The read-only catalogue page; editing happens in the admin."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render

from vaxops.core import clock

from .selectors import catalogue_current, phases_listed, question_sets_current


def _interval_text(i, number: int) -> str:
    text = f"第{number - 1}→{number}剂 ≥{i.min_days}天"
    if i.recommended_days != i.min_days:
        text += f"（推荐{i.recommended_days}天）"
    if i.latest_days is not None:
        text += f"，距上一剂不超过{i.latest_days}天"
    if i.latest_from_dose1_days is not None:
        text += f"，距第1剂不超过{i.latest_from_dose1_days}天"
    return text


@login_required
@permission_required("catalog.view_product", raise_exception=True)
def catalogue(request):
    today = clock.today()
    cat = catalogue_current()
    products = []
    for p in cat.products:
        versions = []
        for pol in cat.policies_for(p.code):
            versions.append(
                {
                    "policy": pol,
                    "in_force": pol.in_force(today),
                    "intervals": [_interval_text(i, n) for n, i in enumerate(pol.intervals, start=2)],
                    "completion": [c for c in pol.completion_products if c != p.code],
                }
            )
        products.append({"product": p, "versions": versions})
    phases = phases_listed()
    question_sets = question_sets_current()
    in_force = max(
        (qs for qs in question_sets if qs.effective_from <= today),
        key=lambda qs: qs.effective_from,
        default=None,
    )
    return render(
        request,
        "catalog/catalogue.html",
        {
            "products": products,
            "phases": phases,
            "question_sets": question_sets,
            "question_set_in_force": in_force,
            "today": today,
            "may_edit": request.user.is_staff and request.user.has_perm("catalog.change_schedulepolicy"),
        },
    )
