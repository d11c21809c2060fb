"""Emulation of the Google Ads API (REST transport, GAQL reporting) over the simulated world.

Faithful where a connector depends on it: ``googleAds:searchStream`` (a JSON array of batches) and
``googleAds:search`` (pages of 10,000 rows with ``nextPageToken``), a strict subset of GAQL with the
real ``queryError`` codes, lowerCamelCase rows nested by resource, int64 values as strings and doubles
as numbers, ``costMicros`` exact to the cent, fractional data-driven conversions, Google's error
envelope with a ``GoogleAdsFailure`` detail, and restatement: a day's conversions keep maturing for
14 days after it (relative to the sandbox clock) while its spend never changes. Writes:
``campaignBudgets:mutate`` (one budget per campaign, with the campaign's id: a sandbox choice; its amount
defaults to the sum of the campaign's ad group budgets), ``campaigns:mutate`` and ``adGroups:mutate``
(``status``) with ``update`` operations land in :class:`sandbox.controls.Controls` and show in GAQL
(``campaign_budget.amount_micros``, ``campaign.status``, ``ad_group.status``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

from sandbox.controls import Controls
from sandbox.server import Clock, Request, Response
from sandbox.world import Ad, AdAccount, AdGroup, Campaign, Reported, World, stream

DEFAULT_TOKEN = "sandbox-google-token"
DEFAULT_DEVELOPER_TOKEN = "sandbox-developer-token"
DEFAULT_VERSION = "v17"
PAGE_ROWS = 10_000  # :search pages and searchStream batches (fixed by the real API)

_PATH = re.compile(r"^/(?P<version>v\d+)/customers/(?P<customer>[^/:]+)/googleAds:(?P<method>searchStream|search)$")
_MUTATE_PATH = re.compile(r"^/(?P<version>v\d+)/customers/(?P<customer>[^/:]+)/"
                          r"(?P<service>campaignBudgets|campaigns|adGroups):mutate$")
_LIST_PATH = re.compile(r"^/(?P<version>v\d+)/customers:listAccessibleCustomers$")
_VERSION = re.compile(r"^/(v\d+)/")
_CUSTOMER_ID = re.compile(r"^\d{10}$")
_T = TypeVar("_T")

# Top-level messages of the google.rpc statuses the emulation returns (Google's own wording).
_STATUS_MESSAGES = {
    "INVALID_ARGUMENT": "Request contains an invalid argument.",
    "UNAUTHENTICATED": "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
                       "cookie or other valid authentication credential. See "
                       "https://developers.google.com/identity/sign-in/web/devconsole-project.",
    "PERMISSION_DENIED": "The caller does not have permission",
    "NOT_FOUND": "Requested entity was not found.",
    "RESOURCE_EXHAUSTED": "Resource has been exhausted (e.g. check quota).",
    "INTERNAL": "Internal error encountered.",
}
_MISSING_CREDENTIAL = ("Request is missing required authentication credential. Expected OAuth 2 access token, "
                       "login cookie or other valid authentication credential. See "
                       "https://developers.google.com/identity/sign-in/web/devconsole-project.")
_HTTP_STATUS = {"INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404,
                "RESOURCE_EXHAUSTED": 429, "INTERNAL": 500}


# -- errors ----------------------------------------------------------------------------------------
class GoogleAdsApiError(Exception):
    """One failed call: a google.rpc status, and the GoogleAdsError (``error_code`` and message) behind it.

    ``error_code`` None means the failure happens in Google's front end, before the Ads service: the
    envelope then carries a ``google.rpc.BadRequest`` detail (or none) instead of a GoogleAdsFailure.
    """

    def __init__(self, status: str, error_code: dict[str, str] | None, message: str, *,
                 top_message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.top_message = top_message or _STATUS_MESSAGES[status]


class GaqlError(GoogleAdsApiError):
    """A query the GAQL parser or planner rejects: 400 INVALID_ARGUMENT with a ``queryError``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__("INVALID_ARGUMENT", {"queryError": code}, message)


def _request_id(*parts: object) -> str:
    """A requestId shaped like Google's (22 url-safe characters), derived from the request, never random."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def _error_response(exc: GoogleAdsApiError, version: str, request_id: str) -> Response:
    error: dict[str, Any] = {"code": _HTTP_STATUS[exc.status], "message": exc.top_message, "status": exc.status}
    if exc.error_code is not None:
        error["details"] = [{
            "@type": f"type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure",
            "errors": [{"errorCode": exc.error_code, "message": exc.message}],
            "requestId": request_id,
        }]
        return Response.json(error["code"], {"error": error}, {"request-id": request_id})
    if exc.status == "INVALID_ARGUMENT":
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                             "fieldViolations": [{"description": exc.message}]}]
    return Response.json(error["code"], {"error": error})


# -- GAQL: tokens and syntax ------------------------------------------------------------------------
_KEYWORDS = frozenset({"SELECT", "FROM", "WHERE", "AND", "OR", "ORDER", "BY", "ASC", "DESC", "LIMIT", "BETWEEN",
                       "DURING", "IN", "NOT", "LIKE", "IS", "NULL", "CONTAINS", "REGEXP_MATCH", "PARAMETERS"})
_LEXEME = re.compile(r"(?P<number>-?\d+(?:\.\d+)?)(?![A-Za-z_.])|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
                     r"|(?P<op>!=|>=|<=|=|>|<)|(?P<punct>[(),])")
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")
_COMPARISONS = frozenset({"=", "!=", ">", ">=", "<", "<="})
_DURING = ("TODAY", "YESTERDAY", "LAST_7_DAYS", "LAST_14_DAYS", "LAST_30_DAYS", "THIS_MONTH", "LAST_MONTH",
           "LAST_BUSINESS_WEEK", "THIS_WEEK_MON_TODAY", "THIS_WEEK_SUN_TODAY", "LAST_WEEK_MON_SUN", "LAST_WEEK_SUN_SAT")


@dataclass(frozen=True)
class Token:
    """One lexeme: ``kind`` is string, number, name, op or punct; strings hold their unescaped text."""

    kind: str
    text: str

    def is_keyword(self, word: str | None = None) -> bool:
        """Whether this is a (case-insensitive) GAQL keyword, or the given one."""
        upper = self.text.upper()
        return self.kind == "name" and upper in _KEYWORDS and (word is None or upper == word)


@dataclass(frozen=True)
class Condition:
    """``field operator values`` as written; ``values`` are literal tokens (DURING: one name)."""

    field: str
    operator: str  # = != > >= < <= IN, NOT IN, LIKE, NOT LIKE, BETWEEN, DURING
    values: tuple[Token, ...]


@dataclass(frozen=True)
class Query:
    """A parsed GAQL query, before any field is looked up."""

    fields: tuple[str, ...]
    resource: str
    conditions: tuple[Condition, ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    limit: int | None = None


def _read_string(text: str, start: int) -> tuple[str, int]:
    """The unescaped string literal opening at ``start`` and the index after its closing quote."""
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\n":
            raise GaqlError("PROHIBITED_NEWLINE_IN_STRING", "Error in query: a string contains a newline.")
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] not in "\\'\"%_":
                raise GaqlError("BAD_ESCAPE_SEQUENCE", f"Error in query: bad escape sequence at position {i}.")
            # \% and \_ stay escaped: they only mean something to LIKE patterns.
            out.append(text[i:i + 2] if text[i + 1] in "%_" else text[i + 1])
            i += 2
            continue
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise GaqlError("STRING_NOT_TERMINATED", f"Error in query: unterminated string at position {start}.")


def tokenize(text: str) -> list[Token]:
    """GAQL lexemes; anything else outside a string is an error (non-ASCII: BAD_SYMBOL)."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text[i] in "'\"":
            value, i = _read_string(text, i)
            tokens.append(Token("string", value))
        elif (match := _LEXEME.match(text, i)) is not None:
            kind = match.lastgroup or "punct"
            tokens.append(Token(kind, match.group()))
            i = match.end()
        else:
            code = "BAD_SYMBOL" if not text[i].isascii() else "UNEXPECTED_INPUT"
            raise GaqlError(code, f"Error in query: unexpected input {text[i]!r} at position {i}.")
    return tokens


