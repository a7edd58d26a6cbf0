"""A small FHIR client: POSTs a Bundle to an endpoint's base URL over one kept-alive HTTP connection."""

from __future__ import annotations

import base64
import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class TransportError(Exception):
    """The endpoint could not be reached, timed out, or went away before answering."""


@dataclass
class Answer:
    status: int
    body: Any  # the parsed JSON, or None


class FhirClient:
    def __init__(self, url: str, *, username: str = "", secret: str = "", timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.https else 80)
        self.path = parts.path.rstrip("/") or ""
        self.timeout = timeout
        self.headers = {
            "Content-Type": "application/fhir+json; charset=utf-8",
            "Accept": "application/fhir+json",
        }
        if username:
            token = base64.b64encode(f"{username}:{secret}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        elif secret:
            self.headers["Authorization"] = f"Bearer {secret}"
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def post(self, body: bytes, path: str = "") -> Answer:
        """POST ``body`` (a Bundle's JSON) to the base URL; one retry on a kept-alive connection the server
        had closed before the request (nothing was received then)."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("POST", self.path + path or "/", body=body, headers=self.headers)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if attempt == 1 and isinstance(exc, http.client.RemoteDisconnected | BrokenPipeError):
                    # A stale kept-alive connection — or a server that went away mid-request: the retry tells.
                    continue
                raise TransportError(f"连接中断：{exc}") from exc
            except TimeoutError as exc:
                self.close()
                raise TransportError(f"超时（{self.timeout:g} 秒）未答复") from exc
            except OSError as exc:
                self.close()
                raise TransportError(f"无法连接：{exc}") from exc
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            try:
                parsed = json.loads(data) if data else None
            except ValueError:
                parsed = None
            return Answer(response.status, parsed)
        raise TransportError("连接中断")  # pragma: no cover
