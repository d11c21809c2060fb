"""Who the simulated people are: emails, phones, cookies, device ids, CRM ids and consent.

Identifiers are generated in blocks of people from a stream of their own, so any person's
identifiers can be produced on demand (the CRM emulation needs a few) without building everyone's.
"""

from __future__ import annotations

import base64
import threading
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from sandbox.journeys import Population, rng_for

_FIRST = ("anna", "jan", "zofia", "piotr", "lena", "marek", "élise", "jürgen", "iñigo", "maría", "john", "emily",
          "łukasz", "ana", "noah", "sofía")
_LAST = ("kowalski", "nowak", "müller", "garcía", "smith", "wiśniewska", "lópez", "schmidt", "brown", "dubois")
_DOMAINS = ("gmail.com", "wp.pl", "onet.pl", "gmx.de", "yahoo.es", "outlook.com", "example.org")
# Country, dialling code, national number length, share of people.
_COUNTRIES = (("PL", "48", 9, 0.45), ("DE", "49", 10, 0.2), ("ES", "34", 9, 0.15), ("US", "1", 10, 0.2))
BLOCK = 100_000
_BLOCKS: dict[tuple[int, int, int], list[dict[str, object]]] = {}
_LOCK = threading.Lock()  # the sandbox server answers from several threads


def people_block(seed: int, population: Population, block: int) -> pa.Table:
    """Identifiers and consent of the people in block ``block`` (``BLOCK`` people each)."""
    start = block * BLOCK
    stop = min(population.size, start + BLOCK)
    return _people(seed, population, start, stop)


def lookup(seed: int, population: Population, person_ids: list[int]) -> dict[int, dict[str, object]]:
    """Identifiers of a few people by id."""
    out: dict[int, dict[str, object]] = {}
    for block in sorted({p // BLOCK for p in person_ids}):
        # Keyed by what determines the block (ids of dead objects can be reused).
        key = (seed, population.size, block)
        with _LOCK:
            rows = _BLOCKS.get(key)
        if rows is None:
            rows = people_block(seed, population, block).to_pylist()
            with _LOCK:
                if len(_BLOCKS) >= 4:
                    _BLOCKS.clear()
                _BLOCKS[key] = rows
        for person in person_ids:
            if person // BLOCK == block:
                out[person] = rows[person - block * BLOCK]
    return out


def _people(seed: int, population: Population, start: int, stop: int) -> pa.Table:
    rng = rng_for(seed, "identifiers", start)
    n = stop - start
    ids = np.arange(start, stop)
    first = np.array(_FIRST)[rng.integers(0, len(_FIRST), n)]
    last = np.array(_LAST)[rng.integers(0, len(_LAST), n)]
    domain = np.array(_DOMAINS)[rng.integers(0, len(_DOMAINS), n)]
    country_at = np.searchsorted(np.cumsum([c[3] for c in _COUNTRIES]), rng.random(n) * 0.9999)
    phones = []
    for i in range(n):
        _, code, digits, _ = _COUNTRIES[country_at[i]]
        phones.append(f"+{code}{rng.integers(10 ** (digits - 1), 10**digits)}")
    devices = rng.integers(1, 5, n)
    consent_data = population.ad_user_data[start:stop]
    consent_personalization = consent_data & (rng.random(n) < 0.9)
    country = np.array([c[0] for c in _COUNTRIES])[country_at]
    # B2B people work in companies of about four (consecutive B2B people share one).
    b2b_rank = np.cumsum(population.is_b2b)[start:stop] - 1
    company = np.where(population.is_b2b[start:stop], b2b_rank // 4, -1)
    return pa.table({
        "person_id": pa.array(ids, pa.int64()),
        "email": pa.array([f"{f}.{la}{i}@{d}" for f, la, i, d in zip(first, last, ids, domain, strict=True)]),
        "phone_e164": pa.array(phones),
        "country": pa.array(country),
        "cookie_ids": pa.array([[f"ck.{i}.{k}.{rng.integers(1 << 30)}" for k in range(dev)]
                                for i, dev in zip(ids, devices, strict=True)]),
        "mobile_ad_id": pa.array([_uuid(rng) if has else None for has in population.has_app[start:stop]]),
        "crm_contact_id": pa.array([f"crm_{i}" if b2b else None for i, b2b in zip(ids, company >= 0, strict=True)]),
        "company_id": pa.array([f"company_{c}" if c >= 0 else None for c in company]),
        "consent_ad_user_data": pa.array(consent_data),
        "consent_ad_personalization": pa.array(consent_personalization),
        "tcf_string": pa.array([tcf_string(bool(d), bool(p)) if c != "US" else None
                                for c, d, p in zip(country, consent_data, consent_personalization, strict=True)]),
    })


def _uuid(rng: np.random.Generator) -> str:
    h = rng.bytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def tcf_string(ad_data: bool, personalization: bool) -> str:
    """A TCF v2.2 core string (base64url, no padding) with purposes consented as the person chose.

    Purposes 1 (storage), 7 (measure ads) and 9 follow ``ad_data``; 3 and 4 (ad profiles)
    follow ``personalization``. Google (vendor 755) is consented when ``ad_data`` is.
    """
    bits: list[str] = []

    def put(value: int, width: int) -> None:
        bits.append(format(value, f"0{width}b"))

    deciseconds = int(datetime(2026, 8, 1, tzinfo=UTC).timestamp() * 10)
    purposes = ["0"] * 24
    for p in (1, 7, 9):
        purposes[p - 1] = "1" if ad_data else "0"
    for p in (3, 4):
        purposes[p - 1] = "1" if personalization else "0"
    put(2, 6)
    put(deciseconds, 36)
    put(deciseconds, 36)
    put(300, 12)  # CMP id
    put(1, 12)  # CMP version
    put(1, 6)  # consent screen
    for letter in "EN":
        put(ord(letter) - ord("A"), 6)
    put(150, 12)  # vendor list version
    put(4, 6)  # TCF policy version (v2.2)
    put(1, 1)  # service specific
    put(0, 1)  # non-standard texts
    put(0, 12)  # special feature opt-ins
    bits.append("".join(purposes))
    bits.append("0" * 24)  # legitimate interests: none for purposes 3-6 under v2.2
    put(0, 1)  # purpose one treatment
    for letter in "PL":
        put(ord(letter) - ord("A"), 6)
    put(755, 16)  # max vendor id
    put(0, 1)  # bit field
    bits.append("0" * 754 + ("1" if ad_data else "0"))
    put(0, 16)  # vendor legitimate interests: none
    put(0, 1)
    put(0, 12)  # no publisher restrictions
    raw = "".join(bits)
    raw += "0" * (-len(raw) % 8)
    data = int(raw, 2).to_bytes(len(raw) // 8, "big")
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
