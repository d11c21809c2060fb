"""The Microsoft Advertising reporting emulation, read with a plain HTTP client: Submit -> Poll -> download a ZIP."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from sandbox.faults import FaultRule
from sandbox.microsoft_ads import DEFAULT_DEVELOPER_TOKEN, DEFAULT_TOKEN, MicrosoftAdsApp
from sandbox.server import SandboxServer
from sandbox.world import REPORT_WINDOWS, World, WorldConfig

SUBMIT = "/Reporting/v13/GenerateReport/Submit"
POLL = "/Reporting/v13/GenerateReport/Poll"
MONEY = re.compile(r"^\d+\.\d{2}$")
FOOTER = "\u00a92026 Microsoft Corporation. All rights reserved. "


@pytest.fixture
def server(world: World) -> Iterator[SandboxServer]:
    server = SandboxServer(world)
    server.apps = [MicrosoftAdsApp(world, server.clock)]
    with server:
        yield server


def auth(world: World, **overrides: str) -> dict[str, str]:
    account = world.accounts["microsoft_ads"][0]
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "DeveloperToken": DEFAULT_DEVELOPER_TOKEN,
               "CustomerId": account.business_id, "CustomerAccountId": account.account_id}
    return {**headers, **overrides}


def report_request(world: World, start: date, end: date, columns: list[str], *,
                   kind: str = "CampaignPerformanceReportRequest", header: bool = False,
                   footer: bool = False) -> dict[str, Any]:
    def day(d: date) -> dict[str, int]:
        return {"Day": d.day, "Month": d.month, "Year": d.year}

    account_id = int(world.accounts["microsoft_ads"][0].account_id)
    return {"ReportRequest": {
        "Type": kind, "Aggregation": "Daily", "Columns": columns, "Scope": {"AccountIds": [account_id]},
        "Time": {"CustomDateRangeStart": day(start), "CustomDateRangeEnd": day(end),
                 "ReportTimeZone": "AmsterdamBerlinBernRomeStockholmVienna"},
        "Format": "Csv", "ExcludeColumnHeaders": False, "ExcludeReportHeader": not header,
        "ExcludeReportFooter": not footer, "ReturnOnlyCompleteData": False,
    }}


def post(server: SandboxServer, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
         ) -> requests.Response:
    return requests.post(f"{server.url_for('microsoft_ads')}{path}", json=body,
                         headers=headers if headers is not None else auth(server.world), timeout=30)


def download(server: SandboxServer, body: dict[str, Any]) -> tuple[str, bytes]:
    """Submit, poll until Success (expecting one Pending first), download; return the report id and the ZIP."""
    submitted = post(server, SUBMIT, body)
    assert submitted.status_code == 200, submitted.text
    report_id = submitted.json()["ReportRequestId"]
    first = post(server, POLL, {"ReportRequestId": report_id}).json()
    assert first == {"ReportRequestStatus": {"Status": "Pending"}}
    second = post(server, POLL, {"ReportRequestId": report_id}).json()["ReportRequestStatus"]
    assert second["Status"] == "Success"
    url = second["ReportDownloadUrl"]
    assert url.startswith(server.url_for("microsoft_ads") + "/")
    archive = requests.get(url, timeout=30)
    assert archive.status_code == 200
    assert archive.headers["Content-Type"] == "application/zip"
    return report_id, archive.content


def report_text(server: SandboxServer, body: dict[str, Any]) -> str:
    _, archive = download(server, body)
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        names = zipped.namelist()
        assert len(names) == 1 and names[0].endswith(".csv")
        return zipped.read(names[0]).decode("utf-8")


def rows(text: str) -> list[dict[str, str]]:
    """Data rows of a report requested without header and footer."""
    return list(csv.DictReader(io.StringIO(text)))


def cents(value: str) -> int:
    assert MONEY.match(value), value
    return int(Decimal(value) * 100)


def test_flow_and_header_and_footer_lines(server: SandboxServer) -> None:
    world = server.world
    start, end = world.config.start_date, world.config.start_date + timedelta(days=9)
    columns = ["TimePeriod", "CampaignId", "Spend"]
    text = report_text(server, report_request(world, start, end, columns, header=True, footer=True))
    lines = text.split("\r\n")
    assert lines[:8] == [
        '"Report Name: Campaign Performance Report"',
        '"Report Time: 9/1/2026, 9/10/2026"',
        '"Time Zone: (GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"',
        # The books close at the end of the clock's day in Berlin (CET in late October: 23:00 UTC).
        '"Last Completed Available Day: 10/30/2026 11:00:00 PM (GMT)"',
        '"Last Completed Available Hour: 10/30/2026 11:00:00 PM (GMT)"',
        '"Report Aggregation: Daily"',
        '"Report Filter: "',
        '"Potential Incomplete Data: false"',
    ]
    count = int(re.fullmatch(r'"Rows: (\d+)"', lines[8])[1])
    assert lines[9] == ""
    assert lines[10] == '"TimePeriod","CampaignId","Spend"'
    data = lines[11:11 + count]
    assert count > 0 and all(line.startswith('"2026-09-') for line in data)
    assert lines[11 + count:] == ["", f'"{FOOTER}"', ""]

    bare = report_text(server, report_request(world, start, end, columns))
    bare_lines = bare.split("\r\n")
    assert bare_lines[0] == '"TimePeriod","CampaignId","Spend"'
    assert bare_lines[1:] == [*data, ""]


def test_spend_and_conversions_per_campaign_day_equal_the_world(server: SandboxServer) -> None:
    world = server.world
    as_of = server.clock.as_of
    start, end = as_of - timedelta(days=20), as_of
    account = world.accounts["microsoft_ads"][0]
    expected: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for campaign in world.campaigns(account):
        for group in world.ad_groups(campaign):
            for ad in world.ads(group):
                for offset in range((end - start).days + 1):
                    day = start + timedelta(days=offset)
                    reported = world.reported(ad, day, as_of)
                    if reported is None:
                        continue
                    totals = expected[(day.isoformat(), campaign.campaign_id)]
                    totals[0] += reported.delivery.spend_cents
                    totals[1] += reported.delivery.impressions
                    totals[2] += reported.click_conversions
                    totals[3] += reported.conversion_value_cents
    columns = ["TimePeriod", "AccountId", "CampaignId", "CurrencyCode", "Impressions", "Spend", "Conversions",
               "Revenue"]
    got = rows(report_text(server, report_request(world, start, end, columns)))
    assert list(got[0]) == columns
    assert {r["AccountId"] for r in got} == {account.account_id}
    assert {r["CurrencyCode"] for r in got} == {"EUR"}
    actual = {(r["TimePeriod"], r["CampaignId"]): [cents(r["Spend"]), int(r["Impressions"]), int(r["Conversions"]),
                                                   cents(r["Revenue"])] for r in got}
    assert len(actual) == len(got), "one row per campaign-day"
    assert actual == dict(expected)
    assert sum(v[2] for v in actual.values()) > 0, "the period should hold some conversions"


def test_ad_report_columns_in_requested_order(server: SandboxServer) -> None:
    world = server.world
    day = server.clock.as_of - timedelta(days=3)
    columns = ["Spend", "AdId", "TimePeriod", "AdGroupName", "Clicks"]
    got = rows(report_text(server, report_request(world, day, day, columns, kind="AdPerformanceReportRequest")))
    delivered = {ad.ad_id: world.reported(ad, day, server.clock.as_of)
                 for ad in world.all_ads(world.accounts["microsoft_ads"][0])}
    delivered = {k: v for k, v in delivered.items() if v is not None}
    assert list(got[0]) == columns
    assert {r["AdId"]: (cents(r["Spend"]), int(r["Clicks"])) for r in got} == {
        ad_id: (r.delivery.spend_cents, r.delivery.clicks) for ad_id, r in delivered.items()}


def test_authentication_errors(server: SandboxServer) -> None:
    world = server.world
    day = world.config.start_date
    body = report_request(world, day, day, ["TimePeriod", "Spend"])
    for headers in (auth(world, Authorization="Bearer nope"), auth(world, DeveloperToken="nope")):
        answer = post(server, SUBMIT, body, headers)
        assert answer.status_code == 401
        assert answer.json()["Type"] == "AdApiFaultDetail"
        assert (answer.json()["Errors"][0]["Code"], answer.json()["Errors"][0]["ErrorCode"]) == \
            (105, "InvalidCredentials")
    other_customer = post(server, SUBMIT, body, auth(world, CustomerId="1"))
    assert other_customer.status_code == 401
    assert other_customer.json()["Errors"][0]["Code"] == 106


def test_unknown_column_is_refused_at_submit(server: SandboxServer) -> None:
    world = server.world
    day = world.config.start_date
    for columns, bad in ((["TimePeriod", "Spend", "Bananas"], "Bananas"), (["TimePeriod", "AdId", "Spend"], "AdId")):
        answer = post(server, SUBMIT, report_request(world, day, day, columns))
        assert answer.status_code == 400
        body = answer.json()
        assert body["Type"] == "ApiFaultDetail" and body["TrackingId"]
        error = body["OperationErrors"][0]
        assert (error["Code"], error["ErrorCode"]) == (100, "NullRequest")
        assert bad in error["Details"]


def test_unknown_report_id_and_unknown_path(server: SandboxServer) -> None:
    answer = post(server, POLL, {"ReportRequestId": "12345"})
    assert answer.status_code == 400
    assert answer.json()["Type"] == "ApiFaultDetail"
    assert answer.json()["OperationErrors"][0]["Code"] == 2100
    missing = requests.get(f"{server.url_for('microsoft_ads')}/Reporting/v13/Nothing", timeout=10)
    assert missing.status_code == 404
    blob = requests.get(f"{server.url_for('microsoft_ads')}/ReportDownloads/12345.zip", timeout=10)
    assert blob.status_code == 404


def test_report_without_rows_has_no_download_url(server: SandboxServer) -> None:
    world = server.world
    before = world.config.start_date - timedelta(days=10)
    report_id = post(server, SUBMIT, report_request(world, before, before + timedelta(days=3),
                                                    ["TimePeriod", "Spend"])).json()["ReportRequestId"]
    statuses = [post(server, POLL, {"ReportRequestId": report_id}).json()["ReportRequestStatus"] for _ in range(2)]
    assert statuses == [{"Status": "Pending"}, {"Status": "Success", "ReportDownloadUrl": None}]


def test_throttle_fault_says_when_to_retry(server: SandboxServer) -> None:
    world = server.world
    day = world.config.start_date + timedelta(days=5)
    body = report_request(world, day, day, ["TimePeriod", "Spend"])
    server.faults.rules.append(FaultRule("microsoft_ads", "throttle", r"Submit", times=1))
    throttled = post(server, SUBMIT, body)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert (throttled.json()["OperationErrors"][0]["Code"], throttled.json()["OperationErrors"][0]["ErrorCode"]) == \
        (117, "CallRateExceeded")
    assert post(server, SUBMIT, body).status_code == 200


def test_conversions_restate_within_the_window_and_spend_does_not(server: SandboxServer) -> None:
    world = server.world
    late = server.clock.as_of
    early = late - timedelta(days=15)
    start = world.config.start_date
    columns = ["TimePeriod", "CampaignId", "Spend", "Conversions"]

    def table(as_of: date) -> dict[tuple[str, str], dict[str, str]]:
        server.clock.as_of = as_of
        return {(r["TimePeriod"], r["CampaignId"]): r
                for r in rows(report_text(server, report_request(world, start, early, columns)))}

    before, after = table(early), table(late)
    assert before.keys() == after.keys()
    assert all(before[k]["Spend"] == after[k]["Spend"] for k in before)
    changed = {k for k in before if before[k]["Conversions"] != after[k]["Conversions"]}
    assert changed, "no day restated"
    # Days older than Microsoft's default windows (30-day click) were final on the early clock already.
    horizon = max(REPORT_WINDOWS["microsoft_ads"])
    assert all((early - date.fromisoformat(day)).days < horizon for day, _ in changed)


def test_same_seed_same_bytes_different_seed_different_report() -> None:
    def fetch(seed: int) -> tuple[bytes, bytes]:
        world = World(WorldConfig(seed=seed))
        server = SandboxServer(world)
        server.apps = [MicrosoftAdsApp(world, server.clock)]
        with server:
            body = report_request(world, world.config.start_date, world.config.end_date,
                                  ["TimePeriod", "AccountName", "AdGroupId", "Impressions", "Spend", "Revenue"],
                                  kind="AdGroupPerformanceReportRequest", header=True, footer=True)
            report_id, archive = download(server, body)
            poll = post(server, POLL, {"ReportRequestId": report_id}).content
            # The download URL carries the server's own address, which differs between two servers.
            return poll.replace(server.base_url.encode(), b"http://sandbox"), archive

    first, again = fetch(11), fetch(11)
    assert first == again
    assert fetch(12)[1] != first[1]
