"""An answer that cannot be read, even after retries, never fails a source run: it becomes one
quarantine row with its reason and body, the rest of the batch loads, and the next run reads the
missing part again, so that the lake ends up holding exactly what a clean run holds.

Runs every pull source against the sandbox with a persistent ``malformed`` fault (a 200 answer cut
in half) on one unit of work: a report chunk, a report download, a page of a listing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pipelines.lake import RAW, Lake, LakeSettings
from pipelines.runner import run_source
from sandbox.catalog import source_settings
from sandbox.faults import FaultRule
from sandbox.server import SandboxServer

ATTEMPTS = 3


@dataclass(frozen=True)
class Case:
    source: str
    platform: str
    path: str  # the fault's path pattern
    skip: int  # matching requests let through before the broken one
    reason: str
    settings: tuple[tuple[str, str], ...] = ()


CASES = [
    Case("meta_ads", "meta", r"/insights$", 0, "malformed_json", (("DAYS_PER_REQUEST", "3"),)),
    # Four entity queries per customer come first on the same endpoint; the fifth is a report chunk.
    Case("google_ads", "google_ads", r"searchStream$", 4, "malformed_json", (("DAYS_PER_REQUEST", "3"),)),
    Case("linkedin_ads", "linkedin_ads", r"adAnalytics", 0, "malformed_json", (("DAYS_PER_REQUEST", "3"),)),
    Case("tiktok_ads", "tiktok_ads", r"report/integrated/get", 0, "malformed_json", (("DAYS_PER_REQUEST", "3"),)),
    Case("microsoft_ads", "microsoft_ads", r"ReportDownloads/", 0, "malformed_archive"),
    Case("appsflyer", "appsflyer", r"raw-data/export", 0, "malformed_csv"),
    # The second page of contacts changed since the start date.
    Case("crm", "crm", r"objects/contacts/search$", 1, "malformed_json", (("PAGE_LIMIT", "20"),)),
]


def _configure(monkeypatch: pytest.MonkeyPatch, server: SandboxServer, case: Case) -> None:
    for key, value in source_settings(server.base_url, server.world).items():
        monkeypatch.setenv(key, value)
    prefix = f"SOURCES__{case.source.upper()}__"
    monkeypatch.setenv(f"{prefix}MAX_ATTEMPTS", str(ATTEMPTS))
    monkeypatch.setenv(f"{prefix}BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setenv(f"{prefix}POLL_INTERVAL_SECONDS", "0.01")
    for key, value in case.settings:
        monkeypatch.setenv(f"{prefix}{key}", value)


def _rows(lake: Lake, table: str) -> list[dict[str, Any]]:
    return lake.load_table(RAW, table).scan().to_arrow().to_pylist()


def _content(lake: Lake, table: str) -> set[str]:
    """A table's distinct rows without bookkeeping columns (load ids, ingestion times)."""
    data = lake.load_table(RAW, table).scan().to_arrow()
    columns = [c for c in data.column_names if not c.startswith("_")]
    return {repr(sorted(row.items())) for row in data.select(columns).to_pylist()}


def _tables(lake: Lake, source: str) -> list[str]:
    return [t for t in lake.table_names(RAW) if t.startswith(f"{source}__")]


@pytest.mark.parametrize("case", CASES, ids=[c.source for c in CASES])
def test_an_unreadable_answer_is_quarantined_and_read_again(
    case: Case, lake: Lake, sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(monkeypatch, sandbox, case)
    end = sandbox.clock.as_of
    window = {"start_date": end - timedelta(days=8), "end_date": end}

    clean = Lake(LakeSettings.from_env({"ADLAKE_HOME": str(tmp_path / "clean")}))
    run_source(case.source, clean, **window)
    requests_clean = len(sandbox.request_log)

    sandbox.faults.rules.append(FaultRule(case.platform, "malformed", case.path, times=ATTEMPTS, skip=case.skip))
    run_source(case.source, lake, **window)  # no exception: the run succeeds
    assert sandbox.faults.rules[-1].times == 0, "the fault never fired"

    # One quarantine row with the reason, the request and the body as received.
    quarantined = [r for r in _rows(lake, "_quarantine") if r["source"] == case.source]
    assert len(quarantined) == 1, quarantined
    row = quarantined[0]
    assert row["reason_code"] == case.reason
    assert "malformed response" in row["reason_detail"] and f"gave up after {ATTEMPTS} attempts" in row["reason_detail"]
    record = json.loads(row["raw_record"])
    assert record["body"] and record["body_length"] == len(record["body"])
    assert record["request"].startswith(("GET ", "POST "))

    # Every record is accounted for, the broken answer as one quarantined record.
    ledger = [r for r in _rows(lake, "_ingest_runs") if r["source"] == case.source]
    assert all(r["status"] == "succeeded" for r in ledger)
    assert all(r["received"] == r["loaded"] + r["quarantined"] + r["duplicates"] for r in ledger), ledger
    assert sum(r["quarantined"] for r in ledger) >= 1

    # The rest of the batch loaded: every table has rows, and together they miss only part of a clean run.
    tables = _tables(clean, case.source)
    assert tables and set(_tables(lake, case.source)) <= set(tables)
    partial = {t: _content(lake, t) if t in _tables(lake, case.source) else set() for t in tables}
    full = {t: _content(clean, t) for t in tables}
    assert all(partial[t] <= full[t] for t in tables)
    missing = sum(len(full[t] - partial[t]) for t in tables)
    assert 0 < missing < sum(len(full[t]) for t in tables)

    # The next run reads the missing part again: the lake now holds what the clean run holds.
    assert len(sandbox.request_log) > requests_clean
    run_source(case.source, lake, **window)
    assert {t: _content(lake, t) for t in tables} == full
