"""What an ASIN is, and where Plex agents put one: the one rule for every caller.

The scan stores the ASIN it finds in an album's guid, the matcher derives
one from the same guid, the catalog refuses to send anything else to
Audible, and `/request` treats a typed ASIN as one. When these disagree, the
scan stores one answer and the matcher derives another, so they all ask here.

Shape: ``B0`` + 8 letters or digits (Amazon's own numbers), or an ISBN-10
(nine digits + a digit or ``X``) that older titles carry. Plex agents append
the store region ("_us", "_uk"), which is not part of the identifier.

Guids that carry one (any case):

- ``com.plexapp.agents.audnexus://B08G9PRS1K_us?lang=en`` (Audnexus, region
  suffix optional), ``com.plexapp.agents.audiobooks://<ASIN>?lang=en`` (the
  Audiobooks agent), ``com.plexapp.agents.audible://<ASIN>``;
- ``audible.de://<ASIN>`` (a regional Audible scheme);
- ``Guid`` children such as ``audnexus://album/<ASIN>`` or ``audnexus://book/<ASIN>``.

``plex://album/<hex>``, ``local://N``, author guids (``audnexus://author/...``)
and anything else carry none.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["asin_from_guid", "is_asin", "normalize_asin"]

log = logging.getLogger(__name__)

_SHAPE = r"b0[a-z0-9]{8}|[0-9]{9}[0-9x]"
_ASIN = re.compile(rf"(?:{_SHAPE})", re.IGNORECASE)
_GUID = re.compile(
    rf"""
    ^(?:[a-z0-9_-]+\.)*                    # agent namespace: com.plexapp.agents.
    (?:audnexus|audible|audiobooks?)       # the agents backed by Audible
    (?:\.[a-z]{{2,3}}){{0,2}}              # a store domain: audible.de, audible.co.uk
    ://
    (?:(?:album|book|books|audiobook)/)?   # Guid child form
    ({_SHAPE})                             # the ASIN
    (?:_[a-z]{{2,3}})?                     # store region suffix: _us, _uk, _de
    (?=[?/#&]|$)
    """,
    re.IGNORECASE | re.VERBOSE,
)


def is_asin(value: str) -> bool:
    """True for a canonical ASIN: ten characters, upper case, no region suffix."""
    return _ASIN.fullmatch(value) is not None and value == value.upper()


def normalize_asin(value: str | None) -> str | None:
    """Canonical ASIN ("b08g9prs1k_us" -> "B08G9PRS1K"), or None for anything else."""
    if not value:
        return None
    candidate = value.strip().split("_", 1)[0].upper()
    return candidate if _ASIN.fullmatch(candidate) else None


def asin_from_guid(guid: Any) -> str | None:
    """The first ASIN in a guid, a ``Guid`` child (``{"id": ...}``) or a list of them."""
    if guid is None:
        return None
    if isinstance(guid, str):
        found = _GUID.match(guid.strip())
        return found.group(1).upper() if found else None
    if isinstance(guid, Mapping):
        return asin_from_guid(guid.get("id"))
    if isinstance(guid, Iterable):
        for entry in guid:
            if asin := asin_from_guid(entry):
                return asin
    return None
