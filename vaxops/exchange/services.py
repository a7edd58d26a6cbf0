"""The exchange's writers: the outbox (a message per dose event and active endpoint, in the dose's own
transaction), the worker's claim / send / acknowledge, and the endpoints' back-off.

States: ``pending`` → (claimed) ``sent`` → ``acknowledged``, or ``failed`` with the receiver's answer. A claim
commits ``sent`` with a lease before the HTTP request; a worker killed after that leaves the message ``sent``
until the lease runs out, when the next worker claims it again and resends it — the receiver's conditional
create on the dose identifier makes the resend a no-op there. So nothing is lost (a message leaves the open
states only on the receiver's answer) and nothing is applied twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from django.db import connection, transaction
from django.db.models import F, Min, Q

from vaxops.audit.services import audit_record
from vaxops.core import clock

from . import resources, selectors
from .client import Answer, FhirClient, TransportError
from .models import DOSE_KINDS, Endpoint, EndpointKind, MessageKind, MessageState, OutboundMessage

log = logging.getLogger(__name__)

OPEN = (MessageState.PENDING, MessageState.SENT)
BACKOFF_BASE_SECONDS = 2
BACKOFF_CAP_SECONDS = 600
LEASE_MARGIN_SECONDS = 30

# ------------------------------------------------------------------------------------------------ the outbox


_COLUMNS = (
    "endpoint_id, dose_id, report_id, trace_code_id, code_state, resident_id, kind, state, created_at,"
    " next_attempt_at, attempts, remote_id, error"
)
# Who gets what: a dose's and a report's events go to the provincial and national platforms, a code's state
# to the traceability platform.
_FOR_RECORDS = "e.active AND e.kind <> 'traceability'"
_FOR_CODES = "e.active AND e.kind = 'traceability'"


def outbox_cte(*, source: str = "dose", code_source: str = "code") -> str:
    """The outbox's INSERT as one more member of the desk's data-modifying statement (``source`` is the CTE
    that returns the new dose's id, ``code_source`` the one that returns its code's id): the dose's message
    for each active record endpoint and the code's ``administered`` for each traceability endpoint. Its
    parameters: ``outbox_cte_params``."""
    t, e = OutboundMessage._meta.db_table, Endpoint._meta.db_table
    return (  # only table names are formatted in; every value is a parameter
        f"INSERT INTO {t} ({_COLUMNS})"  # noqa: S608
        f" SELECT e.id, {source}.id, CAST(NULL AS bigint), CAST(NULL AS bigint), '', %s, 'create', 'pending',"
        " %s, %s, 0, '', ''"
        f" FROM {source}, {e} e WHERE {_FOR_RECORDS}"
        f" UNION ALL SELECT e.id, {source}.id, CAST(NULL AS bigint), {code_source}.id, 'administered', -{code_source}.id, 'code',"
        f" 'pending', %s, %s, 0, '', '' FROM {source}, {code_source}, {e} e WHERE {_FOR_CODES}"
        " RETURNING id"
    )


def outbox_cte_params(*, resident_id: int, now: dt.datetime) -> list:
    return [resident_id, now, now, now, now]


def _insert_for(endpoints: str, rows: list[tuple], *, now: dt.datetime) -> None:
    """One message per row and active endpoint of ``endpoints`` (``_FOR_RECORDS`` or ``_FOR_CODES``); each
    row: (dose id, report id, code id, code state, ordering key, kind)."""
    if not rows:
        return
    t, e = OutboundMessage._meta.db_table, Endpoint._meta.db_table
    moment = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT e.id FROM {e} e WHERE {endpoints}")  # noqa: S608
        ids = [i for (i,) in cursor.fetchall()]
        if not ids:
            return
        cursor.executemany(
            f"INSERT INTO {t} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s, 0, '', '')",  # noqa: S608
            [(i, *row, moment, moment) for row in rows for i in ids],
        )


def outbox_dose(*, dose_id: int, resident_id: int, kind: str, now: dt.datetime | None = None) -> None:
    """Write the messages of one dose event (``create``, ``void``, ``correct``) for the active record
    endpoints; called inside the writer's transaction."""
    now = now or clock.now()
    t, e = OutboundMessage._meta.db_table, Endpoint._meta.db_table
    moment = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {t} ({_COLUMNS}) SELECT e.id, %s, NULL, NULL, '', %s, %s, 'pending', %s, %s, 0, '', ''"  # noqa: S608
            f" FROM {e} e WHERE {_FOR_RECORDS}",
            [dose_id, resident_id, kind, moment, moment],
        )


