"""Every emulated platform: how to build its app and the settings a connector needs to reach it.

Settings follow dlt's ``SOURCES__<SOURCE>__<KEY>`` convention, so pointing a connector at the
sandbox is only a matter of environment variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.server import Clock, PlatformApp
    from sandbox.world import World


@dataclass(frozen=True)
class Emulation:
    platform: str
    source: str  # the adlake source (dlt) name that reads it
    build: Callable[[World, Clock], PlatformApp]  # the app class
    settings: Callable[[World], dict[str, str]]  # credentials and ids, without the base URL


def _ids(world: World, platform: str) -> str:
    return ",".join(a.account_id for a in world.accounts[platform])


def emulations() -> list[Emulation]:
    """The platforms the sandbox serves, in a fixed order."""
    from sandbox import appsflyer, crm, google_ads, linkedin_ads, meta, microsoft_ads, tiktok_ads

    return [
        Emulation("meta", "meta_ads", meta.MetaApp,
                  lambda w: {"ACCESS_TOKEN": meta.DEFAULT_TOKEN, "ACCOUNT_IDS": _ids(w, "meta")}),
        Emulation("google_ads", "google_ads", google_ads.GoogleAdsApp,
                  lambda w: {"ACCESS_TOKEN": google_ads.DEFAULT_TOKEN,
                             "DEVELOPER_TOKEN": google_ads.DEFAULT_DEVELOPER_TOKEN,
                             "CUSTOMER_IDS": _ids(w, "google_ads")}),
        Emulation("linkedin_ads", "linkedin_ads", linkedin_ads.LinkedInApp,
                  lambda w: {"ACCESS_TOKEN": linkedin_ads.DEFAULT_TOKEN, "ACCOUNT_IDS": _ids(w, "linkedin_ads")}),
        Emulation("tiktok_ads", "tiktok_ads", tiktok_ads.TikTokApp,
                  lambda w: {"ACCESS_TOKEN": tiktok_ads.DEFAULT_TOKEN, "ADVERTISER_IDS": _ids(w, "tiktok_ads")}),
        Emulation("microsoft_ads", "microsoft_ads", microsoft_ads.MicrosoftAdsApp,
                  lambda w: {"ACCESS_TOKEN": microsoft_ads.DEFAULT_TOKEN,
                             "DEVELOPER_TOKEN": microsoft_ads.DEFAULT_DEVELOPER_TOKEN,
                             "ACCOUNT_IDS": _ids(w, "microsoft_ads"),
                             "CUSTOMER_ID": w.accounts["microsoft_ads"][0].business_id,
                             "REPORT_TIME_ZONE": microsoft_ads.report_time_zone(w.accounts["microsoft_ads"][0])}),
        Emulation("appsflyer", "appsflyer", appsflyer.AppsFlyerApp,
                  lambda w: {"API_TOKEN": appsflyer.DEFAULT_TOKEN, "APP_IDS": appsflyer.APP_ID}),
        Emulation("crm", "crm", crm.CrmApp, lambda w: {"ACCESS_TOKEN": crm.DEFAULT_TOKEN}),
    ]


def default_apps(world: World, clock: Clock) -> list[PlatformApp]:
    """One app per emulated platform."""
    return [e.build(world, clock) for e in emulations()]


def source_settings(base_url: str, world: World) -> dict[str, str]:
    """Environment variables that point every connector at a sandbox served at ``base_url``."""
    env: dict[str, str] = {}
    for emulation in emulations():
        prefix = f"SOURCES__{emulation.source.upper()}__"
        env[f"{prefix}BASE_URL"] = f"{base_url}{emulation.build.prefix}"
        env.update({f"{prefix}{k}": v for k, v in emulation.settings(world).items()})
    return env

