"""Every refusal carries a stable code: each raise in product code names one from its app's ``errors.py``.

The scan reads the source (no import), so a raise on a path no test reaches is held to the rule too, and a
code that names no member of its enum (a typo that would only fail when the refusal happens) is caught here.
"""

import ast
import enum
import importlib
import re
from pathlib import Path

import pytest

from vaxops.core.errors import CoreErrorCode, error_code_enums, error_codes

ROOT = Path(__file__).resolve().parents[2]  # the vaxops package
# Every app is held to the rule, the desk included (its hard stops raise their CheckCode values).
SKIPPED: tuple[str, ...] = ()
REFUSALS = {"VaxOpsError", "ValidationFailed", "NotFound", "PermissionDenied", "RateLimited"}
# The classes' defaults say only "something was refused": a raise names something more precise.
DEFAULTS = {
    c.value
    for c in (CoreErrorCode.ERROR, CoreErrorCode.INVALID, CoreErrorCode.FORBIDDEN, CoreErrorCode.NOT_FOUND)
}


def _product_files() -> list[Path]:
    return sorted(
        p
        for p in ROOT.rglob("*.py")
        if "tests" not in p.relative_to(ROOT).parts
        and "migrations" not in p.relative_to(ROOT).parts
        and p.relative_to(ROOT).parts[0] not in SKIPPED
    )


def _enums_by_name() -> dict[str, type[enum.Enum]]:
    return {e.__name__: e for e in error_code_enums()}


def problems_in(source: str, where: str, enums: dict[str, type[enum.Enum]]) -> list[str]:
    """``where:line: …`` for each refusal raised without a code, with a class default, or with a code that is
    no member of the enum it names."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = (
            func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        )
        if name not in REFUSALS:
            continue
        code = next((k.value for k in node.keywords if k.arg == "code"), None)
        if code is None:
            found.append(f"{where}:{node.lineno}: {name}(…) without code=")
        elif isinstance(code, (ast.Constant, ast.JoinedStr)):
            found.append(
                f"{where}:{node.lineno}: code={ast.unparse(code)} is a bare string, use the app's enum"
            )
        elif isinstance(code, ast.Attribute) and isinstance(code.value, ast.Name):
            owner = enums.get(code.value.id)
            if owner is None and code.value.id.endswith("ErrorCode"):
                found.append(f"{where}:{node.lineno}: {code.value.id} is no errors.py enum")
            elif owner is not None and code.attr not in owner.__members__:
                found.append(f"{where}:{node.lineno}: {code.value.id}.{code.attr} does not exist")
            elif owner is not None and owner[code.attr].value in DEFAULTS:
                found.append(f"{where}:{node.lineno}: {code.value.id}.{code.attr} is a class default")
    return found


class TestRaiseSites:
    def test_it_finds_every_refusal_raised_with_a_precise_code(self):
        enums = _enums_by_name()
        found = []
        for path in _product_files():
            found += problems_in(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT.parent)), enums)
        assert not found, "refusals without a stable code:\n" + "\n".join(found)

    def test_it_scans_the_apps(self):
        scanned = {p.relative_to(ROOT).parts[0] for p in _product_files()}
        assert {
            "supply",
            "booking",
            "registry",
            "clinic",
            "core",
            "certs",
            "sites",
            "notify",
            "desk",
        } <= scanned

    @pytest.mark.parametrize(
        ("source", "problem"),
        [
            ('raise ValidationFailed("x")', "without code="),
            ('raise errors.NotFound(_("x"), field="id")', "without code="),
            ('raise PermissionDenied("x", code="forbidden")', "bare string"),
            ('raise ValidationFailed("x", code=f"not_{why}")', "bare string"),
            ('raise ValidationFailed("x", code=SupplyErrorCode.NO_SUCH_CODE)', "does not exist"),
            ('raise ValidationFailed("x", code=CoreErrorCode.INVALID)', "class default"),
            ('raise ValidationFailed("x", code=MadeUpErrorCode.X)', "no errors.py enum"),
        ],
    )
    def test_it_fails_on_a_refusal_without_a_precise_code(self, source, problem):
        found = problems_in(source, "vaxops/example.py", _enums_by_name())
        assert len(found) == 1 and found[0].startswith("vaxops/example.py:1: ") and problem in found[0]

    def test_it_accepts_a_refusal_with_its_code(self):
        source = 'raise ValidationFailed(_("批号不存在"), field="id", code=SupplyErrorCode.LOT_NOT_FOUND)'
        assert problems_in(source, "vaxops/example.py", _enums_by_name()) == []


class TestEnums:
    def test_every_app_with_refusals_has_its_enum(self):
        names = set(_enums_by_name())
        for app in (
            "core",
            "accounts",
            "registry",
            "catalog",
            "clinic",
            "supply",
            "sites",
            "booking",
            "notify",
            "certs",
        ):
            module = importlib.import_module(f"vaxops.{app}.errors")
            own = [
                v
                for v in vars(module).values()
                if isinstance(v, type) and issubclass(v, enum.StrEnum) and v is not enum.StrEnum
            ]
            assert own and {e.__name__ for e in own} <= names, app

    def test_codes_are_lowercase_snake_and_unique_across_the_apps(self):
        seen: dict[str, str] = {}
        for e in error_code_enums():
            if not e.__name__.endswith("ErrorCode"):
                continue  # the desk's check codes; where an app's code has the same value it means the same
            for member in e:
                assert re.fullmatch(r"[a-z][a-z0-9_]*", member.value), f"{e.__name__}.{member.name}"
                assert member.value not in seen, (
                    f"{member.value!r} in {seen.get(member.value)} and {e.__name__}"
                )
                seen[member.value] = e.__name__

    def test_existing_codes_keep_their_values(self):
        codes = set(error_codes())
        kept = {"already_booked", "slot_full", "duplicate", "self_token_missing", "self_token_invalid"}
        kept |= {"self_token_expired", "token_expired", "rate_limited", "invalid_request", "too_large"}
        kept |= {"invalid_characters", "db_unavailable", "font_missing", "code_used"}
        assert kept <= codes

    def test_a_code_is_a_str_for_json(self):
        from vaxops.supply.errors import SupplyErrorCode

        assert SupplyErrorCode.CODE_UNKNOWN == "code_unknown" and isinstance(
            SupplyErrorCode.CODE_UNKNOWN, str
        )

    def test_every_eligibility_verdict_has_its_booking_code(self):
        from vaxops.booking.errors import not_eligible_for
        from vaxops.catalog.domain import EligibilityCode

        refused = [v for v in EligibilityCode if v != EligibilityCode.ALLOWED]
        assert [not_eligible_for(v) for v in refused] == [f"not_eligible_{v}" for v in refused]
