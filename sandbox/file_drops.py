"""Daily report files that a programmatic DSP and an affiliate network drop into a folder or bucket.

Neither network offers the advertiser a reporting API: each delivers one CSV per local day, and a later
delivery of the same day replaces the earlier one. The files come from ``world.reported(...)`` of the
``programmatic`` and ``affiliate`` accounts, so they restate like the platforms do:

- ``<folder>/programmatic/<YYYY-MM-DD>.csv``: one row per creative and day, DSP-style headers and dates
  (``2026/09/01``), media cost, conversions split post-click / post-view; conversions keep arriving until
  the DSP's attribution windows close.
- ``<folder>/affiliate/<YYYY-MM-DD>.csv``: one row per publisher (the world's ad group), campaign and day.
  The affiliate's "spend" is the commission it charges. A day stays ``pending`` until its attribution
  windows have closed (``APPROVAL_DAYS`` after it), then becomes ``approved``: while pending,
  transactions keep arriving and the commission accrues with them (spend x transactions so far / final
  transactions); once approved, transactions are final and the commission equals the spend.

Money has two decimals, exact from integer cents; files are UTF-8 without BOM and byte-identical for the
same world and clock.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sandbox.world import REPORT_WINDOWS, AdGroup, Reported, World

PROGRAMMATIC = "programmatic"
AFFILIATE = "affiliate"
# A day's sales are final once the network's click and view windows have both closed: then it approves them.
APPROVAL_DAYS = max(REPORT_WINDOWS[AFFILIATE])

PROGRAMMATIC_COLUMNS = (
    "Date", "Advertiser ID", "Campaign ID", "Campaign", "Ad Group ID", "Creative ID", "Impressions", "Clicks",
    "Media Cost (Advertiser Currency)", "Advertiser Currency", "Post-Click Conversions", "Post-View Conversions",
    "Total Conversions", "Revenue",
)
AFFILIATE_COLUMNS = (
    "Transaction Date", "Publisher ID", "Publisher", "Campaign ID", "Clicks", "Transactions", "Sale Amount",
    "Commission", "Currency", "Status",
)
# Publishers of a Polish affiliate network; picked per ad group by a stable hash (names need not be unique).
_PUBLISHERS = (
    "Okazje Dnia", "KuponyPlus", "Cashback Polska", "Porównywarka Cen", "Domowe Inspiracje", "Rabaty24",
    "Mama Radzi", "Ogród i Dom", "Smart Zakupy", "Blog Wnętrza",
)


def money(cents: int) -> str:
    """Two-decimal money from integer cents: ``"96.18"``."""
    return f"{cents // 100}.{cents % 100:02d}"


def write_network_reports(world: World, folder: Path | str, as_of: date, *,
                          days: Iterable[date] | None = None) -> list[Path]:
    """Write each network's report file for each day (default: every simulated day up to ``as_of``).

    Returns the written paths, programmatic first, each network's days in order. Rewriting a day
    replaces its file, reflecting whatever restated since the last write.
    """
    wanted = _default_days(world, as_of) if days is None else sorted(set(days))
    future = [d for d in wanted if d > as_of]
    if future:
        raise ValueError(f"no report can be dropped for a day after as_of {as_of}: {future[0]}")
    renderers: tuple[tuple[str, Callable[[World, date, date], bytes]], ...] = (
        (PROGRAMMATIC, programmatic_report), (AFFILIATE, affiliate_report))
    written = []
    for network, render in renderers:
        for day in wanted:
            path = Path(folder) / network / f"{day.isoformat()}.csv"
            _write_atomically(path, render(world, day, as_of))
            written.append(path)
    return written


def programmatic_report(world: World, day: date, as_of: date) -> bytes:
    """The DSP's file for one day as known on ``as_of``: a row per delivered creative."""
    rows = []
    for account in world.accounts[PROGRAMMATIC]:
        for ad in world.all_ads(account):
            reported = world.reported(ad, day, as_of)
            if reported is None:
                continue
            d = reported.delivery
            rows.append((
                day.strftime("%Y/%m/%d"), account.account_id, ad.ad_group.campaign.campaign_id,
                ad.ad_group.campaign.name, ad.ad_group.ad_group_id, ad.ad_id, str(d.impressions), str(d.clicks),
                money(d.spend_cents), account.currency, str(reported.click_conversions),
                str(reported.view_conversions), str(reported.click_conversions + reported.view_conversions),
                money(reported.conversion_value_cents),
            ))
    return _csv(PROGRAMMATIC_COLUMNS, rows)


@dataclass
class _PublisherDay:
    """What one publisher brought one campaign on one day."""

    clicks: int = 0
    transactions: int = 0
    sale_cents: int = 0
    spend_cents: int = 0

    def add(self, reported: Reported) -> None:
        """Add one ad-day of the publisher."""
        self.clicks += reported.delivery.clicks
        # Affiliate networks count every tracked sale, whatever the touch; the world splits click and view.
        self.transactions += reported.click_conversions + reported.view_conversions
        self.sale_cents += reported.conversion_value_cents
        self.spend_cents += reported.delivery.spend_cents


def affiliate_report(world: World, day: date, as_of: date) -> bytes:
    """The affiliate network's file for one day as known on ``as_of``: a row per publisher and campaign."""
    approved_on = day + timedelta(days=APPROVAL_DAYS)
    status = "approved" if as_of >= approved_on else "pending"
    rows = []
    for account in world.accounts[AFFILIATE]:
        for campaign in world.campaigns(account):
            for group in world.ad_groups(campaign):
                totals = _publisher_day(world, group, day, as_of)
                if totals is None:
                    continue
                final = totals if status == "approved" else _publisher_day(world, group, day, approved_on)
                rows.append((
                    day.isoformat(), group.ad_group_id, _publisher(group), campaign.campaign_id, str(totals.clicks),
                    str(totals.transactions), money(totals.sale_cents), money(commission(totals, final)),
                    account.currency, status,
                ))
    return _csv(AFFILIATE_COLUMNS, rows)


def commission(known: _PublisherDay, final: _PublisherDay | None) -> int:
    """Commission in cents: it accrues with the transactions tracked so far and equals the spend once final.

    A publisher day that never brings a sale is charged in full at once (a fixed placement fee).
    """
    if final is None or not final.transactions:
        return known.spend_cents
    return known.spend_cents * known.transactions // final.transactions


def _publisher_day(world: World, group: AdGroup, day: date, as_of: date) -> _PublisherDay | None:
    """Totals of the publisher's links (the ad group's ads), or None when none of them ran that day."""
    totals: _PublisherDay | None = None
    for ad in world.ads(group):
        reported = world.reported(ad, day, as_of)
        if reported is not None:
            totals = totals or _PublisherDay()
            totals.add(reported)
    return totals


def _publisher(group: AdGroup) -> str:
    index = int(hashlib.sha256(group.ad_group_id.encode()).hexdigest(), 16) % len(_PUBLISHERS)
    return _PUBLISHERS[index]


def _default_days(world: World, as_of: date) -> list[date]:
    last = min(as_of, world.config.end_date)
    count = (last - world.config.start_date).days + 1
    return [world.config.start_date + timedelta(days=i) for i in range(max(0, count))]


def _csv(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _write_atomically(path: Path, content: bytes) -> None:
    """Write via a hidden temporary file and a rename, so a folder watcher never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)
