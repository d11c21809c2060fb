"""Webhook deliveries the way real providers push them, and an emitter that sends them like one.

Builders turn plain event dataclasses into :class:`Delivery` objects: method, path, content
headers, body bytes and the dedup keys the field notes (section 3) define per provider. The
authentication headers are added per attempt by :func:`sign_delivery`, because two schemes sign
the attempt's time (SendGrid, Standard Webhooks) and Twilio signs the receiver's public URL,
which belongs to the sender's configuration rather than to the event.

:class:`WebhookEmitter` posts deliveries with ``requests`` and behaves like the providers do:
retries with backoff (per provider rules), at-least-once duplicates of acknowledged deliveries,
and out-of-order arrival within a window. Every choice comes from ``stream(seed, ...)``, so a
seed (and a receiver that answers the same way) gives the same schedule.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal
from urllib.parse import quote

import requests
from cryptography.hazmat.primitives.asymmetric import ec

from sandbox import signing
from sandbox.world import stream

SENDGRID_PATH = "/webhooks/sendgrid"
TWILIO_PATH = "/webhooks/twilio"
META_PATH = "/webhooks/meta"
APPSFLYER_PATH = "/webhooks/appsflyer"
ADJUST_PATH = "/webhooks/adjust"
EVENTS_PATH = "/events"

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
DEFAULT_START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)

# The Adjust callback template adlake registers: query parameter -> Adjust placeholder (field notes 3.6).
ADJUST_TEMPLATE: dict[str, str] = {
    "adid": "adid", "gps_adid": "gps_adid", "idfa": "idfa", "activity_kind": "activity_kind",
    "created_at": "created_at", "installed_at": "installed_at", "tracker_name": "tracker_name",
    "event_token": "event", "revenue": "revenue_float", "currency": "currency",
}


def _sha256(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _compact(mapping: Mapping[str, object]) -> dict[str, object]:
    """Drop blank values: providers omit empty keys rather than sending nulls."""
    return {k: v for k, v in mapping.items() if v is not None and v not in ("", {})}


# -- Deliveries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One HTTP request a provider makes, before (or after) its authentication headers are added.

    ``key`` identifies the delivery across retries and duplicates; ``dedup_keys`` are the
    receiver's idempotency keys, one per event carried (a SendGrid or Meta batch carries several).
    """

    provider: str
    key: str
    method: str
    path: str
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    dedup_keys: tuple[str, ...] = ()

    @property
    def dedup_key(self) -> str:
        """The single dedup key of a one-event delivery (batches: the first event's)."""
        return self.dedup_keys[0]


@dataclass(frozen=True)
class WebhookSecrets:
    """What the providers sign with. ``repr`` hides every field so a secret never reaches a log."""

    sendgrid_key: ec.EllipticCurvePrivateKey = field(repr=False)
    twilio_auth_token: str = field(repr=False)
    meta_app_secret: str = field(repr=False)
    standard_secrets: tuple[str, ...] = field(repr=False)  # several while a rotation is under way
    appsflyer_token: str = field(repr=False)
    adjust_token: str = field(repr=False)

    @classmethod
    def from_seed(cls, seed: int | str) -> WebhookSecrets:
        """Deterministic secrets for a sandbox world."""
        return cls(
            sendgrid_key=signing.sendgrid_private_key(seed),
            twilio_auth_token=_sha256(seed, "twilio-auth-token")[:32],
            meta_app_secret=_sha256(seed, "meta-app-secret")[:32],
            standard_secrets=(signing.standard_secret_from_seed(seed),),
            appsflyer_token=signing.shared_token(seed, "appsflyer"),
            adjust_token=signing.shared_token(seed, "adjust"),
        )

    @property
    def sendgrid_public_key(self) -> str:
        """The verification key the receiver is configured with (base64 SPKI)."""
        return signing.sendgrid_public_key(self.sendgrid_key)


TokenPlacement = Literal["header", "path"]
META_VERIFY_TOKEN = "sandbox-meta-verify-token"