class _Parser:
    """Recursive descent over ``SELECT f, ... FROM r [WHERE c AND ...] [ORDER BY f [ASC|DESC], ...] [LIMIT n]``."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def parse(self) -> Query:
        if not self._keyword("SELECT"):
            raise GaqlError("EXPECTED_SELECT", "Error in query: SELECT is missing at the beginning of the query.")
        fields = self._fields("SELECT")
        if not self._keyword("FROM"):
            if self._peek() is None:
                raise GaqlError("EXPECTED_FROM", "Error in query: the FROM clause is missing.")
            raise GaqlError("UNEXPECTED_INPUT", f"Error in query: unexpected input {self._peek_text()}.")
        resource = self._resource()
        conditions = self._where() if self._keyword("WHERE") else ()
        order_by = self._order_by() if self._keyword("ORDER") else ()
        limit = self._limit() if self._keyword("LIMIT") else None
        if self._peek() is not None:
            raise GaqlError("UNEXPECTED_INPUT", f"Error in query: unexpected input {self._peek_text()}.")
        return Query(fields, resource, conditions, order_by, limit)

    # -- token access --------------------------------------------------------------------------
    def _peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _peek_text(self) -> str:
        token = self._peek()
        return repr(token.text) if token is not None else "end of query"

    def _next(self) -> Token:
        token = self._peek()
        if token is None:
            raise GaqlError("UNEXPECTED_END_OF_QUERY", "Error in query: the query is incomplete.")
        self.pos += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token.is_keyword(word):
            self.pos += 1
            return True
        return False

    def _punct(self, char: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "punct" and token.text == char:
            self.pos += 1
            return True
        return False

    # -- clauses -------------------------------------------------------------------------------
    def _field(self, clause: str) -> str:
        token = self._next()
        if token.kind != "name" or token.is_keyword() or not _FIELD_NAME.match(token.text):
            raise GaqlError("BAD_FIELD_NAME", f"Error in query: expected a field name in {clause}, got {token.text!r}.")
        return token.text

    def _fields(self, clause: str) -> tuple[str, ...]:
        fields = [self._field(clause)]
        while self._punct(","):
            fields.append(self._field(clause))
        return tuple(dict.fromkeys(fields))

    def _resource(self) -> str:
        token = self._next()
        if token.kind != "name" or token.is_keyword() or "." in token.text:
            raise GaqlError("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", f"Invalid resource in the FROM clause: {token.text!r}.")
        return token.text

    def _where(self) -> tuple[Condition, ...]:
        conditions = [self._condition()]
        while self._keyword("AND"):
            conditions.append(self._condition())
        token = self._peek()
        if token is not None and token.is_keyword("OR"):
            raise GaqlError("UNEXPECTED_INPUT", "Error in query: GAQL has no OR; conditions are joined with AND.")
        return tuple(conditions)

    def _condition(self) -> Condition:
        name = self._field("WHERE")
        token = self._next()
        if token.kind == "op":
            return Condition(name, token.text, (self._value(),))
        operator = token.text.upper() if token.kind == "name" else token.text
        if operator == "NOT":
            follower = self._next()
            operator = f"NOT {follower.text.upper()}"
        if operator in ("IN", "NOT IN"):
            return Condition(name, operator, self._list())
        if operator in ("LIKE", "NOT LIKE"):
            return Condition(name, operator, (self._value(),))
        if operator == "BETWEEN":
            return Condition(name, operator, self._between())
        if operator == "DURING":
            literal = self._next()
            if literal.kind != "name" or literal.text not in _DURING:
                raise GaqlError("INVALID_VALUE_WITH_DURING_OPERATOR",
                                f"Error in query: invalid value {literal.text!r} with the DURING operator.")
            return Condition(name, operator, (literal,))
        raise GaqlError("BAD_OPERATOR", f"Error in query: operator {operator!r} is not supported here.")

    def _value(self) -> Token:
        token = self._next()
        if token.kind in ("string", "number") or (token.kind == "name" and not token.is_keyword()):
            return token
        if token.kind == "punct" and token.text == "(":
            raise GaqlError("EXPECTED_SINGLE_VALUE", "Error in query: this operator takes a single value.")
        raise GaqlError("BAD_VALUE", f"Error in query: expected a value, got {token.text!r}.")

    def _list(self) -> tuple[Token, ...]:
        if not self._punct("("):
            raise GaqlError("EXPECTED_LIST", "Error in query: IN takes a list of values in parentheses.")
        if self._punct(")"):
            raise GaqlError("PROHIBITED_EMPTY_LIST_IN_CONDITION", "Error in query: the list is empty.")
        values = [self._value()]
        while self._punct(","):
            values.append(self._value())
        if not self._punct(")"):
            raise GaqlError("UNEXPECTED_INPUT", f"Error in query: unexpected input {self._peek_text()}.")
        return tuple(values)

    def _between(self) -> tuple[Token, Token]:
        token = self._peek()
        if token is None or token.is_keyword():
            raise GaqlError("EXPECTED_VALUE_WITH_BETWEEN_OPERATOR", "Error in query: BETWEEN needs two values.")
        low = self._value()
        if not self._keyword("AND"):
            raise GaqlError("EXPECTED_AND", "Error in query: expected AND between the values of BETWEEN.")
        token = self._peek()
        if token is None or token.is_keyword():
            raise GaqlError("EXPECTED_VALUE_WITH_BETWEEN_OPERATOR", "Error in query: BETWEEN needs two values.")
        return low, self._value()

    def _order_by(self) -> tuple[tuple[str, bool], ...]:
        if not self._keyword("BY"):
            raise GaqlError("EXPECTED_BY", "Error in query: expected BY after ORDER.")
        order = []
        while True:
            name = self._field("ORDER BY")
            descending = self._keyword("DESC")
            if not descending:
                self._keyword("ASC")
            order.append((name, descending))
            if not self._punct(","):
                return tuple(order)

    def _limit(self) -> int:
        token = self._next()
        if token.kind != "number" or "." in token.text:
            raise GaqlError("BAD_LIMIT_VALUE", f"Error in query: bad LIMIT value {token.text!r}.")
        if int(token.text) <= 0:
            raise GaqlError("LIMIT_VALUE_TOO_LOW", "Error in query: the LIMIT value is too low.")
        return int(token.text)


def parse_gaql(text: str) -> Query:
    """Parse the GAQL subset the sandbox serves (syntax only; fields are checked by the planner)."""
    return _Parser(text).parse()


# -- fields ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    """One row's entities, from the customer down to the FROM resource (deeper ones are None)."""

    account: AdAccount
    campaign: Campaign | None = None
    ad_group: AdGroup | None = None
    ad: Ad | None = None
    ads: tuple[Ad, ...] = ()  # every ad whose delivery the row sums
    as_of: date = date.min
    budget_micros: int = 0  # the campaign's budget (after writes through campaignBudgets:mutate)
    campaign_status: str = "ENABLED"  # after writes through campaigns:mutate
    ad_group_status: str = "ENABLED"  # after writes through adGroups:mutate


