"""Reads of the catalogue: the database copy handed back to the rules engine as ``domain`` dataclasses.

The catalogue, the phases and the question sets are cached in each process. Every save or delete of
catalogue data clears this process's copy and changes the ``CatalogueRevision`` token; every read
checks the token (one single-row query), so an edit made in the admin reaches the web workers and the
task worker at once, and a rolled-back edit (a failed admin save, a test) is never served from cache.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Count, Sum
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext as _

from vaxops.core.bounds import day_in_range, day_range_zh
from vaxops.core.errors import CoreErrorCode, NotFound, ValidationFailed
from vaxops.registry.models import PriorityGroup

from . import domain
from .errors import CatalogErrorCode
from .models import (
    CatalogueRevision,
    Phase,
    PolicyInterval,
    Product,
    Question,
    QuestionSet,
    SchedulePolicy,
    TracePrefix,
)

T = TypeVar("T")

# ------------------------------------------------------------------------------------------ converters


def _product(row: Product, prefixes: Sequence[str]) -> domain.Product:
    return domain.Product(
        code=row.code,
        name_zh=row.name_zh,
        name_en=row.name_en,
        manufacturer_zh=row.manufacturer_zh,
        manufacturer_en=row.manufacturer_en,
        mah=row.mah,
        platform=domain.Platform(row.platform),
        dcc_mp=row.dcc_mp or None,
        dcc_ma=row.dcc_ma or None,
        dcc_vp=row.dcc_vp or None,
        presentation=row.presentation,
        doses_per_vial=row.doses_per_vial,
        open_vial_discard_hours=row.open_vial_discard_hours,
        dose_volume_ml=float(row.dose_volume_ml),
        route=row.route,
        site=row.site,
        storage_min_c=float(row.storage_min_c),
        storage_max_c=float(row.storage_max_c),
        trace_prefixes=tuple(prefixes),
        min_age_years=row.min_age_years,
        max_age_years=row.max_age_years,
        short_name_zh=row.short_name_zh,
    )


def _policy(
    row: SchedulePolicy, *, product_code: str, intervals: Sequence[domain.Interval]
) -> domain.SchedulePolicy:
    booster = None
    if row.booster_min_days is not None:
        booster = domain.BoosterRule(
            min_days_after_primary=row.booster_min_days,
            allowed_products=tuple(row.booster_products or ()),
            recommended_days_after_primary=row.booster_recommended_days,
            min_age_years=row.booster_min_age_years,
        )
    return domain.SchedulePolicy(
        product_code=product_code,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        primary_doses=row.primary_doses,
        intervals=tuple(intervals),
        completion_products=tuple(row.completion_products or ()),
        booster=booster,
        grace_days=row.grace_days,
        min_gap_other_vaccines_days=row.min_gap_other_vaccines_days,
    )


def previous_version(policy: SchedulePolicy, others: Sequence[SchedulePolicy]) -> SchedulePolicy | None:
    """The other version of the same product that is in force on ``policy.effective_from`` and began
    before it: the one a new version takes over from. ``None`` if there is none."""
    start = policy.effective_from
    for other in others:
        if (
            other.product_id == policy.product_id
            and other.pk != policy.pk
            and other.effective_from < start
            and (other.effective_to is None or other.effective_to >= start)
        ):
            return other
    return None


def catalogue_build(
    *, product: Product | None = None, policy: SchedulePolicy | None = None
) -> domain.Catalogue:
    """Build the catalogue from the database, uncached; raises ``ValueError`` (Chinese) if it is invalid.

    ``product`` or ``policy`` is an unsaved candidate (new, or an edited copy of a row) that replaces its
    row, for validation before saving. A candidate policy takes over from the version it starts in (that
    version is treated as closed the day before), and is checked with placeholder intervals: its own
    intervals are validated with the policy's form.
    """
    products = list(Product.objects.order_by("sort", "code"))
    if product is not None:
        products = [p for p in products if p.pk != product.pk or product.pk is None]
        products.append(product)
        products.sort(key=lambda p: (p.sort, p.code))
    prefixes: dict[int, list[str]] = {}
    for product_id, prefix in TracePrefix.objects.order_by("id").values_list("product_id", "prefix"):
        prefixes.setdefault(product_id, []).append(prefix)
    code_of = {p.pk: p.code for p in products if p.pk is not None}

    rows = list(SchedulePolicy.objects.order_by("product_id", "effective_from"))
    intervals: dict[int, list[domain.Interval]] = {}
    for row in PolicyInterval.objects.order_by("policy_id", "dose_number"):
        intervals.setdefault(row.policy_id, []).append(row.to_domain())
    policies: list[domain.SchedulePolicy] = []
    if policy is not None:
        others = [r for r in rows if r.pk != policy.pk or policy.pk is None]
        before = previous_version(policy, others)
        for r in others:
            if before is not None and r.pk == before.pk:
                closed = SchedulePolicy(**{f.attname: getattr(r, f.attname) for f in r._meta.concrete_fields})
                closed.effective_to = policy.effective_from - dt.timedelta(days=1)
                r = closed
            policies.append(_policy(r, product_code=code_of[r.product_id], intervals=intervals.get(r.pk, [])))
        placeholders = [domain.Interval(0, 0)] * (policy.primary_doses - 1)
        policies.append(
            _policy(policy, product_code=code_of.get(policy.product_id, "?"), intervals=placeholders)
        )
    else:
        policies = [
            _policy(r, product_code=code_of[r.product_id], intervals=intervals.get(r.pk, [])) for r in rows
        ]
    return domain.Catalogue(
        products=tuple(_product(p, prefixes.get(p.pk, []) if p.pk else []) for p in products),
        policies=tuple(policies),
    )


def _phases_build() -> tuple[domain.Phase, ...]:
    rows = list(Phase.objects.order_by("sort", "starts_on", "code"))
    groups: dict[int, list[str]] = {}
    through = Phase.priority_groups.through.objects.order_by("prioritygroup__sort", "prioritygroup__code")
    for phase_id, code in through.values_list("phase_id", "prioritygroup__code"):
        groups.setdefault(phase_id, []).append(code)
    return tuple(
        domain.Phase(
            code=r.code,
            name_zh=r.name_zh,
            name_en=r.name_en,
            priority_groups=tuple(groups.get(r.pk, ())),
            min_age=r.min_age,
            max_age=r.max_age,
            starts_on=r.starts_on,
            ends_on=r.ends_on,
        )
        for r in rows
    )


def _question_sets_build() -> tuple[domain.QuestionSet, ...]:
    questions: dict[int, list[domain.Question]] = {}
    for q in Question.objects.order_by("question_set_id", "position", "id"):
        questions.setdefault(q.question_set_id, []).append(q.to_domain())
    return tuple(
        domain.QuestionSet(
            version=s.version,
            effective_from=s.effective_from,
            questions=tuple(questions.get(s.pk, ())),
            temp_max_c=float(s.temp_max_c),
            bp_systolic_max=s.bp_systolic_max,
            bp_diastolic_max=s.bp_diastolic_max,
            vitals_defer_days=s.vitals_defer_days,
            in_use=s.in_use,
        )
        for s in QuestionSet.objects.order_by("effective_from", "version")
    )


# ------------------------------------------------------------------------------------------ the cache

_STALE: Any = object()
_lock = threading.Lock()
_snapshot: tuple[Any, dict[str, Any]] = (_STALE, {})


# Seconds a process trusts the revision token it read (settings.VAXOPS_CATALOGUE_TOKEN_TTL): an edit reaches
# every other process within it, and a busy booking server reads the token once a second, not per request.
_token_seen: tuple[float, str | None] = (-1e9, None)


def _token() -> str | None:
    global _token_seen
    now = time.monotonic()
    if now - _token_seen[0] < getattr(settings, "VAXOPS_CATALOGUE_TOKEN_TTL", 1.0):
        return _token_seen[1]
    token = CatalogueRevision.objects.filter(pk=1).values_list("token", flat=True).first()
    _token_seen = (now, token)
    return token


def _cached(part: str, build: Callable[[], T]) -> T:
    global _snapshot
    # The token is read before the data, so cached data is never older than the token it is filed under.
    token = _token()
    with _lock:
        if _snapshot[0] != token:
            _snapshot = (token, {})
        parts = _snapshot[1]
    if part not in parts:
        parts[part] = build()
    return parts[part]


def catalogue_invalidate(**kwargs: Any) -> None:
    """Forget this process's cached copy and tell the other processes to forget theirs."""
    global _snapshot, _token_seen
    with _lock:
        _snapshot = (_STALE, {})
        _token_seen = (-1e9, None)
    if not kwargs.get("raw"):
        CatalogueRevision.objects.update_or_create(pk=1, defaults={"token": uuid.uuid4().hex})


