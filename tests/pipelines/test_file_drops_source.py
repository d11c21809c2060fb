"""The network file-drop source over files the sandbox writes, landing real Iceberg tables."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipelines import runner
from pipelines.errors import ConfigError
from pipelines.file_drops import file_drops
from pipelines.lake import RAW, Lake
from pipelines.runner import run_source
from sandbox.file_drops import write_network_reports
from sandbox.world import World

TABLES = {"programmatic": "file_drops__programmatic_daily", "affiliate": "file_drops__affiliate_daily"}


@pytest.fixture
def drops(lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "drops"
    folder.mkdir()
    monkeypatch.setenv("SOURCES__FILE_DROPS__BUCKET_URL", str(folder))
    monkeypatch.setitem(runner.SOURCES, "file_drops", lambda: file_drops)
    return folder


def _raw(lake: Lake, table: str) -> list[dict]:
    return lake.load_table(RAW, table).scan().to_arrow().to_pylist()


def _csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8"))))


def _days(world: World, first: int, count: int) -> list[date]:
    return [world.config.start_date + timedelta(days=i) for i in range(first, first + count)]


def _ledger(lake: Lake, run_id: str | None = None) -> dict[str, dict]:
    rows = _raw(lake, "_ingest_runs")
    last = run_id or max(rows, key=lambda r: r["started_at"])["run_id"]
    return {r["resource"]: r for r in rows if r["run_id"] == last}


def test_each_file_loads_once_and_changed_files_reload(lake: Lake, drops: Path, world: World) -> None:
    days = _days(world, 0, 10)
    paths = write_network_reports(world, drops, world.config.start_date + timedelta(days=30), days=days)
    first = run_source("file_drops")
    for network, table in TABLES.items():
        files = [p for p in paths if p.parent.name == network]
        rows = _raw(lake, table)
        assert len(rows) == sum(len(_csv_rows(p)) for p in files) == first.rows[table] > 0
        assert {r["_file_name"] for r in rows} == {str(p) for p in files if _csv_rows(p)}  # some days are empty
        assert all(r["_file_modified_at"] is not None and r["_ingested_at"] is not None for r in rows)
        assert lake.load_table(RAW, table).spec().fields[0].name == "report_date"
    dsp = _raw(lake, TABLES["programmatic"])[0]
    assert {"media_cost_advertiser_currency", "post_click_conversions", "creative_id"} <= dsp.keys()
    assert dsp["date"] == dsp["report_date"].strftime("%Y/%m/%d")  # kept as sent, plus the partition date

    again = run_source("file_drops")  # nothing changed: nothing loads
    assert sum(again.rows.values()) == 0

    before = {p: p.read_bytes() for p in paths}
    # Five days later: affiliate days that turned 30 days old restate from pending to approved.
    write_network_reports(world, drops, world.config.start_date + timedelta(days=35), days=days)
    changed = {p for p in paths if p.read_bytes() != before[p]}
    assert changed and len(changed) < len(paths)  # every file was rewritten, only some differ
    third = run_source("file_drops")
    for network, table in TABLES.items():
        reloaded = [r for r in _raw(lake, table) if r["_dlt_load_id"] in third.load_ids]
        network_changed = {p for p in changed if p.parent.name == network}
        assert {r["_file_name"] for r in reloaded} == {str(p) for p in network_changed if _csv_rows(p)}
        assert len(reloaded) == sum(len(_csv_rows(p)) for p in network_changed)
    approved = [r for r in _raw(lake, TABLES["affiliate"]) if r["_dlt_load_id"] in third.load_ids]
    assert approved and {r["status"] for r in approved} >= {"approved"}
    for resource, row in _ledger(lake).items():
        assert row["received"] == row["loaded"] + row["quarantined"] + row["duplicates"], resource


def test_broken_files_are_quarantined_whole_and_broken_rows_alone(
    lake: Lake, drops: Path, world: World, tmp_path: Path
) -> None:
    as_of = world.config.start_date + timedelta(days=18)
    good = write_network_reports(world, drops, as_of, days=_days(world, 10, 3))
    spare = write_network_reports(world, tmp_path / "spare", as_of, days=_days(world, 13, 2))
    # A delivery cut off mid-row, a file with a renamed column, and a file with one non-numeric amount.
    truncated = drops / "programmatic" / spare[0].name
    content = spare[0].read_bytes()
    truncated.write_bytes(content[: len(content) // 2 + 7].rstrip(b"\r\n"))
    wrong_columns = drops / "affiliate" / spare[2].name
    wrong_columns.write_bytes(spare[2].read_bytes().replace(b"Publisher ID", b"Partner ID", 1))
    bad_amount = drops / "affiliate" / spare[3].name
    rows = _csv_rows(spare[3])
    assert len(rows) > 1
    lines = spare[3].read_bytes().decode("utf-8").split("\r\n")
    fields = lines[1].split(",")
    fields[7] = "n/a"  # Commission
    lines[1] = ",".join(fields)
    bad_amount.write_bytes("\r\n".join(lines).encode("utf-8"))
    run_source("file_drops")

    quarantined = _raw(lake, "_quarantine")
    by_file = {json.loads(q["raw_record"])["_file_name"]: q for q in quarantined}
    assert len(quarantined) == 3 and set(by_file) == {str(truncated), str(wrong_columns), str(bad_amount)}
    assert by_file[str(truncated)]["reason_code"] == "malformed_file"
    assert "truncated" in by_file[str(truncated)]["reason_detail"]
    assert by_file[str(wrong_columns)]["reason_code"] == "schema_violation"
    assert "Publisher ID" in by_file[str(wrong_columns)]["reason_detail"]
    assert by_file[str(bad_amount)]["stream"] == "affiliate_daily"
    assert by_file[str(bad_amount)]["reason_code"] == "type_coercion"
    assert "Commission='n/a'" in by_file[str(bad_amount)]["reason_detail"]
    assert json.loads(by_file[str(bad_amount)]["raw_record"])["Publisher ID"] == rows[0]["Publisher ID"]

    dsp = _raw(lake, TABLES["programmatic"])
    assert {r["_file_name"] for r in dsp} == {str(p) for p in good if p.parent.name == "programmatic"}
    affiliate = _raw(lake, TABLES["affiliate"])
    good_affiliate = [p for p in good if p.parent.name == "affiliate"]
    assert len(affiliate) == sum(len(_csv_rows(p)) for p in good_affiliate) + len(rows) - 1
    assert str(bad_amount) in {r["_file_name"] for r in affiliate}
    ledger = _ledger(lake)
    for table in TABLES.values():
        row = ledger[table]
        assert row["received"] == row["loaded"] + row["quarantined"] + row["duplicates"]
        assert row["loaded"] == len(_raw(lake, table))
    assert ledger[TABLES["programmatic"]]["quarantined"] == 1
    assert ledger[TABLES["affiliate"]]["quarantined"] == 2
    assert ledger[TABLES["affiliate"]]["received"] == len(affiliate) + 2

    # The network redelivers the cut-off file whole: it loads on the next run.
    truncated.write_bytes(content)
    fixed = run_source("file_drops")
    assert fixed.rows == {TABLES["programmatic"]: len(_csv_rows(spare[0]))}


def test_missing_bucket_url_is_a_config_error(lake: Lake, drops: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCES__FILE_DROPS__BUCKET_URL")
    with pytest.raises(ConfigError, match="SOURCES__FILE_DROPS__BUCKET_URL is not set"):
        run_source("file_drops")
    monkeypatch.setenv("SOURCES__FILE_DROPS__BUCKET_URL", str(drops / "nowhere"))
    with pytest.raises(ConfigError, match=r"SOURCES__FILE_DROPS__BUCKET_URL=.*does not exist"):
        run_source("file_drops")


def test_when_two_files_carry_the_same_rows_the_newer_delivery_wins(lake: Lake, drops: Path, world: World) -> None:
    day = _days(world, 3, 1)
    original = next(p for p in write_network_reports(world, drops, world.config.start_date + timedelta(days=30),
                                                      days=day) if p.parent.name == "affiliate" and _csv_rows(p))
    rows = _csv_rows(original)
    # The network re-delivers the day under another name (sorting before the original), with new numbers.
    resent = original.with_name("a_resent_" + original.name)
    changed = [{**row, "Commission": f"{float(row['Commission']) + 1:.2f}"} for row in rows]
    with resent.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(changed)
    stamp = original.stat().st_mtime
    os.utime(original, (stamp - 3600, stamp - 3600))  # the original is an hour older
    os.utime(resent, (stamp, stamp))

    run_source("file_drops")
    loaded = _raw(lake, TABLES["affiliate"])
    assert {r["_file_name"] for r in loaded} == {str(resent)}
    assert sorted(r["commission"] for r in loaded) == sorted(r["Commission"] for r in changed)
    assert _ledger(lake)[TABLES["affiliate"]]["duplicates"] == len(rows)