@dataclass(frozen=True)
class FieldSpec:
    """A selectable field: its resource (or ``segments``/``metrics``), value type and, for enums, the values."""

    name: str
    resource: str
    kind: str  # int64 | double | string | enum | date
    enum_values: tuple[str, ...] = ()

    @property
    def json_path(self) -> tuple[str, ...]:
        """The field's nested lowerCamelCase keys: ``ad_group_ad.ad.id`` -> ``adGroupAd``, ``ad``, ``id``."""
        return tuple(_camel(part) for part in self.name.split("."))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _cid(scope: Scope) -> str:
    return scope.account.account_id


def _resource_name(resource: str, scope: Scope) -> str:
    """``customers/<cid>/...`` names as the API builds them (ad group ads are ``<ad group>~<ad>``)."""
    cid = _cid(scope)
    names: dict[str, Callable[[], str]] = {
        "customer": lambda: f"customers/{cid}",
        "campaign": lambda: f"customers/{cid}/campaigns/{_need(scope.campaign).campaign_id}",
        "ad_group": lambda: f"customers/{cid}/adGroups/{_need(scope.ad_group).ad_group_id}",
        "ad_group_ad": lambda: (f"customers/{cid}/adGroupAds/"
                                f"{_need(scope.ad_group).ad_group_id}~{_need(scope.ad).ad_id}"),
        "ad": lambda: f"customers/{cid}/ads/{_need(scope.ad).ad_id}",
        # Sandbox choice: one budget per campaign, with the campaign's id.
        "campaign_budget": lambda: f"customers/{cid}/campaignBudgets/{_need(scope.campaign).campaign_id}",
    }
    return names[resource]()


def _need(value: _T | None) -> _T:
    if value is None:  # the planner only asks for fields of resources the row has
        raise AssertionError("field of a resource outside the row's scope")
    return value


def _ad_status(scope: Scope) -> str:
    ad = _need(scope.ad)
    return "PAUSED" if ad.end_day is not None and ad.end_day < scope.as_of else "ENABLED"


_STATUSES = ("ENABLED", "PAUSED", "REMOVED")
_CHANNELS = ("SEARCH", "DISPLAY", "SHOPPING", "VIDEO", "MULTI_CHANNEL", "PERFORMANCE_MAX", "DEMAND_GEN")
_CUSTOMER_STATUSES = ("ENABLED", "CANCELED", "SUSPENDED", "CLOSED")

# Attribute fields: spec and value getter. Values are typed (int64 as int) until rendered.
_ATTRIBUTES: dict[str, tuple[FieldSpec, Callable[[Scope], Any]]] = {spec.name: (spec, getter) for spec, getter in (
    (FieldSpec("customer.resource_name", "customer", "string"), lambda s: _resource_name("customer", s)),
    (FieldSpec("customer.id", "customer", "int64"), lambda s: int(s.account.account_id)),
    (FieldSpec("customer.descriptive_name", "customer", "string"), lambda s: s.account.name),
    (FieldSpec("customer.currency_code", "customer", "string"), lambda s: s.account.currency),
    (FieldSpec("customer.time_zone", "customer", "string"), lambda s: s.account.timezone),
    (FieldSpec("customer.status", "customer", "enum", _CUSTOMER_STATUSES), lambda s: "ENABLED"),
    (FieldSpec("campaign.resource_name", "campaign", "string"), lambda s: _resource_name("campaign", s)),
    (FieldSpec("campaign.id", "campaign", "int64"), lambda s: int(_need(s.campaign).campaign_id)),
    (FieldSpec("campaign.name", "campaign", "string"), lambda s: _need(s.campaign).name),
    (FieldSpec("campaign.status", "campaign", "enum", _STATUSES), lambda s: s.campaign_status),
    (FieldSpec("campaign.campaign_budget", "campaign", "string"), lambda s: _resource_name("campaign_budget", s)),
    (FieldSpec("campaign_budget.resource_name", "campaign_budget", "string"),
     lambda s: _resource_name("campaign_budget", s)),
    (FieldSpec("campaign_budget.amount_micros", "campaign_budget", "int64"), lambda s: s.budget_micros),
    (FieldSpec("campaign.advertising_channel_type", "campaign", "enum", _CHANNELS), lambda s: "SEARCH"),
    (FieldSpec("ad_group.resource_name", "ad_group", "string"), lambda s: _resource_name("ad_group", s)),
    (FieldSpec("ad_group.id", "ad_group", "int64"), lambda s: int(_need(s.ad_group).ad_group_id)),
    (FieldSpec("ad_group.name", "ad_group", "string"), lambda s: _need(s.ad_group).name),
    (FieldSpec("ad_group.status", "ad_group", "enum", _STATUSES), lambda s: s.ad_group_status),
    (FieldSpec("ad_group.campaign", "ad_group", "string"), lambda s: _resource_name("campaign", s)),
    (FieldSpec("ad_group_ad.resource_name", "ad_group_ad", "string"), lambda s: _resource_name("ad_group_ad", s)),
    (FieldSpec("ad_group_ad.status", "ad_group_ad", "enum", _STATUSES), _ad_status),
    (FieldSpec("ad_group_ad.ad_group", "ad_group_ad", "string"), lambda s: _resource_name("ad_group", s)),
    (FieldSpec("ad_group_ad.ad.resource_name", "ad_group_ad", "string"), lambda s: _resource_name("ad", s)),
    (FieldSpec("ad_group_ad.ad.id", "ad_group_ad", "int64"), lambda s: int(_need(s.ad).ad_id)),
    (FieldSpec("ad_group_ad.ad.name", "ad_group_ad", "string"), lambda s: _need(s.ad).name),
)}
_DATE = FieldSpec("segments.date", "segments", "date")


