"""The ``adlake`` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from pipelines.errors import AdlakeError, first_line, root_adlake_error

if TYPE_CHECKING:
    from sandbox.world import World

log = logging.getLogger("adlake")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a YYYY-MM-DD date") from exc


def _sources(value: str) -> list[str]:
    return [s.strip() for s in value.split(",") if s.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    parser = argparse.ArgumentParser(
        prog="adlake",
        description="Lakehouse for multichannel advertising analytics: dlt -> Iceberg -> dbt, run by Prefect.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logs and full tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the daily flow against the embedded sandbox and print a summary")
    demo.add_argument("--days", type=int, default=30, help="simulated days to ingest, ending today (default 30)")
    demo.add_argument("--seed", type=int, default=None, help="sandbox world seed")
    demo.add_argument("--scale", type=float, default=1.0, help="sandbox world size (1 = default)")
    demo.add_argument("--faults", action="store_true", help="inject the seeded, recoverable fault plan")

    run = commands.add_parser("run", help="run the daily flow against the configured sources")
    run.add_argument("--sources", type=_sources, default=None, help="comma-separated sources (default: all)")
    run.add_argument("--start", type=_date, default=None, help="first report day, YYYY-MM-DD")
    run.add_argument("--end", type=_date, default=None, help="last report day, YYYY-MM-DD")
    run.add_argument("--apply-budget-actions", action="store_true",
                     help="after the build, apply the budget rules' actions (ADLAKE_BUDGET_RULES; without this "
                          "flag they are only proposed, and only when ADLAKE_BUDGET_RULES is set)")

    commands.add_parser("publish", help="publish the marts built by `dbt build` to the Iceberg namespace marts")

    bench = commands.add_parser("bench", help="time sandbox pull, ingest, dbt build and publication in a scratch lake")
    bench.add_argument("--scale", type=float, default=1.0, help="sandbox world size (1 = default)")
    bench.add_argument("--days", type=int, default=None, help="report days to ingest (default: the whole world)")
    bench.add_argument("--seed", type=int, default=None, help="sandbox world seed")
    bench.add_argument("--truth", action="store_true", help="measure ground-truth generation (time, peak memory) only")
    bench.add_argument("--webhooks", action="store_true", help="load a webhook receiver with signed deliveries only")
    bench.add_argument("--seconds", type=float, default=10.0, help="webhook load duration (default 10)")
    bench.add_argument("--connections", type=int, default=32, help="concurrent webhook connections (default 32)")
    bench.add_argument("--workers", type=int, default=1, help="receiver worker processes (default 1)")
    bench.add_argument("--attribution", action="store_true",
                       help="attribute a synthetic journeys file with every model only (time, peak memory)")
    bench.add_argument("--journeys", type=int, default=1_000_000, help="synthetic journeys (default 1,000,000)")

    attribute = commands.add_parser("attribute", help="attribute a journeys Parquet file with every model "
                                                      "(one row per model and channel)")
    attribute.add_argument("--journeys", required=True, help="Parquet: journey_id, touch_ts, channel, "
                                                              "conversion_ts, conversion_value (one row per touch)")
    attribute.add_argument("--out", required=True, help="Parquet file for model, channel, conversions, "
                                                         "conversion_value")
    attribute.add_argument("--models", default=None, help="comma-separated models (default: all)")
    attribute.add_argument("--lookback-days", type=float, default=30.0, help="window before each conversion "
                                                                              "(default 30)")
    attribute.add_argument("--half-life-days", type=float, default=7.0, help="time_decay half-life (default 7)")

    hooks = commands.add_parser("serve-webhooks", help="receive signed webhooks, journal them, land them in raw")
    hooks.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    hooks.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    hooks.add_argument("--workers", type=int, default=1, help="receiving processes (default 1)")

    _add_sandbox_parser(commands)
    _add_budget_parser(commands)
    return parser


def _add_budget_parser(commands: Any) -> None:
    """``adlake budget ...``: budget recommendations and threshold actions."""
    budget = commands.add_parser("budget", help="budget recommendations and threshold actions")
    budget_commands = budget.add_subparsers(dest="budget_command", required=True, metavar="SUBCOMMAND")
    apply = budget_commands.add_parser("apply", help="evaluate the budget rules (ADLAKE_BUDGET_RULES) on the built "
                                                     "marts, record every action in raw._budget_actions and, with "
                                                     "--apply, send them to the platforms")
    mode = apply.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", dest="apply", action="store_false", default=False,
                      help="record the actions as proposed and send nothing (the default)")
    mode.add_argument("--apply", dest="apply", action="store_true",
                      help="apply the actions through the platforms' budget/status endpoints")
    apply.add_argument("--rules", default=None, help="the rules file (default: ADLAKE_BUDGET_RULES, else "
                                                     "ops/budget_rules.yml)")
    plan = budget_commands.add_parser("plan", help="print the recommended daily spend per channel "
                                                   "(marts.rpt_budget_recommendations, or recomputed for --mode)")
    plan.add_argument("--mode", choices=["max_value", "target_roas", "cap_cpa"], default=None,
                      help="recompute from the fitted curves in this mode (default: the built table)")
    plan.add_argument("--target", type=float, default=None, help="target_roas: the ROAS to keep; cap_cpa: the CPA cap")
    plan.add_argument("--duckdb", default=None, help="the lake's DuckDB file (default: the configured lake's)")
    undo = budget_commands.add_parser("undo", help="restore the budget or status an applied action replaced "
                                                   "(its undo record in raw._budget_actions)")
    undo.add_argument("action_id", help="the action's id (adlake budget apply prints it; raw._budget_actions)")
    undo_mode = undo.add_mutually_exclusive_group()
    undo_mode.add_argument("--dry-run", dest="apply", action="store_false", default=False,
                           help="print what would be restored and send nothing (the default)")
    undo_mode.add_argument("--apply", dest="apply", action="store_true",
                           help="write the previous value back through the platform's endpoint")


def _add_sandbox_parser(commands: Any) -> None:
    """``adlake sandbox ...``: the simulated platforms."""
    sandbox = commands.add_parser("sandbox", help="the simulated platforms")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="SUBCOMMAND")
    serve = sandbox_commands.add_parser("serve", help="serve the emulated platform APIs until interrupted")
    serve.add_argument("--seed", type=int, default=None)
    serve.add_argument("--scale", type=float, default=1.0)
    serve.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    serve.add_argument("--faults", action="store_true", help="inject the seeded, recoverable fault plan")
    drops = sandbox_commands.add_parser("drops", help="write the programmatic and affiliate daily report files")
    drops.add_argument("--out", required=True, help="folder the networks drop their files into")
    drops.add_argument("--seed", type=int, default=None)
    drops.add_argument("--scale", type=float, default=1.0)
    emit = sandbox_commands.add_parser("emit", help="push the world's webhook events to a receiver, signed")
    emit.add_argument("--url", required=True, help="the receiver's base URL (e.g. http://127.0.0.1:8000)")
    emit.add_argument("--public-url", default=None, help="the URL providers sign (behind a proxy), default --url")
    emit.add_argument("--days", type=int, default=7, help="last N simulated days (default 7)")
    emit.add_argument("--duplicate-rate", type=float, default=0.1, help="share of deliveries sent twice")
    emit.add_argument("--seed", type=int, default=None)
    emit.add_argument("--scale", type=float, default=1.0)
    hook_env = sandbox_commands.add_parser("webhook-env", help="print the ADLAKE_WEBHOOK_* settings a receiver needs "
                                                                "to accept `sandbox emit` (shell export lines)")
    hook_env.add_argument("--public-url", default="", help="the URL the sandbox signs for Twilio, if not its target")
    hook_env.add_argument("--seed", type=int, default=None)
    hook_env.add_argument("--scale", type=float, default=1.0)
    score = sandbox_commands.add_parser("score", help="score the attribution marts' channel shares against the "
                                                      "world's true incremental shares (L1, rank correlation)")
    score.add_argument("--duckdb", default=None, help="the lake's DuckDB file (default: the configured lake's)")
    score.add_argument("--seed", type=int, default=None)
    score.add_argument("--scale", type=float, default=1.0)
    check = sandbox_commands.add_parser("budget-check", help="simulate the next period flat and under the budget "
                                                             "recommendation: true conversions and forecast error")
    check.add_argument("--duckdb", default=None, help="the lake's DuckDB file (default: the configured lake's)")
    check.add_argument("--days", type=int, default=14, help="simulated days of the next period (default 14)")
    check.add_argument("--seed", type=int, default=None)
    check.add_argument("--scale", type=float, default=1.0)
    truth = sandbox_commands.add_parser("truth", help="write the world's ground truth as Parquet")
    truth.add_argument("--out", required=True, help="folder for the Parquet files")
    truth.add_argument("--seed", type=int, default=None)
    truth.add_argument("--scale", type=float, default=1.0)


def _setup_logging(verbose: bool) -> None:
    # Prefect attaches its handlers to these loggers, so dlt's and adlake's lines show in flow logs.
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "dlt,adlake")
    os.environ.setdefault("DLT_TELEMETRY__ENABLED", "false")  # nothing leaves the machine
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect's temporary API server gives up after 20 s by default; a loaded 2-core CI runner needs longer.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    if verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "DEBUG")
    logging.getLogger("adlake").setLevel(logging.DEBUG if verbose else logging.INFO)


class _NoTraceback(logging.Filter):
    """Keep library tracebacks off the console: the command prints one clear line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


