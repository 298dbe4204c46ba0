"""Runs the stages: read → clean → split → tag → figures → index → export → render.

* Cleaning, splitting, tagging and segmentation of each document are cached by a
  content hash (document bytes + sidecar + vocabulary data + stage code, including
  the format extractors of kb/formats and their libraries' versions), and
  run in worker processes for the documents that miss the cache.
* The build writes into a staging directory beside ``out_dir`` and swaps it in
  only when every stage has succeeded: a failed build leaves the previous
  output untouched.
* The Whoosh index of the previous output is updated in place (only changed or
  removed documents are re-indexed) when its manifest matches.
"""

import hashlib
import json
import os
import pickle
import resource
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from . import analysis, export, formats, index as kbindex, urls
from .clean import clean
from .errors import InputError
from .figures import coverage, coverage_report, extract
from .read import list_documents, read_document
from .split import split
from .tag import tag_passages
from .vocab import load_vocab

_STAGE_MODULES = ("clean", "split", "tag", "figures", "vocab", "read", "urls")
INDEX_MANIFEST = "kb-manifest.json"


def _progress(enabled, desc, total=None, unit="份"):
    from tqdm import tqdm

    return lambda it: tqdm(it, desc=desc, total=total, unit=unit, disable=not enabled,
                           file=sys.stderr, leave=False, dynamic_ncols=True)


def code_version():
    """Hash of the code of the cached stages: a change invalidates the cache."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in _STAGE_MODULES:
        h.update((here / f"{name}.py").read_bytes())
    h.update(formats.fingerprint().encode())  # the extractors and their libraries' versions
    for path in sorted(analysis.DATA_DIR.rglob("*")):  # vocabularies, furniture patterns, userdict
        if path.is_file():
            h.update(str(path.relative_to(analysis.DATA_DIR)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def analysis_version():
    """Hash of the segmentation (code + user dictionary): a change re-indexes everything."""
    h = hashlib.sha256(Path(analysis.__file__).read_bytes())
    h.update(analysis.USERDICT.read_bytes())
    return h.hexdigest()


# ---------------------------------------------------------------- per document


def analyse_document(doc):
    """clean → split → tag → figures for one document (runs in a worker process).

    Segmentation is not cached: recomputing it (rjieba) is faster than pickling
    the token lists, and keeping them would cost gigabytes at 1,000 documents."""
    vocab = load_vocab()
    passages = split(clean(doc["text"], doc))
    if not passages:
        raise InputError(doc["source"], "清洗后没有正文 (no text left after cleaning)")
    tagged = tag_passages(doc, passages, vocab)
    urls.assign_urls(tagged)
    figures = extract(tagged, vocab)
    by_id = {p["id"]: p["url"] for p in tagged}
    for f in figures:
        f["url"] = by_id.get(f["passage"]) or urls.doc_page(f["doc"])
    return {"passages": tagged, "figures": figures}


def _worker_init():
    load_vocab()
    analysis.segmenter()  # load the user dictionary in every worker


def _cache_key(doc, salt):
    # the id is part of every passage id, so a renamed file is analysed again
    return hashlib.sha256(f"{doc['id']}|{doc['sha']}|{salt}".encode()).hexdigest()


def _cache_path(cache_dir, key):
    return Path(cache_dir) / "docs" / key[:2] / f"{key}.pickle"


def analyse_corpus(docs, cache_dir, jobs, progress):
    """Per-document analysis, from the cache where possible; returns (results, keys, stats)."""
    salt = f"{code_version()}|{load_vocab().version}"
    keys = [_cache_key(d, salt) for d in docs]
    results = [None] * len(docs)
    missing = []
    for i, key in enumerate(keys):
        path = _cache_path(cache_dir, key)
        if path.exists():
            with open(path, "rb") as fh:
                results[i] = pickle.load(fh)
        else:
            missing.append(i)
    bar = _progress(progress, "切分与标注", total=len(missing))
    if missing:
        todo = [docs[i] for i in missing]
        if jobs > 1 and len(todo) > 1:
            with ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init) as pool:
                chunk = max(1, min(16, len(todo) // (jobs * 4)))
                computed = list(bar(pool.map(analyse_document, todo, chunksize=chunk)))
        else:
            computed = [analyse_document(d) for d in bar(todo)]
        for i, result in zip(missing, computed):
            results[i] = result
            path = _cache_path(cache_dir, keys[i])
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            with open(tmp, "wb") as fh:
                pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
    return results, keys, {"cached": len(docs) - len(missing), "analysed": len(missing)}


# ---------------------------------------------------------------- the build


def _update_or_build_index(previous, staging_index, docs, keys, passages_by_doc, progress, jobs):
    """Reuse the previous output's Whoosh index when possible (incremental)."""
    manifest = {d["id"]: k for d, k in zip(docs, keys)}
    doc_types = {d["id"]: d["type"] for d in docs}
    old_manifest_path = Path(previous) / "index" / INDEX_MANIFEST if previous else None
    if old_manifest_path and old_manifest_path.exists():
        old = json.loads(old_manifest_path.read_text(encoding="utf-8"))
        if old.get("schema") == kbindex.SCHEMA_VERSION and old.get("analysis") == analysis_version():
            old_docs = old["docs"]
            changed = {d: passages_by_doc[d] for d, k in manifest.items() if old_docs.get(d) != k}
            removed = sorted(set(old_docs) - set(manifest))
            shutil.copytree(old_manifest_path.parent, staging_index)
            if changed or removed:
                kbindex.update_index(staging_index, changed, removed, doc_types=doc_types)
            mode = f"incremental ({len(changed)} changed, {len(removed)} removed)"
            _write_manifest(staging_index, manifest)
            return mode
    ordered = [p for d in docs for p in passages_by_doc[d["id"]]]
    kbindex.build_index(ordered, staging_index, doc_types=doc_types,
                        progress=_progress(progress, "索引", total=len(ordered), unit="段"), jobs=jobs)
    _write_manifest(staging_index, manifest)
    return "full"