def receiver_environment(secrets: WebhookSecrets, public_url: str = "") -> dict[str, str]:
    """The ``ADLAKE_WEBHOOK_*`` variables a receiver needs to accept this sandbox's deliveries."""
    env = {
        "ADLAKE_WEBHOOK_SENDGRID_PUBLIC_KEY": secrets.sendgrid_public_key,
        "ADLAKE_WEBHOOK_TWILIO_AUTH_TOKEN": secrets.twilio_auth_token,
        "ADLAKE_WEBHOOK_META_APP_SECRET": secrets.meta_app_secret,
        "ADLAKE_WEBHOOK_META_VERIFY_TOKEN": META_VERIFY_TOKEN,
        "ADLAKE_WEBHOOK_APPSFLYER_SECRET": secrets.appsflyer_token,
        "ADLAKE_WEBHOOK_ADJUST_SECRET": secrets.adjust_token,
        "ADLAKE_WEBHOOK_EVENTS_SECRET": ",".join(secrets.standard_secrets),
    }
    return env | ({"ADLAKE_WEBHOOK_PUBLIC_URL": public_url} if public_url else {})


def sign_delivery(
    delivery: Delivery,
    secrets: WebhookSecrets,
    *,
    signing_url: str,
    timestamp: int,
    appsflyer_token_in: TokenPlacement = "header",
) -> Delivery:
    """The delivery with its provider's authentication added for one attempt at ``timestamp``.

    ``signing_url`` is the public URL the receiver is configured with (only Twilio signs a URL).
    """
    headers = dict(delivery.headers)
    path = delivery.path
    if delivery.provider == "sendgrid":
        headers |= signing.sendgrid_headers(secrets.sendgrid_key, timestamp, delivery.body)
    elif delivery.provider == "twilio":
        params = signing.twilio_params(delivery.body)
        headers[signing.TWILIO_SIGNATURE_HEADER] = signing.sign_twilio(secrets.twilio_auth_token, signing_url, params)
    elif delivery.provider == "meta":
        headers[signing.META_SIGNATURE_HEADER] = signing.sign_meta(secrets.meta_app_secret, delivery.body)
    elif delivery.provider == "standard":
        msg_id = headers[signing.STANDARD_ID_HEADER]
        headers |= signing.standard_headers(secrets.standard_secrets, msg_id, timestamp, delivery.body)
    elif delivery.provider == "appsflyer" and appsflyer_token_in == "path":
        path = signing.appsflyer_token_path(path, secrets.appsflyer_token)
    elif delivery.provider == "appsflyer":
        headers[signing.APPSFLYER_TOKEN_HEADER] = secrets.appsflyer_token
    elif delivery.provider == "adjust":
        path = signing.with_adjust_token(path, secrets.adjust_token)
    else:
        raise ValueError(f"no signing scheme for provider {delivery.provider!r}")
    return replace(delivery, headers=headers, path=path)


# -- SendGrid -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendGridEvent:
    """One Event Webhook event; optional fields appear only for the types that carry them."""

    event: str  # processed, delivered, open, click, bounce, unsubscribe, ...
    email: str
    timestamp: int
    sg_event_id: str
    sg_message_id: str
    smtp_id: str | None = None
    category: tuple[str, ...] = ()
    response: str | None = None  # delivered
    url: str | None = None  # click
    useragent: str | None = None  # open, click
    ip: str | None = None
    reason: str | None = None  # bounce
    status: str | None = None  # bounce: enhanced SMTP status
    bounce_type: str | None = None  # bounce: "bounce" or "blocked" (sent as "type")

    def to_json(self) -> dict[str, object]:
        """The event object as SendGrid posts it."""
        category: object = self.category[0] if len(self.category) == 1 else list(self.category)
        return _compact({
            "email": self.email, "timestamp": self.timestamp, "event": self.event, "smtp-id": self.smtp_id,
            "sg_event_id": self.sg_event_id, "sg_message_id": self.sg_message_id, "category": category or None,
            "response": self.response, "url": self.url, "useragent": self.useragent, "ip": self.ip,
            "reason": self.reason, "status": self.status, "type": self.bounce_type,
        })


def sendgrid_delivery(events: Sequence[SendGridEvent]) -> Delivery:
    """A batch POST: a JSON array of mixed event types. Dedup on ``sg_event_id``."""
    if not events:
        raise ValueError("a SendGrid batch needs at least one event")
    # sendgrid-python's signed test vector ends its body with CRLF: receivers must not strip it.
    body = json.dumps([e.to_json() for e in events], sort_keys=True, separators=(",", ":")).encode() + b"\r\n"
    ids = tuple(e.sg_event_id for e in events)
    return Delivery("sendgrid", f"sendgrid:{_sha256(*ids)[:20]}", "POST", SENDGRID_PATH, body,
                    {"Content-Type": JSON}, ids)


