"""Draft a sidecar for a new document, and add it to the corpus (``build.py add``).

``draft_sidecar(extracted, vocab, url=None) -> {field: Field(value, basis)}`` reads the
text and the metadata candidates of kb.formats and proposes, each with how it was
found (the basis is shown to the user):

* **title** — the page's ``ArticleTitle``/``<h1>``/``<title>``, the file's title
  property, the title of an official notice (``…关于…的通知``, wrapped lines joined),
  or the first headline-like line of the text;
* **publisher** — the 落款 (an issuing body's name followed by a date line), the
  ``来源`` of an information line or ``ContentSource``, or a newspaper's masthead;
* **date** — the 落款 date (digits or Chinese numerals: 二〇二四年三月一日, read by
  cn2an), the ``发布时间``/``PubDate``, the ``…印发`` line, the edition date line of a
  newspaper, then the file's own dates;
* **doc_number** — 深金管规〔2024〕3号 and the like (〔〕, [] or () around the year;
  written with 〔〕 as the national standard for official documents prescribes);
* **type** — policy / report / news / commentary by the cues of kb/data/draft.yaml;
* **home_city** — the city in the publisher's name, else in the title, else the one
  city a news text names most when it speaks of 我市/本市 (optional).

``add_document`` copies the file into the corpus as ``<id><suffix>`` and writes
``<id>.yaml``; it refuses, naming the field, what it cannot infer and the caller did
not give, and leaves nothing behind when it refuses.
"""

import functools
import hashlib
import re
import shutil
from pathlib import Path
from typing import NamedTuple

import yaml

from .analysis import normalize
from .errors import InputError

DATA_FILE = Path(__file__).parent / "data" / "draft.yaml"
FIELDS = ("title", "publisher", "date", "type", "home_city", "doc_number", "url", "date_note")
REQUIRED = ("title", "publisher", "date", "type")
HEAD_LINES = 30          # a title, doc number or masthead is found among the first lines
TAIL_LINES = 40          # … a 落款 among the last ones (or right after the notice)
TITLE_LINES = 4          # a notice title may be wrapped over this many lines
TITLE_MIN, TITLE_MAX = 6, 80
TYPE_TEXT_CHARS = 600

_RESIDUE_RE = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\)")
_DATE_DIGITS_RE = re.compile(r"((?:19|20)\d{2})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*日?")
_DATE_CN_RE = re.compile(r"[一二三四五六七八九〇○零]{4}\s*年\s*[一二三四五六七八九十]{1,3}\s*月"
                         r"\s*[一二三四五六七八九十]{1,3}\s*日")
_DATE_LINE_RE = re.compile(r"^\s*(?:(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|"
                           r"[一二三四五六七八九〇○零]{4}\s*年\s*[一二三四五六七八九十]{1,3}\s*月"
                           r"\s*[一二三四五六七八九十]{1,3}\s*日)\s*$")
_PRINTED_RE = re.compile(r"(\S.*?)\s*((?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*印\s*发\s*$")
_WEEKDAY_RE = re.compile(r"星期[一二三四五六日天]")
_DOC_NUMBER_RE = re.compile(r"([\u4e00-\u9fff]{1,12})\s*[〔\[［(（]\s*((?:19|20)\d{2})\s*[〕\]］)）]\s*(\d{1,4})\s*号")
_NOTICE_END_RE = re.compile(r"的(?:通知|意见|决定|批复|通报|函|公告|通告)$")
_NO_TITLE_PUNCT = re.compile(r"[。；;！!？?]|[，,]$|[：:]$")
_SPACES_RE = re.compile(r"[\s\u3000]+")
_INFO_DATE_RE = re.compile(r"^((?:19|20)\d{2}-\d{1,2}-\d{1,2})(?:\s+\d{1,2}:\d{2})?\s+\S+:")
_TITLE_PARTS_RE = re.compile(r"\s*[_|｜]\s*|\s+[-—]\s+|(?<=数字报)-|(?<=电子版)-")


class Field(NamedTuple):
    value: object
    basis: str


@functools.lru_cache(maxsize=1)
def rules():
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    return {
        "type_rules": [dict(r, pattern=re.compile(r["pattern"])) for r in data["type_rules"]],
        "publisher_suffix": re.compile(data["publisher_suffix"]),
        "newspaper": re.compile(data["newspaper"]),
        "not_title": [re.compile(p) for p in data["not_title"]],
    }


def clean_value(text):
    """A value as printed, without transcoding residue and with spaces tidied."""
    return _SPACES_RE.sub(" ", _RESIDUE_RE.sub("", text or "")).strip()


# ----------------------------------------------------------------- dates


