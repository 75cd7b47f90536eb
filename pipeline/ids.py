"""Stable identifiers: entity slugs, mention ids.

Ids are derived from content only (never from row order or time), so rebuilding the
dataset gives the same ids, and a user can cite `organization:openai` across releases.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

_NON_SLUG = re.compile(r"[^a-z0-9.]+")
# They pick a glyph (辻 with one dot or two), not a reading; pykakasi fails on them.
_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")


@lru_cache(maxsize=1)
def _kakasi():
    """pykakasi's converter, imported lazily (only names without Latin letters need it),
    its 10 MB kanji dictionary read at the first kanji instead of at the start.

    Reading that dictionary is 0.5 s of a worker's start, and names in kana alone (リア
    ン・ジア: most foreign names in Japanese news) never look in it; an incremental
    build's one worker waits for it before its article's ids. The conversion is
    pykakasi's own, unchanged (tested against `pykakasi.kakasi()` on kana, kanji and
    mixed names)."""
    from functools import cached_property

    from pykakasi.kakasi import Kakasi
    from pykakasi.kanji import Itaiji, JConv, Kanwa
    from pykakasi.scripts import IConv

    class KanjiOnFirstUse(JConv):
        def __init__(self) -> None:  # JConv's, less reading Kanwa now
            self._itaiji = Itaiji()

        @cached_property
        def _kanwa(self) -> Kanwa:
            return Kanwa()

    class LazyKakasi(Kakasi):
        def __init__(self) -> None:  # Kakasi's, with the converter above
            self._jconv = KanjiOnFirstUse()
            self._iconv = IConv()

    return LazyKakasi()


def romanize(text: str) -> str:
    """Hepburn reading of Japanese text (Latin text passes through unchanged)."""
    return " ".join(part["hepburn"] for part in _kakasi().convert(text))


# Latin letters that do not decompose into a base letter and a mark.
_LATIN_FOLDS = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "þ": "th", "ð": "d", "ı": "i"})


def _fold_latin(text: str) -> str:
    """Tülu -> tulu, Clément -> clement: accents dropped from Latin letters only.

    Japanese is left alone (NFKD would split ガ into カ and a voicing mark).
    """
    out = []
    for ch in text.translate(_LATIN_FOLDS):
        if not ch.isascii() and "LATIN" in unicodedata.name(ch, ""):
            ch = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(ch)
    return "".join(out)


def slug(name: str) -> str:
    """ASCII slug: NFKC, lower case, Latin accents folded, other runs become one hyphen.

    Names without Latin letters (リアン・ジア) are romanized first (`rian-jia`), so every
    id is ASCII and safe in URLs, file names and SQL. A name with nothing to romanize
    (emoji, Hangul, punctuation) gets `x-` and a short hash of the name, never an empty slug.
    """
    text = _fold_latin(unicodedata.normalize("NFKC", name).lower())
    if not text.isascii():
        text = romanize(_VARIATION_SELECTORS.sub("", text)).lower()
    text = re.sub(r"-{2,}", "-", _NON_SLUG.sub("-", text).strip("-."))
    if not text:
        return "x-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    return text


def entity_id(entity_type: str, name: str) -> str:
    """`<type>:<slug>`, the contract's entity id form (`person:sam-altman`)."""
    return f"{entity_type}:{slug(name)}"


def mention_id(source_id: str, start: int, end: int) -> str:
    """A mention is identified by where it is: its article and character span."""
    return f"{source_id}:{start}-{end}"
