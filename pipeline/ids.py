"""Stable identifiers: entity slugs, mention ids.

Ids are derived from content only (never from row order or time), so rebuilding the
dataset gives the same ids, and a user can cite `organization:openai` across releases.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_SLUG = re.compile(r"[^a-z0-9.]+")


@lru_cache(maxsize=1)
def _kakasi():  # imported lazily: only names without Latin letters need it
    import pykakasi

    return pykakasi.kakasi()


def romanize(text: str) -> str:
    """Hepburn reading of Japanese text (Latin text passes through unchanged)."""
    return " ".join(part["hepburn"] for part in _kakasi().convert(text))


def slug(name: str) -> str:
    """ASCII slug: NFKC, lower case, runs of other characters become one hyphen.

    Names without Latin letters (リアン・ジア) are romanized first (`rian-jia`), so every
    id is ASCII and safe in URLs, file names and SQL.
    """
    text = unicodedata.normalize("NFKC", name).lower()
    if not text.isascii():
        text = romanize(text).lower()
    text = _NON_SLUG.sub("-", text).strip("-.")
    return re.sub(r"-{2,}", "-", text)


def entity_id(entity_type: str, name: str) -> str:
    """`<type>:<slug>`, the contract's entity id form (`person:sam-altman`)."""
    return f"{entity_type}:{slug(name)}"


def mention_id(source_id: str, start: int, end: int) -> str:
    """A mention is identified by where it is: its article and character span."""
    return f"{source_id}:{start}-{end}"