# -- Twilio ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TwilioStatus:
    """One SMS status callback; a message produces several, possibly out of order."""

    message_sid: str
    account_sid: str
    from_: str
    to: str
    status: str  # queued, sent, delivered, undelivered, failed, ...
    error_code: int | None = None  # only on failed / undelivered
    api_version: str = "2010-04-01"

    def params(self) -> list[tuple[str, str]]:
        """The form fields in the order Twilio tends to send them."""
        error = [("ErrorCode", str(self.error_code))] if self.error_code is not None else []
        return [
            *error, ("SmsSid", self.message_sid), ("SmsStatus", self.status), ("MessageStatus", self.status),
            ("To", self.to), ("MessageSid", self.message_sid), ("AccountSid", self.account_sid),
            ("From", self.from_), ("ApiVersion", self.api_version),
        ]


def twilio_delivery(status: TwilioStatus) -> Delivery:
    """A form-encoded POST. Dedup on ``MessageSid`` + ``MessageStatus``."""
    body = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in status.params()).encode()
    dedup = f"{status.message_sid}:{status.status}"
    return Delivery("twilio", f"twilio:{dedup}", "POST", TWILIO_PATH, body, {"Content-Type": FORM}, (dedup,))


# -- Meta -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetaLead:
    """A Lead Ads ``leadgen`` change: only ids; the lead's answers are read from the Graph API."""

    leadgen_id: str
    page_id: str
    form_id: str
    ad_id: str
    adgroup_id: str
    created_time: int

    @property
    def field(self) -> str:
        """The subscribed field this change belongs to."""
        return "leadgen"

    def value(self) -> dict[str, object]:
        """The change's ``value`` object."""
        return {"ad_id": self.ad_id, "form_id": self.form_id, "leadgen_id": self.leadgen_id,
                "created_time": self.created_time, "page_id": self.page_id, "adgroup_id": self.adgroup_id}


@dataclass(frozen=True)
class MetaChange:
    """Any other page change (e.g. ``feed`` comments, which carry people's names)."""

    page_id: str
    field: str
    payload: Mapping[str, object]

    def value(self) -> dict[str, object]:
        """The change's ``value`` object."""
        return dict(self.payload)


def meta_dedup_key(object_: str, entry_id: str, entry_time: int, change: MetaLead | MetaChange) -> str:
    """``leadgen_id`` for leads, else a content hash of the change (field notes 3.2)."""
    if isinstance(change, MetaLead):
        return change.leadgen_id
    return _sha256(object_, entry_id, entry_time, change.field, _canonical(change.value()))


def meta_delivery(changes: Sequence[MetaLead | MetaChange], *, time: int, object_: str = "page") -> Delivery:
    """A page webhook POST: one ``entry`` per page, its changes in order, unicode-escaped JSON."""
    if not changes:
        raise ValueError("a Meta webhook needs at least one change")
    entries: dict[str, list[MetaLead | MetaChange]] = {}
    for change in changes:
        entries.setdefault(change.page_id, []).append(change)
    payload = {"object": object_, "entry": [
        {"id": page, "time": time, "changes": [{"field": c.field, "value": c.value()} for c in page_changes]}
        for page, page_changes in entries.items()
    ]}
    dedup = tuple(meta_dedup_key(object_, c.page_id, time, c) for c in changes)
    return Delivery("meta", f"meta:{_sha256(*dedup)[:20]}", "POST", META_PATH, signing.meta_body(payload),
                    {"Content-Type": JSON}, dedup)


# Names that change bytes when a receiver parses and re-dumps the JSON (field notes 3.2).
META_NAMES = ("José Núñez", "Begoña Ibáñez", "محمد العلي", "Zoë Ørsted")


def meta_names_fixture(page_id: str = "104857600000001", *, time: int = 1788249600) -> Delivery:
    """A lead plus ``feed`` comments by people with non-ASCII names: the raw-bytes verification fixture."""
    lead = MetaLead("900000000000001", page_id, "700000000000001", "120000000000000001", "120000000000000002",
                    time - 5)
    comments = [
        MetaChange(page_id, "feed", {
            "from": {"id": str(5550000 + i), "name": name}, "item": "comment", "verb": "add",
            "post_id": f"{page_id}_6000001", "comment_id": f"6000001_{7000 + i}", "created_time": time - i,
            "message": f"¡Hola! ¿Precio? — {name}",
        })
        for i, name in enumerate(META_NAMES)
    ]
    return meta_delivery([lead, *comments], time=time)


# -- AppsFlyer ------------------------------------------------------------------------------------


