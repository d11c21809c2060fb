"""Emulation of the AppsFlyer Pull API (raw data export, CSV) over the simulated people.

``GET /api/raw-data/export/app/<app_id>/<report>/v5?from=&to=&timezone=&maximum_rows=`` with
``Authorization: Bearer``. Reports: ``installs_report`` and ``in_app_events_report``. The MMP
attributes each install to a media source by its own rules; in-app purchases inside a
re-engagement window are emitted twice (``Is Retargeting``/``Is Primary Attribution``), as the
real API does, so a naive sum double counts revenue.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

import numpy as np

from sandbox.journeys import CONVERSION_TYPES, conversion_ids, rng_for
from sandbox.server import Clock, Request, Response
from sandbox.world import FX_FROM_PLN, World

DEFAULT_TOKEN = "sandbox-appsflyer-token"
APP_ID = "com.nordlys.home"
HISTORY_DAYS = 90
REPORTS = ("installs_report", "in_app_events_report")
COLUMNS = (
    "Attributed Touch Type", "Attributed Touch Time", "Install Time", "Event Time", "Event Name", "Event Value",
    "Event Revenue", "Event Revenue Currency", "Event Revenue USD", "Media Source", "Campaign", "Campaign ID",
    "Country Code", "AppsFlyer ID", "Advertising ID", "Customer User ID", "Platform", "Is Retargeting",
    "Is Primary Attribution", "App ID",
)
# (media source, campaign, campaign id, share of installs)
_SOURCES = (
    ("Facebook Ads", "app_pl_spring", "881234", 0.3),
    ("googleadwords_int", "uac_pl_installs", "771001", 0.25),
    ("bytedanceglobal_int", "tt_app_pl", "661900", 0.15),
    ("organic", "", "", 0.3),
)


def _text(status: int, message: str) -> Response:
    return Response(status, message.encode(), {"Content-Type": "text/plain; charset=utf-8"})


class AppsFlyerApp:
    """AppsFlyer's raw-data Pull API for one app."""

    prefix = "/appsflyer"
    platform = "appsflyer"

    def __init__(self, world: World, clock: Clock, *, token: str = DEFAULT_TOKEN) -> None:
        self.world = world
        self.clock = clock
        self.token = token

    def handle(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if len(parts) != 7 or parts[:4] != ["api", "raw-data", "export", "app"] or parts[6] != "v5":
            return self.not_found(request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _text(401, "Authentication failed: the API token is invalid or expired")
        app_id, report = parts[4], parts[5]
        if app_id != APP_ID:
            return _text(404, f"App ID {app_id} was not found in your account")
        if report not in REPORTS:
            return _text(400, f"Unknown report type: {report}")
        try:
            since, until = _date(request.param("from")), _date(request.param("to"))
            maximum = int(request.param("maximum_rows") or 1_000_000)
        except ValueError as exc:
            return _text(400, f"Invalid parameter: {exc}")
        if until < since:
            return _text(400, "'to' date must not be before 'from' date")
        if (self.clock.as_of - since).days > HISTORY_DAYS:
            return _text(400, f"Raw data is available for the last {HISTORY_DAYS} days only")
        until = min(until, self.clock.as_of)
        rows = self._installs(since, until) if report == "installs_report" else self._events(since, until)
        return Response(200, _csv(rows[:maximum]), {"Content-Type": "text/csv; charset=utf-8"})

    def not_found(self, request: Request) -> Response:
        return _text(404, "Not Found")

    def fault_response(self, kind: str, request: Request) -> Response:
        if kind == "throttle":
            report = request.path.strip("/").split("/")[5] if request.path.count("/") >= 6 else "raw data"
            return _text(400, f"Your API calls limit has been reached for report type: {report}")
        if kind == "auth_expired":
            return _text(401, "Authentication failed: the API token is invalid or expired")
        return _text(500, "Internal Server Error")

    @cached_property
    def install_days(self) -> np.ndarray:
        """Install day per person (-1: no app); never after the person's first in-app purchase."""
        journeys = self.world.journeys
        population = journeys.population
        rng = rng_for(self.world.config.seed, "installs")
        day = np.where(population.has_app, rng.integers(0, self.world.config.days, population.size), -1)
        c = journeys.conversions
        app = c["kind"] == CONVERSION_TYPES.index("app_purchase")
        np.minimum.at(day, c["person"][app], c["day"][app])
        return day

    @cached_property
    def install_seconds(self) -> np.ndarray:
        """Install second of the day; before the first purchase when both fall on the same day."""
        population = self.world.journeys.population
        second = np.arange(population.size, dtype=np.int64) % 86_400
        c = self.world.journeys.conversions
        app = np.flatnonzero(c["kind"] == CONVERSION_TYPES.index("app_purchase"))
        same_day = app[c["day"][app] == self.install_days[c["person"][app]]]
        np.minimum.at(second, c["person"][same_day], np.maximum(c["second"][same_day] - 60, 0))
        return second

    @cached_property
    def _source(self) -> np.ndarray:
        rng = rng_for(self.world.config.seed, "mmp_source")
        shares = np.cumsum([s[3] for s in _SOURCES])
        return np.searchsorted(shares, rng.random(self.world.journeys.population.size) * shares[-1] * 0.9999)

    def _moment(self, day: int, second: int) -> str:
        start = self.world.config.start_date
        moment = datetime(start.year, start.month, start.day) + timedelta(days=int(day), seconds=int(second))
        return moment.strftime("%Y-%m-%d %H:%M:%S")

    def identity_row(self, person: int) -> dict[str, str]:
        """The MMP's view of a person's install: ids, media source, campaign (shared with its pushes)."""
        source, campaign, campaign_id, _ = _SOURCES[int(self._source[person])]
        digest = hashlib.sha256(f"{self.world.config.seed}|af|{person}".encode()).hexdigest()
        day, second = self.install_days[person], self.install_seconds[person]
        install = self._moment(day, second)
        organic = source == "organic"
        return {
            "Attributed Touch Type": "" if organic else "click",
            "Attributed Touch Time": "" if organic else self._moment(day, max(0, second - 900)),
            "Install Time": install, "Media Source": source, "Campaign": campaign, "Campaign ID": campaign_id,
            "Country Code": "PL", "AppsFlyer ID": f"{1714700000000 + person}-{int(digest[:7], 16)}",
            "Advertising ID": f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-a{digest[17:20]}-{digest[20:32]}",
            "Customer User ID": f"cu_{person}", "Platform": "android", "App ID": APP_ID,
        }

    def _window(self, since: date, until: date) -> tuple[int, int]:
        start = self.world.config.start_date
        return (since - start).days, (until - start).days

    def _installs(self, since: date, until: date) -> list[dict[str, str]]:
        low, high = self._window(since, until)
        people = np.flatnonzero((self.install_days >= low) & (self.install_days <= high))
        people = people[np.lexsort((self.install_seconds[people], self.install_days[people]))]
        rows = []
        for person in people.tolist():
            row = self.identity_row(person)
            row.update({"Event Time": row["Install Time"], "Event Name": "install", "Is Retargeting": "false",
                        "Is Primary Attribution": "true"})
            rows.append(row)
        return rows

    def _events(self, since: date, until: date) -> list[dict[str, str]]:
        low, high = self._window(since, until)
        c = self.world.journeys.conversions
        ids = conversion_ids(c)
        chosen = np.flatnonzero((c["kind"] == CONVERSION_TYPES.index("app_purchase")) & (c["day"] >= low)
                                & (c["day"] <= high))
        rows = []
        for i in chosen.tolist():
            person = int(c["person"][i])
            revenue = f"{c['value_cents'][i] / 100:.2f}"
            row = self.identity_row(person)
            row.update({
                "Event Time": self._moment(c["day"][i], c["second"][i]), "Event Name": "af_purchase",
                "Event Value": json.dumps(
                    {"af_revenue": revenue, "af_currency": "PLN", "af_order_id": f"order-{ids[i]}"},
                    separators=(",", ":"),
                ),
                "Event Revenue": revenue, "Event Revenue Currency": "PLN",
                "Event Revenue USD": f"{c['value_cents'][i] * FX_FROM_PLN['USD'] / 100:.2f}",
                "Is Retargeting": "false", "Is Primary Attribution": "true",
            })
            rows.append(row)
            if int(hashlib.sha256(ids[i].encode()).hexdigest(), 16) % 10 == 0:
                # Inside a re-engagement window the same event is reported for the retargeting source too.
                rows.append({**row, "Is Retargeting": "true", "Is Primary Attribution": "false",
                             "Media Source": "googleadwords_int", "Campaign": "uac_pl_reengage",
                             "Campaign ID": "771777"})
        return rows


def _date(value: str | None) -> date:
    if not value:
        raise ValueError("'from' and 'to' are required")
    return datetime.strptime(value[:10], "%Y-%m-%d").date()


def _csv(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()
