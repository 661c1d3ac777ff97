"""Which Pythons the site is built and tested with, and the one message for any other.

Imported first by the engine's package, so it must parse on old Pythons: no `X | Y`
annotations, no `match`, nothing newer than 3.6. pip meets an old Python earlier still,
at scripts/python-check (requirements.txt's first line), which says the same thing.
"""
import logging
import sys
from typing import Optional, Tuple

OLDEST = (3, 11)    # the oldest and newest minor versions the tests and CI run on
NEWEST = (3, 13)

INSTALL_HINT = ("make the virtual environment with one of them, e.g. `python3.11 -m venv .venv` "
                "(Debian/Ubuntu: apt-get install python3.11 python3.11-venv; "
                "Fedora: dnf install python3.11)")


class UnsupportedPython(SystemExit):
    """This Python is older than the oldest supported one. A SystemExit, so the build or script
    stops with the message alone (exit status 1), before importing what would fail on it."""


def _range() -> str:
    return f"Python {OLDEST[0]}.{OLDEST[1]} to {NEWEST[0]}.{NEWEST[1]}"


def _name(version: Tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version[:3])


def too_old(version: Tuple[int, ...]) -> Optional[str]:
    """The message for a Python older than OLDEST; None for any other."""
    if tuple(version[:2]) >= OLDEST:
        return None
    return (f"this site needs {_range()}; this is Python {_name(version)} "
            f"({sys.executable}): {INSTALL_HINT}")


def untested(version: Tuple[int, ...]) -> Optional[str]:
    """A note for a Python newer than NEWEST (it may work; nothing here was run on it)."""
    if tuple(version[:2]) <= NEWEST:
        return None
    return (f"Python {_name(version)} is newer than the versions this site is tested with "
            f"({_range()}); if a listing fails or a figure is not measured, try one of those")


def require_supported(version: Optional[Tuple[int, ...]] = None) -> None:
    """Stop (UnsupportedPython) on a Python that is too old; warn once on one newer than tested."""
    version = tuple(sys.version_info[:3]) if version is None else tuple(version)
    message = too_old(version)
    if message:
        raise UnsupportedPython(message)
    note = untested(version)
    if note:
        logging.getLogger("chapter.measure").warning(note)


NUMPY_HINT = ("pip install numpy in the build's environment (or Debian/Ubuntu: apt-get install "
              "python3-numpy; Fedora: dnf install python3-numpy, for a system Python)")


def numpy_missing() -> Optional[str]:
    """Why this Python cannot import NumPy (the listings run under it), or None if it can.
    Imported rather than looked up: a NumPy that is there but broken is missing too."""
    try:
        import numpy  # noqa: F401
    except ImportError as exc:
        return f"NumPy cannot be imported by {sys.executable} ({exc}): {NUMPY_HINT}"
    return None
