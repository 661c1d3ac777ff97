"""What a page's source may use: the macros, never the raw results, the ledger or a printed raw()."""
from __future__ import annotations

import re

import pytest

from conftest import ROOT

PAGES = sorted((ROOT / "docs").rglob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT / "docs").as_posix() for p in PAGES])
def test_pages_reach_results_only_through_the_macros(page):
    text = page.read_text()
    jinja = " ".join(re.findall(r"\{\{.*?\}\}|\{%.*?%\}", text, re.S))
    # provenance.scale.values found dict.values; chapter.verdicts[...] bypassed the verdict macros.
    for name in ("provenance", "chapter", "doc"):
        assert not re.search(rf"\b{name}\s*[.\[]", jinja), f"{page.name}: reaches {name!r} directly"
    # raw() gives the value for a condition; printed, a missing fact would read "not measured: exp ...".
    assert not re.search(r"\{\{\s*raw\(", text), f"{page.name}: prints raw(); use fig() or code()"
