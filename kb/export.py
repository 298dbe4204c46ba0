"""Stage — export: passages, documents, taxonomy and figures -> ``output/data/``.

Files (see the data dictionary in README.md):
``passages.jsonl``, ``passages.csv`` (UTF-8 with BOM for Excel), ``documents.json``,
``taxonomy.json``, ``figures.json``, ``figures.csv`` and ``figures-coverage.md``.
Output is deterministic: fixed key order, no timestamps.
"""

import csv
import io
import json
from pathlib import Path

from . import reuse, urls
from .fsutil import write_chunks, write_text

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
    kind = type(value)
    if kind is str:
        return value
    if kind is int or kind is float:
        return str(value)
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


def _passages_jsonl(rows):
    return _jsonl(passage_record(p) for p in rows)


def _passages_csv(rows):
    return _csv_rows((dict(r, section=" › ".join(r["section"])) for r in map(passage_record, rows)),
                     PASSAGE_FIELDS)


def _figures_json(rows):
    # = the items of json.dumps(list, indent=2): each item one level deeper (strings hold no
    # raw newline), so a document's items can be kept and joined with others' unchanged
    return ",\n".join(map(_figure_item, rows))


_SCALARS = (str, int, float, bool, type(None))


def _figure_item(f):
    """One figure as an item of json.dumps(list, indent=2). A record of scalars (all of
    them, in practice) is written by json's C encoder with the item's line breaks as
    separators — the same text as the indenting encoder, which is pure Python."""
    rec = {k: f.get(k) for k in FIGURE_FIELDS}
    if all(type(v) in _SCALARS for v in rec.values()):
        return "  {\n    " + json.dumps(rec, ensure_ascii=False, separators=(",\n    ", ": "))[1:-1] + "\n  }"
    return "  " + json.dumps(rec, ensure_ascii=False, indent=2).replace("\n", "\n  ")


def _figures_csv(rows):
    return _csv_rows(rows, FIGURE_FIELDS)


def _csv_rows(rows, fieldnames):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(row.get(f)) for f in fieldnames])
    return buf.getvalue()


def _csv_head(fieldnames):
    return "\ufeff" + csv_text([], fieldnames)


# The large files, made of one segment per document: (rows, head, separator, tail, empty
# file, segment of one document's rows).
_SEGMENTED = {
    "passages.jsonl": ("passages", "", "", "", "", _passages_jsonl),
    "passages.csv": ("passages", _csv_head(PASSAGE_FIELDS), "", "", None, _passages_csv),
    "figures.json": ("figures", "[\n", ",\n", "\n]\n", "[]\n", _figures_json),
    "figures.csv": ("figures", _csv_head(FIGURE_FIELDS), "", "", None, _figures_csv),
}


def _runs(rows, doc_keys):
    """``rows`` cut into runs of one document: [(key, rows)]. A run's key is the content
    hash of its document (``doc_keys``) when every document forms a single run (then the
    run is all of that document's rows), else None (made, never reused)."""
    runs = []
    for r in rows:
        doc = r.get("doc")
        if runs and runs[-1][0] == doc:
            runs[-1][1].append(r)
        else:
            runs.append((doc, [r]))
    docs = [doc for doc, _ in runs]
    whole = bool(doc_keys) and len(set(docs)) == len(docs)
    return [((doc_keys.get(doc) if whole and doc is not None else None), rs) for doc, rs in runs]


