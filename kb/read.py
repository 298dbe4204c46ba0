"""Stage 1 — read: corpus files + YAML sidecars -> document dicts.

A document is ``corpus/<doc-id>.<ext>`` with ``corpus/<doc-id>.yaml``; ``<ext>`` is
``.txt``/``.md`` or a format kb/formats extracts (``.html``/``.htm``, ``.pdf``,
``.docx``); suffixes are matched without regard to case (``.TXT``,
``.YAML``). Returned dict keys: id, source, title, publisher, date, year, type,
home_city, doc_number, date_note, url, encoding, text, sha, lines_are_paragraphs
(the format marks paragraphs: no hard wraps to rejoin, see kb/formats).

The corpus has a boundary: :func:`scan_corpus` accounts for every entry of the
corpus directory — taken as a document or sidecar, or ignored with a reason —
and refuses a document or sidecar that is a link leading outside the corpus, a
directory, a device or another non-regular file. Text holding NUL or other
control characters (beyond tab, line and page breaks) is refused as binary.

Any problem raises :class:`kb.errors.InputError` naming the file.
"""

import datetime
import hashlib
import os
import pickle
import re
import stat
from pathlib import Path
from typing import NamedTuple

import yaml

from .errors import InputError
from .fsutil import read_memo, write_memo
from .reuse import files_digest
from .formats import SUFFIXES as TEXT_SUFFIXES, extract

SIDECAR_SUFFIX = ".yaml"
DOC_TYPES = ("policy", "report", "news", "commentary")
# the Chinese label of each document type (site, search facet, citations, command line)
DOC_TYPE_LABELS = {"policy": "政策文件", "report": "研究报告", "news": "新闻报道", "commentary": "评论文章"}
REQUIRED = ("title", "publisher", "date", "type")
OPTIONAL = ("home_city", "doc_number", "date_note", "url")
MULTILINE = ("date_note",)  # every other field is one line of text
URL_RE = re.compile(r"^https?://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?$", re.I)
DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
DOC_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CJK_RE = re.compile(r"[\u4e00-\u9fff]")
# C0/C1 control characters except tab, line feed, page break (form feed) and carriage return
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
LINE_BREAK_RE = re.compile("[\r\n\u2028\u2029]")
LARGE_TEXT_BYTES = 5 * 1024 * 1024  # the build warns about documents larger than this
MAX_SIDECAR_BYTES = 64 * 1024


class Corpus(NamedTuple):
    """What :func:`scan_corpus` found: document paths sorted by id, the sidecar of
    each document id, and every other entry with the reason it is not read."""

    documents: list
    sidecars: dict
    ignored: list  # [(path, reason)]


