"""Loading the national division lists and creating local nodes."""

import csv
from collections.abc import Iterable
from pathlib import Path

from django.db import transaction

from .models import Division, Level

DATA_DIR = Path(__file__).resolve().parent / "data"


def _rows(name: str) -> Iterable[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f)


@transaction.atomic
def divisions_load_national(*, provinces: Iterable[str] | None = None, townships: bool = True) -> int:
    """Load the official province/city/county/township lists; returns how many nodes were added.

    ``provinces`` limits the load to some 2-digit province codes. Existing codes are left as they are,
    so running it twice adds nothing.
    """
    wanted = set(provinces) if provinces else None
    existing = set(Division.objects.values_list("code", flat=True))
    added = 0
    ids: dict[str, int] = dict(Division.objects.values_list("code", "id"))

    def add_level(rows: Iterable[tuple[str, str, str | None]], level: Level) -> None:
        nonlocal added
        new = []
        for code, name, parent in rows:
            full = code.ljust(12, "0")
            if wanted is not None and code[:2] not in wanted:
                continue
            if full in existing:
                continue
            new.append(
                Division(
                    code=full,
                    name=name,
                    level=level,
                    parent_id=ids.get(parent.ljust(12, "0")) if parent else None,
                )
            )
            existing.add(full)
        for obj in Division.objects.bulk_create(new, batch_size=2000):
            ids[obj.code] = obj.id
        if not all(o.id for o in new):
            ids.update(Division.objects.filter(level=level).values_list("code", "id"))
        added += len(new)

    add_level(((r["code"], r["name"], None) for r in _rows("provinces.csv")), Level.PROVINCE)
    add_level(((r["code"], r["name"], r["provinceCode"]) for r in _rows("cities.csv")), Level.CITY)
    add_level(((r["code"], r["name"], r["cityCode"]) for r in _rows("areas.csv")), Level.COUNTY)
    if townships:
        add_level(((r["code"], r["name"], r["areaCode"]) for r in _rows("streets.csv")), Level.TOWNSHIP)
    return added


def division_create(*, code: str, name: str, parent: Division) -> Division:
    """Add a node directly under ``parent`` (a village under a township, a fictional county…)."""
    level = Level(parent.level + 1)
    from .models import PREFIX_LENGTH

    n = PREFIX_LENGTH[level]
    if len(code) != n or not code.isdigit() or not code.startswith(parent.short_code):
        raise ValueError(f"{level.label}代码应为以{parent.short_code}开头的{n}位数字：{code}")
    division, _ = Division.objects.get_or_create(
        code=code.ljust(12, "0"), defaults={"name": name, "level": level, "parent": parent}
    )
    return division
