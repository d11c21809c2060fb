"""Webhook signatures exactly as the providers compute them, and the matching checks.

adlake's receiver verifies with the ``verify_*`` functions; the ``sign_*`` ones are what a sender
computes (the sandbox's emitter, or a site's server signing its first-party events), so both sides
share one reading of each scheme (field notes, section 3), pinned by the vendors' test vectors:

* SendGrid Event Webhook: ECDSA P-256 / SHA-256 over ``timestamp + raw body``, base64 DER.
* Twilio: Base64(HMAC-SHA1(auth token, public URL + sorted POST params as name+value)).
* Meta: ``sha256=`` + lowercase hex HMAC-SHA256(app secret, raw body).
* Standard Webhooks: ``v1,`` + base64 HMAC-SHA256(key, ``id.timestamp.body``), secret ``whsec_<base64 key>``.
* AppsFlyer Push and Adjust: unsigned; a shared token in a header, the path or the query.

Every verifier is pure, compares in constant time, returns ``False`` rather than raising on bad
input (headers come from strangers) and fails closed when its secret is missing. Nothing here
logs: secrets and signatures must never reach a log line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, parse_qsl, quote, urlencode, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
META_SIGNATURE_HEADER = "X-Hub-Signature-256"
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
# AppsFlyer documents no header of its own: the endpoint configured in its dashboard carries
# adlake's shared token either in this custom header or as the last path segment.
APPSFLYER_TOKEN_HEADER = "X-Adlake-Push-Token"
ADJUST_TOKEN_PARAM = "token"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

DEFAULT_TOLERANCE_SECONDS = 300  # signed timestamps (field notes 3.1, rule 4)
STANDARD_SECRET_PREFIX = "whsec_"
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
_LOWER_HEX_64 = re.compile(r"[0-9a-f]{64}")


def _same(expected: str, presented: str) -> bool:
    """Constant-time string equality that cannot raise on non-ASCII input from a header."""
    # "replace" can only introduce "?", which never occurs in base64 or hex, so no false match.
    return hmac.compare_digest(expected.encode("utf-8", "replace"), presented.encode("utf-8", "replace"))


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None


def _timestamp_ok(timestamp: str, now: float | None, tolerance: int | None) -> bool:
    """A unix-seconds string within ``tolerance`` of now (either side); ``tolerance=None`` skips the age."""
    if not _UNIX_SECONDS.fullmatch(timestamp):
        return False
    if tolerance is None:
        return True
    current = time.time() if now is None else now
    return abs(current - int(timestamp)) <= tolerance


# -- SendGrid -------------------------------------------------------------------------------------


def sendgrid_public_key(private_key: ec.EllipticCurvePrivateKey) -> str:
    """The verification key as SendGrid shows it: base64 of the SPKI DER, no PEM markers."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def sign_sendgrid(private_key: ec.EllipticCurvePrivateKey, timestamp: int | str, body: bytes) -> str:
    """Base64 DER ECDSA signature over ``timestamp + body``.

    RFC 6979 deterministic nonces make the signature a function of key and message, so a seed
    reproduces the exact headers; verifiers cannot tell the difference from random nonces.
    """
    message = str(timestamp).encode("ascii") + body
    der = private_key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    return base64.b64encode(der).decode("ascii")


def sendgrid_headers(private_key: ec.EllipticCurvePrivateKey, timestamp: int, body: bytes) -> dict[str, str]:
    """The two signature headers of one Event Webhook POST."""
    return {
        SENDGRID_SIGNATURE_HEADER: sign_sendgrid(private_key, timestamp, body),
        SENDGRID_TIMESTAMP_HEADER: str(timestamp),
    }


def load_sendgrid_public_key(public_key: str) -> ec.EllipticCurvePublicKey | None:
    """Parse the dashboard's base64 SPKI string; None unless it is a P-256 key."""
    der = _b64decode(public_key.strip())
    if der is None:
        return None
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        return None
    return key


