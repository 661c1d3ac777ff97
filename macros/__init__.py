"""mkdocs-macros entry point: measure (or reuse cached results), then expose the macros."""
# First, for every entry (build, hooks, scripts, tests): an unsupported Python stops here
# with one message (python_support), before an import that would fail on it.
from .measure import python_support  # noqa: F401


def define_env(env):  # noqa: D103 - mkdocs-macros calls this once per build
    from .site import setup
    setup(env)


def on_post_page_macros(env):  # noqa: D103 - mkdocs-macros calls this after each page renders
    from .site import banner
    env.markdown = banner() + env.markdown
