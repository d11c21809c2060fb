"""AppsFlyer staging against the emulated Pull API: each event once, late events inside the re-read
window appear, and the staged events equal what the API serves."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, date, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pytest
import requests

from flows.transform import run_dbt
from pipelines import runner
from pipelines.appsflyer import appsflyer
from pipelines.duck import install_extensions
from pipelines.lake import RAW, Lake
from pipelines.runner import run_source
from sandbox.appsflyer import APP_ID, DEFAULT_TOKEN, AppsFlyerApp
from sandbox.catalog import source_settings
from sandbox.server import SandboxServer

pytestmark = pytest.mark.slow
PREFIX = "SOURCES__APPSFLYER__"
REPORTS = {"installs_report": "stg_appsflyer__installs", "in_app_events_report": "stg_appsflyer__in_app_events"}
# What identifies an event as served (AppsFlyer has no event id) and what staging must show for it.
Key = tuple[str, str, str, str | None, bool]


class LateExportApp(AppsFlyerApp):
    """AppsFlyer whose export of the current day is incomplete: a third of the day's in-app events (both
    attribution copies of each) only reach the raw-data export the next day, as late SDK batches do."""

    def _events(self, since: date, until: date) -> list[dict[str, str]]:
        today = self.clock.as_of.isoformat()
        return [row for row in super()._events(since, until)
                if not (row["Event Time"].startswith(today) and _arrives_late(row))]


def _arrives_late(row: dict[str, str]) -> bool:
    return int(json.loads(row["Event Value"])["af_order_id"].rsplit("-", 1)[-1]) % 3 == 0


@pytest.fixture
def env(lake: Lake, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The AppsFlyer source against the sandbox (late exports), "today" following the sandbox clock."""
    for key, value in source_settings(sandbox.base_url, sandbox.world).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(f"{PREFIX}BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setitem(runner.SOURCES, "appsflyer", lambda: appsflyer)
    monkeypatch.setattr("pipelines.appsflyer.helpers.today", lambda tz: sandbox.clock.as_of)
    sandbox.apps = [LateExportApp(sandbox.world, sandbox.clock) if app.platform == "appsflyer" else app
                    for app in sandbox.apps]
    return sandbox


def _load_and_build(lake: Lake, start: date, end: date) -> None:
    run_source("appsflyer", start_date=start, end_date=end)
    run_dbt(["build", "--select", "staging.appsflyer"], lake)


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


def _served(server: SandboxServer, report: str, since: date, until: date) -> list[dict[str, str]]:
    """The report as the sandbox serves it now to a plain HTTP client (times in UTC, the default)."""
    response = requests.get(f"{server.url_for('appsflyer')}/api/raw-data/export/app/{APP_ID}/{report}/v5",
                            params={"from": since.isoformat(), "to": until.isoformat()},
                            headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}, timeout=60)
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def _served_events(server: SandboxServer, report: str, since: date, until: date) -> dict[Key, dict[str, Any]]:
    out: dict[Key, dict[str, Any]] = {}
    for row in _served(server, report, since, until):
        key = (row["AppsFlyer ID"], row["Event Name"], row["Event Time"], row["Event Value"] or None,
               row["Is Primary Attribution"] == "true")
        assert key not in out, key
        out[key] = {
            "customer_user_id": row["Customer User ID"], "media_source": row["Media Source"],
            "campaign_id": row["Campaign ID"] or None, "is_retargeting": row["Is Retargeting"] == "true",
            "revenue": Decimal(row["Event Revenue"]) if row["Event Revenue"] else None,
            "currency": row["Event Revenue Currency"] or None,
        }
    return out


def _staged_events(lake: Lake, model: str) -> dict[Key, dict[str, Any]]:
    """A staged report by served key; fails when an event appears twice."""
    rows = _staging(lake, model)
    when, surrogate = ("event_at", "event_sk") if model.endswith("in_app_events") else ("installed_at", "install_sk")
    keys = [(r["appsflyer_id"], r["event_name"], r[when].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
             r.get("event_value"), r["is_primary_attribution"]) for r in rows]
    assert max(Counter(keys).values(), default=1) == 1, f"an event appears twice in {model}"
    assert len({r[surrogate] for r in rows}) == len(rows)
    return {
        key: {"customer_user_id": r["customer_user_id"], "media_source": r["media_source"],
              "campaign_id": r["campaign_id"], "is_retargeting": r["is_retargeting"],
              "revenue": r.get("revenue"), "currency": r.get("currency")}
        for key, r in zip(keys, rows, strict=True)
    }


def _raw_rows(lake: Lake, table: str) -> int:
    return lake.load_table(RAW, table).scan().to_arrow().num_rows


def test_rereading_the_window_keeps_each_event_once_and_late_events_appear(lake: Lake, env: SandboxServer) -> None:
    late = env.clock.as_of
    early = late - timedelta(days=5)
    start = early - timedelta(days=10)
    env.clock.as_of = early
    _load_and_build(lake, start, early)
    before = {model: _staged_events(lake, model) for model in REPORTS.values()}

    env.clock.as_of = late
    _load_and_build(lake, start, late)
    for report, model in REPORTS.items():
        after = _staged_events(lake, model)
        assert after == _served_events(env, report, start, late), model
        # Raw data never restates: what was staged stays as it was.
        assert {key: after[key] for key in before[model]} == before[model], model
    events = before["stg_appsflyer__in_app_events"]
    after = _staged_events(lake, "stg_appsflyer__in_app_events")
    arrived = [key for key in after.keys() - events.keys() if date.fromisoformat(key[2][:10]) <= early]
    assert arrived, "no late event arrived inside the re-read window"
    assert all(key[2].startswith(early.isoformat()) for key in arrived)
    assert any(not key[4] for key in after), "the retargeting copies are missing"
    # The re-read appended versions of the window's events in raw; staging holds each once.
    assert _raw_rows(lake, "appsflyer__in_app_events") > len(after)


def _content(lake: Lake, model: str) -> list[tuple[Any, ...]]:
    """A staging view without the version metadata, in a fixed order."""
    rows = _staging(lake, model)
    return sorted(tuple(v for k, v in r.items() if k not in ("dlt_load_id", "ingested_at")) for r in rows)


def test_running_again_without_changes_leaves_staging_unchanged(lake: Lake, env: SandboxServer) -> None:
    end = env.clock.as_of
    start = end - timedelta(days=6)
    _load_and_build(lake, start, end)
    first = {model: _content(lake, model) for model in REPORTS.values()}
    raw = _raw_rows(lake, "appsflyer__in_app_events")

    _load_and_build(lake, start, end)
    assert _raw_rows(lake, "appsflyer__in_app_events") > raw  # the re-read window landed again
    for model in REPORTS.values():
        assert first[model] and _content(lake, model) == first[model], model
