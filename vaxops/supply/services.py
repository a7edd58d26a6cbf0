"""Writes of the supply chain: the stock ledger, lot status and the receipt of traceability codes.

Every function is keyword-only, atomic and audited in the same transaction. Stock is changed only by a
conditional UPDATE of ``StockBalance`` (``doses >= wanted``), never by reading a balance and writing it
back, so concurrent takes cannot overdraw a balance; the database's check constraint backs this up.
"""

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxops.audit.services import audit_record, audit_record_many
from vaxops.catalog.models import Product, TracePrefix
from vaxops.core import clock
from vaxops.core.dbroles import analyze
from vaxops.core.errors import CoreErrorCode, ValidationFailed, VaxOpsError
from vaxops.core.streams import read_ahead_in_process
from vaxops.registry import domain as registry_domain
from vaxops.registry.services import ImportResult, RowError, oversized_errors, stopped_part_way
from vaxops.registry.tables import Table

from . import domain
from .errors import SupplyErrorCode
from .models import (
    AllocationRun,
    AllocationStatus,
    CodeState,
    ColdChainKind,
    ColdChainUnit,
    Discrepancy,
    Dispatch,
    DispatchCode,
    DispatchItem,
    DispatchStatus,
    Lot,
    StockBalance,
    StockCount,
    StockMovement,
    StockPlace,
    TraceCode,
    UnitMove,
)
from .signals import codes_changed, dispatch_received
from .tables import LABELS, check_required


def _codes_changed(code_ids, state, at=None) -> None:
    """Tell the apps above (exchange) that ``code_ids`` are now in ``state`` (in the caller's transaction)."""
    ids = list(code_ids)
    if ids:
        codes_changed.send(sender=TraceCode, code_ids=ids, state=str(state), at=at or clock.now())


# Movements that use a lot: refused while the lot is held, recalled or expired.
_USE_KINDS = frozenset({domain.MovementKind.DISPATCH, domain.MovementKind.ADMINISTRATION})


def _actor_fields(actor) -> dict:
    return {
        "actor": actor if getattr(actor, "pk", None) else None,
        "actor_label": getattr(actor, "username", str(actor)) if actor is not None else "system",
    }


@transaction.atomic
def movement_record(
    *,
    actor,
    kind: str,
    place: StockPlace,
    lot: Lot,
    doses: int,
    code: TraceCode | None = None,
    reason: str = "",
    reference: str = "",
    wastage_reason: str | None = None,
    lot_checked: bool = False,
    extra: dict | None = None,
) -> StockMovement:
    """Append one ledger row and change the (place, lot) balance by its signed delta.

    ``doses`` is positive, except for an adjustment, where it is the signed correction (as in
    ``domain.Movement``). Raises ValidationFailed for an invalid movement, for a dispatch or
    administration of a lot that is not usable today, and when the balance would go below zero (then
    nothing is written). ``lot_checked`` says the caller has already required a usable lot in the same
    statement that changed the codes (so the lot row need not be locked); ``extra`` goes into the audit.
    """
    return _movement_record(
        actor=actor,
        kind=kind,
        place=place,
        lot=lot,
        doses=doses,
        code=code,
        reason=reason,
        reference=reference,
        wastage_reason=wastage_reason,
        lot_checked=lot_checked,
        extra=extra,
    )


def _movement_record(
    *, actor, kind, place, lot, doses, code, reason, reference, wastage_reason, lot_checked, extra
) -> StockMovement:
    """``movement_record`` in the caller's transaction (no savepoint of its own)."""
    try:
        movement = domain.Movement(
            kind=kind,
            place=place.code,
            lot=lot.lot_number,
            doses=doses,
            wastage_reason=wastage_reason,
            reason_zh=reason,
        )
    except ValueError as e:
        raise ValidationFailed(str(e), code=SupplyErrorCode.MOVEMENT_INVALID) from None
    if movement.kind in _USE_KINDS and not lot_checked:
        # Read the lot's status now, under a row lock where the database has one, so a hold or recall
        # committed a moment ago applies to this movement too.
        status, expiry = (
            Lot.objects.select_for_update().filter(pk=lot.pk).values_list("status", "expiry").get()
        )
        usable, why = domain.lot_usable(status=status, expiry=expiry, on=clock.today())
        if not usable:
            raise ValidationFailed(
                _("批号%(lot_number)s：%(why)s") % {"lot_number": lot.lot_number, "why": why},
                code=SupplyErrorCode.LOT_NOT_USABLE,
            )
    delta = movement.delta
    if delta > 0:
        StockBalance.objects.get_or_create(place=place, lot=lot)
    changed = StockBalance.objects.filter(place=place, lot=lot, doses__gte=-delta).update(
        doses=F("doses") + delta
    )
    if not changed:
        have = StockBalance.objects.filter(place=place, lot=lot).values_list("doses", flat=True).first() or 0
        raise ValidationFailed(
            _("库存不足：%(place_name)s批号%(lot_number)s结存%(have)s剂，%(kind)s需%(delta)s剂")
            % {
                "place_name": place.name,
                "lot_number": lot.lot_number,
                "have": format(have, ","),
                "kind": movement.kind.label_zh,
                "delta": format(-delta, ","),
            },
            code=SupplyErrorCode.STOCK_INSUFFICIENT,
        )
    row = StockMovement.objects.create(
        kind=movement.kind.value,
        place=place,
        lot=lot,
        doses=delta,
        code=code,
        reference=reference,
        reason=reason,
        **_actor_fields(actor),
    )
    audit_record(
        actor=actor,
        action="supply.movement_record",
        obj=row,
        new={
            "kind": row.kind,
            "place": place.code,
            "lot": lot.lot_number,
            "doses": delta,
            "code": code.code if code else None,
            "reason": reason,
            "reference": reference,
            **(extra or {}),
        },
    )
    return row


@transaction.atomic
def lot_status_change(*, actor, lot: Lot, status: str, reason: str) -> Lot:
    """Set a lot's status (released, on hold, recalled, expired) with who and why; effective at once."""
    try:
        new = domain.LotStatus(status)
    except ValueError:
        raise ValidationFailed(
            _("未知的批号状态：%(status)s") % {"status": status},
            field="status",
            code=SupplyErrorCode.LOT_STATUS_UNKNOWN,
        ) from None
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("变更批号状态须填写原因"), field="reason", code=CoreErrorCode.REASON_REQUIRED
        )
    old = Lot.objects.select_for_update().filter(pk=lot.pk).values_list("status", flat=True).get()
    if old == new.value:
        raise ValidationFailed(
            _("批号%(lot_number)s已是“%(label_zh)s”状态")
            % {"lot_number": lot.lot_number, "label_zh": new.label_zh},
            field="status",
            code=SupplyErrorCode.LOT_STATUS_UNCHANGED,
        )
    now = clock.now()
    changed_by = actor if getattr(actor, "pk", None) else None
    Lot.objects.filter(pk=lot.pk).update(
        status=new.value, status_changed_by=changed_by, status_changed_at=now, status_reason=reason[:200]
    )
    lot.refresh_from_db()
    audit_record(
        actor=actor,
        action="supply.lot_status_change",
        obj=lot,
        old={"status": old},
        new={"status": new.value, "reason": reason},
    )
    return lot


@transaction.atomic
def lot_details_update(
    *, actor, lot: Lot, manufacturer: str | None = None, release_certificate: str | None = None
) -> Lot:
    """Record a lot's manufacturer and lot-release certificate (批签发号) as the paperwork arrives; audited."""
    old = {"manufacturer": lot.manufacturer, "release_certificate": lot.release_certificate}
    changes = {}
    if manufacturer is not None:
        changes["manufacturer"] = manufacturer.strip()[:100]
    if release_certificate is not None:
        changes["release_certificate"] = release_certificate.strip()[:60]
    changes = {k: v for k, v in changes.items() if v != old[k]}
    if not changes:
        return lot
    Lot.objects.filter(pk=lot.pk).update(**changes)
    lot.refresh_from_db()
    audit_record(
        actor=actor,
        action="supply.lot_details_update",
        obj=lot,
        old={k: old[k] for k in changes},
        new=changes,
    )
    return lot


# --------------------------------------------------------------------------------------------------
# Receipt files of traceability codes
# --------------------------------------------------------------------------------------------------

CODES_BATCH = 10_000  # codes per transaction
# A CSV at least this large (about 80,000 receipt rows) is read and checked in a forked process beside the
# writer, so that both cores work; a smaller one (or an XLSX) is read inline.
CODES_PROCESS_READ_AHEAD_BYTES = 4 * 1024 * 1024
# PostgreSQL: refresh the code table's statistics as an import grows it (see residents_import_rows).
CODES_ANALYZE_AFTER_BATCHES = frozenset({2, 10, 50})
_CODE_COLUMNS = ("code", "lot_id", "state", "place_id", "origin_id", "package", "wasted_reason", "unit_id")
_CACHED_TEXTS = 4096  # distinct product and expiry cells remembered while reading a file


def _cell(values: list, i: int):
    if i < 0 or i >= len(values):
        return None
    v = values[i]
    return v.strip() if isinstance(v, str) else v


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


