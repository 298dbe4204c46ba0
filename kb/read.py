"""Stage 1 — read: corpus files + YAML sidecars -> document dicts.

A document is ``corpus/<doc-id>.<ext>`` with ``corpus/<doc-id>.yaml``; ``<ext>`` is
``.txt``/``.md`` or a format kb/formats extracts (``.html``/``.htm``, ``.pdf``,
``.docx``). Returned dict keys: id, source, title, publisher, date, year, type,
home_city, doc_number, date_note, url, encoding, text, sha, lines_are_paragraphs
(the format marks paragraphs: no hard wraps to rejoin, see kb/formats).

Any problem raises :class:`kb.errors.InputError` naming the file.
"""

import hashlib
import re
from pathlib import Path

import yaml

from .errors import InputError
from .formats import SUFFIXES as TEXT_SUFFIXES, extract
DOC_TYPES = ("policy", "report", "news", "commentary")
REQUIRED = ("title", "publisher", "date", "type")
OPTIONAL = ("home_city", "doc_number", "date_note", "url")
URL_RE = re.compile(r"^https?://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?$", re.I)
DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
DOC_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CJK_RE = re.compile(r"[\u4e00-\u9fff]")


def decode(path, data):
    """Decode bytes as UTF-8 (BOM allowed) or, failing that, GB18030; refuse otherwise.

    Returns (text, encoding name)."""
    if not data.strip():
        raise InputError(path, "文件为空 (empty file)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise InputError(
            path,
            f"无法解码：既不是 UTF-8（字节 {utf8_error.start} 处出错）也不是 GB18030/GBK (undecodable)",
        ) from None
    # GB18030 decodes almost any byte string; accept it only if the result reads as Chinese.
    chinese = len(CJK_RE.findall(text))
    if chinese < max(1, len(text.strip()) // 4):
        raise InputError(path, "无法解码：不是 UTF-8，按 GB18030 解码也不像中文文本 (undecodable)")
    return text, "gb18030"


def _normalise_date(value):
    """YAML reads 2024 as int and 2024-06-07 as date; return the string form."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def read_sidecar(path, known_cities=None):
    """Parse and validate one sidecar; returns the metadata dict."""
    if not path.exists():
        raise InputError(path, "缺少元数据文件 (missing sidecar .yaml)")
    raw = path.read_bytes()
    try:
        meta = yaml.safe_load(raw.decode("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, f"元数据不是有效的 UTF-8 YAML (malformed sidecar): {first}") from None
    if not isinstance(meta, dict):
        raise InputError(path, "元数据应为键值映射 (malformed sidecar: not a mapping)")
    unknown = sorted(set(meta) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise InputError(path, f"未知字段 (unknown field): {', '.join(map(str, unknown))}")
    for key in REQUIRED:
        if meta.get(key) in (None, ""):
            raise InputError(path, f"缺少必填字段 (missing field): {key}")
    out = {key: meta.get(key) for key in REQUIRED + OPTIONAL}
    for key in ("title", "publisher", "doc_number", "date_note", "home_city", "url"):
        if out[key] is not None:
            out[key] = str(out[key]).strip()
    out["date"] = _normalise_date(out["date"])
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
    return out, raw


def _valid_date(match):
    import datetime

    year, month, day = (int(g) if g else None for g in match.groups())
    if month is None:
        return 1000 <= year <= 2999
    if not 1 <= month <= 12:
        return False
    if day is None:
        return True
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def list_documents(corpus_dir):
    """Paths of the corpus's text files, sorted by document id; checks ids are unique."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise InputError(corpus_dir, "语料目录不存在 (corpus directory not found)")
    seen = {}
    for path in sorted(corpus_dir.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix in TEXT_SUFFIXES:
            doc_id = path.stem
            if not DOC_ID_RE.match(doc_id):
                raise InputError(path, "文档编号只能含字母、数字、_ . - (bad document id)")
            if doc_id in seen:
                raise InputError(path, f"文档编号重复 (duplicate id): {doc_id} 已由 {seen[doc_id].name} 使用")
            seen[doc_id] = path
        elif path.suffix == ".yaml":
            if not any(path.with_suffix(s).exists() for s in TEXT_SUFFIXES):
                raise InputError(path, "元数据没有对应的正文文件 (sidecar without a document file)")
    if not seen:
        raise InputError(corpus_dir, f"语料目录中没有文档文件（{' '.join(TEXT_SUFFIXES)}）(no documents)")
    return [seen[k] for k in sorted(seen)]


def read_document(path, known_cities=None, extract_cache=None):
    path = Path(path)
    meta, sidecar_raw = read_sidecar(path.with_suffix(".yaml"), known_cities)
    data = path.read_bytes()
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
    return [read_document(p, known_cities) for p in list_documents(corpus_dir)]