def parse_date(text):
    """``YYYY-MM-DD`` from a printed date (digits or Chinese numerals), else None."""
    import cn2an

    text = text or ""
    m = _DATE_CN_RE.search(text)
    if m:
        text = cn2an.transform(re.sub("[○零]", "〇", m.group(0)).replace(" ", ""), "cn2an")
    m = _DATE_DIGITS_RE.search(text)
    if not m:
        return None
    year, month, day = (int(g) for g in m.groups())
    import datetime

    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return None


# ----------------------------------------------------------------- pieces of the text


def _lines(text):
    return [clean_value(line) for line in text.split("\n") if line.strip()]


def find_signature(lines):
    """The 落款: an issuing body's name (one or two lines) directly above a date line.

    Returns (publisher, date_text, line number) of the first one, or None."""
    suffix = rules()["publisher_suffix"]
    for i, line in enumerate(lines):
        if i == 0 or not _DATE_LINE_RE.match(line):
            continue
        names = []
        for j in (i - 1, i - 2):
            if j < 0:
                break
            parts = [p for p in re.split(r"[\s\u3000]+", lines[j]) if p]
            if parts and all(suffix.search(normalize(p)) and len(p) <= 30 for p in parts):
                names[:0] = parts
            else:
                break
        if names:
            return "、".join(names), line, i + 1
    return None


def find_notice_title(lines):
    """``<机关>关于…的通知`` among the first lines, wrapped lines joined."""
    for i, line in enumerate(lines[:HEAD_LINES]):
        pos = line.find("关于")
        if pos < 0 or pos > 30 or re.match(r"^(根据|按照|依据|为|经|现将)", line):
            continue
        joined = ""
        for nxt in lines[i:i + TITLE_LINES]:
            joined += nxt
            if _NOTICE_END_RE.search(normalize(joined)):
                if not re.search(r"[。；，,：:]", normalize(joined)) and len(joined) <= 2 * TITLE_MAX:
                    return joined, i + 1
                break
    return None


def is_title_like(line):
    norm = normalize(line)
    return (TITLE_MIN <= len(line) <= TITLE_MAX and not _NO_TITLE_PUNCT.search(norm)
            and not any(p.search(norm) for p in rules()["not_title"]))


def find_doc_number(lines):
    for i, line in enumerate(lines[:HEAD_LINES]):
        m = _DOC_NUMBER_RE.search(line)
        if m and len(line) <= 40:
            return f"{m.group(1)}〔{m.group(2)}〕{m.group(3)}号", i + 1
    return None


def _newspaper(value):
    m = rules()["newspaper"].match(normalize(value or ""))
    return value[:len(m.group(1))] if m else None


# ----------------------------------------------------------------- the draft


def _first(cands, field, bases=None):
    for c in cands:
        if c["field"] == field and (bases is None or any(c["basis"].startswith(b) for b in bases)):
            return c
    return None


def draft_sidecar(extracted, vocab, url=None):
    """Proposed sidecar fields, each a Field(value, basis); missing fields are absent."""
    lines = _lines(extracted.text)
    cands = list(extracted.meta) + _text_candidates(lines)
    out = {}
    title = _draft_title(lines, cands)
    if title:
        out["title"] = title
    out.update(_draft_publisher_and_date(lines, cands))
    number = _draft_doc_number(lines, cands)
    if number:
        out["doc_number"] = number
    doc_type = _draft_type(out, extracted.text, cands)
    if doc_type:
        out["type"] = doc_type
    home = _home_city(out, extracted.text, vocab)
    if home:
        out["home_city"] = home
    page_url = _first(cands, "url")
    if url or page_url:
        out["url"] = Field(url, "命令行 --url") if url else Field(page_url["value"], page_url["basis"])
    return out


def _text_candidates(lines):
    """Information lines at the head of the text itself (a saved page as .txt, a repost)."""
    from .formats import rules as format_rules
    from .formats.html import info_line_candidates

    norm_head = [normalize(line) for line in lines[:HEAD_LINES]]
    info, _ = info_line_candidates(norm_head, format_rules()["html"]["info_labels"])
    cands = [{"field": f, "value": v, "basis": f"正文信息行“{label}：”"} for f, v, label in info]
    for i, line in enumerate(norm_head):  # "2023-08-16 09:12 来源:…": a leading date in an info line
        m = _INFO_DATE_RE.match(line)
        if m:
            cands.append({"field": "date", "value": m.group(1), "basis": f"正文第 {i + 1} 行的发布时间"})
    return cands


