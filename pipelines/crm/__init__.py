"""dlt source for a HubSpot-style CRM (CRM v3 objects API): contacts and deals, incremental.

Configuration follows dlt's convention (``SOURCES__CRM__<KEY>`` environment variables or ``[sources.crm]``
in ``.dlt/config.toml`` / ``secrets.toml``): ``base_url``, ``access_token``, ``start_date``, ``page_limit``
and the tuning keys below.

The first run lists every record (or searches from ``start_date`` when it is set); later runs search for
records modified since the last modification seen, minus a small overlap. Contacts carry personal data
(email, phone): it lands as sent in ``raw`` (pseudonymised at the dbt boundary) and is never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import dlt
from dlt.common.typing import TSecretStrValue
from dlt.extract.resource import DltResource

from pipelines import runs
from pipelines.crm import settings as s
from pipelines.crm.helpers import CrmClient, epoch_ms, later, search_since, sort_records
from pipelines.errors import ConfigError
from pipelines.http import RetryPolicy
from pipelines.quarantine import COLUMNS as QUARANTINE_COLUMNS
from pipelines.quarantine import TABLE as QUARANTINE_TABLE
from pipelines.quarantine import Tally
from pipelines.reads import guard_list
from pipelines.windows import parse_date

log = logging.getLogger("adlake.crm")

_ICEBERG: dict[str, Any] = {"write_disposition": "append", "table_format": "iceberg"}
_TEXT = {"data_type": "text"}
# Kept as sent: HubSpot timestamps and amounts are strings, typed in dbt staging.
_COMMON: dict[str, Any] = {
    "_ingested_at": {"data_type": "timestamp"},
    "id": {"data_type": "text", "nullable": False},
    "hs_object_id": _TEXT,
    "created_at": _TEXT,
    "updated_at": _TEXT,
    "archived": {"data_type": "bool"},
}
_CONTACT_COLUMNS = {**_COMMON, **{p: _TEXT for p in s.CONTACT_PROPERTIES},
                    "modified_date": {"data_type": "date", "partition": True}}
_DEAL_COLUMNS = {**_COMMON, **{p: _TEXT for p in s.DEAL_PROPERTIES}, "contact_id": _TEXT,
                 "close_date": {"data_type": "date", "partition": True}}
Page = dict[str, Any]


@dlt.source(name="crm", max_table_nesting=0)
def crm(
    access_token: TSecretStrValue | None = None,
    base_url: str = s.DEFAULT_BASE_URL,
    start_date: str | None = None,
    page_limit: int = s.PAGE_LIMIT,
    max_throttle_wait_seconds: float = s.MAX_THROTTLE_WAIT_SECONDS,
    max_attempts: int = 6,
    backoff_base_seconds: float = 2.0,
    timeout_seconds: float = 60.0,
) -> list[DltResource]:
    """CRM contacts and deals.

    Args:
        access_token: a private-app or OAuth token with the CRM object scopes (sent as ``Bearer``).
        base_url: API root; point it at the sandbox to run offline.
        start_date: on the first run, read only records modified on or after this day (default: all).
        page_limit: records per page (at most 100 when listing, 200 when searching).
        max_throttle_wait_seconds: longest single wait on a 429 (HubSpot's window is 10 s).
        max_attempts: attempts per request on throttling and transient errors.
        backoff_base_seconds: first retry wait; doubles per attempt, with jitter.
        timeout_seconds: per-request timeout.
    """
    if not access_token:
        raise ConfigError(f"crm: {s.ENV_PREFIX}ACCESS_TOKEN is not set (or sources.crm.access_token)")
    if page_limit < 1:
        raise ConfigError(f"crm: {s.ENV_PREFIX}PAGE_LIMIT must be at least 1")
    start = parse_date(start_date, f"{s.ENV_PREFIX}START_DATE")
    client = CrmClient(
        base_url=base_url, access_token=access_token, page_limit=page_limit,
        policy=RetryPolicy(max_attempts=max_attempts, backoff_base=backoff_base_seconds, timeout=timeout_seconds,
                           max_wait=max_throttle_wait_seconds),
    )
    pages = object_pages(client, start)
    return [pages | contacts, pages | deals, pages | objects_quarantine]


@dlt.resource(name="object_pages", selected=False)
def object_pages(client: CrmClient, start: date | None) -> Iterator[Page]:
    """Pages of contacts and deals, sorted into rows to load and rows to quarantine.

    The cursor (latest last-modified value loaded, per object) lives in the resource state, which dlt
    commits with the data, so a failed run never moves it.
    """
    state = dlt.current.resource_state().setdefault("last_modified", {})
    for kind, (table, resource, properties, modified, _) in s.OBJECTS.items():
        run = runs.resource_run(s.SOURCE, table)
        tally = Tally()
        seen: set[str] = set()  # the overlap and moving records can repeat an id inside one run
        since = search_since(state.get(kind), start)
        if since is None:
            log.info("crm: listing every %s", kind)
            pages = client.list_pages(kind, properties)
        else:
            log.info("crm: searching %s modified since %s", kind, since.isoformat())
            run.widen(since.date(), datetime.now(UTC).date())
            pages = client.search_pages(kind, properties, modified, epoch_ms(since))
        latest = state.get(kind)
        unreadable: list[dict[str, Any]] = []
        for page in guard_list(s.SOURCE, resource, kind, pages, tally, unreadable):
            for record in page:
                if isinstance(record, dict):
                    runs.note_new_fields(s.SOURCE, table, record, s.RECORD_KEYS)
                    if isinstance(record.get("properties"), dict):
                        runs.note_new_fields(s.SOURCE, table, record["properties"],
                                             frozenset(properties) | s.ALWAYS_PROPERTIES)
            good, rejected, newest = sort_records(page, kind, seen, datetime.now(UTC), tally)
            latest = later(latest, newest)
            yield {"table": table, "good": good, "rejected": rejected}
        yield {"table": table, "good": [], "rejected": unreadable}
        log.info("crm: %s: %s", resource, tally)
        run.tally.add(tally)
        # Search pages come oldest change first, so the newest change read is a safe resume point even
        # when a later page could not be read; a listing is in id order, so a broken one moves nothing.
        if latest and not (unreadable and since is None):
            state[kind] = latest


def _part(page: Page, table: str) -> Iterator[list[dict[str, Any]]]:
    if page["table"] == table and page["good"]:
        yield page["good"]


@dlt.transformer(name="contacts", table_name="crm__contacts", columns=_CONTACT_COLUMNS, **_ICEBERG)
def contacts(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Contacts as the CRM sends them, one row per id and run (staging keeps the latest version)."""
    yield from _part(page, "crm__contacts")


@dlt.transformer(name="deals", table_name="crm__deals", columns=_DEAL_COLUMNS, **_ICEBERG)
def deals(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Deals with their associated contact, partitioned by the close date (else the last change)."""
    yield from _part(page, "crm__deals")


@dlt.transformer(name="objects_quarantine", table_name=QUARANTINE_TABLE, columns=QUARANTINE_COLUMNS, **_ICEBERG)
def objects_quarantine(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Records that would not load, with the reason, in ``raw._quarantine``."""
    if page["rejected"]:
        yield page["rejected"]