class _Products:
    """Products by catalogue code and DCC ``mp`` code, with their traceability prefixes."""

    def __init__(self) -> None:
        self.by_text: dict[str, Product] = {}
        self.by_id: dict[int, Product] = {}
        for p in Product.objects.all():
            self.by_id[p.pk] = p
            self.by_text.setdefault(p.code, p)
            self.by_text.setdefault(p.code.lower(), p)
        for p in self.by_id.values():
            if p.dcc_mp:
                self.by_text.setdefault(p.dcc_mp, p)
                self.by_text.setdefault(p.dcc_mp.lower(), p)
        self.prefixes: dict[int, tuple[str, ...]] = {}
        for product_id, prefix in TracePrefix.objects.values_list("product_id", "prefix"):
            self.prefixes[product_id] = (*self.prefixes.get(product_id, ()), prefix)

    def get(self, text: str) -> Product | None:
        return self.by_text.get(text) or self.by_text.get(text.lower())


def _expiry_cell(v) -> tuple[date | None, str | None]:
    """(date, None) or (None, the message for the 有效期至 column)."""
    try:
        expiry = registry_domain.parse_date(v.strip() if isinstance(v, str) else v)
    except registry_domain.DocumentError as e:
        return None, e.message
    return (expiry, None) if expiry is not None else (None, "有效期不能为空")


def _checked_rows(table: Table, products: _Products):
    """Each non-blank row of ``table`` checked on its own and against the rows above it in the file.

    Yields ``(row, code, product_id, lot_number, expiry, package)`` for a good row and ``(row, None,
    errors)`` for a bad one. It never touches the database (products are loaded before), so it may run in
    a forked process. The common case — a 20-digit code, a product and a date already seen — takes a few
    dictionary look-ups; anything else goes through the full parsers for their messages.
    """
    col = table.columns.get
    ic, il, ipr, ie, ipk = (
        col("code", -1),
        col("lot", -1),
        col("product", -1),
        col("expiry", -1),
        col("package", -1),
    )
    labels = {key: table.header_labels.get(key, LABELS[key]) for key in LABELS}
    seen: dict[str, int] = {}  # code → first row of this file
    lot_expiry: dict[tuple[int, str], date] = {}  # (product, lot number) → expiry the file gave first
    product_of: dict[str, int | None] = {}  # product cell → product id
    expiry_of: dict[str, tuple[date | None, str | None]] = {}
    prefix_sets = {pid: frozenset(p) for pid, p in products.prefixes.items()}
    no_prefixes: frozenset[str] = frozenset()

    for row, values in table.rows:
        n = len(values)
        raw = values[ic] if 0 <= ic < n else None
        if not (type(raw) is str and raw and not raw.isspace()) and not any(_text(v) for v in values):
            continue  # a blank line is not a row
        too_long = table.oversized(values)
        if too_long:
            yield row, None, oversized_errors(row, too_long, table.max_cell_chars)
            continue
        errors: list[RowError] = []

        if type(raw) is str and len(raw) == 20 and raw.isdigit() and raw.isascii():
            code = raw
        else:
            code = None
            try:
                code = domain.parse_trace_code(_cell(values, ic)).code
            except domain.TraceCodeError as e:
                errors.append(RowError(row, labels["code"], e.message))
        raw = values[il] if 0 <= il < n else None
        lot_number = raw.strip() if type(raw) is str else _text(raw)
        if not lot_number:
            errors.append(RowError(row, labels["lot"], "批号不能为空"))
        elif len(lot_number) > 40:
            errors.append(RowError(row, labels["lot"], "批号超过40个字符"))
        raw = values[ipr] if 0 <= ipr < n else None
        product_text = raw.strip() if type(raw) is str else _text(raw)
        pid = None
        if not product_text:
            errors.append(RowError(row, labels["product"], "疫苗品种不能为空"))
        else:
            try:
                pid = product_of[product_text]
            except KeyError:
                product = products.get(product_text)
                pid = product.pk if product is not None else None
                if len(product_of) < _CACHED_TEXTS:
                    product_of[product_text] = pid
            if pid is None:
                errors.append(
                    RowError(
                        row, labels["product"], f"疫苗品种“{product_text}”不存在（应为产品编码或DCC药品编码）"
                    )
                )
        raw = values[ie] if 0 <= ie < n else None
        if type(raw) is str:
            got = expiry_of.get(raw)
            if got is None:
                got = _expiry_cell(raw)
                if len(expiry_of) < _CACHED_TEXTS:
                    expiry_of[raw] = got
        else:
            got = _expiry_cell(raw)
        expiry, message = got
        if message:
            errors.append(RowError(row, labels["expiry"], message))
        if code is not None and pid is not None and code[:7] not in prefix_sets.get(pid, no_prefixes):
            try:
                domain.check_prefix(
                    code, lot_product_prefixes=products.prefixes.get(pid, ()), lot_number=lot_number or None
                )
            except domain.TraceCodeError as e:
                errors.append(RowError(row, labels["code"], e.message))
        if code is not None and not errors:
            first = seen.get(code)
            if first is not None:
                errors.append(RowError(row, labels["code"], f"追溯码{code}在本文件第{first}行已出现"))
            else:
                seen[code] = row
        if pid is not None and lot_number and expiry is not None and not errors:
            given = lot_expiry.setdefault((pid, lot_number), expiry)
            if given != expiry:
                errors.append(
                    RowError(
                        row,
                        labels["expiry"],
                        f"批号{lot_number}的有效期在本文件中前后不一致"
                        f"（{given.isoformat()}与{expiry.isoformat()}）",
                    )
                )
        package = ""
        if 0 <= ipk < n and _text(values[ipk]):
            try:
                package = domain.parse_trace_code(_cell(values, ipk)).code
            except domain.TraceCodeError as e:
                errors.append(RowError(row, labels["package"], "包装码有误：" + e.message))
            else:
                if code is not None and package == code:
                    errors.append(RowError(row, labels["package"], "包装码不能与追溯码相同"))
        if errors:
            yield row, None, errors
        else:
            yield row, code, pid, lot_number, expiry, package


def codes_import(
    *,
    table: Table,
    actor,
    place: StockPlace,
    filename: str = "",
    batch_size: int = CODES_BATCH,
    on_batch: Callable[[ImportResult], None] | None = None,
    unit: ColdChainUnit | None = None,
) -> ImportResult:
    """Receive the codes of a receipt file into ``place`` (into ``unit``, one of its cold-chain units; by
    default its first, so a place with one unit needs no choice).

    Counting contract of the census import: read = created + updated + unchanged + rejected; each
    rejected row has errors naming row, column and reason; a bad row never stops the good ones. A code
    already registered for the same lot is unchanged (so a re-import changes nothing); for another lot
    it is rejected. Missing lots are created (released). Each batch is one transaction: its codes (one
    bulk insert on the unique index), one RECEIPT movement per lot and their audit events.

    A large CSV is read and checked in a forked process (``CODES_PROCESS_READ_AHEAD_BYTES``) while this
    one writes the batches.
    """

    check_required(table)
    unit = unit_for(place=place, unit=unit)
    products = _Products()
    rows = _checked_rows(table, products)
    if table.size >= CODES_PROCESS_READ_AHEAD_BYTES and table.position_is_bytes:
        done = [table.done()]
        rows = read_ahead_in_process(
            rows, position=table.done, on_position=lambda p: done.__setitem__(0, p), chunk=2000
        )
        table.position = lambda: done[0]
    result = ImportResult()
    batch: list[tuple] = []
    batches = 0

    def flush() -> None:
        nonlocal batches
        _apply_codes(
            batch, actor=actor, place=place, result=result, filename=filename, products=products, unit=unit
        )
        batch.clear()
        batches += 1
        if connection.vendor == "postgresql" and batches in CODES_ANALYZE_AFTER_BATCHES:
            with connection.cursor() as c:
                analyze(c, TraceCode._meta.db_table)
        if on_batch:
            on_batch(result)

    it = iter(rows)
    while True:
        try:
            item = next(it)
        except StopIteration:
            break
        except VaxOpsError as e:
            # The file cannot be read past this point: save the good rows before it and say so (a re-run of
            # the corrected file finds them registered, unchanged, and finishes the rest).
            if batch:
                flush()
            raise stopped_part_way(e, result) from None
        result.read += 1
        if item[1] is None:
            result.rejected += 1
            result.add_errors(item[2])
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    elif on_batch:
        on_batch(result)
    result.errors.sort(key=lambda e: e.row)
    return result


def _apply_codes(
    batch,
    *,
    actor,
    place: StockPlace,
    result: ImportResult,
    filename: str,
    products: _Products | None = None,
    unit: ColdChainUnit | None = None,
) -> None:
    """Apply one batch; a concurrent import of the same codes (unique index) makes it re-read and retry once."""
    products = products or _Products()
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                counts, errors = _apply_codes_once(
                    batch, actor=actor, place=place, filename=filename, products=products, unit=unit
                )
            break
        except IntegrityError:
            if attempt == 2:
                raise
    result.created += counts["created"]
    result.unchanged += counts["unchanged"]
    result.rejected += counts["rejected"]
    result.add_errors(errors)