def appsflyer_time(moment: datetime) -> str:
    """``yyyy-mm-dd hh:mm:ss.sss`` in UTC, AppsFlyer's Push API timestamp format."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d}"


@dataclass(frozen=True)
class AppsFlyerEvent:
    """One Push API event with raw-data v5 field names."""

    appsflyer_id: str
    event_name: str
    event_time: datetime
    app_id: str
    platform: str
    media_source: str = ""
    campaign: str = ""
    af_c_id: str = ""
    af_adset: str = ""
    customer_user_id: str = ""
    event_value: Mapping[str, object] | None = None  # sent as a JSON string
    event_revenue: str = ""
    event_revenue_currency: str = ""
    is_retargeting: bool = False
    conversion_type: str = "install"  # install | re-engagement
    is_primary_attribution: bool = True
    install_time: datetime | None = None

    def event_value_text(self) -> str:
        """``event_value`` as the JSON string AppsFlyer sends (empty when there is none)."""
        return _canonical(self.event_value) if self.event_value else ""

    def to_json(self) -> dict[str, object]:
        """The pushed object; blank keys are omitted."""
        return _compact({
            "appsflyer_id": self.appsflyer_id, "event_name": self.event_name,
            "event_time": appsflyer_time(self.event_time), "app_id": self.app_id, "platform": self.platform,
            "media_source": self.media_source, "campaign": self.campaign, "af_c_id": self.af_c_id,
            "af_adset": self.af_adset, "customer_user_id": self.customer_user_id,
            "event_value": self.event_value_text(), "event_revenue": self.event_revenue,
            "event_revenue_currency": self.event_revenue_currency, "is_retargeting": self.is_retargeting,
            "conversion_type": self.conversion_type, "is_primary_attribution": self.is_primary_attribution,
            "install_time": appsflyer_time(self.install_time) if self.install_time else None,
        })


def appsflyer_delivery(event: AppsFlyerEvent) -> Delivery:
    """A Push API POST. Dedup on a hash of id, name, time, value and conversion type."""
    body = json.dumps(event.to_json(), separators=(",", ":"), ensure_ascii=False).encode()
    dedup = _sha256(event.appsflyer_id, event.event_name, appsflyer_time(event.event_time),
                    event.event_value_text(), event.conversion_type)
    return Delivery("appsflyer", f"appsflyer:{dedup[:20]}", "POST", APPSFLYER_PATH, body,
                    {"Content-Type": JSON}, (dedup,))


# -- Adjust ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdjustCallback:
    """The placeholders of one Adjust callback (times in unix seconds)."""

    activity_kind: str  # install, session, event, reattribution, ...
    created_at: int
    adid: str
    network: str
    campaign: str = ""
    adgroup: str = ""
    creative: str = ""
    gps_adid: str = ""
    idfa: str = ""
    installed_at: int | None = None
    event: str = ""  # the event token
    revenue_float: str = ""
    currency: str = ""

    @property
    def tracker_name(self) -> str:
        """``Network::Campaign::Adgroup::Creative``."""
        return "::".join((self.network, self.campaign, self.adgroup, self.creative))

    def placeholders(self) -> dict[str, str | int | None]:
        """Placeholder name -> value."""
        return {
            "adid": self.adid, "gps_adid": self.gps_adid, "idfa": self.idfa, "activity_kind": self.activity_kind,
            "created_at": self.created_at, "installed_at": self.installed_at, "tracker_name": self.tracker_name,
            "event": self.event, "revenue_float": self.revenue_float, "currency": self.currency,
        }


def adjust_delivery(callback: AdjustCallback) -> Delivery:
    """A GET to adlake's callback template. Dedup on a hash of activity kind, created_at and adid."""
    filled = callback.placeholders()
    query = signing.adjust_callback_query({param: filled[ph] for param, ph in ADJUST_TEMPLATE.items()})
    dedup = _sha256(callback.activity_kind, callback.created_at, callback.adid)
    return Delivery("adjust", f"adjust:{dedup[:20]}", "GET", f"{ADJUST_PATH}?{query}", b"", {}, (dedup,))


# -- First-party events (Standard Webhooks) -------------------------------------------------------


