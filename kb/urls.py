"""The site's URL scheme — the one definition of where a document's and a passage's page is.

A long document is cut into page *parts* so that no HTML file grows past about 1 MB:

* part 1 is ``doc/<doc-id>.html``;
* part n ≥ 2 is ``doc/<doc-id>/<n>.html`` (a sub-folder, because document ids may contain
  ``-`` and ``.``: a suffix such as ``-2`` could be another document's id);
* a passage's permalink is ``<its part's page>#<passage-id>``.

Parts are cut from the document's own passages only (in reading order, by an estimate of
their rendered size), so adding, editing or removing another document never moves a
permalink. Everything that writes a link to a passage — the pipeline's ``url`` fields
(exports, search index) and the rendered pages — calls ``assign_urls`` / ``passage_url``.
"""

from urllib.parse import quote

PART_BUDGET = 600_000       # estimated HTML bytes of passages per part (files stay < 1 MB)
PASSAGE_OVERHEAD = 1_500    # markup around one passage: anchor, chips, years, cite button


def segment(value):
    """URL-quote one path segment or query value (ids and slugs are usually already safe)."""
    return quote(str(value), safe="_.-~")


def doc_page(doc_id, part=1):
    """Site-relative path of part ``part`` (from 1) of a document's page."""
    if part <= 1:
        return f"doc/{segment(doc_id)}.html"
    return f"doc/{segment(doc_id)}/{int(part)}.html"


def passage_url(doc_id, passage_id, part=1):
    """Site-relative permalink of a passage on part ``part`` of its document's page."""
    return f"{doc_page(doc_id, part)}#{segment(passage_id)}"


def part_numbers(texts):
    """Part number (from 1) of each passage text, given in reading order."""
    parts, part, used = [], 1, 0
    for text in texts:
        cost = len(str(text or "").encode("utf-8")) + PASSAGE_OVERHEAD
        if used and used + cost > PART_BUDGET:
            part, used = part + 1, 0
        used += cost
        parts.append(part)
    return parts


def assign_urls(passages):
    """Set ``url`` on one document's passages (any order); returns {passage id: part}."""
    ordered = sorted(passages, key=lambda p: p["position"])
    parts = dict(zip((p["id"] for p in ordered), part_numbers(p.get("text") for p in ordered)))
    for p in passages:
        p["url"] = passage_url(p["doc"], p["id"], parts[p["id"]])
    return parts