def _draft_title(lines, cands):
    notice = find_notice_title(lines)
    page_title = _first(cands, "title", ["<title>"])
    # an <h1> is the article's title when the page's <title> repeats it (not a logo or site name)
    h1 = next((c for c in cands if c["field"] == "title" and c["basis"] == "<h1>"
               and is_title_like(clean_value(c["value"])) and not _newspaper(clean_value(c["value"]))
               and (page_title is None or clean_value(c["value"]) in clean_value(page_title["value"]))), None)
    ranked = ([_first(cands, "title", ['<meta name="ArticleTitle">']), h1]
              + ([{"value": notice[0], "basis": f"公文标题（正文第 {notice[1]} 行）"}] if notice else [])
              + [_first(cands, "title", ["Word 文档属性", "PDF 文档属性"])])
    if page_title:  # "<article>_<column>_<site>", "<paper>数字报-<article>": the longest part
        parts = [p for p in _TITLE_PARTS_RE.split(clean_value(page_title["value"])) if p and not _newspaper(p)]
        if parts:
            ranked.append({"value": max(parts, key=len), "basis": "网页 <title>"})
    for i, line in enumerate(lines[:HEAD_LINES]):
        if is_title_like(line):
            ranked.append({"value": line, "basis": f"正文第 {i + 1} 行（首个标题样式的行）"})
            break
    chosen = next((c for c in ranked if c and clean_value(c["value"])), None)
    return Field(clean_value(chosen["value"]), chosen["basis"]) if chosen else None


def _draft_publisher_and_date(lines, cands):
    """The 落款 gives both; else the publisher from a 来源 or a masthead, the date from
    the first of: 发布时间/PubDate, the 印发 line, the edition date line, the file's dates."""
    out = {}
    signature = find_signature(lines)
    if signature:
        out["publisher"] = Field(signature[0], f"落款（正文第 {signature[2] - 1} 行）")
        date = parse_date(signature[1])
        if date:
            out["date"] = Field(date, f"落款日期“{signature[1]}”（正文第 {signature[2]} 行）")
    if "publisher" not in out:
        body = next((c for c in cands if c["field"] == "publisher"
                     and rules()["publisher_suffix"].search(normalize(clean_value(c["value"])))), None)
        if body:
            out["publisher"] = Field(clean_value(body["value"]), body["basis"])
    if "publisher" not in out:
        sources = [(c["value"], c["basis"]) for c in cands
                   if c["field"] in ("site", "description", "title", "publisher")]
        sources += [(line, f"正文第 {i + 1} 行（报头）") for i, line in enumerate(lines[:HEAD_LINES])]
        paper = next(((p, basis) for value, basis in sources if (p := _newspaper(clean_value(value)))), None)
        if paper:
            out["publisher"] = Field(paper[0], f"报纸名称，见{paper[1]}")
    if "date" not in out:
        published = ('<meta name="PubDate">', "网页信息行", "正文信息行", "正文第")
        dated = [c for c in cands if c["field"] == "date" and c["basis"].startswith(published)]
        dated += [{"value": m.group(2), "basis": f"印发日期（正文第 {i + 1} 行）"}
                  for i, line in enumerate(lines) if (m := _PRINTED_RE.search(line))][:1]
        dated += [{"value": line, "basis": f"版面日期行（正文第 {i + 1} 行）"}
                  for i, line in enumerate(lines[:HEAD_LINES]) if _WEEKDAY_RE.search(line) and parse_date(line)]
        dated += [c for c in cands if c["field"] == "date" and c not in dated]  # the file's own dates
        for c in dated:
            value = parse_date(c["value"])
            if value:
                out["date"] = Field(value, f"{c['basis']}：{clean_value(c['value'])}")
                break
    return out


def _draft_doc_number(lines, cands):
    number = find_doc_number(lines)
    if number:
        return Field(number[0], f"发文字号（正文第 {number[1]} 行）")
    c = _first(cands, "doc_number")
    m = _DOC_NUMBER_RE.search(c["value"]) if c else None
    return Field(f"{m.group(1)}〔{m.group(2)}〕{m.group(3)}号", c["basis"]) if m else None


def _draft_type(out, text, cands):
    if "doc_number" in out:
        return Field("policy", "有发文字号")
    where = {"title": normalize(out["title"].value) if "title" in out else "",
             "text": normalize(text[:TYPE_TEXT_CHARS]),
             "meta": " ".join(normalize(c["value"]) for c in cands if c["field"] == "author")}
    for rule in rules()["type_rules"]:
        m = rule["pattern"].search(where[rule["where"]])
        if m:
            return Field(rule["type"], f"{rule['why']}（“{m.group(0).strip()}”）")
    return None


