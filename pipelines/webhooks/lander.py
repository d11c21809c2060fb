"""Journal -> Iceberg: lands sealed journal segments in ``raw``, every event once.

Per segment: parse every delivery again (the provider modules are the one reading), drop events
already landed (the ids of the last ``dedup_horizon_days``, loaded once from the tables) or repeated
inside the segment, append one commit per table tagged with the segment's name, then forget the
segment. After a crash between two of those commits, the tags say which tables already hold the
segment, so a restart appends only the missing ones: nothing lost, nothing doubled.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.lake import RAW, Lake
from pipelines.quarantine import TABLE as QUARANTINE_TABLE
from pipelines.quarantine import quarantine_record
from pipelines.webhooks.journal import JournalReader
from pipelines.webhooks.metrics import Metrics
from pipelines.webhooks.providers import TABLES, PayloadError, parse

log = logging.getLogger("adlake.webhooks.lander")

SEGMENT_PROPERTY = "adlake.webhook-segment"
SOURCE = "webhooks"
UTC_TS = pa.timestamp("us", tz="UTC")
EVENT_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("event_type", pa.string()), ("occurred_at", UTC_TS), ("received_at", UTC_TS),
    ("received_date", pa.date32()), ("receipt_id", pa.string()), ("payload", pa.string()),
    ("journal_segment", pa.string()), ("_ingested_at", UTC_TS), ("_dlt_load_id", pa.string()), ("_dlt_id", pa.string()),
])
QUARANTINE_SCHEMA = pa.schema([
    ("quarantine_id", pa.string()), ("source", pa.string()), ("stream", pa.string()), ("reason_code", pa.string()),
    ("reason_detail", pa.string()), ("raw_record", pa.string()), ("first_seen_at", UTC_TS),
    ("_dlt_load_id", pa.string()), ("_dlt_id", pa.string()),
])


@dataclass
class Batch:
    """One segment's rows, sorted by table."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=dict)
    deliveries: int = 0


