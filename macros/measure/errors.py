"""Errors the engine raises on purpose: each carries a reason a reader can act on."""
from __future__ import annotations


class MeasureError(Exception):
    """A measurement could not be made; `reason` is shown to the user, `file` names the culprit."""

    def __init__(self, reason: str, file: str | None = None, kind: str = "error") -> None:
        super().__init__(reason)
        self.reason = reason
        self.file = file
        # compile | crash | timeout | memory | toolchain | internal | error: the engine's advice
        # to the user (engine.fix_hint) and the tests go by it.
        self.kind = kind

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}" if self.file else self.reason


class CacheMissing(Exception):
    """Cached-only mode found no cached result for some experiments."""

    def __init__(self, missing: list[str], hint: str) -> None:
        super().__init__(f"no cached results for: {', '.join(missing)}. {hint}")
        self.missing = missing


class InputError(ValueError):
    """Bad input from a contributor (a name, a file, a setting): one message naming the file,
    the name and the nearest valid names. Scripts exit with status 2 on it; the build stops."""
