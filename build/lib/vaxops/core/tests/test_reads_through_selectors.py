"""Pages and API handlers read through selectors: no ``<Model>.objects.`` in any app's ``views.py`` or
``api.py`` (``docs/ARCHITECTURE.md``, "Reads and input"). A selector names the read and applies the user's
scope once, so a page and the API cannot drift apart on who sees what."""

import re
from pathlib import Path

import vaxops

ROOT = Path(vaxops.__file__).parent
# Modules not yet moved onto selectors, each as ``Path("app/views.py")`` with a comment saying why: none today.
# Add one only for a module caught mid-move, and remove it as soon as the module is clean (the test below fails
# on a stale entry).
ALLOWED: set[Path] = set()
MANAGER = re.compile(r"\b[A-Z]\w*\.objects\.")


def _modules():
    for pattern in ("*/views.py", "*/api.py"):
        yield from sorted(ROOT.glob(pattern))


def _violations(text: str, name: str = "<sample>") -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0]
        if MANAGER.search(code):
            found.append(f"{name}:{number}: {line.strip()}")
    return found


def test_the_pattern_catches_a_manager_read_and_spares_selectors():
    sample = (
        "lot = Lot.objects.select_related('product').get(pk=pk)\n"
        "rows = selectors.lots_listed(user=user)\n"
        "x = self.objects_seen  # not a manager\n"
        "# Resident.objects.filter() in a comment is fine\n"
        "qs = Resident.objects.none()\n"
    )
    assert _violations(sample) == [
        "<sample>:1: lot = Lot.objects.select_related('product').get(pk=pk)",
        "<sample>:5: qs = Resident.objects.none()",
    ]


def test_views_and_apis_read_only_through_selectors():
    found = []
    for path in _modules():
        rel = path.relative_to(ROOT)
        if rel in ALLOWED:
            continue
        found += _violations(path.read_text(encoding="utf-8"), f"vaxops/{rel}")
    assert not found, "read through a selector (app/selectors.py) instead:\n" + "\n".join(found)


def test_every_allowed_module_still_needs_its_entry():
    stale = []
    for rel in sorted(ALLOWED):
        path = ROOT / rel
        if not path.exists() or not _violations(path.read_text(encoding="utf-8")):
            stale.append(str(rel))
    assert not stale, f"no longer needed in ALLOWED, remove: {stale}"