def decode(path, data):
    """Decode bytes as UTF-8 (BOM allowed) or, failing that, GB18030; refuse otherwise
    (and refuse binary: NUL or other control characters).

    Returns (text, encoding name)."""
    if not data.strip():
        raise InputError(path, "文件为空 (empty file)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
        try:
            text, encoding = data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            raise InputError(
                path,
                f"无法解码：既不是 UTF-8（字节 {utf8_error.start} 处出错）也不是 GB18030/GBK (undecodable)",
            ) from None
        # GB18030 decodes almost any byte string; accept it only if the result reads as Chinese.
        chinese = len(CJK_RE.findall(text))
        if chinese < max(1, len(text.strip()) // 4):
            raise InputError(path, "无法解码：不是 UTF-8，按 GB18030 解码也不像中文文本 (undecodable)")
    control = CONTROL_RE.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise InputError(path, f"第 {line} 行含控制字符 U+{ord(control.group()):04X}，"
                               "像是二进制文件 (binary: control character)")
    return text, encoding


# ---------------------------------------------------------------- sidecars


class _SidecarLoader(yaml.SafeLoader):
    """YAML as written: every scalar is the text the user typed (``2024-06-07`` is
    not turned into a date, ``2024`` not into a number, ``yes`` not into a boolean);
    only an empty value (or ``null``/``~``) reads as nothing."""


_SidecarLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load_yaml(path, raw, memo=None):
    """The parsed sidecar ``raw``. ``memo``: a dict {sha256 of the bytes: the pickled parse}
    (kept by the build across runs: parsing is most of the time of reading a corpus)."""
    if memo is not None:
        key = hashlib.sha256(raw).hexdigest()
        hit = memo.get(key)
        if hit is not None:
            return pickle.loads(hit)  # a fresh object for every use
        data = _parse_yaml(path, raw)
        memo[key] = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        return data
    return _parse_yaml(path, raw)


def _parse_yaml(path, raw):
    try:
        return yaml.load(raw.decode("utf-8-sig"), Loader=_SidecarLoader)  # noqa: S506 (safe loader)
    except (yaml.YAMLError, UnicodeDecodeError, ValueError, TypeError, OverflowError,
            RecursionError) as exc:
        # ValueError & co. come from explicit tags such as ``!!timestamp 2025-13-45``
        first = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, f"元数据不是有效的 UTF-8 YAML (malformed sidecar): {first}") from None


def _field_text(path, key, value):
    """The one conversion of a sidecar value to text, whatever YAML made of it."""
    if value is None:
        return None
    if isinstance(value, (datetime.date, datetime.datetime)):  # explicit !!timestamp
        value = value.isoformat()
    elif isinstance(value, (bool, int, float)):  # explicit !!int, !!float, !!bool
        value = str(value)
    elif not isinstance(value, str):
        kind = "列表 (list)" if isinstance(value, list) else "映射 (mapping)"
        raise InputError(path, f"{key} 应为文本，而不是{kind} (must be text)")
    value = value.strip()
    if key not in MULTILINE and LINE_BREAK_RE.search(value):
        raise InputError(path, f"{key} 应为一行文本 (must be one line)")
    if CONTROL_RE.search(value):
        raise InputError(path, f"{key} 含控制字符 (control character)")
    return value or None


def validate_sidecar(path, meta, known_cities=None):
    """Validate a parsed sidecar (any YAML value) into the metadata dict."""
    if not isinstance(meta, dict):
        raise InputError(path, "元数据应为键值映射 (malformed sidecar: not a mapping)")
    unknown = sorted(str(k) for k in set(meta) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise InputError(path, f"未知字段 (unknown field): {', '.join(unknown)}")
    out = {key: _field_text(path, key, meta.get(key)) for key in REQUIRED + OPTIONAL}
    for key in REQUIRED:
        if out[key] is None:
            raise InputError(path, f"缺少必填字段 (missing field): {key}")
    match = DATE_RE.match(out["date"])
    if not match or not _valid_date(match):
        raise InputError(path, f"日期格式应为 YYYY、YYYY-MM 或 YYYY-MM-DD (bad date): {out['date']}")
    out["year"] = int(match.group(1))
    if out["type"] not in DOC_TYPES:
        raise InputError(
            path, f"type 取值无效 (unknown type): {out['type']}；可选 {' | '.join(DOC_TYPES)}"
        )
    if out["url"] is not None and not URL_RE.match(out["url"]):
        raise InputError(path, f"url 应为 http:// 或 https:// 开头的网址 (bad url): {out['url']}")
    if out["home_city"] and known_cities is not None and out["home_city"] not in known_cities:
        raise InputError(path, f"home_city 不在城市表 kb/data/cities.yaml 中 (unknown city): {out['home_city']}")
    return out


def read_sidecar(path, known_cities=None, memo=None):
    """Parse and validate one sidecar; returns (metadata dict, raw bytes). ``memo``: see
    :func:`_load_yaml`."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "缺少元数据文件 (missing sidecar .yaml)")
    raw = _read_regular(path, MAX_SIDECAR_BYTES)
    return validate_sidecar(path, _load_yaml(path, raw, memo), known_cities), raw


def _valid_date(match):
    year, month, day = (int(g) if g else None for g in match.groups())
    if not 1000 <= year <= 2999:
        return False
    if month is None:
        return True
    if not 1 <= month <= 12:
        return False
    if day is None:
        return True
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- the corpus boundary


def _read_regular(path, limit=None):
    """Bytes of a regular file (links followed); one clear error otherwise. Opening
    does not block (a named pipe is refused, not waited on)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise InputError(path, "是目录，不是文件 (a directory, not a file)" if stat.S_ISDIR(mode)
                             else "不是普通文件 (not a regular file)")
        with open(fd, "rb") as fh:
            data = fh.read(limit + 1 if limit else -1)
    except OSError as exc:
        raise InputError(path, f"无法读取 (unreadable): {exc.strerror}") from None
    if limit and len(data) > limit:
        raise InputError(path, f"文件过大，超过 {limit // 1024} KB (too large)")
    return data


def _kind(path):
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix == SIDECAR_SUFFIX:
        return "sidecar"
    return None


def _entry_problem(path, root):
    """Why ``path`` (an entry of the corpus directory) cannot be read, or None."""
    if path.is_symlink():
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return "链接的目标不存在 (broken link)"
        if not target.is_relative_to(root):
            return f"链接指向语料目录之外 (link leads outside the corpus): {target}"
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"无法读取 (unreadable): {exc.strerror}"
    if stat.S_ISDIR(mode):
        return "是目录，不是文件 (a directory, not a file)"
    if not stat.S_ISREG(mode):
        return "不是普通文件 (not a regular file: device, pipe or socket)"
    return None


def scan_corpus(corpus_dir):
    """Account for every entry of the corpus directory (see :class:`Corpus`).

    A document or sidecar that cannot be read safely (a link leading outside the
    corpus, a directory, a device …) stops the build; anything else that is not
    read is returned in ``ignored`` with its reason."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise InputError(corpus_dir, "语料目录不存在 (corpus directory not found)")
    root = corpus_dir.resolve()
    texts, sidecars, ignored = {}, {}, []
    for path in sorted(corpus_dir.iterdir(), key=lambda p: p.name):  # (as Paths sort, faster)
        kind = _kind(path)
        if path.name.startswith("."):
            ignored.append((path, "隐藏文件，未读取 (hidden)"))
            continue
        problem = _entry_problem(path, root)
        if problem and kind:
            raise InputError(path, problem)
        if problem or not kind:
            if problem is None:
                problem = f"扩展名不是 {' '.join(TEXT_SUFFIXES)} 或 .yaml，未读取 (unknown extension)"
            elif path.is_dir() and not path.is_symlink():
                problem = "子目录，未读取 (subdirectory, not read)"
            ignored.append((path, problem))
            continue
        doc_id = path.stem
        if kind == "sidecar":
            if doc_id in sidecars:
                raise InputError(path, f"元数据重复 (duplicate sidecar): {sidecars[doc_id].name}")
            sidecars[doc_id] = path
            continue
        if not DOC_ID_RE.match(doc_id):
            raise InputError(path, "文档编号只能含字母、数字、_ . - (bad document id)")
        if doc_id in texts:
            raise InputError(path, f"文档编号重复 (duplicate id): {doc_id} 已由 {texts[doc_id].name} 使用")
        texts[doc_id] = path
    for doc_id, path in sorted(sidecars.items()):
        if doc_id not in texts:
            raise InputError(path, "元数据没有对应的正文文件 (sidecar without a document file)")
    if not texts:
        raise InputError(corpus_dir, f"语料目录中没有文档文件（{' '.join(TEXT_SUFFIXES)}）(no documents)")
    return Corpus([texts[k] for k in sorted(texts)], sidecars, ignored)


def list_documents(corpus_dir):
    """Paths of the corpus's text files, sorted by document id (see :func:`scan_corpus`)."""
    return scan_corpus(corpus_dir).documents


def _sidecar_of(path):
    default = path.with_suffix(SIDECAR_SUFFIX)
    if default.exists():
        return default
    for other in path.parent.glob(f"{path.stem}.*"):  # .YAML, .Yaml …
        if other.suffix.lower() == SIDECAR_SUFFIX and other.stem == path.stem:
            return other
    return default


def read_document(path, known_cities=None, extract_cache=None, sidecar=None, sidecar_memo=None):
    path = Path(path)
    meta, sidecar_raw = read_sidecar(sidecar or _sidecar_of(path), known_cities, sidecar_memo)
    data = _read_regular(path)
    text, _, encoding, lines_are_paragraphs = extract(path, data, cache_dir=extract_cache)
    if not text.strip():
        raise InputError(path, "文件为空 (empty file)")
    sha = hashlib.sha256(data + b"\0" + sidecar_raw).hexdigest()
    doc = {"id": path.stem, "source": path.name}
    doc.update(meta)
    doc.update({"encoding": encoding, "text": text, "sha": sha,
                "lines_are_paragraphs": lines_are_paragraphs})
    return doc


def read_corpus(corpus_dir, known_cities=None):
    """Read and validate every document of a corpus directory."""
    corpus = scan_corpus(corpus_dir)
    return [read_document(p, known_cities, sidecar=corpus.sidecars.get(p.stem)) for p in corpus.documents]


def _salt(*extra):
    """The code and libraries a memo of reading depends on (this module, kb/formats, PyYAML)."""
    formats = sorted((Path(__file__).parent / "formats").glob("*.py"))
    return hashlib.sha256("|".join([files_digest([Path(__file__), *formats]), yaml.__version__,
                                    *map(str, extra)]).encode()).hexdigest()[:32]


class _PickleMemo:
    """A dict kept by the build across runs in one pickle file of ``folder`` named by ``salt``
    (the code it depends on; other files of the folder are stale). :meth:`save` writes the
    entries this build used (``self.used.entries``) when they differ from the last build's."""

    def __init__(self, folder, salt):
        self.path = Path(folder) / f"{salt}.pickle"
        old = read_memo(self.path)
        self.old = old if isinstance(old, dict) else {}
        self.used = _Memo(self.old)

    def save(self):
        if self.used.entries != self.old:
            write_memo(self.path, self.used.entries)


class SidecarMemo(_PickleMemo):
    """The parsed sidecars of the last build (``.kbcache/sidecars/``, one file for the
    corpus), by the hash of their bytes: parsing YAML is most of the time of reading a
    corpus (0.3 of 0.5 s at 1,000 documents). ``used`` is the dict :func:`read_document`
    reads and fills."""

    def __init__(self, cache_dir):
        super().__init__(Path(cache_dir) / "sidecars", _salt())


def _identity(*paths):
    """What changes when a file is written, replaced or touched: device, inode, size,
    modification and change times (the change time cannot be set back by hand)."""
    out = []
    for path in paths:
        st = os.stat(path)
        out.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(out)


class DocumentMemo(_PickleMemo):
    """The documents of the last build without their text (``.kbcache/documents/``), by path
    and the identity of the document's and its sidecar's files, as git's index does: a
    document neither of whose files changed since is taken from here instead of read,
    decoded, extracted and hashed again (most of reading an unchanged corpus). Its dict has
    no ``"text"``: :func:`with_text` reads it for the stage that needs it (analysing a
    document missing from the analysis cache). ``extra``: what else validation depends on
    (the vocabulary's version: known cities)."""

    def __init__(self, cache_dir, extra=""):
        super().__init__(Path(cache_dir) / "documents", _salt(extra))

    def read(self, path, known_cities=None, extract_cache=None, sidecar=None, sidecar_memo=None):
        """:func:`read_document`, from the memo when the files are unchanged (then without text)."""
        path = Path(path)
        sidecar = Path(sidecar or _sidecar_of(path))
        try:
            identity = _identity(path, sidecar)
        except OSError:  # missing sidecar and the like: read_document names the problem
            identity = None
        key = str(path)
        hit = self.used.get(key) if identity else None
        if hit is not None:
            old_identity, doc = pickle.loads(hit)
            if old_identity == identity:
                return doc
        doc = read_document(path, known_cities, extract_cache, sidecar, sidecar_memo)
        if identity:
            self.used[key] = pickle.dumps((identity, {k: v for k, v in doc.items() if k != "text"}),
                                          protocol=pickle.HIGHEST_PROTOCOL)
        return doc


def with_text(doc, path, known_cities=None, extract_cache=None, sidecar=None):
    """``doc`` with its text (read again when it came from :class:`DocumentMemo` without)."""
    if "text" in doc:
        return doc
    return read_document(path, known_cities, extract_cache, sidecar)


class _Memo:
    """A dict-like view that reads ``old`` and remembers what was read or added."""

    def __init__(self, old):
        self.old, self.entries = old, {}

    def get(self, key):
        value = self.old.get(key)
        if isinstance(value, bytes):
            self.entries[key] = value
            return value
        return None

    def __setitem__(self, key, value):
        self.entries[key] = value
