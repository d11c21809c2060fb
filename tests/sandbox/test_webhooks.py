"""Payload builders and the delivery engine, end to end against a real receiver in the test.

The receiver checks every signature with its own code (``hmac``/``hashlib`` and ``cryptography``),
not with ``sandbox.signing``, fails the first attempt of some deliveries with 500, and records
what arrived in which order.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sandbox import webhooks as wh
from sandbox.webhooks import Delivery, WebhookEmitter, WebhookSecrets

SEED = 11
SECRETS = WebhookSecrets.from_seed(SEED)
PUBLIC_BASE = "https://hooks.adlake.example"  # what Twilio is configured with, in front of a TLS proxy
AT = datetime(2026, 9, 3, 10, 15, 30, 250_000, tzinfo=UTC)


# -- independent verification (the receiver's side) ----------------------------------------------


def _strip_token(path: str) -> str:
    base, _, query = path.partition("?")
    kept = [p for p in query.split("&") if p and not p.startswith("token=")]
    return f"{base}?{'&'.join(kept)}" if kept else base


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What identifies a delivery at the receiver, independent of its per-attempt authentication."""
    return hashlib.sha256(method.encode() + b" " + _strip_token(path).encode() + b"\n" + body).hexdigest()


def authentic(method: str, path: str, headers: dict[str, str], body: bytes, public_base: str) -> bool:
    """Verify a request as each provider's documentation describes, without sandbox.signing."""
    route = urlsplit(path).path
    if route == wh.SENDGRID_PATH:
        key = serialization.load_der_public_key(base64.b64decode(SECRETS.sendgrid_public_key))
        assert isinstance(key, ec.EllipticCurvePublicKey)
        timestamp = headers["x-twilio-email-event-webhook-timestamp"]
        try:
            key.verify(base64.b64decode(headers["x-twilio-email-event-webhook-signature"]),
                       timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True
    if route == wh.TWILIO_PATH:
        data = public_base + path + "".join(k + v for k, v in sorted(parse_qsl(body.decode(), keep_blank_values=True)))
        mac = hmac.new(SECRETS.twilio_auth_token.encode(), data.encode(), hashlib.sha1).digest()
        return hmac.compare_digest(base64.b64encode(mac).decode(), headers["x-twilio-signature"])
    if route == wh.META_PATH:
        expected = "sha256=" + hmac.new(SECRETS.meta_app_secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers["x-hub-signature-256"])
    if route == wh.EVENTS_PATH:
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        macs = {base64.b64encode(hmac.new(base64.b64decode(s[6:]), signed, hashlib.sha256).digest()).decode()
                for s in SECRETS.standard_secrets}
        return any(v == "v1" and sig in macs for v, _, sig in
                   (p.partition(",") for p in headers["webhook-signature"].split(" ")))
    if route == wh.APPSFLYER_PATH:
        return hmac.compare_digest(headers.get("x-adlake-push-token", ""), SECRETS.appsflyer_token)
    if route.startswith(wh.APPSFLYER_PATH + "/"):
        return hmac.compare_digest(route.rsplit("/", 1)[1], SECRETS.appsflyer_token)
    if route == wh.ADJUST_PATH:
        return parse_qs(urlsplit(path).query).get("token") == [SECRETS.adjust_token]
    return False


class Receiver:
    """A loopback webhook receiver: verifies, optionally fails first attempts, records arrivals."""

    def __init__(self, public_base: str | None = None, *, fail_first: Callable[[str, str], bool] | None = None,
                 status_for: Callable[[str], int] | None = None) -> None:
        self.public_base = public_base
        self.fail_first = fail_first or (lambda _fp, _route: False)
        self.status_for = status_for
        self.arrivals: list[tuple[str, int]] = []  # (fingerprint, status answered)
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # A short poll interval keeps shutdown (and so each test) quick.
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        fp = fingerprint(method, path, body)
        route = urlsplit(path).path
        with self.lock:
            first = all(seen != fp for seen, _ in self.arrivals)
            if not authentic(method, path, headers, body, self.public_base or self.base_url):
                status = 401
            elif self.status_for is not None:
                status = self.status_for(route)
            else:
                status = 500 if first and self.fail_first(fp, route) else 200
            self.arrivals.append((fp, status))
        return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                self.send_response(receiver._answer(self.command, self.path, headers, body))
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _serve  # noqa: N815 - http.server's naming

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(PUBLIC_BASE, fail_first=lambda fp, route: route != wh.APPSFLYER_PATH and int(fp, 16) % 4 == 0) as r:
        yield r


def emitter(base_url: str, *, seed: int = SEED, waits: list[float] | None = None, **kwargs: object) -> WebhookEmitter:
    sleeps = waits if waits is not None else []
    options: dict = {"public_base_url": PUBLIC_BASE, "backoff_seconds": 0.05, "sleep": sleeps.append, **kwargs}
    return WebhookEmitter(base_url, SECRETS, seed=seed, **options)


def by_fingerprint(deliveries: list[Delivery]) -> dict[str, str]:
    return {fingerprint(d.method, d.path, d.body): d.key for d in deliveries}


# -- builders -------------------------------------------------------------------------------------


def test_sendgrid_batch_shape_and_dedup_keys() -> None:
    events = [
        wh.SendGridEvent("delivered", "ana@example.org", 1714740000, "ZGVsLTEyMzQ", "m1.f01", response="250 OK"),
        wh.SendGridEvent("click", "ana@example.org", 1714740321, "Y2xrLTU2Nzg", "m1.f01",
                         url="https://shop.example/p/1", category=("a", "b")),
        wh.SendGridEvent("bounce", "bo@example.org", 1714740400, "Ym91bmNl", "m2.f01", reason="550 no such user",
                         status="5.1.1", bounce_type="bounce"),
    ]
    delivery = wh.sendgrid_delivery(events)
    assert (delivery.method, delivery.path, delivery.headers["Content-Type"]) == ("POST", "/webhooks/sendgrid",
                                                                                   "application/json")
    assert delivery.body.endswith(b"]\r\n")
    payload = json.loads(delivery.body)
    assert [e["event"] for e in payload] == ["delivered", "click", "bounce"]
    assert payload[0] == {"email": "ana@example.org", "timestamp": 1714740000, "event": "delivered",
                          "sg_event_id": "ZGVsLTEyMzQ", "sg_message_id": "m1.f01", "response": "250 OK"}
    assert payload[1]["url"] == "https://shop.example/p/1" and payload[1]["category"] == ["a", "b"]
    assert payload[2]["type"] == "bounce" and payload[2]["status"] == "5.1.1"
    assert delivery.dedup_keys == ("ZGVsLTEyMzQ", "Y2xrLTU2Nzg", "Ym91bmNl")


def test_twilio_status_callback_form() -> None:
    failed = wh.twilio_delivery(wh.TwilioStatus("SM0a1b2c", "AC9f8e", "+48500100200", "+48600300400", "failed",
                                                error_code=30006))
    fields = dict(parse_qsl(failed.body.decode()))
    assert failed.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert fields == {"ErrorCode": "30006", "SmsSid": "SM0a1b2c", "SmsStatus": "failed", "MessageStatus": "failed",
                      "To": "+48600300400", "MessageSid": "SM0a1b2c", "AccountSid": "AC9f8e",
                      "From": "+48500100200", "ApiVersion": "2010-04-01"}
    assert b"%2B48500100200" in failed.body
    assert failed.dedup_key == "SM0a1b2c:failed"
    sent = wh.twilio_delivery(wh.TwilioStatus("SM0a1b2c", "AC9f8e", "+48500100200", "+48600300400", "sent"))
    assert "ErrorCode" not in dict(parse_qsl(sent.body.decode()))
    assert sent.key != failed.key


def test_meta_leadgen_shape_and_dedup() -> None:
    lead = wh.MetaLead("444444444444", "111", "222", "333", "555", 1788249595)
    comment = wh.MetaChange("111", "feed", {"from": {"name": "Begoña"}, "item": "comment"})
    other_page = wh.MetaLead("444444444445", "999", "222", "333", "555", 1788249596)
    delivery = wh.meta_delivery([lead, comment, other_page], time=1788249600)
    payload = json.loads(delivery.body)
    assert payload["object"] == "page"
    assert [(e["id"], e["time"], len(e["changes"])) for e in payload["entry"]] == [("111", 1788249600, 2),
                                                                                  ("999", 1788249600, 1)]
    assert payload["entry"][0]["changes"][0] == {"field": "leadgen", "value": {
        "ad_id": "333", "form_id": "222", "leadgen_id": "444444444444", "created_time": 1788249595,
        "page_id": "111", "adgroup_id": "555"}}
    canonical = json.dumps(comment.value(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    content_hash = hashlib.sha256(f"page|111|1788249600|feed|{canonical}".encode()).hexdigest()
    assert delivery.dedup_keys == ("444444444444", content_hash, "444444444445")
    assert b"Bego\\u00f1a" in delivery.body and delivery.body.isascii()


def test_appsflyer_push_fields() -> None:
    event = wh.AppsFlyerEvent("1714700000000-5550001", "af_purchase", AT, "com.nordlys.home", "android",
                              media_source="googleadwords_int", campaign="app_pl_spring", af_c_id="881234",
                              event_value={"af_revenue": "59.90"}, event_revenue="59.90",
                              event_revenue_currency="PLN")
    delivery = wh.appsflyer_delivery(event)
    payload = json.loads(delivery.body)
    assert payload["event_time"] == "2026-09-03 10:15:30.250"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", payload["event_time"])
    assert json.loads(payload["event_value"]) == {"af_revenue": "59.90"}  # a JSON string, as in raw data
    assert "customer_user_id" not in payload and "install_time" not in payload  # blank keys omitted
    assert payload["is_retargeting"] is False and payload["conversion_type"] == "install"
    fields = ("1714700000000-5550001", "af_purchase", "2026-09-03 10:15:30.250", '{"af_revenue":"59.90"}', "install")
    expected = hashlib.sha256("|".join(fields).encode()).hexdigest()
    assert delivery.dedup_keys == (expected,)


def test_adjust_callback_get() -> None:
    callback = wh.AdjustCallback("event", 1788430530, "a1b2", "Google Ads UAC", "Spring PL", "Broad", "Video 15s",
                                 gps_adid="38400000-8cf0-11bd-b23e-10b96e40000d", event="abc123",
                                 revenue_float="9.99", currency="PLN")
    delivery = wh.adjust_delivery(callback)
    assert delivery.method == "GET" and delivery.body == b""
    assert delivery.path.startswith("/webhooks/adjust?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(delivery.path).query).items()}
    assert query == {"adid": "a1b2", "gps_adid": "38400000-8cf0-11bd-b23e-10b96e40000d", "activity_kind": "event",
                     "created_at": "1788430530", "tracker_name": "Google Ads UAC::Spring PL::Broad::Video 15s",
                     "event_token": "abc123", "revenue": "9.99", "currency": "PLN"}  # idfa, installed_at: empty
    assert delivery.dedup_key == hashlib.sha256(b"event|1788430530|a1b2").hexdigest()


def test_first_party_event_fields() -> None:
    event = wh.FirstPartyEvent("evt_1", "purchase", AT, "server", page_url="https://shop.example/p/1",
                               utm={"utm_source": "google", "utm_medium": "cpc"}, click_ids={"gclid": "Cj0KCQ"},
                               identifiers={"anonymous_id": "a1", "user_id": ""}, ad_user_data="granted",
                               value=Decimal("59.90"), currency="PLN")
    delivery = wh.first_party_delivery(event)
    payload = json.loads(delivery.body)
    # The server event and the pixel event of one purchase share event_id, not the delivery id.
    assert (delivery.path, delivery.headers["webhook-id"], delivery.dedup_key) == (
        "/events", "server:evt_1", "server:evt_1")
    assert payload == {"event_id": "evt_1", "event_name": "purchase", "timestamp": "2026-09-03T10:15:30.250Z",
                       "source": "server", "page_url": "https://shop.example/p/1", "utm_source": "google",
                       "utm_medium": "cpc", "gclid": "Cj0KCQ", "identifiers": {"anonymous_id": "a1"},
                       "consent": {"ad_user_data": "granted", "ad_personalization": "denied"},
                       "value": 59.9, "currency": "PLN"}


def test_sample_deliveries_are_deterministic_and_cover_every_provider() -> None:
    first, again, other = wh.sample_deliveries(SEED, 4), wh.sample_deliveries(SEED, 4), wh.sample_deliveries(12, 4)
    assert first == again
    assert [d.body for d in first] != [d.body for d in other]
    assert Counter(d.provider for d in first) == {"sendgrid": 4, "twilio": 8, "meta": 4, "appsflyer": 4,
                                                  "adjust": 4, "standard": 4}
    assert len({d.key for d in first}) == len(first)


def test_signed_deliveries_verify_independently() -> None:
    for delivery in [*wh.sample_deliveries(SEED, 3), wh.meta_names_fixture()]:
        signed = wh.sign_delivery(delivery, SECRETS, signing_url=PUBLIC_BASE + delivery.path, timestamp=1788430530)
        headers = {k.lower(): v for k, v in signed.headers.items()}
        assert authentic(signed.method, signed.path, headers, signed.body, PUBLIC_BASE), delivery.provider
        if delivery.provider == "twilio":  # signed for the public URL, so the loopback URL must not verify
            assert not authentic(signed.method, signed.path, headers, signed.body, "http://127.0.0.1:8080")
        if delivery.provider == "meta":
            tampered = signed.body.replace(b"\\u00e9", b"\\u00c9") if b"\\u00e9" in signed.body else signed.body + b" "
            assert not authentic(signed.method, signed.path, headers, tampered, PUBLIC_BASE)
    path_mode = wh.sign_delivery(wh.sample_deliveries(SEED, 1)[3], SECRETS, signing_url="", timestamp=0,
                                 appsflyer_token_in="path")
    assert path_mode.path == f"/webhooks/appsflyer/{SECRETS.appsflyer_token}"
    assert authentic("POST", path_mode.path, {}, path_mode.body, PUBLIC_BASE)


def test_secrets_never_show_in_repr() -> None:
    text = repr(SECRETS)
    for secret in (SECRETS.twilio_auth_token, SECRETS.meta_app_secret, SECRETS.appsflyer_token,
                   SECRETS.adjust_token, *SECRETS.standard_secrets):
        assert secret not in text


# -- emitter: deterministic choices ---------------------------------------------------------------


def test_send_order_is_a_seeded_windowed_shuffle() -> None:
    deliveries = wh.sample_deliveries(SEED, 6)
    order = emitter("http://unused").send_order(deliveries)
    assert order == emitter("http://unused").send_order(deliveries)
    assert order != deliveries and sorted(d.key for d in order) == sorted(d.key for d in deliveries)
    assert order != emitter("http://unused", seed=SEED + 1).send_order(deliveries)
    positions = {d.key: i for i, d in enumerate(deliveries)}
    assert all(abs(positions[d.key] - i) < 8 for i, d in enumerate(order))  # never leaves its window
    assert emitter("http://unused", reorder_window=1).send_order(deliveries) == deliveries


def test_backoff_follows_provider_rules() -> None:
    e = emitter("http://unused", backoff_seconds=1.0, max_backoff_seconds=10.0)
    meta, sendgrid = wh.meta_names_fixture(), wh.sample_deliveries(SEED, 1)[0]
    assert e.backoff(meta, 1, False) == 0.0  # Meta retries at once first
    assert 1.0 <= e.backoff(meta, 2, False) <= 3.0
    delays = [e.backoff(sendgrid, n, False) for n in range(1, 6)]
    assert [0.5 * 2 ** (n - 1) <= d <= min(1.5 * 2 ** (n - 1), 10.0) for n, d in enumerate(delays, 1)] == [True] * 5
    twin = emitter("http://unused", backoff_seconds=1.0, max_backoff_seconds=10.0)
    assert delays == [twin.backoff(sendgrid, n, False) for n in range(1, 6)]
    assert e.backoff(sendgrid, 1, False, retry_after=3.0) == 3.0
    assert e.backoff(sendgrid, 1, False, retry_after=3600.0) == 10.0


# -- emitter against a real receiver --------------------------------------------------------------


def test_end_to_end_retries_duplicates_reordering_and_determinism(receiver: Receiver) -> None:
    deliveries = wh.sample_deliveries(SEED, 25)
    keys = {fp: key for fp, key in by_fingerprint(deliveries).items()}
    rate = 0.2
    waits: list[float] = []
    log = emitter(receiver.base_url, duplicate_rate=rate, waits=waits).send(deliveries)
    arrivals = list(receiver.arrivals)

    # Every request carried a valid signature, token or HMAC, for its provider.
    assert all(status != 401 for _, status in arrivals)
    # Every delivery was eventually acknowledged, in the log and at the receiver.
    assert log.acknowledged() == {d.key for d in deliveries} and not log.dropped()
    assert {keys[fp] for fp, status in arrivals if status == 200} == {d.key for d in deliveries}
    # Some first attempts failed with 500 and were retried after a backoff.
    failed = {keys[fp] for fp, status in arrivals if status == 500}
    assert len(failed) >= 10
    assert {a.key for a in log.attempts if a.attempt == 2 and not a.duplicate} == failed
    assert any(w > 0 for w in waits)
    # Duplicates of acknowledged deliveries arrive at about the configured rate (deterministic per seed).
    eligible = [d for d in deliveries if d.provider != "appsflyer"]
    acks = Counter(keys[fp] for fp, status in arrivals if status == 200)
    duplicated = {key for key, n in acks.items() if n > 1}
    assert duplicated == log.duplicates()
    assert 0.5 * rate <= len(duplicated) / len(eligible) <= 1.6 * rate
    assert not any(d.provider == "appsflyer" for d in deliveries if d.key in duplicated)
    # Arrival order differs from send order.
    first_arrival = list(dict.fromkeys(keys[fp] for fp, _ in arrivals))
    assert sorted(first_arrival) == sorted(d.key for d in deliveries)
    assert first_arrival != [d.key for d in deliveries]

    # The same seed gives the same schedule; another seed does not.
    receiver.arrivals.clear()
    again = emitter(receiver.base_url, duplicate_rate=rate).send(deliveries)
    assert again.schedule() == log.schedule()
    assert [fp for fp, _ in receiver.arrivals] == [fp for fp, _ in arrivals]
    receiver.arrivals.clear()
    other = emitter(receiver.base_url, seed=SEED + 1, duplicate_rate=rate).send(deliveries)
    assert other.acknowledged() == log.acknowledged()
    assert other.schedule() != log.schedule()


def test_twilio_signature_uses_the_configured_public_url() -> None:
    twilio = [d for d in wh.sample_deliveries(SEED, 2) if d.provider == "twilio"]
    with Receiver(PUBLIC_BASE) as behind_proxy:
        log = emitter(behind_proxy.base_url, public_base_url=None, duplicate_rate=0.0, max_attempts=1).send(twilio)
        assert {a.status for a in log.attempts} == {401}  # signed for the loopback URL, checked for the public one
        log = emitter(behind_proxy.base_url, duplicate_rate=0.0, max_attempts=1).send(twilio)
        assert {a.status for a in log.attempts} == {200}
    with Receiver() as direct:  # no proxy: the default signing URL is base_url + path
        log = emitter(direct.base_url, public_base_url=None, duplicate_rate=0.0, max_attempts=1).send(twilio)
        assert {a.status for a in log.attempts} == {200}


@pytest.mark.parametrize(("provider", "status", "attempts"), [
    ("appsflyer", 500, 1),  # Push API: no redelivery, the event is lost
    ("adjust", 404, 1),  # Adjust retries only 5xx and unreachable endpoints
    ("adjust", 503, 4),
    ("standard", 410, 1),  # Standard Webhooks: 410 Gone disables the endpoint
    ("standard", 400, 4),
    ("sendgrid", 401, 4),  # SendGrid retries any non-2xx
])
def test_provider_retry_rules(provider: str, status: int, attempts: int) -> None:
    delivery = next(d for d in wh.sample_deliveries(SEED, 1) if d.provider == provider)
    waits: list[float] = []
    with Receiver(PUBLIC_BASE, status_for=lambda _route: status) as r:
        log = emitter(r.base_url, waits=waits, max_attempts=4).send([delivery])
        assert len(r.arrivals) == attempts
    assert [a.attempt for a in log.attempts] == list(range(1, attempts + 1))
    assert {a.status for a in log.attempts} == {status}
    assert log.dropped() == {delivery.key}
    assert len([w for w in waits if w > 0]) == attempts - 1


def test_unreachable_receiver_is_retried_and_the_log_holds_no_secret() -> None:
    with Receiver() as gone:
        url = gone.base_url  # a port that was just released: connections are refused
    deliveries = [d for d in wh.sample_deliveries(SEED, 1) if d.provider in ("adjust", "standard")]
    log = emitter(url, max_attempts=3, timeout_seconds=2.0).send(deliveries)
    assert [(a.attempt, a.status) for a in log.attempts if a.key == deliveries[0].key] == [(1, None), (2, None),
                                                                                           (3, None)]
    assert all(a.error == "ConnectionError" for a in log.attempts)
    assert log.dropped() == {d.key for d in deliveries}
    assert SECRETS.adjust_token not in repr(log)


def test_emitter_rejects_bad_settings_and_repeated_keys() -> None:
    with pytest.raises(ValueError, match="duplicate_rate"):
        WebhookEmitter("http://x", SECRETS, seed=1, duplicate_rate=1.5)
    with pytest.raises(ValueError, match="max_attempts"):
        WebhookEmitter("http://x", SECRETS, seed=1, max_attempts=0)
    delivery = wh.sample_deliveries(SEED, 1)[0]
    with pytest.raises(ValueError, match="unique"):
        emitter("http://x").send([delivery, delivery])