def outbox_report(*, report_id: int, dose_id: int, resident_id: int, now: dt.datetime | None = None) -> None:
    """A suspected adverse event report made or changed: a message for each active record endpoint (sent as
    the report then stands), in order with the person's dose messages."""
    _insert_for(
        _FOR_RECORDS,
        [(dose_id, report_id, None, "", resident_id, MessageKind.AEFI.value)],
        now=now or clock.now(),
    )


def outbox_codes(
    *, code_ids: list[int], state: str, now: dt.datetime | None = None, doses: dict[int, int] | None = None
) -> None:
    """Codes changed state: a message of its own for each code and active traceability endpoint, carrying
    the new state (``doses``: the dose given from each administered code)."""
    doses = doses or {}
    _insert_for(
        _FOR_CODES,
        [(doses.get(c), None, c, str(state), -c, MessageKind.CODE.value) for c in code_ids],
        now=now or clock.now(),
    )


# ------------------------------------------------------------------------------------------------ endpoints


def endpoint_save(*, actor, code: str, name: str, kind: str, url: str, **fields) -> Endpoint:
    """Create or change an endpoint by its code (the county's configuration; the admin does the same)."""
    with transaction.atomic():
        endpoint, created = Endpoint.objects.update_or_create(
            code=code, defaults={"name": name, "kind": EndpointKind(kind), "url": url, **fields}
        )
        audit_record(
            actor=actor,
            action="exchange.endpoint_save",
            obj=endpoint,
            new={"code": code, "name": name, "kind": kind, "url": url, "created": created}
            | {k: v for k, v in fields.items() if k != "secret"},
        )
    return endpoint


def _backoff(failures: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, failures - 1)))


# ------------------------------------------------------------------------------------------------ the worker


@dataclass
class SendResult:
    claimed: int = 0
    acknowledged: int = 0
    failed: int = 0
    released: int = 0
    errors: list[str] = field(default_factory=list)


def outbox_claim(*, endpoint: Endpoint, limit: int, now: dt.datetime | None = None) -> list[int]:
    """Claim up to ``limit`` messages of ``endpoint`` in order: pending ones, and sent ones whose lease ran
    out (their worker died). A message waits while an earlier message for the same person is still open
    (in order per person). PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so workers never claim the same message;
    SQLite: one worker."""
    now = now or clock.now()
    due = Q(state=MessageState.PENDING, next_attempt_at__lte=now) | Q(
        state=MessageState.SENT, lease_until__lt=now
    )
    with transaction.atomic():
        candidates = list(
            OutboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(endpoint_id=endpoint.pk, state__in=OPEN)
            .filter(due)
            .order_by("id")
            .values_list("id", "resident_id")[:limit]
        )
        if not candidates:
            return []
        # In order per person: a message goes only if it is its person's first open message on the endpoint
        # (one grouped look-up by person on the partial index; a plan that does not hang on the table's
        # statistics, which a fast-moving outbox rarely has fresh).
        first = dict(
            OutboundMessage.objects.filter(
                endpoint_id=endpoint.pk, state__in=OPEN, resident_id__in={r for _, r in candidates}
            )
            .values("resident_id")
            .annotate(first=Min("id"))
            .values_list("resident_id", "first")
        )
        ids = [i for i, r in candidates if first.get(r) == i]
        if ids:
            OutboundMessage.objects.filter(id__in=ids).update(
                state=MessageState.SENT,
                sent_at=now,
                lease_until=now + dt.timedelta(seconds=endpoint.timeout_seconds + LEASE_MARGIN_SECONDS),
                attempts=F("attempts") + 1,
            )
    return ids


