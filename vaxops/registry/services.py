"""Writes to the resident registry. Every function here is atomic and audited."""

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from vaxops.accounts.scope import Scope, require, scope_for
from vaxops.audit.services import audit_record, audit_record_many, diff
from vaxops.core import clock
from vaxops.core.dbroles import analyze
from vaxops.core.errors import CoreErrorCode, NotFound, PermissionDenied, ValidationFailed, VaxOpsError
from vaxops.core.streams import read_ahead, read_ahead_in_process
from vaxops.core.uploads import check_upload_size
from vaxops.jurisdictions.models import Division, Level

from . import domain
from .errors import RegistryErrorCode
from .models import Employer, ImportJob, PriorityGroup, Resident, Willingness
from .signals import residents_changed
from .tables import LABELS, Table, check_required

log = logging.getLogger(__name__)
MAX_BATCH_ATTEMPTS = 5
ANALYZE_AFTER_BATCHES = frozenset({5, 50, 200})
PROCESS_READ_AHEAD_BYTES = 8 * 1024 * 1024  # about 50,000 census rows

# Fields an import or an edit may set, in the order they are compared.
FIELDS = (
    "name",
    "sex",
    "birth_date",
    "phone",
    "address",
    "village_id",
    "village_code",
    "employer_id",
    "employer_name",
    "occupation",
    "priority_group_id",
    "chronic_conditions",
    "pregnant",
    "willingness",
    "willingness_reason",
)
WILLINGNESS = {
    "愿意": Willingness.WILLING,
    "willing": Willingness.WILLING,
    "是": Willingness.WILLING,
    "犹豫": Willingness.HESITANT,
    "hesitant": Willingness.HESITANT,
    "观望": Willingness.HESITANT,
    "拒绝": Willingness.REFUSED,
    "不愿意": Willingness.REFUSED,
    "refused": Willingness.REFUSED,
    "未登记": Willingness.UNKNOWN,
    "unknown": Willingness.UNKNOWN,
}
YES_NO = {
    "是": True,
    "否": False,
    "y": True,
    "n": False,
    "yes": True,
    "no": False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
}


def _audit_view(values: dict[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of a resident's values: identities masked, dates as text."""
    out = {}
    for k, v in values.items():
        if k == "phone" and v:
            v = domain.mask_phone(v)
        elif k == "id_number" and v:
            v = domain.mask_id(v)
        elif isinstance(v, date):
            v = v.isoformat()
        out[k] = v
    return out


class Lookups:
    """Caches of codes used while importing (villages, employers, priority groups)."""

    def __init__(self) -> None:
        self._villages: dict[str, tuple[int, str] | None] = {}
        self.groups = {g.code: g for g in PriorityGroup.objects.all()}
        self.groups_by_name = {g.name_zh: g for g in self.groups.values()}
        self._employers: dict[str, Employer | None] = {}
        self.preloaded = False

    def preload(self) -> "Lookups":
        """Read every township/village and employer now, so that later lookups never touch the database

        (and may run in another thread). A code missing here does not exist.
        """
        for pk, code, level in Division.objects.filter(level__gte=Level.TOWNSHIP).values_list(
            "id", "code", "level"
        ):
            self._villages[code] = (pk, code)
            if level == Level.TOWNSHIP:
                self._villages[code[:9]] = (pk, code)
        for e in Employer.objects.select_related("priority_group"):
            self._employers.setdefault(e.code, e)
            self._employers.setdefault(e.name, e)
        self.preloaded = True
        return self

    def village(self, code: str) -> tuple[int, str] | None:
        code = code.strip()
        if self.preloaded:
            return self._villages.get(code)
        if code not in self._villages:
            found = None
            if code.isdigit() and len(code) in (9, 12):
                row = (
                    Division.objects.filter(code=code.ljust(12, "0"), level__gte=Level.TOWNSHIP)
                    .values_list("id", "code")
                    .first()
                )
                found = (row[0], row[1]) if row else None
            self._villages[code] = found
        return self._villages[code]

    def employer(self, text: str) -> Employer | None:
        if self.preloaded:
            return self._employers.get(text)
        if text not in self._employers:
            self._employers[text] = (
                Employer.objects.filter(code=text).select_related("priority_group").first()
                or Employer.objects.filter(name=text).select_related("priority_group").first()
            )
        return self._employers[text]

    def group(self, text: str) -> PriorityGroup | None:
        t = text.strip()
        return self.groups.get(t) or self.groups.get(t.lower()) or self.groups_by_name.get(t)


@dataclass
class RowError:
    row: int
    column: str
    message: str
    # Whom the row is about, so that the person fixing the file finds it: the name as written and the ID
    # number masked (census rows only; empty when the row gave neither).
    name: str = ""
    masked_id: str = ""

    def as_dict(self) -> dict:
        out: dict[str, Any] = {"row": self.row, "column": self.column, "message": self.message}
        if self.name or self.masked_id:
            out |= {"name": self.name, "masked_id": self.masked_id}
        return out


def _who(errors: list[RowError], *, name: Any, id_number: Any) -> list[RowError]:
    """``errors`` with the row's name and masked ID number filled in."""
    shown_name = str(name or "").strip()[:50]
    masked = domain.mask_id(str(_text(id_number) or "")[:40])
    for e in errors:
        e.name, e.masked_id = shown_name, masked
    return errors


# The example row of the downloadable template (``views.import_template``): a file that still holds it
# gets a warning for that row, never a person.
EXAMPLE_ID_NUMBER = "11010519491231002X"
EXAMPLE_NAME = "张三"
EXAMPLE_ROW_MESSAGE = gettext_noop(
    "这是导入模板中的示例行（张三 11010519491231002X），已跳过、未导入；请从文件中删除这一行"
)


def _errors_kept() -> int:
    return settings.VAXOPS_IMPORT_ERRORS_KEPT


@dataclass
class ImportResult:
    """The counts of an import (read = created + updated + unchanged + rejected) and its row errors.

    ``errors`` keeps the first ``errors_kept`` row errors (the downloadable error file); ``errors_total``
    counts them all, so a file of a million bad rows costs neither memory nor a huge answer.
    """

    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0
    errors_kept: int = field(default_factory=_errors_kept)

    def add_errors(self, errors: list[RowError]) -> None:
        self.errors_total += len(errors)
        room = self.errors_kept - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])

    @property
    def processed(self) -> int:
        """Rows whose outcome is saved (a row read but still waiting in an unwritten batch is not)."""
        return self.created + self.updated + self.unchanged + self.rejected

    def as_dict(self, *, listed: int | None = None) -> dict:
        """The counts, the first ``listed`` row errors (all kept ones when ``None``) and their total."""
        shown = self.errors if listed is None else self.errors[:listed]
        return {
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": [e.as_dict() for e in shown],
            "errors_total": self.errors_total,
        }

    def committed_note(self) -> str:
        """What an import that stopped part-way had already saved, and how to finish it."""
        if not self.processed:
            return "（未导入任何数据）"
        return (
            f"（此前的 {self.processed} 行已处理并保存：新建 {self.created}，更新 {self.updated}，"
            f"未变 {self.unchanged}，拒绝 {self.rejected}；修正文件后重新导入整个文件即可完成其余部分，"
            "已保存的行不会重复）"
        )


