"""``raw._quarantine``: records a source could not load, kept with the reason, never dropped.

Every source sends records that fail validation here (one shared table, one shape), through a
dlt transformer of its own so the quarantine table never inherits another table's columns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipelines.errors import MalformedResponseError

TABLE = "_quarantine"
COLUMNS: dict[str, dict[str, Any]] = {
    "quarantine_id": {"data_type": "text", "nullable": False},
    "source": {"data_type": "text"},
    "stream": {"data_type": "text"},
    "reason_code": {"data_type": "text"},
    "reason_detail": {"data_type": "text"},
    "raw_record": {"data_type": "text"},
    "first_seen_at": {"data_type": "timestamp"},
}
# Reason codes (field notes, "Nothing lost and bad input").
REASONS = ("missing_key", "type_coercion", "schema_violation", "malformed_json", "malformed_csv", "malformed_archive",
           "malformed_file", "unknown_account", "stale_event")


@dataclass
class Tally:
    """Every received record ends loaded, quarantined or dropped as a duplicate."""

    received: int = 0
    quarantined: int = 0
    duplicates: int = 0

    def add(self, other: Tally) -> None:
        """Fold another tally (one account's, one file's) into this one."""
        self.received += other.received
        self.quarantined += other.quarantined
        self.duplicates += other.duplicates

    @property
    def loaded(self) -> int:
        return self.received - self.quarantined - self.duplicates

    def __str__(self) -> str:
        return (f"received {self.received}, loaded {self.loaded}, quarantined {self.quarantined}, "
                f"duplicates {self.duplicates}")


def quarantine_record(
    source: str, stream: str, reason: tuple[str, str], record: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """A quarantine row: the original record as JSON, why it was not loaded, and a stable id."""
    code, detail = reason
    raw = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
    return {
        "quarantine_id": hashlib.sha256(f"{source}|{stream}|{raw}".encode()).hexdigest(),
        "source": source,
        "stream": stream,
        "reason_code": code,
        "reason_detail": detail,
        "raw_record": raw,
        "first_seen_at": now,
    }


def quarantine_response(exc: MalformedResponseError, stream: str, now: datetime, unit: str) -> dict[str, Any]:
    """One quarantine row for an answer that could not be read: the request, which unit of work it
    was (``account 123 2026-09-01..2026-09-07``), and the body as received."""
    record = {"request": exc.request, "unit": unit, "body_length": exc.body_length, "body": exc.body}
    return quarantine_record(exc.source, stream, (exc.reason_code, exc.detail), record, now)


def to_quarantine(rows: list[dict[str, Any]]) -> Any:
    """Quarantine rows marked for ``raw._quarantine``, with that table's own hints (a dlt table
    variant), so a resource that loads another table can send its rejects there too."""
    import dlt

    hints = dlt.mark.make_hints(table_name=TABLE, columns=COLUMNS, write_disposition="append",
                                table_format="iceberg")
    return dlt.mark.with_hints(rows, hints, create_table_variant=True)
