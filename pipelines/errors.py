"""Errors that reach the user as one clear line.

Anything raised as an :class:`AdlakeError` is printed by the command line as
``adlake: error: <message>`` with a non-zero exit and no traceback.
"""

from __future__ import annotations


class AdlakeError(Exception):
    """A failure the user can act on; its message names the setting or endpoint at fault."""


class ConfigError(AdlakeError):
    """A setting is missing or invalid. Never retried: the same input fails the same way."""


class SourceError(AdlakeError):
    """A source API refused or broke a request.

    Attributes:
        source: The source name (``meta_ads``...).
        transient: True when retrying later can succeed (throttling, 5xx, timeouts).
        status: the HTTP status when the platform answered, None when it was not reached.
    """

    def __init__(self, source: str, message: str, *, transient: bool = False, status: int | None = None) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.transient = transient
        self.status = status


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, else its type name (never raises)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def root_adlake_error(exc: BaseException) -> AdlakeError | None:
    """Return the first AdlakeError in an exception's cause/context chain.

    dlt and Prefect wrap exceptions raised inside resources and tasks; this finds ours again.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, AdlakeError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
