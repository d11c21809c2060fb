"""Run attribution models over paths and return credits as an Arrow table (the library's public entry)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from attribution import rules
from attribution.paths import JourneysError, Paths

MODELS: tuple[str, ...] = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay",
                           "position_based", "custom", "markov", "shapley")
"""Every model, in the order results are returned."""

CREDITS_SCHEMA = pa.schema([
    pa.field("journey_id", pa.string(), nullable=False),
    pa.field("touch_index", pa.int32(), nullable=False),
    pa.field("touch_id", pa.string()),
    pa.field("channel", pa.string(), nullable=False),
    pa.field("model", pa.string(), nullable=False),
    pa.field("credit", pa.float64(), nullable=False),
    pa.field("credited_value", pa.float64(), nullable=False),
])
"""One row per converted journey's touch and model."""

SUMMARY_SCHEMA = pa.schema([
    pa.field("model", pa.string(), nullable=False),
    pa.field("channel", pa.string(), nullable=False),
    pa.field("conversions", pa.float64(), nullable=False),
    pa.field("conversion_value", pa.float64(), nullable=False),
])
"""One row per model and channel."""


def model_credits(paths: Paths, model: str, *, half_life_days: float = 7.0, position_first: float = 0.4,
                  position_last: float = 0.4, direct_channel: str = "direct",
                  role_weights: Mapping[str, float] | None = None,
                  channel_weights: Mapping[str, float] | None = None,
                  collapse_repeats: bool = False, max_set_size: int = 20) -> np.ndarray:
    """``credit: float64[m]`` of one model for every touch (0 on non-converted journeys).

    Raises:
        JourneysError: An unknown model or an invalid parameter.
    """
    from attribution import markov, shapley

    runners: dict[str, Callable[[], np.ndarray]] = {
        "first_touch": lambda: rules.first_touch(paths),
        "last_touch": lambda: rules.last_touch(paths),
        "last_non_direct": lambda: rules.last_non_direct(paths, direct_channel),
        "linear": lambda: rules.linear(paths),
        "time_decay": lambda: rules.time_decay(paths, half_life_days),
        "position_based": lambda: rules.position_based(paths, position_first, position_last),
        "custom": lambda: rules.custom(paths, role_weights, channel_weights),
        "markov": lambda: markov.markov(paths, collapse_repeats=collapse_repeats),
        "shapley": lambda: shapley.shapley(paths, max_set_size=max_set_size),
    }
    if model not in runners:
        raise JourneysError(f"unknown attribution model {model!r} (known: {', '.join(MODELS)})")
    return runners[model]()


def attribute(paths: Paths, models: Sequence[str] = MODELS, *, half_life_days: float = 7.0,
              position_first: float = 0.4, position_last: float = 0.4, direct_channel: str = "direct",
              role_weights: Mapping[str, float] | None = None,
              channel_weights: Mapping[str, float] | None = None,
              collapse_repeats: bool = False, max_set_size: int = 20,
              on_model: Callable[[str, pa.Table], None] | None = None) -> pa.Table:
    """Credits of every converted journey's touches under each model.

    Args:
        paths: The paths (see :class:`attribution.paths.Paths`).
        models: Model names from :data:`MODELS`.
        half_life_days: ``time_decay`` half-life.
        position_first: ``position_based`` share of the first touch.
        position_last: ``position_based`` share of the last touch.
        direct_channel: The channel ``last_non_direct`` passes over.
        role_weights: ``custom`` weight per role (default :data:`attribution.rules.W_SHAPED`).
        channel_weights: ``custom`` weight per channel (default 1.0).
        collapse_repeats: ``markov``: drop consecutive repeats of a channel when counting transitions
            (never changes the result: self-loops do not change absorption probabilities).
        max_set_size: ``shapley``: the largest channel set of a converting journey (2^size subsets).
        on_model: Called with each model's name and credits as soon as they are computed (timing, logs).

    Returns:
        A table with :data:`CREDITS_SCHEMA`: journey_id, touch_index (0-based in time order), touch_id
        (null when the paths have none), channel, model, credit (share of the conversion; the credits of
        each conversion sum to 1) and credited_value (credit x conversion value).

    Raises:
        JourneysError: An unknown model or an invalid parameter.
    """
    models = list(models)
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise JourneysError(f"unknown attribution model {unknown[0]!r} (known: {', '.join(MODELS)})")
    jot = paths.journey_of_touch
    touched = np.flatnonzero(paths.converted[jot])
    base = {
        "journey_id": pa.array(paths.journey_ids, type=pa.string()).take(jot[touched]),
        "touch_index": pa.array(paths.position[touched].astype(np.int32)),
        "touch_id": (pa.array(paths.touch_ids[touched], type=pa.string()) if paths.touch_ids is not None
                     else pa.nulls(len(touched), pa.string())),
        "channel": pa.array(paths.channels, type=pa.string()).take(paths.channel[touched]),
    }
    value = paths.value[jot[touched]]
    tables = []
    for model in models:
        credit = model_credits(paths, model, half_life_days=half_life_days, position_first=position_first,
                               position_last=position_last, direct_channel=direct_channel,
                               role_weights=role_weights, channel_weights=channel_weights,
                               collapse_repeats=collapse_repeats, max_set_size=max_set_size)[touched]
        table = pa.table({**base, "model": pa.repeat(pa.scalar(model, pa.string()), len(touched)),
                          "credit": pa.array(credit), "credited_value": pa.array(credit * value)},
                         schema=CREDITS_SCHEMA)
        if on_model is not None:
            on_model(model, table)
        tables.append(table)
    return pa.concat_tables(tables) if tables else CREDITS_SCHEMA.empty_table()


def summarize(credits: pa.Table) -> pa.Table:
    """Attributed conversions and value per model and channel (:data:`SUMMARY_SCHEMA`), models in the
    order of :data:`MODELS`, channels sorted."""
    if credits.num_rows == 0:
        return SUMMARY_SCHEMA.empty_table()
    grouped = credits.group_by(["model", "channel"], use_threads=False).aggregate(
        [("credit", "sum"), ("credited_value", "sum")])
    rank = {m: i for i, m in enumerate(MODELS)}
    model_rank = pa.array([rank.get(m, len(MODELS)) for m in grouped.column("model").to_pylist()])
    order = pc.sort_indices(pa.table({"r": model_rank, "m": grouped.column("model"), "c": grouped.column("channel")}),
                            sort_keys=[("r", "ascending"), ("m", "ascending"), ("c", "ascending")])
    grouped = grouped.take(order)
    return pa.table({"model": grouped.column("model"), "channel": grouped.column("channel"),
                     "conversions": grouped.column("credit_sum"),
                     "conversion_value": grouped.column("credited_value_sum")}, schema=SUMMARY_SCHEMA)