@dataclass
class Totals:
    """What the platform reports for a set of ad-days, in exact integers (doubles are made at rendering)."""

    impressions: int = 0
    clicks: int = 0
    cost_micros: int = 0
    conversions_centi: int = 0  # hundredths of a conversion: data-driven credit is fractional
    value_cents: int = 0
    leads: int = 0
    view_through: int = 0
    ad_days: int = 0

    def add(self, reported: Reported, credit_centi: int) -> None:
        """Count one ad-day; ``credit_centi`` is its data-driven credit per click conversion (x100)."""
        d = reported.delivery
        self.impressions += d.impressions
        self.clicks += d.clicks
        self.cost_micros += d.spend_cents * 10_000  # micros of the account currency, exact
        self.conversions_centi += reported.click_conversions * credit_centi
        attributed = reported.click_conversions + reported.view_conversions
        click_value = reported.conversion_value_cents * reported.click_conversions // attributed if attributed else 0
        self.value_cents += click_value * credit_centi // 100
        self.leads += reported.leads
        self.view_through += reported.view_conversions
        self.ad_days += 1

    def merge(self, other: Totals) -> None:
        """Add another set of ad-days."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


# Metrics: spec and value from totals. Leads are a secondary action: in all_conversions, not conversions.
_METRICS: dict[str, tuple[FieldSpec, Callable[[Totals], Any]]] = {spec.name: (spec, getter) for spec, getter in (
    (FieldSpec("metrics.impressions", "metrics", "int64"), lambda t: t.impressions),
    (FieldSpec("metrics.clicks", "metrics", "int64"), lambda t: t.clicks),
    (FieldSpec("metrics.cost_micros", "metrics", "int64"), lambda t: t.cost_micros),
    (FieldSpec("metrics.conversions", "metrics", "double"), lambda t: t.conversions_centi / 100),
    (FieldSpec("metrics.conversions_value", "metrics", "double"), lambda t: t.value_cents / 100),
    (FieldSpec("metrics.all_conversions", "metrics", "double"), lambda t: (t.conversions_centi + 100 * t.leads) / 100),
    (FieldSpec("metrics.all_conversions_value", "metrics", "double"), lambda t: t.value_cents / 100),
    (FieldSpec("metrics.view_through_conversions", "metrics", "int64"), lambda t: t.view_through),
)}
FIELDS: dict[str, FieldSpec] = {
    **{name: spec for name, (spec, _) in _ATTRIBUTES.items()},
    _DATE.name: _DATE,
    **{name: spec for name, (spec, _) in _METRICS.items()},
}
# FROM resource -> the attribute resources its rows can carry (itself and its ancestors).
RESOURCES: dict[str, tuple[str, ...]] = {
    "customer": ("customer",),
    "campaign": ("customer", "campaign", "campaign_budget"),
    "ad_group": ("customer", "campaign", "campaign_budget", "ad_group"),
    "ad_group_ad": ("customer", "campaign", "campaign_budget", "ad_group", "ad_group_ad"),
}
_TOP_LEVEL = ("customer", "campaign", "campaign_budget", "ad_group", "ad_group_ad", "segments", "metrics")


# -- planning: fields looked up, literals typed, the date range bounded -----------------------------------
@dataclass(frozen=True)
class Filter:
    """A condition with its field resolved and its values typed."""

    spec: FieldSpec
    operator: str
    values: tuple[Any, ...]

    def matches(self, value: Any) -> bool:
        """Whether a row's value satisfies the condition."""
        return _OPERATORS[self.operator](value, self.values)


def _like(pattern: str) -> re.Pattern[str]:
    """GAQL LIKE: ``%`` any run, ``_`` one character, ``\\%``/``\\_`` literal."""
    parts = re.findall(r"\\[%_]|%|_|[^%_\\]+|\\", pattern)
    mapping = {"%": ".*", "_": "."}
    return re.compile("".join(mapping.get(p, re.escape(p[-1] if p.startswith("\\") else p)) for p in parts), re.S)


_OPERATORS: dict[str, Callable[[Any, tuple[Any, ...]], bool]] = {
    "=": lambda v, a: v == a[0],
    "!=": lambda v, a: v != a[0],
    ">": lambda v, a: v > a[0],
    ">=": lambda v, a: v >= a[0],
    "<": lambda v, a: v < a[0],
    "<=": lambda v, a: v <= a[0],
    "IN": lambda v, a: v in a,
    "NOT IN": lambda v, a: v not in a,
    "BETWEEN": lambda v, a: a[0] <= v <= a[1],
    "DURING": lambda v, a: a[0] <= v <= a[1],
    "LIKE": lambda v, a: a[0].fullmatch(v) is not None,
    "NOT LIKE": lambda v, a: a[0].fullmatch(v) is None,
}
_ORDERED_KINDS = ("int64", "double", "date")


def _typed(spec: FieldSpec, token: Token) -> Any:
    """A literal as the field's type: strict where GAQL is (quoted strings and dates, known enum values)."""
    if spec.kind == "int64" and token.kind in ("number", "string") and re.fullmatch(r"-?\d+", token.text):
        return int(token.text)
    if spec.kind == "double" and token.kind == "number":
        return float(token.text)
    if spec.kind == "string" and token.kind == "string":
        return token.text
    if spec.kind == "enum" and token.kind in ("string", "name"):
        if token.text not in spec.enum_values:
            raise GaqlError("BAD_ENUM_CONSTANT", f"Error in query: {token.text!r} is not a value of {spec.name}.")
        return token.text
    if spec.kind == "date":
        try:
            if token.kind != "string" or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", token.text):
                raise ValueError(token.text)
            return date.fromisoformat(token.text)
        except ValueError:
            raise GaqlError("INVALID_DATE_FORMAT", f"Invalid date {token.text!r}. Expected 'YYYY-MM-DD'.") from None
    raise GaqlError("BAD_VALUE", f"Error in query: {token.text!r} is not a valid value for {spec.name}.")


