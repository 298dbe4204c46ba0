"""Stage — export: passages, documents, taxonomy and figures -> ``output/data/``.

Files (see the data dictionary in README.md):
``passages.jsonl``, ``passages.csv`` (UTF-8 with BOM for Excel), ``documents.json``,
``taxonomy.json``, ``figures.json``, ``figures.csv`` and ``figures-coverage.md``.
Output is deterministic: fixed key order, no timestamps.
"""

import csv
import io
import json

from . import urls
from .fsutil import write_text

PASSAGE_FIELDS = ("id", "doc", "position", "section", "text", "cities", "city_basis", "mentions",
                  "province", "instruments", "cues", "year", "years", "url")
DOCUMENT_FIELDS = ("id", "source", "title", "publisher", "date", "year", "type", "home_city",
                   "doc_number", "date_note", "source_url", "encoding", "sha", "passages", "url")
FIGURE_FIELDS = ("city", "province", "metric", "label", "value", "value_max", "from_value", "unit",
                 "printed", "norm_value", "norm_unit", "as_of", "doc_year", "kind", "cumulative",
                 "qualifier", "scope", "instrument", "passage", "doc", "quote", "url")
LIST_SEP = ";"


def passage_record(p):
    return {k: p.get(k) for k in PASSAGE_FIELDS}


def document_record(doc, n_passages):
    rec = {k: doc.get(k) for k in DOCUMENT_FIELDS}
    rec["source_url"] = doc.get("url")  # the sidecar's url: where the source was published
    rec["passages"] = n_passages
    rec["url"] = urls.doc_page(doc["id"])
    return rec


def taxonomy_record(vocab):
    return {
        "cities": [{"name": c["name"], "slug": c["slug"], "province": c.get("province"),
                    "aliases": list(c.get("aliases", []))} for c in vocab.cities],
        "provinces": [{"name": p["name"], "aliases": list(p.get("aliases", []))}
                      for p in getattr(vocab, "provinces", [])],
        "instruments": [{k: i.get(k) for k in ("slug", "label", "definition", "stip", "policy_tool")}
                        | {"cues": list(i.get("cues", []))} for i in vocab.instruments],
        "metrics": [{k: m.get(k) for k in ("slug", "label", "unit", "instrument")}
                    for m in getattr(vocab, "metrics", [])],
    }


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return LIST_SEP.join(str(v) for v in value)
    if isinstance(value, dict):
        return LIST_SEP.join(f"{k}:{'/'.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
                             for k, v in value.items())
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def csv_text(rows, fieldnames):
    """CSV as Excel expects it (CRLF); the caller writes it with a BOM."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(fieldnames)
    for row in rows:
        writer.writerow([_cell(row.get(f)) for f in fieldnames])
    return buf.getvalue()


def _json(obj):
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def _jsonl(rows):
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)


def write_exports(data_dir, documents, passages, figures, vocab, coverage_report=""):
    """Write every export file; returns the list of paths written."""
    counts = {}
    for p in passages:
        counts[p["doc"]] = counts.get(p["doc"], 0) + 1
    passage_rows = [passage_record(p) for p in passages]
    section_joined = [dict(r, section=" › ".join(r["section"])) for r in passage_rows]
    files = {
        "passages.jsonl": _jsonl(passage_rows),
        "passages.csv": "\ufeff" + csv_text(section_joined, PASSAGE_FIELDS),
        "documents.json": _json([document_record(d, counts.get(d["id"], 0)) for d in documents]),
        "taxonomy.json": _json(taxonomy_record(vocab)),
        "figures.json": _json([{k: f.get(k) for k in FIGURE_FIELDS} for f in figures]),
        "figures.csv": "\ufeff" + csv_text(figures, FIGURE_FIELDS),
        "figures-coverage.md": coverage_report,
    }
    written = []
    for name, text in files.items():
        written.append(write_text(data_dir / name, text))
    return written

