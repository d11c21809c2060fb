"""The budget rules file: what may fire, and the limits every run keeps.

``ADLAKE_BUDGET_RULES`` names a YAML file (default ``ops/budget_rules.yml`` in the project). It is
validated whole before anything runs: an unknown rule kind or metric, a negative or missing bound,
or changes that add up past the per-run cap are refused with one line naming the rule and key.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.errors import ConfigError

KINDS = ("pause_when_cpa_above", "shift_budget", "alert_on_spend_pace")
# Cost metrics a pause rule can watch (reporting currency): spend per conversion, click, thousand impressions.
COST_METRICS = ("cpa", "cpc", "cpm")
PLATFORMS = ("meta_ads", "google_ads", "tiktok_ads", "linkedin_ads", "microsoft_ads", "programmatic", "affiliate")
CHANNELS = ("paid_social", "paid_search", "display", "affiliate")
DEFAULT_LIMITS = {"max_budget_change_pct": 20.0, "max_actions_per_run": 10}


class BudgetRulesError(ConfigError):
    """The budget rules file is unreadable or invalid; nothing has run."""


@dataclass(frozen=True)
class Limits:
    """Per-run caps: the largest budget change an action may make (percent) and how many actions apply."""

    max_budget_change_pct: float = DEFAULT_LIMITS["max_budget_change_pct"]
    max_actions_per_run: int = int(DEFAULT_LIMITS["max_actions_per_run"])


@dataclass(frozen=True)
class Rule:
    """One validated rule. ``params`` holds the kind's own keys (typed)."""

    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    platforms: tuple[str, ...] = ()  # empty: every platform


@dataclass(frozen=True)
class RulesConfig:
    """The whole file: limits and rules, in file order."""

    limits: Limits
    rules: tuple[Rule, ...]
    path: str = ""


def rules_path(env: Mapping[str, str] | None = None) -> Path:
    """``ADLAKE_BUDGET_RULES``, else ``ops/budget_rules.yml`` in the dbt project."""
    env = os.environ if env is None else env
    if configured := env.get("ADLAKE_BUDGET_RULES"):
        return Path(configured).expanduser()
    from flows.transform import project_dir

    return project_dir() / "ops" / "budget_rules.yml"


def load_rules(path: Path | None = None) -> RulesConfig:
    """Read and validate the rules file.

    Raises:
        BudgetRulesError: The file is missing, not YAML, or any rule or limit is invalid.
    """
    import yaml

    path = path or rules_path()
    if not path.is_file():
        raise BudgetRulesError(f"budget rules: no file at {path} (set ADLAKE_BUDGET_RULES)")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BudgetRulesError(f"budget rules: {path} is not valid YAML ({str(exc).splitlines()[0]})") from exc
    return parse_rules(document, str(path))


def parse_rules(document: Any, where: str = "budget rules") -> RulesConfig:
    """Validate a parsed rules document (see ``ops/budget_rules.yml``)."""
    if not isinstance(document, dict):
        raise BudgetRulesError(f"{where}: expected a mapping with 'rules' (and optional 'limits')")
    unknown = sorted(set(document) - {"limits", "rules"})
    if unknown:
        raise BudgetRulesError(f"{where}: unknown top-level key {unknown[0]!r} (expected limits, rules)")
    limits = _limits(document.get("limits") or {}, where)
    raw_rules = document.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise BudgetRulesError(f"{where}: 'rules' must be a non-empty list")
    rules: list[Rule] = []
    for index, raw in enumerate(raw_rules):
        rule = _rule(raw, f"{where}: rule {index + 1}", limits)
        if any(r.name == rule.name for r in rules):
            raise BudgetRulesError(f"{where}: rule name {rule.name!r} is used twice (names make action ids)")
        rules.append(rule)
    _check_total_shift(rules, limits, where)
    return RulesConfig(limits, tuple(rules), where)


