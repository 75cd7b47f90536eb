"""Progress bars for long runs (extraction, validation of large packages), on stderr,
only where someone watches: asked for, or a terminal outside CI."""

from __future__ import annotations

import os
import sys
from typing import Any


def progress_on(requested: bool | None) -> bool:
    """A bar only where someone watches: asked for, or a terminal outside CI."""
    if requested is not None:
        return requested
    return sys.stderr.isatty() and not os.environ.get("CI")


def bar(total: int, unit: str, desc: str, enabled: bool) -> Any:
    """A tqdm bar (a no-op when disabled or empty), without tqdm's monitor thread: it
    only warns about slow refreshes, and a build forks small jobs, which is safe only
    while no other thread runs (`pipeline.forking`)."""
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0

    return Bar(total=total, unit=unit, desc=desc, disable=not enabled or total == 0, file=sys.stderr)
