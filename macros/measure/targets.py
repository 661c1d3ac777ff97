"""What a build is asked to achieve, as the method page states it and scripts/bench.py checks.
No experiment reads them, so changing one re-measures nothing."""
from __future__ import annotations

SAME_SPREAD = 0.03    # three builds' figures of one machine within this of each other read as the same
COLD_BUILD_S = 60     # a cold full-scale build on a 2-core VM, everything included