class Lander:
    """Lands the journal; one per journal directory (several would race for the same segments)."""

    def __init__(self, lake: Lake, reader: JournalReader, *, dedup_horizon_days: int = 7,
                 metrics: Metrics | None = None) -> None:
        self.lake = lake
        self.reader = reader
        self.dedup_horizon_days = dedup_horizon_days
        self.metrics = metrics or Metrics()
        self._seen: dict[str, set[str]] | None = None
        self._lock = threading.Lock()

    def land_all(self) -> int:
        """Land every sealed segment (sealing the open ones of dead receivers first). Returns events landed."""
        with self._lock:
            self.reader.seal_orphans()
            landed = 0
            for segment in self.reader.sealed():
                landed += self._land(segment)
            return landed

    def _seen_ids(self) -> dict[str, set[str]]:
        if self._seen is None:
            from pyiceberg.exceptions import NoSuchTableError
            from pyiceberg.expressions import GreaterThanOrEqual

            since = (datetime.now(UTC).date() - timedelta(days=self.dedup_horizon_days)).isoformat()
            self._seen = {}
            for table in TABLES.values():
                try:
                    ids = self.lake.load_table(RAW, table).scan(
                        row_filter=GreaterThanOrEqual("received_date", since), selected_fields=("event_id",)
                    ).to_arrow()["event_id"].to_pylist()
                except NoSuchTableError:
                    ids = []
                self._seen[table] = set(ids)
        return self._seen

    def _land(self, segment: Path) -> int:
        started = time.perf_counter()
        name = f"{segment.parent.name}/{segment.stem}"
        entries = self.reader.read(segment)
        batch = self._sort(entries, name)
        landed = 0
        batch_id = f"{time.time():.6f}"
        for table, rows in sorted(batch.rows.items()):
            if rows and name not in self.lake.snapshot_property_values(RAW, table, SEGMENT_PROPERTY):
                for row in rows:
                    row["_dlt_load_id"] = batch_id
                self.lake.append(RAW, table, pa.Table.from_pylist(rows, schema=EVENT_SCHEMA),
                                 partition_by="received_date", snapshot_properties={SEGMENT_PROPERTY: name})
            self._seen_ids()[table].update(row["event_id"] for row in rows)
            landed += len(rows)
            self.metrics.landed.labels(_provider(table)).inc(len(rows))
        if batch.quarantine and name not in self.lake.snapshot_property_values(RAW, QUARANTINE_TABLE,
                                                                                 SEGMENT_PROPERTY):
            for row in batch.quarantine:
                row["_dlt_load_id"] = batch_id
            self.lake.append(RAW, QUARANTINE_TABLE, pa.Table.from_pylist(batch.quarantine, schema=QUARANTINE_SCHEMA),
                             snapshot_properties={SEGMENT_PROPERTY: name})
        for table, count in batch.duplicates.items():
            self.metrics.duplicates.labels(_provider(table)).inc(count)
        self.reader.done(segment)
        self.metrics.commit_seconds.observe(time.perf_counter() - started)
        log.info("webhooks: landed %s: %d deliveries, %d events, %d duplicates, %d quarantined", name, len(entries),
                 landed, sum(batch.duplicates.values()), len(batch.quarantine))
        return landed

    def _sort(self, entries: list[bytes], segment: str) -> Batch:
        batch = Batch()
        seen = self._seen_ids()
        batch_ids: dict[str, set[str]] = {}
        now = datetime.now(UTC)
        for raw in entries:
            entry = json.loads(raw)
            provider = entry["provider"]
            table = TABLES[provider]
            body = base64.b64decode(entry["body"])
            received = datetime.fromtimestamp(float(entry["received_at"]), UTC)
            batch.deliveries += 1
            if "quarantine" in entry:
                batch.quarantine.append(_quarantine(provider, tuple(entry["quarantine"]), _evidence(entry, body), now))
                continue
            try:
                events, rejected = parse(provider, body, [tuple(p) for p in entry["params"]], entry.get("message_id"))
            except PayloadError as exc:  # journaled before a parser change: keep it, with the reason
                batch.quarantine.append(_quarantine(provider, (exc.code, exc.detail), _evidence(entry, body), now))
                continue
            for item in rejected:
                batch.quarantine.append(_quarantine(provider, (item.code, item.detail),
                                                    {"receipt_id": entry["receipt_id"], "event": item.payload}, now))
            rows = batch.rows.setdefault(table, [])
            ids = batch_ids.setdefault(table, set())
            for event in events:
                if event.event_id in seen[table] or event.event_id in ids:
                    batch.duplicates[table] = batch.duplicates.get(table, 0) + 1
                    continue
                ids.add(event.event_id)
                rows.append(_row(event, entry, received, segment, now))
        return batch


def _row(event: Any, entry: dict[str, Any], received: datetime, segment: str, now: datetime) -> dict[str, Any]:
    return {
        "event_id": event.event_id, "event_type": event.event_type, "occurred_at": event.occurred_at,
        "received_at": received, "received_date": received.date(), "receipt_id": entry["receipt_id"],
        "payload": json.dumps(event.payload, sort_keys=True, ensure_ascii=False, default=str),
        "journal_segment": segment, "_ingested_at": now, "_dlt_id": uuid.uuid4().hex,
    }


def _evidence(entry: dict[str, Any], body: bytes) -> dict[str, Any]:
    """What a quarantined delivery keeps: the receipt, its kept headers and fields, the body as text."""
    return {"receipt_id": entry["receipt_id"], "headers": entry["headers"], "params": entry["params"],
            "body": body.decode("utf-8", "replace")}


def _quarantine(provider: str, reason: tuple[str, str], record: dict[str, Any], now: datetime) -> dict[str, Any]:
    row = quarantine_record(SOURCE, provider, reason, record, now)
    row["_dlt_id"] = uuid.uuid4().hex
    return row


def _provider(table: str) -> str:
    return next(provider for provider, name in TABLES.items() if name == table)