def _after_send() -> None:
    """Between the receiver's answer and the acknowledgement being written (tests raise here to play a worker
    killed at the worst moment)."""


@dataclass(frozen=True)
class Claimed:
    """A claimed message as the bundle needs it."""

    id: int
    kind: str
    dose_id: int | None = None
    report_id: int | None = None
    code_id: int | None = None
    code_state: str = ""
    created_at: dt.datetime | None = None


CLAIMED_FIELDS = ("id", "kind", "dose_id", "report_id", "trace_code_id", "code_state", "created_at")


def bundle_for(
    messages: list[Claimed], *, endpoint: Endpoint
) -> tuple[dict, dict[int, int], list[tuple[int, str]]]:
    """The transaction Bundle for claimed ``messages``, the entry index of each message's own resource (the
    dose's Immunization, the report's AdverseEvent, the code's Medication), and the messages whose record
    could not be built (with why)."""
    dose_messages = [m for m in messages if m.kind in DOSE_KINDS]
    report_messages = [m for m in messages if m.kind == MessageKind.AEFI]
    code_messages = [m for m in messages if m.kind == MessageKind.CODE]
    reports = selectors.report_rows({m.report_id for m in report_messages if m.report_id})
    doses = selectors.dose_rows(
        {m.dose_id for m in dose_messages if m.dose_id} | {r.dose_id for r in reports.values()}
    )
    with_patient = endpoint.kind != EndpointKind.TRACEABILITY
    people = selectors.person_rows(
        {r.resident_id for r in doses.values()} | {r.resident_id for r in reports.values()}
    )
    sites = selectors.site_rows({r.site_code for r in doses.values()})
    codes = selectors.code_rows({m.code_id for m in code_messages if m.code_id})
    broken: list[tuple[int, str]] = []
    wanted: list[tuple[int, resources.DoseRow, str]] = []
    for m in dose_messages:
        row = doses.get(m.dose_id or 0)
        if row is None or row.resident_id not in people:
            broken.append((m.id, "剂次或受种者记录不存在"))
            continue
        wanted.append((m.id, row, m.kind))
    entries = resources.dose_entries(
        [(row, kind) for _, row, kind in wanted],
        people,
        sites,
        with_patient=with_patient,
        profile=endpoint.profile,
    )
    index: dict[int, int] = {}
    position = {resources.urn("Immunization", str(row.dose_id)): mid for mid, row, _ in wanted}
    for i, e in enumerate(entries):
        mid = position.get(e["fullUrl"])
        if mid is not None and e["resource"]["resourceType"] == "Immunization":
            index[mid] = i
    # The reports: each with its person and its dose (conditional creates: they are there already when the
    # dose's own message went first) and the AdverseEvent as a conditional update on the report's number.
    present = {e["fullUrl"] for e in entries}
    for m in report_messages:
        r = reports.get(m.report_id or 0)
        dose = doses.get(r.dose_id) if r else None
        if r is None or dose is None or r.resident_id not in people:
            broken.append((m.id, "疑似异常反应报告、剂次或受种者记录不存在"))
            continue
        for e in resources.dose_entries([(dose, "create")], people, sites, profile=endpoint.profile):
            if e["fullUrl"] not in present:
                present.add(e["fullUrl"])
                entries.append(e)
        p = people[r.resident_id]
        event = resources.adverse_event(
            r,
            patient_ref=resources.urn("Patient", f"{p.id_type}|{p.id_number}"),
            dose_ref=resources.urn("Immunization", str(dose.dose_id)),
            profile=endpoint.profile,
        )
        index[m.id] = len(entries)
        entries.append(
            resources.entry(
                event,
                full_url=resources.urn("AdverseEvent", f"{r.number}|{m.id}"),
                method="PUT",
                url=f"AdverseEvent?{resources.aefi_search(r.number)}",
            )
        )
    # The codes: each change its own Medication update, the state it was written with.
    for m in code_messages:
        c = codes.get(m.code_id or 0)
        if c is None:
            broken.append((m.id, "追溯码不存在"))
            continue
        if m.dose_id:
            c = replace(c, dose_id=m.dose_id)
        index[m.id] = len(entries)
        entries.append(
            resources.entry(
                resources.code_medication(
                    c, state=m.code_state, at=m.created_at or clock.now(), profile=endpoint.profile
                ),
                full_url=resources.urn("Medication", f"{c.code}|{m.id}"),
                method="PUT",
                url=f"Medication?{resources.code_search(c.code)}",
            )
        )
    return resources.transaction(entries), index, broken


