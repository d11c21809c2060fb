"""The world's events pushed to a real receiver: signed, at least once, consistent with the truth."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest

from sandbox import signing
from sandbox.emission import world_deliveries
from sandbox.journeys import CONVERSION_TYPES, conversion_ids
from sandbox.webhooks import WebhookEmitter, WebhookSecrets
from sandbox.world import World, WorldConfig

DAYS = 15


@pytest.fixture(scope="module")
def small_world() -> World:
    return World(WorldConfig(seed=21, scale=0.1))


class _Receiver:
    """Verifies every provider's signature the way adlake's receiver must, and records what arrived."""

    def __init__(self, secrets: WebhookSecrets) -> None:
        self.secrets = secrets
        self.received: list[tuple[str, bytes, dict[str, str]]] = []
        self.rejected = 0
        self.lock = threading.Lock()

    def verify(self, path: str, body: bytes, headers: dict[str, str], url: str) -> bool:
        s = self.secrets
        h = {k.lower(): v for k, v in headers.items()}
        if path == "/webhooks/sendgrid":
            signature = h.get(signing.SENDGRID_SIGNATURE_HEADER.lower())
            return signing.verify_sendgrid(s.sendgrid_public_key, body, signature,
                                           h.get(signing.SENDGRID_TIMESTAMP_HEADER.lower()))
        if path == "/webhooks/twilio":
            return signing.verify_twilio(s.twilio_auth_token, url, parse_qsl(body.decode(), keep_blank_values=True),
                                         h.get(signing.TWILIO_SIGNATURE_HEADER.lower()))
        if path == "/webhooks/meta":
            return signing.verify_meta(s.meta_app_secret, body, h.get(signing.META_SIGNATURE_HEADER.lower()))
        if path == "/events":
            return signing.verify_standard(s.standard_secrets, h.get("webhook-id"), h.get("webhook-timestamp"),
                                           h.get("webhook-signature"), body)
        if path == "/webhooks/appsflyer":
            return signing.verify_token(s.appsflyer_token, h.get(signing.APPSFLYER_TOKEN_HEADER.lower()))
        if path == "/webhooks/adjust":
            return signing.verify_adjust(dict(parse_qsl(urlsplit(url).query)), s.adjust_token)
        return False


@pytest.fixture
def receiver(small_world: World) -> Iterator[tuple[_Receiver, str]]:
    state = _Receiver(WebhookSecrets.from_seed(small_world.config.seed))

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            url = f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"
            path = urlsplit(self.path).path
            ok = state.verify(path, body, dict(self.headers), url)
            with state.lock:
                if ok:
                    state.received.append((path, body, dict(self.headers)))
                else:
                    state.rejected += 1
            self.send_response(200 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _serve  # noqa: N815

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_every_delivery_arrives_signed_and_at_least_once(small_world: World, receiver) -> None:
    state, url = receiver
    deliveries = world_deliveries(small_world, last_days=DAYS)
    assert {d.provider for d in deliveries} == {"standard", "sendgrid", "twilio", "meta", "appsflyer", "adjust"}
    with WebhookEmitter(url, WebhookSecrets.from_seed(small_world.config.seed), seed=3, duplicate_rate=0.2,
                        backoff_seconds=0.01) as emitter:
        log = emitter.send(deliveries)
    assert state.rejected == 0
    assert log.acknowledged() == {d.key for d in deliveries}
    assert len(state.received) > len(deliveries)  # duplicates arrived too
    assert log.duplicates()


def test_pixel_and_server_events_match_the_truth(small_world: World, receiver) -> None:
    state, url = receiver
    with WebhookEmitter(url, WebhookSecrets.from_seed(small_world.config.seed), seed=3, duplicate_rate=0.0,
                        backoff_seconds=0.01) as emitter:
        emitter.send([d for d in world_deliveries(small_world, last_days=DAYS) if d.provider == "standard"])
    events = [json.loads(body) for path, body, _ in state.received if path == "/events"]
    by_source = Counter((e["source"], e["event_name"]) for e in events)
    c = small_world.journeys.conversions
    recent = c["day"] >= small_world.config.days - DAYS
    web = recent & (c["kind"] == CONVERSION_TYPES.index("web_purchase"))
    assert by_source[("web", "Purchase")] == int((web & c["pixel_reported"]).sum())
    server_purchases = recent & c["server_reported"]
    assert by_source[("server", "Purchase")] == int(server_purchases.sum())
    ids = np.array(conversion_ids(c), dtype=object)
    shared = {f"order-{i}" for i in ids[web & c["pixel_reported"]]}
    web_ids = {e["event_id"] for e in events if e["source"] == "web" and e["event_name"] == "Purchase"}
    server_ids = {e["event_id"] for e in events if e["source"] == "server"}
    assert web_ids == shared and shared <= server_ids