def _codes_registered(codes: list[str]) -> dict[str, tuple[int, str]]:
    """Which of ``codes`` are registered already: code → (lot id, lot number).

    First one indexed probe for the lowest registered code at or above the batch's lowest: a receipt
    file's new codes are a run no code lies in, and then nothing more is asked. Otherwise one query over
    the unique index for all of them (an array on PostgreSQL, a JSON list on SQLite: no 10,000-value IN).
    """
    table = TraceCode._meta.db_table
    low, high = min(codes), max(codes)
    with connection.cursor() as c:
        c.execute(f"SELECT code FROM {table} WHERE code >= %s ORDER BY code LIMIT 1", [low])  # noqa: S608
        first = c.fetchone()
        if first is None or first[0] > high:
            return {}
        join = f"SELECT t.code, t.lot_id, l.lot_number FROM {table} t JOIN {Lot._meta.db_table} l ON l.id = t.lot_id"  # noqa: S608
        if connection.vendor == "postgresql":
            c.execute(f"{join} WHERE t.code = ANY(%s)", [codes])
        elif connection.vendor == "sqlite":
            import json

            c.execute(f"{join} WHERE t.code IN (SELECT value FROM json_each(%s))", [json.dumps(codes)])  # noqa: S608
        else:
            found = []
            for i in range(0, len(codes), 900):
                part = codes[i : i + 900]
                c.execute(f"{join} WHERE t.code IN ({', '.join(['%s'] * len(part))})", part)
                found.extend(c.fetchall())
            return {code: (lot_id, number) for code, lot_id, number in found}
        return {code: (lot_id, number) for code, lot_id, number in c.fetchall()}


def _codes_insert(
    groups: list[tuple[int, list[tuple[str, str]]]], place_id: int, unit_id: int | None = None
) -> None:
    """Insert new codes, given as (lot id, [(code, package code), …]), in stock at ``place_id``, in code order
    (so that two imports of overlapping files take their index locks in the same order).

    COPY on PostgreSQL, its text built directly (codes and package codes are digits, ids integers:
    nothing to escape). On SQLite, INSERTs of up to 500 rows each: each execution of a statement has a
    cost of its own, and with one row per statement that is most of the time (300,000 codes into an empty
    table: 14 µs a row with ``executemany`` of a one-row INSERT, 6 µs with 100 rows). A code inserted
    meanwhile by another import fails the whole batch with an IntegrityError, as ``bulk_create`` would.
    """
    from itertools import chain

    table = TraceCode._meta.db_table
    columns = ", ".join(_CODE_COLUMNS)
    in_stock = CodeState.IN_STOCK.value
    unit = "\\N" if unit_id is None else unit_id
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            lines = [
                f"{code}\t{lot_id}\t{in_stock}\t{place_id}\t{place_id}\t{package}\t\t{unit}\n"
                for lot_id, new in groups
                for code, package in new
            ]
            lines.sort()  # each line starts with its 20-digit code
            with (
                connection.wrap_database_errors,
                c.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                copy.write("".join(lines))
            return
        rows = [
            (code, lot_id, in_stock, place_id, place_id, package, "", unit_id)
            for lot_id, new in groups
            for code, package in new
        ]
        rows.sort()
        per = max(1, min(500, connection.features.max_query_params // len(_CODE_COLUMNS)))
        if connection.vendor == "sqlite":
            import sqlite3

            per = min(
                500,
                connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(_CODE_COLUMNS),
            )
        one = "(" + ", ".join(["%s"] * len(_CODE_COLUMNS)) + ")"
        full = len(rows) - len(rows) % per
        if full:
            flat = list(chain.from_iterable(rows[:full]))
            width = per * len(_CODE_COLUMNS)
            c.executemany(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * per)}",  # noqa: S608
                [flat[i : i + width] for i in range(0, len(flat), width)],
            )
        if full < len(rows):
            rest = rows[full:]
            c.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(rest))}",  # noqa: S608
                list(chain.from_iterable(rest)),
            )


def _apply_codes_once(
    batch, *, actor, place: StockPlace, filename: str, products: _Products, unit: ColdChainUnit | None = None
) -> tuple[dict[str, int], list[RowError]]:
    counts = {"created": 0, "unchanged": 0, "rejected": 0}
    errors: list[RowError] = []
    wanted = {(pid, number) for _, _, pid, number, _, _ in batch}
    lots: dict[tuple[int, str], Lot] = {}
    for lot in Lot.objects.filter(lot_number__in={number for _product, number in wanted}).select_related(
        "product"
    ):
        if (lot.product_id, lot.lot_number) in wanted:
            lots[(lot.product_id, lot.lot_number)] = lot
    existing = _codes_registered([item[1] for item in batch])

    new_by_lot: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for row, code, pid, number, expiry, package in batch:
        key = (pid, number)
        lot = lots.get(key)
        if lot is not None and lot.expiry != expiry:
            counts["rejected"] += 1
            errors.append(
                RowError(
                    row,
                    LABELS["expiry"],
                    f"批号{number}已登记的有效期为{lot.expiry.isoformat()}，与文件中的{expiry.isoformat()}不符",
                )
            )
            continue
        if existing and code in existing:
            lot_id, other = existing[code]
            if lot is not None and lot_id == lot.pk:
                counts["unchanged"] += 1
            else:
                counts["rejected"] += 1
                errors.append(
                    RowError(
                        row, LABELS["code"], f"追溯码{code}已登记在批号{other}下，不能再登记到批号{number}"
                    )
                )
            continue
        new = new_by_lot.get(key)
        if new is None:
            if lot is None:
                product = products.by_id[pid]
                lot, _ = Lot.objects.get_or_create(
                    product=product,
                    lot_number=number,
                    defaults={
                        "expiry": expiry,
                        "manufacturer": product.manufacturer_zh,
                        "status": domain.LotStatus.RELEASED.value,
                    },
                )
                lots[key] = lot
            new = new_by_lot[key] = []
        new.append((code, package))
    if not new_by_lot:
        return counts, errors

    unit = unit_for(place=place, unit=unit)
    _codes_insert(
        [(lots[key].pk, new_codes) for key, new_codes in new_by_lot.items()],
        place.pk,
        unit.pk if unit else None,
    )
    for key, new_codes in new_by_lot.items():
        lot = lots[key]
        doses = len(new_codes) * lot.product.doses_per_vial
        Lot.objects.filter(pk=lot.pk).update(quantity_doses=F("quantity_doses") + doses)
        movement_record(
            actor=actor,
            kind=domain.MovementKind.RECEIPT,
            place=place,
            lot=lot,
            doses=doses,
            reason=f"导入追溯码{len(new_codes):,}个" + (f"（{filename}）" if filename else ""),
            reference=filename[:60],
        )
        counts["created"] += len(new_codes)
    audit_record_many(
        actor=actor,
        action="supply.codes_import",
        object_type="supply.lot",
        items=[
            (
                lots[k].pk,
                None,
                {"place": place.code, "codes": len(v), "first": v[0][0], "last": v[-1][0], "file": filename},
            )
            for k, v in new_by_lot.items()
        ],
    )
    return counts, errors


# --------------------------------------------------------------------------------------------------
# Codes leaving stock: administration, wastage, recall return
# --------------------------------------------------------------------------------------------------

_CHUNK = 900  # ids per IN (...) list: well under SQLite's parameter limit


