"""What each provider's delivery carries: its events, their dedup keys (field notes 3.2-3.8) and the
raw table they land in. Pure functions over the raw request; nothing here touches the network.

A delivery that cannot be read at all raises :class:`PayloadError` (the receiver answers 400 and
quarantines it); an event inside a readable batch that lacks its id becomes a quarantine row of its
own while the rest of the batch lands.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TABLES = {
    "sendgrid": "webhooks__sendgrid_events",
    "twilio": "webhooks__twilio_status_callbacks",
    "meta": "webhooks__meta_changes",
    "appsflyer": "webhooks__appsflyer_events",
    "adjust": "webhooks__adjust_callbacks",
    "events": "webhooks__first_party_events",
}
MAX_ID_LENGTH = 200


class PayloadError(ValueError):
    """A delivery whose body cannot be read (quarantine reason code and detail)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Event:
    """One event of a delivery: its dedup key, type, own time (when the provider gives one) and JSON."""

    event_id: str
    event_type: str | None
    occurred_at: datetime | None
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Rejected:
    """An event of a readable batch that cannot be landed (no id...)."""

    code: str
    detail: str
    payload: Any


Parsed = tuple[list[Event], list[Rejected]]


def content_hash(*parts: object) -> str:
    """The dedup key of providers without an event id: sha256 of the parts joined by ``|``."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def canonical(value: object) -> str:
    """Key-sorted compact JSON, so a content hash does not depend on key order."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError("malformed_json", f"the body is not JSON ({type(exc).__name__})") from None
    except RecursionError:
        raise PayloadError("malformed_json", "the body nests too deeply") from None


def _id(value: Any) -> str | None:
    """A usable id: a non-empty string or integer, not too long."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    return text if text and len(text) <= MAX_ID_LENGTH else None


def _unix(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        seconds = float(value)
        return datetime.fromtimestamp(seconds, UTC) if 0 <= seconds < 32_503_680_000 else None
    except (ValueError, OverflowError):
        return None


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def sendgrid(body: bytes) -> Parsed:
    """A JSON array of events; each is keyed by ``sg_event_id``."""
    data = _json(body)
    if not isinstance(data, list):
        raise PayloadError("schema_violation", "a SendGrid batch is a JSON array")
    events, rejected = [], []
    for item in data:
        event_id = _id(item.get("sg_event_id")) if isinstance(item, dict) else None
        if event_id is None:
            rejected.append(Rejected("missing_key", "an event without a usable sg_event_id", item))
            continue
        events.append(Event(event_id, _text(item.get("event")), _unix(item.get("timestamp")), item))
    return events, rejected


def twilio(params: Sequence[tuple[str, str]]) -> Parsed:
    """A status callback: one event keyed by ``MessageSid`` + ``MessageStatus`` (several per message)."""
    fields = dict(params)
    sid, status = _id(fields.get("MessageSid")), _id(fields.get("MessageStatus"))
    if sid is None or status is None:
        raise PayloadError("missing_key", "a status callback needs MessageSid and MessageStatus")
    return [Event(f"{sid}:{status}", status, None, fields)], []


def meta(body: bytes) -> Parsed:
    """A page (or other object) webhook: every change of every entry is one event, keyed by
    ``leadgen_id`` for Lead Ads, else a content hash of object, entry, time, field and value."""
    data = _json(body)
    if not isinstance(data, dict) or not isinstance(data.get("entry"), list):
        raise PayloadError("schema_violation", "a Meta webhook is an object with an entry list")
    object_ = data.get("object")
    events, rejected = [], []
    for entry in data["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            rejected.append(Rejected("schema_violation", "an entry without a changes list", entry))
            continue
        for change in changes:
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict) or not change.get("field"):
                rejected.append(Rejected("schema_violation", "a change without field and value", change))
                continue
            value = change["value"]
            lead = _id(value.get("leadgen_id")) if change["field"] == "leadgen" else None
            key = lead or content_hash(object_, entry.get("id"), entry.get("time"), change["field"], canonical(value))
            record = {"object": object_, "entry_id": entry.get("id"), "entry_time": entry.get("time"), **change}
            events.append(Event(key, str(change["field"]), _unix(entry.get("time")), record))
    return events, rejected


def appsflyer(body: bytes) -> Parsed:
    """A Push API event, keyed by a hash of id, name, time, value and conversion type."""
    data = _json(body)
    if not isinstance(data, dict):
        raise PayloadError("schema_violation", "an AppsFlyer push is a JSON object")
    if _id(data.get("appsflyer_id")) is None or not data.get("event_name") or not data.get("event_time"):
        raise PayloadError("missing_key", "an AppsFlyer push needs appsflyer_id, event_name and event_time")
    key = content_hash(data["appsflyer_id"], data["event_name"], data["event_time"], data.get("event_value", ""),
                       data.get("conversion_type", ""))
    return [Event(key, _text(data["event_name"]), _iso(data["event_time"]), data)], []


def adjust(params: Sequence[tuple[str, str]]) -> Parsed:
    """A callback's query placeholders, keyed by a hash of activity kind, created_at and adid."""
    fields = dict(params)
    if not fields.get("activity_kind") or not fields.get("created_at") or not fields.get("adid"):
        raise PayloadError("missing_key", "an Adjust callback needs activity_kind, created_at and adid")
    key = content_hash(fields["activity_kind"], fields["created_at"], fields["adid"])
    return [Event(key, fields["activity_kind"], _unix(fields["created_at"]), fields)], []


def first_party(body: bytes, message_id: str) -> Parsed:
    """A pixel or server event; ``webhook-id`` (source and event id) is the dedup key."""
    data = _json(body)
    if not isinstance(data, dict):
        raise PayloadError("schema_violation", "an event is a JSON object")
    if _id(data.get("event_id")) is None or not data.get("event_name") or not data.get("timestamp"):
        raise PayloadError("missing_key", "an event needs event_id, event_name and timestamp")
    return [Event(message_id, _text(data["event_name"]), _iso(data["timestamp"]), data)], []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse(provider: str, body: bytes, params: Sequence[tuple[str, str]], message_id: str | None) -> Parsed:
    """The events of one delivery (``params``: form fields for Twilio, query fields for Adjust)."""
    if provider == "sendgrid":
        return sendgrid(body)
    if provider == "twilio":
        return twilio(params)
    if provider == "meta":
        return meta(body)
    if provider == "appsflyer":
        return appsflyer(body)
    if provider == "adjust":
        return adjust(params)
    if provider == "events":
        return first_party(body, message_id or "")
    raise ValueError(f"unknown provider {provider!r}")
