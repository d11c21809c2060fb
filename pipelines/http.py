"""The HTTP layer every pull source shares: timeouts, retries with backoff and jitter,
``Retry-After`` and platform throttle signals, and errors that name the endpoint.

A source supplies a ``classify`` function that reads a platform's error envelope and says
whether a failed response is worth retrying; everything else (sleeping, counting attempts,
turning network failures into one clear line) lives here once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from pipelines.errors import MalformedResponseError, SourceError

log = logging.getLogger("adlake.http")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Waits grow as ``base * 2**(attempt - 1)`` (capped), with +-``jitter`` spread."""

    max_attempts: int = 6
    backoff_base: float = 2.0
    backoff_max: float = 120.0
    jitter: float = 0.25
    timeout: float = 60.0
    max_wait: float = 900.0  # cap on any single wait, including the platform's own regain times

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Wait before retry number ``attempt`` (1-based)."""
        wait = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return max(0.0, wait * (1 + rng.uniform(-self.jitter, self.jitter)))


@dataclass(frozen=True)
class Verdict:
    """What a source makes of a failed response.

    Attributes:
        message: one line naming what went wrong (the platform's own words where it has them).
        retry: True for throttling and transient server errors.
        wait: seconds the platform asks us to wait (overrides the backoff when larger).
    """

    message: str
    retry: bool = False
    wait: float | None = None
    # Retried within the request, but not worth a later re-run when attempts run out
    # (a refused connection or an unknown host is a wrong setting far more often than an outage).
    persistent: bool = False
    status: int | None = None  # the HTTP status, when the platform answered
    malformed: str | None = None  # the quarantine reason code when a 2xx body could not be read
    body: bytes = b""  # that body, kept for the quarantine row


Classifier = Callable[[requests.Response], Verdict | None]
# Reads a parsed body and names what is wrong with it (None: it is sound). A problem is a
# malformed answer: retried, then raised as MalformedResponseError.
Check = Callable[[Any], str | None]
_REASON = {"json": "malformed_json", "text": "malformed_csv", "bytes": "malformed_archive"}


def _endpoint(url: str) -> str:
    """The URL without its query string: query strings can carry tokens and never reach logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def retry_after_seconds(response: requests.Response) -> float | None:
    """The ``Retry-After`` header in seconds, when present and numeric."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def default_classify(response: requests.Response) -> Verdict | None:
    """2xx is success; 429 and 5xx are retried; any other status is final."""
    if response.ok:
        return None
    retry = response.status_code == 429 or response.status_code >= 500
    return Verdict(f"HTTP {response.status_code}", retry=retry, wait=retry_after_seconds(response))


class ApiClient:
    """A small JSON-over-HTTP client for one platform.

    Args:
        source: the source name used in error messages (``meta_ads``).
        base_url: root of the API; relative paths are joined to it.
        base_url_setting: the configuration key users set for ``base_url``, named in errors.
        headers: sent with every request (auth headers belong here, never in URLs).
        classify: reads a response and returns None for success or a :class:`Verdict`.
        policy: retry and timeout settings.
        on_response: called with every response (successful or not), e.g. to read usage headers.
    """

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        base_url_setting: str,
        headers: Mapping[str, str] | None = None,
        classify: Classifier = default_classify,
        policy: RetryPolicy | None = None,
        on_response: Callable[[requests.Response], None] | None = None,
        seed: int | None = None,
    ) -> None:
        self.source = source
        self.base_url = base_url.rstrip("/") + "/"
        self.base_url_setting = base_url_setting
        self.classify = classify
        self.policy = policy or RetryPolicy()
        self.on_response = on_response
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        self._rng = random.Random(seed)
        self.requests_made = 0
        self._last_body = b""

    def url(self, path: str) -> str:
        """Absolute URL for a path (absolute URLs, such as paging links, pass through)."""
        return path if "://" in path else urljoin(self.base_url, path.lstrip("/"))

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET a JSON document, retrying what the classifier calls transient."""
        return self.request("GET", path, params=params)

    def post_json(self, path: str, body: Any, params: Mapping[str, Any] | None = None) -> Any:
        """POST a JSON body and read a JSON document back."""
        return self.request("POST", path, params=params, json_body=body)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Mapping[str, Any] | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        parse: str = "json",
        check: Check | None = None,
    ) -> Any:
        """Send a request, retrying what the classifier calls transient.

        ``parse`` is ``json`` (the decoded document), ``text`` (CSV and the like) or ``bytes``
        (archives). A body that does not parse, or that ``check`` finds wrong, counts as a
        malformed response: retried, then raised as :class:`MalformedResponseError` with the body.
        """
        url = self.url(path)
        endpoint = _endpoint(url)
        attempt = 0
        while True:
            attempt += 1
            verdict, payload = self._attempt(method, url, params, json_body, data, headers, parse)
            if verdict is None and check is not None and (problem := check(payload)) is not None:
                raw = payload if isinstance(payload, (bytes, str)) else self._last_body
                verdict = Verdict(f"malformed response ({problem})", retry=True, malformed=_REASON[parse],
                                  body=raw.encode() if isinstance(raw, str) else raw)
            if verdict is None:
                return payload
            if verdict.malformed and attempt >= self.policy.max_attempts:
                raise MalformedResponseError(self.source, f"{method} {endpoint}: {verdict.message} "
                                                     f"(gave up after {attempt} attempts)",
                                        reason_code=verdict.malformed, request=f"{method} {endpoint}",
                                        body=verdict.body)
            if not verdict.retry or attempt >= self.policy.max_attempts:
                suffix = f" (gave up after {attempt} attempts)" if verdict.retry else ""
                raise SourceError(self.source, f"{method} {endpoint} failed: {verdict.message}{suffix}",
                                  transient=verdict.retry and not verdict.persistent, status=verdict.status)
            wait = min(self.policy.max_wait, max(self.policy.backoff(attempt, self._rng), verdict.wait or 0.0))
            log.warning("%s: %s %s: %s; retry %d/%d in %.1f s", self.source, method, endpoint, verdict.message,
                        attempt + 1, self.policy.max_attempts, wait)
            time.sleep(wait)

    def _attempt(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        data: Mapping[str, Any] | bytes | None,
        headers: Mapping[str, str] | None,
        parse: str,
    ) -> tuple[Verdict | None, Any]:
        self.requests_made += 1
        try:
            response = self.session.request(method, url, params=params, json=json_body, data=data,
                                            headers=headers, timeout=self.policy.timeout)
        except requests.Timeout:
            return Verdict(f"no answer within {self.policy.timeout:g} s", retry=True), None
        except requests.ConnectionError as exc:
            reason = _connection_reason(exc)
            return Verdict(f"cannot reach {self.base_url_setting}={self.base_url.rstrip('/')} ({reason})",
                           retry=True, persistent=reason in ("connection refused", "unknown host")), None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:
            return Verdict(f"{self.base_url_setting}={self.base_url.rstrip('/')} is not a usable URL "
                           f"({type(exc).__name__})"), None
        except requests.RequestException as exc:  # broken chunked bodies, bad encodings...
            return Verdict(f"broken response ({type(exc).__name__})", retry=True), None
        if self.on_response is not None:
            self.on_response(response)
        self._last_body = response.content
        verdict = self.classify(response)
        if verdict is not None:
            return replace(verdict, status=response.status_code), None
        if parse == "bytes":
            return None, response.content
        if parse == "text":
            return None, response.text
        try:
            return None, response.json()
        except ValueError as exc:
            snippet = response.text[:60].replace("\n", " ")
            return Verdict(f"malformed response (not JSON: {exc.__class__.__name__} near {snippet!r})",
                           retry=True, malformed="malformed_json", body=response.content), None


def _connection_reason(exc: requests.ConnectionError) -> str:
    text = str(exc)
    for needle, reason in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("No route to host", "no route to host"),
        ("timed out", "connect timeout"),
    ):
        if needle in text:
            return reason
    return exc.__class__.__name__
