"""CRM staging against the emulated HubSpot API: a deal whose stage and amount changed shows its
latest version, new deals and contacts appear, and staging equals what the API serves."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pytest
import requests

from flows.transform import run_dbt
from pipelines import runner
from pipelines.crm import crm
from pipelines.duck import install_extensions
from pipelines.lake import RAW, Lake
from pipelines.runner import run_source
from sandbox.catalog import source_settings
from sandbox.crm import DEFAULT_TOKEN, CrmApp, _deal, _iso
from sandbox.journeys import conversion_ids
from sandbox.server import SandboxServer

pytestmark = pytest.mark.slow
MODELS = ("stg_crm__contacts", "stg_crm__deals")


class SalesPipelineApp(CrmApp):
    """The CRM as a sales team works in it: a deal exists from its creation, in an open stage with an
    estimated amount, and moves to closedwon with its final amount on its close day (a stage and amount
    change the source picks up by searching on the last-modified date). The plain emulation only shows
    deals once they are closed."""

    def _records(self, kind: str) -> list[dict[str, Any]]:
        if kind != "deals":
            return super()._records(kind)
        as_of = self.clock.as_of
        limit = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC) + timedelta(days=1)
        conversions = self.world.journeys.conversions
        deals = self.world.journeys.deals
        ids = conversion_ids(conversions)
        out = []
        for i, row in enumerate(deals["conversion"].tolist()):
            created = self._moment(conversions["day"][row], conversions["second"][row])
            if created >= limit:
                continue
            closed = self._moment(deals["close_day"][i], deals["close_second"][i])
            cents = int(deals["value_cents"][i])
            record = _deal(ids[row], int(conversions["person"][row]), created, closed, cents)
            if closed >= limit:  # still open: proposal sent, amount estimated in whole thousands
                record["properties"].update(dealstage="contractsent", amount=f"{(cents // 100_000 + 1) * 1000}.00",
                                            hs_lastmodifieddate=_iso(created))
                record["updatedAt"] = _iso(created)
            out.append(record)
        return sorted(out, key=lambda r: int(r["id"]))


@pytest.fixture
def env(lake: Lake, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The CRM source against the sandbox, whose deals move through the sales pipeline."""
    for key, value in source_settings(sandbox.base_url, sandbox.world).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SOURCES__CRM__BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setitem(runner.SOURCES, "crm", lambda: crm)
    sandbox.apps = [SalesPipelineApp(sandbox.world, sandbox.clock) if app.platform == "crm" else app
                    for app in sandbox.apps]
    return sandbox


def _load_and_build(lake: Lake) -> None:
    run_source("crm")
    run_dbt(["build", "--select", "staging.crm"], lake)


def _staging(lake: Lake, model: str) -> list[dict[str, Any]]:
    """A staging view read back from the lake's DuckDB file, times in UTC."""
    con = duckdb.connect(str(lake.settings.duckdb_path), read_only=True)
    try:
        install_extensions(con)
        con.execute("set TimeZone = 'UTC'")
        cursor = con.execute(f"select * from staging.{model}")
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _served(server: SandboxServer, kind: str) -> list[dict[str, Any]]:
    """Every record the sandbox holds now, with deal-contact associations, read with a plain HTTP client."""
    out: list[dict[str, Any]] = []
    after = None
    while True:
        params = {"limit": 100, "associations": "contacts", **({"after": after} if after else {})}
        response = requests.get(f"{server.url_for('crm')}/crm/v3/objects/{kind}", params=params, timeout=30,
                                headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"})
        response.raise_for_status()
        body = response.json()
        out += body["results"]
        if "paging" not in body:
            return out
        after = body["paging"]["next"]["after"]


def _stamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=UTC)


