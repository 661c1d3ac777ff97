"""Every page of the quick site loads in Chromium with no failed request, no request leaving
127.0.0.1 and no broken image, in light and dark mode; the page weights go to test-artifacts/.

The served site and the browser are test_browser's fixtures (that module also skips, with the
reason, when Playwright or Chromium is missing).
"""
from __future__ import annotations

import json

import pytest

from test_browser import (ARTIFACTS, BROKEN_IMAGES, DESKTOP, SCHEMES, PageLog, browser, served,  # noqa: F401
                          site_pages, wait_for_scheme)

pytestmark = pytest.mark.slow


def test_every_page_loads_cleanly(served, browser):
    """Each page in a context of its own (in a reused tab, the last page's late requests, its
    favicon, are aborted by the next navigation and would count against the next page), in
    each scheme, all of them loading at once: each waits until its network has been idle for
    half a second, and those half-seconds overlap instead of adding up."""
    base, site, _, _ = served
    weights: dict[str, dict[str, int]] = {scheme: {} for scheme in SCHEMES}
    opened = []
    try:
        for scheme in SCHEMES:
            for path in site_pages(site):
                ctx = browser.new_context(viewport=DESKTOP, color_scheme=scheme)
                page = ctx.new_page()
                opened.append((scheme, path, ctx, page, PageLog(page, base)))
                page.goto(base + path, wait_until="commit")
        for scheme, path, _, page, log in opened:
            page.wait_for_load_state("networkidle", timeout=120_000)
            wait_for_scheme(page, scheme)
            where = f"{path or '/'} ({scheme})"
            assert not log.failed, f"{where}: failed requests {log.failed}"
            assert not log.check_statuses(), f"{where}: {log.check_statuses()}"
            assert not log.foreign, f"{where}: requests leaving 127.0.0.1: {log.foreign}"
            assert page.evaluate(BROKEN_IMAGES) == [], f"{where}: broken images"
            weights[scheme][path or "/"] = log.transferred()
    finally:
        for _, _, ctx, _, _ in opened:
            ctx.close()
    for scheme, by_page in weights.items():
        (ARTIFACTS / f"transfer-{scheme}.json").write_text(json.dumps(by_page, indent=1, sort_keys=True))
