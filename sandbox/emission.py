"""The world's pushed events as the real providers would deliver them.

From the simulated journeys: a pixel page view for every click the world ties to a person except
email clicks, which SendGrid reports (the landing page's UTM tags, click id and referrer, on one of
the person's browsers), pixel and server
events for every conversion (one event id per purchase, shared by both), SendGrid batches for email
deliveries, opens and clicks, Twilio status callbacks for SMS, Meta lead-ads webhooks for the leads
Meta claims, AppsFlyer pushes for in-app purchases and Adjust install callbacks. Deliveries are
then sent by ``WebhookEmitter`` (signatures, retries, duplicates, reordering).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import numpy as np

from sandbox.appsflyer import APP_ID, AppsFlyerApp
from sandbox.identities import lookup
from sandbox.journeys import (
    CHANNELS,
    CLICK,
    CONVERSION_TYPES,
    PAID,
    DayConversions,
    DayTouches,
    Journeys,
    conversion_ids,
    rng_for,
)
from sandbox.server import Clock
from sandbox.webhooks import (
    AdjustCallback,
    AppsFlyerEvent,
    Delivery,
    FirstPartyEvent,
    MetaLead,
    SendGridEvent,
    TwilioStatus,
    adjust_delivery,
    appsflyer_delivery,
    first_party_delivery,
    meta_delivery,
    sendgrid_delivery,
    twilio_delivery,
)
from sandbox.world import World

SENDGRID_BATCH = 50
META_PAGE_ID = "104857600000001"
META_FORM_ID = "776655440001"
TWILIO_ACCOUNT = "AC" + "5a" * 16
TWILIO_FROM = "+48500100200"


def _hash(*parts: object, length: int = 22) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:length]


def world_deliveries(world: World, *, last_days: int | None = None) -> list[Delivery]:
    """Every push delivery of the world's last ``last_days`` days (all days when None), in time order."""
    journeys, owned, clicks = _simulate(world)
    first_day = 0 if last_days is None else max(0, world.config.days - last_days)
    timed: list[tuple[int, str, Delivery]] = []
    timed += [(_epoch(world, v.day, v.second), f"web:{v.event.event_id}", first_party_delivery(v.event))
              for v in _visits(world, journeys, clicks, first_day)]
    timed += _first_party(world, journeys, first_day)
    timed += _messaging(world, journeys, owned, first_day)
    timed += _meta_leads(world, journeys, first_day)
    timed += _mobile(world, journeys, first_day)
    return [delivery for _, _, delivery in sorted(timed, key=lambda t: (t[0], t[1]))]


_Days = list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def _simulate(world: World) -> tuple[Journeys, _Days, _Days]:
    """The journeys, with each day's email/SMS sends and each day's clicks (person, channel, ad, second)."""
    owned: _Days = []
    clicks: _Days = []
    messaging = [CHANNELS.index("email"), CHANNELS.index("sms")]

    def keep(day_number: int, _day: object, touches: DayTouches, _c: DayConversions) -> None:
        sel = np.isin(touches.channel, messaging)
        owned.append((day_number, touches.person[sel], touches.channel[sel], touches.ad[sel], touches.second[sel]))
        sel = touches.kind == CLICK
        clicks.append((day_number, touches.person[sel], touches.channel[sel], touches.ad[sel], touches.second[sel]))

    journeys = Journeys.simulate(world, keep)
    world.__dict__.setdefault("journeys", journeys)  # the MMP emulation reads the same simulation
    return journeys, owned, clicks


@dataclass(frozen=True)
class Visit:
    """A landing page view the pixel reports for one click, with the truth behind it."""

    event: FirstPartyEvent
    person_id: int
    channel: str  # the world's channel of the click (sandbox names)
    ad_id: str | None
    day: int
    second: int


