"""Credits of every attribution model for every touch of every converting path (int_attribution__paths).

A dbt Python model (dbt-duckdb runs it in the dbt process, on its DuckDB connection): it reads the paths
and the seed ``attribution_custom_weights`` as Arrow, builds ``attribution.paths.Paths`` and calls
``attribution.engine.attribute`` (the library ``adlake attribute`` uses too). Python models cannot call
``var()``: the vars reach it through the model's config (``_attribution__models.yml``), read with
``dbt.config.get``. Grain: one row per converting path, touch and model.
"""

import ast
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

SCHEMA = pa.schema([
    ("path_id", pa.string()),
    ("touch_index", pa.int32()),
    ("touchpoint_id", pa.string()),
    ("attribution_channel", pa.string()),
    ("model", pa.string()),
    ("credit", pa.float64()),
    ("credited_value", pa.float64()),
])


def _setting(value: Any) -> Any:
    """A config value rendered from a `var()` in the YAML config: lists and numbers may come as their text."""
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    return value


def custom_weights(weights: pa.Table, channels: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    """Role weights and per-attribution-channel weights from the seed rows.

    A seed channel row names a channel group (``paid_social``) or a channel with its platform
    (``paid_social:meta_ads``); the more specific row wins. Channels without a row weigh 1.
    """
    rows = weights.select(["dimension", "name", "weight"]).to_pylist()
    roles = {r["name"]: float(r["weight"]) for r in rows if r["dimension"] == "role"}
    by_name = {r["name"]: float(r["weight"]) for r in rows if r["dimension"] == "channel"}
    channel_weights = {}
    for channel in channels:
        group = channel.split(":", 1)[0]
        if channel in by_name or group in by_name:
            channel_weights[channel] = by_name.get(channel, by_name.get(group))
    return roles, channel_weights


def credits(paths: pa.Table, weights: pa.Table, settings: dict[str, Any]) -> pa.Table:
    """The credits table for ``paths`` (the columns of int_attribution__paths)."""
    if pc.sum(paths["is_converting"].cast(pa.int64())).as_py() in (None, 0):
        return SCHEMA.empty_table()
    from attribution.engine import attribute
    from attribution.paths import Paths

    channels = pc.unique(paths["attribution_channel"]).to_pylist()
    role_weights, channel_weights = custom_weights(weights, channels)
    journeys = Paths.from_arrow(
        paths, journey_col="path_id", ts_col="touched_at", channel_col="attribution_channel",
        conversion_ts_col="converted_at", value_col="conversion_value", touch_id_col="touchpoint_id",
        role_col="touch_role",
    )
    result = attribute(
        journeys, list(settings["models"]), half_life_days=float(settings["half_life_days"]),
        position_first=float(settings["position_first"]), position_last=float(settings["position_last"]),
        direct_channel=str(settings["direct_channel"]), role_weights=role_weights, channel_weights=channel_weights,
    )
    return pa.table({
        "path_id": result["journey_id"],
        "touch_index": result["touch_index"],
        "touchpoint_id": result["touch_id"],
        "attribution_channel": result["channel"],
        "model": result["model"],
        "credit": result["credit"],
        "credited_value": result["credited_value"],
    }).cast(SCHEMA)


def model(dbt: Any, session: Any) -> pa.Table:
    dbt.config(materialized="table")
    settings = {
        "models": _setting(dbt.config.get("attribution_models")),
        "half_life_days": _setting(dbt.config.get("attribution_half_life_days")),
        "position_first": _setting(dbt.config.get("attribution_position_first")),
        "position_last": _setting(dbt.config.get("attribution_position_last")),
        "direct_channel": _setting(dbt.config.get("attribution_direct_channel")),
    }
    paths = dbt.ref("int_attribution__paths").to_arrow_table()
    weights = dbt.ref("attribution_custom_weights").to_arrow_table()
    return credits(paths, weights, settings)
