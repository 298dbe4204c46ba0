"""GB/T 7714-2015 reference strings for corpus documents (顺序编码制 style).

Document types map to the standard's 文献类型标识 (GB/T 7714-2015, 附录 B):

=============  ====  ===========================================================
document type  code  why
=============  ====  ===========================================================
policy         A     档案 — official documents (公文) with a 文号; the standard's
                     own example: ``北京市人民政府办公厅. 关于转发…的通知:
                     京政办发[2005]37号[A/OL]. (2005-07-12)[2011-07-12]. URL.``
report         R     报告 — research / investigation reports
news           N     报纸 — newspaper articles; the paper's name follows the
                     title: ``题名[N]. 报纸名, 2000-11-20(15).``
commentary     Z     其他 — columns and commentaries of unknown periodical
=============  ====  ===========================================================

A document read online (``url`` in its metadata) gets the carrier code ``/OL``
(``[A/OL]``, ``[R/OL]``…) with ``(publication date)[citation date]. URL``; a
document with no stated author cites its title first, which the standard allows
in 顺序编码制 instead of writing 佚名 (GB/T 7714-2015 8.1.4).
"""

import re


TYPE_CODES = {"policy": "A", "report": "R", "news": "N", "commentary": "Z"}

# Publisher fields that say the responsible party is unknown ("未署名（区域观察专栏）",
# "报纸专版（报名未印出）") are not authors.
_UNKNOWN_RE = re.compile(r"未署名|佚名|不详|未知|未印出|未注明|匿名|unknown", re.IGNORECASE)
_TRAILING_PUNCT = ".。 \t"


def is_unknown(name):
    """True when ``name`` is empty or only says the author/paper is unknown."""
    return not name or not str(name).strip() or bool(_UNKNOWN_RE.search(str(name)))


def _clean(value):
    return " ".join(str(value).split()).rstrip(_TRAILING_PUNCT) if value else ""


def citation(doc):
    """The GB/T 7714-2015 reference for ``doc`` (a document dict), e.g.

    ``洛阳市委政策研究室. 关于发展科技金融的调研报告[R]. 2024.``
    ``武汉市人民政府办公厅. 武汉市推动…行动方案(2025—2027年): 武政办〔2025〕67号[A]. 2025-06-07.``
    """
    dtype = doc.get("type")
    code = TYPE_CODES.get(dtype, "Z")
    title = _clean(doc.get("title")) or "无题名"
    publisher = _clean(doc.get("publisher"))
    known_publisher = not is_unknown(publisher)
    date = str(doc.get("date") or doc.get("year") or "").strip()
    year = date[:4]
    url = (doc.get("url") or "").strip()
    accessed = str(doc.get("accessed") or "").strip()
    if url:
        code += "/OL"

    parts = []
    if dtype == "news":
        # The newspaper is the 出处, not the author: 题名[N]. 报纸名, 出版日期.
        parts.append(f"{title}[{code}]")
        source = f"{publisher}, {date}" if known_publisher else date
    else:
        if known_publisher:
            parts.append(publisher)
        main = title
        number = _clean(doc.get("doc_number"))
        if dtype == "policy" and number:
            main = f"{title}: {number}"
        parts.append(f"{main}[{code}]")
        # 档案 and online documents carry the full date; reports and others the year.
        source = date if dtype == "policy" else year

    if url:
        cited = f"[{accessed}]" if accessed else ""
        if dtype == "news":
            # 报纸名, 出版日期[引用日期]. URL.
            if source or cited:
                parts.append(source + cited)
        else:
            # (更新或修改日期)[引用日期]. URL.
            stamp = (f"({date})" if date else "") + cited
            if stamp:
                parts.append(stamp)
        parts.append(url)
    elif source:
        parts.append(source)
    return ". ".join(p for p in parts if p) + "."


# Slots filled in the browser when the reader copies a citation (kb/render, cite.js): the
# absolute address of the page as the reader sees it, and the day of copying (引用日期) —
# neither is known when the site is built.
URL_SLOT = "{url}"
DATE_SLOT = "{accessed}"


def online_citation(doc, part=None):
    """Citation template of ``doc`` read on this site (or at its original ``url``), with
    ``DATE_SLOT`` for the 引用日期 and, when the document has no ``url`` of its own,
    ``URL_SLOT`` for the address of the page that is cited.

    ``part`` (e.g. the section trail of one passage) is added to the title as 其他题名信息
    (``题名: 小节``), so the reference points to the passage, e.g.
    ``广州市科技局. 科技金融调研报告: 二、做法 › （一）信贷[R/OL]. (2024)[{accessed}]. {url}.``"""
    d = dict(doc)
    title = _clean(d.get("title")) or "无题名"
    if part:
        title = f"{title}: {_clean(part)}"
    d["title"] = title
    if part or not (d.get("url") or "").strip():
        d["url"] = URL_SLOT
    d["accessed"] = DATE_SLOT
    return citation(d)


def fill(template, url, accessed):
    """A citation template with its slots filled (what cite.js does in the browser)."""
    return template.replace(URL_SLOT, url).replace(DATE_SLOT, accessed)