@dataclass(frozen=True)
class FirstPartyEvent:
    """A pixel (``web``) or server event sent to adlake's own ``/events`` endpoint."""

    event_id: str
    event_name: str
    timestamp: datetime
    source: Literal["web", "server"]
    page_url: str = ""
    utm: Mapping[str, str] = field(default_factory=dict)  # utm_source, utm_medium, utm_campaign, ...
    click_ids: Mapping[str, str] = field(default_factory=dict)  # gclid, fbclid, ttclid, li_fat_id, msclkid
    referrer: str = ""
    identifiers: Mapping[str, str] = field(default_factory=dict)  # anonymous_id, user_id, email, fbp, fbc
    ad_user_data: Literal["granted", "denied"] = "denied"
    ad_personalization: Literal["granted", "denied"] = "denied"
    value: Decimal | None = None
    currency: str = ""

    def to_json(self) -> dict[str, object]:
        """The event object; blank fields are omitted."""
        stamp = self.timestamp.astimezone(UTC)
        return _compact({
            "event_id": self.event_id, "event_name": self.event_name,
            "timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z",
            "source": self.source, "page_url": self.page_url, "referrer": self.referrer,
            **dict(self.utm), **dict(self.click_ids),
            "identifiers": _compact(self.identifiers),
            "consent": {"ad_user_data": self.ad_user_data, "ad_personalization": self.ad_personalization},
            # A JSON number with the decimal's own digits (json cannot write Decimal directly).
            "value": float(self.value) if self.value is not None else None, "currency": self.currency,
        })


def first_party_delivery(event: FirstPartyEvent) -> Delivery:
    """A POST to ``/events``; ``webhook-id`` (source and event id, stable across retries) is the dedup key."""
    body = json.dumps(event.to_json(), separators=(",", ":"), ensure_ascii=False).encode()
    # The pixel and the server report one purchase with one event id; each is its own delivery.
    message_id = f"{event.source}:{event.event_id}"
    return Delivery("standard", f"standard:{message_id}", "POST", EVENTS_PATH, body,
                    {"Content-Type": JSON, signing.STANDARD_ID_HEADER: message_id}, (message_id,))


# -- Sample deliveries from a seed ----------------------------------------------------------------


def _hex(rng_bits: int, length: int = 32) -> str:
    return f"{rng_bits:0{length}x}"[:length]


def _sample_sendgrid(seed: int, i: int, at: datetime) -> Delivery:
    rng = stream(seed, "webhook", "sendgrid", i)
    email = f"user{rng.randrange(10_000)}@example.org"
    message = base64.urlsafe_b64encode(rng.randbytes(16)).decode().rstrip("=")
    steps = ["processed", "delivered", "open", "click"][: rng.randrange(1, 5)]
    if rng.random() < 0.15:
        steps = ["processed", "bounce"]
    elif rng.random() < 0.1:
        steps = [*steps, "unsubscribe"]
    base = int(at.timestamp())
    events = []
    for n, kind in enumerate(steps):
        extra: dict[str, str] = {
            "delivered": {"response": "250 OK"},
            "open": {"useragent": "Mozilla/5.0", "ip": "203.0.113.7"},
            "click": {"url": f"https://shop.example/p/{rng.randrange(100)}", "useragent": "Mozilla/5.0",
                      "ip": "203.0.113.7"},
            "bounce": {"reason": "550 5.1.1 The email account does not exist.", "status": "5.1.1",
                       "bounce_type": "bounce"},
        }.get(kind, {})
        events.append(SendGridEvent(
            kind, email, base + 60 * n,
            base64.urlsafe_b64encode(hashlib.sha256(f"{message}|{kind}".encode()).digest()[:18]).decode(),
            f"{message}.filterdrecv-sandbox-0", smtp_id=f"<{message}@sandbox.sendgrid.net>",
            category=("newsletter",), **extra,
        ))
    return sendgrid_delivery(events)


def _sample_twilio(seed: int, i: int) -> list[Delivery]:
    rng = stream(seed, "webhook", "twilio", i)
    sid, account = "SM" + _hex(rng.getrandbits(128)), "AC" + _hex(stream(seed, "twilio-account").getrandbits(128))
    to = f"+48{rng.randrange(500_000_000, 899_999_999)}"
    outcomes: list[tuple[str, int | None]] = [("undelivered", 30003), ("failed", 30006)]
    final, error = ("delivered", None) if rng.random() < 0.85 else rng.choice(outcomes)
    return [twilio_delivery(TwilioStatus(sid, account, "+48500100200", to, "sent")),
            twilio_delivery(TwilioStatus(sid, account, "+48500100200", to, final, error))]