# How each channel's clicks land: (utm_source, utm_medium, click id parameter); None: no tags.
_LANDING = {
    "meta": ("facebook", "paid_social", "fbclid"),
    "google_ads": ("google", "cpc", "gclid"),
    "linkedin_ads": ("linkedin", "paid_social", "li_fat_id"),
    "tiktok_ads": ("tiktok", "paid_social", "ttclid"),
    "microsoft_ads": ("bing", "cpc", "msclkid"),
    "programmatic": ("dv360", "display", None),
    "affiliate": ("awin", "affiliate", None),
    "sms": ("sms_promo", "sms", None),
}
_SEARCH_ENGINES = ("https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/")
# Values some trackers put in a user id slot when nobody is logged in: shared by many people.
JUNK_USER_IDS = ("anonymous", "undefined", "0", "-1", "null", "n/a")
LOGIN_RATE = 0.35  # share of visits on which the person is logged in (the pixel sends the user id)
JUNK_RATE = 0.03  # share of visits whose user id slot holds a junk value
UNTAGGED_GOOGLE = 0.4  # share of Google clicks with auto-tagging only (gclid, no UTM tags)


def visits(world: World, *, last_days: int | None = None) -> list[Visit]:
    """The pixel page views of the world's last ``last_days`` days (all when None), with their truth."""
    journeys, _owned, clicks = _simulate(world)
    first_day = 0 if last_days is None else max(0, world.config.days - last_days)
    return _visits(world, journeys, clicks, first_day)


def _visits(world: World, journeys: Journeys, clicks: _Days, first_day: int) -> list[Visit]:
    wanted = [day for day in clicks if day[0] >= first_day]
    people = lookup(world.config.seed, journeys.population, sorted({int(x) for d in wanted for x in d[1]}))
    out: list[Visit] = []
    email = CHANNELS.index("email")
    for day, persons, channels, ads, seconds in wanted:
        rng = rng_for(world.config.seed, "visits", day)
        draws = rng.random((len(persons), 4))
        for i, (person, channel, ad, second) in enumerate(
                zip(persons.tolist(), channels.tolist(), ads.tolist(), seconds.tolist(), strict=True)):
            if channel == email:
                continue  # an email click is SendGrid's click event (one touch, not two)
            out.append(_visit(world, journeys, people[person], person, CHANNELS[channel], ad, day, second, draws[i]))
    return out


def _visit(world: World, journeys: Journeys, person: dict[str, object], person_id: int, channel: str, ad: int,
           day: int, second: int, draw: np.ndarray) -> Visit:
    event_id = f"pv-{_hash('pv', world.config.seed, day, person_id, second, channel, ad)}"
    cookies = list(person["cookie_ids"])  # type: ignore[call-overload]
    # Most visits come from the person's main browser; the others from their other devices.
    cookie = cookies[0] if draw[0] < 0.6 else cookies[int(draw[0] * 1000) % len(cookies)]
    identifiers = {"anonymous_id": cookie}
    if draw[1] < LOGIN_RATE:
        identifiers["user_id"] = f"cu_{person_id}"
    elif draw[1] < LOGIN_RATE + JUNK_RATE:
        identifiers["user_id"] = JUNK_USER_IDS[int(draw[2] * len(JUNK_USER_IDS))]
    utm: dict[str, str] = {}
    click_ids: dict[str, str] = {}
    referrer = ""
    ad_obj = journeys.ads[ad] if ad >= 0 else None
    if channel == "organic":
        referrer = _SEARCH_ENGINES[int(draw[2] * len(_SEARCH_ENGINES))]
    elif channel != "direct":
        source, medium, click_param = _LANDING[channel]
        if click_param:
            click_ids[click_param] = _hash("click", event_id, length=32)
        if not (channel == "google_ads" and draw[3] < UNTAGGED_GOOGLE):
            utm = {"utm_source": source, "utm_medium": medium}
            if ad_obj is not None:
                utm["utm_campaign"] = ad_obj.ad_group.campaign.name
                utm["utm_content"] = ad_obj.ad_id
    query = urlencode({**utm, **click_ids})
    at = _moment(world, day, second)
    event = FirstPartyEvent(
        event_id=event_id, event_name="PageView", timestamp=at, source="web",
        page_url="https://shop.nordlys.example/" + (f"?{query}" if query else ""), utm=utm, click_ids=click_ids,
        referrer=referrer, identifiers=identifiers,
        ad_user_data="granted" if person["consent_ad_user_data"] else "denied",
        ad_personalization="granted" if person["consent_ad_personalization"] else "denied")
    return Visit(event, person_id, channel, ad_obj.ad_id if ad_obj is not None else None, day, second)