def connect_invalidation() -> None:
    """Clear the cache on every save or delete of catalogue data (called from ``CatalogConfig.ready``)."""

    for model in (
        Product,
        TracePrefix,
        SchedulePolicy,
        PolicyInterval,
        Phase,
        QuestionSet,
        Question,
        PriorityGroup,
    ):
        uid = f"catalog-invalidate-{model._meta.label_lower}"
        post_save.connect(catalogue_invalidate, sender=model, dispatch_uid=uid + "-save")
        post_delete.connect(catalogue_invalidate, sender=model, dispatch_uid=uid + "-delete")
    m2m_changed.connect(
        catalogue_invalidate, sender=Phase.priority_groups.through, dispatch_uid="catalog-phase-groups"
    )


# ------------------------------------------------------------------------------------------ public reads


def catalogue_current() -> domain.Catalogue:
    """Every product and every schedule version (past, present and future), as the engine needs them."""
    return _cached("catalogue", catalogue_build)


def phases_current() -> tuple[domain.Phase, ...]:
    """Every campaign phase, in display order."""
    return _cached("phases", _phases_build)


def question_sets_current() -> tuple[domain.QuestionSet, ...]:
    """Every version of the pre-screening questionnaire, oldest first."""
    return _cached("question_sets", _question_sets_build)


