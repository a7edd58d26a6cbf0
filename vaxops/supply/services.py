"""Writes of the supply chain: the stock ledger, lot status and the receipt of traceability codes.

Every function is keyword-only, atomic and audited in the same transaction. Stock is changed only by a
conditional UPDATE of ``StockBalance`` (``doses >= wanted``), never by reading a balance and writing it
back, so concurrent takes cannot overdraw a balance; the database's check constraint backs this up.
"""

from collections.abc import Callable
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from vaxops.audit.services import audit_record, audit_record_many
from vaxops.catalog.models import Product, TracePrefix
from vaxops.core.errors import ValidationFailed
from vaxops.registry import domain as registry_domain
from vaxops.registry.services import ImportResult, RowError
from vaxops.registry.tables import Table

from . import domain
from .models import CodeState, Lot, StockBalance, StockMovement, StockPlace, TraceCode
from .tables import LABELS, check_required

# Movements that use a lot: refused while the lot is held, recalled or expired.
_USE_KINDS = frozenset({domain.MovementKind.DISPATCH, domain.MovementKind.ADMINISTRATION})


def _actor_fields(actor) -> dict:
    return {"actor": actor if getattr(actor, "pk", None) else None,
            "actor_label": getattr(actor, "username", str(actor)) if actor is not None else "system"}


@transaction.atomic
def movement_record(*, actor, kind: str, place: StockPlace, lot: Lot, doses: int, code: TraceCode | None = None,
                    reason: str = "", reference: str = "", wastage_reason: str | None = None) -> StockMovement:
    """Append one ledger row and change the (place, lot) balance by its signed delta.

    ``doses`` is positive, except for an adjustment, where it is the signed correction (as in
    ``domain.Movement``). Raises ValidationFailed for an invalid movement, for a dispatch or
    administration of a lot that is not usable today, and when the balance would go below zero (then
    nothing is written).
    """
    try:
        movement = domain.Movement(kind=kind, place=place.code, lot=lot.lot_number, doses=doses,
                                   wastage_reason=wastage_reason, reason_zh=reason)
    except ValueError as e:
        raise ValidationFailed(str(e)) from None
    if movement.kind in _USE_KINDS:
        # Read the lot's status now, under a row lock where the database has one, so a hold or recall
        # committed a moment ago applies to this movement too.
        status, expiry = Lot.objects.select_for_update().filter(pk=lot.pk).values_list("status", "expiry").get()
        usable, why = domain.lot_usable(status=status, expiry=expiry, on=timezone.localdate())
        if not usable:
            raise ValidationFailed(f"批号{lot.lot_number}：{why}")
    delta = movement.delta
    if delta > 0:
        StockBalance.objects.get_or_create(place=place, lot=lot)
    changed = StockBalance.objects.filter(place=place, lot=lot, doses__gte=-delta).update(doses=F("doses") + delta)
    if not changed:
        have = StockBalance.objects.filter(place=place, lot=lot).values_list("doses", flat=True).first() or 0
        raise ValidationFailed(
            f"库存不足：{place.name}批号{lot.lot_number}结存{have:,}剂，{movement.kind.label_zh}需{-delta:,}剂"
        )
    row = StockMovement.objects.create(kind=movement.kind.value, place=place, lot=lot, doses=delta, code=code,
                                       reference=reference, reason=reason, **_actor_fields(actor))
    audit_record(actor=actor, action="supply.movement_record", obj=row,
                 new={"kind": row.kind, "place": place.code, "lot": lot.lot_number, "doses": delta,
                      "code": code.code if code else None, "reason": reason, "reference": reference})
    return row


@transaction.atomic
def lot_status_change(*, actor, lot: Lot, status: str, reason: str) -> Lot:
    """Set a lot's status (released, on hold, recalled, expired) with who and why; effective at once."""
    try:
        new = domain.LotStatus(status)
    except ValueError:
        raise ValidationFailed(f"未知的批号状态：{status}", field="status") from None
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("变更批号状态须填写原因", field="reason")
    old = Lot.objects.select_for_update().filter(pk=lot.pk).values_list("status", flat=True).get()
    if old == new.value:
        raise ValidationFailed(f"批号{lot.lot_number}已是“{new.label_zh}”状态", field="status")
    now = timezone.now()
    changed_by = actor if getattr(actor, "pk", None) else None
    Lot.objects.filter(pk=lot.pk).update(status=new.value, status_changed_by=changed_by, status_changed_at=now,
                                         status_reason=reason[:200])
    lot.refresh_from_db()
    audit_record(actor=actor, action="supply.lot_status_change", obj=lot,
                 old={"status": old}, new={"status": new.value, "reason": reason})
    return lot