def _moment(world: World, day: int, second: int) -> datetime:
    start = world.config.start_date
    return datetime(start.year, start.month, start.day, tzinfo=UTC) + timedelta(days=int(day), seconds=int(second))


def _epoch(world: World, day: int, second: int) -> int:
    return int(_moment(world, day, second).timestamp())


def _first_party(world: World, journeys: Journeys, first_day: int) -> list[tuple[int, str, Delivery]]:
    c = journeys.conversions
    ids = conversion_ids(c)
    chosen = np.flatnonzero(c["day"] >= first_day)
    people = lookup(world.config.seed, journeys.population, sorted({int(p) for p in c["person"][chosen]}))
    out = []
    for i in chosen.tolist():
        person = people[int(c["person"][i])]
        kind = CONVERSION_TYPES[int(c["kind"][i])]
        granted = "granted" if person["consent_ad_user_data"] else "denied"
        personalization = "granted" if person["consent_ad_personalization"] else "denied"
        at = _epoch(world, c["day"][i], c["second"][i])
        common = {
            "event_id": f"order-{ids[i]}", "event_name": "Lead" if kind == "lead" else "Purchase",
            "timestamp": _moment(world, c["day"][i], c["second"][i]), "ad_user_data": granted,
            "ad_personalization": personalization,
            "value": None if kind == "lead" else Decimal(int(c["value_cents"][i])) / 100,
            "currency": "" if kind == "lead" else "PLN",
        }
        identifiers = {"anonymous_id": person["cookie_ids"][0], "user_id": f"cu_{int(c['person'][i])}",
                       "email": person["email"]}
        if c["pixel_reported"][i] or kind == "lead":
            out.append((at, f"web:{ids[i]}", first_party_delivery(FirstPartyEvent(
                source="web", page_url="https://shop.nordlys.example/checkout/thank-you",
                identifiers={"anonymous_id": identifiers["anonymous_id"]}, **common))))
        if c["server_reported"][i]:
            # The server knows the customer; it fires a little after the browser.
            out.append((at + 2, f"server:{ids[i]}", first_party_delivery(FirstPartyEvent(
                source="server", identifiers=identifiers, **common))))
    return out


def _messaging(world: World, journeys: Journeys, owned: _Days, first_day: int) -> list[tuple[int, str, Delivery]]:
    wanted = [(d, p, ch, s) for d, p, ch, _ad, s in owned if d >= first_day]
    everyone = sorted({int(x) for _, people, _, _ in wanted for x in people})
    people = lookup(world.config.seed, journeys.population, everyone)
    out: list[tuple[int, str, Delivery]] = []
    for day, persons, channels, seconds in wanted:
        batch: list[SendGridEvent] = []
        for person, channel, second in zip(persons.tolist(), channels.tolist(), seconds.tolist(), strict=True):
            sent = _epoch(world, day, max(0, second - 3600))
            if CHANNELS[channel] == "email":
                message = f"{_hash('sg', world.config.seed, day, person, length=16)}.filter0001"
                email = str(people[person]["email"])
                for offset, event in ((0, "delivered"), (1200, "open"), (3600, "click")):
                    batch.append(SendGridEvent(
                        event=event, email=email, timestamp=sent + offset, sg_message_id=message,
                        sg_event_id=_hash("sgev", message, event), category=("newsletter",),
                        response="250 OK" if event == "delivered" else None,
                        url="https://shop.nordlys.example/?utm_source=newsletter&utm_medium=email"
                        if event == "click" else None))
            else:
                sid = "SM" + _hash("sms", world.config.seed, day, person, length=32)
                for offset, status in ((0, "queued"), (5, "sent"), (40, "delivered")):
                    out.append((sent + offset, f"twilio:{sid}:{status}", twilio_delivery(TwilioStatus(
                        message_sid=sid, account_sid=TWILIO_ACCOUNT, from_=TWILIO_FROM,
                        to=str(people[person]["phone_e164"]), status=status))))
        for start in range(0, len(batch), SENDGRID_BATCH):
            events = batch[start:start + SENDGRID_BATCH]
            out.append((max(e.timestamp for e in events), f"sendgrid:{day}:{start}", sendgrid_delivery(events)))
    return out