def question_set_on(day: dt.date) -> domain.QuestionSet:
    """The questionnaire in force on ``day``; raises ``NotFound`` if every version starts later."""
    found = domain.question_set_for(question_sets_current(), day)
    if found is None:
        raise NotFound(
            _("%(day)s没有生效的预检问题集") % {"day": day.isoformat()},
            field="on",
            code=CatalogErrorCode.QUESTION_SET_MISSING,
        )
    return found


# ------------------------------------------------------------------------------------------ ad-hoc forecast

FORECAST_FIELDS: Mapping[str, str] = {
    "birth_date": "birth_date",
    "doses": "doses",
    "on": "on",
    "contraindicated": "contraindicated",
    "deferred_until": "deferred_until",
}


def _date(value: str | dt.date, *, field: str, labels: Mapping[str, str]) -> dt.date:
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationFailed(
                _("%(label)s：日期“%(value)s”无效，应为 YYYY-MM-DD")
                % {"label": labels[field], "value": value},
                field=field,
                code=CoreErrorCode.DATE_INVALID,
            ) from None
    if not day_in_range(day):
        raise ValidationFailed(
            _("%(label)s：日期“%(value)s”%(day_range_zh)s")
            % {"label": labels[field], "value": value, "day_range_zh": day_range_zh()},
            field=field,
            code=CoreErrorCode.DATE_OUT_OF_RANGE,
        )
    return day


def _unknown_product(code: str, catalogue: domain.Catalogue) -> str:
    known = "、".join(p.code for p in catalogue.products)
    return f"疫苗品种“{code}”不在目录中（可用：{known}）"


