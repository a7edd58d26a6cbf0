"""The project's clock: one place that says what time it is, and nothing in the product asks elsewhere."""

import datetime as dt
import re
from pathlib import Path

from django.utils import timezone

import vaxops
from vaxops.core import clock

SHANGHAI = dt.timezone(dt.timedelta(hours=8))

# A direct reading of the machine's clock. ruff (TID251) bans most of these by name; the argument-less
# timezone.localdate()/localtime() it cannot tell from the conversions with an argument, so this test is the
# rule for those and a second net for the rest.
FORBIDDEN = re.compile(
    r"\btimezone\.now\b"
    r"|\b(?:localdate|localtime)\(\s*\)"
    r"|\bdatetime\.(?:now|utcnow|today)\b"
    r"|\bdate\.today\b"
)


def _product_sources():
    root = Path(vaxops.__file__).parent
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if "tests" in rel.parts or "migrations" in rel.parts:
            continue
        if path.name.startswith("test_") or path.name == "conftest.py" or rel == Path("core/clock.py"):
            continue
        yield root.parent, path


def _violations(text: str, name: str = "<sample>") -> list[str]:
    return [
        f"{name}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), start=1)
        if FORBIDDEN.search(line)
    ]


def test_the_pattern_catches_direct_readings_and_spares_conversions():
    caught = [
        "now = timezone.now()",
        "default=timezone.now,",
        "today = timezone.localdate()",
        "start = timezone.localtime( ).replace(hour=0)",
        "stamp = dt.datetime.now(dt.UTC)",
        "stamp = datetime.utcnow()",
        "day = date.today()",
        "day = dt.date.today()",
        "t = time.localtime()",
    ]
    spared = [
        "now = clock.now()",
        "today = clock.today()",
        "start = clock.localnow()",
        "when = timezone.localtime(slot.start)",
        "day = timezone.localdate(now)",
        "tz = timezone.get_current_timezone()",
        "nowhere = update(now=now)",
    ]
    assert [s for s in caught if not FORBIDDEN.search(s)] == []
    assert [s for s in spared if FORBIDDEN.search(s)] == []
    assert _violations("a = 1\nb = timezone.now()\n", "x.py") == ["x.py:2: b = timezone.now()"]


def test_product_code_reads_the_time_only_through_the_clock():
    sources = list(_product_sources())
    assert len(sources) > 100  # the walk found the product, not an empty directory
    found = []
    for base, path in sources:
        found += _violations(path.read_text(encoding="utf-8"), str(path.relative_to(base)))
    assert found == [], "use vaxops.core.clock (now(), localnow(), today()) instead of:\n" + "\n".join(found)


def test_today_is_the_local_date_not_utcs(monkeypatch):
    late_utc = dt.datetime(2026, 3, 1, 17, 30, tzinfo=dt.UTC)  # already 2 March, 01:30, in Shanghai
    monkeypatch.setattr(timezone, "now", lambda: late_utc)
    assert clock.now() == late_utc
    assert clock.today() == dt.date(2026, 3, 2)
    local = clock.localnow()
    assert local == late_utc and local.utcoffset() == dt.timedelta(hours=8)
    assert (local.hour, local.minute) == (1, 30)


def test_patching_clock_now_moves_every_reading(monkeypatch):
    moment = dt.datetime(2030, 12, 31, 16, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)
    assert clock.localnow() == moment.astimezone(SHANGHAI)
    assert clock.today() == dt.date(2031, 1, 1)
