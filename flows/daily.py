"""The ``daily`` Prefect flow: ingest every source (one task each), then ``dbt build``, then
publish the marts, then evaluate the budget rules when they are configured (dry-run unless asked).
Runs without a Prefect server (ephemeral API) or against one."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger

from flows.actions.apply import ActionsReport, run_budget_actions
from flows.transform import DbtResult, publish_marts, run_dbt
from pipelines.errors import AdlakeError, SourceError, root_adlake_error
from pipelines.lake import Lake
from pipelines.runner import SOURCES, LoadSummary, run_source

log = logging.getLogger("adlake.flows")


def _retry_transient_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry throttling, 5xx and network failures; never configuration or data errors."""
    try:
        state.result()
    except SourceError as exc:
        return exc.transient
    except Exception as exc:  # anything else: retry only if it wraps a transient source error
        cause = root_adlake_error(exc)
        return isinstance(cause, SourceError) and cause.transient
    return False


@task(
    name="ingest",
    task_run_name="ingest-{source}",
    retries=2,
    retry_delay_seconds=[30, 120],
    retry_jitter_factor=0.5,
    retry_condition_fn=_retry_transient_only,
    cache_policy=NO_CACHE,  # dlt loads are side effects, never cached
)
def ingest(source: str, start: date | None = None, end: date | None = None) -> LoadSummary:
    """Run one source's dlt pipeline into ``raw``."""
    summary = run_source(source, start_date=start, end_date=end)
    get_run_logger().info("%s: loaded %d rows into %d raw tables", source, summary.total_rows, len(summary.rows))
    return summary


@task(name="dbt-build", cache_policy=NO_CACHE)
def dbt_build(select: str | None = None) -> DbtResult:
    """``dbt build`` (models, tests, seeds) on the lake."""
    args = ["build"] + (["--select", select] if select else [])
    return run_dbt(args)


@task(name="publish-marts", cache_policy=NO_CACHE)
def publish() -> dict[str, int]:
    """Publish the marts to the Iceberg namespace ``marts``."""
    return publish_marts()


@task(name="budget-actions", cache_policy=NO_CACHE)
def evaluate_budget_rules(apply: bool) -> ActionsReport:
    """The budget rules on the marts just built: every action audited, sent only when ``apply``."""
    report = run_budget_actions(apply=apply)
    get_run_logger().info("budget rules: %d action(s), %d proposed, %d applied, %d failed", len(report.actions),
                          report.count("proposed"), report.count("applied"), report.count("failed"))
    return report


@dataclass
class DailyReport:
    """What a run did, per step."""

    loads: dict[str, LoadSummary] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    dbt: DbtResult | None = None
    published: dict[str, int] = field(default_factory=dict)
    actions: ActionsReport | None = None  # None when no budget rules are configured


@flow(name="daily")
def daily(sources: list[str] | None = None, start: date | None = None, end: date | None = None,
          apply_budget_actions: bool = False, budget_rules: bool = True) -> DailyReport:
    """Ingest ``sources`` (default: all), build the dbt project, publish the marts and, when
    ``ADLAKE_BUDGET_RULES`` names a rules file, evaluate the budget rules on the new marts (actions
    are only proposed unless ``apply_budget_actions``). ``budget_rules=False`` leaves the rules to
    another run (the ``budget`` deployment, which follows ``daily``; a backfill).

    A failing source does not stop the others: the models are built from what loaded and
    the run fails at the end, naming every source that failed (and any budget action that failed).
    """
    wanted = sources or sorted(SOURCES)
    unknown = sorted(set(wanted) - set(SOURCES))
    if unknown:
        raise AdlakeError(f"unknown source(s) {', '.join(unknown)}; known sources: {', '.join(sorted(SOURCES))}")
    Lake().catalog  # noqa: B018 - fail fast, once, if the catalog cannot be opened
    report = DailyReport()
    futures = {name: ingest.submit(name, start, end) for name in wanted}
    for name, future in futures.items():
        outcome = future.result(raise_on_failure=False)
        if isinstance(outcome, BaseException):
            cause = root_adlake_error(outcome)
            report.failures[name] = str(cause or f"{type(outcome).__name__}: {outcome}")
        else:
            report.loads[name] = outcome
    if report.loads:
        try:
            report.dbt = dbt_build()
            report.published = publish()
        except Exception as exc:
            # Keep the sources' failures in the message: they are why the models may be short.
            report.failures["transform"] = str(root_adlake_error(exc) or exc)
    if budget_rules and report.dbt is not None and (os.environ.get("ADLAKE_BUDGET_RULES") or apply_budget_actions):
        _budget_step(report, apply_budget_actions)
    if report.failures:
        raise AdlakeError("; ".join(report.failures.values()))
    return report


def _budget_step(report: DailyReport, apply: bool) -> None:
    """Evaluate the rules; a bad rules file or a failed action fails the run at the end, like a source."""
    try:
        report.actions = evaluate_budget_rules(apply)
    except Exception as exc:
        report.failures["budget_actions"] = str(root_adlake_error(exc) or exc)
        return
    if report.actions.failed:
        report.failures["budget_actions"] = (f"{len(report.actions.failed)} budget action(s) failed "
                                             "(recorded in raw._budget_actions)")