def verify_sendgrid(
    public_key: str | ec.EllipticCurvePublicKey,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: float | None = None,
    tolerance: int | None = None,
) -> bool:
    """Check an Event Webhook POST over the raw body bytes.

    SendGrid documents no timestamp tolerance; pass ``tolerance`` to add replay protection.
    """
    if not public_key or not signature or not timestamp or not _timestamp_ok(timestamp, now, tolerance):
        return False
    key = load_sendgrid_public_key(public_key) if isinstance(public_key, str) else public_key
    der = _b64decode(signature.strip())
    if key is None or der is None:
        return False
    try:
        key.verify(der, timestamp.encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


# -- Twilio ---------------------------------------------------------------------------------------

TwilioParams = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]


def _param_lists(params: TwilioParams) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    items = params.items() if isinstance(params, Mapping) else params
    for name, value in items:
        values = [value] if isinstance(value, str) else list(value)
        out.setdefault(name, []).extend(values)
    return out


def sign_twilio(auth_token: str, url: str, params: TwilioParams) -> str:
    """``X-Twilio-Signature``: Base64(HMAC-SHA1(token, url + name1value1name2value2...)).

    Names sorted by code point (Twilio: "Unix-style case-sensitive"), values raw (not
    URL-encoded); repeated names contribute each distinct value in sorted order, as the
    twilio-python validator does.
    """
    data = url
    for name, values in sorted(_param_lists(params).items()):
        for value in sorted(set(values)):
            data += name + value
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def twilio_params(body: bytes) -> list[tuple[str, str]]:
    """Every POST param of a form-encoded body, blanks kept (Twilio signs all of them)."""
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def twilio_json_url(url: str, body: bytes) -> str:
    """The URL Twilio signs for a JSON body: ``bodySHA256=<hex sha256(body)>`` appended to the query."""
    parts = urlsplit(url)
    query = "&".join(p for p in (parts.query, urlencode({"bodySHA256": hashlib.sha256(body).hexdigest()})) if p)
    return urlunsplit(parts._replace(query=query))


def _url_variants(url: str) -> list[str]:
    """The URL as configured, with and without the scheme's default port (Twilio signs either way)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return [url]
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    variants = [url]
    if default is not None and port is None:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}")))
    elif default is not None and port == default:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}")))
    return variants


def verify_twilio(
    auth_token: str, url: str, params: TwilioParams, signature: str | None, *, body: bytes | None = None
) -> bool:
    """Check ``X-Twilio-Signature`` against the public URL the receiver is configured with.

    ``url`` must be the URL Twilio called (scheme and host as configured, not as a TLS proxy
    rewrote them). For JSON bodies pass ``body`` and empty ``params``: the URL's ``bodySHA256``
    must then match the body too.
    """
    if not auth_token or not signature:
        return False
    body_hashes = parse_qs(urlsplit(url).query).get("bodySHA256")
    if body_hashes is not None:
        if body is None or not _same(hashlib.sha256(body).hexdigest(), body_hashes[0]):
            return False
    elif body and not params:
        return False  # a JSON body whose hash is not in the signed URL is unauthenticated
    return any(_same(sign_twilio(auth_token, candidate, params), signature) for candidate in _url_variants(url))


# -- Meta -----------------------------------------------------------------------------------------


def meta_body(payload: object) -> bytes:
    """The bytes Meta sends: compact JSON with non-ASCII escaped as ``\\uXXXX``."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def sign_meta(app_secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` value: ``sha256=<lowercase hex HMAC-SHA256(app secret, body)>``."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_meta(app_secret: str, body: bytes, header: str | None) -> bool:
    """Check ``X-Hub-Signature-256`` over the raw bytes; only the ``sha256=`` scheme is accepted."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    presented = header.removeprefix("sha256=")
    if not _LOWER_HEX_64.fullmatch(presented):
        return False
    return _same(sign_meta(app_secret, body), header)


def meta_handshake(query: Mapping[str, str], verify_token: str) -> str | None:
    """The ``hub.challenge`` to echo for a valid GET subscription handshake, else None (answer 403)."""
    token = query.get("hub.verify_token")
    if not verify_token or query.get("hub.mode") != "subscribe" or token is None:
        return None
    if not _same(verify_token, token):
        return None
    return query.get("hub.challenge")


# -- Standard Webhooks ----------------------------------------------------------------------------


def standard_secret(key: bytes) -> str:
    """``whsec_<base64 key>``; the spec allows keys of 24 to 64 bytes."""
    if not 24 <= len(key) <= 64:
        raise ValueError(f"Standard Webhooks keys are 24-64 bytes, got {len(key)}")
    return STANDARD_SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def _standard_key(secret: str) -> bytes | None:
    return _b64decode(secret.removeprefix(STANDARD_SECRET_PREFIX))


def _standard_mac(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    return hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


def sign_standard(secrets: str | Sequence[str], msg_id: str, timestamp: int | str, body: bytes) -> str:
    """``webhook-signature``: one ``v1,<base64>`` per secret, space separated.

    A sender in the middle of a rotation signs with the old and the new secret at once, so a
    receiver holding either accepts the message.
    """
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    signatures = []
    for secret in keys:
        key = _standard_key(secret)
        if key is None:
            raise ValueError("a Standard Webhooks secret is not valid base64")  # never echo the secret
        mac = _standard_mac(key, msg_id, str(timestamp), body)
        signatures.append("v1," + base64.b64encode(mac).decode("ascii"))
    return " ".join(signatures)


def standard_headers(secrets: str | Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    return {
        STANDARD_ID_HEADER: msg_id,
        STANDARD_TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: sign_standard(secrets, msg_id, timestamp, body),
    }


def verify_standard(
    secrets: str | Sequence[str],
    msg_id: str | None,
    timestamp: str | None,
    signature_header: str | None,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int | None = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Accept when any ``v1`` signature in the header matches any secret (old or new during rotation)."""
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    if not keys or not msg_id or not timestamp or not signature_header:
        return False
    if not _timestamp_ok(timestamp, now, tolerance):
        return False
    presented = []
    for part in signature_header.split(" "):
        version, _, encoded = part.partition(",")
        decoded = _b64decode(encoded) if version == "v1" else None  # v1a (ed25519) and unknown: ignored
        if decoded is not None:
            presented.append(decoded)
    for secret in keys:
        key = _standard_key(secret) if secret else None
        if key is None:
            continue
        expected = _standard_mac(key, msg_id, timestamp, body)
        # No early exit on a match: the work done does not depend on which signature matched.
        if any([hmac.compare_digest(expected, candidate) for candidate in presented]):
            return True
    return False


