"""The R4B models' own per-instance checks, with what they look up prepared once per class.

Every model of ``fhir.resources`` runs two checks of ``fhir_core`` in Python each time it validates an
element: before, ``reject_null_complex_elements`` (no ``null`` inside a list of complex elements) and after,
``validate_after_model_construction`` (a required primitive present or explained by its extension; one and
only one of a choice element ``nnn[x]`` where required, never two). Both rediscover the class's fields on
every call — all of ``model_fields`` walked and typed, the required and choice lists rebuilt — which was
about a third of the export's validation time, for answers that depend on the class alone.

``prepare`` gives each model reachable from the given resource models the same two checks with the field
lists computed once: the check decides the common case — nothing wrong — itself, and whenever anything could
be wrong it calls the library's original check, which raises its own error. So a resource is accepted exactly
when the library accepts it, and a refusal is the library's own, word for word
(``tests/test_r4b_checks.py`` compares the two on generated inputs and on every model prepared here).
The checks are swapped in pydantic's record of the class's validators and the class's schema rebuilt
(``model_rebuild``), so the pinned pydantic and fhir-core versions are part of this module's contract.
"""

from __future__ import annotations

import dataclasses
import threading
import typing
from collections.abc import Callable, Iterable
from typing import Any

from fhir_core.utils import is_list_type, is_primitive_type

BEFORE = "reject_null_complex_elements"
AFTER = "validate_after_model_construction"

_lock = threading.Lock()
_prepared: set[type] = set()
# The library's own checks per prepared class, for the equivalence tests and for every doubtful case.
ORIGINAL: dict[type, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {}


def reachable(models: Iterable[type]) -> list[type]:
    """``models`` and every R4B model that one of their elements (at any depth) is validated by."""

    def found_in(tp: Any, out: set[type]) -> None:
        if isinstance(tp, type) and hasattr(tp, "get_model_klass"):
            out.add(tp.get_model_klass())
            return
        for arg in typing.get_args(tp):
            found_in(arg, out)

    seen: list[type] = []
    todo = list(models)
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.append(model)
        inner: set[type] = set()
        for field in model.model_fields.values():
            found_in(field.annotation, inner)
        todo.extend(sorted((m for m in inner if m not in seen), key=lambda m: m.__qualname__))
    return seen


def _complex_lists(model: type) -> tuple[tuple[str, str | None], ...]:
    """The (name, alias) of the fields the library's before-check looks at: lists of complex elements, not
    the ``__ext`` siblings of primitive lists."""
    return tuple(
        (name, field.alias)
        for name, field in model.model_fields.items()  # type: ignore[attr-defined]
        if is_list_type(field) and not is_primitive_type(field) and not name.endswith("__ext")
    )


def _before(model: type, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    lists = _complex_lists(model)
    # The library looks at each such field under its alias when the data has it, else under its name. Here
    # the data's own keys are walked instead (fewer than a model's fields): a key holding a list with a null
    # matters exactly when it is where the library looks for one of these fields.
    looked_at: dict[str, list[tuple[str, str | None]]] = {}
    for name, alias in lists:
        for key in {name, alias} - {None, ""}:
            looked_at.setdefault(key, []).append((name, alias))  # type: ignore[arg-type]

    def reject_null_complex_elements(data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key, value in data.items():
            if isinstance(value, list) and value and key in looked_at:
                for name, alias in looked_at[key]:
                    if (alias if alias and alias in data else name) == key and any(x is None for x in value):
                        return original(data)  # raises the library's error for every such field
        return data

    return reject_null_complex_elements


def _after(model: type, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    blank = model.model_construct()  # type: ignore[attr-defined]
    aliases = model.get_alias_mapping()  # type: ignore[attr-defined]
    required = tuple(aliases[name] for name, _ext in blank.get_required_fields())
    fields = model.model_fields  # type: ignore[attr-defined]
    choices = []
    for prefix, names in blank.get_one_of_many_fields().items():
        extra = fields[names[0]].json_schema_extra
        if extra["one_of_many"] != prefix:  # the library asserts this on every call
            raise RuntimeError(f"{model.__name__}.{prefix}: 选择型元素的定义与库的约定不符")
        choices.append((tuple(names), extra["one_of_many_required"] is True))
    missing = object()

    def validate_after_model_construction(self: Any) -> Any:
        for key in required:
            value = getattr(self, key, missing)
            if value in (missing, None):
                return original(self)  # absent: the library decides whether its extension explains it
        for names, needed in choices:
            present = 0
            for name in names:
                if getattr(self, name, None) is not None:
                    present += 1
            if present > 1 or (needed and present == 0):
                return original(self)  # raises the library's error
        return self

    return validate_after_model_construction


def _prepare_one(model: type) -> None:
    decorators = model.__pydantic_decorators__.model_validators  # type: ignore[attr-defined]
    before, after = decorators.get(BEFORE), decorators.get(AFTER)
    if before is None or after is None:
        raise RuntimeError(f"{model.__name__}: fhir-core 的校验器与预期不符（版本已变？）")
    ORIGINAL[model] = (before.func, after.func)
    decorators[BEFORE] = dataclasses.replace(before, func=_before(model, before.func))
    decorators[AFTER] = dataclasses.replace(after, func=_after(model, after.func))
    model.model_rebuild(force=True)  # type: ignore[attr-defined]


def prepare(models: Iterable[type]) -> int:
    """Prepare ``models`` and every model reachable from them (once per process; about 40 ms for the
    resources exchange sends). How many classes were prepared by this call."""
    todo = [m for m in reachable(models) if m not in _prepared]
    if not todo:
        return 0
    with _lock:
        done = 0
        for model in todo:
            if model not in _prepared:
                _prepare_one(model)
                _prepared.add(model)
                done += 1
        return done


def is_prepared(model: type) -> bool:
    return model in _prepared