def _chunks(items: list, size: int = _CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def code_lookup(text) -> tuple[str, TraceCode | None]:
    """A scanned code's normalised text and its row (with lot, product and place), or None when it was never
    received. Raises ValidationFailed when ``text`` is not a traceability code."""
    try:
        parsed = domain.parse_trace_code(text)
    except domain.TraceCodeError as e:
        raise ValidationFailed(e.message, field="code", code=SupplyErrorCode.CODE_MALFORMED) from None
    return parsed.code, TraceCode.objects.select_related("lot__product", "place").filter(
        code=parsed.code
    ).first()


def _code_get(text) -> TraceCode:
    code, found = code_lookup(text)
    if found is None:
        raise ValidationFailed(
            _("追溯码%(code)s未登记入库（请核对是否为本县收货的疫苗）") % {"code": code},
            field="code",
            code=SupplyErrorCode.CODE_UNKNOWN,
        )
    return found


def _not_in_stock(tc: TraceCode, place: StockPlace) -> ValidationFailed:
    """The refusal saying why ``tc`` (re-read) cannot leave stock at ``place`` now, in plain Chinese."""
    tc.refresh_from_db()
    code = {"code": tc.code}
    if tc.state == CodeState.ADMINISTERED:
        when = timezone.localtime(tc.administered_at).strftime("%Y-%m-%d %H:%M") if tc.administered_at else ""
        return ValidationFailed(
            _("追溯码%(code)s已于%(when)s使用，一个追溯码只能使用一次（一人一苗一扫码）")
            % {**code, "when": when},
            field="code",
            code=SupplyErrorCode.CODE_USED,
        )
    if tc.state == CodeState.IN_TRANSIT:
        return ValidationFailed(
            _("追溯码%(code)s尚在调拨途中，须先签收入库") % code,
            field="code",
            code=SupplyErrorCode.CODE_IN_TRANSIT,
        )
    if tc.state == CodeState.WASTED:
        reason = domain.WastageReason(tc.wasted_reason).label_zh if tc.wasted_reason else "其他"
        return ValidationFailed(
            _("追溯码%(code)s已登记损耗（%(reason)s），不得使用") % {**code, "reason": reason},
            field="code",
            code=SupplyErrorCode.CODE_WASTED,
        )
    if tc.state == CodeState.RECALLED:
        return ValidationFailed(
            _("追溯码%(code)s已召回，不得使用") % code, field="code", code=SupplyErrorCode.CODE_RECALLED
        )
    if tc.state == CodeState.QUARANTINED:
        return ValidationFailed(
            _("追溯码%(code)s因冷链温度异常已隔离，待县疾控评估处置，不得使用") % code,
            field="code",
            code=SupplyErrorCode.CODE_QUARANTINED,
        )
    if tc.place_id != place.pk:
        where = tc.place.name if tc.place_id else "未知地点"
        return ValidationFailed(
            _("追溯码%(code)s不在%(place)s的库存中（登记在%(where)s）")
            % {**code, "place": place.name, "where": where},
            field="code",
            code=SupplyErrorCode.CODE_ELSEWHERE,
        )
    lot = Lot.objects.get(pk=tc.lot_id)
    usable, why = domain.lot_usable(status=lot.status, expiry=lot.expiry, on=clock.today())
    if not usable:
        return ValidationFailed(
            _("批号%(lot_number)s：%(why)s") % {"lot_number": lot.lot_number, "why": why},
            field="code",
            code=SupplyErrorCode.LOT_NOT_USABLE,
        )
    return ValidationFailed(
        _("追溯码%(code)s此刻无法使用，请重试") % code, field="code", code=SupplyErrorCode.STOCK_CHANGED
    )


def code_administer(
    *,
    actor,
    code: str | TraceCode,
    resident,
    place: StockPlace,
    at=None,
    reference: str = "",
    refresh: bool = True,
    savepoint: bool = True,
) -> TraceCode:
    """Mark one code administered to ``resident`` at ``place`` and take its doses out of stock.

    One conditional UPDATE decides it: the code must be in stock at ``place`` and its lot released and
    not expired at this moment, so a second use, a code elsewhere, or a lot put on hold or recalled a
    moment ago is refused with its reason, and nothing is written. ``code`` is the scanned text, or the
    ``TraceCode`` the caller has just read with its lot and product (the desk's scan), which is then not
    read again; ``refresh=False`` skips reading the new state back; ``savepoint=False`` is for a caller whose
    transaction ends with any error raised here (the desk's dose), sparing the savepoints' round trips.
    """
    with transaction.atomic(savepoint=savepoint):
        return _code_administer(
            actor=actor,
            code=code,
            resident=resident,
            place=place,
            at=at,
            reference=reference,
            refresh=refresh,
        )


def _code_administer(*, actor, code, resident, place, at, reference, refresh) -> TraceCode:
    tc = code if isinstance(code, TraceCode) else _code_get(code)
    at = at or clock.now()
    today = clock.today()
    changed = TraceCode.objects.filter(
        pk=tc.pk,
        state=CodeState.IN_STOCK,
        place=place,
        lot__in=Lot.objects.filter(status=domain.LotStatus.RELEASED.value, expiry__gte=today),
    ).update(state=CodeState.ADMINISTERED, administered_to=resident, administered_at=at)
    if not changed:
        raise _not_in_stock(tc, place)
    _codes_changed([tc.pk], CodeState.ADMINISTERED, at)
    _movement_record(
        actor=actor,
        kind=domain.MovementKind.ADMINISTRATION,
        place=place,
        lot=tc.lot,
        doses=tc.lot.product.doses_per_vial,
        code=tc,
        reason="",
        reference=reference,
        wastage_reason=None,
        lot_checked=True,
        extra={"resident": resident.pk},
    )
    if refresh:
        tc.refresh_from_db()
    return tc


@transaction.atomic
def code_waste(*, actor, code: str, place: StockPlace, reason: str, note: str = "") -> TraceCode:
    """Record one code at ``place`` as wasted (broken, expired, temperature, open-vial discard, other)."""
    try:
        why = domain.WastageReason(reason)
    except ValueError:
        raise ValidationFailed(
            _("未知的损耗原因：%(reason)s") % {"reason": reason},
            field="reason",
            code=SupplyErrorCode.WASTAGE_REASON_UNKNOWN,
        ) from None
    if why is domain.WastageReason.OTHER and not note.strip():
        raise ValidationFailed(
            _("损耗原因为“其他”时须说明"), field="note", code=SupplyErrorCode.WASTAGE_NOTE_REQUIRED
        )
    tc = _code_get(code)
    changed = TraceCode.objects.filter(pk=tc.pk, state=CodeState.IN_STOCK, place=place).update(
        state=CodeState.WASTED, wasted_reason=why.value
    )
    if not changed:
        raise _not_in_stock(tc, place)
    _codes_changed([tc.pk], CodeState.WASTED)
    movement_record(
        actor=actor,
        kind=domain.MovementKind.WASTAGE,
        place=place,
        lot=tc.lot,
        doses=tc.lot.product.doses_per_vial,
        code=tc,
        wastage_reason=why.value,
        reason=note.strip() or why.label_zh,
    )
    tc.refresh_from_db()
    return tc


@transaction.atomic
def recall_return(*, actor, lot: Lot, place: StockPlace, reason: str = "") -> int:
    """Send back every code of a recalled ``lot`` still in stock at ``place``; returns how many codes."""
    status = Lot.objects.filter(pk=lot.pk).values_list("status", flat=True).get()
    if status != domain.LotStatus.RECALLED.value:
        raise ValidationFailed(
            _("批号%(lot_number)s未被召回，不能召回退回") % {"lot_number": lot.lot_number},
            field="lot",
            code=SupplyErrorCode.LOT_NOT_RECALLED,
        )
    ids = list(
        TraceCode.objects.filter(lot=lot, place=place, state=CodeState.IN_STOCK).values_list("id", flat=True)
    )
    if not ids:
        raise ValidationFailed(
            _("%(place_name)s没有批号%(lot_number)s的库存可退回")
            % {"place_name": place.name, "lot_number": lot.lot_number},
            code=SupplyErrorCode.RECALL_NO_STOCK,
        )
    changed = 0
    for part in _chunks(ids):
        changed += TraceCode.objects.filter(id__in=part, state=CodeState.IN_STOCK, place=place).update(
            state=CodeState.RECALLED
        )
    if changed != len(ids):
        raise ValidationFailed(
            _("库存在退回过程中被其他操作改变，请重试"), code=SupplyErrorCode.STOCK_CHANGED
        )
    _codes_changed(ids, CodeState.RECALLED)
    movement_record(
        actor=actor,
        kind=domain.MovementKind.RECALL_RETURN,
        place=place,
        lot=lot,
        doses=changed * lot.product.doses_per_vial,
        reason=reason or "召回退回",
        extra={"codes": changed},
    )
    return changed


# --------------------------------------------------------------------------------------------------
# Dispatch (调拨) and receipt at the destination (签收)
# --------------------------------------------------------------------------------------------------


def _dispatch_number(now) -> str:
    return f"DB{timezone.localtime(now):%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"


def _take_codes(*, lot: Lot, place: StockPlace, n: int) -> list[int]:
    """Ids of ``n`` codes of ``lot`` in stock at ``place``, locked for this transaction.

    On PostgreSQL rows another dispatch has locked are skipped (``SKIP LOCKED``), so two dispatches from
    one store take different codes instead of waiting on each other; the conditional UPDATE that follows
    is the guarantee either way.
    """
    qs = TraceCode.objects.filter(lot=lot, place=place, state=CodeState.IN_STOCK).order_by("code")
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True)
    ids = list(qs.values_list("id", flat=True)[:n])
    if len(ids) < n:
        raise ValidationFailed(
            _("%(place_name)s批号%(lot_number)s在库追溯码只有%(have)s个，不足%(n)s个")
            % {
                "place_name": place.name,
                "lot_number": lot.lot_number,
                "have": format(len(ids), ","),
                "n": format(n, ","),
            },
            code=SupplyErrorCode.CODES_INSUFFICIENT,
        )
    return ids


