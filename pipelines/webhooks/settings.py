"""The receiver's settings: secrets (two during a rotation), limits and the journal's place.

Every secret comes from an ``ADLAKE_WEBHOOK_*`` variable and may hold two comma-separated values
while a provider rotates it: deliveries signed with either are accepted. A provider without its
secret rejects everything (fail closed), it never accepts unsigned data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.errors import ConfigError

PROVIDERS = ("sendgrid", "twilio", "meta", "appsflyer", "adjust", "events")
SECRET_VARIABLES = {
    "sendgrid": "ADLAKE_WEBHOOK_SENDGRID_PUBLIC_KEY",
    "twilio": "ADLAKE_WEBHOOK_TWILIO_AUTH_TOKEN",
    "meta": "ADLAKE_WEBHOOK_META_APP_SECRET",
    "appsflyer": "ADLAKE_WEBHOOK_APPSFLYER_SECRET",
    "adjust": "ADLAKE_WEBHOOK_ADJUST_SECRET",
    "events": "ADLAKE_WEBHOOK_EVENTS_SECRET",
}
META_VERIFY_TOKEN = "ADLAKE_WEBHOOK_META_VERIFY_TOKEN"


def _secrets(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum:g}")
    return value


@dataclass(frozen=True)
class ReceiverSettings:
    """What the receiver needs. ``repr`` never shows a secret.

    Attributes:
        secrets: provider -> accepted secrets (the SendGrid entry holds public keys).
        meta_verify_token: the token Meta's GET handshake must present.
        public_base_url: the URL providers call (``https://hooks.example.com``), used to check
            Twilio's URL signature behind a TLS proxy; empty: the URL as received.
        journal_dir: where accepted deliveries are journaled before the 200.
        max_body_bytes: larger requests get 413.
        tolerance_seconds: signed timestamps older or newer than this are replays (SendGrid, events).
        segment_events / segment_seconds: a journal segment is sealed for landing at this many
            deliveries or this age, whichever comes first (the micro-batch trigger).
        rate_per_second: accepted requests per provider per second (token bucket; 429 above it).
        dedup_horizon_days: how far back the lander remembers event ids when deduplicating.
    """

    secrets: Mapping[str, tuple[str, ...]] = field(repr=False)
    meta_verify_token: str = field(default="", repr=False)
    public_base_url: str = ""
    journal_dir: Path = Path("lake/webhooks/journal")
    max_body_bytes: int = 1_048_576
    tolerance_seconds: int = 300
    segment_events: int = 2_000
    segment_seconds: float = 2.0
    rate_per_second: float = 5_000.0
    dedup_horizon_days: int = 7

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReceiverSettings:
        env = os.environ if env is None else env
        home = Path(env.get("ADLAKE_HOME") or "lake")
        return cls(
            secrets={provider: _secrets(env.get(variable)) for provider, variable in SECRET_VARIABLES.items()},
            meta_verify_token=(env.get(META_VERIFY_TOKEN) or "").strip(),
            public_base_url=(env.get("ADLAKE_WEBHOOK_PUBLIC_URL") or "").rstrip("/"),
            journal_dir=Path(env.get("ADLAKE_WEBHOOK_JOURNAL_DIR") or home / "webhooks" / "journal"),
            max_body_bytes=int(_number(env, "ADLAKE_WEBHOOK_MAX_BODY_BYTES", 1_048_576, 1)),
            tolerance_seconds=int(_number(env, "ADLAKE_WEBHOOK_TOLERANCE_SECONDS", 300, 1)),
            segment_events=int(_number(env, "ADLAKE_WEBHOOK_BATCH_EVENTS", 2_000, 1)),
            segment_seconds=_number(env, "ADLAKE_WEBHOOK_BATCH_SECONDS", 2.0, 0.05),
            rate_per_second=_number(env, "ADLAKE_WEBHOOK_RATE_PER_SECOND", 5_000.0, 1),
            dedup_horizon_days=int(_number(env, "ADLAKE_WEBHOOK_DEDUP_DAYS", 7, 1)),
        )

    def secret_values(self) -> list[str]:
        """Every configured secret (for tests that grep logs and the lake for them)."""
        return [value for values in self.secrets.values() for value in values] + (
            [self.meta_verify_token] if self.meta_verify_token else [])
