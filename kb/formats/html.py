"""Saved web pages (``.html``, ``.htm``): the article body, via trafilatura.

trafilatura finds the main content of the page and leaves out navigation bars,
date widgets, share/print buttons, 上一篇/下一篇 links and copyright footers. Its
text keeps headings and paragraphs as lines; tables are kept, one row per line.

Metadata candidates, each with where it was found:

* ``<meta>`` tags that Chinese government sites carry (``ArticleTitle``, ``PubDate``,
  ``ContentSource``, ``Author``, ``SiteName``) and trafilatura's own reading of the
  page (``<title>``, Open Graph, JSON-LD, visible date);
* the visible information line under the headline (``发布时间：… 来源：… 作者：…``):
  its labels are data (``info_labels`` in kb/data/formats.yaml). Such a line is
  page furniture; it is removed from the text when trafilatura kept it.
"""

import codecs
import re

from ..errors import InputError
from . import Extracted, candidate, rules, table_line

_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)


def decode(path, data):
    """Decode page bytes: UTF-8 when they are valid UTF-8 (GBK-encoded Chinese almost
    never is, and pages are often mislabelled), else the charset the page declares, else
    GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8"
    declared = _CHARSET_RE.search(data[:4096])
    names = ["utf-8"]
    if declared:
        try:
            name = codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            name = None
        if name in ("gb2312", "gbk", "gb18030"):
            name = "gb18030"  # a superset: pages declared gb2312 often use GBK characters
        if name and name not in names:
            names.append(name)
    names += [n for n in ("gb18030",) if n not in names]
    for name in names:
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            continue
    raise InputError(path, "网页无法解码：既不是声明的编码，也不是 UTF-8 或 GB18030 (undecodable)")


_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "header",
               "footer", "nav", "section", "article", "main", "aside", "ul", "ol", "table", "dd", "dt",
               "form", "center", "blockquote", "pre", "hr"}
INFO_LINE_MAX = 120  # characters: an information line is short
INFO_SINGLE_MAX = 40  # … and one with a single label starts with it and is shorter still


def _page_lines(tree):
    """Visible text lines of the whole page: every block element ends a line."""
    from lxml import etree

    for bad in tree.xpath("//script|//style|//noscript|//template"):
        if bad.getparent() is not None:
            bad.drop_tree()
    for el in tree.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK_TAGS:
            el.tail = "\n" + (el.tail or "")
    text = etree.tostring(tree, method="text", encoding="unicode")
    return [" ".join(ln.split()) for ln in text.split("\n") if ln.strip()]


def info_line_candidates(lines, labels):
    """Candidates from 发布时间/来源/作者 … lines: ``[(field, value, label)]`` and the set
    of those lines.

    An information line is short and carries two or more known labels followed by a
    colon ("发布时间：… 来源：…"), or starts with one ("来源：西安日报"); a sentence of the
    text that merely contains "来源：" is not one. Each label's value runs to the next
    label (or a bracket, a wide space, the line end)."""
    if not labels:
        return [], set()
    label_re = "|".join(sorted((re.escape(lab) for lab in labels), key=len, reverse=True))
    pattern = re.compile(rf"({label_re})\s*[:：]\s*")
    found, info_lines = [], set()
    for line in lines:
        if len(line) > INFO_LINE_MAX:
            continue
        marks = list(pattern.finditer(line))
        if not (len(marks) >= 2 or (marks and marks[0].start() == 0 and len(line) <= INFO_SINGLE_MAX)):
            continue
        info_lines.add(line)
        for i, m in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(line)
            value = re.split(r"[【\[|｜]|\s{2,}|　", line[m.end():end].strip())[0].strip()
            if value:
                found.append((labels[m.group(1)], value, m.group(1)))
    return found, info_lines


_BLOCKS = ".//p|.//div|.//h1|.//h2|.//h3|.//h4|.//ul|.//ol|.//table|.//br"


MIN_ARTICLE_CHARS = 20  # less than this is a link, a title or a widget, not an article
LINK_DENSITY = 0.3  # share of a table's text inside links above which it is navigation


def _navigation(table):
    text = "".join(table.itertext()).split()
    total = sum(len(t) for t in text)
    linked = sum(len("".join(a.itertext()).replace(" ", "")) for a in table.iter("a"))
    return bool(table.xpath(".//img")) or (total and linked / total >= LINK_DENSITY)


def unwrap_layout_tables(tree):
    """Turn layout tables into plain blocks, keeping data tables.

    Older sites (and most newspapers' digital editions) lay the page out with tables;
    read as a data table, the whole page would be one row. A table is a layout table
    when a cell holds blocks (paragraphs, divisions, headings, lists, line breaks or
    another table), or when it is mostly links or images (a masthead or a navigation
    bar). Its rows and cells become divisions, which trafilatura then keeps or drops
    as it does any other block."""
    layout = [t for t in tree.iter("table") if t.xpath(_BLOCKS) or _navigation(t)]
    for table in layout:
        for el in table.iter("tr", "td", "th", "tbody", "thead", "tfoot"):
            if next(el.iterancestors("table"), None) is table:
                el.tag = "div"
    for table in layout:
        table.tag = "div"
    return len(layout)


_ROW_RE = re.compile(r"^\s*\|.*\|\s*$")
_RULE_RE = re.compile(r"^[\s|:-]+$")


def _tables_as_lines(lines):
    """trafilatura writes table rows as "| a | b |" lines: each table becomes one line."""
    out, rows = [], []
    for line in lines + [""]:
        if _ROW_RE.match(line):
            if not _RULE_RE.match(line):
                rows.append(re.split(r"(?<!\\)\|", line.strip().strip("|")))
            continue
        if rows:
            out.append(table_line([[c.replace("\\|", "|") for c in r] for r in rows]))
            rows = []
        out.append(line)
    return out[:-1]


def extract(path, data):
    import trafilatura
    from lxml import html as lxml_html

    text, encoding = decode(path, data)
    r = rules()["html"]
    try:
        tree = lxml_html.document_fromstring(text.encode("utf-8"),
                                             parser=lxml_html.HTMLParser(encoding="utf-8"))
    except Exception:  # lxml's errors on broken markup vary by version
        raise InputError(path, "不是可解析的网页 (unparsable HTML)") from None
    meta = []
    for name, field in r["meta_tags"].items():
        for value in tree.xpath(f"//meta[translate(@name,'ABCDEFGHIJKLMNOPQRSTUVWXYZ',"
                                f"'abcdefghijklmnopqrstuvwxyz')='{name.lower()}']/@content"):
            if value.strip():
                meta.append(candidate(field, value.strip(), f'<meta name="{name}">'))
    titles = tree.xpath("//title/text()")
    if titles and titles[0].strip():
        meta.append(candidate("title", titles[0].strip(), "<title>"))
    for h1 in tree.xpath("//h1"):
        value = " ".join(h1.text_content().split())
        if value:
            meta.append(candidate("title", value, "<h1>"))
    unwrap_layout_tables(tree)
    body = trafilatura.extract(tree, output_format="txt", include_comments=False,
                               include_tables=True, include_images=False, include_links=False,
                               deduplicate=False, with_metadata=False)
    page_lines = _page_lines(tree)
    info, info_lines = info_line_candidates(page_lines, r["info_labels"])
    for field, value, label in info:
        meta.append(candidate(field, value, f"网页信息行“{label}：”"))
    date_line, widget = re.compile(r["date_line"]), re.compile(r["date_widget"])
    for line in page_lines:
        if date_line.search(line) and not widget.search(line):
            meta.append(candidate("date", line, "网页中的日期行"))
            break
    for href in tree.xpath("//link[@rel='canonical']/@href|//meta[@property='og:url']/@content"):
        if href.strip().startswith(("http://", "https://")):
            meta.append(candidate("url", href.strip(), "网页的规范地址（canonical / og:url）"))
            break
    page_meta = trafilatura.extract_metadata(text)
    if page_meta is not None:
        for field, attr in (("date", "date"), ("publisher", "sitename"), ("author", "author")):
            value = getattr(page_meta, attr, None)
            if value:
                meta.append(candidate(field, str(value).strip(), f"trafilatura 元数据（{attr}）"))
    if not body or len("".join(body.split())) < MIN_ARTICLE_CHARS:
        raise InputError(path, f"网页中没有找到正文（提取到的文字不足 {MIN_ARTICLE_CHARS} 字，"
                               "可能是首页、目录页或需要脚本加载的页面）(no article text in the page)")
    _, body_info = info_line_candidates([ln.strip() for ln in body.split("\n")], r["info_labels"])
    lines = _tables_as_lines([ln for ln in body.split("\n") if ln.strip() not in info_lines | body_info])
    return Extracted("\n".join(lines).strip() + "\n", meta, encoding, lines_are_paragraphs=True)
