"""Writes of the cold chain: readings in, excursions kept up to date, quarantine and the county's decision.

``readings_ingest`` is the one door every source goes through (API, logger file, MQTT, the manual log,
the demo and the benchmark): per sensor, in one transaction holding the sensor's row lock (so two
batches of one sensor are evaluated one after the other), it stores the new readings (a moment already
stored with the same temperature is *unchanged*, with another temperature *rejected*), reads back the
affected window — from the last in-range reading before the new ones to the first in-range reading after
them, where every run of the engine is cut — asks the pure engine for its excursions and reconciles them
with the stored rows: a new one is opened (a freeze or heat excursion quarantines the unit's stock in the
same transaction and notifies the keeper and the county), a known one is extended or closed. An excursion
once opened is never removed by later readings; the county closes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, DateTimeField, OuterRef, Q, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxops.audit.services import audit_record, audit_record_many
from vaxops.core import clock
from vaxops.core.actors import SystemActor
from vaxops.core.errors import CoreErrorCode, PermissionDenied, ValidationFailed
from vaxops.notify.services import notification_queue
from vaxops.sites.models import StaffMember
from vaxops.supply import services as supply_services
from vaxops.supply.models import CodeState, TraceCode

from . import domain
from .errors import ColdchainErrorCode
from .models import (
    AlertKind,
    Decision,
    Destruction,
    Equipment,
    Excursion,
    QuarantinedCode,
    Reading,
    ReadingSource,
    Sensor,
    SensorKind,
    StaffAlert,
)

COUNTY_ROLE = "county_admin"


@dataclass
class IngestResult:
    """Counts with the census import's rule: read = stored + unchanged + rejected."""

    read: int = 0
    stored: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)
    excursions_opened: int = 0
    excursions_updated: int = 0
    codes_quarantined: int = 0

    def reject(self, row: int, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < 100:
            self.errors.append({"row": row, "reason": reason})

    def merge(self, other: IngestResult) -> None:
        for name in (
            "read",
            "stored",
            "unchanged",
            "rejected",
            "excursions_opened",
            "excursions_updated",
            "codes_quarantined",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors[: max(0, 100 - len(self.errors))])

    def as_dict(self) -> dict:
        return {
            "read": self.read,
            "stored": self.stored,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": self.errors,
            "excursions_opened": self.excursions_opened,
        }


@dataclass(frozen=True)
class Item:
    """One reading to ingest: its row (for errors), the sensor, the moment (aware) and the temperature."""

    row: int
    sensor: Sensor
    at: dt.datetime
    celsius: Decimal


def sensor_default(*, equipment: Equipment) -> Sensor:
    """The unit's logger sensor that readings by unit code go to (created when the unit has none)."""
    sensor = equipment.sensors.filter(kind=SensorKind.LOGGER, active=True).order_by("id").first()
    if sensor is None:
        sensor, _created = Sensor.objects.get_or_create(
            equipment=equipment, kind=SensorKind.LOGGER, serial="", defaults={"active": True}
        )
    return sensor


def sensor_manual(*, equipment: Equipment) -> Sensor:
    """The unit's manual log (twice a day: silent only after 18 hours)."""
    sensor, _created = Sensor.objects.get_or_create(
        equipment=equipment, kind=SensorKind.MANUAL, defaults={"silent_minutes": 18 * 60}
    )
    return sensor


def readings_ingest(
    *, actor, items: Iterable[Item], source: str, result: IngestResult | None = None, together: bool = False
) -> IngestResult:
    """Store readings (any order, any sensors) and bring the excursions up to date; see the module.

    ``together``: the whole call is one transaction (the sensors locked in id order, one audit event per
    sensor written in one INSERT at the end) instead of one per sensor — for many sensors with a reading
    or two each, as the MQTT listener drains its messages."""
    result = result or IngestResult()
    by_sensor: dict[int, list[Item]] = {}
    sensors: dict[int, Sensor] = {}
    for item in items:
        result.read += 1
        by_sensor.setdefault(item.sensor.pk, []).append(item)
        sensors[item.sensor.pk] = item.sensor
    if together:
        if by_sensor:
            _ingest_together(actor=actor, by_sensor=by_sensor, source=source, result=result)
        return result
    for sensor_id in sorted(by_sensor):
        _ingest_sensor(
            actor=actor, sensor=sensors[sensor_id], items=by_sensor[sensor_id], source=source, result=result
        )
    return result


@transaction.atomic
def _ingest_sensor(*, actor, sensor: Sensor, items: list[Item], source: str, result: IngestResult) -> None:
    """One sensor's batch in its own transaction, holding the sensor's lock."""
    sensor = Sensor.objects.select_for_update().select_related("equipment__unit").get(pk=sensor.pk)
    low = min(i.at for i in items)
    high = max(i.at for i in items)
    stored = dict(
        Reading.objects.filter(sensor=sensor, at__gte=low, at__lte=high).values_list("at", "celsius")
    )
    new = _sort_out(items, stored, result)
    if not new:
        return
    user = actor if getattr(actor, "pk", None) else None
    rows = sorted(new.items())
    readings_insert(sensor_id=sensor.pk, rows=rows, source=source, user_id=user.pk if user else None)
    result.stored += len(rows)
    inside = {at: c for at, c in stored.items() if at not in new} | new
    opened, updated, quarantined = _evaluate(
        actor=actor, sensor=sensor, low=min(new), high=max(new), inside=inside
    )
    result.excursions_opened += opened
    result.excursions_updated += updated
    result.codes_quarantined += quarantined
    event = {
        "equipment": sensor.equipment.code,
        "source": source,
        "stored": len(rows),
        "first": min(new).isoformat(),
        "last": max(new).isoformat(),
        "excursions_opened": opened,
    }
    audit_record(actor=actor, action="coldchain.readings_ingest", obj=sensor, new=event)


def _sort_out(items: list[Item], stored: dict[dt.datetime, Decimal], result: IngestResult) -> dict:
    """The new moments of one sensor's items (in row order: the first of two at one moment counts); a moment
    already stored (or given twice) with the same temperature is unchanged, with another one rejected."""
    new: dict[dt.datetime, Decimal] = {}
    for item in sorted(items, key=lambda i: i.row):
        seen = stored.get(item.at)
        if seen is None:
            seen = new.get(item.at)
            if seen is None:
                new[item.at] = item.celsius
                continue
        if seen == item.celsius:
            result.unchanged += 1
        else:
            local = timezone.localtime(item.at).strftime("%Y-%m-%d %H:%M:%S")
            result.reject(
                item.row,
                _("%(at)s已有读数%(seen)s℃，与%(celsius)s℃不符（同一时刻只记一次）")
                % {"at": local, "seen": seen, "celsius": item.celsius},
            )
    return new


def _ingest_together(*, actor, by_sensor: dict[int, list[Item]], source: str, result: IngestResult) -> None:
    """Many sensors' few readings in one transaction and a fixed number of statements, whatever the number
    of sensors: the sensors locked (id order), the stored moments read, the new rows inserted, the edges of
    every sensor's window read (the last in-range reading before and the first after, then the readings
    between them and the new ones), the known excursions read, the changed ones updated together, one audit
    event per sensor in one INSERT. Only a sensor whose excursions open or hold stock costs more (as in the
    one-sensor path). The same excursions as :func:`_ingest_sensor` would give."""
    with transaction.atomic():
        ids = sorted(by_sensor)
        locked = {
            sn.pk: sn
            for sn in Sensor.objects.select_for_update(of=("self",))
            .select_related("equipment__unit__place")
            .filter(pk__in=ids)
            .order_by("pk")
        }
        span = {sid: (min(i.at for i in by_sensor[sid]), max(i.at for i in by_sensor[sid])) for sid in ids}
        stored: dict[int, dict[dt.datetime, Decimal]] = {sid: {} for sid in ids}
        q = Q()
        for sid in ids:
            q |= Q(sensor_id=sid, at__gte=span[sid][0], at__lte=span[sid][1])
        for sid, at, c in Reading.objects.filter(q).values_list("sensor_id", "at", "celsius"):
            stored[sid][at] = c
        news = {sid: _sort_out(by_sensor[sid], stored[sid], result) for sid in ids}
        news = {sid: n for sid, n in news.items() if n}
        if not news:
            return
        user = actor if getattr(actor, "pk", None) else None
        readings_insert_many(
            rows=[(sid, at, c) for sid in sorted(news) for at, c in sorted(news[sid].items())],
            source=source,
            user_id=user.pk if user else None,
        )
        result.stored += sum(len(n) for n in news.values())
        # The edges of each window: one statement for the in-range readings around the new ones ...
        low = {sid: min(n) for sid, n in news.items()}
        high = {sid: max(n) for sid, n in news.items()}
        out = DateTimeField()
        in_range = Reading.objects.filter(
            sensor=OuterRef("pk"),
            celsius__gte=OuterRef("equipment__low_c"),
            celsius__lte=OuterRef("equipment__high_c"),
        )
        bounds = (
            Sensor.objects.filter(pk__in=list(news))
            .annotate(
                low_at=Case(*[When(pk=sid, then=Value(at)) for sid, at in low.items()], output_field=out),
                high_at=Case(*[When(pk=sid, then=Value(at)) for sid, at in high.items()], output_field=out),
            )
            .annotate(
                before=Subquery(in_range.filter(at__lt=OuterRef("low_at")).order_by("-at").values("at")[:1]),
                after=Subquery(in_range.filter(at__gt=OuterRef("high_at")).order_by("at").values("at")[:1]),
            )
            .values_list("pk", "before", "after")
        )
        # ... and one for the readings between those and the new ones.
        q = Q()
        for sid, before, after in bounds:
            left = Q(sensor_id=sid, at__lt=low[sid])
            if before is not None:
                left &= Q(at__gte=before)
            right = Q(sensor_id=sid, at__gt=high[sid])
            if after is not None:
                right &= Q(at__lte=after)
            q |= left | right
        edges: dict[int, dict[dt.datetime, Decimal]] = {sid: {} for sid in news}
        for sid, at, c in Reading.objects.filter(q).values_list("sensor_id", "at", "celsius"):
            edges[sid][at] = c
        windows: dict[int, list[tuple[dt.datetime, Decimal]]] = {}
        found: dict[int, tuple[domain.Excursion, ...]] = {}
        for sid, new in news.items():
            inside = {at: c for at, c in stored[sid].items() if at not in new} | new
            windows[sid] = sorted((edges[sid] | inside).items())
            got = domain.excursions_sorted(windows[sid], locked[sid].rules())
            if got:
                found[sid] = got
        known: dict[int, list[Excursion]] = {sid: [] for sid in found}
        if found:
            q = Q()
            for sid in found:
                first, last = windows[sid][0][0], windows[sid][-1][0]
                q |= Q(sensor_id=sid, start__lte=last) & (Q(end__isnull=True) | Q(end__gte=first))
            for e in (
                Excursion.objects.select_for_update(of=("self",))
                .select_related("equipment__unit__place")
                .filter(q)
                .order_by("-start", "-id")  # the one-sensor path's order: a boundary match picks the same
            ):
                known[e.sensor_id].append(e)
        changed: list[Excursion] = []
        events = []
        for sid in sorted(news):
            opened = 0
            if sid in found:
                opened, updated, quarantined = _reconcile(
                    actor=actor, sensor=locked[sid], found=found[sid], known=known[sid], changed=changed
                )
                result.excursions_opened += opened
                result.excursions_updated += updated
                result.codes_quarantined += quarantined
            new = news[sid]
            events.append(
                (
                    sid,
                    None,
                    {
                        "equipment": locked[sid].equipment.code,
                        "source": source,
                        "stored": len(new),
                        "first": min(new).isoformat(),
                        "last": max(new).isoformat(),
                        "excursions_opened": opened,
                    },
                )
            )
        if changed:
            Excursion.objects.bulk_update(changed, list(_EXTENDED), batch_size=500)
        audit_record_many(
            actor=actor, action="coldchain.readings_ingest", object_type="coldchain.sensor", items=events
        )


_COLUMNS = ("sensor_id", "at", "celsius", "source", "recorded_by_id")


def readings_insert(*, sensor_id: int, rows: list[tuple[dt.datetime, Decimal]], source: str, user_id) -> None:
    """Insert new readings of one sensor (the caller holds the sensor's lock and has left out the moments
    already stored): see :func:`readings_insert_many`."""
    readings_insert_many(rows=[(sensor_id, at, c) for at, c in rows], source=source, user_id=user_id)


def readings_insert_many(*, rows: list[tuple[int, dt.datetime, Decimal]], source: str, user_id) -> None:
    """Insert new readings ``(sensor id, moment, celsius)``: binary COPY on PostgreSQL, multi-row INSERTs
    elsewhere; the unique (sensor, at) still holds."""
    table = Reading._meta.db_table
    columns = ", ".join(_COLUMNS)
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            # Binary COPY: psycopg's C dumpers turn the datetimes and decimals into wire format, no text.
            with (
                connection.wrap_database_errors,
                c.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.set_types(["int8", "timestamptz", "numeric", "varchar", "int8"])
                write = copy.write_row
                for sensor_id, at, celsius in rows:
                    write((sensor_id, at, celsius, source, user_id))
            return
        ops = connection.ops
        per = 150  # 5 columns: well under SQLite's parameter limit
        one = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
        for i in range(0, len(rows), per):
            part = rows[i : i + per]
            params: list = []
            for sensor_id, at, celsius in part:
                params.extend(
                    (
                        sensor_id,
                        ops.adapt_datetimefield_value(at),
                        ops.adapt_decimalfield_value(celsius, 5, 2),
                        source,
                        user_id,
                    )
                )
            c.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(part))}", params)  # noqa: S608