def _encode(bundle: dict) -> bytes:
    return json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode()


def _release(ids: list[int], *, endpoint: Endpoint, why: str, now: dt.datetime) -> None:
    """A transport failure: the messages go back to pending (sent again when the endpoint is retried) and the
    endpoint backs off exponentially."""
    with transaction.atomic():
        OutboundMessage.objects.filter(id__in=ids, state=MessageState.SENT).update(
            state=MessageState.PENDING, lease_until=None, error=why[:2000]
        )
        failures = endpoint.failures + 1
        Endpoint.objects.filter(pk=endpoint.pk).update(
            failures=failures, retry_at=now + _backoff(failures), last_error=why[:500]
        )
    endpoint.failures, endpoint.retry_at, endpoint.last_error = failures, now + _backoff(failures), why[:500]


def _healthy(endpoint: Endpoint) -> None:
    if endpoint.failures or endpoint.retry_at or endpoint.last_error:
        Endpoint.objects.filter(pk=endpoint.pk).update(failures=0, retry_at=None, last_error="")
        endpoint.failures, endpoint.retry_at, endpoint.last_error = 0, None, ""


def _fail(ids: list[int], why: str) -> None:
    OutboundMessage.objects.filter(id__in=ids, state=MessageState.SENT).update(
        state=MessageState.FAILED, lease_until=None, error=why[:4000]
    )


@dataclass
class Prepared:
    """A claimed batch ready to go: its Bundle (built and validated) and each message's entry."""

    bundle: dict
    index: dict[int, int]
    data: bytes


def outbox_prepare(
    *, endpoint: Endpoint, ids: list[int], client: FhirClient, validate: bool = True, result: SendResult
) -> Prepared | None:
    """Build (and validate) the Bundle of the claimed messages ``ids``; the messages that cannot be built or
    do not validate are failed here (a batch that does not validate is sent message by message to find the
    one at fault). None when nothing is left to send."""
    messages = [
        Claimed(*v)
        for v in OutboundMessage.objects.filter(id__in=ids).order_by("id").values_list(*CLAIMED_FIELDS)
    ]
    bundle, index, broken = bundle_for(messages, endpoint=endpoint)
    if broken:
        for mid, why in broken:
            _fail([mid], why)
        result.failed += len(broken)
    if not index:
        return None
    if validate:
        errors = resources.validation_errors(bundle)
        if errors:
            if len(index) > 1:  # find the messages at fault, each alone, and send the others without them
                faulty = []
                for mid in index:
                    alone, _, _ = bundle_for([m for m in messages if m.id == mid], endpoint=endpoint)
                    why = resources.validation_errors(alone)
                    if why:
                        faulty.append(mid)
                        _fail([mid], "本地校验未通过（FHIR R4）：" + "；".join(why))
                        result.failed += 1
                        result.errors.append("；".join(why))
                rest = [mid for mid in index if mid not in faulty]
                if not faulty:  # each valid alone, not together: the batch's frame is at fault
                    why = "本地校验未通过（FHIR R4）：" + "；".join(errors)
                    _fail(rest, why)
                    result.failed += len(rest)
                    result.errors.append(why)
                    return None
                if not rest:
                    return None
                return outbox_prepare(
                    endpoint=endpoint, ids=rest, client=client, validate=True, result=result
                )
            why = "本地校验未通过（FHIR R4）：" + "；".join(errors)
            _fail(list(index), why)
            result.failed += 1
            result.errors.append(why)
            return None
    return Prepared(bundle, index, _encode(bundle))


