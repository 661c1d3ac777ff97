"""MkDocs hooks: add the results downloads to the site without writing into docs/.

The figures need no files: they are drawn inline into their pages (macros/figures/)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mkdocs.structure.files import File, Files  # noqa: E402


def on_build_error(error: Exception, **kwargs) -> None:
    from macros import site
    if isinstance(error, site.ChapterInputError):
        site.stop_for_input(error)

DOWNLOADS = "downloads"


def on_files(files: Files, config) -> Files:
    from macros import site
    ch = site.CURRENT
    if ch is None:
        return files
    files.append(File.generated(config, f"{DOWNLOADS}/results.json", content=ch.results_file.read_bytes()))
    if ch.suite_file.exists():
        files.append(File.generated(config, f"{DOWNLOADS}/results.pyperf.json",
                                    content=ch.suite_file.read_bytes()))
    return files
