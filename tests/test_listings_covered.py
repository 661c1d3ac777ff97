"""Every listing the chapter shows is compiled and run by some test."""

import pytest

from conftest import COLLECTED_FILES, COVERED, ROOT

LISTING_DIRS = ("csrc", "pysrc")
LISTING_SUFFIXES = (".c", ".h", ".py")


def all_listings() -> set[str]:
    return {str(p.relative_to(ROOT)) for d in LISTING_DIRS for p in (ROOT / d).rglob("*")
            if p.suffix in LISTING_SUFFIXES}


def test_listings_covered():
    test_files = {p.name for p in (ROOT / "tests").glob("test_*.py")}
    if not test_files <= COLLECTED_FILES:
        pytest.skip("only part of the suite was collected; run the whole of tests/ to check coverage")
    untested = sorted(all_listings() - COVERED)
    assert not untested, (f"listings with no test that compiles and runs them: {untested}; "
                          f"add a test marked @pytest.mark.listing(...) for each")
    stale = sorted(COVERED - all_listings())
    assert not stale, f"tests claim to cover listings that do not exist: {stale}"