def _window(
    sensor: Sensor,
    rules: domain.Rules,
    low: dt.datetime,
    high: dt.datetime,
    inside: dict[dt.datetime, Decimal] | None = None,
) -> list[tuple[dt.datetime, Decimal]]:
    """The stored readings (sorted ``(moment, celsius)`` pairs, one per moment) the engine needs to judge the moments ``low``…``high`` again: every run meeting
    them is cut by an in-range reading on each side (or by the ends of the record). ``inside``: the
    readings of ``low``…``high`` the caller already holds (the batch just stored and those found stored
    there), so only the edges around them are read back, never the batch itself."""
    qs = Reading.objects.filter(sensor=sensor)
    in_range = qs.filter(celsius__gte=rules.low_c, celsius__lte=rules.high_c)
    before = in_range.filter(at__lt=low).order_by("-at").values_list("at", flat=True).first()
    after = in_range.filter(at__gt=high).order_by("at").values_list("at", flat=True).first()
    if inside is None:
        window = qs
        if before is not None:
            window = window.filter(at__gte=before)
        if after is not None:
            window = window.filter(at__lte=after)
        return list(window.order_by("at").values_list("at", "celsius"))
    left = Q(at__lt=low) if before is None else Q(at__gte=before, at__lt=low)
    right = Q(at__gt=high) if after is None else Q(at__gt=high, at__lte=after)
    edges = dict(qs.filter(left | right).values_list("at", "celsius"))
    merged = edges | inside
    return sorted(merged.items())


