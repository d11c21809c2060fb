"""File-drop helpers: listing a folder or bucket, change detection, CSV/Parquet parsing and validation.

The dlt decorators live in ``__init__.py``. A file is the unit of delivery: it loads once, loads again
when its content changes (a network restating a day rewrites that day's file), and a file that cannot
be read as a report is quarantined whole, with its reason, instead of loading half a day.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pipelines.errors import ConfigError
from pipelines.file_drops import settings as s
from pipelines.quarantine import Tally, quarantine_record

log = logging.getLogger("adlake.file_drops")
Row = dict[str, Any]


class BadFileError(Exception):
    """A file that cannot be read as a report: ``code`` and ``detail`` go to ``raw._quarantine``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class DropFile:
    """One report file as listed: where it is, how big, when it last changed."""

    path: str  # the full URL-less path the file system uses
    url: str  # what lands in ``_file_name``: the bucket URL form, readable by a person
    size: int
    modified_at: datetime | None


def snake_case(header: str) -> str:
    """``"Media Cost (Advertiser Currency)"`` -> ``"media_cost_advertiser_currency"``."""
    return re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_")


def normalize_networks(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """The configured networks (one sub-folder each), known ones only."""
    items = (value or s.DEFAULT_NETWORKS).split(",") if isinstance(value, str) or not value else list(value)
    networks = []
    for item in items:
        name = str(item).strip().lower()
        if not name:
            continue
        if name not in s.NETWORKS:
            raise ConfigError(f"file_drops: {s.ENV_PREFIX}NETWORKS has an unknown network {item!r}; "
                              f"known: {', '.join(s.NETWORKS)}")
        if name not in networks:
            networks.append(name)
    return networks


def open_bucket(bucket_url: str | None) -> tuple[Any, str, str]:
    """The fsspec file system, the root path in it and the URL prefix for ``_file_name``."""
    if not bucket_url:
        raise ConfigError(f"file_drops: {s.ENV_PREFIX}BUCKET_URL is not set (or sources.file_drops.bucket_url)")
    from fsspec.core import url_to_fs

    try:
        fs, root = url_to_fs(str(bucket_url))
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"file_drops: {s.ENV_PREFIX}BUCKET_URL={bucket_url!r} is not usable: {exc}") from exc
    root = root.rstrip("/")
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    prefix = "" if protocol in ("file", "local") else f"{protocol}://"
    if not fs.exists(root):
        raise ConfigError(f"file_drops: {s.ENV_PREFIX}BUCKET_URL={bucket_url!r} does not exist")
    return fs, root, prefix


def _modified_at(info: Mapping[str, Any]) -> datetime | None:
    """The modification time fsspec reports (``mtime`` locally, ``LastModified`` on S3)."""
    value = info.get("mtime", info.get("LastModified", info.get("last_modified")))
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    return None


def list_files(fs: Any, root: str, prefix: str, network: str) -> list[DropFile]:
    """The network's report files, in path order; hidden and temporary files are skipped."""
    folder = f"{root}/{network}"
    if not fs.exists(folder):
        log.warning("file_drops: no %s folder under the bucket yet", network)
        return []
    files = []
    for path, info in sorted(fs.find(folder, detail=True).items()):
        name = path.rsplit("/", 1)[-1]
        if name.startswith(".") or not name.lower().endswith(s.SUFFIXES) or info.get("type") == "directory":
            continue
        files.append(DropFile(path, f"{prefix}{path}", int(info.get("size") or 0), _modified_at(info)))
    return files


def fingerprint(file: DropFile) -> dict[str, Any]:
    """What the resource state remembers of a file to notice a change without reading it."""
    return {"size": file.size, "modified_at": file.modified_at.isoformat() if file.modified_at else None}


def unchanged(file: DropFile, known: Mapping[str, Any] | None) -> bool:
    """True when size and modification time match what was loaded (no need to read the file)."""
    return bool(known) and all(known.get(k) == v for k, v in fingerprint(file).items())  # type: ignore[union-attr]


def checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def parse_csv(content: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and rows of a CSV report, or :class:`BadFileError` when the file is not a whole CSV."""
    if not content.strip():
        raise BadFileError("malformed_file", "empty file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadFileError("malformed_file", f"not UTF-8 (byte {exc.start})") from exc
    if not text.endswith("\n"):
        # Every report ends with a line break: without one the delivery was cut off mid-row.
        raise BadFileError("malformed_file", "truncated: the last line has no line break")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), restkey="__extra__")
        rows = list(reader)
    except csv.Error as exc:
        raise BadFileError("malformed_file", f"not a CSV: {exc}") from exc
    return list(reader.fieldnames or []), rows


def parse_parquet(content: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and rows of a Parquet report, values as text like the CSV files carry them."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(content))
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise BadFileError("malformed_file", f"not a Parquet file: {type(exc).__name__}") from exc
    rows = [{k: None if v is None else str(v) for k, v in row.items()} for row in table.to_pylist()]
    return table.column_names, rows


def check_header(header: list[str], network: s.Network) -> None:
    """A file must carry every column of its network's report, else it is quarantined whole."""
    missing = [c for c in network.columns if c not in header]
    if missing:
        raise BadFileError("schema_violation", f"missing columns: {', '.join(missing)}")


def report_day(value: Any, network: s.Network) -> date | None:
    try:
        return datetime.strptime(str(value).strip(), network.date_format).date()
    except ValueError:
        return None


def row_problem(row: Mapping[str, Any], network: s.Network) -> tuple[str, str] | None:
    """Why a report row cannot be loaded (reason code, detail), or None when it is sound."""
    if row.get("__extra__") or any(v is None for k, v in row.items() if k in network.columns):
        return "schema_violation", f"the row does not have {len(network.columns)} fields"
    for column in network.key:
        if not str(row.get(column) or "").strip():
            return "missing_key", f"no {column}"
    if report_day(row[network.date_column], network) is None:
        return "type_coercion", f"{network.date_column}={row[network.date_column]!r} is not a date"
    for column in network.integers:
        value = str(row.get(column) or "").strip()
        if value and not value.isdigit():
            return "type_coercion", f"{column}={value!r} is not a non-negative integer"
    for column in network.decimals:
        value = str(row.get(column) or "").strip()
        if not value:
            continue
        try:
            number = Decimal(value)
        except InvalidOperation:
            return "type_coercion", f"{column}={value!r} is not a decimal"
        if not number.is_finite():
            return "type_coercion", f"{column}={value!r} is not a finite amount"
    return None


def sort_rows(rows: list[dict[str, Any]], file: DropFile, network: s.Network, seen: set[tuple[str, ...]],
              now: datetime, tally: Tally) -> tuple[list[Row], list[Row]]:
    """Split a file's rows into rows to load (snake_case, stamped) and quarantine rows; drop repeated keys."""
    good: list[Row] = []
    rejected: list[Row] = []
    for row in rows:
        tally.received += 1
        problem = row_problem(row, network)
        if problem is not None:
            tally.quarantined += 1
            record = {**{k: v for k, v in row.items() if k != "__extra__"}, "_file_name": file.url}
            if row.get("__extra__"):
                record["__extra__"] = row["__extra__"]
            rejected.append(quarantine_record(s.SOURCE, network.resource, problem, record, now))
            continue
        key = tuple(str(row[c]).strip() for c in network.key)
        if key in seen:
            tally.duplicates += 1
            continue
        seen.add(key)
        loaded = {snake_case(k): v for k, v in row.items()}
        loaded.update({s.PARTITION_COLUMN: report_day(row[network.date_column], network), "_file_name": file.url,
                       "_file_modified_at": file.modified_at, "_ingested_at": now})
        good.append(loaded)
    return good, rejected


def quarantine_file(file: DropFile, network: s.Network, problem: BadFileError, content: bytes,
                    now: datetime) -> Row:
    """The one quarantine row of a file that cannot be read: its path, why, and its text when it has one."""
    record: dict[str, Any] = {"_file_name": file.url, "_file_modified_at": file.modified_at, "size": file.size,
                              "sha256": checksum(content)}
    if not file.path.lower().endswith(".parquet"):
        record["content"] = content.decode("utf-8", errors="replace")[: s.MAX_QUARANTINED_CHARS]
    return quarantine_record(s.SOURCE, network.resource, (problem.code, problem.detail), record, now)
