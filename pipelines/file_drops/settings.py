"""Constants of the network file drops: where each network's daily reports land and what they hold."""

from __future__ import annotations

from dataclasses import dataclass

ENV_PREFIX = "SOURCES__FILE_DROPS__"
SOURCE = "file_drops"
DEFAULT_NETWORKS = "programmatic,affiliate"
# Report files the source reads; anything else in a network folder (temporary files, notes) is ignored.
SUFFIXES = (".csv", ".parquet")
# A whole-file quarantine row keeps the file's text up to this many characters (the file itself stays put).
MAX_QUARANTINED_CHARS = 1_000_000


@dataclass(frozen=True)
class Network:
    """One network's report layout, by CSV header (loaded columns are the headers in snake_case).

    Attributes:
        table: the raw table.
        resource: the dlt resource (transformer) name.
        columns: headers every file must carry, in the network's order.
        date_column: the report day; ``date_format`` is how the network writes it.
        key: headers that identify a row within a day (duplicates inside one run are dropped).
        integers: headers that must hold non-negative whole numbers.
        decimals: headers that must hold decimal amounts.
    """

    table: str
    resource: str
    columns: tuple[str, ...]
    date_column: str
    date_format: str
    key: tuple[str, ...]
    integers: tuple[str, ...]
    decimals: tuple[str, ...]


NETWORKS: dict[str, Network] = {
    "programmatic": Network(
        table="file_drops__programmatic_daily",
        resource="programmatic_daily",
        columns=("Date", "Advertiser ID", "Campaign ID", "Campaign", "Ad Group ID", "Creative ID", "Impressions",
                 "Clicks", "Media Cost (Advertiser Currency)", "Advertiser Currency", "Post-Click Conversions",
                 "Post-View Conversions", "Total Conversions", "Revenue"),
        date_column="Date",
        date_format="%Y/%m/%d",  # the DSP writes 2026/09/01
        key=("Date", "Creative ID"),
        integers=("Impressions", "Clicks", "Post-Click Conversions", "Post-View Conversions", "Total Conversions"),
        decimals=("Media Cost (Advertiser Currency)", "Revenue"),
    ),
    "affiliate": Network(
        table="file_drops__affiliate_daily",
        resource="affiliate_daily",
        columns=("Transaction Date", "Publisher ID", "Publisher", "Campaign ID", "Clicks", "Transactions",
                 "Sale Amount", "Commission", "Currency", "Status"),
        date_column="Transaction Date",
        date_format="%Y-%m-%d",
        key=("Transaction Date", "Publisher ID", "Campaign ID"),
        integers=("Clicks", "Transactions"),
        decimals=("Sale Amount", "Commission"),
    ),
}
# The partition column every network table carries, derived from its date column.
PARTITION_COLUMN = "report_date"
