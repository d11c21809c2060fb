"""A small ``marts.fct_ad_performance_daily`` built straight from the sandbox world (no dbt run needed)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb

from sandbox.world import FX_FROM_PLN, World

PLATFORMS = {"meta": ("meta_ads", "paid_social"), "tiktok_ads": ("tiktok_ads", "paid_social"),
             "google_ads": ("google_ads", "paid_search")}
COLUMNS = ("date_day date, platform varchar, account_id varchar, campaign_id varchar, ad_group_id varchar, "
           "ad_group_name varchar, ad_id varchar, channel varchar, currency varchar, reporting_currency varchar, "
           "spend decimal(18, 6), spend_reporting decimal(18, 6), conversions decimal(18, 6), clicks bigint, "
           "impressions bigint")


def performance_rows(world: World, days: int = 7) -> list[tuple[object, ...]]:
    """What the platforms report for the world's last ``days`` days, one row per ad and day."""
    end = world.config.end_date
    rows = []
    for world_platform, (platform, channel) in PLATFORMS.items():
        for account in world.accounts[world_platform]:
            for ad in world.all_ads(account):
                for back in range(days):
                    day = end - timedelta(days=back)
                    r = world.reported(ad, day, end)
                    if r is None:
                        continue
                    spend = r.delivery.spend_cents / 100
                    group = ad.ad_group
                    rows.append((day, platform, account.account_id, group.campaign.campaign_id, group.ad_group_id,
                                 group.name, ad.ad_id, channel, account.currency, "PLN", spend,
                                 spend / FX_FROM_PLN[account.currency], r.click_conversions + r.view_conversions,
                                 r.delivery.clicks, r.delivery.impressions))
    return rows


def write_marts(path: Path, rows: list[tuple[object, ...]], curves: dict[str, float] | None = None) -> None:
    """The DuckDB file the flow reads: the performance fact and, optionally, marginal ROAS per channel."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        con.execute(f"create or replace table marts.fct_ad_performance_daily ({COLUMNS})")
        con.executemany(f"insert into marts.fct_ad_performance_daily values ({', '.join('?' * 15)})", rows)
        if curves is not None:
            con.execute("create or replace table marts.fct_budget_response_curves (channel varchar, "
                        "marginal_roas double)")
            con.executemany("insert into marts.fct_budget_response_curves values (?, ?)", list(curves.items()))
    finally:
        con.close()


def cpa_by_ad_group(rows: list[tuple[object, ...]], platform: str, days: int) -> dict[str, float]:
    """Spend (reporting currency) per conversion per ad group over the last ``days`` days (the truth the
    tests choose thresholds from)."""
    last = max(r[0] for r in rows if r[1] == platform)
    spend: dict[str, float] = {}
    conversions: dict[str, float] = {}
    for r in rows:
        if r[1] == platform and (last - r[0]).days < days:
            spend[r[4]] = spend.get(r[4], 0.0) + float(r[11])
            conversions[r[4]] = conversions.get(r[4], 0.0) + float(r[12])
    return {g: spend[g] / conversions[g] if conversions[g] else float("inf") for g in spend}
