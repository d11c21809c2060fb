"""The receiver against the sandbox's emitter: genuine deliveries land once, forged ones are refused.

Expected event ids come from the sandbox's deliveries (their dedup keys follow the field notes),
never from the receiver's own parsing.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from pipelines.lake import RAW
from sandbox import signing
from sandbox.webhooks import (
    META_VERIFY_TOKEN,
    Delivery,
    WebhookEmitter,
    WebhookSecrets,
    sample_deliveries,
    sign_delivery,
)
from tests.webhooks.conftest import SEED, Running

# The sandbox calls the first-party provider by its scheme's name.
PROVIDER = {"standard": "events"}


def _expected(deliveries: list[Delivery]) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = defaultdict(set)
    for delivery in deliveries:
        keys[PROVIDER.get(delivery.provider, delivery.provider)].update(delivery.dedup_keys)
    return keys


def _send(running: Running, delivery: Delivery, *, timestamp: int | None = None) -> requests.Response:
    signed = sign_delivery(delivery, running.secrets, signing_url=running.url + delivery.path,
                           timestamp=int(time.time()) if timestamp is None else timestamp)
    return _request(running, signed)


def _request(running: Running, signed: Delivery) -> requests.Response:
    return requests.request(signed.method, running.url + signed.path, data=signed.body or None,
                            headers=dict(signed.headers), timeout=10)


def _one_per_provider() -> dict[str, Delivery]:
    return {d.provider: d for d in sample_deliveries(SEED, 1)}


def test_genuine_deliveries_are_accepted_and_land_once(receiver: Running, caplog: pytest.LogCaptureFixture) -> None:
    deliveries = sample_deliveries(SEED, 12)
    with caplog.at_level(logging.DEBUG, logger="adlake"), caplog.at_level(logging.DEBUG, logger="uvicorn"), \
            WebhookEmitter(receiver.url, receiver.secrets, seed=SEED, duplicate_rate=0.3,
                           backoff_seconds=0.01) as emitter:
        log = emitter.send(deliveries)
        path_token = [replace(d, key=d.key + ":path") for d in sample_deliveries(SEED + 1, 3)
                      if d.provider == "appsflyer"]
        emitter.appsflyer_token_in = "path"
        log_path = emitter.send(path_token)
    assert {a.status for a in log.attempts + log_path.attempts} == {200}
    assert log.duplicates(), "the emitter sent no duplicates: the test would prove nothing"
    receiver.stop_and_land()

    expected = _expected(deliveries + path_token)
    assert set(expected) == {"sendgrid", "twilio", "meta", "appsflyer", "adjust", "events"}
    for provider, keys in expected.items():
        ids = [row["event_id"] for row in receiver.landed(provider)]
        assert len(ids) == len(set(ids)), f"{provider}: an event landed twice"
        assert set(ids) == keys, provider
    landed = receiver.lake.load_table(RAW, "webhooks__sendgrid_events").scan().to_arrow().to_pylist()
    assert all(row["occurred_at"] is not None and json.loads(row["payload"])["sg_event_id"] == row["event_id"]
               for row in landed)

    # Secrets never reach the receiver's logs, its metrics, the journal or the lake (the emitter's own
    # HTTP client logs are the sender's business).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("adlake", "uvicorn")))
    assert '"route": "/webhooks/appsflyer/{token}"' in logged  # the access log names routes, not paths
    _assert_no_secret(receiver, logged + receiver.receiver.metrics.render().decode())


def _assert_no_secret(running: Running, text: str) -> None:
    secrets = [s for s in running.settings.secret_values() if s != running.secrets.sendgrid_public_key]
    secrets += [s.removeprefix("whsec_") for s in running.secrets.standard_secrets]
    assert secrets and not [s for s in secrets if s in text]
    for table in running.lake.table_names(RAW):
        content = str(running.lake.load_table(RAW, table).scan().to_arrow().to_pylist())
        assert not [s for s in secrets if s in content], table
    for path in [*Path(running.lake.settings.home).rglob("*"), *running.settings.journal_dir.rglob("*")]:
        if path.is_file() and path.suffix != ".parquet":
            data = path.read_bytes()
            assert not [s for s in secrets if s.encode() in data], path


def test_a_duplicate_delivery_is_stored_once(receiver: Running) -> None:
    delivery = _one_per_provider()["sendgrid"]
    assert [_send(receiver, delivery).status_code for _ in range(3)] == [200, 200, 200]
    receiver.stop_and_land()
    assert sorted(r["event_id"] for r in receiver.landed("sendgrid")) == sorted(delivery.dedup_keys)


@pytest.mark.parametrize("provider", ["sendgrid", "twilio", "meta", "standard", "appsflyer", "adjust"])
def test_a_changed_byte_in_body_signature_or_url_is_rejected(receiver: Running, provider: str) -> None:
    delivery = _one_per_provider()[provider]
    signed = sign_delivery(delivery, receiver.secrets, signing_url=receiver.url + delivery.path,
                           timestamp=int(time.time()))
    forged: list[Delivery] = []
    auth = {"sendgrid": signing.SENDGRID_SIGNATURE_HEADER, "twilio": signing.TWILIO_SIGNATURE_HEADER,
            "meta": signing.META_SIGNATURE_HEADER, "standard": signing.STANDARD_SIGNATURE_HEADER,
            "appsflyer": signing.APPSFLYER_TOKEN_HEADER}.get(provider)
    if auth is not None:  # the signature (or the token) with one character changed
        value = signed.headers[auth]
        forged.append(replace(signed, headers={**signed.headers, auth: _flip(value, len(value) // 2)}))
    if provider in ("sendgrid", "twilio", "meta", "standard"):  # signed bodies
        forged.append(replace(signed, body=_flip_byte(signed.body, len(signed.body) // 3)))
    if provider == "twilio":  # the signed URL
        forged.append(replace(signed, path=signed.path + "?extra=1"))
    if provider == "adjust":  # the token is in the URL
        base, _, query = signed.path.partition("token=")
        forged.append(replace(signed, path=base + "token=" + _flip(query, 3)))
    assert forged
    for request in forged:
        response = _request(receiver, request)
        assert response.status_code == 401, (provider, response.text)
        assert response.json() == {"error": "unauthorized"}  # generic: says nothing about why
    assert _request(receiver, signed).status_code == 200  # the genuine one still passes


def _flip(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1:]


def _flip_byte(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


@pytest.mark.parametrize("provider", ["sendgrid", "standard"])
def test_a_replay_outside_the_tolerance_is_rejected(receiver: Running, provider: str) -> None:
    delivery = _one_per_provider()[provider]
    stale = int(time.time()) - receiver.settings.tolerance_seconds - 60
    assert _send(receiver, delivery, timestamp=stale).status_code == 401
    assert _send(receiver, delivery, timestamp=int(time.time()) - 60).status_code == 200


def test_rotation_accepts_the_old_and_the_new_secret(lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.testclient import TestClient

    from pipelines.webhooks.settings import ReceiverSettings
    from tests.webhooks.test_properties import make_receiver

    old, new = WebhookSecrets.from_seed(1), WebhookSecrets.from_seed(2)
    receiver = make_receiver(tmp_path, ReceiverSettings.from_env({
        "ADLAKE_WEBHOOK_META_APP_SECRET": f"{old.meta_app_secret},{new.meta_app_secret}",
        "ADLAKE_WEBHOOK_JOURNAL_DIR": str(tmp_path / "journal")}))
    delivery = _one_per_provider()["meta"]
    with TestClient(receiver.app) as client:
        for secrets, status in ((old, 200), (new, 200), (WebhookSecrets.from_seed(3), 401)):
            signed = sign_delivery(delivery, secrets, signing_url="http://testserver/", timestamp=int(time.time()))
            assert client.post(signed.path, content=signed.body, headers=dict(signed.headers)).status_code == status


def test_meta_handshake_echoes_the_challenge_only_for_the_right_token(receiver: Running) -> None:
    ok = requests.get(f"{receiver.url}/webhooks/meta", params={"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                                               "hub.verify_token": META_VERIFY_TOKEN}, timeout=10)
    assert (ok.status_code, ok.text, ok.headers["content-type"].split(";")[0]) == (200, "1158201444", "text/plain")
    bad = requests.get(f"{receiver.url}/webhooks/meta", params={"hub.mode": "subscribe", "hub.challenge": "1",
                                                                "hub.verify_token": "guess"}, timeout=10)
    assert bad.status_code == 403 and "1" not in bad.text


def test_method_size_and_malformed_payloads(receiver: Running) -> None:
    assert requests.get(f"{receiver.url}/webhooks/sendgrid", timeout=10).status_code == 405
    assert requests.put(f"{receiver.url}/events", data=b"{}", timeout=10).status_code == 405
    huge = b"[" + b" " * receiver.settings.max_body_bytes + b"]"
    assert requests.post(f"{receiver.url}/webhooks/sendgrid", data=huge, timeout=10).status_code == 413

    # Correctly signed, but not what the provider sends: 400 and one quarantine row with the body.
    broken = replace(_one_per_provider()["meta"], body=b'{"object":"page","entry":')
    response = _send(receiver, broken)
    assert response.status_code == 400 and response.json()["reason"] == "malformed_json"
    receiver.stop_and_land()
    rows = [r for r in receiver.lake.load_table(RAW, "_quarantine").scan().to_arrow().to_pylist()
            if r["source"] == "webhooks"]
    assert [(r["stream"], r["reason_code"]) for r in rows] == [("meta", "malformed_json")]
    assert json.loads(rows[0]["raw_record"])["body"] == '{"object":"page","entry":'


def test_metrics_and_health(receiver: Running) -> None:
    assert requests.get(f"{receiver.url}/healthz", timeout=10).json() == {"status": "ok"}
    _send(receiver, _one_per_provider()["twilio"])
    text = requests.get(f"{receiver.url}/metrics", timeout=10).text
    assert 'webhook_requests_total{outcome="accepted",provider="twilio"} 1.0' in text
    deadline = time.monotonic() + 5  # the depth gauge is refreshed by the receiver's sealing loop
    while "webhook_buffer_depth 1.0" not in text and time.monotonic() < deadline:
        time.sleep(0.05)
        text = requests.get(f"{receiver.url}/metrics", timeout=10).text
    assert "webhook_buffer_depth 1.0" in text
    receiver.stop_and_land()
    assert receiver.receiver.buffer.pending() == 0
    assert "webhook_request_duration_seconds_bucket" in text


def test_meta_non_ascii_names_verify_on_the_raw_bytes(receiver: Running) -> None:
    from sandbox.webhooks import META_NAMES, meta_names_fixture

    delivery = meta_names_fixture()
    assert b"\\u" in delivery.body  # Meta escapes non-ASCII: a re-dumped body would not match
    assert _send(receiver, delivery).status_code == 200
    receiver.stop_and_land()
    rows = receiver.landed("meta")
    assert {r["event_id"] for r in rows} == set(delivery.dedup_keys)
    assert {json.loads(r["payload"])["value"].get("from", {}).get("name") for r in rows} - {None} == set(META_NAMES)


def test_twilio_behind_a_tls_proxy_checks_the_configured_public_url(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from pipelines.webhooks.settings import ReceiverSettings
    from tests.webhooks.conftest import receiver_env
    from tests.webhooks.test_properties import make_receiver

    secrets = WebhookSecrets.from_seed(SEED)
    public = "https://hooks.example.com"
    delivery = _one_per_provider()["twilio"]
    # Twilio signs the URL it called (the proxy's); the receiver sees http://testserver.
    signed = sign_delivery(delivery, secrets, signing_url=public + delivery.path, timestamp=int(time.time()))
    for configured, status in ((public, 200), ("", 401), (public + ":8443", 401)):
        env = receiver_env(secrets, configured, tmp_path / f"journal{status}{len(configured)}", tmp_path / "lake")
        app = make_receiver(tmp_path, ReceiverSettings.from_env(env))
        with TestClient(app.app) as client:
            response = client.post(signed.path, content=signed.body, headers=dict(signed.headers))
        assert response.status_code == status, configured
    # Twilio's validator also accepts the URL with the scheme's default port.
    env = receiver_env(secrets, public + ":443", tmp_path / "journal443", tmp_path / "lake")
    with TestClient(make_receiver(tmp_path, ReceiverSettings.from_env(env)).app) as client:
        assert client.post(signed.path, content=signed.body, headers=dict(signed.headers)).status_code == 200


def test_each_provider_is_rate_limited_on_its_own(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from pipelines.webhooks.settings import ReceiverSettings
    from tests.webhooks.conftest import receiver_env
    from tests.webhooks.test_properties import make_receiver

    secrets = WebhookSecrets.from_seed(SEED)
    env = receiver_env(secrets, "http://testserver", tmp_path / "journal", tmp_path / "lake")
    app = make_receiver(tmp_path, ReceiverSettings.from_env({**env, "ADLAKE_WEBHOOK_RATE_PER_SECOND": "5"}))
    meta = _one_per_provider()["meta"]
    signed = sign_delivery(meta, secrets, signing_url="http://testserver/", timestamp=int(time.time()))
    with TestClient(app.app) as client:
        statuses = [client.post(signed.path, content=signed.body, headers=dict(signed.headers))
                    for _ in range(12)]
        other = _one_per_provider()["sendgrid"]
        other_signed = sign_delivery(other, secrets, signing_url="http://testserver/", timestamp=int(time.time()))
        assert client.post(other_signed.path, content=other_signed.body,
                           headers=dict(other_signed.headers)).status_code == 200  # its own bucket
    codes = [r.status_code for r in statuses]
    assert codes.count(200) >= 5 and 429 in codes
    assert all(r.headers["Retry-After"] == "1" for r in statuses if r.status_code == 429)
