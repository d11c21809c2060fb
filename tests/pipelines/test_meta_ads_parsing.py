"""Meta's error envelopes, usage headers and row validation: examples and properties."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import requests
from hypothesis import given
from hypothesis import strategies as st

from pipelines.meta_ads.helpers import (
    Tally,
    classify,
    insight_problem,
    sort_insights,
    usage_wait_seconds,
)
from pipelines.windows import chunks, remembered, report_window


def _response(status: int, body: object, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.headers.update(headers or {})
    return response


def _error(code: int, **extra: object) -> dict[str, object]:
    return {"error": {"message": f"(#{code}) something", "type": "OAuthException", "code": code, **extra}}


def test_throttle_codes_are_retried_with_the_regain_time() -> None:
    buc = {"1": [{"call_count": 100, "estimated_time_to_regain_access": 2}]}
    usage = {"x-business-use-case-usage": json.dumps(buc)}
    for code in (4, 17, 32, 613, 80000, 80004, 80014):
        verdict = classify(_response(400, _error(code), usage))
        assert verdict is not None and verdict.retry
        assert verdict.wait == 120.0


def test_bad_token_is_final_and_names_the_setting() -> None:
    verdict = classify(_response(400, _error(190)))
    assert verdict is not None and not verdict.retry
    assert "SOURCES__META_ADS__ACCESS_TOKEN" in verdict.message


def test_other_errors_are_final_and_server_errors_retried() -> None:
    final = classify(_response(400, _error(100, error_subcode=33)))
    assert final is not None and not final.retry and "subcode 33" in final.message
    assert classify(_response(500, b"<html>oops</html>")).retry
    assert classify(_response(200, {"data": []})) is None


def test_usage_below_threshold_means_no_pause() -> None:
    headers = {"x-ad-account-usage": json.dumps({"acc_id_util_pct": 42.0, "reset_time_duration": 100})}
    assert usage_wait_seconds(headers, 90.0) == 0.0
    headers = {"x-ad-account-usage": json.dumps({"acc_id_util_pct": 95.0, "reset_time_duration": 100})}
    assert usage_wait_seconds(headers, 90.0) == 100.0


_json = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                         st.sampled_from(["call_count", "acc_id_util_pct", "reset_time_duration",
                                          "estimated_time_to_regain_access", "1"]), inner, max_size=3),
                     max_leaves=8)
_header = st.one_of(st.text(max_size=20), _json.map(lambda v: json.dumps(v, allow_nan=True)))


@given(st.dictionaries(st.sampled_from(["x-business-use-case-usage", "x-ad-account-usage", "x-app-usage"]),
                       _header), st.floats(min_value=0, max_value=100))
def test_usage_headers_never_break_the_client(headers: dict[str, str], threshold: float) -> None:
    wait = usage_wait_seconds(headers, threshold)
    assert wait >= 0 and wait == wait  # never negative, never NaN


@given(st.binary(max_size=300), st.integers(min_value=400, max_value=599))
def test_any_error_body_gets_a_verdict(body: bytes, status: int) -> None:
    verdict = classify(_response(status, body))
    assert verdict is not None and verdict.message


_numbers = st.one_of(st.none(), st.text(max_size=8), st.integers(-5, 10**9).map(str),
                     st.decimals(allow_nan=True, allow_infinity=True, places=2).map(str))


@given(st.fixed_dictionaries({
    "account_id": st.one_of(st.none(), st.just(""), st.just("1")),
    "ad_id": st.one_of(st.none(), st.just("2")),
    "date_start": st.one_of(st.just("2026-10-01"), st.text(max_size=10)),
    "spend": _numbers, "impressions": _numbers, "clicks": _numbers, "frequency": _numbers,
    "actions": st.one_of(st.none(), st.just([{"action_type": "x", "value": "1"}]), st.just("oops"), st.just([1])),
}))
def test_insight_validation_accepts_only_loadable_rows(row: dict[str, object]) -> None:
    problem = insight_problem(row)
    if problem is None:
        assert row["account_id"] and row["ad_id"]
        date.fromisoformat(str(row["date_start"]))
        for key in ("impressions", "clicks"):
            assert row[key] is None or int(str(row[key])) >= 0
        for key in ("spend", "frequency"):
            assert row[key] is None or (Decimal(str(row[key])).is_finite() and Decimal(str(row[key])) >= 0)
        assert row["actions"] is None or isinstance(row["actions"], list)
    else:
        code, detail = problem
        assert code in {"missing_key", "type_coercion", "schema_violation"} and detail


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)), st.integers(0, 400),
       st.integers(1, 60), st.one_of(st.none(), st.integers(-30, 400)), st.booleans())
def test_report_window_never_skips_a_day(start: date, span: int, rewind: int, loaded_offset: int | None,
                                         configured: bool) -> None:
    end = start + timedelta(days=span)
    last = None if loaded_offset is None else start + timedelta(days=loaded_offset)
    floor = start if configured else None
    window = report_window(floor, start, end, last, rewind)
    if window is None:
        assert last is not None and last - timedelta(days=rewind - 1) > end
        return
    since, until = window
    assert until == end
    if configured:
        assert since >= start  # a configured start is a floor
    if last is None:
        assert since == start
    else:
        # everything after the last loaded day, plus the restatement window, is requested again,
        # even when that is before the default start (an outage longer than the default window)
        assert since == max(last - timedelta(days=rewind - 1), floor or date.min)
    parts = list(chunks(since, until, 30))
    assert parts[0][0] == since and parts[-1][1] == until
    assert all(a <= b and (b - a).days < 30 for a, b in parts)
    assert all(nxt[0] == prev[1] + timedelta(days=1) for prev, nxt in pairwise(parts))


_rows = st.lists(st.fixed_dictionaries({
    "account_id": st.just("1"),
    "ad_id": st.sampled_from(["10", "11", "12"]),
    "date_start": st.sampled_from(["2026-10-01", "2026-10-02", "not a date"]),
    "spend": st.sampled_from(["1.00", "0", "-3", "NaN", None]),
}), max_size=30)


@given(st.lists(_rows, max_size=4))
def test_every_received_row_is_loaded_quarantined_or_a_duplicate(pages: list[list[dict[str, object]]]) -> None:
    tally, seen = Tally(), set()
    loaded: list[dict[str, object]] = []
    quarantined: list[dict[str, object]] = []
    for page in pages:
        good, rejected = sort_insights(page, seen, datetime(2026, 11, 1, tzinfo=UTC), tally)
        loaded += good
        quarantined += rejected
    assert tally.received == sum(len(p) for p in pages)
    assert tally.loaded == len(loaded) and tally.quarantined == len(quarantined)
    assert tally.received == len(loaded) + len(quarantined) + tally.duplicates
    keys = [(r["ad_id"], r["date_start"]) for r in loaded]
    assert len(keys) == len(set(keys))
    assert all(r["_ingested_at"] is not None for r in loaded)


def test_the_remembered_day_never_passes_today() -> None:
    today = date(2026, 11, 1)
    assert remembered(date(2030, 1, 1), today, None) == "2026-11-01"
    assert remembered(date(2026, 10, 1), today, "2026-10-15") == "2026-10-15"
    assert remembered(date(2026, 10, 20), today, "2026-10-15") == "2026-10-20"
