"""Seed-derived webhook secrets for the sandbox, and the signature schemes it signs with.

The schemes themselves live in :mod:`pipelines.webhooks.signatures` (the receiver verifies with
the same reading of each provider's rules); this module adds the deterministic keys a sandbox
world signs with and re-exports the rest, so the emitter and the tests have one import.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric import ec

from pipelines.webhooks.signatures import (
    ADJUST_TOKEN_PARAM,
    APPSFLYER_TOKEN_HEADER,
    DEFAULT_TOLERANCE_SECONDS,
    FORM_CONTENT_TYPE,
    META_SIGNATURE_HEADER,
    SENDGRID_SIGNATURE_HEADER,
    SENDGRID_TIMESTAMP_HEADER,
    STANDARD_ID_HEADER,
    STANDARD_SECRET_PREFIX,
    STANDARD_SIGNATURE_HEADER,
    STANDARD_TIMESTAMP_HEADER,
    TWILIO_SIGNATURE_HEADER,
    TwilioParams,
    adjust_callback_path,
    adjust_callback_query,
    appsflyer_path_token,
    appsflyer_token_path,
    load_sendgrid_public_key,
    meta_body,
    meta_handshake,
    sendgrid_headers,
    sendgrid_public_key,
    sign_meta,
    sign_sendgrid,
    sign_standard,
    sign_twilio,
    standard_headers,
    standard_secret,
    twilio_json_url,
    twilio_params,
    verify_adjust,
    verify_meta,
    verify_sendgrid,
    verify_standard,
    verify_token,
    verify_twilio,
    with_adjust_token,
)

__all__ = [
    "ADJUST_TOKEN_PARAM", "APPSFLYER_TOKEN_HEADER", "DEFAULT_TOLERANCE_SECONDS", "FORM_CONTENT_TYPE",
    "META_SIGNATURE_HEADER",
    "SENDGRID_SIGNATURE_HEADER", "SENDGRID_TIMESTAMP_HEADER", "STANDARD_ID_HEADER", "STANDARD_SECRET_PREFIX",
    "STANDARD_SIGNATURE_HEADER", "STANDARD_TIMESTAMP_HEADER", "TWILIO_SIGNATURE_HEADER", "TwilioParams",
    "adjust_callback_path", "adjust_callback_query", "appsflyer_path_token", "appsflyer_token_path",
    "load_sendgrid_public_key", "meta_body", "meta_handshake", "sendgrid_headers", "sendgrid_private_key",
    "sendgrid_public_key", "shared_token", "sign_meta", "sign_sendgrid", "sign_standard", "sign_twilio",
    "standard_headers", "standard_secret", "standard_secret_from_seed", "twilio_json_url", "twilio_params",
    "verify_adjust", "verify_meta", "verify_sendgrid", "verify_standard", "verify_token", "verify_twilio",
    "with_adjust_token",
]

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _int_from_sha256(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest(), "big")


def sendgrid_private_key(seed: int | str) -> ec.EllipticCurvePrivateKey:
    """A P-256 key derived from the seed, so a sandbox world always signs with the same key."""
    scalar = _int_from_sha256(seed, "sendgrid-event-webhook") % (_P256_ORDER - 1) + 1  # never 0
    return ec.derive_private_key(scalar, ec.SECP256R1())


def standard_secret_from_seed(seed: int | str, label: str = "current") -> str:
    """A deterministic 32-byte secret; ``label`` tells rotation generations apart."""
    return standard_secret(hashlib.sha256(f"{seed}|standard-webhooks|{label}".encode()).digest())


def shared_token(seed: int | str, provider: str) -> str:
    """A deterministic URL-safe token for an unsigned provider."""
    digest = hashlib.sha256(f"{seed}|{provider}|token".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
