"""Shared test fixtures, and the bookkeeping that every listing is compiled and run by a test.

Mark a test that compiles and runs a listing with @pytest.mark.listing("csrc/x.c", ...).
test_listings_covered fails when a file in csrc/ or pysrc/ has no such test.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COVERED: set[str] = set()
COLLECTED_FILES: set[str] = set()


def pytest_configure(config):
    config.addinivalue_line("markers", "listing(*paths): this test compiles and runs these listings")
    config.addinivalue_line("markers", "slow: a test that measures at quick scale or builds the site")


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        COLLECTED_FILES.add(Path(str(item.fspath)).name)
        for mark in item.iter_markers("listing"):
            COVERED.update(mark.args)


@pytest.fixture
def root() -> Path:
    return ROOT
