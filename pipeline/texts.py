"""Article bodies kept in a temporary file instead of in memory, read back one at a time.

The build process validates the package against the article bodies (offsets, quotes,
hashes), which its child tells it as it reads the corpus. As Python strings they were
the part of its memory that grew fastest with the corpus once the large tables were
checked a block at a time (`pipeline.streamed`): 13 MB at 2,000 articles, 52 MB at
8,000. Here each body is appended, as UTF-8, to one unnamed temporary file (gone when
the process ends), and only where it starts is kept. A body is read back and decoded
when a check asks for it; the last one asked for is kept, as the checks go through
their rows article by article.
"""

from __future__ import annotations

import os
import tempfile
from typing import Iterator, Mapping


class SpooledTexts(Mapping[str, str]):
    """Bodies by source id, kept on disk (see the module)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(buffering=0)  # unbuffered: each body is in the file once added
        self._at: dict[str, tuple[int, int]] = {}  # source id -> (offset, bytes)
        self._size = 0
        self._last: tuple[str | None, str] = (None, "")

    def add(self, source_id: str, utf8: bytes) -> None:
        """Keep `utf8`, the body of `source_id` encoded as UTF-8 (a later one replaces it)."""
        self._file.write(utf8)
        self._at[source_id] = (self._size, len(utf8))
        self._size += len(utf8)
        if self._last[0] == source_id:
            self._last = (None, "")

    def __getitem__(self, source_id: str) -> str:
        if self._last[0] == source_id:
            return self._last[1]
        offset, size = self._at[source_id]
        text = os.pread(self._file.fileno(), size, offset).decode("utf-8")
        self._last = (source_id, text)
        return text

    def __contains__(self, source_id: object) -> bool:
        return source_id in self._at  # without reading the body

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)
