"""``adlake sandbox score``: each attribution model's channel shares against the sandbox's true incremental shares.

The sandbox knows what every channel really caused: its conversions minus the conversions of the same world
without that channel (``sandbox.journeys.Journeys.incremental``, common random numbers, so exact). A channel's
true share is its incremental conversions over the sum of every channel's. The models' shares come from
``marts.rpt_attribution_model_comparison`` (the attribution marts' channels, named ``channel[:platform]``),
mapped to the sandbox's channels by :data:`SANDBOX_CHANNELS`; credits of channels the sandbox does not have
(app opens, referrals, other) are reported as unmapped and left out, and the mapped shares renormalized.

Per model: the L1 distance ``sum |share - true share|`` over the sandbox's channels (0 = equal, 2 = disjoint)
and Spearman's rank correlation (Pearson correlation of the average ranks, ties averaged).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.errors import AdlakeError

# The sandbox's channel -> the attribution channel the marts name its touches with (the channel grouping of
# seeds/channel_grouping_rules.csv gives these; tests/marts/test_touchpoints.py checks it touch by touch).
SANDBOX_CHANNELS: Mapping[str, str] = {
    "meta": "paid_social:meta_ads",
    "google_ads": "paid_search:google_ads",
    "linkedin_ads": "paid_social:linkedin_ads",
    "tiktok_ads": "paid_social:tiktok_ads",
    "microsoft_ads": "paid_search:microsoft_ads",
    "programmatic": "display:programmatic",
    "affiliate": "affiliate:affiliate",
    "email": "email",
    "sms": "sms",
    "organic": "organic_search",
    "direct": "direct",
}
MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based", "custom",
          "markov", "shapley")
DATA_DRIVEN = ("markov", "shapley")


@dataclass(frozen=True)
class ModelScore:
    """How close one model's channel shares are to the true incremental shares."""

    model: str
    l1: float
    spearman: float
    unmapped_share: float  # share of the model's credit on channels the sandbox does not have
    shares: dict[str, float]  # sandbox channel -> the model's share (renormalized over mapped channels)


def true_shares(incremental: Mapping[str, int]) -> dict[str, float]:
    """Each sandbox channel's share of the incremental conversions (negative counts, noise, taken as 0)."""
    counts = {channel: max(0, int(incremental.get(channel, 0))) for channel in SANDBOX_CHANNELS}
    total = sum(counts.values())
    if total <= 0:
        raise AdlakeError("the sandbox world has no incremental conversions to score against")
    return {channel: count / total for channel, count in counts.items()}


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation with average ranks for ties; NaN when either side is constant."""
    ra, rb = _average_ranks(np.asarray(a, dtype=np.float64)), _average_ranks(np.asarray(b, dtype=np.float64))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denominator) if denominator > 0 else float("nan")


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1, dtype=np.float64)
    distinct, inverse = np.unique(values, return_inverse=True)
    sums = np.bincount(inverse, weights=ranks, minlength=len(distinct))
    counts = np.bincount(inverse, minlength=len(distinct))
    return (sums / counts)[inverse]


def score_models(model_shares: Mapping[str, Mapping[str, float]], truth: Mapping[str, float]) -> list[ModelScore]:
    """Score each model's shares (attribution channel -> share) against the true shares (sandbox channel -> share)."""
    channels = list(SANDBOX_CHANNELS)
    true = np.array([truth[c] for c in channels])
    scores = []
    for model, shares in model_shares.items():
        mapped = np.array([max(0.0, float(shares.get(SANDBOX_CHANNELS[c]) or 0.0)) for c in channels])
        total = sum(max(0.0, float(v or 0.0)) for v in shares.values())
        if mapped.sum() <= 0:
            continue
        unmapped = max(0.0, 1.0 - mapped.sum() / total) if total > 0 else 0.0
        mapped = mapped / mapped.sum()
        scores.append(ModelScore(model, float(np.abs(mapped - true).sum()), spearman(mapped, true),
                                 float(unmapped), dict(zip(channels, mapped.tolist(), strict=True))))
    return scores


def read_model_shares(duckdb_path: Path) -> dict[str, dict[str, float]]:
    """Every model's share per attribution channel, from ``marts.rpt_attribution_model_comparison``."""
    import duckdb

    from pipelines.duck import connect_file

    con = connect_file(Path(duckdb_path))
    try:
        columns = ", ".join(f"{m}_share" for m in MODELS)
        rows = con.execute(f"select attribution_channel, {columns} from marts.rpt_attribution_model_comparison"
                           ).fetchall()
    except duckdb.CatalogException as exc:
        raise AdlakeError("no marts.rpt_attribution_model_comparison in the lake: run `dbt build` "
                          "(or `adlake demo`) first") from exc
    finally:
        con.close()
    shares: dict[str, dict[str, float]] = {}
    for i, model in enumerate(MODELS):
        values = {row[0]: row[i + 1] for row in rows if row[i + 1] is not None}
        if values:
            shares[model] = values
    if not shares:
        raise AdlakeError("marts.rpt_attribution_model_comparison is empty: no attributed conversion to score")
    return shares


def render_scores(scores: Sequence[ModelScore], truth: Mapping[str, float]) -> str:
    """The score table: one line per model (best L1 first), then the shares per sandbox channel."""
    ordered = sorted(scores, key=lambda s: s.l1)
    lines = ["attribution models against the sandbox's true incremental shares (L1: 0 = equal, 2 = disjoint)",
             f"{'model':<16} {'L1':>6} {'spearman':>9} {'unmapped':>9}"]
    for s in ordered:
        lines.append(f"{s.model:<16} {s.l1:>6.3f} {s.spearman:>9.3f} {s.unmapped_share:>8.1%}")
    names = [s.model for s in ordered]
    lines.append("")
    lines.append(f"{'channel':<14} {'truth':>6} " + " ".join(f"{n[:8]:>8}" for n in names))
    for channel in SANDBOX_CHANNELS:
        lines.append(f"{channel:<14} {truth[channel]:>6.3f} "
                     + " ".join(f"{s.shares[channel]:>8.3f}" for s in ordered))
    return "\n".join(lines)


def score_lake(duckdb_path: Path, incremental: Mapping[str, int]) -> tuple[list[ModelScore], dict[str, float]]:
    """The scores of the models in the lake's DuckDB file against a world's incremental conversions."""
    truth = true_shares(incremental)
    return score_models(read_model_shares(duckdb_path), truth), truth