class _DropServerStop(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Stopping temporary server")


def _quiet_tracebacks() -> None:
    # Logger filters run before any handler, whichever handlers Prefect attaches later.
    names = {"prefect", "prefect.flow_runs", "prefect.task_runs", "dlt", "adlake"}
    names |= {n for n in logging.root.manager.loggerDict if n.split(".")[0] in ("prefect", "dlt", "adlake")}
    for name in names:
        logging.getLogger(name).addFilter(_NoTraceback())


def _positive(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        value = getattr(args, name, None)
        if value is not None and value <= 0:
            raise AdlakeError(f"--{name.replace('_', '-')} must be positive, not {value}")


def _cmd_demo(args: argparse.Namespace) -> None:
    from flows.demo import run_demo

    _positive(args, "days", "scale")
    run_demo(days=args.days, seed=args.seed, scale=args.scale, faults=args.faults)


def _cmd_run(args: argparse.Namespace) -> None:
    from flows.daily import daily
    from flows.summary import channel_summary, render_summary
    from pipelines.lake import Lake

    if args.start and args.end and args.start > args.end:
        raise AdlakeError(f"--start {args.start} is after --end {args.end}")
    report = daily(sources=args.sources, start=args.start, end=args.end,
                   apply_budget_actions=args.apply_budget_actions)
    if report.actions is not None:
        from flows.actions.apply import render_report

        print(render_report(report.actions))
    render_summary(channel_summary(Lake().settings.duckdb_path))


def _cmd_publish(args: argparse.Namespace) -> None:
    from flows.transform import publish_marts

    for name, rows in publish_marts().items():
        print(f"published marts.{name}: {rows} rows")


def _cmd_bench(args: argparse.Namespace) -> None:
    import json

    from flows.bench import run_bench, run_truth_bench

    _positive(args, "days", "scale", "seconds", "connections", "workers", "journeys")
    if args.attribution:
        from flows.bench_attribution import run_attribution_bench

        print(json.dumps(run_attribution_bench(args.journeys, seed=args.seed or 0), indent=2))
        return
    if args.webhooks:
        from flows.bench_webhooks import run_webhook_bench

        print(json.dumps(run_webhook_bench(args.seconds, args.connections, args.workers), indent=2))
        return
    if args.truth:
        print(json.dumps(run_truth_bench(args.scale, args.seed), indent=2))
        return
    print(json.dumps(run_bench(scale=args.scale, days=args.days, seed=args.seed), indent=2))


def _cmd_attribute(args: argparse.Namespace) -> None:
    from pathlib import Path

    from attribution.engine import MODELS
    from flows.attribute import parse_models, run_attribute

    _positive(args, "lookback_days", "half_life_days")
    models = parse_models(args.models) if args.models is not None else list(MODELS)
    run_attribute(Path(args.journeys), Path(args.out), models, lookback_days=args.lookback_days,
                  half_life_days=args.half_life_days)


def _cmd_serve_webhooks(args: argparse.Namespace) -> None:
    from pipelines.webhooks.service import serve

    _positive(args, "workers")
    print(f"adlake: receiving webhooks on http://{args.host}:{args.port} ({args.workers} worker(s)); Ctrl-C stops")
    sys.stdout.flush()
    serve(args.host, args.port, args.workers)


def _cmd_sandbox(args: argparse.Namespace) -> None:
    from pathlib import Path

    from sandbox.catalog import emulations, source_settings
    from sandbox.faults import FaultPlan
    from sandbox.file_drops import write_network_reports
    from sandbox.server import SandboxServer
    from sandbox.truth import write_truth
    from sandbox.world import DEFAULT_SEED, World, WorldConfig

    if args.scale <= 0:
        raise AdlakeError(f"--scale must be positive, not {args.scale}")
    world = World(WorldConfig(seed=DEFAULT_SEED if args.seed is None else args.seed, scale=args.scale))
    if args.sandbox_command == "truth":
        for name, rows in write_truth(world, Path(args.out)).items():
            print(f"{Path(args.out) / name}.parquet: {rows} rows")
        return
    if args.sandbox_command == "score":
        _score(world, args)
        return
    if args.sandbox_command == "budget-check":
        _budget_check(world, args)
        return
    if args.sandbox_command == "drops":
        files = write_network_reports(world, Path(args.out), world.config.end_date)
        print(f"wrote {len(files)} daily report files under {args.out}")
        return
    if args.sandbox_command == "emit":
        _emit(world, args)
        return
    if args.sandbox_command == "webhook-env":
        import shlex

        from sandbox.webhooks import WebhookSecrets, receiver_environment

        for key, value in receiver_environment(WebhookSecrets.from_seed(world.config.seed), args.public_url).items():
            print(f"export {key}={shlex.quote(value)}")
        return
    plan = FaultPlan.from_seed(world.config.seed, [e.platform for e in emulations()]) if args.faults else None
    server = SandboxServer(world, port=args.port, faults=plan)
    print(f"sandbox serving {server.base_url} (world {world.config.start_date}..{world.config.end_date}, "
          f"seed {world.config.seed}, scale {world.config.scale:g}{', faults on' if plan else ''})")
    for key, value in source_settings(server.base_url, world).items():
        print(f"  {key}={value}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()


def _score(world: World, args: argparse.Namespace) -> None:
    from pathlib import Path

    from flows.score import render_scores, score_lake
    from pipelines.lake import Lake

    path = Path(args.duckdb) if args.duckdb else Lake().settings.duckdb_path
    scores, truth = score_lake(path, world.journeys.incremental)
    print(render_scores(scores, truth))


def _budget_check(world: World, args: argparse.Namespace) -> None:
    from pathlib import Path

    from flows.budget_check import budget_check, render_check
    from pipelines.lake import Lake

    _positive(args, "days")
    path = Path(args.duckdb) if args.duckdb else Lake().settings.duckdb_path
    print(render_check(budget_check(world, path, days=args.days)))


def _emit(world: World, args: argparse.Namespace) -> None:
    from collections import Counter

    from sandbox.emission import world_deliveries
    from sandbox.webhooks import WebhookEmitter, WebhookSecrets

    secrets = WebhookSecrets.from_seed(world.config.seed)
    deliveries = world_deliveries(world, last_days=args.days)
    with WebhookEmitter(args.url, secrets, seed=world.config.seed, duplicate_rate=args.duplicate_rate,
                        public_base_url=args.public_url) as emitter:
        log = emitter.send(deliveries)
    sent = Counter(d.provider for d in deliveries)
    print(f"emitted {len(deliveries)} deliveries ({', '.join(f'{k} {v}' for k, v in sorted(sent.items()))}): "
          f"{len(log.acknowledged())} acknowledged, {len(log.duplicates())} duplicates, {len(log.dropped())} dropped")
    if log.dropped():
        raise AdlakeError(f"{len(log.dropped())} deliveries were never acknowledged by {args.url}")


def _cmd_budget(args: argparse.Namespace) -> None:
    from pathlib import Path

    if args.budget_command == "plan":
        from flows.budget_plan import budget_plan, render_plan
        from pipelines.lake import Lake

        path = Path(args.duckdb) if args.duckdb else Lake().settings.duckdb_path
        render_plan(budget_plan(path, mode=args.mode, target=args.target))
        return
    if args.budget_command == "undo":
        from flows.actions.undo import render_undo, undo_action

        outcome = undo_action(args.action_id, apply=args.apply)
        print(render_undo(outcome))
        if outcome.status == "failed":
            raise AdlakeError(f"budget action {args.action_id} was not undone: {outcome.message}")
        return
    from flows.actions.apply import render_report, run_budget_actions

    report = run_budget_actions(apply=args.apply, rules_file=Path(args.rules) if args.rules else None)
    print(render_report(report))
    if report.failed:
        raise AdlakeError(f"{len(report.failed)} budget action(s) failed; recorded in raw._budget_actions")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``adlake`` command."""
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    handlers = {"demo": _cmd_demo, "run": _cmd_run, "publish": _cmd_publish, "bench": _cmd_bench,
                "attribute": _cmd_attribute, "budget": _cmd_budget,
                "sandbox": _cmd_sandbox, "serve-webhooks": _cmd_serve_webhooks}
    try:
        # `attribute` runs no flow: it does not pay Prefect's import (seconds on a loaded machine).
        if not args.verbose and args.command != "attribute":
            import prefect  # noqa: F401 - configures its loggers, which _quiet_tracebacks then filters

            _quiet_tracebacks()
            # The temporary API server announces its stop at exit, after our error line: keep it quiet.
            logging.getLogger("prefect").addFilter(_DropServerStop())
        handlers[args.command](args)
    except KeyboardInterrupt:
        print("adlake: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose:
            raise
        cause = root_adlake_error(exc)
        message = str(cause) if cause else f"unexpected {type(exc).__name__}: {first_line(exc)}"
        print(f"adlake: error: {message}", file=sys.stderr)
        return 1
    return 0




if __name__ == "__main__":
    sys.exit(main())