def write_exports(data_dir, documents, passages, figures, vocab, coverage_report="",
                  previous=None, doc_keys=None, stats=None):
    """Write every export file; returns the list of paths written.

    The large files (passages and figures, JSON and CSV) are made of one segment per
    document. With ``doc_keys`` ({document id: content hash of its analysis}) and
    ``previous`` (an earlier output folder holding ``data/`` and its manifest
    ``.kb/export.json``), an unchanged file is hard-linked from there and a changed one is
    assembled from the unchanged documents' bytes of the previous file plus the changed
    documents' new segments. ``stats``: a dict to receive what was reused."""
    data_dir = Path(data_dir)
    root = data_dir.parent
    carry = reuse.Carry(root, "export", previous, _salt())
    prefix = data_dir.name + "/"
    counts = {}
    for p in passages:
        counts[p["doc"]] = counts.get(p["doc"], 0) + 1
    written = []
    segments_reused = segments_made = files_reused = 0
    rows_of = {"passages": passages, "figures": figures}
    runs_of = {kind: _runs(rows, doc_keys or {}) for kind, rows in rows_of.items()}
    for name, (kind, head, sep, tail, empty, make) in _SEGMENTED.items():
        rel = prefix + name
        runs = runs_of[kind]
        keys = [k for k, _ in runs]
        key = carry.key(name, keys) if all(keys) else None
        if carry.carry(rel, key):
            written.append(root / rel)
            files_reused += 1
            continue
        head, sep, tail = head.encode("utf-8"), sep.encode("utf-8"), tail.encode("utf-8")
        lengths, made = [], [0, 0]  # [k, bytes] per segment; segments reused, made

        def chunks(old):
            # one document's segment at a time (consumed right here): never the whole file
            if not runs and empty is not None:
                yield empty.encode("utf-8")
                return
            yield head
            for i, (k, rows) in enumerate(runs):
                part = old.read(k) if k is not None else None
                if part is None:
                    part = make(rows).encode("utf-8")
                    made[1] += 1
                else:
                    made[0] += 1
                if i:
                    yield sep
                yield part
                lengths.append([k, len(part)])
            yield tail

        with _OldSegments(carry, rel) as old:
            size = write_chunks(root / rel, chunks(old))
        written.append(root / rel)
        segments_reused += made[0]
        segments_made += made[1]
        carry.record(rel, key, size, {"head": len(head), "sep": len(sep), "segments": lengths} if key else None)
    files = {
        "documents.json": _json([document_record(d, counts.get(d["id"], 0)) for d in documents]),
        "taxonomy.json": _json(taxonomy_record(vocab)),
        "figures-coverage.md": coverage_report,
    }
    for name, text in files.items():
        written.append(write_text(data_dir / name, text))
    carry.save()
    if stats is not None:
        stats.update(files_reused=files_reused, segments_reused=segments_reused,
                     segments_made=segments_made)
    return sorted(written, key=lambda p: _ORDER.index(p.name))


_ORDER = ("passages.jsonl", "passages.csv", "documents.json", "taxonomy.json", "figures.json",
          "figures.csv", "figures-coverage.md")


def _salt():
    """What every export segment depends on besides its document: this module and the
    helpers it calls (a change of other stages' code changes the documents' keys)."""
    kb = reuse.KB_DIR
    return reuse.digest("export/1", reuse.files_digest(
        [kb / "export.py", kb / "urls.py", kb / "reuse.py", kb / "fsutil.py"], kb))


class _OldSegments:
    """The previous output's segments of ``rel`` by document key, read one at a time from the
    file (``read(key)`` → bytes, or None when that file, its manifest entry or the key is
    missing or does not match). A context manager: it holds the file open."""

    def __init__(self, carry, rel):
        self.at, self.fh = {}, None
        entry = carry.old.get(rel) if carry.previous is not None else None
        if not isinstance(entry, list) or len(entry) < 3 or not isinstance(entry[2], dict):
            return
        path = carry.previous / rel
        try:
            if not carry.intact(path, entry):
                return
            self.fh = open(path, "rb")
        except OSError:
            return
        at, sep = entry[2]["head"], entry[2]["sep"]
        for i, (k, length) in enumerate(entry[2]["segments"]):
            if i:
                at += sep
            self.at[k] = (at, length)
            at += length

    def read(self, key):
        if key not in self.at:
            return None
        start, length = self.at[key]
        self.fh.seek(start)
        data = self.fh.read(length)
        return data if len(data) == length else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.fh is not None:
            self.fh.close()
