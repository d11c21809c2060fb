"""Errors that reach the user as one clear line.

Anything raised as an :class:`AdlakeError` is printed by the command line as
``adlake: error: <message>`` with a non-zero exit and no traceback.
"""

from __future__ import annotations

import json


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


class MalformedResponseError(SourceError):
    """A successful answer that cannot be read: truncated, not JSON, not a readable archive, not
    the documented shape. Sources keep it as one quarantine row (the body, the reason) and read
    on; the days it covered are read again on the next run.

    Attributes:
        reason_code: ``malformed_json``, ``malformed_csv`` or ``malformed_archive``.
        request: method and endpoint, without the query string (which can carry tokens).
        body: the body as received (decoded leniently, cut at :data:`BODY_KEPT` characters).
    """

    BODY_KEPT = 1_000_000

    def __init__(self, source: str, message: str, *, reason_code: str, request: str, body: str | bytes) -> None:
        super().__init__(source, message, transient=True)
        self.detail = message
        self.reason_code = reason_code
        self.request = request
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        self.body_length = len(text)
        self.body = text[: self.BODY_KEPT]

    @classmethod
    def shape(cls, source: str, request: str, problem: str, body: object) -> MalformedResponseError:
        """A JSON answer that parsed but is not the documented shape (``no 'data' list``)."""
        return cls(source, f"{request}: malformed response ({problem})", reason_code="malformed_json",
                   request=request, body=json.dumps(body, default=str))


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