def _sample_meta(seed: int, i: int, at: datetime) -> Delivery:
    rng = stream(seed, "webhook", "meta", i)
    page = f"1048576{rng.randrange(10**8):08d}"
    leads = [MetaLead(f"9{rng.randrange(10**14):014d}", page, f"7{rng.randrange(10**14):014d}",
                      f"12{rng.randrange(10**16):016d}", f"12{rng.randrange(10**16):016d}",
                      int(at.timestamp()) - rng.randrange(60))
             for _ in range(rng.randrange(1, 4))]
    return meta_delivery(leads, time=int(at.timestamp()))


def _sample_appsflyer(seed: int, i: int, at: datetime) -> Delivery:
    rng = stream(seed, "webhook", "appsflyer", i)
    cents = rng.randrange(1_000, 40_000)
    revenue = f"{cents // 100}.{cents % 100:02d}"
    purchase = rng.random() < 0.6
    retargeting = rng.random() < 0.2
    return appsflyer_delivery(AppsFlyerEvent(
        appsflyer_id=f"{1714700000000 + rng.randrange(10**9)}-{rng.randrange(10**7):07d}",
        event_name="af_purchase" if purchase else "af_complete_registration",
        event_time=at + timedelta(milliseconds=rng.randrange(1000)),
        app_id="com.nordlys.home", platform="android",
        media_source=rng.choice(["googleadwords_int", "Facebook Ads", "tiktokglobal_int"]),
        campaign="app_pl_spring", af_c_id=str(881234 + rng.randrange(5)),
        customer_user_id=f"crm_{rng.randrange(10_000)}" if rng.random() < 0.5 else "",
        event_value={"af_revenue": revenue, "af_currency": "PLN"} if purchase else None,
        event_revenue=revenue if purchase else "", event_revenue_currency="PLN" if purchase else "",
        is_retargeting=retargeting, conversion_type="re-engagement" if retargeting else "install",
    ))


def _sample_adjust(seed: int, i: int, at: datetime) -> Delivery:
    rng = stream(seed, "webhook", "adjust", i)
    kind = rng.choice(["install", "session", "event", "event"])
    event = kind == "event"
    return adjust_delivery(AdjustCallback(
        activity_kind=kind, created_at=int(at.timestamp()) + rng.randrange(60), adid=_hex(rng.getrandbits(128)),
        network=rng.choice(["Google Ads UAC", "Facebook Installs", "Organic"]), campaign="Spring PL",
        adgroup="Broad", creative="Video 15s", gps_adid=f"{_hex(rng.getrandbits(128))}",
        installed_at=int(at.timestamp()) - 86_400, event="abc123" if event else "",
        revenue_float=f"{rng.randrange(500, 9000) / 100:.2f}" if event else "", currency="PLN" if event else "",
    ))


def _sample_first_party(seed: int, i: int, at: datetime) -> Delivery:
    rng = stream(seed, "webhook", "events", i)
    purchase = rng.random() < 0.3
    token = _hex(rng.getrandbits(64), 16)
    click = rng.choice([{"gclid": "Cj0K" + token}, {"fbclid": "IwAR" + token}, {"ttclid": "E.C.P." + token},
                        {"li_fat_id": token}, {}])
    return first_party_delivery(FirstPartyEvent(
        event_id=f"evt_{_hex(rng.getrandbits(96), 24)}", event_name="purchase" if purchase else "page_view",
        timestamp=at + timedelta(milliseconds=rng.randrange(60_000)), source="server" if purchase else "web",
        page_url=f"https://shop.example/p/{rng.randrange(100)}",
        utm={"utm_source": "meta", "utm_medium": "paid_social", "utm_campaign": "prospecting_pl"} if click else {},
        click_ids=click, identifiers={"anonymous_id": _hex(rng.getrandbits(64), 16)},
        ad_user_data=rng.choice(["granted", "denied"]), ad_personalization=rng.choice(["granted", "denied"]),
        value=Decimal(rng.randrange(1_000, 50_000)) / 100 if purchase else None, currency="PLN" if purchase else "",
    ))


def sample_deliveries(seed: int, count_per_provider: int = 10, *, start: datetime = DEFAULT_START) -> list[Delivery]:
    """A deterministic mix of every provider's deliveries, in event-time order per provider, interleaved."""
    per_provider: list[list[Delivery]] = [[] for _ in range(6)]
    for i in range(count_per_provider):
        at = start + timedelta(minutes=7 * i)
        per_provider[0].append(_sample_sendgrid(seed, i, at))
        per_provider[1].extend(_sample_twilio(seed, i))
        per_provider[2].append(_sample_meta(seed, i, at))
        per_provider[3].append(_sample_appsflyer(seed, i, at))
        per_provider[4].append(_sample_adjust(seed, i, at))
        per_provider[5].append(_sample_first_party(seed, i, at))
    longest = max(len(p) for p in per_provider)
    return [p[n] for n in range(longest) for p in per_provider if n < len(p)]


