"""HTML made by the macros reaches the page exactly as built: Markdown never reads it.

A macro's HTML (a claim box, a program's output, an inline figure) holds text from programs.
Escaping stops HTML and Jinja from being interpreted, but Markdown would still read it: `*`
and `_` become emphasis, `|` splits table cells, a blank line ends the paragraph. So each
macro returns a token instead; a Markdown preprocessor swaps each token for a placeholder of
Markdown's own raw-HTML stash, which Markdown leaves alone and restores at the very end.
"""
from __future__ import annotations

import re
import secrets

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor


class Vault:
    """The HTML of one build's macros, by token."""

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(6)    # a page cannot guess (or type) a valid token
        self.items: list[str] = []
        self.pattern = re.compile(rf"chapterhtml{self.nonce}n(\d+)z")

    def protect(self, html: str) -> str:
        self.items.append(html)
        return f"chapterhtml{self.nonce}n{len(self.items) - 1}z"

    def restore(self, text: str, store) -> str:
        return self.pattern.sub(lambda m: store(self.items[int(m.group(1))]), text)


class _Swap(Preprocessor):
    def __init__(self, md: Markdown, vault: Vault) -> None:
        super().__init__(md)
        self.vault = vault
        self.used: list[str] = []

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        self.used = []
        if "chapterhtml" not in text:
            return lines

        def store(html: str) -> str:
            self.used.append(html)
            return self.md.htmlStash.store(html)
        return self.vault.restore(text, store).split("\n")


class _Anchors(Preprocessor):
    """Tell MkDocs about the ids in the stashed HTML (claim-<id>), so links to them validate."""

    def __init__(self, md: Markdown, swap: _Swap) -> None:
        super().__init__(md)
        self.swap = swap

    def run(self, lines: list[str]) -> list[str]:
        finder = self.md.preprocessors["mkdocs_raw_html"] if "mkdocs_raw_html" in self.md.preprocessors else None
        if finder is not None and self.swap.used:
            finder.present_anchor_ids |= set(_ID.findall("\n".join(self.swap.used)))
        return lines


_ID = re.compile(r'\sid="([^"]+)"')


class ProtectExtension(Extension):
    def __init__(self, vault: Vault) -> None:
        super().__init__()
        self.vault = vault

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 - Markdown's API
        # After snippets (32) and whitespace normalising (30, which strips the stash's
        # STX/ETX markers), before MkDocs looks for anchors (21) and raw HTML is parsed (20).
        swap = _Swap(md, self.vault)
        md.preprocessors.register(swap, "chapter_protect", 29)
        md.preprocessors.register(_Anchors(md, swap), "chapter_anchors", 20.5)


def install(config, vault: Vault) -> None:
    """Add the extension to this build's Markdown (replacing one from a previous build)."""
    exts = config["markdown_extensions"]
    exts[:] = [e for e in exts if not isinstance(e, ProtectExtension)]
    exts.append(ProtectExtension(vault))