def forecast_from_inputs(
    *,
    birth_date: str | dt.date,
    doses: Sequence[str],
    on: str | dt.date,
    contraindicated: Sequence[str] = (),
    deferred_until: str | dt.date | None = None,
    labels: Mapping[str, str] = FORECAST_FIELDS,
) -> domain.Forecast:
    """Forecast for a person described by plain inputs, as the ``forecast`` command and ``POST
    /api/v1/forecast`` take them: doses as ``PRODUCT@YYYY-MM-DD`` (catalogue or DCC ``mp`` code),
    contraindicated products (or ``all``), an optional deferral date.

    Raises ``ValidationFailed`` whose message starts with the argument's name from ``labels`` and whose
    ``field`` is the input's key.
    """
    catalogue = catalogue_current()
    birth = _date(birth_date, field="birth_date", labels=labels)
    day = _date(on, field="on", labels=labels)
    if day < birth:
        raise ValidationFailed(
            _("%(label)s：评估日期%(day)s早于出生日期%(birth)s")
            % {"label": labels["on"], "day": day.isoformat(), "birth": birth.isoformat()},
            field="on",
            code=CatalogErrorCode.FORECAST_BEFORE_BIRTH,
        )
    given: list[domain.GivenDose] = []
    for text in doses:
        code, sep, when = str(text).strip().rpartition("@")
        if not sep or not code or not when:
            raise ValidationFailed(
                _("%(label)s：“%(text)s”格式错误，应为 品种@日期，如 BBIBP-CorV@2021-04-01")
                % {"label": labels["doses"], "text": text},
                field="doses",
                code=CatalogErrorCode.FORECAST_DOSE_MALFORMED,
            )
        if catalogue.find_product(code) is None:
            raise ValidationFailed(
                _("%(label)s：%(problem)s")
                % {"label": labels["doses"], "problem": _unknown_product(code, catalogue)},
                field="doses",
                code=CatalogErrorCode.PRODUCT_UNKNOWN,
            )
        date = _date(when, field="doses", labels=labels)
        if date < birth:
            raise ValidationFailed(
                _("%(label)s：“%(text)s”的接种日期早于出生日期%(birth)s")
                % {"label": labels["doses"], "text": text, "birth": birth.isoformat()},
                field="doses",
                code=CatalogErrorCode.FORECAST_DOSE_BEFORE_BIRTH,
            )
        given.append(domain.GivenDose(product_code=code, date=date))
    contraindications: list[domain.Contraindication] = []
    codes: list[str] = []
    for text in contraindicated:
        code = str(text).strip()
        if code.lower() == "all":
            contraindications.append(
                domain.Contraindication(products=domain.ALL, reason="指定禁忌：全部品种")
            )
            continue
        product = catalogue.find_product(code)
        if product is None:
            raise ValidationFailed(
                _("%(label)s：%(problem)s")
                % {"label": labels["contraindicated"], "problem": _unknown_product(code, catalogue)},
                field="contraindicated",
                code=CatalogErrorCode.PRODUCT_UNKNOWN,
            )
        codes.append(product.code)
    if codes:
        codes = list(dict.fromkeys(codes))
        contraindications.append(
            domain.Contraindication(products=tuple(codes), reason="指定禁忌：" + "、".join(codes))
        )
    deferrals: list[domain.Deferral] = []
    if deferred_until is not None and str(deferred_until).strip():
        until = _date(deferred_until, field="deferred_until", labels=labels)
        deferrals.append(
            domain.Deferral(until=until, condition=None, reason=f"指定暂缓至{until.isoformat()}")
        )
    return domain.evaluate(
        birth_date=birth,
        doses=given,
        contraindications=contraindications,
        deferrals=deferrals,
        on=day,
        catalogue=catalogue,
    )


def phases_listed():
    """Every phase (public reference data) by order, with its priority groups and ``target_total`` /
    ``target_count``, the sum and number of its per-division targets: the catalogue page's table."""
    return (
        Phase.objects.prefetch_related("priority_groups")
        .annotate(target_total=Sum("targets__target_people"), target_count=Count("targets"))
        .order_by("sort", "starts_on", "code")
    )


# ------------------------------------------------------------------------------------------ names people read


def product_short_name(code: str | None) -> str:
    """The name a person reads for a product code (国药北京, 科兴…), from the cached catalogue; the code
    itself when the catalogue has no short name (or no such product). Codes stay in data and exchange."""
    if not code:
        return ""
    product = catalogue_current().find_product(code)
    return product.short_zh if product else code


def product_short_names(codes) -> str:
    """Several codes as the names people read, joined with "、"."""
    return "、".join(product_short_name(c) for c in codes)
