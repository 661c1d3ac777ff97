"""A PEP 517 build backend that builds nothing: it stops pip with one message.

Kept apart from the engine (pip runs it from this folder, with nothing installed) and
written for old Pythons. The range must match macros/measure/python_support.py (a test checks).
"""
import sys

OLDEST = (3, 11)
NEWEST = (3, 13)


def _stop():
    here = ".".join(str(p) for p in sys.version_info[:3])
    if sys.version_info[:2] < OLDEST:
        why = "this is Python %s (%s)" % (here, sys.executable)
    else:
        why = "this folder is not a package; requirements.txt names it only for older Pythons"
    sys.exit("This site needs Python %d.%d to %d.%d; %s. Make the virtual environment with one "
             "of them, e.g. `python3.11 -m venv .venv` (Debian/Ubuntu: apt-get install python3.11 "
             "python3.11-venv; Fedora: dnf install python3.11)." % (OLDEST + NEWEST + (why,)))


def get_requires_for_build_wheel(config_settings=None):
    _stop()


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _stop()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _stop()