# --------------------------------------------------------------------------------------------------
# Receipt files of traceability codes
# --------------------------------------------------------------------------------------------------


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
        for p in Product.objects.all():
            self.by_text.setdefault(p.code, p)
            self.by_text.setdefault(p.code.lower(), p)
        for p in Product.objects.exclude(dcc_mp=""):
            self.by_text.setdefault(p.dcc_mp, p)
            self.by_text.setdefault(p.dcc_mp.lower(), p)
        self.prefixes: dict[int, tuple[str, ...]] = {}
        for product_id, prefix in TracePrefix.objects.values_list("product_id", "prefix"):
            self.prefixes[product_id] = (*self.prefixes.get(product_id, ()), prefix)

    def get(self, text: str) -> Product | None:
        return self.by_text.get(text) or self.by_text.get(text.lower())


def codes_import(*, table: Table, actor, place: StockPlace, filename: str = "", batch_size: int = 5000,
                 on_batch: Callable[[ImportResult], None] | None = None) -> ImportResult:
    """Receive the codes of a receipt file into ``place``.

    Counting contract of the census import: read = created + updated + unchanged + rejected; each
    rejected row has errors naming row, column and reason; a bad row never stops the good ones. A code
    already registered for the same lot is unchanged (so a re-import changes nothing); for another lot
    it is rejected. Missing lots are created (released). Each batch is one transaction: its codes (one
    bulk insert on the unique index), one RECEIPT movement per lot and their audit events.
    """
    check_required(table)
    idx = {key: table.columns.get(key, -1) for key in LABELS}
    labels = {key: table.header_labels.get(key, LABELS[key]) for key in LABELS}
    products = _Products()
    result = ImportResult()
    seen: dict[str, int] = {}  # code → first row of this file
    lot_expiry: dict[tuple[int, str], date] = {}  # (product, lot number) → expiry the file gave first
    batch: list[tuple[int, str, Product, str, date]] = []

    for row, values in table.rows:
        if not any(_text(v) for v in values):
            continue  # a blank line is not a row
        result.read += 1
        errors: list[RowError] = []

        def err(key: str, message: str, row=row, errors=errors) -> None:
            errors.append(RowError(row, labels[key], message))

        parsed = None
        try:
            parsed = domain.parse_trace_code(_cell(values, idx["code"]))
        except domain.TraceCodeError as e:
            err("code", e.message)
        lot_number = _text(_cell(values, idx["lot"]))
        if not lot_number:
            err("lot", "批号不能为空")
        elif len(lot_number) > 40:
            err("lot", "批号超过40个字符")
        product_text = _text(_cell(values, idx["product"]))
        product = products.get(product_text) if product_text else None
        if not product_text:
            err("product", "疫苗品种不能为空")
        elif product is None:
            err("product", f"疫苗品种“{product_text}”不存在（应为产品编码或DCC药品编码）")
        expiry = None
        try:
            expiry = registry_domain.parse_date(_cell(values, idx["expiry"]))
            if expiry is None:
                err("expiry", "有效期不能为空")
        except registry_domain.DocumentError as e:
            err("expiry", e.message)
        if parsed is not None and product is not None:
            try:
                domain.check_prefix(parsed, lot_product_prefixes=products.prefixes.get(product.pk, ()),
                                    lot_number=lot_number or None)
            except domain.TraceCodeError as e:
                err("code", e.message)
        if parsed is not None and not errors:
            first = seen.get(parsed.code)
            if first is not None:
                err("code", f"追溯码{parsed.code}在本文件第{first}行已出现")
            else:
                seen[parsed.code] = row
        if product is not None and lot_number and expiry is not None and not errors:
            given = lot_expiry.setdefault((product.pk, lot_number), expiry)
            if given != expiry:
                err("expiry", f"批号{lot_number}的有效期在本文件中前后不一致（{given.isoformat()}与{expiry.isoformat()}）")
        if errors:
            result.rejected += 1
            result.errors.extend(errors)
            continue
        batch.append((row, parsed.code, product, lot_number, expiry))
        if len(batch) >= batch_size:
            _apply_codes(batch, actor=actor, place=place, result=result, filename=filename)
            batch = []
            if on_batch:
                on_batch(result)
    if batch:
        _apply_codes(batch, actor=actor, place=place, result=result, filename=filename)
    if on_batch:
        on_batch(result)
    result.errors.sort(key=lambda e: e.row)
    return result


