"""Atomic file writes: a reader (or a build killed halfway) sees the old file or the
new one, never part of one. Every writer of published or cached files goes through here."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def _mode(path: Path) -> int:
    """The mode a replaced file keeps, or what a new file gets under the umask
    (mkstemp alone would leave 0600: published files are world-readable)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_via(path: Path, write: Callable[[Path], None], durable: bool = False) -> None:
    """Run `write` on a temporary file beside `path`, then rename it into place;
    `durable` also flushes it to disk first (for journals a kill must not lose)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, mode)
        if durable:
            with open(tmp, "rb") as written:
                os.fsync(written.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes, durable: bool = False) -> None:
    write_via(path, lambda tmp: tmp.write_bytes(data), durable)


def write_text(path: Path, text: str, durable: bool = False) -> None:
    """UTF-8, newlines as given (no platform translation)."""
    write_bytes(path, text.encode("utf-8"), durable)