def outbox_send(
    *, endpoint: Endpoint, ids: list[int], client: FhirClient, validate: bool = True, result: SendResult
) -> None:
    """Send the claimed messages ``ids`` as one transaction Bundle and record the answer."""
    prepared = outbox_prepare(endpoint=endpoint, ids=ids, client=client, validate=validate, result=result)
    if prepared is None:
        return
    now = clock.now()
    try:
        answer: Answer | TransportError = client.post(prepared.data)
    except TransportError as exc:
        answer = exc
    outbox_record(
        endpoint=endpoint,
        prepared=prepared,
        answer=answer,
        now=now,
        client=client,
        validate=validate,
        result=result,
    )


def outbox_record(
    *,
    endpoint: Endpoint,
    prepared: Prepared,
    answer: Answer | TransportError,
    now: dt.datetime,
    client: FhirClient,
    validate: bool,
    result: SendResult,
) -> None:
    """Record the receiver's ``answer`` to a sent batch (or the transport's failure)."""
    bundle, index = prepared.bundle, prepared.index
    if isinstance(answer, TransportError):
        _release(list(index), endpoint=endpoint, why=str(answer), now=now)
        result.released += len(index)
        result.errors.append(str(answer))
        return
    if answer.status >= 500 or answer.status in (408, 429):
        why = f"对方服务错误 HTTP {answer.status}" + (
            f"\n{resources.outcome_zh(answer.body)}" if resources.outcome_zh(answer.body) else ""
        )
        _release(list(index), endpoint=endpoint, why=why, now=now)
        result.released += len(index)
        result.errors.append(why)
        return
    if answer.status >= 400:
        if len(index) > 1:  # one resource refused refuses the transaction: send each alone to find it
            for mid in index:
                outbox_send(endpoint=endpoint, ids=[mid], client=client, validate=validate, result=result)
            return
        why = f"对方拒收 HTTP {answer.status}\n{resources.outcome_zh(answer.body) or str(answer.body)[:500]}"
        _fail(list(index), why)
        result.failed += 1
        result.errors.append(why)
        _healthy(endpoint)
        return
    body = answer.body if isinstance(answer.body, dict) else {}
    entries = body.get("entry") or []
    if body.get("type") != "transaction-response" or len(entries) != len(bundle["entry"]):
        why = "对方答复不是与请求对应的 transaction-response Bundle"
        _release(list(index), endpoint=endpoint, why=why, now=now)
        result.released += len(index)
        result.errors.append(why)
        return
    _after_send()
    acked: list[tuple[int, str]] = []
    refused: list[tuple[int, str]] = []
    for mid, i in index.items():
        response = entries[i].get("response") or {}
        status = str(response.get("status", ""))
        if status[:1] == "2":
            acked.append((mid, str(response.get("location", ""))[:200]))
        else:
            refused.append((mid, f"对方拒收 {status}\n{resources.outcome_zh(response.get('outcome'))}"))
    with transaction.atomic():
        _acknowledge(acked, now=clock.now())
        for mid, why in refused:
            _fail([mid], why)
        _healthy(endpoint)
    result.acknowledged += len(acked)
    result.failed += len(refused)


def _acknowledge(acked: list[tuple[int, str]], *, now: dt.datetime) -> None:
    """Mark the messages acknowledged, each with the receiver's location (one statement per batch on
    PostgreSQL; one prepared statement run per row on SQLite). Only messages still ``sent`` move."""
    if not acked:
        return
    t = OutboundMessage._meta.db_table
    moment = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {t} SET state = 'acknowledged', acknowledged_at = %s, lease_until = NULL, error = '',"  # noqa: S608
                f" remote_id = v.location FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS location) v"
                f" WHERE {t}.id = v.id AND {t}.state = 'sent'",
                [moment, [m for m, _ in acked], [loc for _, loc in acked]],
            )
        else:
            cursor.executemany(
                f"UPDATE {t} SET state = 'acknowledged', acknowledged_at = %s, lease_until = NULL, error = '',"  # noqa: S608
                f" remote_id = %s WHERE id = %s AND state = 'sent'",
                [(moment, loc, m) for m, loc in acked],
            )