def during(literal: str, today: date) -> tuple[date, date]:
    """The days a DURING literal covers; ``LAST_N_DAYS`` end yesterday, like the API's."""
    monday = today - timedelta(days=today.weekday())
    sunday = today - timedelta(days=(today.weekday() + 1) % 7)
    first = today.replace(day=1)
    last_month_end = first - timedelta(days=1)
    ranges = {
        "TODAY": (today, today),
        "YESTERDAY": (today - timedelta(days=1), today - timedelta(days=1)),
        "LAST_7_DAYS": (today - timedelta(days=7), today - timedelta(days=1)),
        "LAST_14_DAYS": (today - timedelta(days=14), today - timedelta(days=1)),
        "LAST_30_DAYS": (today - timedelta(days=30), today - timedelta(days=1)),
        "THIS_MONTH": (first, today),
        "LAST_MONTH": (last_month_end.replace(day=1), last_month_end),
        "LAST_BUSINESS_WEEK": (monday - timedelta(days=7), monday - timedelta(days=3)),
        "THIS_WEEK_MON_TODAY": (monday, today),
        "THIS_WEEK_SUN_TODAY": (sunday, today),
        "LAST_WEEK_MON_SUN": (monday - timedelta(days=7), monday - timedelta(days=1)),
        "LAST_WEEK_SUN_SAT": (sunday - timedelta(days=7), sunday - timedelta(days=1)),
    }
    return ranges[literal]


def _bind(condition: Condition, spec: FieldSpec, today: date) -> Filter:
    """Resolve one condition's operator and values against its field."""
    op = condition.operator
    if op == "DURING":
        if spec.kind != "date":
            raise GaqlError("OPERATOR_FIELD_MISMATCH", f"Error in query: DURING does not apply to {spec.name}.")
        return Filter(spec, op, during(condition.values[0].text, today))
    if op in ("LIKE", "NOT LIKE"):
        if spec.kind != "string" or condition.values[0].kind != "string":
            raise GaqlError("INVALID_VALUE_WITH_LIKE_OPERATOR", "Error in query: LIKE needs a string field and value.")
        return Filter(spec, op, (_like(condition.values[0].text),))
    if op not in ("=", "!=", "IN", "NOT IN") and spec.kind not in _ORDERED_KINDS:
        raise GaqlError("OPERATOR_FIELD_MISMATCH", f"Error in query: {op} does not apply to {spec.name}.")
    values = tuple(_typed(spec, token) for token in condition.values)
    if op == "BETWEEN" and values[0] > values[1]:
        code = "DATE_RANGE_TOO_NARROW" if spec.kind == "date" else "INVALID_VALUE_WITH_BETWEEN_OPERATOR"
        raise GaqlError(code, f"Error in query: the start of BETWEEN is after its end for {spec.name}.")
    return Filter(spec, op, values)


def _date_bounds(filters: Iterable[Filter]) -> tuple[date | None, date | None]:
    """The tightest [first, last] the date filters imply (None: unbounded on that side)."""
    low: date | None = None
    high: date | None = None
    for f in filters:
        lo, hi = {
            "=": (f.values[0], f.values[0]), "BETWEEN": f.values, "DURING": f.values,
            "IN": (min(f.values), max(f.values)), ">=": (f.values[0], None), "<=": (None, f.values[0]),
            ">": (f.values[0] + timedelta(days=1), None), "<": (None, f.values[0] - timedelta(days=1)),
        }.get(f.operator, (None, None))
        low = lo if low is None or (lo is not None and lo > low) else low
        high = hi if high is None or (hi is not None and hi < high) else high
    return low, high


@dataclass(frozen=True)
class Plan:
    """What a query asks for, checked against the field catalog and ready to run."""

    query: Query
    select: tuple[FieldSpec, ...]
    date_filters: tuple[Filter, ...]
    row_filters: tuple[Filter, ...]
    order_by: tuple[tuple[FieldSpec, bool], ...]
    first_day: date | None
    last_day: date | None

    @property
    def performance(self) -> bool:
        """Whether rows come from delivery (metrics or the date segment are used), not from entities alone."""
        filtered = (f.spec for f in (*self.date_filters, *self.row_filters))
        used = [*self.select, *filtered, *(spec for spec, _ in self.order_by)]
        return any(spec.resource in ("metrics", "segments") for spec in used)

    @property
    def by_date(self) -> bool:
        """Whether rows are per day (``segments.date`` selected) rather than summed over the range."""
        return _DATE in self.select

    @property
    def field_mask(self) -> str:
        """The response's ``fieldMask``: the selected fields in lowerCamelCase."""
        return ",".join(".".join(spec.json_path) for spec in self.select)


def _lookup(name: str, resource: str, prohibited: str) -> FieldSpec:
    spec = FIELDS.get(name)
    if spec is None:
        raise GaqlError("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{name}'.")
    if spec.resource not in (*RESOURCES[resource], "segments", "metrics"):
        raise GaqlError(prohibited, f"Cannot select or filter on '{name}' in a query FROM {resource}.")
    return spec


