"""The R4B models' checks with their field lists prepared once (``exchange.r4b``) answer exactly as the library's
own: on generated inputs, check by check and class by class; and end to end, resources validated in a process
where nothing was prepared and in this one give the same verdicts and the same errors. The bulk export's NDJSON
lines are the bytes ``json.dumps`` gives."""

import functools
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from vaxops.exchange import bulk, r4b
from vaxops.exchange import resources as r
from vaxops.exchange.tests.test_resources import DOSE, PERSON, SITE


@functools.cache
def _prepared() -> list:
    """Every model exchange validates with, prepared (not at import: the other interpreter of the end-to-end
    test imports this module and must keep the library's checks)."""
    r.prepare_checks()
    return sorted(r4b.reachable(r.MODELS.values()), key=lambda m: m.__qualname__)


def _checks(model):
    decorators = model.__pydantic_decorators__.model_validators
    return decorators[r4b.BEFORE].func, decorators[r4b.AFTER].func


def _outcome(fn, arg):
    """What a check did with ``arg``: returned it (the same object or not), or raised which error."""
    try:
        out = fn(arg)
    except ValidationError as exc:
        return ("raised", type(exc).__name__, json.dumps(exc.errors(include_url=False), default=repr))
    except Exception as exc:  # whatever the library's check raises, ours must raise the same
        return ("raised", type(exc).__name__, str(exc))
    return ("returned", out is arg)


def test_every_model_reachable_is_prepared_and_uses_its_prepared_checks():
    assert len(_prepared()) > 50  # Immunization, Patient, Bundle … and every element type under them
    for model in _prepared():
        assert r4b.is_prepared(model)
        before, after = _checks(model)
        assert before.__module__ == after.__module__ == "vaxops.exchange.r4b", model
        assert r4b.ORIGINAL[model][0] is not before
    # Preparing again does nothing.
    assert r4b.prepare(r.MODELS.values()) == 0


def test_the_models_still_validate_through_the_library_entry_point():
    _prepared()
    from fhir.resources.R4B.immunization import Immunization

    bad = r.immunization(DOSE, patient_ref="Patient/p") | {"identifier": [None]}
    with pytest.raises(ValidationError) as exc:
        Immunization.model_validate(bad)
    assert exc.value.errors()[0]["loc"] == ("identifier",)
    both = r.immunization(DOSE, patient_ref="Patient/p") | {"occurrenceString": "昨天"}
    with pytest.raises(ValidationError, match="occurrenceDateTime"):
        Immunization.model_validate(both)
    no_status = {k: v for k, v in r.immunization(DOSE, patient_ref="Patient/p").items() if k != "status"}
    with pytest.raises(ValidationError, match="status"):
        Immunization.model_validate(no_status)


def _values():
    leaf = st.sampled_from([None, "x", "", 0, 1, True, {}, {"text": "a"}, {"extension": []}])
    return st.one_of(leaf, st.lists(leaf, max_size=3))


@st.composite
def _before_input(draw):
    model = draw(st.sampled_from(_prepared()))
    keys = sorted({*model.model_fields, *(f.alias for f in model.model_fields.values() if f.alias)})
    chosen = draw(st.lists(st.sampled_from(keys), max_size=6, unique=True))
    data = {k: draw(_values()) for k in chosen}
    kind = draw(st.sampled_from(["dict", "list", "str", "none"]))
    return model, data if kind == "dict" else {"list": [data], "str": "x", "none": None}[kind]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_before_input())
def test_the_before_check_answers_as_the_library(case):
    model, data = case
    fast = _checks(model)[0]
    original = r4b.ORIGINAL[model][0]
    assert _outcome(fast, data) == _outcome(original, data)


@st.composite
def _after_input(draw):
    """An instance built without validation, its required primitives, their extensions and its choice
    elements each set, unset or None — the states the library's after-check tells apart."""
    model = draw(st.sampled_from([m for m in _prepared() if _interesting(m)]))
    blank = model.model_construct()
    names = [name for name, ext in blank.get_required_fields()] + [
        ext for _name, ext in blank.get_required_fields() if ext
    ]
    for fields in blank.get_one_of_many_fields().values():
        names += fields
    aliases = model.get_alias_mapping()
    values = {}
    for name in names:
        key = aliases.get(name, name)
        state = draw(st.sampled_from(["unset", "none", "value", "extension", "empty extension"]))
        if state == "none":
            values[key] = None
        elif state == "value":
            values[key] = "x"
        elif state == "extension":
            values[key] = {"extension": [{"url": "u"}]}
        elif state == "empty extension":
            values[key] = {"extension": []}
    return model, model.model_construct(**values)