def _evaluate(
    *,
    actor,
    sensor: Sensor,
    low: dt.datetime,
    high: dt.datetime,
    inside: dict[dt.datetime, Decimal] | None = None,
) -> tuple[int, int, int]:
    rules = sensor.rules()
    readings = _window(sensor, rules, low, high, inside)
    found = domain.excursions_sorted(readings, rules)
    if not found:
        return 0, 0, 0
    first, last = readings[0][0], readings[-1][0]
    known = list(
        Excursion.objects.select_for_update(of=("self",))
        .select_related("equipment__unit__place")
        .filter(sensor=sensor, start__lte=last)
        .exclude(end__lt=first)
        .order_by(
            "-start", "-id"
        )  # a found run touching two stored ones extends the later, on every database
    )
    return _reconcile(actor=actor, sensor=sensor, found=found, known=known, changed=None)


def _reconcile(
    *,
    actor,
    sensor: Sensor,
    found: tuple[domain.Excursion, ...],
    known: list[Excursion],
    changed: list[Excursion] | None,
) -> tuple[int, int, int]:
    """Bring the stored excursions of one sensor up to what the engine found: bring the known ones to their
    recomputed run (saved at once, or appended to ``changed`` for the caller to save together), open the new
    ones, quarantine for those that hold stock. Returns (opened, updated, codes quarantined).

    The window the engine saw holds every stored run it meets whole (every run is cut by an in-range
    reading), so a found run is the stored one's truth. A stored run is matched by one found run at most
    (the first one, in time, that meets it; a found run meeting two stored ones — a late reading joining
    them — extends the later): when a late reading splits a stored run, the stored excursion shrinks to the
    first part and each later part meeting its span is opened as its own excursion, which also holds the
    codes the stored one holds that were in the unit during it (nothing held is let go)."""
    updated = quarantined = 0
    fresh: list[domain.Excursion] = []
    parents: list[Excursion | None] = []
    again: list[Excursion] = []
    resumed: list[Excursion] = []  # silent sensors reporting again
    spans = {e.pk: (e.start, e.end) for e in known}  # as stored, before this reconciliation
    taken: set[int] = set()
    for f in found:
        meeting = [e for e in known if e.kind == f.kind.value and f.overlaps(*spans[e.pk])]
        match = next((e for e in meeting if e.pk not in taken), None)
        if match is None:
            if any(g.kind is f.kind and f.overlaps(g.start, g.end) for g in fresh):
                continue  # the engine gives one run per stretch; kept for safety against a double
            fresh.append(f)
            parents.append(meeting[0] if meeting else None)  # split off a stored run already matched
            continue
        taken.add(match.pk)
        silent_open = match.kind == domain.ExcursionKind.SILENT.value and match.end is None
        if _extend(match, f, save=changed is None):
            updated += 1
            if changed is not None:
                changed.append(match)
            if silent_open and match.end is not None:
                resumed.append(match)
            if match.holds_stock and match.status in (
                domain.ExcursionStatus.OPEN.value,
                domain.ExcursionStatus.ACKNOWLEDGED.value,
            ):
                again.append(match)
    if resumed:
        _silent_resolved(actor=actor, excursions=resumed)
    if again:
        quarantined += sum(_quarantine_many(actor=actor, excursions=again).values())
    if fresh:
        quarantined += _open_many(actor=actor, sensor=sensor, found=fresh, parents=parents)
    return len(fresh), updated, quarantined


