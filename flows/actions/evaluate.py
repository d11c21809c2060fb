"""Evaluate the budget rules on the built marts (DuckDB, read-only): every triggered rule is an action.

Evidence comes from ``marts.fct_ad_performance_daily`` (spend, conversions, clicks; money in the
reporting currency for thresholds, in the account currency against budgets) and, for
``shift_budget``, marginal ROAS per channel from ``marts.fct_budget_response_curves`` when that
mart exists. The evidence day is the last day the mart holds (for the rule's platforms).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flows.actions.records import Action
from flows.actions.rules import Rule, RulesConfig
from pipelines.actions.clients import PLATFORMS as WRITABLE
from pipelines.actions.clients import Entity, WriteClient
from pipelines.errors import AdlakeError, first_line

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger("adlake.actions")
PERFORMANCE = "marts.fct_ad_performance_daily"
CURVES = ("marts", "fct_budget_response_curves")


@dataclass
class Evaluation:
    """The actions the rules triggered, and the rules that could not be evaluated (with the reason)."""

    actions: list[Action] = field(default_factory=list)
    skipped_rules: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Group:
    """One ad group's totals over a window (money in the reporting currency and in the account's)."""

    platform: str
    account_id: str
    campaign_id: str
    ad_group_id: str
    name: str
    channel: str
    currency: str
    reporting_currency: str
    spend: float
    spend_account: float
    conversions: float
    clicks: int
    impressions: int
    days: int


def _last_day(con: duckdb.DuckDBPyConnection, platforms: tuple[str, ...]) -> date | None:
    where, params = _platform_filter(platforms)
    return con.execute(f"select max(date_day) from {PERFORMANCE} {where}", params).fetchone()[0]


def _platform_filter(platforms: tuple[str, ...], prefix: str = "where") -> tuple[str, list[Any]]:
    if not platforms:
        return "", []
    return f"{prefix} platform in ({', '.join('?' for _ in platforms)})", list(platforms)


def _groups(con: duckdb.DuckDBPyConnection, platforms: tuple[str, ...], first: date, last: date) -> list[_Group]:
    where, params = _platform_filter(platforms, "and")
    rows = con.execute(f"""
        select platform, account_id, campaign_id, ad_group_id, max(ad_group_name), max(channel), max(currency),
               max(reporting_currency), sum(coalesce(spend_reporting, spend)), sum(spend), sum(conversions),
               sum(clicks), sum(impressions), count(distinct date_day)
        from {PERFORMANCE}
        where date_day between ? and ? {where}
        group by platform, account_id, campaign_id, ad_group_id
        order by platform, account_id, campaign_id, ad_group_id
    """, [first, last, *params]).fetchall()
    return [_Group(str(r[0]), str(r[1]), str(r[2]), str(r[3] or ""), str(r[4] or ""), str(r[5] or ""),
                   str(r[6] or ""), str(r[7] or ""), float(r[8] or 0), float(r[9] or 0), float(r[10] or 0),
                   int(r[11] or 0), int(r[12] or 0), int(r[13])) for r in rows]


def _metric(group: _Group, metric: str) -> float | None:
    """Cost per conversion / click / thousand impressions; infinite when money was spent for none."""
    denominator = {"cpa": group.conversions, "cpc": group.clicks, "cpm": group.impressions / 1000}[metric]
    if group.spend <= 0:
        return None
    return group.spend / denominator if denominator > 0 else math.inf


def evaluate(con: duckdb.DuckDBPyConnection, config: RulesConfig,
             clients: Mapping[str, WriteClient] | None = None) -> Evaluation:
    """Every action the rules trigger on the marts in ``con``."""
    out = Evaluation()
    for rule in config.rules:
        last = _last_day(con, rule.platforms)
        if last is None:
            out.skipped_rules[rule.name] = f"no rows in {PERFORMANCE}"
            continue
        first = last - timedelta(days=int(rule.params["days"]) - 1)
        if rule.kind == "pause_when_cpa_above":
            out.actions += _pause(rule, _groups(con, rule.platforms, first, last), first, last)
        elif rule.kind == "alert_on_spend_pace":
            actions, problem = _pace(rule, _groups(con, rule.platforms, first, last), first, last, clients or {})
            out.actions += actions
            if problem:
                out.skipped_rules[rule.name] = problem
        else:
            actions, problem = _shift(con, rule, _groups(con, rule.platforms, first, last), first, last,
                                      config.limits.max_budget_change_pct)
            out.actions += actions
            if problem:
                out.skipped_rules[rule.name] = problem
    for name, reason in out.skipped_rules.items():
        log.info("budget rule %s skipped: %s", name, reason)
    return out


def _action(rule: Rule, group: _Group, last: date, action_type: str, evidence: dict[str, Any],
            proposed: dict[str, Any], *, campaign_level: bool = False) -> Action:
    return Action(rule.name, rule.kind, action_type, group.platform, group.account_id, group.campaign_id,
                  "" if campaign_level else group.ad_group_id, group.name, last, evidence, proposed)


def _pause(rule: Rule, groups: list[_Group], first: date, last: date) -> list[Action]:
    metric, above = rule.params["metric"], rule.params["above"]
    actions = []
    for group in groups:
        value = _metric(group, metric)
        if value is None or group.spend < rule.params["min_spend"] or value <= above:
            continue
        evidence = {"window": [first.isoformat(), last.isoformat()], "days_with_data": group.days,
                    "spend": round(group.spend, 2), "conversions": group.conversions, "clicks": group.clicks,
                    "impressions": group.impressions, metric: None if math.isinf(value) else round(value, 4),
                    "threshold": above, "currency": group.reporting_currency}
        actions.append(_action(rule, group, last, "pause", evidence, {"status": "PAUSED"}))
    return actions


def _budget_groups(groups: list[_Group]) -> list[tuple[_Group, bool]]:
    """Groups at the level their budget lives: Google Ads budgets are per campaign (summed), the others per
    ad set / ad group. Returns each with ``campaign_level``."""
    merged: dict[tuple[str, str, str], _Group] = {}
    out: list[tuple[_Group, bool]] = []
    for group in groups:
        if group.platform != "google_ads":
            out.append((group, False))
            continue
        key = (group.platform, group.account_id, group.campaign_id)
        seen = merged.get(key)
        merged[key] = group if seen is None else _Group(
            seen.platform, seen.account_id, seen.campaign_id, "", seen.name.split(" / ")[0], seen.channel,
            seen.currency, seen.reporting_currency, seen.spend + group.spend, seen.spend_account + group.spend_account,
            seen.conversions + group.conversions, seen.clicks + group.clicks, seen.impressions + group.impressions,
            max(seen.days, group.days))
    return out + [(g, True) for g in merged.values()]


def _pace(rule: Rule, groups: list[_Group], first: date, last: date,
          clients: Mapping[str, WriteClient]) -> tuple[list[Action], str]:
    """Average daily spend over the window against the daily budget the platform holds now."""
    actions: list[Action] = []
    unread: set[str] = set()
    limit = 1 + rule.params["over_percent"] / 100
    days = (last - first).days + 1
    for group, campaign_level in _budget_groups(groups):
        client = clients.get(group.platform)
        if client is None:
            unread.add(group.platform)
            continue
        entity = Entity(group.platform, group.account_id, group.campaign_id,
                        "" if campaign_level else group.ad_group_id)
        try:
            budget = client.daily_budget(entity)
        except AdlakeError as exc:
            log.warning("budget rule %s: cannot read the budget of %s: %s", rule.name, entity, first_line(exc))
            unread.add(group.platform)
            continue
        pace = Decimal(str(group.spend_account)) / days
        if budget <= 0 or pace <= budget * Decimal(str(limit)):
            continue
        evidence = {"window": [first.isoformat(), last.isoformat()], "daily_spend": round(float(pace), 2),
                    "daily_budget": float(budget), "pace_pct": round(float(pace / budget) * 100, 1),
                    "threshold_pct": 100 + rule.params["over_percent"], "currency": group.currency}
        actions.append(_action(rule, group, last, "alert", evidence,
                               {"alert": f"spend pace {evidence['pace_pct']:g} % of the daily budget"},
                               campaign_level=campaign_level))
    problem = (f"budgets not readable for {', '.join(sorted(unread))} (no write client configured, or the "
               "platform refused)") if unread else ""
    return actions, problem


def _marginal_roas(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, float], str]:
    columns = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        list(CURVES)).fetchall()}
    if not columns:
        return {}, f"{'.'.join(CURVES)} does not exist yet (build the response curves first)"
    if not {"channel", "marginal_roas"} <= columns:
        return {}, f"{'.'.join(CURVES)} has no channel/marginal_roas columns"
    rows = con.execute(f"select channel, avg(marginal_roas) from {'.'.join(CURVES)} "
                       "where marginal_roas is not null group by channel").fetchall()
    return {str(c): float(v) for c, v in rows}, ""


def _shift(con: duckdb.DuckDBPyConnection, rule: Rule, groups: list[_Group], first: date, last: date,
           cap_pct: float) -> tuple[list[Action], str]:
    """Move ``percent`` of channel A's budgets to channel B when B's marginal ROAS beats A's by the gap."""
    roas, problem = _marginal_roas(con)
    source, target = rule.params["from_channel"], rule.params["to_channel"]
    if problem:
        return [], problem
    if source not in roas or target not in roas:
        return [], f"no marginal ROAS for {source if source not in roas else target}"
    gap = roas[target] - roas[source]
    if gap <= rule.params["min_marginal_roas_gap"]:
        return [], ""
    budgets = [(g, c) for g, c in _budget_groups(groups) if g.channel in (source, target)]
    spend_from = sum(g.spend for g, _ in budgets if g.channel == source)
    spend_to = sum(g.spend for g, _ in budgets if g.channel == target)
    if spend_from <= 0 or spend_to <= 0:
        return [], f"no spend in {source if spend_from <= 0 else target} over the window"
    share = rule.params["percent"] / 100
    # Budgets scale by one factor per side, so the money moved out of A lands in B (by last window's spend),
    # never past the per-run cap on any one budget.
    factors = {source: 1 - share, target: min(1 + share * spend_from / spend_to, 1 + cap_pct / 100)}
    evidence_base = {"window": [first.isoformat(), last.isoformat()], "marginal_roas": {source: roas[source],
                     target: roas[target]}, "gap": round(gap, 4), "min_gap": rule.params["min_marginal_roas_gap"],
                     "channel_spend": {source: round(spend_from, 2), target: round(spend_to, 2)}}
    actions = []
    for group, campaign_level in budgets:
        evidence = {**evidence_base, "entity_spend": round(group.spend, 2)}
        actions.append(_action(rule, group, last, "budget", evidence,
                               {"daily_budget_factor": round(factors[group.channel], 6)},
                               campaign_level=campaign_level))
    return actions, ""


def supported(platform: str) -> bool:
    """Whether adlake can apply actions on ``platform``."""
    return platform in WRITABLE
