"""One loopback HTTP server for every emulated platform, each under its own path prefix.

Platform emulations implement :class:`PlatformApp`; the server parses requests, applies the
fault plan, dispatches by prefix and writes responses. It runs in a background thread so the
demo, the tests and the benchmarks can start it in-process on a free port.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from sandbox.faults import FaultPlan, FaultRule, drift_json
from sandbox.world import World


@dataclass
class Request:
    """A parsed request, as platform apps see it (path relative to the app's prefix)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base_url: str  # scheme://host:port/<prefix>, for building paging links

    def param(self, name: str, default: str | None = None) -> str | None:
        """One query parameter."""
        return self.query.get(name, default)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
        """A JSON response with compact output (byte-identical for identical data, keys in insertion order)."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return cls(status, body, {"Content-Type": "application/json; charset=UTF-8", **(headers or {})})


class PlatformApp(Protocol):
    """An emulated platform API mounted under ``prefix``."""

    prefix: str
    platform: str

    def handle(self, request: Request) -> Response:
        """Answer one request."""
        ...

    def fault_response(self, kind: str, request: Request) -> Response:
        """The platform's own way of saying ``kind`` (throttle, server_error, auth_expired)."""
        ...

    def not_found(self, request: Request) -> Response:
        """The platform's error envelope for an unknown path."""
        ...


@dataclass
class Clock:
    """The sandbox's idea of "today": data after it does not exist yet; recent days restate."""

    as_of: date


class SandboxServer:
    """Serve the world through every registered platform app on ``host:port`` (0 = free port)."""

    def __init__(
        self,
        world: World,
        *,
        apps: list[PlatformApp] | None = None,
        faults: FaultPlan | None = None,
        as_of: date | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        from sandbox.catalog import default_apps  # platform apps import this module's types

        self.world = world
        self.clock = Clock(as_of or world.config.end_date)
        self.faults = faults or FaultPlan()
        self.apps = apps if apps is not None else default_apps(world, self.clock)
        # Every request as (platform, path, query): tests and benchmarks read what clients asked.
        self.request_log: list[tuple[str, str, dict[str, str]]] = []
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the server."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def writes(self, platform: str | None = None) -> list[Any]:
        """Budget and status changes accepted by the emulated write endpoints (``sandbox.controls.Write``)."""
        return [w for app in self.apps if platform in (None, app.platform)
                for w in getattr(getattr(app, "controls", None), "writes", [])]

    def url_for(self, platform: str) -> str:
        """Base URL of one platform's emulation, e.g. ``http://127.0.0.1:8731/meta``."""
        app = next(a for a in self.apps if a.platform == platform)
        return f"{self.base_url}{app.prefix}"

    def start(self) -> SandboxServer:
        """Start serving in a daemon thread."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        self._httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def dispatch(self, request_line: tuple[str, str], headers: dict[str, str], body: bytes) -> Response:
        """Route one raw request to its app, applying the fault plan first."""
        method, target = request_line
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        app = next((a for a in self.apps if parts.path == a.prefix or parts.path.startswith(a.prefix + "/")), None)
        if app is None:
            return Response.json(404, {"error": {"message": f"no emulated platform at {parts.path}"}})
        request = Request(method, parts.path[len(app.prefix):] or "/", query, headers, body,
                          f"{self.base_url}{app.prefix}")
        self.request_log.append((app.platform, request.path, query))
        fault = self.faults.take(app.platform, request.path, request.method)
        if fault is None:
            return app.handle(request)
        if fault.kind in ("slow", "timeout"):
            time.sleep(fault.delay_seconds)
            return app.handle(request)
        if fault.kind == "malformed":
            response = app.handle(request)
            return Response(200, response.body[: max(1, len(response.body) // 2)], response.headers)
        if fault.kind == "schema_drift":
            return _drifted(app.handle(request), fault)
        return app.fault_response(fault.kind, request)


def _drifted(response: Response, rule: FaultRule) -> Response:
    """The response with a field renamed or added: JSON records, or a CSV header."""
    content_type = response.headers.get("Content-Type", "")
    if "json" in content_type:
        payload = drift_json(json.loads(response.body), rule)
        return Response.json(response.status, payload, {k: v for k, v in response.headers.items()
                                                        if k != "Content-Type"})
    if "csv" in content_type:
        header, _, rest = response.body.partition(b"\n")
        for old, new in rule.rename.items():
            header = header.replace(old.encode(), new.encode())
        return Response(response.status, header + b"\n" + rest, response.headers)
    return response


def _handler_for(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                response = server.dispatch((self.command, self.path), headers, body)
            except Exception as exc:  # an emulation bug must look like a server error, not a dropped line
                response = Response.json(500, {"error": {"message": f"sandbox error: {type(exc).__name__}"}})
            self.send_response(response.status)
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server's naming

        def log_message(self, format: str, *args: object) -> None:
            return  # request logs would drown the demo's output

    return Handler