def _fields(f: domain.Excursion) -> dict:
    return {
        "start": f.start,
        "last_seen": f.last_seen,
        "end": f.end,
        "extreme": f.extreme,
        "duration_seconds": int(f.duration.total_seconds()),
    }


_EXTENDED = ("start", "last_seen", "end", "extreme", "duration_seconds")


def _extend(e: Excursion, f: domain.Excursion, *, save: bool = True) -> bool:
    """Bring a stored excursion to its run as the engine now finds it in readings that hold the whole run:
    an earlier start or a longer span from a late reading, its end, or — a late reading splitting it — the
    first part only (its last reading before its end, its duration and extreme of that part)."""
    values = _fields(f)
    if all(getattr(e, k) == v for k, v in values.items()):
        return False
    if save:
        Excursion.objects.filter(pk=e.pk).update(**values)
    for k, v in values.items():
        setattr(e, k, v)
    return True


def _inherit(*, excursion: Excursion, parent: Excursion | None) -> int:
    """A run split off a stored excursion that holds stock also holds the codes the stored one holds (not
    yet released or destroyed) that were in the unit during it, so that releasing either lets go only what
    the other does not hold. Returns how many it took over."""
    if parent is None or not excursion.holds_stock or not parent.holds_stock:
        return 0
    [exposed] = supply_services.codes_exposed(
        unit=excursion.equipment.unit, windows=[(excursion.start, excursion.end)]
    )
    ids = [*exposed.on_hand, *exposed.in_transit]
    if not ids:
        return 0
    held = list(
        QuarantinedCode.objects.filter(
            excursion=parent, outcome=QuarantinedCode.Outcome.HELD, code_id__in=ids
        ).values_list("code_id", flat=True)
    )
    QuarantinedCode.objects.bulk_create(
        [QuarantinedCode(excursion=excursion, code_id=i) for i in held], ignore_conflicts=True
    )
    total = QuarantinedCode.objects.filter(excursion=excursion).count()
    Excursion.objects.filter(pk=excursion.pk).update(codes_quarantined=total)
    excursion.codes_quarantined = total
    return len(held)


def _open_event(e: Excursion, *, held: int, parent: Excursion | None) -> dict:
    event = {
        "equipment": e.equipment.code,
        "kind": e.kind,
        "start": e.start.isoformat(),
        "extreme": str(e.extreme) if e.extreme is not None else None,
        "codes_quarantined": held,
    }
    if parent is not None:
        event["split_from"] = parent.pk
    return event


def _open(
    *, actor, sensor: Sensor, found: domain.Excursion, parent: Excursion | None = None
) -> tuple[Excursion, int]:
    """Open one excursion; returns it and the codes quarantined now (those taken over from a stored run it
    was split off count in the excursion's codes and its alert, not here: they were already held)."""
    eq = sensor.equipment
    e = Excursion.objects.create(
        equipment=eq, sensor=sensor, kind=found.kind.value, opened_at=clock.now(), **_fields(found)
    )
    n = _quarantine(actor=actor, excursion=e) if e.holds_stock else 0
    held = n + _inherit(excursion=e, parent=parent)
    audit_record(
        actor=actor, action="coldchain.excursion_open", obj=e, new=_open_event(e, held=held, parent=parent)
    )
    _alert_excursion(e, quarantined=held)
    return e, n


def _open_many(
    *,
    actor,
    sensor: Sensor,
    found: list[domain.Excursion],
    parents: list[Excursion | None] | None = None,
) -> int:
    """Open the new excursions of one sensor together (the bulk path): one INSERT for the rows, one for
    their audit events, one for the in-app alerts, the keeper's phone read once; the unit's stock is
    quarantined for each freeze or heat. ``parents``: per found run, the stored excursion it was split off
    (or ``None``). Returns the codes quarantined now."""
    parents = parents or [None] * len(found)
    if len(found) == 1:
        return _open(actor=actor, sensor=sensor, found=found[0], parent=parents[0])[1]
    eq = sensor.equipment
    now = clock.now()
    rows = Excursion.objects.bulk_create(
        [
            Excursion(equipment=eq, sensor=sensor, kind=f.kind.value, opened_at=now, **_fields(f))
            for f in found
        ]
    )
    if any(e.pk is None for e in rows):  # a database that does not return the ids of a bulk insert
        rows = list(Excursion.objects.filter(sensor=sensor, opened_at=now).order_by("id"))
    quarantined = _quarantine_many(actor=actor, excursions=rows)
    held = {e.pk: quarantined.get(e.pk, 0) for e in rows}
    for e, parent in zip(rows, parents, strict=True):
        held[e.pk] += _inherit(excursion=e, parent=parent)
    audit_record_many(
        actor=actor,
        action="coldchain.excursion_open",
        object_type="coldchain.excursion",
        items=[
            (e.pk, None, _open_event(e, held=held[e.pk], parent=parent))
            for e, parent in zip(rows, parents, strict=True)
        ],
    )
    keeper = _keeper_phones(eq)
    alerts: list[StaffAlert] = []
    for e in rows:
        text = _excursion_text(e, quarantined=held[e.pk])
        alerts += _alert_rows(eq=eq, kind=_alert_kind(e, held[e.pk]), text=text, excursion=e, now=now)
        _sms_excursion(e, text=text, keeper=keeper)
    StaffAlert.objects.bulk_create(alerts)
    return sum(quarantined.values())