# -- The emitter ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How a provider redelivers (field notes 3.2-3.7), compressed into sandbox time by the emitter."""

    redelivers: bool = True  # AppsFlyer Push never redelivers
    retry_client_errors: bool = True  # Adjust retries only on 5xx and unreachable endpoints
    immediate_first_retry: bool = False  # Meta retries at once, then less and less often
    stop_statuses: frozenset[int] = frozenset()  # Standard Webhooks: 410 disables the endpoint
    max_attempts: int | None = None  # the provider's own cap (Adjust: 1 + 6 retries)


POLICIES: dict[str, RetryPolicy] = {
    "sendgrid": RetryPolicy(),
    "twilio": RetryPolicy(),
    "meta": RetryPolicy(immediate_first_retry=True),
    "standard": RetryPolicy(stop_statuses=frozenset({410})),
    "appsflyer": RetryPolicy(redelivers=False),
    "adjust": RetryPolicy(retry_client_errors=False, max_attempts=7),
}


@dataclass(frozen=True)
class Attempt:
    """One request of the schedule. ``error`` is an exception class name only: request errors quote
    the URL, and an Adjust URL carries its token."""

    key: str
    provider: str
    attempt: int  # 1-based, counted separately for the original and for its duplicate
    status: int | None  # None: connection error or timeout
    duplicate: bool
    delay_seconds: float  # how long the emitter slept right before this attempt (0 when others were due)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the receiver acknowledged this attempt (2xx)."""
        return self.status is not None and 200 <= self.status < 300


@dataclass
class EmissionLog:
    """Every attempt in the order it was made."""

    attempts: list[Attempt] = field(default_factory=list)

    def schedule(self) -> list[tuple[str, int, bool, int | None]]:
        """(key, attempt, duplicate, status) per request: equal for equal seeds and receiver answers."""
        return [(a.key, a.attempt, a.duplicate, a.status) for a in self.attempts]

    def acknowledged(self) -> set[str]:
        """Keys the receiver acknowledged at least once."""
        return {a.key for a in self.attempts if a.ok}

    def duplicates(self) -> set[str]:
        """Keys re-sent after an acknowledgement."""
        return {a.key for a in self.attempts if a.duplicate}

    def dropped(self) -> set[str]:
        """Keys the provider gave up on without an acknowledgement."""
        return {a.key for a in self.attempts} - self.acknowledged()


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    delivery: Delivery = field(compare=False)
    attempt: int = field(compare=False, default=1)
    duplicate: bool = field(compare=False, default=False)


