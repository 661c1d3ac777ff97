#!/usr/bin/env python3
"""Run the measuring engine alone (no site build) and write results/<machine>.json.

    python scripts/measure.py [--mode auto|fresh|cached|stale] [--scale full|quick] [--only NAME ...]
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from macros.measure import (CacheMissing, MeasureError, SCALES, measure,  # noqa: E402
                            mode_from_env, results_paths, scale_from_env)
from macros.measure.config import MODES  # noqa: E402
from macros.measure.errors import InputError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", default=None, choices=MODES, help="default: $CHAPTER_MEASURE or auto")
    ap.add_argument("--scale", default=None, choices=sorted(SCALES), help="default: $CHAPTER_SCALE or full")
    ap.add_argument("--only", nargs="*", help="measure only these experiments")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)-7s %(message)s")
    try:
        mode = args.mode or mode_from_env()
        scale = SCALES[args.scale] if args.scale else scale_from_env()
        doc = measure(ROOT, mode=mode, scale=scale, only=args.only)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (CacheMissing, MeasureError, TimeoutError) as exc:   # TimeoutError: the cache lock
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:   # the engine has said what it kept
        return 130
    failed = [n for n, e in doc["experiments"].items() if e.get("status") != "ok"]
    results, suite = results_paths(ROOT, scale)
    print(f"results: {results.relative_to(ROOT)}" + (f", pyperf suite: {suite.relative_to(ROOT)}" if suite.exists() else ""))
    for name in failed:
        e = doc["experiments"][name]
        print(f"not measured: {name} ({e.get('file')}): {e.get('reason')}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