def _number(value: Any, label: str, *, integer: bool = False, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
        raise BudgetRulesError(f"{label} must be {'a whole number' if integer else 'a number'}, not {value!r}")
    if not math.isfinite(value):
        raise BudgetRulesError(f"{label} must be a finite number, not {value!r}")
    if value < 0:
        raise BudgetRulesError(f"{label} must not be negative, not {value!r} (negative bound)")
    if positive and value == 0:
        raise BudgetRulesError(f"{label} must be positive, not {value!r}")
    return float(value)


def _limits(raw: Any, where: str) -> Limits:
    if not isinstance(raw, dict):
        raise BudgetRulesError(f"{where}: 'limits' must be a mapping")
    unknown = sorted(set(raw) - set(DEFAULT_LIMITS))
    if unknown:
        raise BudgetRulesError(f"{where}: limits: unknown key {unknown[0]!r} (known: {', '.join(DEFAULT_LIMITS)})")
    pct = _number(raw.get("max_budget_change_pct", DEFAULT_LIMITS["max_budget_change_pct"]),
                  f"{where}: limits.max_budget_change_pct", positive=True)
    if pct >= 100:
        raise BudgetRulesError(f"{where}: limits.max_budget_change_pct must be below 100, not {pct:g}")
    count = _number(raw.get("max_actions_per_run", DEFAULT_LIMITS["max_actions_per_run"]),
                    f"{where}: limits.max_actions_per_run", integer=True, positive=True)
    return Limits(pct, int(count))


# Keys per kind: required ones and optional ones with defaults.
_REQUIRED = {
    "pause_when_cpa_above": ("above",),
    "shift_budget": ("from_channel", "to_channel", "percent", "min_marginal_roas_gap"),
    "alert_on_spend_pace": ("over_percent",),
}
_OPTIONAL: dict[str, dict[str, Any]] = {
    "pause_when_cpa_above": {"metric": "cpa", "days": 3, "min_spend": 0.0},
    "shift_budget": {"days": 7},
    "alert_on_spend_pace": {"days": 1},
}
_COMMON = ("name", "kind", "platforms")


def _rule(raw: Any, label: str, limits: Limits) -> Rule:
    if not isinstance(raw, dict):
        raise BudgetRulesError(f"{label}: expected a mapping with name and kind")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BudgetRulesError(f"{label}: 'name' must be a non-empty string")
    label = f"{label.rsplit(':', 1)[0]}: rule {name!r}"
    kind = raw.get("kind")
    if kind not in KINDS:
        raise BudgetRulesError(f"{label}: unknown rule kind {kind!r} (known: {', '.join(KINDS)})")
    allowed = set(_COMMON) | set(_REQUIRED[kind]) | set(_OPTIONAL[kind])
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise BudgetRulesError(f"{label}: unknown key {unknown[0]!r} for {kind} "
                               f"(known: {', '.join(sorted(allowed - set(_COMMON)))})")
    missing = [k for k in _REQUIRED[kind] if k not in raw]
    if missing:
        raise BudgetRulesError(f"{label}: missing {missing[0]!r} (a {kind} rule needs {', '.join(_REQUIRED[kind])})")
    params = {**_OPTIONAL[kind], **{k: v for k, v in raw.items() if k not in _COMMON}}
    platforms = raw.get("platforms") or []
    if not isinstance(platforms, list) or any(p not in PLATFORMS for p in platforms):
        bad = next((p for p in platforms if p not in PLATFORMS), platforms) if isinstance(platforms, list) \
            else platforms
        raise BudgetRulesError(f"{label}: unknown platform {bad!r} (known: {', '.join(PLATFORMS)})")
    typed = _typed(kind, params, label, limits)
    return Rule(name.strip(), kind, typed, tuple(platforms))


def _typed(kind: str, params: dict[str, Any], label: str, limits: Limits) -> dict[str, Any]:
    days = int(_number(params["days"], f"{label}: days", integer=True, positive=True))
    if kind == "pause_when_cpa_above":
        if params["metric"] not in COST_METRICS:
            raise BudgetRulesError(f"{label}: unknown metric {params['metric']!r} (known: {', '.join(COST_METRICS)})")
        return {"metric": params["metric"], "days": days, "above": _number(params["above"], f"{label}: above",
                                                                          positive=True),
                "min_spend": _number(params["min_spend"], f"{label}: min_spend")}
    if kind == "alert_on_spend_pace":
        return {"days": days, "over_percent": _number(params["over_percent"], f"{label}: over_percent")}
    for key in ("from_channel", "to_channel"):
        if params[key] not in CHANNELS:
            raise BudgetRulesError(f"{label}: unknown {key} {params[key]!r} (known: {', '.join(CHANNELS)})")
    if params["from_channel"] == params["to_channel"]:
        raise BudgetRulesError(f"{label}: from_channel and to_channel are both {params['from_channel']!r}")
    percent = _number(params["percent"], f"{label}: percent", positive=True)
    if percent > limits.max_budget_change_pct:
        raise BudgetRulesError(f"{label}: percent {percent:g} is over the per-run cap "
                               f"limits.max_budget_change_pct={limits.max_budget_change_pct:g}")
    return {"from_channel": params["from_channel"], "to_channel": params["to_channel"], "percent": percent,
            "min_marginal_roas_gap": _number(params["min_marginal_roas_gap"], f"{label}: min_marginal_roas_gap"),
            "days": days}


def _check_total_shift(rules: list[Rule], limits: Limits, where: str) -> None:
    """Shifts out of (or into) one channel must add up to no more than the per-run cap."""
    for side in ("from_channel", "to_channel"):
        totals: dict[str, float] = {}
        for rule in rules:
            if rule.kind == "shift_budget":
                channel = rule.params[side]
                totals[channel] = totals.get(channel, 0.0) + rule.params["percent"]
        for channel, total in sorted(totals.items()):
            if total > limits.max_budget_change_pct:
                raise BudgetRulesError(
                    f"{where}: shift_budget rules move {total:g} % {'out of' if side == 'from_channel' else 'into'} "
                    f"{channel} in one run, over the per-run cap limits.max_budget_change_pct="
                    f"{limits.max_budget_change_pct:g}")