@transaction.atomic
def dispatch_create(
    *,
    actor,
    from_place: StockPlace,
    to_place: StockPlace,
    product: Product,
    doses: int,
    allocation=None,
    note: str = "",
    vehicle: ColdChainUnit | None = None,
) -> Dispatch:
    """Send ``doses`` of ``product`` from one place to another, lots chosen first-expiry-first-out.

    ``vehicle``: the cold-chain unit that carries it (a 冷藏车 or 冷藏箱/包 of either place); each code
    also keeps the unit it was taken from.

    The proposal (``domain.propose_dispatch``) never takes an expired, held or recalled lot and never
    more than the destination's free cold-chain volume; its reasons are kept on the dispatch. The codes
    taken go into transit, the sending place's ledger records a DISPATCH per lot, all in one transaction.
    """
    from . import selectors

    if from_place.pk == to_place.pk:
        raise ValidationFailed(
            _("调出和调入地点不能相同"), field="to_place", code=SupplyErrorCode.DISPATCH_SAME_PLACE
        )
    if doses <= 0:
        raise ValidationFailed(
            _("调拨剂数须为正数"), field="doses", code=SupplyErrorCode.DISPATCH_DOSES_INVALID
        )
    if vehicle is not None and (
        vehicle.kind not in (ColdChainKind.VEHICLE, ColdChainKind.COLD_BOX)
        or vehicle.place_id not in (from_place.pk, to_place.pk)
    ):
        raise ValidationFailed(
            _("运输设备须为调出或调入地点的冷藏车或冷藏箱：%(unit)s") % {"unit": vehicle},
            field="vehicle",
            code=SupplyErrorCode.DISPATCH_VEHICLE_INVALID,
        )
    today = clock.today()
    stock = selectors.stock_lines(place=from_place, product=product)
    free = selectors.free_volume_cm3(to_place)
    proposal = domain.propose_dispatch(
        stock=stock, product=product.code, doses=doses, free_volume_cm3=free, on=today
    )
    if not proposal.lines:
        raise ValidationFailed(
            _("无法调拨：%(reasons)s") % {"reasons": "；".join(proposal.reasons_zh or ("没有可用库存",))},
            field="doses",
            code=SupplyErrorCode.DISPATCH_NOT_POSSIBLE,
        )
    now = clock.now()
    dispatch = Dispatch.objects.create(
        number=_dispatch_number(now),
        from_place=from_place,
        to_place=to_place,
        product=product,
        dispatched_at=now,
        dispatched_by=actor if getattr(actor, "pk", None) else None,
        allocation=allocation,
        note=note[:200],
        reasons=list(proposal.reasons_zh),
        vehicle=vehicle,
    )
    lots = {
        lot.lot_number: lot
        for lot in Lot.objects.filter(product=product, lot_number__in=[x.lot for x in proposal.lines])
    }
    total_codes = total_doses = 0
    for line in proposal.lines:
        lot = lots[line.lot]
        ids = _take_codes(lot=lot, place=from_place, n=line.packs)
        changed = 0
        from_unit: dict[int, int | None] = {}
        for part in _chunks(ids):
            from_unit.update(TraceCode.objects.filter(id__in=part).values_list("id", "unit_id"))
            changed += TraceCode.objects.filter(
                id__in=part, state=CodeState.IN_STOCK, place=from_place
            ).update(state=CodeState.IN_TRANSIT, place=None, unit=None, dispatch=dispatch)
        if changed != len(ids):
            raise ValidationFailed(
                _("库存在调拨过程中被其他操作改变，请重试"), code=SupplyErrorCode.STOCK_CHANGED
            )
        DispatchCode.objects.bulk_create(
            [DispatchCode(dispatch=dispatch, code_id=i, from_unit_id=from_unit.get(i)) for i in ids],
            batch_size=1000,
        )
        DispatchItem.objects.create(dispatch=dispatch, lot=lot, codes_sent=len(ids), doses_sent=line.doses)
        movement_record(
            actor=actor,
            kind=domain.MovementKind.DISPATCH,
            place=from_place,
            lot=lot,
            doses=line.doses,
            reference=dispatch.number,
            reason=f"调往{to_place.name}",
            lot_checked=True,
        )
        total_codes += len(ids)
        total_doses += line.doses
    Dispatch.objects.filter(pk=dispatch.pk).update(codes_count=total_codes, doses=total_doses)
    dispatch.refresh_from_db()
    audit_record(
        actor=actor,
        action="supply.dispatch_create",
        obj=dispatch,
        new={
            "number": dispatch.number,
            "from": from_place.code,
            "to": to_place.code,
            "product": product.code,
            "requested": doses,
            "doses": total_doses,
            "codes": total_codes,
            "reasons": list(proposal.reasons_zh),
            "vehicle": vehicle.pk if vehicle else None,
        },
    )
    return dispatch


def expand_scans(scans, *, within: dict[str, int] | None = None) -> list[str]:
    """Scanned codes with each box/pack code replaced by the unit codes inside it (one level, from the
    receipt file's 包装码 column). Order kept, blanks dropped; text is normalised like scanner input."""
    texts = [domain.normalise_trace_code(s) for s in scans]
    texts = [t for t in texts if t]
    packages = (
        set(
            TraceCode.objects.filter(package__in=[t for t in texts if not within or t not in within])
            .values_list("package", flat=True)
            .distinct()
        )
        if texts
        else set()
    )
    if not packages:
        return texts
    children: dict[str, list[str]] = {}
    for unit, package in (
        TraceCode.objects.filter(package__in=packages).values_list("code", "package").order_by("code")
    ):
        children.setdefault(package, []).append(unit)
    out: list[str] = []
    for t in texts:
        if t in children:
            try:
                out.extend(domain.expand_package(t, children))
            except domain.TraceCodeError as e:
                raise ValidationFailed(e.message, code=SupplyErrorCode.PACKAGE_INVALID) from None
        else:
            out.append(t)
    return out


@transaction.atomic
def dispatch_receive(
    *,
    actor,
    dispatch: Dispatch,
    scanned=None,
    damaged=(),
    note: str = "",
    unit: ColdChainUnit | None = None,
    arrival_celsius=None,
) -> Dispatch:
    """Confirm at the destination what arrived.

    ``scanned`` ``None`` confirms every code of the dispatch; otherwise the codes (or box codes) scanned
    on arrival: codes of the dispatch not scanned are SHORT, ``damaged`` codes arrived broken (received,
    then wasted as broken), scanned codes that are not in this dispatch are listed as WRONG_LOT and not
    taken into stock. The destination's ledger records RECEIPT_AT_DESTINATION (and WASTAGE) per lot.
    Received codes go into ``unit`` (one of the destination's cold-chain units; by default its first).
    ``arrival_celsius``: the temperature on arrival, kept on the dispatch and told to the apps above through
    ``signals.dispatch_received`` in this transaction (coldchain quarantines what arrived out of range).
    """
    arrival = _arrival_celsius(arrival_celsius)
    d = Dispatch.objects.select_for_update().select_related("to_place", "from_place").get(pk=dispatch.pk)
    into = unit_for(place=d.to_place, unit=unit)
    if d.status != DispatchStatus.IN_TRANSIT:
        when = timezone.localtime(d.received_at).strftime("%Y-%m-%d %H:%M") if d.received_at else ""
        raise ValidationFailed(
            _("调拨单%(number)s已于%(when)s签收，不能重复签收") % {"number": d.number, "when": when},
            code=SupplyErrorCode.DISPATCH_ALREADY_RECEIVED,
        )
    rows = list(
        DispatchCode.objects.filter(dispatch=d).values_list("id", "code_id", "code__code", "code__lot_id")
    )
    in_dispatch = {code: (row_id, code_id, lot_id) for row_id, code_id, code, lot_id in rows}
    broken = set(expand_scans(damaged, within=in_dispatch))
    if scanned is None:
        seen = set(in_dispatch)
        unexpected: list[str] = []
    else:
        seen_list = expand_scans(scanned, within=in_dispatch)
        seen = set(seen_list) | broken
        unexpected = sorted({c for c in seen_list if c not in in_dispatch})
    unexpected += sorted(c for c in broken if c not in in_dispatch and c not in unexpected)
    outcome: dict[str, str] = {}
    for code in in_dispatch:
        if code in broken:
            outcome[code] = DispatchCode.Outcome.DAMAGED
        elif code in seen:
            outcome[code] = DispatchCode.Outcome.RECEIVED
        else:
            outcome[code] = DispatchCode.Outcome.SHORT

    lots = {
        lot.pk: lot
        for lot in Lot.objects.filter(pk__in={v[2] for v in in_dispatch.values()}).select_related("product")
    }
    per_lot: dict[int, dict[str, list[int]]] = {}
    wasted: list[int] = []
    for code, (row_id, code_id, lot_id) in in_dispatch.items():
        per_lot.setdefault(lot_id, {}).setdefault(outcome[code], []).append(code_id)
        del row_id
    now = clock.now()
    for kind in (DispatchCode.Outcome.RECEIVED, DispatchCode.Outcome.DAMAGED, DispatchCode.Outcome.SHORT):
        ids = [in_dispatch[c][0] for c, o in outcome.items() if o == kind]
        for part in _chunks(ids):
            DispatchCode.objects.filter(id__in=part).update(outcome=kind)
    for lot_id, groups in sorted(per_lot.items()):
        lot = lots[lot_id]
        dpv = lot.product.doses_per_vial
        good, bad, short = (
            groups.get(DispatchCode.Outcome.RECEIVED, []),
            groups.get(DispatchCode.Outcome.DAMAGED, []),
            groups.get(DispatchCode.Outcome.SHORT, []),
        )
        for part in _chunks(good):
            TraceCode.objects.filter(id__in=part, state=CodeState.IN_TRANSIT, dispatch=d).update(
                state=CodeState.IN_STOCK, place=d.to_place, unit=into
            )
        for part in _chunks(bad):
            TraceCode.objects.filter(id__in=part, state=CodeState.IN_TRANSIT, dispatch=d).update(
                state=CodeState.WASTED, place=d.to_place, wasted_reason=domain.WastageReason.BROKEN.value
            )
        for part in _chunks(short):
            TraceCode.objects.filter(id__in=part, state=CodeState.IN_TRANSIT, dispatch=d).update(
                state=CodeState.WASTED, wasted_reason=domain.WastageReason.OTHER.value
            )
        wasted += bad + short
        arrived = len(good) + len(bad)
        if arrived:
            movement_record(
                actor=actor,
                kind=domain.MovementKind.RECEIPT_AT_DESTINATION,
                place=d.to_place,
                lot=lot,
                doses=arrived * dpv,
                reference=d.number,
                reason=f"来自{d.from_place.name}",
            )
        if bad:
            movement_record(
                actor=actor,
                kind=domain.MovementKind.WASTAGE,
                place=d.to_place,
                lot=lot,
                doses=len(bad) * dpv,
                reference=d.number,
                wastage_reason=domain.WastageReason.BROKEN.value,
                reason=f"签收时破损{len(bad)}个",
            )
        DispatchItem.objects.filter(dispatch=d, lot=lot).update(
            codes_received=len(good), doses_received=len(good) * dpv
        )
    discrepancies = [
        Discrepancy(
            dispatch=d,
            kind=Discrepancy.Kind.SHORT,
            code=c,
            lot_number=lots[in_dispatch[c][2]].lot_number,
            note="签收时未扫到",
        )
        for c, o in sorted(outcome.items())
        if o == DispatchCode.Outcome.SHORT
    ]
    discrepancies += [
        Discrepancy(
            dispatch=d,
            kind=Discrepancy.Kind.DAMAGED,
            code=c,
            lot_number=lots[in_dispatch[c][2]].lot_number,
            note="签收时破损",
        )
        for c, o in sorted(outcome.items())
        if o == DispatchCode.Outcome.DAMAGED
    ]
    known = dict(
        TraceCode.objects.filter(code__in=unexpected[:_CHUNK]).values_list("code", "lot__lot_number")
    )
    discrepancies += [
        Discrepancy(
            dispatch=d,
            kind=Discrepancy.Kind.WRONG_LOT,
            code=c[:40],
            lot_number=known.get(c, ""),
            note=(f"不属于本调拨单（批号{known[c]}）" if c in known else "系统中无此追溯码"),
        )
        for c in unexpected
    ]
    Discrepancy.objects.bulk_create(discrepancies, batch_size=1000)
    status = DispatchStatus.DISCREPANCY if discrepancies else DispatchStatus.RECEIVED
    Dispatch.objects.filter(pk=d.pk).update(
        status=status,
        received_at=now,
        received_by=actor if getattr(actor, "pk", None) else None,
        note=(f"{d.note}；{note}" if d.note and note else (note or d.note))[:200],
        arrival_celsius=arrival,
    )
    d.refresh_from_db()
    # The discrepancies' codes (broken on arrival, not arrived) are wasted: the traceability platform hears it.
    _codes_changed(sorted(wasted), CodeState.WASTED, now)
    counts = {
        k.value: sum(1 for o in outcome.values() if o == k) for k in DispatchCode.Outcome if k != "in_transit"
    }
    audit_record(
        actor=actor,
        action="supply.dispatch_receive",
        obj=d,
        old={"status": DispatchStatus.IN_TRANSIT.value},
        new={
            "status": status,
            **counts,
            "unexpected": len(unexpected),
            "note": note,
            "arrival_celsius": str(arrival) if arrival is not None else None,
        },
    )
    dispatch_received.send(sender=Dispatch, dispatch=d, actor=actor)
    return d