def outbox_drain(
    *,
    endpoint_codes: list[str] | None = None,
    max_seconds: float | None = None,
    batch: int | None = None,
    validate: bool = True,
    clients: dict[int, FhirClient] | None = None,
) -> SendResult:
    """Send every due message to every active endpoint (not backing off), batch after batch, until none is
    left, an endpoint fails, or ``max_seconds`` passed."""
    result = SendResult()
    until = None if max_seconds is None else time.monotonic() + max_seconds
    endpoints = selectors.endpoints_active()
    if endpoint_codes:
        endpoints = endpoints.filter(code__in=endpoint_codes)
    own = clients is None
    clients = clients if clients is not None else {}
    try:
        for endpoint in list(endpoints):
            if endpoint.retry_at and endpoint.retry_at > clock.now():
                continue
            client = clients.get(endpoint.pk)
            if client is None:
                client = clients[endpoint.pk] = FhirClient(
                    endpoint.url,
                    username=endpoint.username,
                    secret=endpoint.secret,
                    timeout=endpoint.timeout_seconds,
                )
            _drain_endpoint(endpoint, client, batch=batch, validate=validate, result=result, until=until)
    finally:
        if own:
            for c in clients.values():
                c.close()
    return result


def _post(client: FhirClient, data: bytes) -> Answer | TransportError:
    try:
        return client.post(data)
    except TransportError as exc:
        return exc


def _unclaim(ids: list[int]) -> None:
    """Put claimed messages that were not sent back to pending (their endpoint began backing off)."""
    OutboundMessage.objects.filter(id__in=ids, state=MessageState.SENT).update(
        state=MessageState.PENDING, lease_until=None, attempts=F("attempts") - 1
    )


def _drain_endpoint(
    endpoint: Endpoint, client: FhirClient, *, batch: int | None, validate: bool, result: SendResult, until
) -> None:
    """Batch after batch to one endpoint, one request in flight: while the receiver works on a batch, the
    next one is claimed, built and validated here (the request waits in a thread, which does no database
    work; everything written is written here, in order). Stops when nothing is left, the endpoint fails,
    or ``until`` (a ``time.monotonic()`` moment) passed."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fhir-post") as pool:
        inflight: tuple[Prepared, Future, dt.datetime] | None = None
        while True:
            ids: list[int] = []
            if until is None or time.monotonic() < until:
                ids = outbox_claim(endpoint=endpoint, limit=batch or endpoint.batch_size)
            prepared = None
            if ids:
                result.claimed += len(ids)
                prepared = outbox_prepare(
                    endpoint=endpoint, ids=ids, client=client, validate=validate, result=result
                )
            waited = inflight is not None
            if inflight is not None:
                sent, future, at = inflight
                inflight = None
                released = result.released
                outbox_record(
                    endpoint=endpoint,
                    prepared=sent,
                    answer=future.result(),
                    now=at,
                    client=client,
                    validate=validate,
                    result=result,
                )
                if result.released > released:  # the endpoint is backing off: the next batch waits too
                    if prepared is not None:
                        _unclaim(list(prepared.index))
                    return
            if not ids:
                if waited and (until is None or time.monotonic() < until):
                    continue  # the batch just answered may have held its people's next messages back
                return
            if prepared is not None:
                inflight = (prepared, pool.submit(_post, client, prepared.data), clock.now())


def messages_retry(*, actor, ids: list[int]) -> int:
    """Send failed messages again (after the cause was fixed at either end)."""
    with transaction.atomic():
        n = OutboundMessage.objects.filter(id__in=ids, state=MessageState.FAILED).update(
            state=MessageState.PENDING, next_attempt_at=clock.now(), lease_until=None
        )
        audit_record(
            actor=actor,
            action="exchange.messages_retry",
            object_type="exchange.outboundmessage",
            new={"ids": ids[:100], "count": n},
        )
    return n


KIND_OF = {"create": MessageKind.CREATE, "void": MessageKind.VOID}