def _quarantine(*, actor, excursion: Excursion) -> int:
    """Quarantine what was in the excursion's unit during it (in the caller's transaction)."""
    return _quarantine_many(actor=actor, excursions=[excursion]).get(excursion.pk, 0)


def _quarantine_many(*, actor, excursions: list[Excursion]) -> dict[int, int]:
    """Quarantine, for the freeze and heat excursions of one unit together, every code that was in the unit
    during each of them, wherever it is now (supply's place history of each code: still there, moved to
    another unit, dispatched since, or carried in it as a vehicle); a code still in transit is held and
    quarantined when its dispatch is received. One call to supply whatever the number of excursions; each
    code is recorded against the earliest excursion it met. Returns the codes held per excursion id."""
    holding = [e for e in excursions if e.holds_stock]
    if not holding:
        return {}
    eq = holding[0].equipment
    first = min(holding, key=lambda e: e.start)
    exposed = supply_services.codes_quarantine_exposed(
        actor=actor,
        unit=eq.unit,
        windows=[(e.start, e.end) for e in holding],
        reason=f"{first.get_kind_display()}超标",
        reference=f"excursion:{first.pk}" + ("…" if len(holding) > 1 else ""),
    )
    held: dict[int, int] = {}
    rows: list[QuarantinedCode] = []
    for e, x in zip(holding, exposed, strict=True):
        ids = [*x.on_hand, *x.in_transit]
        held[e.pk] = len(ids)
        rows += [QuarantinedCode(excursion=e, code_id=i) for i in ids]
    if not rows:
        return held
    QuarantinedCode.objects.bulk_create(rows, ignore_conflicts=True)
    touched = [e for e in holding if held[e.pk]]
    totals = dict(
        QuarantinedCode.objects.filter(excursion__in=touched)
        .values_list("excursion_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for e in touched:
        Excursion.objects.filter(pk=e.pk).update(codes_quarantined=totals.get(e.pk, 0))
        e.codes_quarantined = totals.get(e.pk, 0)
    return held


def transit_hold(*, actor, dispatch) -> list[int]:
    """A dispatch was received: its codes an excursion held while they were in transit (and that nobody has
    released since) are quarantined now where they arrived. Returns their ids."""
    ids = list(
        QuarantinedCode.objects.filter(
            code__dispatch=dispatch,
            outcome=QuarantinedCode.Outcome.HELD,
            excursion__status__in=(
                domain.ExcursionStatus.OPEN.value,
                domain.ExcursionStatus.ACKNOWLEDGED.value,
            ),
        )
        .values_list("code_id", flat=True)
        .distinct()
    )
    if not ids:
        return []
    return supply_services.codes_quarantine_listed(
        actor=actor,
        code_ids=ids,
        reason=_("运输或调出前所在设备温度超标"),
        reference=f"dispatch:{dispatch.number}",
    )


def _alert_rows(*, eq: Equipment, kind: str, text: str, excursion=None, key: str = "", now=None) -> list:
    now = now or clock.now()
    rows = []
    if eq.keeper_id:
        rows.append(
            StaffAlert(
                kind=kind,
                equipment=eq,
                user_id=eq.keeper_id,
                text=text,
                excursion=excursion,
                created_at=now,
                key=f"{key}:keeper" if key else "",
            )
        )
    rows.append(
        StaffAlert(
            kind=kind,
            equipment=eq,
            role=COUNTY_ROLE,
            text=text,
            excursion=excursion,
            created_at=now,
            key=f"{key}:county" if key else "",
        )
    )
    return rows


def _alert(*, eq: Equipment, kind: str, text: str, excursion=None, key: str = "") -> None:
    rows = _alert_rows(eq=eq, kind=kind, text=text, excursion=excursion, key=key)
    StaffAlert.objects.bulk_create(rows, ignore_conflicts=bool(key))


def _excursion_text(e: Excursion, *, quarantined: int) -> str:
    eq = e.equipment
    when = timezone.localtime(e.start).strftime("%m-%d %H:%M")
    text = _("%(unit)s（%(place)s）%(kind)s：自%(when)s起") % {
        "unit": eq.code,
        "place": eq.unit.place.name,
        "kind": e.get_kind_display(),
        "when": when,
    }
    if e.extreme is not None:
        text += _("，极值%(extreme)s℃") % {"extreme": e.extreme}
    if quarantined:
        text += _("；已隔离%(n)s个追溯码，待县疾控评估") % {"n": quarantined}
    return text[:300]


def _alert_kind(e: Excursion, quarantined: int) -> str:
    if e.kind == domain.ExcursionKind.SILENT.value:
        return AlertKind.SILENT
    return AlertKind.EXCURSION if not quarantined else AlertKind.QUARANTINE


def _alert_excursion(e: Excursion, *, quarantined: int) -> None:
    text = _excursion_text(e, quarantined=quarantined)
    _alert(eq=e.equipment, kind=_alert_kind(e, quarantined), text=text, excursion=e)
    _sms_excursion(e, text=text)


# --------------------------------------------------------------------------------------------------
# Transport: the temperature on arrival (supply.signals.dispatch_received)
# --------------------------------------------------------------------------------------------------

DEFAULT_RANGE = (Decimal("2.0"), Decimal("8.0"))


def arrival_check(*, actor, dispatch) -> Excursion | None:
    """A dispatch received with its temperature on arrival (in supply's transaction): in the product's
    storage range (2–8 ℃ when the product has none) nothing happens; outside it the dispatch's codes that
    arrived are quarantined at once and an excursion of kind "到货温度异常" is filed on the unit they went
    into (its alerts and texts as for any excursion), for the county to release or destroy like the others.
    Returns the excursion, or ``None``."""
    celsius = dispatch.arrival_celsius
    if celsius is None:
        return None
    product = dispatch.product
    low = product.storage_min_c if product.storage_min_c is not None else DEFAULT_RANGE[0]
    high = product.storage_max_c if product.storage_max_c is not None else DEFAULT_RANGE[1]
    if domain.arrival_in_range(Decimal(celsius), Decimal(low), Decimal(high)):
        return None
    arrived = list(
        TraceCode.objects.filter(dispatch=dispatch, place=dispatch.to_place).values_list("id", "unit_id")
    )
    units = [u for _i, u in arrived if u]
    eq = (
        Equipment.objects.select_related("unit__place").filter(unit_id__in=units[:1]).first()
        if units
        else None
    )
    if eq is None:
        eq = (
            Equipment.objects.select_related("unit__place")
            .filter(unit__place=dispatch.to_place)
            .order_by("code")
            .first()
        )
    reason = _("调拨单%(n)s到货温度%(c)s℃，超出储存温度%(low)s～%(high)s℃") % {
        "n": dispatch.number,
        "c": celsius,
        "low": low,
        "high": high,
    }
    ids = supply_services.codes_quarantine_listed(
        actor=actor, code_ids=[i for i, _u in arrived], reason=reason, reference=f"dispatch:{dispatch.number}"
    )
    if eq is None:  # a place without registered equipment: the codes are held; nothing to file it on
        audit_record(
            actor=actor,
            action="coldchain.arrival_out_of_range",
            obj=dispatch,
            new={"celsius": str(celsius), "codes_quarantined": len(ids), "equipment": None},
        )
        return None
    at = dispatch.received_at or clock.now()
    e = Excursion.objects.create(
        equipment=eq,
        sensor=sensor_default(equipment=eq),
        kind=domain.ExcursionKind.ARRIVAL.value,
        start=at,
        last_seen=at,
        end=at,
        extreme=celsius,
        duration_seconds=0,
        opened_at=clock.now(),
        codes_quarantined=len(ids),
    )
    QuarantinedCode.objects.bulk_create(
        [QuarantinedCode(excursion=e, code_id=i) for i in ids], ignore_conflicts=True
    )
    audit_record(
        actor=actor,
        action="coldchain.excursion_open",
        obj=e,
        new={
            "equipment": eq.code,
            "kind": e.kind,
            "dispatch": dispatch.number,
            "extreme": str(celsius),
            "codes_quarantined": len(ids),
        },
    )
    _alert_excursion(e, quarantined=len(ids))
    return e


def duty_phones() -> list[str]:
    """The county's cold-chain duty phones (settings ``VAXOPS_COLDCHAIN["duty_phones"]``)."""
    return [str(p) for p in (getattr(settings, "VAXOPS_COLDCHAIN", {}) or {}).get("duty_phones", ()) if p]


def _keeper_phones(eq: Equipment) -> list[str]:
    """The phones of the unit's keeper (their staff records)."""
    if not eq.keeper_id:
        return []
    return list(
        StaffMember.objects.filter(user_id=eq.keeper_id, active=True)
        .exclude(phone="")
        .values_list("phone", flat=True)
    )


def _sms_excursion(e: Excursion, *, text: str, keeper: list[str] | None = None) -> None:
    """Text the responsible staff through notify, once per excursion and phone: the unit's keeper (the phone
    of their staff record) for every excursion, and the county's duty phones for a freeze, heat or an
    arrival out of range (a hold)."""
    phones: list[str] = list(_keeper_phones(e.equipment) if keeper is None else keeper)
    if e.kind in (
        domain.ExcursionKind.FREEZE.value,
        domain.ExcursionKind.HEAT.value,
        domain.ExcursionKind.ARRIVAL.value,
    ):
        phones += duty_phones()
    for phone in dict.fromkeys(phones):
        notification_queue(
            template="coldchain_excursion",
            phone=phone,
            text=_("【冷链】") + text,
            reference=f"excursion:{e.pk}:{phone}",
        )


# --------------------------------------------------------------------------------------------------
# The excursion's steps: acknowledged by the keeper, assessed and decided by the county, closed
# --------------------------------------------------------------------------------------------------


def _step(e: Excursion, to: domain.ExcursionStatus, **values) -> None:
    current = domain.ExcursionStatus(e.status)
    if not current.can_become(to):
        raise ValidationFailed(
            _("超标事件当前为“%(now)s”，不能改为“%(to)s”") % {"now": current.label_zh, "to": to.label_zh},
            field="status",
            code=ColdchainErrorCode.EXCURSION_STATUS_STEP,
        )
    changed = Excursion.objects.filter(pk=e.pk, status=current.value).update(status=to.value, **values)
    if not changed:
        raise ValidationFailed(
            _("超标事件刚被他人处理，请刷新后重试"),
            field="status",
            code=ColdchainErrorCode.EXCURSION_STATUS_STEP,
        )
    e.status = to.value
    for k, v in values.items():
        setattr(e, k, v)


@transaction.atomic
def excursion_acknowledge(*, actor, excursion: Excursion, note: str = "") -> Excursion:
    e = Excursion.objects.select_for_update().get(pk=excursion.pk)
    _step(e, domain.ExcursionStatus.ACKNOWLEDGED, acknowledged_by=actor, acknowledged_at=clock.now())
    audit_record(actor=actor, action="coldchain.excursion_acknowledge", obj=e, new={"note": note[:200]})
    return e


@transaction.atomic
def excursion_assess(
    *,
    actor,
    excursion: Excursion,
    decision: str,
    reason: str,
    witness: str = "",
    destroyed_at: dt.datetime | None = None,
    method: str = "",
) -> Excursion:
    """The county's decision on an acknowledged excursion: release the quarantined codes (with the reason,
    e.g. the manufacturer's stability data), destroy them (wastage 温度异常 on the ledger and the
    supervised-destruction record: who, when, witness), or — for an excursion that held nothing — none."""
    if not actor.has_perm("coldchain.assess_excursion"):
        raise PermissionDenied(_("只有县疾控可以评估处置温度超标事件"), code=CoreErrorCode.ROLE_FORBIDDEN)
    e = Excursion.objects.select_for_update().select_related("equipment__unit").get(pk=excursion.pk)
    try:
        choice = Decision(decision)
    except ValueError:
        raise ValidationFailed(
            _("未知的处置决定：%(d)s") % {"d": decision},
            field="decision",
            code=ColdchainErrorCode.DECISION_INVALID,
        ) from None
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写评估理由"), field="reason", code=CoreErrorCode.REASON_REQUIRED)
    held = list(
        QuarantinedCode.objects.filter(excursion=e, outcome=QuarantinedCode.Outcome.HELD).values_list(
            "code_id", flat=True
        )
    )
    if choice is Decision.NONE and held:
        raise ValidationFailed(
            _("本事件隔离了%(n)s个追溯码，须决定解除隔离或销毁") % {"n": len(held)},
            field="decision",
            code=ColdchainErrorCode.DECISION_INVALID,
        )
    now = clock.now()
    _step(
        e,
        domain.ExcursionStatus.ASSESSED,
        assessed_by=actor,
        assessed_at=now,
        decision=choice.value,
        decision_reason=reason[:300],
    )
    extra: dict = {"codes": len(held)}
    if choice is Decision.RELEASE and held:
        # A code another excursion still holds (a run split off this one, not yet decided) stays held.
        others = set(
            QuarantinedCode.objects.filter(code_id__in=held, outcome=QuarantinedCode.Outcome.HELD)
            .exclude(excursion=e)
            .values_list("code_id", flat=True)
        )
        free = [i for i in held if i not in others]
        n = (
            supply_services.codes_release(
                actor=actor, code_ids=free, reason=reason, reference=f"excursion:{e.pk}"
            )
            if free
            else 0
        )
        QuarantinedCode.objects.filter(excursion=e, code_id__in=held).update(
            outcome=QuarantinedCode.Outcome.RELEASED
        )
        extra["released"] = n
        if others:
            extra["still_held"] = len(others)
    elif choice is Decision.DESTROY:
        travelling = TraceCode.objects.filter(id__in=held, state=CodeState.IN_TRANSIT).count()
        if travelling:
            raise ValidationFailed(
                _("本事件隔离的追溯码中有%(n)s个仍在途，须到货签收后再销毁") % {"n": travelling},
                field="decision",
                code=ColdchainErrorCode.CODES_IN_TRANSIT,
            )
        witness = (witness or "").strip()
        if not witness:
            raise ValidationFailed(
                _("销毁须填写监督人"), field="witness", code=ColdchainErrorCode.WITNESS_REQUIRED
            )
        doses = sum(
            TraceCode.objects.filter(id__in=held).values_list("lot__product__doses_per_vial", flat=True)
        )
        n = supply_services.codes_destroy(
            actor=actor, code_ids=held, note=f"温度异常：{reason}", reference=f"excursion:{e.pk}"
        )
        QuarantinedCode.objects.filter(excursion=e, code_id__in=held).update(
            outcome=QuarantinedCode.Outcome.DESTROYED
        )
        Destruction.objects.create(
            excursion=e,
            destroyed_by=actor,
            destroyed_at=destroyed_at or now,
            witness=witness[:100],
            method=method[:100],
            codes=n,
            doses=doses,
        )
        extra.update({"destroyed": n, "doses": doses, "witness": witness[:100]})
    audit_record(
        actor=actor,
        action="coldchain.excursion_assess",
        obj=e,
        old={"status": "acknowledged"},
        new={"decision": choice.value, "reason": reason[:300], **extra},
    )
    return e


@transaction.atomic
def excursion_close(*, actor, excursion: Excursion) -> Excursion:
    e = Excursion.objects.select_for_update().get(pk=excursion.pk)
    if e.end is None:
        raise ValidationFailed(
            _("超标仍在持续（尚无恢复正常的读数），不能关闭"),
            field="status",
            code=ColdchainErrorCode.EXCURSION_STATUS_STEP,
        )
    _step(e, domain.ExcursionStatus.CLOSED, closed_by=actor, closed_at=clock.now())
    audit_record(actor=actor, action="coldchain.excursion_close", obj=e, new={"status": "closed"})
    return e


# --------------------------------------------------------------------------------------------------
# Silent sensors: the worker's frequent check
# --------------------------------------------------------------------------------------------------


def silent_check_minutes() -> int:
    """How often the worker looks for silent sensors (settings ``VAXOPS_COLDCHAIN["silent_check_minutes"]``)."""
    return max(1, int((getattr(settings, "VAXOPS_COLDCHAIN", {}) or {}).get("silent_check_minutes", 15)))


def _silent_resolved(*, actor, excursions: list[Excursion]) -> None:
    """A silent sensor reports again: the silent excursion has its end (its row brought up to date by the
    caller), its alerts are resolved (no longer shown) and the resumption is audited."""
    now = clock.now()
    StaffAlert.objects.filter(excursion__in=excursions, resolved_at__isnull=True).update(resolved_at=now)
    audit_record_many(
        actor=actor,
        action="coldchain.silent_resolved",
        object_type="coldchain.excursion",
        items=[
            (
                e.pk,
                {"end": None},
                {
                    "equipment": e.equipment.code,
                    "start": e.start.isoformat(),
                    "end": e.end.isoformat() if e.end else None,
                },
            )
            for e in excursions
        ],
    )


def silent_check(*, actor=None) -> dict:
    """Look at every active logger of a unit in use: one that has reported before and whose last reading is
    older than its silent time gets an ongoing silent excursion (end unknown), opened like any other — its
    alert to the keeper and the county, the keeper texted, audited — once: an ongoing one is not opened again
    however often this runs. A silent sensor that reports again has its excursion ended at the first reading
    after the silence and its alerts resolved (usually by the reading itself, in ``readings_ingest``; here
    when late readings filled the silence without a gap). Returns ``{"opened", "resumed", "silent"}``."""
    actor = actor or SystemActor("worker")
    now = clock.now()
    last = Reading.objects.filter(sensor=OuterRef("pk")).order_by("-at").values("at")[:1]
    ongoing = Excursion.objects.filter(
        sensor=OuterRef("pk"), kind=domain.ExcursionKind.SILENT.value, end__isnull=True
    ).order_by("start")
    sensors = (
        Sensor.objects.filter(active=True, kind=SensorKind.LOGGER, equipment__status="in_use")
        .select_related("equipment")
        .annotate(last_at=Subquery(last), silent_since=Subquery(ongoing.values("start")[:1]))
        .filter(last_at__isnull=False)
        .order_by("pk")
    )
    opened = resumed = silent = 0
    for sn in sensors:
        gap = dt.timedelta(minutes=sn.rules().silent_minutes)
        quiet = now - sn.last_at > gap
        if sn.silent_since is not None and sn.last_at <= sn.silent_since:
            silent += 1  # still silent, already known
            continue
        if sn.silent_since is None and not quiet:
            continue
        o, r = _silent_sensor(actor=actor, sensor_id=sn.pk, now=now)
        opened += o
        resumed += r
        silent += o
    return {"opened": opened, "resumed": resumed, "silent": silent}


@transaction.atomic
def _silent_sensor(*, actor, sensor_id: int, now: dt.datetime) -> tuple[int, int]:
    """One sensor under its lock (as ``readings_ingest`` holds it): end an ongoing silence that readings have
    since broken, open one when the sensor is silent now. Returns (opened, resumed)."""
    sensor = Sensor.objects.select_for_update().select_related("equipment__unit__place").get(pk=sensor_id)
    readings = Reading.objects.filter(sensor=sensor)
    latest = readings.order_by("-at").values_list("at", "celsius").first()
    if latest is None:
        return 0, 0
    resumed = 0
    ongoing = list(
        Excursion.objects.select_for_update(of=("self",))
        .select_related("equipment__unit__place")
        .filter(sensor=sensor, kind=domain.ExcursionKind.SILENT.value, end__isnull=True)
        .order_by("start")
    )
    for e in ongoing:
        after = readings.filter(at__gt=e.start).order_by("at").values_list("at", flat=True).first()
        if after is None:
            continue
        _extend(e, domain.Excursion(domain.ExcursionKind.SILENT, e.start, e.start, after, None, 0))
        _silent_resolved(actor=actor, excursions=[e])
        resumed += 1
    if len(ongoing) > resumed:
        return 0, resumed  # still silent, already open
    rules = sensor.rules()
    found = [
        f
        for f in domain.excursions([domain.Reading(*latest)], rules, now=now)
        if f.kind is domain.ExcursionKind.SILENT
    ]
    if not found:
        return 0, resumed
    _open(actor=actor, sensor=sensor, found=found[0])
    return 1, resumed


# --------------------------------------------------------------------------------------------------
# The manual log (上午/下午) and its missing entries
# --------------------------------------------------------------------------------------------------


def manual_reading_record(
    *, actor, equipment: Equipment, celsius, at: dt.datetime | None = None
) -> IngestResult:
    """One hand-written reading; the afternoon's must come at least six hours after the morning's."""
    try:
        value = domain.parse_celsius(celsius)
    except ValueError as e:
        raise ValidationFailed(str(e), field="celsius", code=ColdchainErrorCode.READING_INVALID) from None
    at = (at or clock.now()).replace(microsecond=0)
    sensor = sensor_manual(equipment=equipment)
    local = timezone.localtime(at)
    if domain.manual_slot(local) is domain.ManualSlot.AFTERNOON:
        day_start = local.replace(hour=0, minute=0, second=0)
        noon = local.replace(hour=12, minute=0, second=0)
        morning = (
            Reading.objects.filter(sensor=sensor, at__gte=day_start, at__lt=noon)
            .order_by("at")
            .values_list("at", flat=True)
            .first()
        )
        if morning is not None and at - morning < domain.MANUAL_MIN_APART:
            raise ValidationFailed(
                _("下午记录须与上午记录（%(am)s）相隔至少6小时")
                % {"am": timezone.localtime(morning).strftime("%H:%M")},
                field="at",
                code=ColdchainErrorCode.MANUAL_TOO_SOON,
            )
    return readings_ingest(actor=actor, items=[Item(1, sensor, at, value)], source=ReadingSource.MANUAL)


def manual_log_check(*, day: dt.date | None = None) -> int:
    """Alert the keeper and the county for each manual-log entry of ``day`` (today by default) that is due
    and missing; once per unit, day and slot however often it runs. Returns how many were missing."""
    now = clock.localnow()
    day = day or now.date()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=now.tzinfo)
    missing_total = 0
    for eq in Equipment.objects.filter(manual_log=True, status="in_use").select_related("unit__place"):
        entries = [
            timezone.localtime(a)
            for a in Reading.objects.filter(
                sensor__equipment=eq,
                sensor__kind=SensorKind.MANUAL,
                at__gte=start,
                at__lt=start + dt.timedelta(days=1),
            ).values_list("at", flat=True)
        ]
        for slot in domain.manual_log_missing(entries, day=day, local_now=now):
            missing_total += 1
            _alert(
                eq=eq,
                kind=AlertKind.MANUAL_MISSING,
                text=_("%(unit)s（%(place)s）%(day)s%(slot)s未做人工温度记录")
                % {
                    "unit": eq.code,
                    "place": eq.unit.place.name,
                    "day": day.isoformat(),
                    "slot": slot.label_zh,
                },
                key=f"manual:{eq.pk}:{day.isoformat()}:{slot.value}",
            )
    return missing_total


@transaction.atomic
def alert_read(*, actor, alert: StaffAlert) -> None:
    StaffAlert.objects.filter(pk=alert.pk, read_at__isnull=True).update(read_at=clock.now())
