"""Identity stitching against the sandbox's truth, in the session's pushed lake (tests/shared_lakes.py): the
world's pushes of the last days (pixel page views with their cookies, logins and junk user ids; pixel and server
purchases; SendGrid, Twilio, AppsFlyer, Adjust) went through the real receiver (retries, duplicates, reordering)
and the real lander, AppsFlyer and the CRM were pulled from the sandbox, and ``dbt build`` ran the whole project.

The truth comes from the sandbox: every page view's true person (``emission.visits``), and which page views the
world links to a known person, computed here from the emitted events (a page view is linked when its cookie is
connected, through the clean identifiers that the emitted records carry together, to its person's user id or
email). The lake is only read back: each page view's ``person_key`` (int_identity__records_resolved)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter

import numpy as np
import pytest

from sandbox.emission import JUNK_USER_IDS, Visit, visits
from sandbox.identities import lookup
from sandbox.webhooks import Delivery
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.lakequery import query as _query
from tests.shared_lakes import PushedLake

pytestmark = pytest.mark.slow
SOURCE_MODEL = "stg_webhooks__first_party_events"


def _hmac(value: str) -> str:
    return hmac.new(TEST_PSEUDONYM_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


class _Components:
    """Union-find over identifier values (truth side: plain Python over the emitted records)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, value: str) -> str:
        self.parent.setdefault(value, value)
        root = value
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[value] != root:
            self.parent[value], value = root, self.parent[value]
        return root

    def join(self, values: list[str]) -> None:
        for other in values[1:]:
            self.parent[self.find(other)] = self.find(values[0])


def _linked(deliveries: list[Delivery], touches: list[Visit], emails: dict[int, str]) -> set[str]:
    """Event ids of the page views whose cookie the emitted first-party records connect, through clean
    identifiers (the sandbox's junk user ids left out), to the person's user id or email."""
    graph = _Components()
    for delivery in deliveries:
        if delivery.provider != "standard":
            continue  # the other providers carry one identifier kind each (email, phone, app ids): no cookie
        identifiers = json.loads(delivery.body)["identifiers"]
        clean = [f"{kind}:{value}" for kind, value in identifiers.items()
                 if value and not (kind == "user_id" and value in JUNK_USER_IDS)]
        graph.join(clean)
    linked = set()
    for touch in touches:
        cookie = graph.find(f"anonymous_id:{touch.event.identifiers['anonymous_id']}")
        if cookie in (graph.find(f"user_id:cu_{touch.person_id}"), graph.find(f"email:{emails[touch.person_id]}")):
            linked.add(touch.event.event_id)
    return linked


def _pairs(counts: np.ndarray) -> int:
    return int((counts * (counts - 1) // 2).sum())


def _pairwise(predicted: list[str], true: list[int]) -> tuple[float, float]:
    """Precision and recall of same-person pairs, from the contingency counts (no loop over pairs)."""
    _, predicted_codes = np.unique(np.array(predicted), return_inverse=True)
    _, true_codes = np.unique(np.array(true), return_inverse=True)
    _, cell_counts = np.unique(np.stack([predicted_codes, true_codes]), axis=1, return_counts=True)
    both = _pairs(cell_counts)
    predicted_pairs = _pairs(np.bincount(predicted_codes))
    true_pairs = _pairs(np.bincount(true_codes))
    return (both / predicted_pairs if predicted_pairs else 1.0), (both / true_pairs if true_pairs else 1.0)


def test_stitching_recovers_the_true_person_of_linked_touches(pushed_lake: PushedLake) -> None:
    world, lake, deliveries = pushed_lake.world, pushed_lake.lake, pushed_lake.deliveries
    touches = visits(world, last_days=pushed_lake.push_days)
    people = sorted({t.person_id for t in touches})
    emails = {p: str(row["email"]) for p, row in lookup(world.config.seed, world.journeys.population, people).items()}
    linked = _linked(deliveries, touches, emails)

    resolved = dict(_query(lake, f"""
        select record_id, person_key from intermediate.int_identity__records_resolved
        where source_model = '{SOURCE_MODEL}' and record_id like 'web:pv-%'"""))
    durable = dict(_query(lake, """
        select identifier_type || ':' || identifier_pseudonym, person_key from intermediate.int_identity__stitched
        where identifier_type in ('customer_user_id', 'email')"""))
    assert set(resolved) == {f"web:{t.event.event_id}" for t in touches}  # every page view has its person

    keys = [resolved[f"web:{t.event.event_id}"] for t in touches]
    truth = [t.person_id for t in touches]

    def durable_key(person: int) -> str | None:
        return (durable.get(f"customer_user_id:{_hmac(f'cu_{person}')}")
                or durable.get(f"email:{_hmac(emails[person])}"))

    linked_at = [i for i, t in enumerate(touches) if t.event.event_id in linked]
    recovered = sum(1 for i in linked_at if keys[i] == durable_key(truth[i]))
    share = recovered / len(linked_at)
    precision, recall = _pairwise(keys, truth)
    linked_precision, linked_recall = _pairwise([keys[i] for i in linked_at], [truth[i] for i in linked_at])
    junk = sum(1 for t in touches if t.event.identifiers.get("user_id") in JUNK_USER_IDS)
    print(f"\npage views {len(touches)} of {len(people)} people over {pushed_lake.push_days} days; linked by the world "
          f"{len(linked_at)} ({len(linked_at) / len(touches):.1%}); with a junk user id {junk}")
    print(f"linked page views whose person_key is their person's (user id / email): {recovered}/{len(linked_at)} "
          f"= {share:.2%}")
    print(f"same-person pairs, all page views: precision {precision:.4f}, recall {recall:.4f}; "
          f"linked page views: precision {linked_precision:.4f}, recall {linked_recall:.4f}")
    assert share >= 0.95

    # Purity: no person holds page views of two true people (junk user ids merge nobody).
    people_per_key = Counter(key for key, _ in {(k, p) for k, p in zip(keys, truth, strict=True)})
    assert not [key for key, n in people_per_key.items() if n > 1]
    assert precision == 1.0
    # The junk values never became identifiers.
    junk_pseudonyms = ", ".join(f"'{_hmac(value)}'" for value in JUNK_USER_IDS)
    assert _query(lake, f"""
        select count(*) from intermediate.int_identifiers__pseudonymized
        where identifier_pseudonym in ({junk_pseudonyms})""") == [(0,)]
    # No person has two user ids or emails of different people, over every identifier (not only page views).
    assert _query(lake, """
        select count(*) from (
            select person_key from intermediate.int_identity__stitched
            where identifier_type = 'customer_user_id' group by 1 having count(*) > 1)""") == [(0,)]
