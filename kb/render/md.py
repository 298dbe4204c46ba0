"""Markdown -> safe HTML: raw HTML escaped, unsafe link schemes dropped."""

import html
import re

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup


class _SafeLinks(Treeprocessor):
    """Drop href/src values whose scheme is not http(s)/mailto (javascript:, data:, vbscript:…)."""

    SAFE = {"http", "https", "mailto"}

    def run(self, root):
        for el in root.iter():
            for attr in ("href", "src"):
                value = el.get(attr)
                if value is None:
                    continue
                # Browsers ignore whitespace and control characters inside the scheme.
                squashed = re.sub(r"[\x00-\x20]", "", html.unescape(value))
                scheme = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", squashed)
                if scheme and scheme.group(1).lower() not in self.SAFE:
                    del el.attrib[attr]


class _NoRawHtml(Extension):
    """python-markdown 3 has no safe_mode: deregister the raw-HTML block preprocessor and
    the inline HTML pattern, so ``<script>`` stays text (escaped by the serializer)."""

    def extendMarkdown(self, md):
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_SafeLinks(md), "safe_links", 0)


_CONVERTER = None


def markdown_to_html(source):
    """Markdown -> HTML (Markup) with raw HTML escaped and unsafe link schemes removed."""
    global _CONVERTER
    if _CONVERTER is None:  # one converter, reset after each use (building one is the cost)
        _CONVERTER = markdown.Markdown(extensions=[_NoRawHtml(), "tables", "sane_lists"],
                                       output_format="html")
    try:
        return Markup(_CONVERTER.convert(source or ""))
    finally:
        _CONVERTER.reset()