# -- Shared tokens: AppsFlyer Push, Adjust --------------------------------------------------------


def verify_token(expected: str, presented: str | None) -> bool:
    """Constant-time check of a shared token; fails closed when either side is empty."""
    if not expected or not presented:
        return False
    return _same(expected, presented)


def appsflyer_token_path(path: str, token: str) -> str:
    """The Push endpoint with the token as its last path segment (``/webhooks/appsflyer/<token>``)."""
    return f"{path.rstrip('/')}/{quote(token, safe='')}"


def appsflyer_path_token(path: str, prefix: str) -> str | None:
    """The token segment of a Push request path under ``prefix``, or None."""
    rest = path.split("?", 1)[0].removeprefix(prefix.rstrip("/") + "/")
    return rest if rest and rest != path and "/" not in rest else None


def adjust_callback_query(values: Mapping[str, str | int | None]) -> str:
    """The placeholder part of an Adjust callback query: values URL-encoded, empty ones dropped."""
    pairs = [(name, str(value)) for name, value in values.items() if value is not None and str(value) != ""]
    return urlencode(pairs, quote_via=quote)


def with_adjust_token(path: str, token: str) -> str:
    """Put the shared token first in a callback's query, as the template configured in Adjust has it."""
    base, _, query = path.partition("?")
    token_pair = urlencode([(ADJUST_TOKEN_PARAM, token)], quote_via=quote)
    return f"{base}?{token_pair}&{query}" if query else f"{base}?{token_pair}"


def adjust_callback_path(path: str, values: Mapping[str, str | int | None], token: str) -> str:
    """An Adjust callback as Adjust calls it, from the template ``path?token=<secret>&name={placeholder}&...``."""
    query = adjust_callback_query(values)
    return with_adjust_token(f"{path}?{query}" if query else path, token)


def verify_adjust(query: Mapping[str, str], token: str) -> bool:
    """Check the ``token`` query parameter of an Adjust callback."""
    return verify_token(token, query.get(ADJUST_TOKEN_PARAM))
