"""Signers and verifiers against vendor vectors and against independent recomputation in the test.

The independent side uses only ``hmac``/``hashlib``/``base64`` and ``cryptography``'s own ECDSA
verify, so a shared misreading of a scheme in ``sandbox.signing`` cannot pass both sides.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox import signing
from sandbox.webhooks import META_NAMES, meta_names_fixture

# -- vendor vectors -------------------------------------------------------------------------------

# twilio-php docs "Validate Incoming Requests" (field notes 3.3).
TWILIO_TOKEN = "12345"
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
                 "From": "+14158675309", "To": "+18005551212"}
TWILIO_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="

# sendgrid/sendgrid-python test/unit/test_eventwebhook.py: a real Event Webhook signature.
SENDGRID_PUBLIC_KEY = ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+"
                       "2fNNRaINXvVpiglSI8eNEc6wEA3F+g==")
SENDGRID_SIGNATURE = ("MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtE"
                      "ZtM=")
SENDGRID_TIMESTAMP = "1600112502"
SENDGRID_PAYLOAD = json.dumps([{
    "email": "hello@world.com", "event": "dropped", "reason": "Bounced Address",
    "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
    "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
    "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>", "timestamp": 1600112492,
}], sort_keys=True, separators=(",", ":")).encode() + b"\r\n"

# The Standard Webhooks specification's reference vector.
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
STANDARD_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
STANDARD_TS = "1614265330"
STANDARD_BODY = b'{"test": 2432232314}'
STANDARD_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

# RFC 6979 A.2.5: P-256, SHA-256, message "sample" -> deterministic (r, s).
RFC6979_KEY = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
RFC6979_R = 0xEFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716
RFC6979_S = 0xF7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8


# -- independent implementations ------------------------------------------------------------------


def ind_twilio(token: str, url: str, params: dict[str, str]) -> str:
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def ind_meta(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def ind_standard(secret: str, msg_id: str, ts: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def ind_sendgrid_ok(public_key_b64: str, signature_b64: str, timestamp: str, body: bytes) -> bool:
    key = serialization.load_der_public_key(base64.b64decode(public_key_b64))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    try:
        key.verify(base64.b64decode(signature_b64), timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def mutate(data: st.DataObject, body: bytes) -> bytes:
    """``body`` with exactly one byte changed."""
    i = data.draw(st.integers(0, len(body) - 1), label="index")
    new = data.draw(st.integers(0, 255).filter(lambda b: b != body[i]), label="byte")
    return body[:i] + bytes([new]) + body[i + 1:]


SG_KEY = signing.sendgrid_private_key(7)
SG_PUBLIC = signing.sendgrid_public_key(SG_KEY)
META_SECRET = "meta-app-secret-for-tests"


# -- Twilio ---------------------------------------------------------------------------------------


def test_twilio_vendor_vector() -> None:
    assert signing.sign_twilio(TWILIO_TOKEN, TWILIO_URL, TWILIO_PARAMS) == TWILIO_SIGNATURE
    assert ind_twilio(TWILIO_TOKEN, TWILIO_URL, TWILIO_PARAMS) == TWILIO_SIGNATURE
    assert signing.verify_twilio(TWILIO_TOKEN, TWILIO_URL, TWILIO_PARAMS, TWILIO_SIGNATURE)
    # Params as a form parser returns them (pairs, any order) give the same result.
    assert signing.verify_twilio(TWILIO_TOKEN, TWILIO_URL, list(reversed(TWILIO_PARAMS.items())), TWILIO_SIGNATURE)


@pytest.mark.parametrize(("token", "url", "params"), [
    ("12346", TWILIO_URL, TWILIO_PARAMS),
    (TWILIO_TOKEN, "https://mycompany.com/myapp.php?foo=1&bar=3", TWILIO_PARAMS),
    (TWILIO_TOKEN, "http://mycompany.com/myapp.php?foo=1&bar=2", TWILIO_PARAMS),  # a proxy's rewritten scheme
    (TWILIO_TOKEN, TWILIO_URL, {**TWILIO_PARAMS, "Digits": "1235"}),
    (TWILIO_TOKEN, TWILIO_URL, {**TWILIO_PARAMS, "Extra": ""}),  # every received param counts
    ("", TWILIO_URL, TWILIO_PARAMS),  # fail closed without a token
])
def test_twilio_rejects_any_change(token: str, url: str, params: dict[str, str]) -> None:
    assert not signing.verify_twilio(token, url, params, TWILIO_SIGNATURE)


def test_twilio_default_port_is_optional_other_ports_are_not() -> None:
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert signing.verify_twilio(TWILIO_TOKEN, with_port, TWILIO_PARAMS, TWILIO_SIGNATURE)
    signed_with_port = ind_twilio(TWILIO_TOKEN, with_port, TWILIO_PARAMS)
    assert signing.verify_twilio(TWILIO_TOKEN, TWILIO_URL, TWILIO_PARAMS, signed_with_port)
    assert not signing.verify_twilio(TWILIO_TOKEN, "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
                                     TWILIO_PARAMS, TWILIO_SIGNATURE)


def test_twilio_json_body_is_bound_through_body_sha256() -> None:
    body = b'{"MessageSid":"SM1","MessageStatus":"delivered"}'
    url = signing.twilio_json_url("https://hooks.example/twilio?x=1", body)
    assert parse_qs(urlsplit(url).query)["bodySHA256"] == [hashlib.sha256(body).hexdigest()]
    signature = ind_twilio(TWILIO_TOKEN, url, {})
    assert signing.verify_twilio(TWILIO_TOKEN, url, {}, signature, body=body)
    assert not signing.verify_twilio(TWILIO_TOKEN, url, {}, signature, body=body.replace(b"delivered", b"failed"))
    assert not signing.verify_twilio(TWILIO_TOKEN, url, {}, signature)  # the body must be checked
    plain = "https://hooks.example/twilio"
    assert not signing.verify_twilio(TWILIO_TOKEN, plain, {}, ind_twilio(TWILIO_TOKEN, plain, {}), body=body)


@given(st.data())
@settings(max_examples=200)
def test_twilio_body_mutation_fails_unless_params_are_unchanged(data: st.DataObject) -> None:
    body = b"SmsSid=SM1&SmsStatus=sent&MessageStatus=sent&To=%2B48600300400&From=%2B48500100200&Body=a+b"
    url = "https://hooks.example/webhooks/twilio"
    signature = signing.sign_twilio(TWILIO_TOKEN, url, signing.twilio_params(body))
    mutated = mutate(data, body)
    same_params = sorted(signing.twilio_params(mutated)) == sorted(signing.twilio_params(body))
    # Twilio signs the params, not the bytes: only an encoding-equivalent change (a+b -> a b) may pass.
    assert signing.verify_twilio(TWILIO_TOKEN, url, signing.twilio_params(mutated), signature) == same_params


# -- SendGrid -------------------------------------------------------------------------------------


def test_sendgrid_vendor_vector() -> None:
    assert ind_sendgrid_ok(SENDGRID_PUBLIC_KEY, SENDGRID_SIGNATURE, SENDGRID_TIMESTAMP, SENDGRID_PAYLOAD)
    assert signing.verify_sendgrid(SENDGRID_PUBLIC_KEY, SENDGRID_PAYLOAD, SENDGRID_SIGNATURE, SENDGRID_TIMESTAMP)
    assert not signing.verify_sendgrid(SENDGRID_PUBLIC_KEY, SENDGRID_PAYLOAD.rstrip(), SENDGRID_SIGNATURE,
                                       SENDGRID_TIMESTAMP)  # the trailing CRLF is signed
    assert not signing.verify_sendgrid(SENDGRID_PUBLIC_KEY, SENDGRID_PAYLOAD, SENDGRID_SIGNATURE, "timestamp")
    assert not signing.verify_sendgrid(SG_PUBLIC, SENDGRID_PAYLOAD, SENDGRID_SIGNATURE, SENDGRID_TIMESTAMP)
    assert not signing.verify_sendgrid(SENDGRID_PUBLIC_KEY, b"payload", SENDGRID_SIGNATURE, SENDGRID_TIMESTAMP)


def test_sendgrid_signature_verifies_independently() -> None:
    body = b'[{"email":"ana@example.org","event":"delivered","sg_event_id":"ZGVsLTEyMzQ","timestamp":1714740000}]\r\n'
    headers = signing.sendgrid_headers(SG_KEY, 1714740000, body)
    signature = headers["X-Twilio-Email-Event-Webhook-Signature"]
    assert headers["X-Twilio-Email-Event-Webhook-Timestamp"] == "1714740000"
    assert ind_sendgrid_ok(SG_PUBLIC, signature, "1714740000", body)
    assert not ind_sendgrid_ok(SG_PUBLIC, signature, "1714740001", body)
    assert signing.verify_sendgrid(SG_PUBLIC, body, signature, "1714740000")
    assert signing.verify_sendgrid(SG_PUBLIC, body, signature, "1714740000", now=1714740299, tolerance=300)
    assert not signing.verify_sendgrid(SG_PUBLIC, body, signature, "1714740000", now=1714740301, tolerance=300)


def test_sendgrid_key_is_deterministic_spki_without_pem_markers() -> None:
    assert signing.sendgrid_public_key(signing.sendgrid_private_key(7)) == SG_PUBLIC
    assert signing.sendgrid_public_key(signing.sendgrid_private_key(8)) != SG_PUBLIC
    assert "BEGIN" not in SG_PUBLIC and "\n" not in SG_PUBLIC
    key = serialization.load_der_public_key(base64.b64decode(SG_PUBLIC))
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    # The vendor's key has the same shape: a P-256 SubjectPublicKeyInfo prefix.
    assert SG_PUBLIC[:36] == SENDGRID_PUBLIC_KEY[:36]


def test_sendgrid_signing_is_rfc6979_deterministic() -> None:
    key = ec.derive_private_key(RFC6979_KEY, ec.SECP256R1())
    signature = signing.sign_sendgrid(key, "", b"sample")  # empty timestamp: the message is exactly "sample"
    assert decode_dss_signature(base64.b64decode(signature)) == (RFC6979_R, RFC6979_S)
    assert signing.sign_sendgrid(SG_KEY, 1, b"x") == signing.sign_sendgrid(SG_KEY, 1, b"x")


@given(st.data(), st.binary(min_size=1, max_size=300))
@settings(max_examples=100)
def test_sendgrid_any_single_byte_mutation_fails(data: st.DataObject, body: bytes) -> None:
    signature = signing.sign_sendgrid(SG_KEY, 1714740000, body)
    assert signing.verify_sendgrid(SG_PUBLIC, body, signature, "1714740000")
    assert not signing.verify_sendgrid(SG_PUBLIC, mutate(data, body), signature, "1714740000")


@given(st.integers(0, 10**11).filter(lambda t: t != 1714740000))
@settings(max_examples=50)
def test_sendgrid_changed_timestamp_fails(timestamp: int) -> None:
    body = b'[{"event":"open"}]\r\n'
    signature = signing.sign_sendgrid(SG_KEY, 1714740000, body)
    assert not signing.verify_sendgrid(SG_PUBLIC, body, signature, str(timestamp))


# -- Meta -----------------------------------------------------------------------------------------


def test_meta_signature_matches_independent_hmac() -> None:
    body = meta_names_fixture().body
    assert signing.sign_meta(META_SECRET, body) == ind_meta(META_SECRET, body)
    assert signing.verify_meta(META_SECRET, body, ind_meta(META_SECRET, body))


def test_meta_non_ascii_names_verify_only_on_the_raw_bytes() -> None:
    body = meta_names_fixture().body
    header = ind_meta(META_SECRET, body)
    body.decode("ascii")  # Meta escapes every non-ASCII character
    assert b"Jos\\u00e9 N\\u00fa\\u00f1ez" in body and b"\\u0645\\u062d\\u0645\\u062f" in body
    parsed = json.loads(body)
    names = [c["value"]["from"]["name"] for c in parsed["entry"][0]["changes"] if c["field"] == "feed"]
    assert names == list(META_NAMES)
    assert signing.verify_meta(META_SECRET, body, header)
    for redumped in (json.dumps(parsed, ensure_ascii=False).encode(), json.dumps(parsed).encode(),
                     json.dumps(parsed, ensure_ascii=False, separators=(",", ":")).encode()):
        assert redumped != body
        assert not signing.verify_meta(META_SECRET, redumped, header)


@pytest.mark.parametrize("header", [
    None, "", "sha1=" + "0" * 40, "SHA256=" + "0" * 64, "sha256=", "sha256=zz", "sha256=ÿ" * 3,
])
def test_meta_rejects_other_schemes_and_junk(header: str | None) -> None:
    assert not signing.verify_meta(META_SECRET, b"{}", header)


def test_meta_rejects_uppercase_hex_and_missing_secret() -> None:
    body = b'{"object":"page"}'
    good = ind_meta(META_SECRET, body)
    assert not signing.verify_meta(META_SECRET, body, "sha256=" + good.removeprefix("sha256=").upper())
    assert not signing.verify_meta("", body, good)


def test_meta_handshake() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "1158201444"}
    assert signing.meta_handshake(query, "vt") == "1158201444"
    assert signing.meta_handshake({**query, "hub.verify_token": "other"}, "vt") is None
    assert signing.meta_handshake({**query, "hub.mode": "unsubscribe"}, "vt") is None
    assert signing.meta_handshake(query, "") is None


@given(st.data())
@settings(max_examples=200)
def test_meta_any_single_byte_mutation_fails(data: st.DataObject) -> None:
    body = meta_names_fixture().body
    header = signing.sign_meta(META_SECRET, body)
    assert not signing.verify_meta(META_SECRET, mutate(data, body), header)


# -- Standard Webhooks ----------------------------------------------------------------------------


def test_standard_webhooks_spec_vector() -> None:
    ts = int(STANDARD_TS)
    assert signing.sign_standard(STANDARD_SECRET, STANDARD_ID, ts, STANDARD_BODY) == STANDARD_SIGNATURE
    assert ind_standard(STANDARD_SECRET, STANDARD_ID, STANDARD_TS, STANDARD_BODY) == STANDARD_SIGNATURE
    assert signing.verify_standard(STANDARD_SECRET, STANDARD_ID, STANDARD_TS, STANDARD_SIGNATURE, STANDARD_BODY,
                                   now=ts)
    assert not signing.verify_standard(STANDARD_SECRET, STANDARD_ID, STANDARD_TS, STANDARD_SIGNATURE,
                                       b'{"test": 2432232315}', now=ts)
    assert not signing.verify_standard(STANDARD_SECRET, "msg_other", STANDARD_TS, STANDARD_SIGNATURE,
                                       STANDARD_BODY, now=ts)


def test_standard_webhooks_timestamp_tolerance() -> None:
    ts = int(STANDARD_TS)
    args = (STANDARD_SECRET, STANDARD_ID, STANDARD_TS, STANDARD_SIGNATURE, STANDARD_BODY)
    assert signing.verify_standard(*args, now=ts + 300)
    assert signing.verify_standard(*args, now=ts - 300)
    assert not signing.verify_standard(*args, now=ts + 301)  # replayed
    assert not signing.verify_standard(*args, now=ts - 301)  # from the future
    assert not signing.verify_standard(*args)  # real clock: 2021 is long gone


def test_standard_webhooks_rotation() -> None:
    old, new, stranger = (signing.standard_secret_from_seed(7, label) for label in ("old", "new", "stranger"))
    body, ts = b'{"event_id":"e1"}', 1_800_000_000
    both = signing.sign_standard([old, new], "e1", ts, body)
    assert both == f"{ind_standard(old, 'e1', str(ts), body)} {ind_standard(new, 'e1', str(ts), body)}"
    for keys in ([old], [new], [new, old], [stranger, new]):
        assert signing.verify_standard(keys, "e1", str(ts), both, body, now=ts)
    assert not signing.verify_standard([stranger], "e1", str(ts), both, body, now=ts)
    assert not signing.verify_standard([], "e1", str(ts), both, body, now=ts)
    # A receiver that already rotated still accepts a sender that signs with the old secret only.
    only_old = signing.sign_standard(old, "e1", ts, body)
    assert signing.verify_standard([new, old], "e1", str(ts), only_old, body, now=ts)
    assert not signing.verify_standard([new], "e1", str(ts), only_old, body, now=ts)
    # Unknown versions (v1a is ed25519) and junk entries are skipped, not fatal.
    mixed = f"v1a,{only_old[3:]} v2,zzz v1,!!! {only_old}"
    assert signing.verify_standard([old], "e1", str(ts), mixed, body, now=ts)
    assert not signing.verify_standard([old], "e1", str(ts), only_old.replace("v1,", "v1a,"), body, now=ts)


def test_standard_secret_format() -> None:
    secret = signing.standard_secret_from_seed(7)
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert signing.standard_secret_from_seed(7) == secret != signing.standard_secret_from_seed(8)
    with pytest.raises(ValueError, match="24-64 bytes"):
        signing.standard_secret(b"short")


@given(st.data(), st.binary(min_size=1, max_size=300))
@settings(max_examples=200)
def test_standard_any_single_byte_mutation_fails(data: st.DataObject, body: bytes) -> None:
    header = signing.sign_standard(STANDARD_SECRET, "e1", 1_800_000_000, body)
    assert signing.verify_standard(STANDARD_SECRET, "e1", "1800000000", header, body, now=1_800_000_000)
    assert not signing.verify_standard(STANDARD_SECRET, "e1", "1800000000", header, mutate(data, body),
                                       now=1_800_000_000)


@given(st.integers(1_799_999_700, 1_800_000_300).filter(lambda t: t != 1_800_000_000))
@settings(max_examples=100)
def test_standard_changed_timestamp_fails_even_within_tolerance(timestamp: int) -> None:
    body = b'{"event_id":"e1"}'
    header = signing.sign_standard(STANDARD_SECRET, "e1", 1_800_000_000, body)
    assert not signing.verify_standard(STANDARD_SECRET, "e1", str(timestamp), header, body, now=1_800_000_000)


@given(st.text(max_size=80), st.text(max_size=20), st.text(max_size=80))
@settings(max_examples=200)
def test_verifiers_never_raise_on_junk_headers(signature: str, timestamp: str, key: str) -> None:
    body = b"[]"
    assert not signing.verify_sendgrid(key or SG_PUBLIC, body, signature, timestamp)
    assert not signing.verify_standard([STANDARD_SECRET, key], "e1", timestamp, signature, body)
    assert not signing.verify_meta(META_SECRET, body, signature)
    assert not signing.verify_twilio(TWILIO_TOKEN, TWILIO_URL, TWILIO_PARAMS, signature)
    assert not signing.verify_token("token", signature if signature != "token" else "")


# -- Shared tokens --------------------------------------------------------------------------------


def test_shared_tokens_fail_closed() -> None:
    token = signing.shared_token(7, "adjust")
    assert token == signing.shared_token(7, "adjust") != signing.shared_token(7, "appsflyer")
    assert signing.verify_token(token, token)
    assert not signing.verify_token(token, token[:-1])
    assert not signing.verify_token("", "")
    assert not signing.verify_token(token, None)


def test_appsflyer_token_in_path() -> None:
    path = signing.appsflyer_token_path("/webhooks/appsflyer", "tok-en_1")
    assert path == "/webhooks/appsflyer/tok-en_1"
    assert signing.appsflyer_path_token(path, "/webhooks/appsflyer") == "tok-en_1"
    assert signing.appsflyer_path_token("/webhooks/appsflyer", "/webhooks/appsflyer") is None
    assert signing.appsflyer_path_token("/other/tok", "/webhooks/appsflyer") is None


def test_adjust_callback_url_from_placeholders() -> None:
    path = signing.adjust_callback_path("/webhooks/adjust", {
        "activity_kind": "event", "created_at": 1788249600, "adid": "a1", "idfa": "",
        "tracker_name": "Google Ads UAC::Spring PL::Broad::Video 15s", "revenue": "9.99", "currency": None,
    }, "s3cr3t")
    assert path == ("/webhooks/adjust?token=s3cr3t&activity_kind=event&created_at=1788249600&adid=a1"
                    "&tracker_name=Google%20Ads%20UAC%3A%3ASpring%20PL%3A%3ABroad%3A%3AVideo%2015s&revenue=9.99")
    query = {k: v[-1] for k, v in parse_qs(urlsplit(path).query).items()}
    assert query["tracker_name"].split("::") == ["Google Ads UAC", "Spring PL", "Broad", "Video 15s"]
    assert signing.verify_adjust(query, "s3cr3t")
    assert not signing.verify_adjust(query, "other")
    assert not signing.verify_adjust({k: v for k, v in query.items() if k != "token"}, "s3cr3t")
