"""A small receiving FHIR server (the local stand-in for the provincial and national platforms).

It accepts transaction (and batch) Bundles POSTed to its base URL, validates every resource with
``fhir.resources`` (R4), applies conditional creates (``ifNoneExist``: an existing match is answered 200 and
nothing is created) and conditional updates (``PUT Type?identifier=…``), resolves ``urn:uuid`` references
inside the bundle, and stores what it got in memory. ``GET /Immunization?identifier=s|v`` searches by
identifier; ``GET /$stats`` answers the counts.

It can be told to misbehave (``mode``): ``fail`` (500 with an OperationOutcome), ``slow`` (sleep ``delay``
seconds before answering), ``drop`` (close the connection without answering, after applying the
transaction: the worst case for a sender), ``drop-before`` (close it before applying anything). ``reject`` (422 with an OperationOutcome: a refusal, not retried). ``fail_next``
makes only the next N requests fail.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import resources


class Store:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.resources: dict[str, dict[str, dict[str, Any]]] = {}
        self.by_identifier: dict[tuple[str, str, str], str] = {}  # (type, system, value) → id
        self.requests = 0
        self.creates = 0
        self.updates = 0
        self.matched = 0

    def count(self, kind: str) -> int:
        return len(self.resources.get(kind, {}))

    def find(self, kind: str, search: str) -> str | None:
        params = parse_qs(search)
        for value in params.get("identifier", []):
            system, _, code = value.rpartition("|")
            found = self.by_identifier.get((kind, system, code))
            if found:
                return found
        return None

    def put(self, kind: str, rid: str, resource: dict[str, Any]) -> None:
        resource = {**resource, "id": rid}
        self.resources.setdefault(kind, {})[rid] = resource
        identifiers = resource.get("identifier") or []
        if isinstance(identifiers, dict):
            identifiers = [identifiers]
        for ident in identifiers:
            self.by_identifier[(kind, ident.get("system", ""), ident.get("value", ""))] = rid


def _rewrite(value: Any, refs: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {k: _rewrite(v, refs) for k, v in value.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref in refs:
            out["reference"] = refs[ref]
        return out
    if isinstance(value, list):
        return [_rewrite(v, refs) for v in value]
    return value


def apply_bundle(
    store: Store, bundle: dict[str, Any], *, validate: bool = True
) -> tuple[int, dict[str, Any]]:
    """Validate (unless told not to, to measure what validation costs) and apply a transaction or batch
    Bundle; answer (HTTP status, body)."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return 400, resources.operation_outcome("structure", "请求体不是 FHIR Bundle")
    if bundle.get("type") not in ("transaction", "batch"):
        return 400, resources.operation_outcome("not-supported", "只接受 transaction 或 batch 类型的 Bundle")
    errors = resources.validation_errors(bundle) if validate else []
    if errors:
        return 400, resources.operation_outcome("invalid", "；".join(errors))
    entries = bundle.get("entry") or []
    out: list[dict[str, Any]] = []
    refs: dict[str, str] = {}
    with store.lock:
        # Conditional creates and updates resolve their matches first, so references can be rewritten.
        plan = []
        for e in entries:
            request = e.get("request") or {}
            resource = e.get("resource") or {}
            kind = resource.get("resourceType", "")
            method = request.get("method")
            if method == "POST":
                existing = (
                    store.find(kind, request.get("ifNoneExist", "")) if request.get("ifNoneExist") else None
                )
                rid = existing or str(uuid.uuid4())
                plan.append(("POST", kind, rid, existing is not None, e))
            elif method == "PUT":
                url = request.get("url", "")
                path, _, search = url.partition("?")
                existing = (
                    store.find(path, search) if search else (url.split("/", 1)[1] if "/" in url else None)
                )
                rid = existing or str(uuid.uuid4())
                plan.append(("PUT", path, rid, existing is not None, e))
            else:
                return 400, resources.operation_outcome("not-supported", f"不支持的请求方法：{method}")
            if e.get("fullUrl"):
                refs[e["fullUrl"]] = f"{kind or plan[-1][1]}/{rid}"
        for method, kind, rid, exists, e in plan:
            if method == "POST" and exists:
                store.matched += 1
                out.append({"response": {"status": "200 OK", "location": f"{kind}/{rid}"}})
                continue
            store.put(kind, rid, _rewrite(e["resource"], refs))
            if exists:
                store.updates += 1
                out.append({"response": {"status": "200 OK", "location": f"{kind}/{rid}"}})
            else:
                store.creates += 1
                out.append({"response": {"status": "201 Created", "location": f"{kind}/{rid}"}})
    kind = "transaction-response" if bundle["type"] == "transaction" else "batch-response"
    return 200, {"resourceType": "Bundle", "type": kind, "entry": out}


class Receiver:
    """The server and its switches (thread-safe enough for tests: the switches are plain attributes)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, validate: bool = True) -> None:
        self.store = Store()
        self.mode = "ok"
        self.delay = 0.0
        self.fail_next = 0
        self.validate = validate
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _drop(self) -> None:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(2)

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                store = receiver.store
                if parts.path.endswith("/$stats"):
                    with store.lock:
                        body = {
                            "requests": store.requests,
                            "creates": store.creates,
                            "updates": store.updates,
                            "matched": store.matched,
                            "counts": {k: len(v) for k, v in store.resources.items()},
                        }
                    return self._answer(200, body)
                if parts.path.endswith("/metadata"):
                    return self._answer(
                        200,
                        {
                            "resourceType": "CapabilityStatement",
                            "status": "active",
                            "kind": "instance",
                            "fhirVersion": "4.3.0",
                            "format": ["json"],
                        },
                    )
                kind = parts.path.rstrip("/").rsplit("/", 1)[-1]
                with store.lock:
                    rid = store.find(kind, parts.query)
                    found = [store.resources[kind][rid]] if rid else []
                return self._answer(
                    200,
                    {
                        "resourceType": "Bundle",
                        "type": "searchset",
                        "total": len(found),
                        "entry": [{"resource": r} for r in found],
                    },
                )

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length)
                with receiver.store.lock:
                    receiver.store.requests += 1
                mode = receiver.mode
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    mode = "fail"
                if mode == "slow" and receiver.delay:
                    time.sleep(receiver.delay)
                if mode == "fail":
                    return self._answer(500, resources.operation_outcome("exception", "服务内部错误（测试）"))
                if mode == "reject":
                    return self._answer(
                        422, resources.operation_outcome("business-rule", "接种单位未在省级平台备案（测试）")
                    )
                if mode == "drop-before":
                    return self._drop()
                try:
                    bundle = json.loads(data)
                except ValueError:
                    return self._answer(400, resources.operation_outcome("structure", "请求体不是 JSON"))
                status, body = apply_bundle(receiver.store, bundle, validate=receiver.validate)
                if mode == "drop":
                    return self._drop()
                return self._answer(status, body)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/fhir"

    def start(self) -> Receiver:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
