"""The measuring engine. It knows nothing of MkDocs: importable and testable on its own."""
# First, before anything that may not even parse on an old Python: one message, no traceback.
from .python_support import require_supported

require_supported()

from .config import SCALES, Scale, mode_from_env, scale_from_env  # noqa: F401,E402
from .engine import measure, results_paths  # noqa: F401,E402
from .errors import CacheMissing, MeasureError  # noqa: F401,E402