def _write_manifest(index_dir, manifest):
    data = {"schema": kbindex.SCHEMA_VERSION, "analysis": analysis_version(),
            "docs": dict(sorted(manifest.items()))}
    (Path(index_dir) / INDEX_MANIFEST).write_text(
        json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


class _Stages:
    """Wall time and peak memory (self + worker processes) per stage."""

    def __init__(self):
        self.rows = []
        self._t = time.perf_counter()

    def done(self, name, **extra):
        now = time.perf_counter()
        peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        self.rows.append({"stage": name, "seconds": round(now - self._t, 3),
                          "peak_mb": round(peak_self, 1), "worker_peak_mb": round(peak_children, 1),
                          **extra})
        self._t = now


def build(corpus_dir, out_dir, cache_dir=None, progress=True, base_url=None, jobs=None):
    """Build data exports, the Whoosh index and the site from ``corpus_dir`` into
    ``out_dir``. Raises InputError on bad input (nothing in ``out_dir`` changes)."""
    from .render import render_site
    from .static_index import write_static_index

    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir).resolve()
    cache_dir = Path(cache_dir) if cache_dir else out_dir.parent / ".kbcache"
    jobs = jobs or min(2, os.cpu_count() or 1)
    stages = _Stages()

    vocab = load_vocab()
    paths = list_documents(corpus_dir)
    docs = [read_document(p, vocab.city_names, extract_cache=cache_dir / "extract")
            for p in _progress(progress, "读取", len(paths))(paths)]
    stages.done("read", documents=len(docs))

    results, keys, cache_stats = analyse_corpus(docs, cache_dir, jobs, progress)
    passages_by_doc = {doc["id"]: result["passages"] for doc, result in zip(docs, results)}
    passages = [p for result in results for p in result["passages"]]
    figures = [f for result in results for f in result["figures"]]
    del results
    stages.done("clean+split+tag+figures", passages=len(passages), figures=len(figures),
                **cache_stats)

    staging = out_dir.with_name(f".{out_dir.name}.building")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        mode = _update_or_build_index(out_dir if out_dir.exists() else None, staging / "index",
                                      docs, keys, passages_by_doc, progress, jobs)
        stages.done("index", mode=mode)

        meta_docs = [{k: v for k, v in d.items() if k != "text"} for d in docs]
        export.write_exports(staging / "data", meta_docs, passages, figures, vocab,
                             coverage_report(figures, vocab))
        stages.done("export")

        search_assets = write_static_index(staging, passages, meta_docs, vocab, jobs=jobs)
        stages.done("static-index")
        render_site(staging, meta_docs, passages, figures, vocab, search_assets, base_url=base_url)
        stages.done("render")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap(staging, out_dir)
    stages.done("swap")
    cov = coverage(figures)
    return {"documents": len(docs), "passages": len(passages), "figures": len(figures),
            "figure_coverage": {k: cov[k] for k in ("total", "with_metric", "other")},
            "out": str(out_dir), "stages": stages.rows, "search": search_assets.get("stats", {})}


def _swap(staging, out_dir):
    """Replace ``out_dir`` by ``staging`` (two renames; the old tree is removed last)."""
    old = out_dir.with_name(f".{out_dir.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if out_dir.exists():
        out_dir.rename(old)
    staging.rename(out_dir)
    if old.exists():
        shutil.rmtree(old)