def _arrival_celsius(value) -> Decimal | None:
    """The temperature on arrival as typed or sent (a number, −50…+60 ℃), or ``None`` when not given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        c = Decimal(str(value).strip()).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        c = None
    if c is None or not c.is_finite() or not Decimal(-50) <= c <= Decimal(60):
        raise ValidationFailed(
            _("到货温度须为 -50～60 之间的数字（℃）：%(v)s") % {"v": value},
            field="arrival_celsius",
            code=SupplyErrorCode.ARRIVAL_TEMPERATURE_INVALID,
        )
    return c


# --------------------------------------------------------------------------------------------------
# Stock count (盘点)
# --------------------------------------------------------------------------------------------------


@transaction.atomic
def stock_count_record(
    *, actor, place: StockPlace, scanned, adjust: bool = False, reason: str = ""
) -> StockCount:
    """Compare the codes scanned at ``place`` with those the ledger holds there, and keep the result.

    With ``adjust`` the codes the ledger holds but nobody found are written off (state wasted, reason
    "other") with a signed ADJUSTMENT per lot and ``reason``; codes found but not on the books are only
    listed, to be investigated (they may belong to another place).
    """
    codes = expand_scans(scanned)
    held = dict(TraceCode.objects.filter(place=place, state=CodeState.IN_STOCK).values_list("code", "lot_id"))
    result = domain.stock_count_differences(scanned_codes=codes, ledger_codes=held)
    reason = (reason or "").strip()
    if adjust and result.missing and not reason:
        raise ValidationFailed(_("调整台账须填写原因"), field="reason", code=CoreErrorCode.REASON_REQUIRED)
    count = StockCount.objects.create(
        place=place,
        counted_at=clock.now(),
        counted_by=actor if getattr(actor, "pk", None) else None,
        scanned=len(set(codes)),
        matched=result.matched_count,
        missing=list(result.missing),
        unexpected=list(result.unexpected),
        duplicates=list(result.duplicates),
        adjusted=bool(adjust and result.missing),
        reason=reason[:200],
    )
    written_off: list[int] = []
    if adjust and result.missing:
        by_lot: dict[int, list[str]] = {}
        for code in result.missing:
            by_lot.setdefault(held[code], []).append(code)
        for lot in Lot.objects.filter(pk__in=by_lot).select_related("product"):
            missing = by_lot[lot.pk]
            changed = 0
            for part in _chunks(missing):
                ids = list(
                    TraceCode.objects.filter(
                        code__in=part, place=place, state=CodeState.IN_STOCK
                    ).values_list("id", flat=True)
                )
                changed += TraceCode.objects.filter(id__in=ids, state=CodeState.IN_STOCK).update(
                    state=CodeState.WASTED, wasted_reason=domain.WastageReason.OTHER.value
                )
                written_off.extend(ids)
            if changed != len(missing):
                raise ValidationFailed(
                    _("盘点期间库存被其他操作改变，请重新盘点"), code=SupplyErrorCode.STOCK_CHANGED
                )
            movement_record(
                actor=actor,
                kind=domain.MovementKind.ADJUSTMENT,
                place=place,
                lot=lot,
                doses=-changed * lot.product.doses_per_vial,
                reference=f"盘点{count.pk}",
                reason=f"盘点账有实无{changed}个：{reason}",
            )
    _codes_changed(written_off, CodeState.WASTED)
    audit_record(
        actor=actor,
        action="supply.stock_count",
        obj=count,
        new={
            "place": place.code,
            "scanned": count.scanned,
            "matched": count.matched,
            "missing": len(result.missing),
            "unexpected": len(result.unexpected),
            "adjusted": count.adjusted,
            "reason": reason,
        },
    )
    return count


# --------------------------------------------------------------------------------------------------
# Allocation (疫苗分配)
# --------------------------------------------------------------------------------------------------


def _decimal(value, label: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            _("%(label)s须为数字") % {"label": label}, field=label, code=SupplyErrorCode.COUNT_NOT_NUMBER
        ) from None
    if not d.is_finite() or d < 0:
        raise ValidationFailed(
            _("%(label)s须为不小于0的数字") % {"label": label},
            field=label,
            code=SupplyErrorCode.COUNT_NEGATIVE,
        )
    return d


@transaction.atomic
def allocation_propose(
    *,
    actor,
    product: Product,
    doses_arriving: int,
    source: StockPlace,
    weights: dict,
    places=None,
    on: date | None = None,
) -> AllocationRun:
    """Propose how ``doses_arriving`` of ``product`` at ``source`` are shared among its receiving places
    (by default the places whose parent is ``source``), with the reasoning per place; nothing moves
    until the proposal is approved."""
    from . import selectors

    if doses_arriving <= 0:
        raise ValidationFailed(
            _("到货剂数须为正数"), field="doses_arriving", code=SupplyErrorCode.ALLOCATION_DOSES_INVALID
        )
    w = domain.AllocationWeights(
        risk=_decimal(weights.get("risk", 1), "风险权重"),
        density=_decimal(weights.get("density", 1), "密度权重"),
        mobility=_decimal(weights.get("mobility", 1), "流动性权重"),
    )
    places = list(places if places is not None else StockPlace.objects.filter(parent=source).order_by("code"))
    if not places:
        raise ValidationFailed(
            _("%(source_name)s没有下级库存地点可分配（请先登记乡镇冷库或接种单位）")
            % {"source_name": source.name},
            code=SupplyErrorCode.ALLOCATION_NO_CHILDREN,
        )
    needs = selectors.place_needs(places=places, product=product, on=on or clock.today())
    result = domain.allocate(
        doses_arriving=doses_arriving,
        pack_size=product.doses_per_vial,
        places=[n for n, _ in needs],
        weights=w,
    )
    names = {p.code: p.name for p in places}
    details = {n.code: extra for n, extra in needs}
    lines = [
        {
            "place": line.place,
            "place_name": names[line.place],
            "packs": line.packs,
            "doses": line.doses,
            "need": line.need,
            "share": round(line.share, 6),
            "capped_by_volume": line.capped_by_volume,
            "reasoning": line.reasoning_zh,
            **details[line.place],
        }
        for line in result.lines
    ]
    run = AllocationRun.objects.create(
        product=product,
        source=source,
        doses_arriving=doses_arriving,
        weights={"risk": str(w.risk), "density": str(w.density), "mobility": str(w.mobility)},
        lines=lines,
        notes=list(result.notes_zh),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(
        actor=actor,
        action="supply.allocation_propose",
        obj=run,
        new={
            "product": product.code,
            "doses_arriving": doses_arriving,
            "weights": run.weights,
            "allocated": result.allocated_doses,
            "lines": {x["place"]: x["doses"] for x in lines},
        },
    )
    return run


@transaction.atomic
def allocation_approve(*, actor, run: AllocationRun) -> list[Dispatch]:
    """Approve a proposal: one FEFO dispatch from its source to each place that gets doses, all or none."""
    r = AllocationRun.objects.select_for_update().select_related("product", "source").get(pk=run.pk)
    if r.status != AllocationStatus.PROPOSED:
        raise ValidationFailed(
            _("该分配方案已审批，不能重复审批"), code=SupplyErrorCode.ALLOCATION_ALREADY_APPROVED
        )
    places = {p.code: p for p in StockPlace.objects.filter(code__in=[x["place"] for x in r.lines])}
    dispatches = []
    for line in r.lines:
        if line["doses"] <= 0:
            continue
        try:
            dispatches.append(
                dispatch_create(
                    actor=actor,
                    from_place=r.source,
                    to_place=places[line["place"]],
                    product=r.product,
                    doses=line["doses"],
                    allocation=r,
                    note=f"分配方案{r.pk}",
                )
            )
        except ValidationFailed as e:
            raise ValidationFailed(
                _("%(place_name)s：%(message)s") % {"place_name": line["place_name"], "message": e.message},
                code=SupplyErrorCode.ALLOCATION_LINE_REFUSED,
            ) from None
    AllocationRun.objects.filter(pk=r.pk).update(
        status=AllocationStatus.APPROVED,
        approved_at=clock.now(),
        approved_by=actor if getattr(actor, "pk", None) else None,
    )
    run.refresh_from_db()
    audit_record(
        actor=actor,
        action="supply.allocation_approve",
        obj=run,
        old={"status": AllocationStatus.PROPOSED.value},
        new={"status": AllocationStatus.APPROVED.value, "dispatches": [d.number for d in dispatches]},
    )
    return dispatches


# --------------------------------------------------------------------------------------------------
# A voided dose: its code goes back to stock (vial not opened) or is written off
# --------------------------------------------------------------------------------------------------


@transaction.atomic
def code_after_void(*, actor, code: TraceCode, returned: bool, reason: str) -> TraceCode:
    """Undo the administration of ``code`` when its dose record is voided: ``returned`` puts the unopened
    package back into stock where it was given (a signed ADJUSTMENT restores the balance), otherwise it
    is written off as wasted ("other"; the stock had already left with the administration)."""
    tc = TraceCode.objects.select_related("lot__product", "place").get(pk=code.pk)
    if tc.state != CodeState.ADMINISTERED or tc.place_id is None:
        raise ValidationFailed(
            _("追溯码%(tc_code)s不是已接种状态，无法随作废调整") % {"tc_code": tc.code},
            field="code",
            code=SupplyErrorCode.CODE_NOT_ADMINISTERED,
        )
    if returned:
        changed = TraceCode.objects.filter(pk=tc.pk, state=CodeState.ADMINISTERED).update(
            state=CodeState.IN_STOCK, administered_to=None, administered_at=None
        )
        if changed:
            movement_record(
                actor=actor,
                kind=domain.MovementKind.ADJUSTMENT,
                place=tc.place,
                lot=tc.lot,
                doses=tc.lot.product.doses_per_vial,
                code=tc,
                reason=f"接种记录作废，未开启退回库存：{reason}"[:200],
            )
    else:
        changed = TraceCode.objects.filter(pk=tc.pk, state=CodeState.ADMINISTERED).update(
            state=CodeState.WASTED, wasted_reason=domain.WastageReason.OTHER.value
        )
        if changed:
            audit_record(
                actor=actor,
                action="supply.code_after_void",
                obj=tc.lot,
                new={"code": tc.code, "state": CodeState.WASTED.value, "reason": reason},
            )
    if not changed:
        raise ValidationFailed(
            _("追溯码%(tc_code)s状态刚被改变，请重试") % {"tc_code": tc.code},
            field="code",
            code=SupplyErrorCode.STOCK_CHANGED,
        )
    _codes_changed([tc.pk], CodeState.IN_STOCK if returned else CodeState.WASTED)
    tc.refresh_from_db()
    return tc


# --------------------------------------------------------------------------------------------------
# Cold-chain units: where a code is, moves between the units of a place, quarantine after an excursion
# --------------------------------------------------------------------------------------------------


def unit_for(*, place: StockPlace, unit: ColdChainUnit | None) -> ColdChainUnit | None:
    """``unit`` when it belongs to ``place`` (else a refusal); without one, the place's first unit (a place
    with one unit needs no choice), or ``None`` for a place without registered units."""
    if unit is not None:
        if unit.place_id != place.pk:
            raise ValidationFailed(
                _("冷链设备%(unit)s不属于%(place)s") % {"unit": str(unit), "place": place.name},
                field="unit",
                code=SupplyErrorCode.UNIT_ELSEWHERE,
            )
        return unit
    return ColdChainUnit.objects.filter(place=place).order_by("id").first()


_ON_HAND = (CodeState.IN_STOCK, CodeState.QUARANTINED)


@transaction.atomic
def codes_move(*, actor, codes, to_unit: ColdChainUnit, reason: str = "") -> int:
    """Move codes on hand at ``to_unit``'s place into ``to_unit``; returns how many moved.

    Each code is moved by a conditional UPDATE (still on hand at that place); the ledger gets a pair of
    ``unit_move`` rows per lot and source unit (out −, in +: the place's balance does not change) and each
    code a ``UnitMove`` row. A code not on hand at the place refuses the whole move."""
    place = StockPlace.objects.get(pk=to_unit.place_id)
    texts = expand_scans(codes)
    if not texts:
        raise ValidationFailed(
            _("请扫描要移库的追溯码"), field="codes", code=SupplyErrorCode.CODE_NOT_IN_STOCK
        )
    found = {
        tc.code: tc
        for tc in TraceCode.objects.select_related("lot__product", "unit").filter(
            code__in=texts, place=place, state__in=_ON_HAND
        )
    }
    missing = [t for t in texts if t not in found]
    if missing:
        raise ValidationFailed(
            _("追溯码%(code)s不在%(place)s的库存中，不能移库") % {"code": missing[0], "place": place.name},
            field="codes",
            code=SupplyErrorCode.CODE_NOT_IN_STOCK,
        )
    now = clock.now()
    groups: dict[tuple[int | None, int], list[TraceCode]] = {}
    moved: list[TraceCode] = []
    for tc in found.values():
        if tc.unit_id == to_unit.pk:
            continue
        changed = TraceCode.objects.filter(
            pk=tc.pk, place=place, state__in=_ON_HAND, unit_id=tc.unit_id
        ).update(unit=to_unit)
        if not changed:
            raise ValidationFailed(
                _("库存在移库过程中被其他操作改变，请重试"), code=SupplyErrorCode.STOCK_CHANGED
            )
        groups.setdefault((tc.unit_id, tc.lot_id), []).append(tc)
        moved.append(tc)
    UnitMove.objects.bulk_create(
        [
            UnitMove(
                code=tc, from_unit_id=tc.unit_id, to_unit=to_unit, at=now, actor=_actor_fields(actor)["actor"]
            )
            for tc in moved
        ]
    )
    units = {u.pk: u for u in ColdChainUnit.objects.filter(pk__in={k[0] for k in groups if k[0]})}
    for (from_id, _lot_id), items in sorted(groups.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1])):
        lot = items[0].lot
        doses = len(items) * lot.product.doses_per_vial
        source = str(units[from_id]) if from_id else "未指定设备"
        why = f"{source}→{to_unit}（{len(items)}个追溯码）" + (
            f"：{reason.strip()}" if reason.strip() else ""
        )
        for delta in (-doses, doses):
            _movement_record(
                actor=actor,
                kind=domain.MovementKind.UNIT_MOVE,
                place=place,
                lot=lot,
                doses=delta,
                code=items[0] if len(items) == 1 else None,
                reason=why[:200],
                reference=f"unit:{to_unit.pk}",
                wastage_reason=None,
                lot_checked=True,
                extra={"codes": [tc.code for tc in items][:50], "from_unit": from_id, "to_unit": to_unit.pk},
            )
    return len(moved)


def codes_in_unit_since(*, unit: ColdChainUnit, since) -> list[int]:
    """Ids of the codes on hand (in stock or already quarantined) that were in ``unit`` at any time from
    ``since`` (see :func:`codes_exposed`)."""
    return codes_exposed(unit=unit, windows=[(since, None)])[0].on_hand


@dataclass(frozen=True)
class Exposed:
    """The codes that were in a unit during one window: ``on_hand`` (in stock or quarantined, wherever they
    are now) and ``in_transit`` (on a dispatch not yet received: to be held on arrival)."""

    on_hand: list[int]
    in_transit: list[int]


def codes_exposed(
    *, unit: ColdChainUnit, windows: list[tuple[dt.datetime, dt.datetime | None]]
) -> list[Exposed]:
    """For each window ``(since, until or None)`` of ``unit`` (its excursions), the codes that were in the
    unit at some time in it, from each code's place history, in five reads whatever the number of windows:

    - in the unit now (on hand);
    - moved out of it to another unit (``UnitMove``) at or after ``since``: it was there until then;
    - dispatched out of it (``DispatchCode.from_unit``) at or after ``since``: wherever it is now (received
      at another place, moved on, or still in transit);
    - carried in it (the unit is the dispatch's vehicle) on a dispatch whose transport — dispatch to receipt,
      or to now — meets the window: exactly the codes of that dispatch.

    A code is given to the earliest window it meets (a later window of the same unit finds it already
    held). Codes used, wasted or recalled since are left out: nothing is left to hold."""
    if not windows:
        return []
    order = sorted(range(len(windows)), key=lambda i: windows[i][0])
    earliest = min(w[0] for w in windows)
    picked: list[tuple[set[int], set[int]]] = [(set(), set()) for _ in windows]
    taken: set[int] = set()

    def give(code_id: int, state: str, left_at) -> None:
        """``left_at``: when the code left the unit (``None``: still there)."""
        if code_id in taken:
            return
        for i in order:
            since, _until = windows[i]
            if left_at is None or left_at >= since:
                taken.add(code_id)
                picked[i][0 if state in _ON_HAND else 1].add(code_id)
                return

    for code_id, state in TraceCode.objects.filter(unit=unit, state__in=_ON_HAND).values_list("id", "state"):
        give(code_id, state, None)
    alive = (*_ON_HAND, CodeState.IN_TRANSIT)
    for code_id, state, at in (
        UnitMove.objects.filter(from_unit=unit, at__gte=earliest, code__state__in=alive)
        .order_by("-at")
        .values_list("code_id", "code__state", "at")
    ):
        give(code_id, state, at)
    for code_id, state, at in (
        DispatchCode.objects.filter(
            from_unit=unit, dispatch__dispatched_at__gte=earliest, code__state__in=alive
        )
        .order_by("-dispatch__dispatched_at")
        .values_list("code_id", "code__state", "dispatch__dispatched_at")
    ):
        give(code_id, state, at)
    carried = list(
        Dispatch.objects.filter(vehicle=unit)
        .filter(Q(received_at__isnull=True) | Q(received_at__gte=earliest))
        .values_list("id", "dispatched_at", "received_at")
    )
    for i in order:
        since, until = windows[i]
        meets = [
            pk
            for pk, sent, received in carried
            if (until is None or sent <= until) and (received is None or received >= since)
        ]
        if not meets:
            continue
        for code_id, state in DispatchCode.objects.filter(
            dispatch_id__in=meets, code__state__in=alive
        ).values_list("code_id", "code__state"):
            if code_id not in taken:
                taken.add(code_id)
                picked[i][0 if state in _ON_HAND else 1].add(code_id)
    return [Exposed(sorted(a), sorted(b)) for a, b in picked]


@transaction.atomic
def codes_quarantine(*, actor, unit: ColdChainUnit, since, reason: str, reference: str = "") -> list[int]:
    """Quarantine every code in stock that was in ``unit`` at any time from ``since``; returns the ids
    quarantined now (see :func:`codes_quarantine_exposed`)."""
    return codes_quarantine_exposed(
        actor=actor, unit=unit, windows=[(since, None)], reason=reason, reference=reference
    )[0].on_hand


@transaction.atomic
def codes_quarantine_exposed(
    *,
    actor,
    unit: ColdChainUnit,
    windows: list[tuple[dt.datetime, dt.datetime | None]],
    reason: str,
    reference: str = "",
) -> list[Exposed]:
    """Quarantine the codes in stock that were in ``unit`` during each window (:func:`codes_exposed`),
    wherever they are now: in stock → quarantined by a conditional UPDATE, so the next scan refuses them.
    The balance is unchanged (the doses are still on their place's books, shown apart). Returns per window
    the ids quarantined now (already quarantined codes are not counted again) and the ids still in transit
    (to be held when their dispatch is received)."""
    exposed = codes_exposed(unit=unit, windows=windows)
    ids = sorted({i for e in exposed for i in e.on_hand})
    changed: set[int] = set()
    for part in _chunks(ids):
        got = list(
            TraceCode.objects.filter(id__in=part, state=CodeState.IN_STOCK).values_list("id", flat=True)
        )
        TraceCode.objects.filter(id__in=got, state=CodeState.IN_STOCK).update(state=CodeState.QUARANTINED)
        changed.update(got)
    _codes_changed(sorted(changed), CodeState.QUARANTINED)
    in_transit = sum(len(e.in_transit) for e in exposed)
    if changed or in_transit:
        audit_record(
            actor=actor,
            action="supply.codes_quarantine",
            obj=unit,
            new={
                "unit": unit.pk,
                "codes": len(changed),
                "in_transit": in_transit,
                "since": min(w[0] for w in windows).isoformat(),
                "reason": reason,
                "reference": reference,
            },
        )
    return [Exposed([i for i in e.on_hand if i in changed], e.in_transit) for e in exposed]


@transaction.atomic
def codes_quarantine_listed(*, actor, code_ids, reason: str, reference: str = "") -> list[int]:
    """Quarantine the listed codes that are in stock (a dispatch that arrived out of its temperature range):
    in stock → quarantined by a conditional UPDATE, audited; returns the ids quarantined now."""
    changed: list[int] = []
    for part in _chunks(list(code_ids)):
        got = list(
            TraceCode.objects.filter(id__in=part, state=CodeState.IN_STOCK).values_list("id", flat=True)
        )
        TraceCode.objects.filter(id__in=got, state=CodeState.IN_STOCK).update(state=CodeState.QUARANTINED)
        changed.extend(got)
    _codes_changed(changed, CodeState.QUARANTINED)
    if changed:
        audit_record(
            actor=actor,
            action="supply.codes_quarantine",
            obj=None,
            new={"codes": len(changed), "reason": reason, "reference": reference},
        )
    return changed


@transaction.atomic
def codes_release(*, actor, code_ids, reason: str, reference: str = "") -> int:
    """Release quarantined codes back into stock (the county's assessment found them fit for use)."""
    if not reason.strip():
        raise ValidationFailed(_("解除隔离须说明理由"), field="reason", code=CoreErrorCode.REASON_REQUIRED)
    n = 0
    released: list[int] = []
    for part in _chunks(list(code_ids)):
        got = list(
            TraceCode.objects.filter(id__in=part, state=CodeState.QUARANTINED).values_list("id", flat=True)
        )
        n += TraceCode.objects.filter(id__in=got, state=CodeState.QUARANTINED).update(
            state=CodeState.IN_STOCK
        )
        released.extend(got)
    _codes_changed(released, CodeState.IN_STOCK)
    audit_record_many(
        actor=actor,
        action="supply.codes_release",
        object_type="supply.tracecode",
        items=[
            (i, {"state": "quarantined"}, {"state": "in_stock", "reason": reason, "reference": reference})
            for i in code_ids
        ][:1000],
    )
    return n


@transaction.atomic
def codes_destroy(*, actor, code_ids, note: str, reference: str = "") -> int:
    """Write quarantined codes off as wasted with reason 温度异常: one WASTAGE row per place × lot on the
    ledger, each code by a conditional UPDATE (still quarantined). Returns how many codes."""
    rows = list(
        TraceCode.objects.filter(id__in=list(code_ids), state=CodeState.QUARANTINED).select_related(
            "lot__product", "place"
        )
    )
    groups: dict[tuple[int, int], list[TraceCode]] = {}
    for tc in rows:
        groups.setdefault((tc.place_id, tc.lot_id), []).append(tc)
    n = 0
    for (_place_id, _lot_id), items in sorted(groups.items()):
        ids = [tc.pk for tc in items]
        changed = TraceCode.objects.filter(id__in=ids, state=CodeState.QUARANTINED).update(
            state=CodeState.WASTED, wasted_reason=domain.WastageReason.TEMPERATURE.value
        )
        if changed != len(ids):
            raise ValidationFailed(
                _("库存在处置过程中被其他操作改变，请重试"), code=SupplyErrorCode.STOCK_CHANGED
            )
        lot = items[0].lot
        _movement_record(
            actor=actor,
            kind=domain.MovementKind.WASTAGE,
            place=items[0].place,
            lot=lot,
            doses=len(items) * lot.product.doses_per_vial,
            code=items[0] if len(items) == 1 else None,
            reason=(note.strip() or domain.WastageReason.TEMPERATURE.label_zh)[:200],
            reference=reference[:60],
            wastage_reason=domain.WastageReason.TEMPERATURE.value,
            lot_checked=True,
            extra={"codes": [tc.code for tc in items][:50]},
        )
        n += changed
        _codes_changed(ids, CodeState.WASTED)
    return n
