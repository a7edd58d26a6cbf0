"""Writes to the catalogue: the defaults loaded after migrate, and the bookkeeping of admin edits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import models, transaction

from vaxops.audit.services import audit_record
from vaxops.registry.defaults import priority_groups_ensure
from vaxops.registry.models import PriorityGroup

from . import defaults, domain
from .models import (
    Phase,
    PolicyInterval,
    Product,
    Question,
    QuestionSet,
    SchedulePolicy,
    TracePrefix,
)
from .selectors import previous_version


def _product_row(p: domain.Product, sort: int) -> Product:
    return Product(
        code=p.code,
        name_zh=p.name_zh,
        name_en=p.name_en,
        manufacturer_zh=p.manufacturer_zh,
        manufacturer_en=p.manufacturer_en,
        mah=p.mah,
        platform=p.platform.value,
        dcc_mp=p.dcc_mp or "",
        dcc_ma=p.dcc_ma or "",
        dcc_vp=p.dcc_vp or "",
        presentation=p.presentation,
        doses_per_vial=p.doses_per_vial,
        open_vial_discard_hours=p.open_vial_discard_hours,
        dose_volume_ml=Decimal(str(p.dose_volume_ml)),
        route=p.route,
        site=p.site,
        storage_min_c=Decimal(str(p.storage_min_c)),
        storage_max_c=Decimal(str(p.storage_max_c)),
        min_age_years=p.min_age_years,
        max_age_years=p.max_age_years,
        short_name_zh=p.short_name_zh,
        sort=sort,
    )


def _policy_row(pol: domain.SchedulePolicy, product: Product) -> SchedulePolicy:
    b = pol.booster
    return SchedulePolicy(
        product=product,
        effective_from=pol.effective_from,
        effective_to=pol.effective_to,
        primary_doses=pol.primary_doses,
        completion_products=list(pol.completion_products),
        booster_min_days=b.min_days_after_primary if b else None,
        booster_recommended_days=b.recommended_days_after_primary if b else None,
        booster_products=list(b.allowed_products) if b else [],
        booster_min_age_years=b.min_age_years if b else 18,
        grace_days=pol.grace_days,
        min_gap_other_vaccines_days=pol.min_gap_other_vaccines_days,
        note="默认：新冠病毒疫苗接种技术指南（第一版）"
        if pol.effective_from < defaults.POLICY_2022_FROM
        else "默认：国家卫生健康委 2022-02-19 加强免疫调整",
    )


def _question_row(q: domain.Question, qs: QuestionSet, position: int) -> Question:
    r = q.rule
    return Question(
        question_set=qs,
        position=position,
        code=q.code,
        text_zh=q.text_zh,
        text_en=q.text_en,
        answer_type=q.answer_type.value,
        required=q.required,
        choices=list(q.choices),
        rule_action=r.action.value,
        rule_reason_zh=r.reason_zh,
        rule_scope=r.scope.value,
        defer_days=r.defer_days,
        defer_days_after_answer=r.defer_days_after_answer,
        defer_condition=r.defer_condition or "",
    )


@transaction.atomic
def catalogue_defaults_ensure() -> dict[str, int]:
    """Load the default products, schedules, phases and question sets of ``defaults`` that are missing.

    Never overwrites: a product that exists keeps its data and its schedules (a product's default
    schedules come only with the product), a phase or a question set that exists (by code / version) is
    left as the county edited it. Returns how many products, phases and question sets were created.
    """

    created = {"products": 0, "phases": 0, "question_sets": 0}
    existing = set(Product.objects.values_list("code", flat=True))
    new_products: dict[str, Product] = {}
    for i, p in enumerate(defaults.PRODUCTS):
        if p.code in existing:
            continue
        row = _product_row(p, sort=(i + 1) * 10)
        row.save()
        TracePrefix.objects.bulk_create(
            [
                TracePrefix(product=row, prefix=x)
                for x in p.trace_prefixes
                if not TracePrefix.objects.filter(prefix=x).exists()
            ]
        )
        new_products[p.code] = row
    for pol in defaults.POLICIES:
        product = new_products.get(pol.product_code)
        if product is None:
            continue
        row = _policy_row(pol, product)
        row.save()
        PolicyInterval.objects.bulk_create(
            PolicyInterval(
                policy=row,
                dose_number=n,
                min_days=iv.min_days,
                recommended_days=iv.recommended_days,
                latest_days=iv.latest_days,
                latest_from_dose1_days=iv.latest_from_dose1_days,
            )
            for n, iv in enumerate(pol.intervals, start=2)
        )
    created["products"] = len(new_products)

    existing = set(Phase.objects.values_list("code", flat=True))
    missing = [ph for ph in defaults.PHASES if ph.code not in existing]
    if missing:
        # A phase without its groups would admit everyone; make sure the groups exist first.
        priority_groups_ensure()
        groups = {g.code: g for g in PriorityGroup.objects.all()}
        for ph in missing:
            row = Phase.objects.create(
                code=ph.code,
                name_zh=ph.name_zh,
                name_en=ph.name_en,
                min_age=ph.min_age,
                max_age=ph.max_age,
                starts_on=ph.starts_on,
                ends_on=ph.ends_on,
                sort=(defaults.PHASES.index(ph) + 1) * 10,
            )
            row.priority_groups.set([groups[c] for c in ph.priority_groups])
    created["phases"] = len(missing)

    existing = set(QuestionSet.objects.values_list("version", flat=True))
    for qs in (*defaults.QUESTION_SETS, *defaults.LOCAL_QUESTION_SETS):
        if qs.version in existing:
            continue
        row = QuestionSet.objects.create(
            version=qs.version,
            effective_from=qs.effective_from,
            temp_max_c=Decimal(str(qs.temp_max_c)),
            bp_systolic_max=qs.bp_systolic_max,
            bp_diastolic_max=qs.bp_diastolic_max,
            vitals_defer_days=qs.vitals_defer_days,
            note=defaults.QUESTION_SET_NOTES.get(qs.version, "默认：篇八、篇九及技术指南"),
            in_use=qs.in_use,
        )
        Question.objects.bulk_create(_question_row(q, row, (i + 1) * 10) for i, q in enumerate(qs.questions))
        created["question_sets"] += 1

    if any(created.values()):
        from .selectors import catalogue_invalidate

        # bulk_create sends no signals; make every process reload. Not audited, like the registry's
        # defaults: this is set-up, run by migrate, and the audit log starts empty on a new database.
        catalogue_invalidate()
    return created


# ------------------------------------------------------------------------------------------ admin edits


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def catalogue_snapshot(obj: models.Model) -> dict[str, Any]:
    """The object's stored values as JSON-ready data (a schedule with its intervals, a phase with its
    groups), for the audit log."""
    data = {f.attname: _plain(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}
    if isinstance(obj, SchedulePolicy) and obj.pk:
        data["intervals"] = list(
            obj.intervals.order_by("dose_number").values(
                "dose_number", "min_days", "recommended_days", "latest_days", "latest_from_dose1_days"
            )
        )
    if isinstance(obj, Phase) and obj.pk:
        data["priority_groups"] = list(obj.priority_groups.values_list("code", flat=True))
    if isinstance(obj, Product) and obj.pk:
        data["trace_prefixes"] = list(obj.trace_prefixes.values_list("prefix", flat=True))
    if isinstance(obj, QuestionSet) and obj.pk:
        # The questions carry the contraindication and deferral rules: the part an auditor needs.
        data["questions"] = [
            {
                f.attname: _plain(getattr(q, f.attname))
                for f in q._meta.concrete_fields
                if f.attname != "question_set_id"
            }
            for q in obj.questions.order_by("id")
        ]
    if isinstance(obj, Phase) and obj.pk:
        data["targets"] = [
            {"division": t.division.code, "target_people": t.target_people}
            for t in obj.targets.select_related("division").order_by("division__code")
        ]
    return data


def catalogue_change_audit(*, actor, action: str, obj: models.Model, message: str = "") -> None:
    """Record an admin edit of catalogue data (``action`` is ``add``, ``change`` or ``delete``)."""
    new = None if action == "delete" else catalogue_snapshot(obj)
    old = catalogue_snapshot(obj) if action == "delete" else None
    audit_record(
        actor=actor,
        action=f"catalog.{obj._meta.model_name}.{action}",
        obj=obj,
        old=old,
        new=new,
        purpose=message[:200],
    )


@transaction.atomic
def schedule_policy_close_previous(*, actor, policy: SchedulePolicy) -> SchedulePolicy | None:
    """Before saving ``policy``, end the version it takes over from on the day before it starts.

    So a planner adds "from 2022-02-19, booster after 3 months" as a new version, and doses and
    forecasts before that day keep the old rule. Returns the version that was closed, or ``None``.
    """
    others = list(SchedulePolicy.objects.select_for_update().filter(product_id=policy.product_id))
    before = previous_version(policy, others)
    if before is None:
        return None
    old_end = before.effective_to
    before.effective_to = policy.effective_from - dt.timedelta(days=1)
    before.save(update_fields=["effective_to"])
    audit_record(
        actor=actor,
        action="catalog.schedulepolicy.close",
        obj=before,
        old={"effective_to": _plain(old_end)},
        new={"effective_to": _plain(before.effective_to)},
    )
    return before