def plan(query: Query, today: date) -> Plan:
    """Check a parsed query against the catalog; ``today`` anchors DURING literals."""
    if query.resource not in RESOURCES:
        raise GaqlError("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                        f"Invalid resource in the FROM clause: '{query.resource}' (the sandbox serves "
                        f"{', '.join(RESOURCES)}).")
    select = tuple(_lookup(n, query.resource, "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE") for n in query.fields)
    filters = tuple(
        _bind(c, _lookup(c.field, query.resource, "PROHIBITED_RESOURCE_TYPE_IN_WHERE_CLAUSE"), today)
        for c in query.conditions
    )
    order_by = tuple((_lookup(n, query.resource, "PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE"), desc)
                     for n, desc in query.order_by)
    if any(spec is _DATE for spec, _ in order_by) and _DATE not in select:
        raise GaqlError("EXPECTED_REFERENCED_FIELD_IN_SELECT_CLAUSE",
                        "Segments used in ORDER BY must also be selected: add segments.date to SELECT.")
    date_filters = tuple(f for f in filters if f.spec is _DATE)
    first, last = _date_bounds(date_filters)
    if first is not None and last is not None and first > last:
        raise GaqlError("DATE_RANGE_TOO_NARROW", "Filters on segments.date have a start date after the end date.")
    if _DATE in select and (first is None or last is None):
        # Google wants a finite range whenever rows are segmented by date: both ends, not an open one.
        raise GaqlError("EXPECTED_FILTERS_ON_DATE_RANGE",
                        "Filters on date range are required for segments.date: use BETWEEN, DURING or both bounds.")
    return Plan(query, select, date_filters, tuple(f for f in filters if f.spec is not _DATE), order_by, first, last)


# -- rendering -------------------------------------------------------------------------------------
def _json_value(spec: FieldSpec, value: Any) -> Any:
    """Proto3 JSON: int64 as a decimal string, double as a number, dates and enums as strings."""
    if spec.kind == "int64":
        return str(value)
    if spec.kind == "double":
        return float(value)
    if spec.kind == "date":
        return value.isoformat()
    return value


@dataclass
class Row:
    """One result row: its scope (for resource names) and the typed value of every field it can carry."""

    scope: Scope
    values: dict[str, Any] = field(default_factory=dict)

    def render(self, query_plan: Plan) -> dict[str, Any]:
        """The row as the API nests it; every resource present carries its ``resourceName`` (as Google does)."""
        present = {query_plan.query.resource} | {spec.resource for spec in query_plan.select}
        out: dict[str, Any] = {}
        for top in _TOP_LEVEL:
            if top in present:
                out[_camel(top)] = {} if top in ("segments", "metrics") else {
                    "resourceName": _resource_name(top, self.scope)}
        if any(spec.name.startswith("ad_group_ad.ad.") for spec in query_plan.select):
            out["adGroupAd"]["ad"] = {"resourceName": _resource_name("ad", self.scope)}
        for spec in query_plan.select:
            *parents, leaf = spec.json_path
            node = out
            for key in parents:
                node = node.setdefault(key, {})
            node[leaf] = _json_value(spec, self.values[spec.name])
        return out


# -- the app ---------------------------------------------------------------------------------------
class GoogleAdsApp:
    """GoogleAdsService ``search`` and ``searchStream`` (and ``customers:listAccessibleCustomers``) over the world."""

    prefix = "/google_ads"
    platform = "google_ads"

    def __init__(self, world: World, clock: Clock, *, developer_token: str = DEFAULT_DEVELOPER_TOKEN,
                 access_token: str = DEFAULT_TOKEN, batch_rows: int = PAGE_ROWS) -> None:
        self.world = world
        self.clock = clock
        self.developer_token = developer_token
        self.access_token = access_token
        self.batch_rows = batch_rows  # searchStream batch size; tests lower it to see several batches
        self.controls = Controls(self.platform)  # budget and status writes (the world itself never changes)

    @property
    def manager_customer_id(self) -> str:
        """A manager (MCC) id over every account: accepted as ``login-customer-id``, not queryable itself."""
        return str(stream(self.world.config.seed, "google_ads", "manager").randrange(10**9, 10**10))

    # -- HTTP ------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        version = _version(request.path)
        request_id = _request_id(request.method, request.path, request.body)
        try:
            if _LIST_PATH.match(request.path) and request.method == "GET":
                self._authenticate(request)
                names = [f"customers/{a.account_id}" for a in self.world.accounts.get(self.platform, [])]
                return Response.json(200, {"resourceNames": names}, {"request-id": request_id})
            mutate = _MUTATE_PATH.match(request.path)
            if mutate is not None and request.method == "POST":
                self._authenticate(request)
                account = self._customer(mutate["customer"], request)
                return self._mutate(account, mutate["service"], request, request_id)
            match = _PATH.match(request.path)
            if match is None or request.method != "POST":
                return self.not_found(request)
            self._authenticate(request)
            account = self._customer(match["customer"], request)
            body = _body(request.body, streaming=match["method"] == "searchStream")
            query_plan = plan(parse_gaql(body["query"]), self.clock.as_of)
            if match["method"] == "searchStream":
                return self._stream(account, query_plan, request_id)
            return self._search(account, query_plan, body, request_id)
        except GoogleAdsApiError as exc:
            return _error_response(exc, version, request_id)

    def not_found(self, request: Request) -> Response:
        exc = GoogleAdsApiError("NOT_FOUND", None, "", top_message=f"The requested URL {request.path} was not found.")
        return _error_response(exc, _version(request.path), "")

    def fault_response(self, kind: str, request: Request) -> Response:
        faults = {
            "throttle": GoogleAdsApiError("RESOURCE_EXHAUSTED", {"quotaError": "RESOURCE_EXHAUSTED"},
                                          "Too many requests. Retry later."),
            "auth_expired": GoogleAdsApiError("UNAUTHENTICATED", {"authenticationError": "OAUTH_TOKEN_EXPIRED"},
                                              "The OAuth token in the header has expired."),
        }
        exc = faults.get(kind) or GoogleAdsApiError("INTERNAL", {"internalError": "INTERNAL_ERROR"},
                                                    "An internal error has occurred.")
        return _error_response(exc, _version(request.path), _request_id(kind, request.method, request.path,
                                                                         request.body))

    # -- checks, in the API's order: OAuth, developer token, customer, login customer ----------------
    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization")
        if header is None:
            raise GoogleAdsApiError("UNAUTHENTICATED", {"authenticationError": "AUTHENTICATION_ERROR"},
                                    "Authentication of the request failed.", top_message=_MISSING_CREDENTIAL)
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise GoogleAdsApiError("UNAUTHENTICATED", {"authenticationError": "OAUTH_TOKEN_HEADER_INVALID"},
                                    "The OAuth token header is not in the expected format.")
        if token.strip() != self.access_token:
            raise GoogleAdsApiError("UNAUTHENTICATED", {"authenticationError": "OAUTH_TOKEN_INVALID"},
                                    "The OAuth token in the header is not valid.")
        developer_token = request.headers.get("developer-token")
        if not developer_token:
            # The real API answers a missing developer token with INVALID_ARGUMENT, not UNAUTHENTICATED.
            raise GoogleAdsApiError("INVALID_ARGUMENT", {"requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING"},
                                    "developer-token parameter is missing.")
        if developer_token != self.developer_token:
            raise GoogleAdsApiError("UNAUTHENTICATED", {"authenticationError": "DEVELOPER_TOKEN_INVALID"},
                                    "The developer token is not valid.")

    def _customer(self, customer_id: str, request: Request) -> AdAccount:
        if not _CUSTOMER_ID.match(customer_id):
            raise GoogleAdsApiError("INVALID_ARGUMENT", {"authenticationError": "CLIENT_CUSTOMER_ID_INVALID"},
                                    "Client customer ID is not a number (write it without dashes).")
        login = request.headers.get("login-customer-id")
        if login is not None and not _CUSTOMER_ID.match(login):
            raise GoogleAdsApiError("INVALID_ARGUMENT", {"headerError": "INVALID_LOGIN_CUSTOMER_ID"},
                                    "The login customer ID could not be validated (10 digits, no dashes).")
        account = self.world.account(self.platform, customer_id)
        if account is None or login not in (None, customer_id, self.manager_customer_id):
            raise GoogleAdsApiError(
                "PERMISSION_DENIED", {"authorizationError": "USER_PERMISSION_DENIED"},
                "User doesn't have permission to access customer. Note: If you're accessing a client customer, "
                "the manager's customer id must be set in the 'login-customer-id' header.",
            )
        return account

    # -- mutates: campaign budgets, campaign and ad group statuses ------------------------------------
    def _budget_micros(self, campaign: Campaign) -> int:
        default = sum(self.world.daily_budget_cents(g, self.clock.as_of) for g in self.world.ad_groups(campaign))
        return self.controls.budget(campaign.campaign_id, default * 10_000)

    def _mutate(self, account: AdAccount, service: str, request: Request, request_id: str) -> Response:
        """``<service>:mutate`` with ``update`` operations (all or none: partialFailure is not emulated)."""
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise GoogleAdsApiError("INVALID_ARGUMENT", None, f"Invalid JSON payload received. {exc}.") from None
        operations = body.get("operations") if isinstance(body, dict) else None
        if not isinstance(operations, list) or not operations:
            raise GoogleAdsApiError("INVALID_ARGUMENT", {"mutateError": "OPERATIONS_REQUIRED"},
                                    "At least one operation is required.")
        campaigns = {c.campaign_id: c for c in self.world.campaigns(account)}
        groups = {g.ad_group_id: g for c in campaigns.values() for g in self.world.ad_groups(c)}
        kind = {"campaignBudgets": "campaignBudgets", "campaigns": "campaigns", "adGroups": "adGroups"}[service]
        changes: list[Callable[[], None]] = []
        names: list[str] = []
        for operation in operations:
            update = operation.get("update") if isinstance(operation, dict) else None
            if not isinstance(update, dict):
                raise GoogleAdsApiError("INVALID_ARGUMENT", {"mutateError": "OPERATION_NOT_SUPPORTED"},
                                        "The sandbox emulates update operations only.")
            name = str(update.get("resourceName") or "")
            prefix = f"customers/{account.account_id}/{kind}/"
            entity_id = name.removeprefix(prefix) if name.startswith(prefix) else ""
            known = groups if service == "adGroups" else campaigns
            if entity_id not in known:
                raise GoogleAdsApiError("NOT_FOUND", {"mutateError": "RESOURCE_NOT_FOUND"},
                                        f"Resource was not found: {name!r}.")
            changes.append(self._change(service, known[entity_id], update))
            names.append(name)
        for change in changes:  # every operation checked first: a bad one changes nothing
            change()
        return Response.json(200, {"results": [{"resourceName": n} for n in names]}, {"request-id": request_id})

    def _change(self, service: str, entity: Campaign | AdGroup, update: dict[str, Any]) -> Callable[[], None]:
        if service == "campaignBudgets":
            assert isinstance(entity, Campaign)
            amount = update.get("amountMicros")
            if not (isinstance(amount, int) or (isinstance(amount, str) and amount.isdigit())) or int(amount) <= 0:
                raise GoogleAdsApiError("INVALID_ARGUMENT",
                                        {"campaignBudgetError": "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT"},
                                        f"amountMicros must be a positive int64, not {amount!r}.")
            old = self._budget_micros(entity)
            return lambda: self.controls.set_budget("campaign_budget", entity.campaign_id, old, int(amount),
                                                    "amount_micros")
        status = update.get("status")
        if status not in _STATUSES:
            raise GoogleAdsApiError("INVALID_ARGUMENT", {"fieldError": "INVALID_VALUE"},
                                    f"status must be one of {', '.join(_STATUSES)}, not {status!r}.")
        entity_id = entity.ad_group_id if isinstance(entity, AdGroup) else entity.campaign_id
        kind = "ad_group" if isinstance(entity, AdGroup) else "campaign"
        old_status = self.controls.status(entity_id, "ENABLED")
        return lambda: self.controls.set_status(kind, entity_id, old_status, status)

    # -- methods ---------------------------------------------------------------------------------
    def _search(self, account: AdAccount, query_plan: Plan, body: dict[str, Any], request_id: str) -> Response:
        size = body.get("pageSize", PAGE_ROWS)
        if not isinstance(size, int) or not 1 <= size <= PAGE_ROWS:
            raise GoogleAdsApiError("INVALID_ARGUMENT", {"requestError": "INVALID_PAGE_SIZE"},
                                    f"Page size must be between 1 and {PAGE_ROWS}.")
        if body.get("validateOnly"):
            return Response.json(200, {"fieldMask": query_plan.field_mask, "requestId": request_id},
                                 {"request-id": request_id})
        rows = self._rows(account, query_plan)
        offset = _page_offset(body.get("pageToken"), account, body["query"], len(rows))
        page = rows[offset:offset + size]
        out: dict[str, Any] = {}
        if page:  # proto3 JSON leaves an empty repeated field out
            out["results"] = [row.render(query_plan) for row in page]
        if offset + size < len(rows):
            out["nextPageToken"] = _page_token(offset + size, account, body["query"])
        if body.get("returnTotalResultsCount"):
            out["totalResultsCount"] = str(len(rows))
        out.update(fieldMask=query_plan.field_mask, requestId=request_id)
        return Response.json(200, out, {"request-id": request_id})

    def _stream(self, account: AdAccount, query_plan: Plan, request_id: str) -> Response:
        rows = self._rows(account, query_plan)
        batches: list[dict[str, Any]] = []
        for start in range(0, len(rows), self.batch_rows):
            chunk = rows[start:start + self.batch_rows]
            batches.append({"results": [row.render(query_plan) for row in chunk],
                            "fieldMask": query_plan.field_mask, "requestId": request_id})
        # No rows: one batch with only the field mask and request id.
        return Response.json(200, batches or [{"fieldMask": query_plan.field_mask, "requestId": request_id}],
                             {"request-id": request_id})

    # -- rows ------------------------------------------------------------------------------------
    def _rows(self, account: AdAccount, query_plan: Plan) -> list[Row]:
        """Every result row, filtered, ordered and limited (paging and batching slice this list)."""
        rows: list[Row] = []
        for scope in self._scopes(account, query_plan.query.resource):
            attributes = {name: getter(scope) for name, (spec, getter) in _ATTRIBUTES.items()
                          if spec.resource in RESOURCES[query_plan.query.resource]}
            if not all(f.matches(attributes[f.spec.name]) for f in query_plan.row_filters if f.spec.name in attributes):
                continue
            if not query_plan.performance:
                rows.append(Row(scope, attributes))
                continue
            for day, totals in self._performance(scope, query_plan):
                values = attributes | {name: getter(totals) for name, (_, getter) in _METRICS.items()}
                if day is not None:
                    values[_DATE.name] = day
                if all(f.matches(values[f.spec.name]) for f in query_plan.row_filters if f.spec.resource == "metrics"):
                    rows.append(Row(scope, values))
        for spec, descending in reversed(query_plan.order_by):
            rows.sort(key=lambda row, name=spec.name: row.values.get(name, date.min), reverse=descending)
        return rows[:query_plan.query.limit] if query_plan.query.limit else rows

    def _scopes(self, account: AdAccount, resource: str) -> list[Scope]:
        """The FROM resource's entities in hierarchy order, each with the ads its metrics sum."""
        as_of = self.clock.as_of
        if resource == "customer":
            return [Scope(account, ads=tuple(self.world.all_ads(account)), as_of=as_of)]
        scopes: list[Scope] = []
        status = self.controls.status
        for campaign in self.world.campaigns(account):
            groups = self.world.ad_groups(campaign)
            written = {"budget_micros": self._budget_micros(campaign),
                       "campaign_status": status(campaign.campaign_id, "ENABLED")}
            if resource == "campaign":
                ads = tuple(ad for g in groups for ad in self.world.ads(g))
                scopes.append(Scope(account, campaign, ads=ads, as_of=as_of, **written))
                continue
            for group in groups:
                group_status = status(group.ad_group_id, "ENABLED")
                if resource == "ad_group":
                    scopes.append(Scope(account, campaign, group, ads=tuple(self.world.ads(group)), as_of=as_of,
                                        ad_group_status=group_status, **written))
                    continue
                scopes.extend(Scope(account, campaign, group, ad, ads=(ad,), as_of=as_of,
                                    ad_group_status=group_status, **written)
                              for ad in self.world.ads(group))
        return scopes

    def _days(self, query_plan: Plan) -> list[date]:
        """Days the date filters admit, clipped to the simulated calendar and the sandbox's today."""
        config = self.world.config
        first = max(query_plan.first_day or config.start_date, config.start_date)
        last = min(query_plan.last_day or self.clock.as_of, self.clock.as_of, config.end_date)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return [d for d in days if all(f.matches(d) for f in query_plan.date_filters)]

    def _performance(self, scope: Scope, query_plan: Plan) -> list[tuple[date | None, Totals]]:
        """Per-day totals of the scope's ads (only days with delivery), or their sum over the range."""
        per_day: list[tuple[date | None, Totals]] = []
        for day in self._days(query_plan):
            totals = Totals()
            for ad in scope.ads:
                reported = self.world.reported(ad, day, self.clock.as_of)
                if reported is not None:
                    totals.add(reported, self._credit_centi(ad, day))
            if totals.ad_days:
                per_day.append((day, totals))
        if query_plan.by_date or not per_day:
            return per_day
        total = Totals()
        for _, totals in per_day:
            total.merge(totals)
        return [(None, total)]

    def _credit_centi(self, ad: Ad, day: date) -> int:
        """Data-driven attribution credit per click conversion, 0.80-1.20 in hundredths.

        Fixed per ad-day (independent of the clock), so restatement only ever adds conversions, and a
        hundredth grid keeps sums exact before they become doubles.
        """
        return stream(self.world.config.seed, "google_ads", "dda", ad.ad_id, day.isoformat()).randrange(80, 121)


# -- request helpers -----------------------------------------------------------------------------------
_BODY_KEYS = {"query": "query", "pageToken": "pageToken", "page_token": "pageToken", "pageSize": "pageSize",
              "page_size": "pageSize", "validateOnly": "validateOnly", "validate_only": "validateOnly",
              "returnTotalResultsCount": "returnTotalResultsCount",
              "return_total_results_count": "returnTotalResultsCount"}
_STREAM_KEYS = ("query",)


def _version(path: str) -> str:
    match = _VERSION.match(path)
    return match.group(1) if match else DEFAULT_VERSION


def _body(raw: bytes, *, streaming: bool) -> dict[str, Any]:
    """The request body with proto JSON's snake_case aliases folded; unknown fields rejected like Google's front end."""
    try:
        parsed = json.loads(raw or b"{}")
    except ValueError as exc:
        raise GoogleAdsApiError("INVALID_ARGUMENT", None, f"Invalid JSON payload received. {exc}.") from None
    if not isinstance(parsed, dict):
        raise GoogleAdsApiError("INVALID_ARGUMENT", None, "Invalid JSON payload received. Expected an object.")
    body: dict[str, Any] = {}
    for key, value in parsed.items():
        name = _BODY_KEYS.get(key)
        if name is None or (streaming and name not in _STREAM_KEYS):
            raise GoogleAdsApiError("INVALID_ARGUMENT", None,
                                    f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.')
        body[name] = value
    if isinstance(body.get("pageSize"), str) and body["pageSize"].isdigit():
        body["pageSize"] = int(body["pageSize"])  # proto JSON accepts int32 as a string too
    if not isinstance(body.get("query"), str) or not body["query"].strip():
        raise GoogleAdsApiError("INVALID_ARGUMENT", {"requestError": "REQUIRED_FIELD_MISSING"},
                                "Required field 'query' is missing or empty.")
    return body


def _page_token(offset: int, account: AdAccount, query: str) -> str:
    """An opaque token naming the next row and the query it belongs to."""
    digest = hashlib.sha256(f"{account.account_id}|{query}".encode()).hexdigest()[:16]
    return base64.urlsafe_b64encode(f"{offset}:{digest}".encode()).decode().rstrip("=")


def _page_offset(token: Any, account: AdAccount, query: str, total: int) -> int:
    """The row a page token points at; a token of another query or past the end is INVALID_PAGE_TOKEN."""
    if token in (None, ""):
        return 0
    try:
        text = base64.urlsafe_b64decode(str(token) + "=" * (-len(str(token)) % 4)).decode()
        offset_text, digest = text.split(":")
        offset = int(offset_text)
    except ValueError:
        offset, digest = -1, ""
    if _page_token(offset, account, query) != token or not 0 < offset < total or not digest:
        raise GoogleAdsApiError("INVALID_ARGUMENT", {"requestError": "INVALID_PAGE_TOKEN"}, "Page token is invalid.")
    return offset
