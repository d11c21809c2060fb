"""Write clients for Meta, Google Ads and TikTok: read a budget or status, set a budget, pause.

They use the same settings as the connectors (``SOURCES__<SOURCE>__BASE_URL``, ``..._ACCESS_TOKEN``
...), so pointing them at the sandbox or at a real account is only a matter of environment
variables; a token that can write (Meta ``ads_management``, TikTok ad-management scope) is needed
to apply. Writes are retried like reads (setting a budget to a value is idempotent), but only
twice: an action that keeps failing is recorded as failed, not retried for minutes.

Every write returns what it replaced (the undo record).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from pipelines.errors import ConfigError, SourceError
from pipelines.google_ads import helpers as google_helpers
from pipelines.google_ads import settings as google_settings
from pipelines.http import ApiClient, RetryPolicy
from pipelines.meta_ads import helpers as meta_helpers
from pipelines.meta_ads import settings as meta_settings
from pipelines.tiktok_ads import helpers as tiktok_helpers
from pipelines.tiktok_ads import settings as tiktok_settings

WRITE_POLICY = RetryPolicy(max_attempts=2, backoff_base=0.5, backoff_max=2.0, timeout=30.0, max_wait=10.0)
PLATFORMS = ("meta_ads", "google_ads", "tiktok_ads")


@dataclass(frozen=True)
class Entity:
    """What a budget action targets, in the canonical columns of ``fct_ad_performance_daily``."""

    platform: str
    account_id: str
    campaign_id: str
    ad_group_id: str


class WriteClient(Protocol):
    """One platform's budget and status endpoints."""

    platform: str

    def budget_entity(self, entity: Entity) -> tuple[str, str]:
        """Where the entity's daily budget lives: (level, id) — an ad set, an ad group or a campaign budget."""
        ...

    def daily_budget(self, entity: Entity) -> Decimal:
        """The daily budget in the account currency's main unit."""
        ...

    def set_daily_budget(self, entity: Entity, amount: Decimal) -> dict[str, Any]:
        """Set the daily budget; returns the undo record (the previous value)."""
        ...

    def pause(self, entity: Entity) -> dict[str, Any]:
        """Pause the ad set / ad group; returns the undo record (the previous status). An entity already
        paused is not written again: the record then says ``"unchanged": True``."""
        ...

    def restore(self, entity: Entity, undo: Mapping[str, Any]) -> dict[str, Any]:
        """Write an undo record's previous budget or status back; returns the record of what it replaced."""
        ...


def _cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class MetaWriteClient:
    """``POST /<version>/<ad set id>`` with ``daily_budget`` (minor units) or ``status=PAUSED``."""

    platform = "meta_ads"

    def __init__(self, base_url: str, access_token: str, api_version: str = meta_settings.DEFAULT_API_VERSION,
                 policy: RetryPolicy = WRITE_POLICY) -> None:
        self.api_version = api_version
        self.http = ApiClient("meta_ads", base_url, base_url_setting=f"{meta_settings.ENV_PREFIX}BASE_URL",
                              headers={"Authorization": f"Bearer {access_token}"},
                              classify=meta_helpers.classify, policy=policy)

    def budget_entity(self, entity: Entity) -> tuple[str, str]:
        return "adset", entity.ad_group_id

    def _read(self, entity: Entity) -> dict[str, Any]:
        body = self.http.get_json(f"{self.api_version}/{entity.ad_group_id}", {"fields": "status,daily_budget"})
        return body if isinstance(body, dict) else {}

    def daily_budget(self, entity: Entity) -> Decimal:
        return Decimal(str(self._read(entity).get("daily_budget") or 0)) / 100

    def set_daily_budget(self, entity: Entity, amount: Decimal) -> dict[str, Any]:
        previous = self.daily_budget(entity)
        self.http.request("POST", f"{self.api_version}/{entity.ad_group_id}",
                          data={"daily_budget": str(_cents(amount))})
        return {"level": "adset", "id": entity.ad_group_id, "daily_budget": str(previous)}

    def pause(self, entity: Entity) -> dict[str, Any]:
        previous = self._read(entity).get("status")
        if previous == "PAUSED":
            return {"level": "adset", "id": entity.ad_group_id, "status": previous, "unchanged": True}
        self.http.request("POST", f"{self.api_version}/{entity.ad_group_id}", data={"status": "PAUSED"})
        return {"level": "adset", "id": entity.ad_group_id, "status": previous}

    def restore(self, entity: Entity, undo: Mapping[str, Any]) -> dict[str, Any]:
        if "daily_budget" in undo:
            return self.set_daily_budget(entity, Decimal(str(undo["daily_budget"])))
        previous = self._read(entity).get("status")
        self.http.request("POST", f"{self.api_version}/{entity.ad_group_id}", data={"status": undo["status"]})
        return {"level": "adset", "id": entity.ad_group_id, "status": previous}