def _apply_codes(batch, *, actor, place: StockPlace, result: ImportResult, filename: str) -> None:
    """Apply one batch; a concurrent import of the same codes (unique index) makes it re-read and retry once."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                counts, errors = _apply_codes_once(batch, actor=actor, place=place, filename=filename)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    result.created += counts["created"]
    result.unchanged += counts["unchanged"]
    result.rejected += counts["rejected"]
    result.errors.extend(errors)


def _apply_codes_once(batch, *, actor, place: StockPlace, filename: str) -> tuple[dict[str, int], list[RowError]]:
    counts = {"created": 0, "unchanged": 0, "rejected": 0}
    errors: list[RowError] = []
    lots: dict[tuple[int, str], Lot] = {}
    wanted = {(p.pk, n) for _, _, p, n, _ in batch}
    numbers = {n for _, n in wanted}
    for lot in Lot.objects.filter(lot_number__in=numbers).select_related("product"):
        if (lot.product_id, lot.lot_number) in wanted:
            lots[(lot.product_id, lot.lot_number)] = lot
    existing: dict[str, tuple[int, str]] = {}
    codes = [c for _, c, _, _, _ in batch]
    for i in range(0, len(codes), 900):
        for code, lot_id, number in TraceCode.objects.filter(code__in=codes[i:i + 900]).values_list(
                "code", "lot_id", "lot__lot_number"):
            existing[code] = (lot_id, number)

    new_by_lot: dict[tuple[int, str], list[str]] = {}
    for row, code, product, number, expiry in batch:
        lot = lots.get((product.pk, number))
        if lot is not None and lot.expiry != expiry:
            counts["rejected"] += 1
            errors.append(RowError(row, LABELS["expiry"],
                                   f"批号{number}已登记的有效期为{lot.expiry.isoformat()}，与文件中的{expiry.isoformat()}不符"))
            continue
        if code in existing:
            lot_id, other = existing[code]
            if lot is not None and lot_id == lot.pk:
                counts["unchanged"] += 1
            else:
                counts["rejected"] += 1
                errors.append(RowError(row, LABELS["code"], f"追溯码{code}已登记在批号{other}下，不能再登记到批号{number}"))
            continue
        if lot is None:
            lot, _ = Lot.objects.get_or_create(
                product=product, lot_number=number,
                defaults={"expiry": expiry, "manufacturer": product.manufacturer_zh,
                          "status": domain.LotStatus.RELEASED.value},
            )
            lots[(product.pk, number)] = lot
        new_by_lot.setdefault((product.pk, number), []).append(code)

    for key, new_codes in new_by_lot.items():
        lot = lots[key]
        TraceCode.objects.bulk_create(
            [TraceCode(code=c, lot=lot, state=CodeState.IN_STOCK, place=place) for c in new_codes], batch_size=1000
        )
        doses = len(new_codes) * lot.product.doses_per_vial
        Lot.objects.filter(pk=lot.pk).update(quantity_doses=F("quantity_doses") + doses)
        movement_record(actor=actor, kind=domain.MovementKind.RECEIPT, place=place, lot=lot, doses=doses,
                        reason=f"导入追溯码{len(new_codes):,}个" + (f"（{filename}）" if filename else ""),
                        reference=filename[:60])
        counts["created"] += len(new_codes)
    if new_by_lot:
        audit_record_many(actor=actor, action="supply.codes_import", object_type="supply.lot",
                          items=[(lots[k].pk, None, {"place": place.code, "codes": len(v), "first": v[0],
                                                     "last": v[-1], "file": filename}) for k, v in new_by_lot.items()])
    return counts, errors