def stopped_part_way(error: VaxOpsError, result: ImportResult) -> VaxOpsError:
    """``error`` (the file could not be read further) with what was saved before it, for every door."""
    error.partial_result = result
    error.message = error.message + result.committed_note()
    error.args = (error.message,)
    return error


def _text(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # Excel stores long digit strings typed as numbers as floats
    return v if isinstance(v, date) else str(v).strip()


_TEXT_LIMITS = (
    ("address", 200),
    ("occupation", 50),
    ("chronic_conditions", 200),
    ("willingness_reason", 200),
)


class RowCleaner:
    """Validates census rows of one table; column positions are resolved once, not per row."""

    def __init__(
        self,
        *,
        table: Table,
        lookups: Lookups,
        today: date,
        village_override: tuple[int, str] | None = None,
        employer_override: Employer | None = None,
    ) -> None:
        self.table = table
        self.lookups = lookups
        self.today = today
        self.village_override = village_override
        self.employer_override = employer_override
        self.idx = {key: table.columns.get(key, -1) for key in LABELS}
        self.labels = {key: table.header_labels.get(key, LABELS[key]) for key in LABELS}

    def __call__(self, values: list, row: int) -> tuple[dict[str, Any] | None, list[RowError]]:
        """(the values the row provides, []) or (None, errors naming each column).

        Blank optional cells are left out of the values, so a re-import never wipes what a file did not say.
        """
        idx = self.idx
        n = len(values)

        def cell(key: str) -> Any:
            i = idx[key]
            return _text(values[i]) if 0 <= i < n else ""

        errors: list[RowError] = []
        labels = self.labels

        def err(key: str, message: str) -> None:
            errors.append(RowError(row, labels[key], message))

        out: dict[str, Any] = {}
        for key in domain.FREE_TEXT_FIELDS:  # any error rejects the row, so nothing else need wait for this
            problem = domain.check_free_text(cell(key))
            if problem:
                err(key, problem)
        name = cell("name")
        if not name:
            err("name", "姓名不能为空")
        elif len(name) > 50:
            err("name", "姓名超过50个字符")
        else:
            out["name"] = name

        doc = None
        try:
            id_type = domain.parse_id_type(cell("id_type"))
            raw_number = values[idx["id_number"]] if 0 <= idx["id_number"] < n else None
            if raw_number is None or (isinstance(raw_number, str) and not raw_number.strip()):
                err("id_number", "证件号码不能为空")
            else:
                doc = domain.parse_document(id_type, raw_number, today=self.today)
        except domain.DocumentError as e:
            err("id_type" if "证件类型" in e.message else "id_number", e.message)
        if doc is not None and doc.number == EXAMPLE_ID_NUMBER:
            return None, _who(
                [RowError(row, labels["id_number"], EXAMPLE_ROW_MESSAGE)], name=name, id_number=doc.number
            )

        sex = birth = None
        text = cell("sex")
        if text:
            try:
                sex = domain.parse_sex(text)
            except domain.DocumentError as e:
                err("sex", e.message)
        text = cell("birth_date")
        if text:
            try:
                birth = domain.parse_date(text)
                if birth and birth > self.today:
                    err("birth_date", "出生日期晚于今天")
            except domain.DocumentError as e:
                err("birth_date", e.message)
        if doc is not None:
            out["id_type"], out["id_number"] = doc.id_type.value, doc.number
            if sex is not None or birth is not None:
                for message in domain.check_declared(doc, birth_date=birth, sex=sex):
                    err("birth_date" if "出生" in message else "sex", message)
            if doc.sex or sex:
                out["sex"] = doc.sex or sex
            if doc.birth_date or birth:
                out["birth_date"] = doc.birth_date or birth

        text = cell("phone")
        if text:
            try:
                out["phone"] = domain.normalise_phone(text)
            except domain.DocumentError as e:
                err("phone", e.message)

        if self.village_override is not None:
            out["village_id"], out["village_code"] = self.village_override
        else:
            code = cell("village_code")
            if not code:
                err("village_code", "村(社区)代码不能为空")
            else:
                found = self.lookups.village(str(code))
                if found is None:
                    err("village_code", f"村(社区)代码“{code}”不存在")
                else:
                    out["village_id"], out["village_code"] = found

        employer = self.employer_override
        employer_text = cell("employer")
        if employer is None and employer_text:
            employer = self.lookups.employer(employer_text)
            out["employer_name"] = employer_text[:100]
        if employer is not None:
            out["employer_id"], out["employer_name"] = employer.id, employer.name

        for key, limit in _TEXT_LIMITS:
            text = cell(key)
            if text:
                if len(text) > limit:
                    err(key, f"超过{limit}个字符")
                else:
                    out[key] = text

        group_text = cell("priority_group")
        if group_text:
            group = self.lookups.group(group_text)
            if group is None:
                names = "、".join(
                    g.name_zh for g in sorted(self.lookups.groups.values(), key=lambda g: (g.sort, g.code))
                )
                err("priority_group", f"人群分类“{group_text}”不存在，应为以下之一：{names}")
            else:
                out["priority_group_id"] = group.id
        else:
            out["_derived_group"] = _derive_group(
                self.lookups, employer, out.get("birth_date"), out.get("chronic_conditions"), self.today
            )

        text = cell("pregnant")
        if text:
            if str(text).lower() not in YES_NO:
                err("pregnant", "是否妊娠应填“是”或“否”")
            else:
                out["pregnant"] = YES_NO[str(text).lower()]
        text = cell("willingness")
        if text:
            if str(text).lower() not in WILLINGNESS:
                err("willingness", "接种意愿应为“愿意”“犹豫”或“拒绝”")
            else:
                out["willingness"] = WILLINGNESS[str(text).lower()].value
        if errors:
            return None, _who(
                errors, name=name, id_number=values[idx["id_number"]] if 0 <= idx["id_number"] < n else ""
            )
        return out, []


def _derive_group(
    lookups: Lookups, employer: Employer | None, birth: date | None, chronic: str | None, today: date
) -> int | None:
    if employer is not None and employer.priority_group_id:
        return employer.priority_group_id
    if birth is not None and domain.age_on(birth, today) >= 60:
        g = lookups.groups.get("elderly_60")
    elif chronic:
        g = lookups.groups.get("chronic")
    else:
        g = lookups.groups.get("general")
    return g.id if g else None


def _covers(scope: Scope, *, village_code: str, employer_id: int | None) -> bool:
    if scope.employer_id is not None:
        return employer_id == scope.employer_id
    return scope.covers_code(village_code)


INSERT_COLUMNS = (
    "id_type",
    "id_number",
    "name",
    "sex",
    "birth_date",
    "phone",
    "address",
    "village_id",
    "village_code",
    "employer_id",
    "employer_name",
    "occupation",
    "priority_group_id",
    "chronic_conditions",
    "pregnant",
    "willingness",
    "willingness_reason",
)


def _insert_residents(rows: list[dict[str, Any]]) -> list[int]:
    """Insert new residents with one prepared statement; returns their ids.

    The ORM's bulk_create spends most of its time building per-object SQL
    parameters; the census import writes plain rows of known shape, so it goes
    straight to ``executemany`` (the unique constraint still guards duplicates).
    """
    iso = connection.vendor == "sqlite"
    now = connection.ops.adapt_datetimefield_value(clock.now()) if iso else clock.now()
    table = Resident._meta.db_table
    columns = (*INSERT_COLUMNS, "created_at", "updated_at")
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
    unknown = Willingness.UNKNOWN.value
    params = [
        (
            r["id_type"],
            r["id_number"],
            r["name"],
            r.get("sex", ""),
            (b.isoformat() if iso else b) if (b := r.get("birth_date")) else None,
            r.get("phone", ""),
            r.get("address", ""),
            r["village_id"],
            r["village_code"],
            r.get("employer_id"),
            r.get("employer_name", ""),
            r.get("occupation", ""),
            r.get("priority_group_id"),
            r.get("chronic_conditions", ""),
            r.get("pregnant", False),
            r.get("willingness", unknown),
            r.get("willingness_reason", ""),
            now,
            now,
        )
        for r in rows
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is PostgreSQL's own bulk path, several times faster than
            # row-by-row INSERTs; a duplicate still fails the whole batch.
            # The raw cursor's errors are the driver's own; wrap them so that a
            # duplicate is an IntegrityError like everywhere else.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in params:
                    copy.write_row(row)
        else:
            cursor.executemany(sql, params)
    numbers = [r["id_number"] for r in rows]
    found = {
        (r["id_type"], r["id_number"]): r["id"] for r in _by_numbers(numbers, ("id", "id_type", "id_number"))
    }
    return [found[(r["id_type"], r["id_number"])] for r in rows]


def _by_numbers(numbers, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Residents whose document number is one of ``numbers``, as dicts of ``columns``.

    Plain SQL rather than ``filter(id_number__in=…)``: preparing a 2,000-value
    IN list through the ORM costs more than the query itself, and PostgreSQL
    takes the whole list as one array parameter.
    """
    numbers = list(numbers)
    if not numbers:
        return []
    table = Resident._meta.db_table
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE id_number = ANY(%s)", [numbers])  # noqa: S608
        else:
            marks = ", ".join(["%s"] * len(numbers))
            c.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE id_number IN ({marks})", numbers)  # noqa: S608
        rows = [dict(zip(columns, r, strict=True)) for r in c.fetchall()]
    if connection.vendor == "sqlite":
        for r in rows:  # SQLite hands back text and integers; the comparisons need dates and booleans
            if isinstance(r.get("birth_date"), str):
                r["birth_date"] = date.fromisoformat(r["birth_date"])
            if "pregnant" in r:
                r["pregnant"] = bool(r["pregnant"])
    return rows


def _apply_batch(
    batch: list[tuple[int, dict[str, Any]]],
    *,
    actor,
    scope: Scope,
    result: ImportResult,
    job_id: int | None,
    filename: str,
) -> None:
    """Create, update or leave each cleaned row, in one transaction, against the database's current state."""
    numbers = {v["id_number"] for _, v in batch}
    current: dict[tuple[str, str], dict[str, Any]] = {
        (r["id_type"], r["id_number"]): r
        for r in _by_numbers(numbers, ("id", "id_type", "id_number", *FIELDS))
    }
    to_create: dict[tuple[str, str], dict[str, Any]] = {}
    updates: dict[int, dict[str, Any]] = {}
    audit_updates: list[tuple[int, dict, dict]] = []
    willingness_moves: list[tuple[int, str, str, str]] = []  # (person, old, new, reason)
    outcome: list[str] = []
    errors: list[RowError] = []
    for row, values in batch:
        key = (values["id_type"], values["id_number"])
        derived = values.pop("_derived_group", None)
        if key in to_create:  # the same person twice in one batch: the later row wins
            record = to_create[key]
            if not _covers(
                scope,
                village_code=values.get("village_code", record["village_code"]),
                employer_id=values.get("employer_id", record.get("employer_id")),
            ):
                errors.append(RowError(row, LABELS["village_code"], "村(社区)不在您的管辖范围内"))
                outcome.append("rejected")
                continue
            if "priority_group_id" not in values and derived is not None:
                values["priority_group_id"] = record["priority_group_id"]
            changed = {k: v for k, v in values.items() if record.get(k) != v}
            record.update(changed)
            outcome.append("updated" if changed else "unchanged")
            continue
        existing = current.get(key)
        if existing is None:
            if not _covers(scope, village_code=values["village_code"], employer_id=values.get("employer_id")):
                errors.append(RowError(row, LABELS["village_code"], "村(社区)不在您的管辖范围内"))
                outcome.append("rejected")
                continue
            if "priority_group_id" not in values:
                values["priority_group_id"] = derived
            to_create[key] = values
            outcome.append("created")
            continue
        # An employer contact may not claim someone already registered elsewhere
        # (that would be a lookup by ID number, and a takeover of the record).
        if not _covers(scope, village_code=existing["village_code"], employer_id=existing["employer_id"]):
            errors.append(RowError(row, LABELS["id_number"], REGISTERED_ELSEWHERE))
            outcome.append("rejected")
            continue
        if not _covers(
            scope,
            village_code=values["village_code"],
            employer_id=values.get("employer_id", existing["employer_id"]),
        ):
            errors.append(RowError(row, LABELS["village_code"], "村(社区)不在您的管辖范围内"))
            outcome.append("rejected")
            continue
        changed = {
            k: v for k, v in values.items() if k not in ("id_type", "id_number") and existing.get(k) != v
        }
        if changed:
            old, new = diff(existing, changed)
            audit_updates.append((existing["id"], _audit_view(old), _audit_view(new)))
            if "willingness" in changed:
                willingness_moves.append(
                    (
                        existing["id"],
                        existing["willingness"],
                        changed["willingness"],
                        changed.get("willingness_reason", existing["willingness_reason"]),
                    )
                )
            existing.update(changed)
            updates.setdefault(existing["id"], {}).update(changed)
            outcome.append("updated")
        else:
            outcome.append("unchanged")

    who = dict(batch)
    for e in errors:
        _who([e], name=who[e.row].get("name"), id_number=who[e.row]["id_number"])

    with transaction.atomic():
        created_ids: list[int] = []
        if to_create:
            # Sorted by document so that two imports inserting the same people
            # take their index locks in the same order and cannot deadlock.
            created_ids = _insert_residents(
                sorted(to_create.values(), key=lambda v: (v["id_number"], v["id_type"]))
            )
            audit_record(
                actor=actor,
                action="resident.import_create",
                object_type="registry.resident",
                object_id=job_id or "",
                new={"file": filename, "count": len(created_ids), "ids": created_ids},
            )
        if updates:
            by_fields: dict[tuple[str, ...], list[Resident]] = {}
            for pk, changed in updates.items():
                by_fields.setdefault(tuple(sorted(changed)), []).append(Resident(pk=pk, **changed))
            for fields, objs in by_fields.items():
                Resident.objects.bulk_update(sorted(objs, key=lambda o: o.pk), list(fields), batch_size=500)
            _willingness_history(willingness_moves, actor=actor, source=WILLINGNESS_SOURCE_IMPORT)
            audit_record_many(
                actor=actor,
                action="resident.import_update",
                object_type="registry.resident",
                items=audit_updates,
                purpose=f"导入 {filename}",
            )
        changed_ids = created_ids + list(updates)
        if changed_ids:
            transaction.on_commit(lambda: residents_changed.send(sender=Resident, resident_ids=changed_ids))
    for o in outcome:
        setattr(result, o, getattr(result, o) + 1)
    result.add_errors(errors)


# Where a willingness change came from (``WillingnessChange.source``); a follow-up records "followup".
WILLINGNESS_SOURCE_IMPORT = "import"
WILLINGNESS_SOURCE_EDIT = "edit"


def _willingness_history(moves: list[tuple[int, str, str, str]], *, actor, source: str) -> None:
    """One ``WillingnessChange`` per (person, old, new, reason) whose willingness really changed, written in
    one multi-row insert (per 1,000) inside the caller's transaction: a re-import of 100,000 people that
    changes their willingness costs no query per person, and the history keeps what an overwrite would lose."""
    from .models import WillingnessChange

    at = clock.now()
    by = actor if getattr(actor, "pk", None) else None
    rows = [
        WillingnessChange(
            resident_id=pk, old=old, new=new, reason=(reason or "")[:200], source=source, at=at, by=by
        )
        for pk, old, new, reason in moves
        if old != new
    ]
    if rows:
        WillingnessChange.objects.bulk_create(rows, batch_size=1000)


def oversized_errors(row: int, too_long: list[tuple[str, int]], limit: int | None) -> list[RowError]:
    """Row errors for cells longer than the limit (``Table.oversized``): the row is rejected, not the file."""
    return [RowError(row, column, f"内容过长（{n} 个字符，最多 {limit} 个）") for column, n in too_long]


def _duplicate_in_file(row: int, first: int) -> str:
    return f"与第{first}行的证件号码相同（同一文件中重复）：第{row}行未导入，请核对后删除或更正其中一行"


def residents_import_rows(
    *,
    rows: Iterable[tuple[int, dict[str, Any] | None, list[RowError]]],
    actor,
    scope: Scope,
    job_id: int | None = None,
    filename: str = "",
    batch_size: int | None = None,
    on_batch: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Apply already-cleaned rows (row number, values or None, errors) in batches; returns the counts."""
    batch_size = batch_size or settings.VAXOPS_IMPORT_BATCH
    result = ImportResult()
    batch: list[tuple[int, dict[str, Any]]] = []
    batches = [0]
    seen: dict[int, int] = {}  # hash of (ID type, ID number) → the first row that gave it

    def flush() -> None:
        if not batch:
            return
        snapshot = [(r, dict(v)) for r, v in batch]
        for attempt in range(1, MAX_BATCH_ATTEMPTS + 1):
            try:
                _apply_batch(
                    [(r, dict(v)) for r, v in snapshot],
                    actor=actor,
                    scope=scope,
                    result=result,
                    job_id=job_id,
                    filename=filename,
                )
                break
            except (IntegrityError, OperationalError) as e:
                # Another writer created some of these people between our read and
                # our write (IntegrityError), or two imports crossed (a deadlock on
                # PostgreSQL, "database is locked" on SQLite): read again and
                # re-apply; the next pass sees their rows as existing.
                if attempt == MAX_BATCH_ATTEMPTS:
                    raise
                log.info("import batch retried after %s (attempt %s)", type(e).__name__, attempt)
                time.sleep(0.05 * attempt)
        batch.clear()
        batches[0] += 1
        if connection.vendor == "postgresql" and batches[0] in ANALYZE_AFTER_BATCHES:
            # A table that grows from nothing to a million rows in one import
            # keeps the planner's "empty table" statistics until autovacuum
            # catches up, and the per-batch lookup then turns into sequential
            # scans; refresh the statistics as it grows.
            with connection.cursor() as c:
                analyze(c, Resident._meta.db_table)
        if on_batch:
            on_batch(result)

    it = iter(rows)
    while True:
        try:
            row, values, errors = next(it)
        except StopIteration:
            break
        except VaxOpsError as e:
            # The file cannot be read past this point. The rows before it are good: save them, so the
            # answer can say exactly what was saved, and a re-run of the corrected file finishes the job.
            flush()
            raise stopped_part_way(e, result) from None
        result.read += 1
        if values is None:
            result.rejected += 1
            result.add_errors(errors)
            continue
        # The same person twice in one file is an error of the file (which row is right?), not an update: the
        # first row stands, the later one is refused naming both rows. Keys are kept as 64-bit hashes, so a
        # file of a million rows costs tens of megabytes, not hundreds.
        key = hash((values["id_type"], values["id_number"]))
        first = seen.get(key)
        if first is not None:
            result.rejected += 1
            result.add_errors(
                _who(
                    [RowError(row, LABELS["id_number"], _duplicate_in_file(row, first))],
                    name=values.get("name"),
                    id_number=values["id_number"],
                )
            )
            continue
        seen[key] = row
        batch.append((row, values))
        if len(batch) >= batch_size:
            flush()
    flush()
    return result


def residents_import(
    *,
    table: Table,
    actor,
    village_code: str | None = None,
    employer_code: str | None = None,
    job_id: int | None = None,
    filename: str = "",
    on_batch: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Import a census table. Raises ValidationFailed when the file as a whole cannot be used.

    Rows are validated one by one; a bad row is reported and never stops the good ones.
    Re-importing the same file changes nothing; a changed row updates the record and is audited.
    """
    require(actor, "registry.import_residents")
    scope = scope_for(actor)
    lookups = Lookups()
    today = clock.today()
    village_override = None
    if village_code:
        village_override = lookups.village(village_code)
        if village_override is None:
            raise ValidationFailed(
                _("村(社区)代码“%(village_code)s”不存在") % {"village_code": village_code},
                code=RegistryErrorCode.VILLAGE_UNKNOWN,
            )
    employer_override = None
    if employer_code:
        employer_override = lookups.employer(employer_code)
        if employer_override is None:
            raise ValidationFailed(
                _("单位代码“%(employer_code)s”不存在") % {"employer_code": employer_code},
                code=RegistryErrorCode.EMPLOYER_UNKNOWN,
            )
    if scope.employer_id is not None:
        if employer_override is not None and employer_override.id != scope.employer_id:
            raise PermissionDenied(_("只能导入本单位的人员"), code=RegistryErrorCode.IMPORT_OTHER_EMPLOYER)
        employer_override = Employer.objects.get(pk=scope.employer_id)
    check_required(table, have={"village_code"} if village_override else set())

    clean = RowCleaner(
        table=table,
        lookups=lookups.preload(),
        today=today,
        village_override=village_override,
        employer_override=employer_override,
    )

    def cleaned() -> Iterator[tuple[int, dict[str, Any] | None, list[RowError]]]:
        for row, values in table.rows:
            if not any(v not in (None, "") for v in values):
                continue  # blank lines are not rows
            too_long = table.oversized(values)
            if too_long:
                yield row, None, oversized_errors(row, too_long, table.max_cell_chars)
                continue
            out, errors = clean(values, row)
            yield row, out, errors

    # Reading and checking rows is pure Python; it runs beside the writer so that
    # both cores work. A large file gets a forked process (no shared interpreter
    # lock); a small one a thread (no fork for a ten-line upload).
    if table.size >= PROCESS_READ_AHEAD_BYTES and table.position_is_bytes:
        done = [table.done()]
        rows = read_ahead_in_process(
            cleaned(), position=table.done, on_position=lambda p: done.__setitem__(0, p)
        )
        table.position = lambda: done[0]
    else:
        rows = read_ahead(cleaned())
    return residents_import_rows(
        rows=rows, actor=actor, scope=scope, job_id=job_id, filename=filename, on_batch=on_batch
    )


# ---------------------------------------------------------------- single records


def _get_in_scope(*, actor, resident_id: int) -> Resident:
    resident = scope_for(actor).filter(Resident.objects.filter(pk=resident_id)).first()
    if resident is None:
        raise NotFound(_("居民不存在或不在您的管辖范围内"), code=RegistryErrorCode.RESIDENT_NOT_FOUND)
    return resident


def _values_from_input(
    data: dict[str, Any], *, lookups: Lookups, today: date, partial: bool
) -> dict[str, Any]:
    """Validate API/form input with the same rules as an import row (one dict, field names as keys)."""
    keys = list(LABELS)
    table = Table(
        columns={k: i for i, k in enumerate(keys)}, header_labels={k: k for k in keys}, rows=iter(())
    )
    values = [data.get(k) for k in keys]
    if partial:
        # An edit need not repeat the identity; fill it so the row rules apply.
        for k in ("name", "id_number", "village_code"):
            if values[keys.index(k)] in (None, ""):
                values[keys.index(k)] = data.get(f"_current_{k}")
    out, errors = RowCleaner(table=table, lookups=lookups, today=today)(values, 0)
    if errors:
        raise ValidationFailed(
            "；".join(f"{e.column}：{e.message}" for e in errors),
            field=errors[0].column,
            code=RegistryErrorCode.RESIDENT_INVALID,
        )
    return out


# A document registered outside the user's scope: the answer names neither the place nor the person (anyone who
# may add residents could otherwise map ID numbers to villages county-wide); the county CDC sees it and moves it.
REGISTERED_ELSEWHERE = gettext_noop("该证件号码已登记，不在您的管辖范围内，请联系县疾控中心核实或办理迁入")


def _duplicate_refusal(scope: Scope, *, id_type: str, id_number: str) -> ValidationFailed:
    """The refusal for a document already registered: inside the user's scope it names the record (they may open
    it anyway); outside, the same code and field with ``REGISTERED_ELSEWHERE``, which says nothing about where."""
    existing = (
        Resident.objects.filter(id_type=id_type, id_number=id_number)
        .values("id", "village_code", "employer_id")
        .first()
    )
    if existing is not None and _covers(
        scope, village_code=existing["village_code"], employer_id=existing["employer_id"]
    ):
        return ValidationFailed(
            _("该证件号码已建档（您辖区内的居民编号%(id)s），一人只能有一条记录，请查看或修改该记录")
            % {"id": existing["id"]},
            code=RegistryErrorCode.DUPLICATE,
            field="id_number",
        )
    return ValidationFailed(_(REGISTERED_ELSEWHERE), code=RegistryErrorCode.DUPLICATE, field="id_number")


@transaction.atomic
def resident_create(*, actor, data: dict[str, Any]) -> Resident:
    """Register one person. Raises ValidationFailed (bad field or already registered — ``code=RegistryErrorCode.DUPLICATE``,
    naming the record only when it lies in the actor's scope) or PermissionDenied."""
    require(actor, "registry.add_resident")
    scope = scope_for(actor)
    if scope.employer_id is not None:
        data = {**data, "employer": Employer.objects.get(pk=scope.employer_id).code}
    values = _values_from_input(data, lookups=Lookups(), today=clock.today(), partial=False)
    derived = values.pop("_derived_group", None)
    values.setdefault("priority_group_id", derived)
    if not _covers(scope, village_code=values["village_code"], employer_id=values.get("employer_id")):
        raise PermissionDenied(_("村(社区)不在您的管辖范围内"), code=CoreErrorCode.OUT_OF_SCOPE)
    if Resident.objects.filter(id_type=values["id_type"], id_number=values["id_number"]).exists():
        raise _duplicate_refusal(scope, id_type=values["id_type"], id_number=values["id_number"])
    try:
        with transaction.atomic():
            resident = Resident.objects.create(**values)
    except IntegrityError:
        raise _duplicate_refusal(scope, id_type=values["id_type"], id_number=values["id_number"]) from None
    audit_record(
        actor=actor,
        action="resident.create",
        obj=resident,
        new=_audit_view({"id_number": resident.id_number, **values}),
    )
    transaction.on_commit(lambda: residents_changed.send(sender=Resident, resident_ids=[resident.pk]))
    return resident


@transaction.atomic
def resident_update(*, actor, resident_id: int, data: dict[str, Any]) -> Resident:
    """Change the given fields of a person in the actor's scope; the identity document cannot change here."""
    require(actor, "registry.change_resident")
    resident = _get_in_scope(actor=actor, resident_id=resident_id)
    if data.get("id_number") and data["id_number"] != resident.id_number:
        raise ValidationFailed(
            _("证件号码不能修改；证件有误请作废后重新建档"),
            field="id_number",
            code=RegistryErrorCode.ID_NUMBER_IMMUTABLE,
        )
    merged = {
        "_current_name": resident.name,
        "_current_id_number": resident.id_number,
        "_current_village_code": resident.village_code,
        "id_type": resident.id_type,
        **{k: v for k, v in data.items() if v is not None},
    }
    values = _values_from_input(merged, lookups=Lookups(), today=clock.today(), partial=True)
    values.pop("_derived_group", None)
    values.pop("id_type", None)
    values.pop("id_number", None)
    scope = scope_for(actor)
    if not _covers(
        scope,
        village_code=values.get("village_code", resident.village_code),
        employer_id=values.get("employer_id", resident.employer_id),
    ):
        raise PermissionDenied(_("村(社区)不在您的管辖范围内"), code=CoreErrorCode.OUT_OF_SCOPE)
    current = {k: getattr(resident, k) for k in values}
    old, new = diff(current, values)
    if not new:
        return resident
    if "willingness" in new:
        _willingness_history(
            [
                (
                    resident.pk,
                    resident.willingness,
                    new["willingness"],
                    new.get("willingness_reason", resident.willingness_reason),
                )
            ],
            actor=actor,
            source=WILLINGNESS_SOURCE_EDIT,
        )
    for k, v in new.items():
        setattr(resident, k, v)
    resident.save(update_fields=[*new, "updated_at"])
    audit_record(
        actor=actor, action="resident.update", obj=resident, old=_audit_view(old), new=_audit_view(new)
    )
    transaction.on_commit(lambda: residents_changed.send(sender=Resident, resident_ids=[resident.pk]))
    return resident


@transaction.atomic
def resident_reveal(*, actor, resident_id: int, purpose: str) -> dict[str, str]:
    """The full ID number and phone of one person, for a stated purpose; the reveal is audited."""
    require(actor, "registry.reveal_identity")
    purpose = (purpose or "").strip()
    if len(purpose) < 2:
        raise ValidationFailed(
            _("请说明查看完整信息的目的"), field="purpose", code=CoreErrorCode.PURPOSE_REQUIRED
        )
    resident = _get_in_scope(actor=actor, resident_id=resident_id)
    audit_record(
        actor=actor,
        action="resident.reveal",
        obj=resident,
        purpose=purpose[:200],
        new={"fields": ["id_number", "phone"]},
    )
    return {"id_number": resident.id_number, "phone": resident.phone}


@transaction.atomic
def resident_find_by_document(
    *,
    actor,
    id_number: str,
    purpose: str,
    id_type: str = "",
    county_wide: bool = False,
    field: str = "id_number",
    note: dict | None = None,
) -> Resident | None:
    """Look a person up by full document number, for a stated purpose; always audited (the one place that
    finds a person by document and the one that audits it). Within the actor's scope and with the
    ``registry.search_by_document`` permission; ``county_wide`` is for a site's desks, which serve people
    from anywhere (the caller has checked the desk's own permission and site). ``field`` names the input
    in a refusal; ``note`` is added to the audit event (e.g. the site)."""
    if not county_wide:
        require(actor, "registry.search_by_document")
    purpose = (purpose or "").strip()
    if len(purpose) < 2:
        raise ValidationFailed(
            _("按证件号码查找须说明目的"), field="purpose", code=CoreErrorCode.PURPOSE_REQUIRED
        )
    try:
        doc = domain.parse_document(domain.parse_id_type(id_type), id_number, today=clock.today())
    except domain.DocumentError as e:
        raise ValidationFailed(e.message, field=field, code=RegistryErrorCode.ID_NUMBER_INVALID) from None
    found = Resident.objects.filter(id_type=doc.id_type.value, id_number=doc.number)
    resident = (found if county_wide else scope_for(actor).filter(found)).first()
    audit_record(
        actor=actor,
        action="resident.search_by_document",
        object_type="registry.resident",
        object_id=resident.pk if resident else "",
        purpose=purpose[:200],
        new={"query": domain.mask_id(doc.number), "found": resident is not None, **(note or {})},
    )
    return resident


@transaction.atomic
def import_job_create(*, actor, upload, village_code: str = "", employer_code: str = "") -> ImportJob:
    """Store an uploaded census file and queue its import; returns the job (poll it for progress)."""
    from django_q.tasks import async_task

    require(actor, "registry.import_residents")
    check_upload_size(getattr(upload, "size", 0) or 0)
    name = getattr(upload, "name", "upload")[:200]
    job = ImportJob(
        created_by=actor,
        filename=name,
        village_code=village_code,
        employer_code=employer_code,
        bytes_total=getattr(upload, "size", 0) or 0,
    )
    job.file.save(name, upload, save=False)
    job.save()
    audit_record(
        actor=actor, action="resident.import_upload", obj=job, new={"file": name, "size": job.bytes_total}
    )
    transaction.on_commit(
        lambda: async_task("vaxops.registry.tasks.import_job_run", job.pk, task_name=f"import-{job.pk}")
    )
    return job


# --------------------------------------------------------------------------------------------------
# The grid (网格化): village groups, buildings and units, and willingness with its history
# --------------------------------------------------------------------------------------------------


@transaction.atomic
def village_group_create(
    *,
    actor,
    village: Division,
    name: str,
    kind: str = "group",
    parent=None,
    head_name: str = "",
    head_phone: str = "",
    head=None,
):
    """A 村民小组, 楼栋 or 单元 of a village, inside ``parent`` when nested (a unit inside its building), with
    its head (and the head's log-in, if any)."""
    from .models import GroupKind, VillageGroup

    if village.level != Level.VILLAGE:
        raise ValidationFailed(
            _("%(name)s不是村（社区）") % {"name": village.name},
            field="village",
            code=RegistryErrorCode.GROUP_INVALID,
        )
    if kind not in GroupKind.values or not name.strip():
        raise ValidationFailed(_("请填写小组名称和类型"), field="name", code=RegistryErrorCode.GROUP_INVALID)
    if parent is not None and parent.village_id != village.pk:
        raise ValidationFailed(
            _("上一级“%(parent)s”不属于%(village)s") % {"parent": parent.name, "village": village.name},
            field="parent",
            code=RegistryErrorCode.GROUP_INVALID,
        )
    if head is not None and not (head.division_id and head.division.contains(village.code)):
        raise ValidationFailed(
            _("负责人账号%(user)s不属于%(village)s") % {"user": head.username, "village": village.name},
            field="head",
            code=RegistryErrorCode.GROUP_INVALID,
        )
    try:
        with transaction.atomic():
            group = VillageGroup.objects.create(
                village=village,
                parent=parent,
                kind=kind,
                name=name.strip()[:50],
                head_name=head_name.strip()[:50],
                head_phone=head_phone.strip()[:20],
                head=head,
            )
    except IntegrityError:
        raise ValidationFailed(
            _("%(village)s已有“%(name)s”") % {"village": village.name, "name": name},
            field="name",
            code=RegistryErrorCode.GROUP_INVALID,
        ) from None
    audit_record(
        actor=actor,
        action="registry.village_group_create",
        obj=group,
        new={
            "village": village.code,
            "name": group.name,
            "kind": kind,
            "parent": parent.pk if parent else None,
            "head": head.username if head else None,
        },
    )
    return group


@transaction.atomic
def residents_group_set(*, actor, group, resident_ids: Iterable[int]) -> int:
    """Put residents of the group's village into the group (a resident belongs to one); returns how many."""
    ids = sorted({int(i) for i in resident_ids})
    changed = Resident.objects.filter(pk__in=ids, village_id=group.village_id).update(group=group)
    if changed != len(ids):
        raise ValidationFailed(
            _("有%(n)s名居民不属于%(village)s，不能编入“%(group)s”")
            % {"n": len(ids) - changed, "village": group.village.name, "group": group.name},
            field="residents",
            code=RegistryErrorCode.GROUP_INVALID,
        )
    audit_record(actor=actor, action="registry.residents_group_set", obj=group, new={"residents": ids})
    return changed


@transaction.atomic
def resident_willingness_set(
    *, actor, resident: Resident, willingness: str, reason: str = "", source: str = ""
):
    """Change a person's willingness (愿意 / 犹豫 / 拒绝) and keep the change in its history (who, when, why,
    from where): a follow-up records it here instead of a re-import overwriting the column. A refusal or a
    hesitation needs its reason. Returns the change, or ``None`` when nothing changed."""
    from .models import WillingnessChange

    if willingness not in Willingness.values:
        raise ValidationFailed(
            _("未知的接种意愿：%(w)s") % {"w": willingness},
            field="willingness",
            code=RegistryErrorCode.WILLINGNESS_INVALID,
        )
    reason = reason.strip()[:200]
    if willingness in (Willingness.HESITANT, Willingness.REFUSED) and not reason:
        raise ValidationFailed(
            _("%(name)s：选择“%(w)s”须填写原因")
            % {"name": domain.mask_name(resident.name), "w": Willingness(willingness).label},
            field="reason",
            code=RegistryErrorCode.WILLINGNESS_INVALID,
        )
    r = Resident.objects.select_for_update().get(pk=resident.pk)
    if r.willingness == willingness and r.willingness_reason == reason:
        return None
    change = WillingnessChange.objects.create(
        resident=r,
        old=r.willingness,
        new=willingness,
        reason=reason,
        source=source[:30],
        at=clock.now(),
        by=actor if getattr(actor, "pk", None) else None,
    )
    Resident.objects.filter(pk=r.pk).update(willingness=willingness, willingness_reason=reason)
    audit_record(
        actor=actor,
        action="registry.resident_willingness_set",
        obj=r,
        old={"willingness": r.willingness, "reason": r.willingness_reason},
        new={"willingness": willingness, "reason": reason, "source": source},
    )
    return change
