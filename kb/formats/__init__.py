"""Source formats: a corpus file of any supported kind -> plain text + metadata candidates.

``extract(path, data=None, cache_dir=None) -> Extracted(text, meta, encoding,
lines_are_paragraphs)`` (with ``cache_dir``, web pages, PDFs and Word files are
extracted once per content and :func:`fingerprint`).

* ``text``: the document as lines, the shape a ``.txt`` export has (headings and
  paragraphs on their own lines), so cleaning, splitting and tagging are the same for
  every format. Page furniture is left to kb/clean.py.
* ``meta``: metadata candidates the file itself carries, each
  ``{"field", "value", "basis"}`` — e.g. a web page's 发布时间/来源 line or its
  ``<meta name="PubDate">``, a PDF's or Word file's document properties. kb/draft.py
  weighs them when it drafts a sidecar; the build does not use them.
* ``encoding``: the text encoding of a text or web-page file (``utf-8``, ``gb18030``),
  ``None`` for binary formats.
* ``lines_are_paragraphs``: True when every line is a whole paragraph or heading (web
  pages and Word files mark paragraphs); False when lines may be hard wraps of a
  printed column (text exports, PDF), which kb/clean.py then rejoins.

One module per format (``html``, ``pdf``, ``docx``, ``text``); each raises
:class:`kb.errors.InputError` naming the file for a file it cannot read (encrypted or
image-only PDF, a page with no article text, a damaged Word file).
"""

import functools
import hashlib
import json
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version as _pkg_version
from pathlib import Path
from typing import NamedTuple

from ..errors import InputError
from ..fsutil import write_text

# suffix -> module of this package; the order is the order listed to users
FORMATS = {".txt": "text", ".md": "text", ".html": "html", ".htm": "html",
           ".pdf": "pdf", ".docx": "docx"}
SUFFIXES = tuple(FORMATS)
# libraries whose version changes what an extractor returns (part of the cache key)
LIBRARIES = ("trafilatura", "lxml", "pdfplumber", "pdfminer.six", "python-docx")


class Extracted(NamedTuple):
    text: str
    meta: list
    encoding: object = None
    lines_are_paragraphs: bool = False


def candidate(field, value, basis):
    """One metadata candidate: a field, its value and where it was found."""
    return {"field": field, "value": value, "basis": basis}


def table_line(rows):
    """A table as one paragraph line: cells joined by "，", rows by "；", closed by "。".

    A table row is not a heading nor a sentence of its own; kept together, the table
    is one passage whose figures keep their row labels."""
    rows = [[c for c in (" ".join(cell.split()) for cell in row) if c] for row in rows]
    rows = [row for row in rows if row]
    return "；".join("，".join(row) for row in rows) + "。" if rows else ""


def extract(path, data=None, cache_dir=None):
    """Extract ``path`` (bytes already read may be passed as ``data``).

    With ``cache_dir``, the result for a web page, PDF or Word file is kept there under
    the hash of the file's bytes and of the extractors (:func:`fingerprint`): reading a
    PDF takes a few tenths of a second a page, and an unchanged file is read once."""
    path = Path(path)
    name = FORMATS.get(path.suffix.lower())
    if name is None:
        raise InputError(path, f"不支持的文件格式 (unsupported format)：{path.suffix or '无扩展名'}；"
                               f"可用 {' '.join(SUFFIXES)}")
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(path, f"无法读取 ({exc.strerror})") from None
    cached = None
    if cache_dir is not None and name != "text":
        key = hashlib.sha256(data + b"\0" + fingerprint().encode()).hexdigest()
        cached = Path(cache_dir) / key[:2] / f"{key}.json"
        if cached.exists():
            return Extracted(**json.loads(cached.read_text(encoding="utf-8")))
    result = import_module(f".{name}", __name__).extract(path, data)
    text = result.text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError(path, "没有可提取的正文 (no text extracted)")
    result = result._replace(text=text)
    if cached is not None:
        write_text(cached, json.dumps(result._asdict(), ensure_ascii=False))
    return result


def version():
    """Versions of the extraction libraries: a change re-extracts every document."""
    parts = []
    for lib in LIBRARIES:
        try:
            parts.append(f"{lib}={_pkg_version(lib)}")
        except PackageNotFoundError:
            parts.append(f"{lib}=-")
    return ";".join(parts)


@functools.lru_cache(maxsize=1)
def fingerprint():
    """Hash of the extractors: this package's code, kb/data/formats.yaml and the
    libraries' versions. Part of the build cache key: a change re-extracts."""
    h = hashlib.sha256(version().encode())
    for path in sorted(Path(__file__).parent.glob("*.py")) + [DATA_FILE]:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def rules():
    """kb/data/formats.yaml, parsed once per process."""
    global _RULES
    if _RULES is None:
        import yaml

        _RULES = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    return _RULES


DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "formats.yaml"
_RULES = None