def _meta_leads(world: World, journeys: Journeys, first_day: int) -> list[tuple[int, str, Delivery]]:
    claims = journeys.claims
    meta = PAID.index("meta")
    chosen = np.flatnonzero((claims["platform"] == meta) & claims["is_lead"].astype(bool)
                            & (claims["conversion_day"] >= first_day))
    out = []
    for i in chosen.tolist():
        ad = journeys.ads[int(claims["ad"][i])]
        at = _epoch(world, claims["conversion_day"][i], 43_200)
        lead = MetaLead(leadgen_id=str(int(_hash("lead", world.config.seed, i, length=15), 16)),
                        page_id=META_PAGE_ID, form_id=META_FORM_ID, ad_id=ad.ad_id,
                        adgroup_id=ad.ad_group.ad_group_id, created_time=at)
        out.append((at, f"meta:{lead.leadgen_id}", meta_delivery([lead], time=at)))
    return out


def _mobile(world: World, journeys: Journeys, first_day: int) -> list[tuple[int, str, Delivery]]:
    """AppsFlyer pushes for in-app purchases and Adjust callbacks for installs, with the MMP's own ids."""
    mmp = AppsFlyerApp(world, Clock(world.config.end_date))
    c = journeys.conversions
    ids = conversion_ids(c)
    out = []
    app = np.flatnonzero((c["kind"] == CONVERSION_TYPES.index("app_purchase")) & (c["day"] >= first_day))
    for i in app.tolist():
        person = int(c["person"][i])
        row = mmp.identity_row(person)
        revenue = f"{int(c['value_cents'][i]) / 100:.2f}"
        at = _moment(world, c["day"][i], c["second"][i])
        out.append((int(at.timestamp()), f"appsflyer:{ids[i]}", appsflyer_delivery(AppsFlyerEvent(
            appsflyer_id=row["AppsFlyer ID"], event_name="af_purchase", event_time=at, app_id=APP_ID,
            platform="android", media_source=row["Media Source"], campaign=row["Campaign"],
            af_c_id=row["Campaign ID"], customer_user_id=row["Customer User ID"],
            event_value={"af_revenue": revenue, "af_currency": "PLN", "af_order_id": f"order-{ids[i]}"},
            event_revenue=revenue, event_revenue_currency="PLN"))))
    installs = np.flatnonzero(mmp.install_days >= first_day)
    for person in installs.tolist():
        row = mmp.identity_row(person)
        at = _epoch(world, mmp.install_days[person], mmp.install_seconds[person])
        network = "Organic" if row["Media Source"] == "organic" else row["Media Source"]
        out.append((at, f"adjust:{person}", adjust_delivery(AdjustCallback(
            activity_kind="install", created_at=at, installed_at=at, adid=_hash("adid", person, length=32),
            gps_adid=str(row["Advertising ID"]), network=network, campaign=str(row["Campaign"])))))
    return out
