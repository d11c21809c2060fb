"""Property-based: whatever bytes, headers, form fields and queries arrive, every request ends as
accepted, rejected (with a reason) or quarantined; never a 5xx, never an uncaught exception.

Two strategies: unsigned garbage at every endpoint (rejections), and arbitrary bodies that carry a
valid signature (so they reach the parsers): those end as 200 or as 400 plus a quarantine row.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from pipelines.lake import RAW, Lake
from pipelines.webhooks.app import Receiver, create_app
from pipelines.webhooks.journal import Journal, JournalReader
from pipelines.webhooks.lander import Lander
from pipelines.webhooks.settings import ReceiverSettings
from sandbox import signing
from sandbox.webhooks import WebhookSecrets
from tests.webhooks.conftest import SEED, receiver_env

ENDPOINTS = [("POST", "/webhooks/sendgrid"), ("POST", "/webhooks/twilio"), ("GET", "/webhooks/meta"),
             ("POST", "/webhooks/meta"), ("POST", "/webhooks/appsflyer"), ("POST", "/webhooks/appsflyer/tok"),
             ("GET", "/webhooks/adjust"), ("POST", "/events")]
HEADER_NAMES = [signing.SENDGRID_SIGNATURE_HEADER, signing.SENDGRID_TIMESTAMP_HEADER, signing.TWILIO_SIGNATURE_HEADER,
                signing.META_SIGNATURE_HEADER, signing.STANDARD_ID_HEADER, signing.STANDARD_TIMESTAMP_HEADER,
                signing.STANDARD_SIGNATURE_HEADER, signing.APPSFLYER_TOKEN_HEADER, "Content-Type", "X-Other"]
ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
TEXT = st.text(max_size=40)
OUTCOMES = ("accepted", "rejected", "quarantined", "throttled")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])


@dataclass
class InProcess:
    receiver: Receiver
    app: Starlette


def make_receiver(tmp_path: Path, settings: ReceiverSettings | None = None) -> InProcess:
    """A receiver app for Starlette's test client (no socket), journaling under ``tmp_path``."""
    settings = settings or ReceiverSettings.from_env(receiver_env(
        WebhookSecrets.from_seed(SEED), "http://testserver", tmp_path / "journal", tmp_path / "lake"))
    journal = Journal(settings.journal_dir, segment_events=settings.segment_events,
                      segment_seconds=settings.segment_seconds)
    receiver = Receiver(settings, journal)
    return InProcess(receiver, create_app(receiver))


def _handled(receiver: Receiver) -> float:
    """Requests the receiver's handlers finished, by any outcome."""
    total = 0.0
    for metric in receiver.metrics.requests.collect():
        total += sum(s.value for s in metric.samples if s.name.endswith("_total"))
    return total


def test_garbage_at_every_endpoint_is_refused_cleanly(tmp_path: Path) -> None:
    app = make_receiver(tmp_path)
    with TestClient(app.app, raise_server_exceptions=True) as client:

        @FUZZ
        @given(endpoint=st.sampled_from(ENDPOINTS), method=st.sampled_from(["GET", "POST", "PUT", "DELETE", None]),
               body=st.binary(max_size=2048), headers=st.dictionaries(st.sampled_from(HEADER_NAMES), ASCII),
               query=st.lists(st.tuples(TEXT, TEXT), max_size=4))
        def check(endpoint: tuple[str, str], method: str | None, body: bytes, headers: dict[str, str],
                  query: list[tuple[str, str]]) -> None:
            verb, path = endpoint
            response = client.request(method or verb, path, content=body, headers=headers, params=query)
            assert response.status_code in (200, 400, 401, 403, 405, 413, 429), response.text
            if response.status_code == 401:
                assert response.json() == {"error": "unauthorized"}

        check()


def _signed(provider: str, secrets: WebhookSecrets, body: bytes, fields: list[tuple[str, str]], msg_id: str
            ) -> tuple[str, str, bytes, dict[str, str]]:
    now = int(time.time())
    if provider == "sendgrid":
        return "POST", "/webhooks/sendgrid", body, signing.sendgrid_headers(secrets.sendgrid_key, now, body)
    if provider == "twilio":
        form = urlencode(fields).encode()
        signature = signing.sign_twilio(secrets.twilio_auth_token, "http://testserver/webhooks/twilio",
                                        signing.twilio_params(form))
        return "POST", "/webhooks/twilio", form, {"Content-Type": signing.FORM_CONTENT_TYPE,
                                                   signing.TWILIO_SIGNATURE_HEADER: signature}
    if provider == "meta":
        return "POST", "/webhooks/meta", body, {signing.META_SIGNATURE_HEADER: signing.sign_meta(
            secrets.meta_app_secret, body)}
    if provider == "appsflyer":
        return "POST", "/webhooks/appsflyer", body, {signing.APPSFLYER_TOKEN_HEADER: secrets.appsflyer_token}
    if provider == "adjust":
        query = signing.adjust_callback_path("/webhooks/adjust", dict(fields), secrets.adjust_token)
        return "GET", query, b"", {}
    return "POST", "/events", body, signing.standard_headers(secrets.standard_secrets, msg_id or "m", now, body)


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                       max_leaves=12)
BODIES = st.binary(max_size=1024) | JSONISH.map(lambda v: json.dumps(v).encode()) | st.sampled_from([
    b'[{"sg_event_id":"a","event":"open","timestamp":1}]', b'{"object":"page","entry":[{"changes":[]}]}',
    b'{"appsflyer_id":"1","event_name":"x","event_time":"2026-09-01 00:00:00.000"}', b"", b"\xef\xbb\xbf[]"])


def test_signed_arbitrary_payloads_are_accepted_or_quarantined(lake: Lake, tmp_path: Path) -> None:
    app = make_receiver(tmp_path)
    secrets = WebhookSecrets.from_seed(SEED)
    statuses: list[int] = []
    with TestClient(app.app) as client:

        @FUZZ
        @given(provider=st.sampled_from(["sendgrid", "twilio", "meta", "appsflyer", "adjust", "events"]),
               body=BODIES, fields=st.lists(st.tuples(TEXT, TEXT), max_size=6), msg_id=ASCII)
        def check(provider: str, body: bytes, fields: list[tuple[str, str]], msg_id: str) -> None:
            before = _handled(app.receiver)
            method, path, content, headers = _signed(provider, secrets, body, fields, msg_id)
            response = client.request(method, path, content=content, headers=headers)
            assert response.status_code in (200, 400), (provider, response.status_code, response.text)
            assert _handled(app.receiver) == before + 1  # counted exactly once, under one outcome
            statuses.append(response.status_code)

        check()
    assert len(statuses) >= 100 and 200 in statuses and 400 in statuses

    # Every 400 is one quarantine row; the accepted ones land (the lander parses them the same way).
    Lander(lake, JournalReader(app.receiver.settings.journal_dir)).land_all()
    quarantined = [r for r in lake.load_table(RAW, "_quarantine").scan().to_arrow().to_pylist()
                   if r["source"] == "webhooks" and json.loads(r["raw_record"]).get("body") is not None]
    assert len(quarantined) == statuses.count(400)