class WebhookEmitter:
    """Send deliveries to a receiver the way the providers do: retries, duplicates, reordering.

    Time is virtual for the schedule (request latency does not change it) and real for waiting:
    the emitter sleeps the planned backoff, so ``backoff_seconds`` sets how compressed a
    provider's hours of retries become.
    """

    def __init__(
        self,
        base_url: str,
        secrets: WebhookSecrets,
        *,
        seed: int,
        duplicate_rate: float = 0.1,
        max_attempts: int = 5,
        backoff_seconds: float = 0.2,
        max_backoff_seconds: float = 5.0,
        reorder_window: int = 8,
        public_base_url: str | None = None,
        appsflyer_token_in: TokenPlacement = "header",
        timeout_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        if not 0.0 <= duplicate_rate <= 1.0:
            raise ValueError("duplicate_rate must be within [0, 1]")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.public_base_url = (public_base_url or base_url).rstrip("/")
        self.secrets = secrets
        self.seed = seed
        self.duplicate_rate = duplicate_rate
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.reorder_window = reorder_window
        self.appsflyer_token_in: TokenPlacement = appsflyer_token_in
        self.timeout_seconds = timeout_seconds
        self._clock = clock
        self._sleep = sleep
        self._session = session or requests.Session()

    def close(self) -> None:
        """Release the HTTP session's connections."""
        self._session.close()

    def __enter__(self) -> WebhookEmitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- deterministic choices --------------------------------------------------------------------
    def send_order(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """Deliveries shuffled within consecutive windows of ``reorder_window``."""
        ordered: list[Delivery] = []
        window = max(1, self.reorder_window)
        for start in range(0, len(deliveries), window):
            chunk = list(deliveries[start:start + window])
            stream(self.seed, "reorder", start).shuffle(chunk)
            ordered.extend(chunk)
        return ordered

    def is_duplicated(self, delivery: Delivery) -> bool:
        """Whether an acknowledged delivery is sent once more (a per-key draw, so it is stable)."""
        policy = POLICIES[delivery.provider]
        return policy.redelivers and stream(self.seed, "duplicate", delivery.key).random() < self.duplicate_rate

    def backoff(self, delivery: Delivery, attempt: int, duplicate: bool, retry_after: float | None = None) -> float:
        """The wait after failed ``attempt``: exponential with seeded jitter, capped; honours Retry-After."""
        if retry_after is not None:
            return min(retry_after, self.max_backoff_seconds)
        if attempt == 1 and POLICIES[delivery.provider].immediate_first_retry:
            return 0.0
        jitter = stream(self.seed, "backoff", delivery.key, duplicate, attempt).uniform(0.5, 1.5)
        return min(self.backoff_seconds * 2 ** (attempt - 1) * jitter, self.max_backoff_seconds)

    def _duplicate_delay(self, delivery: Delivery) -> float:
        return self.backoff_seconds * stream(self.seed, "duplicate-delay", delivery.key).uniform(0.0, 4.0)

    def _should_retry(self, job: _Job, status: int | None) -> bool:
        policy = POLICIES[job.delivery.provider]
        cap = min(self.max_attempts, policy.max_attempts or self.max_attempts)
        if not policy.redelivers or job.attempt >= cap or status in policy.stop_statuses:
            return False
        return status is None or status >= 500 or policy.retry_client_errors

    # -- sending ----------------------------------------------------------------------------------
    def signing_url(self, path: str) -> str:
        """The URL a URL-signing provider (Twilio) signs: the receiver's public URL for ``path``."""
        return self.public_base_url + path

    def _request(self, delivery: Delivery) -> tuple[int | None, str | None, float | None]:
        signed = sign_delivery(delivery, self.secrets, signing_url=self.signing_url(delivery.path),
                               timestamp=int(self._clock()), appsflyer_token_in=self.appsflyer_token_in)
        try:
            response = self._session.request(
                signed.method, self.base_url + signed.path, data=signed.body or None, headers=dict(signed.headers),
                timeout=self.timeout_seconds, allow_redirects=False,  # a redirect is a failure, as for Adjust
            )
        except requests.RequestException as exc:
            return None, type(exc).__name__, None
        retry_after = response.headers.get("Retry-After", "")
        # Only the delta-seconds form; an HTTP date or junk falls back to the computed backoff.
        return response.status_code, None, float(retry_after) if re.fullmatch(r"[0-9]{1,6}", retry_after) else None

    def send(self, deliveries: Iterable[Delivery]) -> EmissionLog:
        """Send every delivery (with retries and duplicates) and return the attempts in order."""
        items = list(deliveries)
        if len({d.key for d in items}) != len(items):
            raise ValueError("delivery keys must be unique: they drive the seeded schedule")
        queue = [_Job(0.0, seq, d) for seq, d in enumerate(self.send_order(items))]
        heapq.heapify(queue)
        seq, now, log = len(queue), 0.0, EmissionLog()
        while queue:
            job = heapq.heappop(queue)
            wait = max(0.0, job.due - now)
            if wait:
                self._sleep(wait)
            now = max(now, job.due)
            status, error, retry_after = self._request(job.delivery)
            log.attempts.append(Attempt(job.delivery.key, job.delivery.provider, job.attempt, status,
                                        job.duplicate, wait, error))
            follow_up = self._follow_up(job, status, retry_after, now, seq)
            if follow_up is not None:
                heapq.heappush(queue, follow_up)
                seq += 1
        return log

    def _follow_up(self, job: _Job, status: int | None, retry_after: float | None, now: float,
                   seq: int) -> _Job | None:
        """The next job this attempt causes: a retry, a duplicate, or nothing."""
        if status is not None and 200 <= status < 300:
            if job.duplicate or not self.is_duplicated(job.delivery):
                return None
            return _Job(now + self._duplicate_delay(job.delivery), seq, job.delivery, 1, True)
        if not self._should_retry(job, status):
            return None
        delay = self.backoff(job.delivery, job.attempt, job.duplicate, retry_after)
        return _Job(now + delay, seq, job.delivery, job.attempt + 1, job.duplicate)
