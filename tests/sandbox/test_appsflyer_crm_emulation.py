"""The AppsFlyer Pull API and the CRM export, read with a plain HTTP client."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
import requests

from sandbox.appsflyer import APP_ID, AppsFlyerApp
from sandbox.appsflyer import DEFAULT_TOKEN as AF_TOKEN
from sandbox.crm import DEFAULT_TOKEN as CRM_TOKEN
from sandbox.crm import CrmApp
from sandbox.faults import FaultRule
from sandbox.journeys import CONVERSION_TYPES
from sandbox.server import SandboxServer
from sandbox.world import World, WorldConfig


@pytest.fixture
def server(world: World):
    server = SandboxServer(world)
    server.apps = [AppsFlyerApp(world, server.clock), CrmApp(world, server.clock)]
    with server:
        yield server


def _af(server: SandboxServer, report: str, since, until, token: str = AF_TOKEN, **params) -> requests.Response:
    url = f"{server.url_for('appsflyer')}/api/raw-data/export/app/{APP_ID}/{report}/v5"
    return requests.get(url, params={"from": since.isoformat(), "to": until.isoformat(), **params},
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _rows(response: requests.Response) -> list[dict[str, str]]:
    assert response.headers["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_in_app_events_match_the_true_app_purchases(server: SandboxServer, world: World) -> None:
    start, end = world.config.start_date, server.clock.as_of
    rows = _rows(_af(server, "in_app_events_report", start, end))
    primary = [r for r in rows if r["Is Primary Attribution"] == "true"]
    c = world.journeys.conversions
    app = c["kind"] == CONVERSION_TYPES.index("app_purchase")
    assert len(primary) == int(app.sum())
    assert sum(round(float(r["Event Revenue"]) * 100) for r in primary) == int(c["value_cents"][app].sum())
    duplicates = [r for r in rows if r["Is Primary Attribution"] == "false"]
    assert duplicates and all(r["Is Retargeting"] == "true" for r in duplicates)
    assert {json.loads(r["Event Value"])["af_order_id"] for r in duplicates} <= {
        json.loads(r["Event Value"])["af_order_id"] for r in primary}
    assert list(rows[0]) [:3] == ["Attributed Touch Type", "Attributed Touch Time", "Install Time"]


def test_installs_come_before_purchases_and_respect_the_clock(server: SandboxServer, world: World) -> None:
    start = world.config.start_date
    server.clock.as_of = start + timedelta(days=20)
    installs = _rows(_af(server, "installs_report", start, start + timedelta(days=59)))
    assert installs and max(r["Install Time"][:10] for r in installs) <= server.clock.as_of.isoformat()
    events = _rows(_af(server, "in_app_events_report", start, server.clock.as_of))
    installed = {r["AppsFlyer ID"]: r["Install Time"] for r in installs}
    assert all(installed[e["AppsFlyer ID"]] <= e["Event Time"] for e in events)


def test_appsflyer_errors(server: SandboxServer, world: World) -> None:
    start, end = world.config.start_date, server.clock.as_of
    assert _af(server, "in_app_events_report", start, end, token="nope").status_code == 401
    assert _af(server, "unknown_report", start, end).status_code == 400
    assert _af(server, "installs_report", end, start).status_code == 400
    too_old = _af(server, "installs_report", end - timedelta(days=120), end)
    assert too_old.status_code == 400 and "90 days" in too_old.text
    assert requests.get(f"{server.url_for('appsflyer')}/nothing", timeout=10).status_code == 404
    server.faults.rules.append(FaultRule("appsflyer", "throttle", "in_app_events_report", times=1))
    limited = _af(server, "in_app_events_report", start, end)
    assert limited.status_code == 400 and "limit has been reached" in limited.text
    assert _af(server, "in_app_events_report", start, end).status_code == 200


def _crm(server: SandboxServer, path: str, token: str = CRM_TOKEN, **params) -> requests.Response:
    return requests.get(f"{server.url_for('crm')}{path}", params=params,
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_crm_paging_reaches_every_closed_deal(server: SandboxServer, world: World) -> None:
    server.clock.as_of = world.config.end_date + timedelta(days=45)  # every deal has closed by then
    results, after, pages = [], None, 0
    while True:
        body = _crm(server, "/crm/v3/objects/deals", limit=7, associations="contacts",
                    **({"after": after} if after else {})).json()
        results += body["results"]
        pages += 1
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
    assert pages > 1
    assert len(results) == len({r["id"] for r in results}) == len(world.journeys.deals["conversion"])
    cents = sum(round(float(r["properties"]["amount"]) * 100) for r in results)
    assert cents == int(world.journeys.deals["value_cents"].sum())
    assert all(r["associations"]["contacts"]["results"][0]["type"] == "deal_to_contact" for r in results)


def test_deals_arrive_late(server: SandboxServer, world: World) -> None:
    server.clock.as_of = world.config.start_date + timedelta(days=10)
    early = _crm(server, "/crm/v3/objects/deals", limit=100).json()["results"]
    server.clock.as_of = world.config.end_date + timedelta(days=45)
    later = requests.post(f"{server.url_for('crm')}/crm/v3/objects/deals/search", timeout=30,
                          headers={"Authorization": f"Bearer {CRM_TOKEN}"},
                          json={"limit": 200, "filterGroups": [{"filters": [
                              {"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]}]}).json()
    assert later["total"] > len(early)
    for deal in later["results"]:
        assert deal["properties"]["closedate"] > deal["properties"]["createdate"]


def test_contacts_carry_identifiers_and_crm_errors(server: SandboxServer) -> None:
    body = _crm(server, "/crm/v3/objects/contacts", limit=5, properties="email,phone").json()
    assert body["results"] and all("@" in r["properties"]["email"] for r in body["results"])
    assert all(r["properties"]["phone"].startswith("+") for r in body["results"])
    denied = _crm(server, "/crm/v3/objects/contacts", token="nope")
    assert denied.status_code == 401 and denied.json()["category"] == "INVALID_AUTHENTICATION"
    assert _crm(server, "/crm/v3/objects/contacts", limit=1000).status_code == 400
    missing = _crm(server, "/crm/v3/objects/companies")
    assert missing.status_code == 404 and missing.json()["status"] == "error"
    server.faults.rules.append(FaultRule("crm", "throttle", "contacts", times=1))
    limited = _crm(server, "/crm/v3/objects/contacts")
    assert limited.status_code == 429 and limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_same_seed_same_bytes() -> None:
    def fetch(seed: int) -> tuple[bytes, bytes]:
        world = World(WorldConfig(seed=seed))
        server = SandboxServer(world)
        server.apps = [AppsFlyerApp(world, server.clock), CrmApp(world, server.clock)]
        with server:
            start, end = world.config.start_date, server.clock.as_of
            events = _af(server, "in_app_events_report", start, end).content
            contacts = _crm(server, "/crm/v3/objects/contacts", limit=50).content
            return events, contacts.replace(server.base_url.encode(), b"http://sandbox")

    assert fetch(3) == fetch(3)
    assert fetch(3) != fetch(4)
