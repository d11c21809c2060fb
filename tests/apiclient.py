"""A plain HTTP reader of the Meta emulation, independent of adlake's connector: the tests'
yardstick for what the API served."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import requests

from sandbox.meta import DEFAULT_TOKEN


def pages(base_url: str, account_id: str, edge: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every page of a Graph edge, following `paging.next` links."""
    url: str | None = f"{base_url}/v21.0/act_{account_id}/{edge}"
    query: dict[str, Any] | None = params
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    while url:
        response = requests.get(url, params=query, headers=headers, timeout=30)
        response.raise_for_status()
        body = response.json()
        yield body
        url, query = body.get("paging", {}).get("next"), None


def insights(base_url: str, account_id: str, since: date, until: date, level: str = "ad",
             fields: str = "ad_id,date_start,spend,actions,action_values") -> list[dict[str, Any]]:
    """All insights rows of an account for a period."""
    params = {"level": level, "fields": fields, "limit": 500, "time_increment": 1,
              "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()})}
    return [row for body in pages(base_url, account_id, "insights", params) for row in body["data"]]


def conversions(row: dict[str, Any], action_types: set[str]) -> Decimal:
    """Sum of the `value` of the listed action types (Meta's default attribution setting)."""
    return sum((Decimal(a["value"]) for a in row.get("actions", []) if a["action_type"] in action_types),
               Decimal(0))
