"""Constants of the HubSpot CRM v3 objects API as adlake uses it (field notes, section 2.7)."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://api.hubapi.com"
ENV_PREFIX = "SOURCES__CRM__"
SOURCE = "crm"

# The list endpoint returns at most 100 records per page, the search endpoint at most 200.
PAGE_LIMIT = 100
LIST_MAX_LIMIT = 100
SEARCH_MAX_LIMIT = 200
# Search answers carry no associations: deal -> contact links come from the v4 batch read.
DEAL_CONTACTS_PATH = "crm/v4/associations/deals/contacts/batch/read"
ASSOCIATIONS_MAX_INPUTS = 1000
# Later runs search from the last modification seen minus this overlap: HubSpot's search index lags
# a little behind writes, and re-reading a few minutes is cheaper than missing an update.
OVERLAP_SECONDS = 600
# HubSpot answers 429 with its rolling window length; never sleep longer than this on one signal.
MAX_THROTTLE_WAIT_SECONDS = 60.0

CONTACT_PROPERTIES = ("email", "phone", "firstname", "lastname", "company", "lifecyclestage", "createdate",
                      "lastmodifieddate")
DEAL_PROPERTIES = ("dealname", "amount", "deal_currency_code", "dealstage", "pipeline", "createdate", "closedate",
                   "hs_lastmodifieddate", "lead_event_id")


# Object -> (raw table, dlt resource name, properties, last-modified property, partition column).
OBJECTS: dict[str, tuple[str, str, tuple[str, ...], str, str]] = {
    "contacts": ("crm__contacts", "contacts", CONTACT_PROPERTIES, "lastmodifieddate", "modified_date"),
    "deals": ("crm__deals", "deals", DEAL_PROPERTIES, "hs_lastmodifieddate", "close_date"),
}
# Top-level keys of a CRM object besides its properties (``associations`` only on deals).
RECORD_KEYS = frozenset({"id", "properties", "createdAt", "updatedAt", "archived", "associations"})
# HubSpot always returns the object id among the properties.
ALWAYS_PROPERTIES = frozenset({"hs_object_id"})
DECIMAL_PROPERTIES = ("amount",)