class GoogleAdsWriteClient:
    """``campaignBudgets:mutate`` (a campaign's shared daily budget, micros) and ``adGroups:mutate`` (status)."""

    platform = "google_ads"

    def __init__(self, base_url: str, access_token: str, developer_token: str,
                 api_version: str = google_settings.DEFAULT_API_VERSION, login_customer_id: str | None = None,
                 policy: RetryPolicy = WRITE_POLICY) -> None:
        self.search = google_helpers.GoogleAdsClient(base_url, api_version, access_token, developer_token,
                                                     login_customer_id, policy)
        self.api_version = api_version

    def budget_entity(self, entity: Entity) -> tuple[str, str]:
        return "campaign_budget", entity.campaign_id

    def _budget_name(self, entity: Entity) -> tuple[str, int]:
        rows = self.search.search_stream(entity.account_id, "SELECT campaign.id, campaign.campaign_budget, "
                                         f"campaign_budget.amount_micros FROM campaign WHERE campaign.id = "
                                         f"{int(entity.campaign_id)}")
        if not rows:
            raise SourceError("google_ads", f"campaign {entity.campaign_id} not found in customer {entity.account_id}")
        return rows[0]["campaign"]["campaignBudget"], int(rows[0]["campaignBudget"]["amountMicros"])

    def daily_budget(self, entity: Entity) -> Decimal:
        return Decimal(self._budget_name(entity)[1]) / 1_000_000

    def _mutate(self, entity: Entity, service: str, update: Mapping[str, Any], mask: str) -> None:
        path = f"{self.api_version}/customers/{entity.account_id}/{service}:mutate"
        self.search.http.post_json(path, {"operations": [{"update": dict(update), "updateMask": mask}]})

    def set_daily_budget(self, entity: Entity, amount: Decimal) -> dict[str, Any]:
        name, previous = self._budget_name(entity)
        self._mutate(entity, "campaignBudgets", {"resourceName": name, "amountMicros": str(_cents(amount) * 10_000)},
                     "amount_micros")
        return {"level": "campaign_budget", "id": name, "amount_micros": str(previous)}

    def pause(self, entity: Entity) -> dict[str, Any]:
        rows = self.search.search_stream(entity.account_id, "SELECT ad_group.id, ad_group.status FROM ad_group "
                                         f"WHERE ad_group.id = {int(entity.ad_group_id)}")
        previous = rows[0]["adGroup"]["status"] if rows else None
        name = f"customers/{entity.account_id}/adGroups/{entity.ad_group_id}"
        if previous == "PAUSED":
            return {"level": "ad_group", "id": name, "status": previous, "unchanged": True}
        self._mutate(entity, "adGroups", {"resourceName": name, "status": "PAUSED"}, "status")
        return {"level": "ad_group", "id": name, "status": previous}

    def restore(self, entity: Entity, undo: Mapping[str, Any]) -> dict[str, Any]:
        if "amount_micros" in undo:
            return self.set_daily_budget(entity, Decimal(str(undo["amount_micros"])) / 1_000_000)
        rows = self.search.search_stream(entity.account_id, "SELECT ad_group.id, ad_group.status FROM ad_group "
                                         f"WHERE ad_group.id = {int(entity.ad_group_id)}")
        name = f"customers/{entity.account_id}/adGroups/{entity.ad_group_id}"
        self._mutate(entity, "adGroups", {"resourceName": name, "status": undo["status"]}, "status")
        return {"level": "ad_group", "id": name, "status": rows[0]["adGroup"]["status"] if rows else None}


