"""dlt source for the daily report files a programmatic DSP and an affiliate network drop into a folder.

Configuration follows dlt's convention (``SOURCES__FILE_DROPS__<KEY>`` environment variables or
``[sources.file_drops]`` in ``.dlt/config.toml``): ``bucket_url`` (a local path, ``file://`` or ``s3://``
URL; credentials for S3 come from the usual AWS environment) and ``networks`` (one sub-folder each).

Each file loads once; a file whose content changed (a restated day) loads again, and staging keeps the
latest file per day. A file that cannot be read as a report is quarantined whole with its reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from pipelines import runs
from pipelines.file_drops import settings as s
from pipelines.file_drops.helpers import (
    BadFileError,
    DropFile,
    check_header,
    checksum,
    fingerprint,
    list_files,
    normalize_networks,
    open_bucket,
    parse_csv,
    parse_parquet,
    quarantine_file,
    report_day,
    snake_case,
    sort_rows,
    unchanged,
)
from pipelines.quarantine import COLUMNS as QUARANTINE_COLUMNS
from pipelines.quarantine import TABLE as QUARANTINE_TABLE
from pipelines.quarantine import Tally

log = logging.getLogger("adlake.file_drops")

_ICEBERG: dict[str, Any] = {"write_disposition": "append", "table_format": "iceberg"}
Page = dict[str, Any]


def _columns(network: s.Network) -> dict[str, Any]:
    """Every report column as text (kept as sent, typed in staging), the file stamps and the partition."""
    return {
        **{snake_case(c): {"data_type": "text"} for c in network.columns},
        s.PARTITION_COLUMN: {"data_type": "date", "partition": True},
        "_file_name": {"data_type": "text"},
        "_file_modified_at": {"data_type": "timestamp"},
        "_ingested_at": {"data_type": "timestamp"},
    }


@dlt.source(name="file_drops", max_table_nesting=0)
def file_drops(bucket_url: str | None = None, networks: Any = s.DEFAULT_NETWORKS) -> list[DltResource]:
    """The networks' daily report files.

    Args:
        bucket_url: the drop folder: a local path, ``file://`` or ``s3://`` URL.
        networks: networks to read, comma-separated (``programmatic,affiliate``); one sub-folder each.
    """
    fs, root, prefix = open_bucket(bucket_url)
    wanted = normalize_networks(networks)
    pages = file_pages(fs, root, prefix, wanted)
    return [pages | programmatic_daily, pages | affiliate_daily, pages | files_quarantine]


@dlt.resource(name="file_pages", selected=False)
def file_pages(fs: Any, root: str, prefix: str, networks: list[str]) -> Iterator[Page]:
    """One page per new or changed file, sorted into rows to load and rows to quarantine.

    The resource state maps each file to its size, modification time and checksum; dlt commits it with
    the data, so a failed run reads the same files again.
    """
    state = dlt.current.resource_state().setdefault("files", {})
    for name in networks:
        network = s.NETWORKS[name]
        run = runs.resource_run(s.SOURCE, network.table)
        tally = Tally()
        seen: set[tuple[str, ...]] = set()
        # Newest file first: when two files of one run carry the same row key, the newer delivery wins.
        files = sorted(list_files(fs, root, prefix, name), key=lambda f: (f.modified_at is not None,
                                                                         f.modified_at or 0, f.path), reverse=True)
        for file in files:
            known = state.get(file.url)
            if unchanged(file, known):
                continue
            content = fs.cat_file(file.path)
            digest = checksum(content)
            if not (known and known.get("sha256") == digest):  # rewritten byte for byte: nothing to load
                page = _read(file, content, network, seen, tally)
                for day in page.pop("days"):
                    run.widen(day, day)
                yield page
            state[file.url] = {**fingerprint(file), "sha256": digest}
        log.info("file_drops: %s: %s", name, tally)
        run.tally.add(tally)


def _read(file: DropFile, content: bytes, network: s.Network, seen: set[tuple[str, ...]], tally: Tally) -> Page:
    """A file's page: its rows, or one quarantine row for the whole file when it cannot be read."""
    now = datetime.now(UTC)
    try:
        header, rows = parse_parquet(content) if file.path.lower().endswith(".parquet") else parse_csv(content)
        check_header(header, network)
    except BadFileError as problem:
        log.warning("file_drops: quarantined %s whole: %s", file.url, problem.detail)
        tally.received += 1
        tally.quarantined += 1
        return {"table": network.table, "good": [], "days": [],
                "rejected": [quarantine_file(file, network, problem, content, now)]}
    for row in rows[:1]:  # every row of a file has the same columns
        runs.note_new_fields(s.SOURCE, network.table, {k: v for k, v in row.items() if k != "__extra__"},
                             frozenset(network.columns))
    good, rejected = sort_rows(rows, file, network, seen, now, tally)
    days = sorted({d for d in (report_day(r[network.date_column], network) for r in rows
                               if isinstance(r.get(network.date_column), str)) if d})
    log.info("file_drops: %s: %d rows, %d quarantined", file.url, len(good), len(rejected))
    return {"table": network.table, "good": good, "rejected": rejected, "days": days}


def _part(page: Page, table: str) -> Iterator[list[dict[str, Any]]]:
    if page["table"] == table and page["good"]:
        yield page["good"]


@dlt.transformer(name="programmatic_daily", table_name=s.NETWORKS["programmatic"].table,
                 columns=_columns(s.NETWORKS["programmatic"]), **_ICEBERG)
def programmatic_daily(page: Page) -> Iterator[list[dict[str, Any]]]:
    """The DSP's rows per creative and day, one version per delivered file."""
    yield from _part(page, s.NETWORKS["programmatic"].table)


@dlt.transformer(name="affiliate_daily", table_name=s.NETWORKS["affiliate"].table,
                 columns=_columns(s.NETWORKS["affiliate"]), **_ICEBERG)
def affiliate_daily(page: Page) -> Iterator[list[dict[str, Any]]]:
    """The affiliate network's rows per publisher, campaign and day (pending, later approved)."""
    yield from _part(page, s.NETWORKS["affiliate"].table)


@dlt.transformer(name="files_quarantine", table_name=QUARANTINE_TABLE, columns=QUARANTINE_COLUMNS, **_ICEBERG)
def files_quarantine(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Files and rows that would not load, with the reason, in ``raw._quarantine``."""
    if page["rejected"]:
        yield page["rejected"]
