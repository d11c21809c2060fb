"""Record checks every source shares: numbers that must parse before staging casts them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any


def number_problem(
    row: Mapping[str, Any],
    integer_fields: Iterable[str],
    decimal_fields: Iterable[str],
    *,
    missing: tuple[Any, ...] = (None,),
) -> tuple[str, str] | None:
    """Why a record's counts or amounts cannot be loaded (reason code, detail), or None.

    Counts must be non-negative integers and amounts finite non-negative decimals; values in
    ``missing`` (how the platform writes "no value") are accepted as absent.
    """
    for key in integer_fields:
        value = row.get(key)
        if value in missing:
            continue
        if isinstance(value, bool) or not str(value).isdigit():
            return "type_coercion", f"{key}={value!r} is not a non-negative integer"
    for key in decimal_fields:
        value = row.get(key)
        if value in missing:
            continue
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return "type_coercion", f"{key}={value!r} is not a decimal"
        if not number.is_finite() or number < 0:
            return "type_coercion", f"{key}={value!r} is not a finite non-negative amount"
    return None