class TikTokWriteClient:
    """``adgroup/budget/update/`` (main units) and ``adgroup/status/update/`` (``DISABLE``)."""

    platform = "tiktok_ads"

    def __init__(self, base_url: str, access_token: str, policy: RetryPolicy = WRITE_POLICY) -> None:
        self.read = tiktok_helpers.TikTokClient(base_url, access_token, policy)
        self.http = self.read.http

    def budget_entity(self, entity: Entity) -> tuple[str, str]:
        return "adgroup", entity.ad_group_id

    def _group(self, entity: Entity) -> dict[str, Any]:
        data = self.read.get_data("adgroup/get/", {
            "advertiser_id": entity.account_id, "filtering": json.dumps({"adgroup_ids": [entity.ad_group_id]}),
            "fields": json.dumps(["adgroup_id", "budget", "operation_status"])})
        rows = data.get("list") or []
        if not rows:
            raise SourceError("tiktok_ads", f"ad group {entity.ad_group_id} not found for advertiser "
                              f"{entity.account_id}")
        return rows[0]

    def daily_budget(self, entity: Entity) -> Decimal:
        return Decimal(str(self._group(entity).get("budget") or 0))

    def set_daily_budget(self, entity: Entity, amount: Decimal) -> dict[str, Any]:
        previous = self.daily_budget(entity)
        self.http.post_json(f"{tiktok_settings.API_ROOT}/adgroup/budget/update/", {
            "advertiser_id": entity.account_id,
            "budget": [{"adgroup_id": entity.ad_group_id, "budget": float(Decimal(_cents(amount)) / 100)}]})
        return {"level": "adgroup", "id": entity.ad_group_id, "budget": str(previous)}

    def pause(self, entity: Entity) -> dict[str, Any]:
        previous = self._group(entity).get("operation_status")
        if previous == "DISABLE":
            return {"level": "adgroup", "id": entity.ad_group_id, "operation_status": previous, "unchanged": True}
        self.http.post_json(f"{tiktok_settings.API_ROOT}/adgroup/status/update/", {
            "advertiser_id": entity.account_id, "adgroup_ids": [entity.ad_group_id], "operation_status": "DISABLE"})
        return {"level": "adgroup", "id": entity.ad_group_id, "operation_status": previous}

    def restore(self, entity: Entity, undo: Mapping[str, Any]) -> dict[str, Any]:
        if "budget" in undo:
            return self.set_daily_budget(entity, Decimal(str(undo["budget"])))
        previous = self._group(entity).get("operation_status")
        self.http.post_json(f"{tiktok_settings.API_ROOT}/adgroup/status/update/", {
            "advertiser_id": entity.account_id, "adgroup_ids": [entity.ad_group_id],
            "operation_status": undo["operation_status"]})
        return {"level": "adgroup", "id": entity.ad_group_id, "operation_status": previous}


def clients_from_env(env: Mapping[str, str] | None = None) -> dict[str, WriteClient]:
    """A write client per platform whose access token is configured (the connectors' settings)."""
    env = os.environ if env is None else env
    out: dict[str, WriteClient] = {}

    def get(prefix: str, key: str, default: str | None = None) -> str | None:
        return env.get(f"{prefix}{key}") or default

    m = meta_settings.ENV_PREFIX
    if token := get(m, "ACCESS_TOKEN"):
        out["meta_ads"] = MetaWriteClient(get(m, "BASE_URL", meta_settings.DEFAULT_BASE_URL) or "", token,
                                          get(m, "API_VERSION", meta_settings.DEFAULT_API_VERSION) or "")
    g = google_settings.ENV_PREFIX
    if token := get(g, "ACCESS_TOKEN"):
        developer = get(g, "DEVELOPER_TOKEN")
        if not developer:
            raise ConfigError(f"google_ads: {g}DEVELOPER_TOKEN is not set (needed next to {g}ACCESS_TOKEN)")
        out["google_ads"] = GoogleAdsWriteClient(get(g, "BASE_URL", google_settings.DEFAULT_BASE_URL) or "", token,
                                                 developer, get(g, "API_VERSION", google_settings.DEFAULT_API_VERSION)
                                                 or "", get(g, "LOGIN_CUSTOMER_ID"))
    t = tiktok_settings.ENV_PREFIX
    if token := get(t, "ACCESS_TOKEN"):
        out["tiktok_ads"] = TikTokWriteClient(get(t, "BASE_URL", tiktok_settings.DEFAULT_BASE_URL) or "", token)
    return out
