"""The measuring engine. It knows nothing of MkDocs: importable and testable on its own."""
from .config import SCALES, Scale, mode_from_env, scale_from_env  # noqa: F401
from .engine import measure, results_paths  # noqa: F401
from .errors import CacheMissing, MeasureError  # noqa: F401
