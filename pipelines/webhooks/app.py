"""The ASGI receiver: one endpoint per provider, signatures checked on the raw bytes before any
parsing, and a 200 only once the delivery is in the fsync'd journal.

Answers: 200 accepted (also for a duplicate: it stops redelivery), 400 malformed (journaled as a
quarantine record when the signature was good), 401 bad or missing signature (generic body),
403 failed Meta handshake, 405 wrong method, 413 too large, 429 over the provider's rate,
503 when the journal cannot be written (nothing was stored, so the provider must retry).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from pipelines.webhooks import signatures as sig
from pipelines.webhooks.journal import Buffer
from pipelines.webhooks.metrics import Metrics
from pipelines.webhooks.providers import PayloadError, parse
from pipelines.webhooks.settings import ReceiverSettings

access_log = logging.getLogger("adlake.webhooks.access")
log = logging.getLogger("adlake.webhooks")

# Headers worth keeping with a delivery; signature and token headers are never stored.
KEPT_HEADERS = ("content-type", "user-agent", "webhook-id", "webhook-timestamp",
                sig.SENDGRID_TIMESTAMP_HEADER.lower(), "i-twilio-idempotency-token")
UNAUTHORIZED = {"error": "unauthorized"}


@dataclass
class TokenBucket:
    """Requests per second per provider, with a one-second burst."""

    rate: float
    tokens: float = 0.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.rate

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class TooLargeError(Exception):
    """The body is over the configured limit."""


@dataclass
class Delivery:
    """A request as the receiver keeps it: raw body, the fields that were signed, no secrets."""

    provider: str
    body: bytes
    params: list[tuple[str, str]]
    message_id: str | None
    headers: dict[str, str]


class Receiver:
    """The receiver's state: settings, the journal, metrics, rate limits and loaded keys."""

    def __init__(self, settings: ReceiverSettings, buffer: Buffer, metrics: Metrics | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.buffer = buffer
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.buckets = {provider: TokenBucket(settings.rate_per_second) for provider in settings.secrets}
        # Parsed once: a DER parse per request would cost more than the signature check itself.
        self.sendgrid_keys = [key for key in (sig.load_sendgrid_public_key(k) for k in settings.secrets["sendgrid"])
                              if key is not None]

    # -- signature checks, one per provider ------------------------------------------------------
    def verified(self, provider: str, request: Request, body: bytes) -> bool:
        secrets = self.settings.secrets.get(provider, ())
        headers = request.headers
        now = self.clock()
        tolerance = self.settings.tolerance_seconds
        if provider == "sendgrid":
            return any(sig.verify_sendgrid(key, body, headers.get(sig.SENDGRID_SIGNATURE_HEADER),
                                           headers.get(sig.SENDGRID_TIMESTAMP_HEADER), now=now, tolerance=tolerance)
                       for key in self.sendgrid_keys)
        if provider == "twilio":
            url = self.public_url(request)
            params = sig.twilio_params(body) if _is_form(request) else []
            return any(sig.verify_twilio(token, url, params, headers.get(sig.TWILIO_SIGNATURE_HEADER), body=body)
                       for token in secrets)
        if provider == "meta":
            return any(sig.verify_meta(secret, body, headers.get(sig.META_SIGNATURE_HEADER)) for secret in secrets)
        if provider == "appsflyer":
            presented = request.path_params.get("token") or headers.get(sig.APPSFLYER_TOKEN_HEADER)
            return any(sig.verify_token(secret, presented) for secret in secrets)
        if provider == "adjust":
            return any(sig.verify_adjust(dict(request.query_params), secret) for secret in secrets)
        if provider == "events":
            return bool(secrets) and sig.verify_standard(
                list(secrets), headers.get(sig.STANDARD_ID_HEADER), headers.get(sig.STANDARD_TIMESTAMP_HEADER),
                headers.get(sig.STANDARD_SIGNATURE_HEADER), body, now=now, tolerance=tolerance)
        return False

    def public_url(self, request: Request) -> str:
        """The URL the provider called: the configured public base (behind a TLS proxy) plus path and query."""
        if not self.settings.public_base_url:
            return str(request.url)
        query = request.url.query
        return self.settings.public_base_url + request.url.path + (f"?{query}" if query else "")

    # -- the request path ------------------------------------------------------------------------
    async def receive(self, provider: str, request: Request) -> Response:
        started = time.perf_counter()
        events = 0
        try:
            response, events = await self._receive(provider, request)
        except Exception:  # a bug must not leak a traceback or a body to the caller or the log
            log.exception("webhooks: %s: unexpected error", provider)
            self.metrics.requests.labels(provider, "error").inc()
            response = JSONResponse({"error": "internal error"}, status_code=500)
        elapsed = time.perf_counter() - started
        self.metrics.duration.labels(provider).observe(elapsed)
        access_log.info(json.dumps({"method": request.method, "route": _route(request), "status": response.status_code,
                                    "provider": provider, "ms": round(elapsed * 1000, 2), "events": events,
                                    "client": request.client.host if request.client else None}))
        return response

    async def _receive(self, provider: str, request: Request) -> tuple[Response, int]:
        if not self.buckets[provider].take():
            return self._reject(provider, "rate_limited", 429, {"error": "rate limited"}, {"Retry-After": "1"}), 0
        try:
            body = await _read_body(request, self.settings.max_body_bytes)
        except TooLargeError:
            return self._reject(provider, "too_large", 413, {"error": "payload too large"}), 0
        if not self.verified(provider, request, body):
            self.metrics.signature_failures.labels(provider).inc()
            return self._reject(provider, "bad_signature", 401, UNAUTHORIZED), 0
        delivery = _delivery(provider, request, body)
        try:
            events, rejected = parse(provider, body, delivery.params, delivery.message_id)
        except PayloadError as exc:
            if not await self._journal(delivery, quarantine=(exc.code, exc.detail)):
                return _unavailable(), 0
            self.metrics.requests.labels(provider, "quarantined").inc()
            self.metrics.quarantined.labels(provider, exc.code).inc()
            return JSONResponse({"error": "malformed payload", "reason": exc.code}, status_code=400), 0
        if not await self._journal(delivery):
            return _unavailable(), 0
        self.metrics.requests.labels(provider, "accepted").inc()
        self.metrics.received_events.labels(provider).inc(len(events))
        for item in rejected:
            self.metrics.quarantined.labels(provider, item.code).inc()
        return JSONResponse({"status": "ok", "events": len(events)}), len(events)

    async def _journal(self, delivery: Delivery, quarantine: tuple[str, str] | None = None) -> bool:
        entry: dict[str, Any] = {
            "receipt_id": uuid.uuid4().hex, "provider": delivery.provider, "received_at": self.clock(),
            "body": base64.b64encode(delivery.body).decode("ascii"), "params": delivery.params,
            "message_id": delivery.message_id, "headers": delivery.headers, "signature": "valid",
        }
        if quarantine is not None:
            entry["quarantine"] = list(quarantine)
        try:
            await self.buffer.append(json.dumps(entry, separators=(",", ":")).encode())
        except OSError as exc:
            log.error("webhooks: %s: the journal cannot be written (%s); answering 503", delivery.provider,
                      type(exc).__name__)
            self.metrics.requests.labels(delivery.provider, "unavailable").inc()
            return False
        return True

    def _reject(self, provider: str, reason: str, status: int, body: dict[str, str],
                headers: dict[str, str] | None = None) -> Response:
        self.metrics.requests.labels(provider, "throttled" if status == 429 else "rejected").inc()
        self.metrics.rejected.labels(provider, reason).inc()
        return JSONResponse(body, status_code=status, headers=headers)

    async def meta_handshake(self, request: Request) -> Response:
        challenge = sig.meta_handshake(dict(request.query_params), self.settings.meta_verify_token)
        if challenge is None:
            self.metrics.rejected.labels("meta", "bad_verify_token").inc()
            return PlainTextResponse("forbidden", status_code=403)
        return PlainTextResponse(challenge)


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == sig.FORM_CONTENT_TYPE


def _route(request: Request) -> str:
    """The route template, never the raw path (an AppsFlyer path, an Adjust query carries a token)."""
    route = request.scope.get("route")
    return getattr(route, "path", "?")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLargeError
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def _delivery(provider: str, request: Request, body: bytes) -> Delivery:
    params: list[tuple[str, str]] = []
    if provider == "twilio" and _is_form(request):
        params = sig.twilio_params(body)
    elif provider == "adjust":
        params = [(k, v) for k, v in request.query_params.multi_items() if k != sig.ADJUST_TOKEN_PARAM]
    headers = {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers}
    return Delivery(provider, body, params, request.headers.get(sig.STANDARD_ID_HEADER), headers)


def _unavailable() -> Response:
    return JSONResponse({"error": "temporarily unavailable"}, status_code=503, headers={"Retry-After": "5"})


def create_app(receiver: Receiver) -> Starlette:
    """The ASGI application. The journal's age-based sealing runs as a background task."""

    def endpoint(provider: str) -> Callable[[Request], Any]:
        async def handle(request: Request) -> Response:
            if provider == "meta" and request.method == "GET":
                return await receiver.meta_handshake(request)
            return await receiver.receive(provider, request)

        return handle

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics(_: Request) -> Response:
        return Response(receiver.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async def seal_when_due() -> None:
            while True:
                await asyncio.sleep(min(0.25, receiver.settings.segment_seconds / 2))
                receiver.buffer.rotate_if_due()
                receiver.metrics.depth.set(receiver.buffer.pending())

        task = asyncio.create_task(seal_when_due())
        try:
            yield
        finally:
            task.cancel()
            await receiver.buffer.close()

    routes = [
        Route("/webhooks/sendgrid", endpoint("sendgrid"), methods=["POST"]),
        Route("/webhooks/twilio", endpoint("twilio"), methods=["POST"]),
        Route("/webhooks/meta", endpoint("meta"), methods=["GET", "POST"]),
        Route("/webhooks/appsflyer", endpoint("appsflyer"), methods=["POST"]),
        Route("/webhooks/appsflyer/{token}", endpoint("appsflyer"), methods=["POST"]),
        Route("/webhooks/adjust", endpoint("adjust"), methods=["GET"]),
        Route("/events", endpoint("events"), methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
