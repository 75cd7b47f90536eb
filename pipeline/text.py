"""Sentences, by rule: GiNZA's splitter breaks names (`Sam` | `Altman`), separates an
event from its date and ignores line breaks, so we split ourselves.

A sentence ends at a line break, or after 。！？ (with any closing brackets that follow)
when no 「」『』()（）“” is open. Line breaks always end a sentence, even inside an
unclosed bracket, so one stray bracket cannot swallow the rest of an article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

OPENERS = {"「": "」", "『": "』", "(": ")", "（": "）", "“": "”", "【": "】", "〈": "〉", "《": "》"}
CLOSERS = set(OPENERS.values())
ENDERS = set("。！？")  # ASCII ? and ! also appear inside names (Yahoo!) and headlines


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    text: str  # == body[start:end], surrounding blanks excluded


def _trimmed(body: str, start: int, end: int) -> Sentence | None:
    while start < end and body[start].isspace():
        start += 1
    while end > start and body[end - 1].isspace():
        end -= 1
    return Sentence(start, end, body[start:end]) if end > start else None


# The only characters the splitter acts on; everything between them is skipped at C speed.
_SPECIAL = re.compile("[\n" + re.escape("".join(OPENERS) + "".join(CLOSERS) + "".join(ENDERS)) + "]")


@lru_cache(maxsize=16)  # asked for each article by entities, events and model facts
def split_sentences(body: str) -> tuple[Sentence, ...]:
    """Sentences of a body in order, with offsets into the body."""
    sentences: list[Sentence] = []
    stack: list[str] = []
    start = 0
    n = len(body)

    def close(end: int) -> None:
        nonlocal start
        sentence = _trimmed(body, start, end)
        if sentence:
            sentences.append(sentence)
        start = end

    skip_to = 0  # the enders and closers that end a sentence are consumed with it
    for match in _SPECIAL.finditer(body):
        i = match.start()
        if i < skip_to:
            continue
        ch = body[i]
        if ch == "\n":
            close(i)
            stack.clear()
        elif ch in OPENERS:
            stack.append(OPENERS[ch])
        elif ch in CLOSERS:
            if ch in stack:
                while stack and stack.pop() != ch:
                    pass
        elif not stack:  # an ender outside brackets
            j = i + 1
            while j < n and (body[j] in ENDERS or body[j] in CLOSERS):
                j += 1
            close(j)
            skip_to = j
    close(n)
    return tuple(sentences)
