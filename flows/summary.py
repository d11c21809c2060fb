"""The per-channel summary the demo and ``adlake run`` print, read from the mart."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipelines.duck import connect_file

SUMMARY_SQL = """
select
    platform,
    currency,
    count(distinct account_id) as accounts,
    count(distinct ad_id) as ads,
    min(date_day) as first_day,
    max(date_day) as last_day,
    sum(impressions) as impressions,
    sum(clicks) as clicks,
    sum(spend) as spend,
    sum(conversions) as conversions,
    sum(conversions_value) as conversions_value,
    max(reporting_currency) as reporting_currency,
    sum(spend_reporting) as spend_reporting
from marts.fct_ad_performance_daily
group by platform, currency
order by platform, currency
"""


def channel_summary(duckdb_path: Path) -> list[dict[str, object]]:
    """Per platform and currency (money in different currencies is never added up)."""
    con = connect_file(duckdb_path)
    try:
        cursor = con.execute(SUMMARY_SQL)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def render_summary(rows: list[dict[str, object]], console: Console | None = None) -> None:
    """Print the summary as a table, with CPA and ROAS computed from the sums.

    Counts a platform does not report (the affiliate network's impressions) show as "-".
    """
    reporting = next((str(r["reporting_currency"]) for r in rows if r.get("reporting_currency")), "reporting")
    table = Table(title="adlake · ad performance per channel (fct_ad_performance_daily)")
    for header in ("platform", "currency", "accounts", "ads", "days", "impressions", "clicks", "spend",
                   f"spend {reporting}", "conversions", "value", "CPA", "ROAS"):
        table.add_column(header, justify="left" if header in ("platform", "currency", "days") else "right")
    for row in rows:
        spend, conversions, value = float(row["spend"]), float(row["conversions"]), float(row["conversions_value"])
        table.add_row(
            str(row["platform"]), str(row["currency"]), str(row["accounts"]), str(row["ads"]),
            f"{row['first_day']}..{row['last_day']}", _count(row["impressions"]), _count(row["clicks"]),
            f"{spend:,.2f}", _money(row.get("spend_reporting")), f"{conversions:,.0f}", f"{value:,.2f}",
            f"{spend / conversions:,.2f}" if conversions else "-", f"{value / spend:.2f}" if spend else "-",
        )
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=180)  # logs and CI: do not squeeze the numbers into 80 columns
    console.print(table)


def _count(value: object) -> str:
    return "-" if value is None else f"{value:,}"


def _money(value: object) -> str:
    return "-" if value is None else f"{float(value):,.2f}"  # type: ignore[arg-type]
