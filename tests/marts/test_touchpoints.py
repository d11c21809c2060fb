"""Touchpoints against the sandbox's ground truth, in the session's pushed lake (tests/shared_lakes.py): the
world's pushed events of the last days went through the real receiver (retries, duplicates, reordering) and the
real lander, then the full ``dbt build``; the mart is read back from the lake's DuckDB file.

Expected values come from the sandbox: ``sandbox.emission.visits`` (every pixel page view with the person, the
world's channel and ad behind it), the SendGrid click events it emits and each person's consent - never from
the SQL under test.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from pipelines.lake import Lake
from sandbox.emission import Visit, visits
from sandbox.identities import lookup
from tests.lakequery import query as _query
from tests.shared_lakes import PushedLake

pytestmark = pytest.mark.slow
# The world's channel of a click -> the channel and platform the grouping must give it (paid channels and
# platforms named as the spend marts name them).
EXPECTED = {
    "meta": ("paid_social", "meta_ads"),
    "google_ads": ("paid_search", "google_ads"),
    "linkedin_ads": ("paid_social", "linkedin_ads"),
    "tiktok_ads": ("paid_social", "tiktok_ads"),
    "microsoft_ads": ("paid_search", "microsoft_ads"),
    "programmatic": ("display", "programmatic"),
    "affiliate": ("affiliate", "affiliate"),
    "sms": ("sms", None),
    "organic": ("organic_search", None),
    "direct": ("direct", None),
    "email": ("email", None),
}
TOUCH_TYPES = {"sms": "sms_click", "organic": "web_visit", "direct": "web_visit", "email": "email_click"}
COLUMNS = ("record_id, source_model, channel, platform, touch_type, click_id_type, ad_id, consent_ad_user_data, "
           "has_journey_consent, touched_at, consent_source")


@dataclass(frozen=True)
class TrueTouch:
    """A touch the sandbox emitted, with the truth behind it."""

    record_id: str  # as fct_touchpoints names it: the pixel's `webhook-id`, SendGrid's sg_event_id
    world_channel: str
    ad_id: str | None  # the ad the landing's tags name (None when it carries no tags)
    consent: str  # the person's ad_user_data consent
    at: int  # unix seconds
    clear_values: tuple[str, ...]  # the identifiers the event carried in clear
    carried_consent: bool = True  # whether the event itself carried the consent (page views do)


@dataclass
class Built:
    touches: dict[str, TrueTouch]
    rows: dict[str, tuple[Any, ...]]
    duplicates: int
    lake: Lake


def _page_view(visit: Visit, consent: dict[int, bool]) -> TrueTouch:
    event = visit.event
    return TrueTouch(
        record_id=f"web:{event.event_id}", world_channel=visit.channel,
        ad_id=visit.ad_id if event.utm.get("utm_content") else None,
        consent="granted" if consent[visit.person_id] else "denied", at=int(event.timestamp.timestamp()),
        clear_values=tuple(event.identifiers.values()))


@pytest.fixture(scope="module")
def built(pushed_lake: PushedLake) -> Built:
    """The session's pushed lake (the world's last days of pushed events, sent with retries and duplicates,
    landed and built) with the truth of every touch it was sent."""
    world, deliveries = pushed_lake.world, pushed_lake.deliveries
    page_views = visits(world, last_days=pushed_lake.push_days)
    people = lookup(world.config.seed, world.journeys.population, sorted({v.person_id for v in page_views}))
    consent = {person: bool(row["consent_ad_user_data"]) for person, row in people.items()}
    touches = {t.record_id: t for t in (_page_view(v, consent) for v in page_views)}
    clicks = [event for delivery in deliveries if delivery.provider == "sendgrid"
              for event in json.loads(delivery.body) if event["event"] == "click"]
    # The sandbox's addresses end in the person's number (sandbox/identities.py): the truth of who clicked.
    clickers = lookup(world.config.seed, world.journeys.population,
                      sorted({int(re.search(r"(\d+)@", e["email"]).group(1)) for e in clicks}))
    by_email = {row["email"]: bool(row["consent_ad_user_data"]) for row in clickers.values()}
    for event in clicks:
        touches[event["sg_event_id"]] = TrueTouch(
            event["sg_event_id"], "email", None, "granted" if by_email[event["email"]] else "denied",
            event["timestamp"], (event["email"],), carried_consent=False)
    rows = {r[0]: r for r in _query(pushed_lake.lake, f"select {COLUMNS} from marts.fct_touchpoints")}
    return Built(touches, rows, pushed_lake.duplicates, pushed_lake.lake)


def test_every_emitted_touch_is_in_the_mart_once_with_the_worlds_channel(built: Built) -> None:
    lake = built.lake
    truth, rows = built.touches, built.rows
    (count, distinct), = _query(lake, "select count(*), count(distinct (source_model, record_id)) "
                                      "from marts.fct_touchpoints")
    true_per_channel = Counter(EXPECTED[t.world_channel][0] for t in truth.values())
    mart_per_channel = Counter(r[2] for r in rows.values())
    print(f"\ntouches emitted {len(truth)} (duplicate deliveries sent {built.duplicates}), in fct_touchpoints "
          f"{count}; per channel (truth -> mart): "
          + ", ".join(f"{c} {true_per_channel[c]}->{mart_per_channel[c]}" for c in sorted(true_per_channel)))
    assert count == distinct == len(truth)
    assert set(rows) == set(truth)
    assert mart_per_channel == true_per_channel

    confusion = Counter((t.world_channel, rows[k][2], rows[k][3]) for k, t in truth.items())
    right = sum(n for (world_channel, channel, platform), n in confusion.items()
                if (channel, platform) == EXPECTED[world_channel])
    wrong = {key: n for key, n in confusion.items() if (key[1], key[2]) != EXPECTED[key[0]]}
    print(f"channel and platform equal to the world's for {right}/{len(truth)} ({right / len(truth):.2%}); "
          f"confusion (world channel, channel, platform): {wrong or 'none'}")
    assert right / len(truth) >= 0.99
    assert not wrong

    untagged_google = sum(1 for k, t in truth.items() if t.world_channel == "google_ads" and t.ad_id is None)
    gclid_only = sum(1 for r in rows.values() if r[5] == "gclid" and r[6] is None)
    print(f"Google clicks with a gclid only (no UTM tags) grouped as paid search: {gclid_only} "
          f"(world: {untagged_google})")
    assert gclid_only == untagged_google > 0
    for key, touch in truth.items():
        row = rows[key]
        expected_type = TOUCH_TYPES.get(touch.world_channel, "click")
        assert row[4] == expected_type, (key, touch.world_channel, row)
        assert row[6] == touch.ad_id, (key, row)
        assert int(row[9].timestamp()) == touch.at, key


def test_each_touch_carries_its_consent_and_no_clear_identifier(built: Built) -> None:
    lake = built.lake
    states = Counter()
    for key, touch in built.touches.items():
        consent, allowed, source = built.rows[key][7], built.rows[key][8], built.rows[key][10]
        states[(touch.world_channel == "email", source, consent)] += 1
        if touch.carried_consent:
            assert (consent, source) == (touch.consent, "event"), key
        else:
            # An email click takes its person's consent as of the click, once stitching knows the person
            # and the person recorded a state before; it never contradicts the person's real choice.
            assert (consent, source) in ((touch.consent, "person_as_of_touch"), ("unknown", "none")), key
        assert allowed == (consent in ("granted", "not_applicable")), key
    print(f"\nconsent per touch (is email click, source, state): {dict(sorted(states.items()))}")
    assert states[(False, "event", "granted")] and states[(False, "event", "denied")]

    # No clear identifier past the boundary: the cookies, user ids and emails the events carried.
    columns = [name for name, type_ in _query(lake, "select column_name, data_type from information_schema.columns "
                                                    "where table_schema = 'marts' "
                                                    "and table_name = 'fct_touchpoints'")
               if type_ == "VARCHAR"]
    values = {v for row in _query(lake, "select " + ", ".join(f"lower({c})" for c in columns)
                                  + " from marts.fct_touchpoints") for v in row if v is not None}
    clear = {v.lower() for t in built.touches.values() for v in t.clear_values}
    patterns = re.compile(r"(^|[^a-z0-9])ck\.[0-9]|^cu_[0-9]+$|@")
    leaked = sorted(v for v in values if v in clear or patterns.search(v))
    print(f"\n{len(values)} distinct text values in {len(columns)} columns of fct_touchpoints scanned against "
          f"{len(clear)} clear identifiers sent: {len(leaked)} found")
    assert not leaked
