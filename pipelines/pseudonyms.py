"""Pseudonyms: keyed HMAC-SHA256 over identifiers normalized per kind (field notes 8.2).

The dbt macro ``pseudonymize(column, kind)`` normalizes in SQL and calls the DuckDB function
``adlake_hmac_sha256(value)``, which the project's dbt plugin (``pipelines.dbt_plugin``) registers
on dbt's DuckDB connection with :func:`register`. The key is read here, from ``ADLAKE_PSEUDONYM_KEY``, and
kept in the function's closure: it is never part of any SQL text, so it cannot reach compiled
SQL, ``target/``, dbt's logs or the lake, and SQL cannot read it back.

:func:`normalize` and :func:`pseudonym` are the same computation in Python, for code that needs a
subject's pseudonyms outside dbt (erasure requests, tests).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from typing import Any

from pipelines.errors import ConfigError

KEY_ENV = "ADLAKE_PSEUDONYM_KEY"
MIN_KEY_LENGTH = 32
FUNCTION = "adlake_hmac_sha256"
KINDS = ("email", "phone", "device_id", "id")

# What SQL's normalization trims (kept identical here): space, tab, line feed, carriage return.
_BLANKS = " \t\n\r"
_PHONE_SEPARATORS = re.compile(r"[ \t().\-]")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# Junk guard (field notes 6.2) for `id` and `device_id`: blank, all zeros or dashes (the limited-tracking
# advertising id), and these values, compared case-insensitively after trimming: what trackers put in an id
# slot when they know nobody. As one pseudonym they would join everyone who sent them into one person. The
# dbt var `blocked_identifier_values` (dbt_project.yml) holds the same list; pass `blocked` when it differs.
BLOCKED_IDENTIFIER_VALUES = ("-1", "null", "undefined", "anonymous", "n/a", "none", "void", "abc123")
_ALL_ZERO = re.compile(r"[0\-]*")


def key_from(environ: Mapping[str, str] | None = None) -> bytes:
    """The pseudonym key (UTF-8 bytes of ``ADLAKE_PSEUDONYM_KEY``); a missing or short key is an error."""
    value = (os.environ if environ is None else environ).get(KEY_ENV, "")
    if len(value) < MIN_KEY_LENGTH:
        state = "is not set" if not value else f"is shorter than {MIN_KEY_LENGTH} characters"
        raise ConfigError(f"{KEY_ENV} {state}: set it to a secret of at least {MIN_KEY_LENGTH} random characters "
                          "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), kept outside the lake")
    return value.encode()


def normalize(kind: str, value: str | None, blocked: tuple[str, ...] = BLOCKED_IDENTIFIER_VALUES) -> str | None:
    """The value as pseudonymized: email trimmed and lowercased; phone in E.164 (``00`` -> ``+``, no
    spaces, dashes, dots or parentheses; anything else is None); device and advertising ids trimmed and
    lowercased, other ids trimmed, and either is None when it is all zeros or dashes (the all-zero
    advertising id is sent when tracking is limited) or one of ``blocked`` (case-insensitive). Blank -> None."""
    if kind not in KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}; one of {', '.join(KINDS)}")
    if value is None:
        return None
    text = value.strip(_BLANKS)
    if kind == "email":
        text = text.lower()
    elif kind == "phone":
        text = _PHONE_SEPARATORS.sub("", text)
        text = "+" + text[2:] if text.startswith("00") else text
        return text if _E164.fullmatch(text) else None
    elif _ALL_ZERO.fullmatch(text) or text.lower() in {b.lower() for b in blocked}:
        return None
    elif kind == "device_id":
        text = text.lower()
    return text or None


def hmac_hex(key: bytes, value: str) -> str:
    """Hex HMAC-SHA256 of the value's UTF-8 bytes."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def pseudonym(kind: str, value: str | None, key: bytes | None = None) -> str | None:
    """What ``pseudonymize(column, kind)`` gives in dbt for this value."""
    normalized = normalize(kind, value)
    return None if normalized is None else hmac_hex(key if key is not None else key_from(), normalized)


def register(conn: Any, environ: Mapping[str, str] | None = None) -> None:
    """Register ``adlake_hmac_sha256(varchar) -> varchar`` on a DuckDB connection (NULL in, NULL out).

    Without a usable key the function is still registered, and raises the key's error when called, so
    a model that needs it fails with a message naming the variable.
    """
    try:
        key: bytes | None = key_from(environ)
        problem = None
    except ConfigError as exc:
        key, problem = None, str(exc)

    def adlake_hmac_sha256(value: str) -> str:
        if key is None:
            raise ConfigError(problem)
        return hmac_hex(key, value)

    with contextlib.suppress(Exception):  # not registered yet on this database
        conn.remove_function(FUNCTION)
    conn.create_function(FUNCTION, adlake_hmac_sha256, ["VARCHAR"], "VARCHAR", side_effects=False)