def _by_id(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    counts = Counter(r[key] for r in rows)
    assert max(counts.values(), default=1) == 1, f"{key} repeats in staging"
    return {r[key]: r for r in rows}


def _served_deals(server: SandboxServer) -> dict[str, dict[str, Any]]:
    out = {}
    for record in _served(server, "deals"):
        p = record["properties"]
        contacts = record.get("associations", {}).get("contacts", {}).get("results", [])
        out[record["id"]] = {
            "deal_stage": p["dealstage"], "amount": Decimal(p["amount"]), "currency": p["deal_currency_code"],
            "created_at": _stamp(p["createdate"]), "modified_at": _stamp(p["hs_lastmodifieddate"]),
            "close": _stamp(p["closedate"]), "lead_event_id": p["lead_event_id"],
            "contact_id": contacts[0]["id"] if contacts else None,
        }
    return out


def _staged_deals(lake: Lake) -> dict[str, dict[str, Any]]:
    return {
        deal_id: {
            "deal_stage": r["deal_stage"], "amount": r["amount"], "currency": r["currency"],
            "created_at": r["created_at"], "modified_at": r["modified_at"],
            "close": r["closed_at"] or r["expected_close_at"], "lead_event_id": r["lead_event_id"],
            "contact_id": r["contact_id"], "is_won": r["is_won"], "is_closed": r["is_closed"],
        }
        for deal_id, r in _by_id(_staging(lake, "stg_crm__deals"), "deal_id").items()
    }


def _served_contacts(server: SandboxServer) -> dict[str, dict[str, Any]]:
    return {
        record["id"]: {"email": record["properties"]["email"], "phone": record["properties"]["phone"],
                       "lifecycle_stage": record["properties"]["lifecyclestage"],
                       "modified_at": _stamp(record["properties"]["lastmodifieddate"])}
        for record in _served(server, "contacts")
    }


def _staged_contacts(lake: Lake) -> dict[str, dict[str, Any]]:
    return {
        contact_id: {"email": r["email"], "phone": r["phone"], "lifecycle_stage": r["lifecycle_stage"],
                     "modified_at": r["modified_at"]}
        for contact_id, r in _by_id(_staging(lake, "stg_crm__contacts"), "contact_id").items()
    }


def test_a_deal_that_changed_stage_shows_its_latest_version(lake: Lake, env: SandboxServer) -> None:
    late = env.clock.as_of
    env.clock.as_of = late - timedelta(days=10)
    _load_and_build(lake)  # the first run lists every record (with associations)
    before = _staged_deals(lake)
    contacts_before = _staged_contacts(lake)

    env.clock.as_of = late
    _load_and_build(lake)  # later runs search for records modified since the last change seen
    after = _staged_deals(lake)
    served = _served_deals(env)

    def without_contact(deals: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        keep = ("deal_stage", "amount", "currency", "created_at", "modified_at", "close", "lead_event_id")
        return {deal_id: {k: d[k] for k in keep} for deal_id, d in deals.items()}

    assert without_contact(after) == without_contact(served)
    changed = [d for d in before if before[d]["deal_stage"] != after[d]["deal_stage"]]
    assert changed, "no deal changed stage between the runs"
    assert all(before[d]["deal_stage"] == "contractsent" and not before[d]["is_closed"] for d in changed)
    assert all(after[d]["is_won"] and after[d]["amount"] != before[d]["amount"] for d in changed)
    assert after.keys() > before.keys()  # deals created since appear too
    # A changed deal was re-read by search (no associations): it keeps the contact of its first version.
    assert all(after[d]["contact_id"] == served[d]["contact_id"] is not None for d in before)
    # Deals first seen by a search have no contact yet (the source does not read their associations).
    assert all(after[d]["contact_id"] in (None, served[d]["contact_id"]) for d in after)
    raw_deals = lake.load_table(RAW, "crm__deals").scan().to_arrow().num_rows
    assert raw_deals >= len(after) + len(changed)  # old versions stay in raw; staging shows the latest

    contacts = _staged_contacts(lake)
    assert contacts == _served_contacts(env)
    assert contacts.keys() > contacts_before.keys()


def _content(lake: Lake, model: str) -> list[tuple[Any, ...]]:
    """A staging view without the version metadata, in a fixed order."""
    rows = _staging(lake, model)
    return sorted(tuple(v for k, v in r.items() if k not in ("dlt_load_id", "ingested_at")) for r in rows)


def test_running_again_without_changes_leaves_staging_unchanged(lake: Lake, env: SandboxServer) -> None:
    _load_and_build(lake)
    first = {model: _content(lake, model) for model in MODELS}
    raw = lake.load_table(RAW, "crm__deals").scan().to_arrow().num_rows

    _load_and_build(lake)  # searches from the last change seen minus the overlap: a few deals land again
    assert lake.load_table(RAW, "crm__deals").scan().to_arrow().num_rows > raw
    for model in MODELS:
        assert first[model] and _content(lake, model) == first[model], model
