"""``adlake sandbox budget-check``: does following the budget recommendation beat flat budgets in truth?

The budget marts recommend a daily spend per paid channel from curves fitted on attributed conversions; only the
sandbox knows what the recommendation really does. The check reads ``marts.rpt_budget_recommendations`` (current
and recommended daily spend per ``attribution_channel``), turns it into one budget multiplier per sandbox platform
(recommended / current) and simulates the world's next period twice with common random numbers
(:func:`sandbox.budget_scenario.next_period`): flat (every multiplier 1) and the plan. It reports the true
conversions of both (counted, and expected: every person-day's probability summed, free of the draws' noise), the
true change next to the marts' expected change (the forecast error) and the curves' backtest error
(``fct_budget_response_curves.backtest_wape``). The forecast error is that of the marts' own claim: their curves
predict attributed conversions, which count conversions that would have happened anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import AdlakeError

if TYPE_CHECKING:
    from sandbox.budget_scenario import PeriodOutcome
    from sandbox.world import World

# The platform part of an attribution channel -> the sandbox's platform (the others are spelled alike).
SANDBOX_PLATFORMS: Mapping[str, str] = {"meta_ads": "meta"}

PLAN_SQL = """
select
    recommendations.attribution_channel,
    recommendations.reporting_currency,
    recommendations.current_spend_reporting,
    recommendations.recommended_spend_reporting,
    recommendations.expected_conversions_change,
    recommendations.is_fitted,
    value_curves.status,
    value_curves.r2 as value_r2,
    conversions_curves.r2,
    conversions_curves.spend_coefficient_of_variation,
    conversions_curves.backtest_wape
from marts.rpt_budget_recommendations as recommendations
left join marts.fct_budget_response_curves as value_curves
    on recommendations.attribution_channel = value_curves.attribution_channel
    and value_curves.response_metric = 'value'
left join marts.fct_budget_response_curves as conversions_curves
    on recommendations.attribution_channel = conversions_curves.attribution_channel
    and conversions_curves.response_metric = 'conversions'
order by recommendations.attribution_channel
"""


@dataclass(frozen=True)
class ChannelPlan:
    """One paid channel's recommendation and the fit of its conversions curve."""

    attribution_channel: str
    platform: str  # the sandbox's platform
    current_spend: float  # daily, reporting currency
    recommended_spend: float
    expected_conversions_change: float  # daily, steady state (attributed conversions)
    status: str | None  # of the value curve (the one max_value allocates by)
    value_r2: float | None
    r2: float | None  # of the conversions curve, like spend_cv and backtest_wape
    spend_cv: float | None
    backtest_wape: float | None

    @property
    def multiplier(self) -> float:
        """Recommended over current spend (1 when the channel spends nothing now)."""
        return self.recommended_spend / self.current_spend if self.current_spend > 0 else 1.0


@dataclass(frozen=True)
class BudgetCheck:
    """Flat against plan over the next simulated period."""

    channels: list[ChannelPlan]
    currency: str
    flat: PeriodOutcome
    plan: PeriodOutcome

    @property
    def true_change(self) -> int:
        return self.plan.conversions - self.flat.conversions

    @property
    def true_change_pct(self) -> float:
        return self.true_change / self.flat.conversions if self.flat.conversions else 0.0

    @property
    def expected_change(self) -> float:
        """The marts' expected change over the period: the daily steady-state changes times the days."""
        return sum(c.expected_conversions_change for c in self.channels) * self.plan.days

    @property
    def expected_true_change(self) -> float:
        """The true change without the draws' noise (expected conversions, plan minus flat)."""
        return self.plan.expected_conversions - self.flat.expected_conversions

    @property
    def forecast_error(self) -> float:
        """The marts' expected change minus the true change (expected, without the draws' noise)."""
        return self.expected_change - self.expected_true_change


def sandbox_platform(attribution_channel: str) -> str:
    """``paid_social:meta_ads`` -> ``meta``: the sandbox platform of a paid attribution channel."""
    from sandbox.journeys import PAID

    part = attribution_channel.split(":", 1)[-1]
    platform = SANDBOX_PLATFORMS.get(part, part)
    if platform not in PAID:
        raise AdlakeError(f"attribution channel {attribution_channel!r} has no paid platform in the sandbox")
    return platform