def _interesting(model) -> bool:
    blank = model.model_construct()
    return bool(blank.get_required_fields() or blank.get_one_of_many_fields())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_after_input())
def test_the_after_check_answers_as_the_library(case):
    model, instance = case
    fast = _checks(model)[1]
    original = r4b.ORIGINAL[model][1]
    assert _outcome(fast, instance) == _outcome(original, instance)


def _corpus() -> list:
    """Resources as exchange builds them, and each broken in the ways the two checks look for."""
    good = [
        r.immunization(DOSE, patient_ref="Patient/p"),
        r.patient(PERSON),
        r.location(SITE),
        r.organization(SITE),
    ]
    imm = good[0]
    broken = [
        imm | {"identifier": [imm["identifier"][0], None]},
        imm | {"performer": [None]},
        {k: v for k, v in imm.items() if k != "status"},
        imm | {"status": None},
        imm | {"status": None, "_status": {"extension": [{"url": "https://example.org/why"}]}},
        {k: v for k, v in imm.items() if k != "occurrenceDateTime"},
        imm | {"occurrenceString": "昨天"},
        imm | {"protocolApplied": [{"series": "booster"}]},
        imm | {"vaccineCode": {"coding": [None]}},
        imm | {"status": "done"},
        imm | {"unknown": 1},
        good[1] | {"name": [None]},
        good[1] | {"identifier": [{"value": None}]},
        good[2] | {"address": {"extension": [None]}},
        {"resourceType": "Patient", "deceasedBoolean": True, "deceasedDateTime": "2020-01-01"},
    ]
    return good + broken


_VERDICTS = """
import json, sys
from vaxops.exchange.tests.test_r4b_checks import _corpus, _verdicts
print(json.dumps(_verdicts(_corpus())))
"""


def _verdicts(corpus: list) -> list:
    out = []
    for resource in corpus:
        try:
            r.MODELS[resource["resourceType"]].model_validate(resource)
            out.append("valid")
        except ValidationError as exc:
            out.append(json.loads(json.dumps(exc.errors(include_url=False), default=repr)))
    return out


def test_prepared_and_unprepared_processes_give_the_same_verdicts_and_errors():
    """Another interpreter validates the corpus with the library's checks untouched (nothing there calls
    ``prepare``); this one with the prepared checks; and the answers are compared whole."""
    script = "import django, os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'vaxops.settings.test')\n"
    script += "django.setup()\nfrom vaxops.exchange import r4b\n" + _VERDICTS
    script += "from fhir.resources.R4B.immunization import Immunization\n"
    script += "assert not r4b.is_prepared(Immunization)\n"
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    _prepared()
    ours = _verdicts(_corpus())
    assert ours == theirs
    # Valid: the four built, a missing status explained by its extension, a status code the model does not
    # bind to its value set, an identifier without a value. Every other broken one is refused.
    assert [i for i, v in enumerate(ours) if v == "valid"] == [0, 1, 2, 3, 8, 13, 16]


def _json_values(floats: bool):
    text = st.text(st.characters(exclude_categories=("Cs",)))
    leaf = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | text
    if floats:
        leaf = leaf | st.floats(allow_nan=False, allow_infinity=False)
    return st.recursive(
        leaf,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
        max_leaves=20,
    )


@settings(max_examples=300, deadline=None)
@given(_json_values(floats=False))
def test_an_ndjson_line_is_the_bytes_json_dumps_gives(value):
    expected = json.dumps({"v": value}, ensure_ascii=False, separators=(",", ":"), default=str)
    assert bulk._dump({"v": value}) == expected.encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(_json_values(floats=True))
def test_an_ndjson_line_with_decimals_reads_back_as_the_same_value(value):
    """A decimal may be written with another exponent (``1e-9`` for ``1e-09``): the same JSON number."""
    assert json.loads(bulk._dump({"v": value})) == {"v": value}