def cities_named(text, vocab):
    """Cities named in ``text`` (in order, with repeats), by the tag stage's place matcher."""
    names = []
    for _s, _e, _surface, payload in vocab.places.scan(normalize(text)):
        kind, value, _basis = payload
        if kind == "city":
            names.append(value)
    return names


def _home_city(out, text, vocab):
    for field in ("publisher", "title"):
        if field in out:
            named = cities_named(out[field].value, vocab)
            if named:
                return Field(named[0], f"{'发布机构' if field == 'publisher' else '标题'}中的城市")
    norm = normalize(text)
    if any(ref in norm for ref in ("我市", "本市", "全市")):
        counts = {}
        for name in cities_named(text, vocab):
            counts[name] = counts.get(name, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        if ranked and (len(ranked) == 1 or ranked[0][1] >= 2 * ranked[1][1]):
            return Field(ranked[0][0], f"正文以“我市/本市/全市”自称，最常提到的城市（{ranked[0][1]} 次）")
    return None


# ----------------------------------------------------------------- adding to the corpus


def document_id(path, data, corpus_dir, doc_id=None):
    """``--id``, else the file name when it is a valid id, else ``<NNN>_<16 hex of SHA-256>``."""
    from .read import DOC_ID_RE

    if doc_id:
        if not DOC_ID_RE.match(doc_id):
            raise InputError(doc_id, "文档编号只能含字母、数字、_ . -，且以字母或数字开头 (bad document id)")
        return doc_id
    if DOC_ID_RE.match(path.stem):
        return path.stem
    numbers = [int(m.group(1)) for p in Path(corpus_dir).glob("*.yaml")
               if (m := re.match(r"^(\d{3,})_", p.name))]
    return f"{max(numbers, default=-1) + 1:03d}_{hashlib.sha256(data).hexdigest()[:16]}"


def sidecar_yaml(fields):
    """The sidecar text: fields in the usual order, each with its basis as a comment."""
    out = []
    for key in FIELDS:
        if key in fields and fields[key].value not in (None, ""):
            value = yaml.safe_dump({key: fields[key].value}, allow_unicode=True, width=1000).strip()
            out.append(f"{value}    # {fields[key].basis}")
    return "\n".join(out) + "\n"


def prepare(path, corpus_dir, vocab, url=None, doc_id=None, overrides=None):
    """Extract and draft; returns (doc id, fields, missing required field names)."""
    from . import formats

    path, corpus_dir = Path(path), Path(corpus_dir)
    if not path.is_file():
        raise InputError(path, "文件不存在或不是普通文件 (file not found)")
    if not corpus_dir.is_dir():
        raise InputError(corpus_dir, "语料目录不存在 (corpus directory not found)")
    data = path.read_bytes()
    extracted = formats.extract(path, data)
    fields = draft_sidecar(extracted, vocab, url=url)
    for key, value in (overrides or {}).items():
        if value not in (None, ""):
            fields[key] = Field(value, "命令行参数")
    missing = [k for k in REQUIRED if k not in fields]
    return document_id(path, data, corpus_dir, doc_id), fields, missing


def write(path, corpus_dir, doc_id, fields, known_cities):
    """Copy the file and write its sidecar; validated first, nothing left on failure.
    A file already in the corpus under its id (saved there by hand) only gets its sidecar."""
    from .read import TEXT_SUFFIXES, read_sidecar

    path, corpus_dir = Path(path), Path(corpus_dir)
    suffix = path.suffix.lower()
    target, sidecar = corpus_dir / f"{doc_id}{suffix}", corpus_dir / f"{doc_id}.yaml"
    in_place = target.exists() and target.resolve() == path.resolve()
    taken = [p for p in [sidecar] + [corpus_dir / f"{doc_id}{s}" for s in TEXT_SUFFIXES]
             if p.exists() and not (in_place and p == target)]
    if taken:
        raise InputError(taken[0], f"文档编号已被使用 (duplicate id): {doc_id}；请用 --id 指定另一个编号")
    tmp_sidecar = corpus_dir / f".{doc_id}.yaml.adding"
    tmp_doc = corpus_dir / f".{doc_id}{suffix}.adding"
    try:
        tmp_sidecar.write_text(sidecar_yaml(fields), encoding="utf-8")
        read_sidecar(tmp_sidecar, known_cities)  # the build's own validation
        if not in_place:
            shutil.copyfile(path, tmp_doc)
            tmp_doc.replace(target)
        tmp_sidecar.replace(sidecar)
    except InputError as exc:
        raise InputError(path, exc.problem) from None
    finally:
        for tmp in (tmp_sidecar, tmp_doc):
            tmp.unlink(missing_ok=True)
    return target, sidecar