def read_plan(duckdb_path: Path) -> tuple[list[ChannelPlan], str]:
    """The recommendations and their curves from the lake's DuckDB file, and the reporting currency."""
    import duckdb

    from pipelines.duck import connect_file

    con = connect_file(Path(duckdb_path))
    try:
        cursor = con.execute(PLAN_SQL)
        names = [d[0] for d in cursor.description]
        rows: list[dict[str, Any]] = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    except duckdb.CatalogException as exc:
        raise AdlakeError(f"the budget marts are not in {duckdb_path}: run `dbt build` (or `adlake demo`) first"
                          ) from exc
    finally:
        con.close()
    if not rows:
        raise AdlakeError("marts.rpt_budget_recommendations is empty: no paid channel with spend to check")
    channels = [ChannelPlan(r["attribution_channel"], sandbox_platform(r["attribution_channel"]),
                            float(r["current_spend_reporting"] or 0.0), float(r["recommended_spend_reporting"] or 0.0),
                            float(r["expected_conversions_change"] or 0.0), r["status"], r["value_r2"], r["r2"],
                            r["spend_coefficient_of_variation"], r["backtest_wape"]) for r in rows]
    return channels, rows[0]["reporting_currency"]


def multipliers(channels: Sequence[ChannelPlan]) -> dict[str, float]:
    """The plan as one budget multiplier per sandbox platform (channels of one platform weighted by spend)."""
    current: dict[str, float] = {}
    recommended: dict[str, float] = {}
    for c in channels:
        current[c.platform] = current.get(c.platform, 0.0) + c.current_spend
        recommended[c.platform] = recommended.get(c.platform, 0.0) + c.recommended_spend
    return {p: recommended[p] / current[p] for p in current if current[p] > 0}


def budget_check(world: World, duckdb_path: Path, days: int = 14) -> BudgetCheck:
    """Simulate the world's next ``days`` days flat and under the lake's recommendation."""
    from sandbox.budget_scenario import next_period

    if days <= 0:
        raise AdlakeError(f"--days must be positive, not {days}")
    channels, currency = read_plan(duckdb_path)
    try:
        flat, plan = next_period(world, {}, days), next_period(world, multipliers(channels), days)
    except ValueError as exc:
        raise AdlakeError(f"cannot simulate the recommendation: {exc}") from exc
    return BudgetCheck(channels, currency, flat, plan)


def render_check(check: BudgetCheck) -> str:
    """Per channel the plan and its fit, then flat against plan in truth and the forecast error."""
    lines = [f"budget plan against the sandbox's truth: the next {check.plan.days} simulated days from "
             f"{check.plan.first_day} (daily spend in {check.currency}; true spend in PLN over the period)",
             "(status and R2 v: the value curve; R2 c, cv and wape: the conversions curve's fit, spend variation and "
             "backtest error)",
             f"{'channel':<26} {'status':<12} {'R2 v':>5} {'R2 c':>5} {'cv':>5} {'wape':>5} {'current':>9} "
             f"{'recommended':>11} {'x':>5} {'spend flat':>11} {'spend plan':>11}"]
    for c in check.channels:
        lines.append(f"{c.attribution_channel:<26} {c.status or '-':<12} {_num(c.value_r2, 2):>5} {_num(c.r2, 2):>5} "
                     f"{_num(c.spend_cv, 2):>5} "
                     f"{_num(c.backtest_wape, 2):>5} {c.current_spend:>9,.0f} {c.recommended_spend:>11,.0f} "
                     f"{c.multiplier:>5.2f} {check.flat.spend_pln[c.platform]:>11,.0f} "
                     f"{check.plan.spend_pln[c.platform]:>11,.0f}")
    flat, plan = check.flat, check.plan
    lines += [
        "",
        f"true conversions, flat budgets:       {flat.conversions:>7,}   (spend {flat.total_spend_pln:,.0f} PLN)",
        f"true conversions, recommendation:     {plan.conversions:>7,}   (spend {plan.total_spend_pln:,.0f} PLN)",
        f"true change:                          {check.true_change:>+7,}   ({check.true_change_pct:+.1%})",
        f"true change, expected (no draw noise):{check.expected_true_change:>+9,.1f}   "
        f"({flat.expected_conversions:,.1f} -> {plan.expected_conversions:,.1f})",
        f"marts' expected change (attributed):  {check.expected_change:>+9,.1f}",
        f"forecast error (marts - true expected):{check.forecast_error:>+8,.1f}",
    ]
    return "\n".join(lines)


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
