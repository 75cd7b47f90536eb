"""The base of the errors that list every problem found at once (corpus, registry,
corrections), so that one edit can fix them all."""

from __future__ import annotations

from typing import Any, Sequence


class ProblemsError(Exception):
    """An error made from its `problems`; each subclass says how they read."""

    def __init__(self, problems: Sequence[Any], message: str):
        self.problems = problems
        super().__init__(message)

    def __reduce__(self) -> tuple:
        """Pickled (a build's child raises it in its parent) as the subclass and its
        problems: the default, the message alone, would be read back as the problems."""
        return (type(self), (self.problems,))
