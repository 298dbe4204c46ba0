"""Runs the stages: read → clean → split → tag → figures → index → export → render.

* Cleaning, splitting, tagging and segmentation of each document are cached by a
  content hash (document bytes + sidecar + vocabulary data + stage code, including
  the format extractors of kb/formats and their libraries' versions), and
  run in worker processes for the documents that miss the cache.
* One build at a time per output: a lock file beside ``out_dir``
  (``.<out>.lock``, held through the whole build) makes a second build wait,
  with a notice, up to ``wait`` seconds, then give up with one line.
* The build writes into its own staging directory beside ``out_dir``
  (``.<out>.building-<random>``) and swaps it in only when every stage has
  succeeded: a failed build leaves the previous output untouched. On Linux the
  swap is one atomic exchange of the two directories (``renameat2`` with
  ``RENAME_EXCHANGE``), so there is no moment without ``out_dir``; where that
  call is missing or refused (other systems, some file systems) it falls back to
  two renames, with an instant between them when ``out_dir`` is absent. The previous
  output is then retired and removed by a process of its own (:mod:`kb.publish`).
* The Whoosh index of the previous output is updated in place (only changed
  documents are re-indexed) when its manifest matches; when a document was
  removed, the index is rebuilt, so it is byte-identical to a fresh build's.
* Export and render reuse the previous output's files whose inputs did not change
  (``kb.reuse``: keys in ``out/.kb/``; pages and whole export files are hard-linked
  into the staging directory, export files of which only some documents changed are
  assembled from the previous file's bytes of the others); the previous output is
  only read, so a failed build still leaves it untouched. The static index links its
  files that keep their bytes and reads each unchanged document's numbered tokens from
  the cache (``.kbcache/static-index-terms/``, keyed by the analysis key).
* Nothing changed: after reading the corpus, a build whose inputs are those of the build
  that made ``out_dir``, and whose files were not touched since, keeps ``out_dir`` as it
  is: no stage runs, nothing is written (:mod:`kb.publish`).
"""

import contextlib
import gc
import hashlib
import json
import os
import pickle
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

# The stages' own modules (clean, split, tag, figures, index, export, …) are imported where
# they are used: a build that finds nothing changed reads the corpus and stops, and its
# process should not spend half a second importing what it does not run.
from . import analysis, formats, urls
from .errors import InputError
from .fsutil import link_or_copy, write_bytes
from .parallel import fork_map, frozen
from .publish import build_key as _inputs_key, stamp_path, swap, discard, unchanged_output, write_stamp
from .read import LARGE_TEXT_BYTES, DocumentMemo, SidecarMemo, scan_corpus, with_text
from .vocab import load_vocab

_STAGE_MODULES = ("clean", "split", "tag", "figures", "vocab", "read", "urls", "analysis")
INDEX_MANIFEST = "kb-manifest.json"
LOCK_WAIT = 600  # seconds a second build waits for the first before giving up


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


CHUNK_PASSAGES = 1000  # passages per slice when one document is analysed in parallel slices
CHUNKED_CHARS = 1_000_000  # documents this long (characters) are analysed that way


def analyse_document(doc, jobs=1, chunk=CHUNK_PASSAGES):
    """clean → split → tag → figures → tokens for one document (runs in a worker process).

    ``tokens`` holds, per passage, both token layers packed by
    :func:`kb.analysis.passage_tokens` (about the size of the text): the Whoosh index and
    the static index read them instead of segmenting every passage again.

    Cleaning and splitting read the whole document (with ``jobs`` > 1, cleaning reads the
    lines of a text of ``kb.clean.PARALLEL_LINES`` characters or more in slices, in forked
    worker processes); with ``jobs`` > 1 and more than ``chunk`` passages, the per-passage
    work (tag facts, tokens, figures) runs on slices of ``chunk`` passages in forked worker
    processes and is joined in order: the result is the same as one process's."""
    from .clean import clean
    from .figures import extract, plan_documents
    from .split import split
    from .tag import passage_facts as tag_passages_facts, tag_passages

    vocab = load_vocab()
    passages = split(clean(doc["text"], doc, jobs=jobs))
    if not passages:
        raise InputError(doc["source"], "清洗后没有正文 (no text left after cleaning)")
    slices = [(i, i + chunk) for i in range(0, len(passages), max(1, chunk))]
    if jobs < 2 or len(slices) < 2:
        slices = [(0, len(passages))]
    else:
        analysis.segmenter()  # loaded once here, shared by the forked workers

    def facts_and_tokens(a, b):
        part = passages[a:b]
        return (tag_passages_facts(doc, part, vocab),
                [analysis.passage_tokens(p["text"]) for p in part])

    done = fork_map(facts_and_tokens, slices, jobs)
    facts = [f for fs, _t in done for f in fs]
    tokens = [t for _f, ts in done for t in ts]
    tagged = tag_passages(doc, passages, vocab, facts=facts)
    urls.assign_urls(tagged)
    plan_docs = plan_documents(tagged)
    figures = [f for fs in fork_map(lambda a, b: extract(tagged[a:b], vocab, plan_docs), slices, jobs)
               for f in fs]
    by_id = {p["id"]: p["url"] for p in tagged}
    for f in figures:
        f["url"] = by_id.get(f["passage"]) or urls.doc_page(f["doc"])
    return {"passages": tagged, "figures": figures, "tokens": tokens}


def _worker_init():
    load_vocab()
    analysis.segmenter()  # load the user dictionary in every worker


def _cache_key(doc, salt):
    # the id is part of every passage id, so a renamed file is analysed again
    return hashlib.sha256(f"{doc['id']}|{doc['sha']}|{salt}".encode()).hexdigest()


def _cache_path(cache_dir, key):
    return Path(cache_dir) / "docs" / key[:2] / f"{key}.pickle"


def analysis_keys(docs):
    """The analysis cache key of every document (its bytes, sidecar, id and the stage code)."""
    salt = f"{code_version()}|{load_vocab().version}"
    return [_cache_key(d, salt) for d in docs]


def analyse_corpus(docs, cache_dir, jobs, progress, keys=None, text_of=None):
    """Per-document analysis, from the cache where possible; returns (results, keys, stats).
    ``text_of(i)``: document i with its text, for documents read without (see
    :class:`kb.read.DocumentMemo`)."""
    keys = keys if keys is not None else analysis_keys(docs)
    results = [None] * len(docs)
    missing = []
    with _no_collection():  # unpickling makes millions of objects and no garbage
        for i, key in enumerate(keys):
            try:
                with open(_cache_path(cache_dir, key), "rb") as fh:
                    results[i] = pickle.load(fh)
            except FileNotFoundError:
                missing.append(i)
    bar = _progress(progress, "切分与标注", total=len(missing))
    if missing:
        computed = _analyse_missing([text_of(i) if text_of else docs[i] for i in missing], jobs, bar)
        for i, result in zip(missing, computed):
            results[i] = result
            write_bytes(_cache_path(cache_dir, keys[i]), pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    return results, keys, {"cached": len(docs) - len(missing), "analysed": len(missing)}


@contextlib.contextmanager
def _no_collection():
    """No cyclic garbage collection for the time: a collection is triggered by every few
    hundred new objects and walks all the objects made so far (half the time of reading
    the analysis cache)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _analyse_missing(todo, jobs, bar):
    """analyse_document of each of ``todo``, in order: documents of CHUNKED_CHARS or more
    one after the other in this process, each in parallel slices; the others spread over
    a pool of worker processes."""
    from concurrent.futures import ProcessPoolExecutor

    big = [jobs > 1 and len(d["text"]) >= CHUNKED_CHARS for d in todo]
    small = [d for d, b in zip(todo, big) if not b]
    if jobs > 1 and len(small) > 1:
        with ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init) as pool:
            chunk = max(1, min(16, len(small) // (jobs * 4)))
            done = list(bar(pool.map(analyse_document, small, chunksize=chunk)))
    else:
        done = [analyse_document(d) for d in bar(small)]
    done.reverse()
    return [analyse_document(d, jobs, CHUNK_PASSAGES) if b else done.pop() for d, b in zip(todo, big)]


# ---------------------------------------------------------------- the build


def _update_or_build_index(previous, staging_index, docs, keys, passages_by_doc, tokens, progress, jobs):
    """Reuse the previous output's Whoosh index when possible (incremental)."""
    from . import index as kbindex

    manifest = {d["id"]: k for d, k in zip(docs, keys)}
    doc_types = {d["id"]: d["type"] for d in docs}
    old_manifest_path = Path(previous) / "index" / INDEX_MANIFEST if previous else None
    if old_manifest_path and old_manifest_path.exists():
        old = json.loads(old_manifest_path.read_text(encoding="utf-8"))
        if old.get("schema") == kbindex.SCHEMA_VERSION and old.get("analysis") == analysis_version():
            old_docs = old["docs"]
            changed = {d: passages_by_doc[d] for d, k in manifest.items() if old_docs.get(d) != k}
            # Deleting leaves Whoosh segments a fresh build would not have: rebuild instead.
            if not set(old_docs) - set(manifest):
                _stage_index(old_manifest_path.parent, staging_index)
                if changed:
                    kbindex.update_index(staging_index, changed, doc_types=doc_types, tokens=tokens)
                _write_manifest(staging_index, manifest)
                return f"incremental ({len(changed)} changed)"
    ordered = [p for d in docs for p in passages_by_doc[d["id"]]]
    kbindex.build_index(ordered, staging_index, doc_types=doc_types, tokens=tokens,
                        progress=_progress(progress, "索引", total=len(ordered), unit="段"), jobs=jobs)
    _write_manifest(staging_index, manifest)
    return "full"


_SEGMENT_FILES = (".col", ".pst", ".trm")  # Whoosh writes a segment's files once, never again


def _stage_index(previous, staging):
    """The previous Whoosh index in ``staging``, to be updated there: its segment files
    hard-linked (an update writes new segments and a new table of contents beside them,
    and only unlinks the old ones: the previous output is left as it was), the rest copied."""
    staging.mkdir(parents=True)
    for path in sorted(previous.iterdir()):
        if path.suffix in _SEGMENT_FILES:
            link_or_copy(path, staging / path.name)
        else:
            shutil.copy2(path, staging / path.name)


def indexed_documents(index_dir):
    """Ids of the documents the Whoosh index in ``index_dir`` holds (from its manifest)."""
    try:
        data = json.loads((Path(index_dir) / INDEX_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return set(data.get("docs", {}))


def _write_manifest(index_dir, manifest):
    from . import index as kbindex

    data = {"schema": kbindex.SCHEMA_VERSION, "analysis": analysis_version(),
            "docs": dict(sorted(manifest.items()))}
    (Path(index_dir) / INDEX_MANIFEST).write_text(
        json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _cpu_seconds():
    """CPU time (user + system) of this process and its finished worker processes."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class _Stages:
    """Wall time, CPU time and peak memory (self + worker processes) per stage."""

    def __init__(self):
        self.rows = []
        self._t = time.perf_counter()
        self._cpu = _cpu_seconds()

    def done(self, name, **extra):
        now, cpu = time.perf_counter(), _cpu_seconds()
        peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        self.rows.append({"stage": name, "seconds": round(now - self._t, 3),
                          "cpu_seconds": round(cpu - self._cpu, 3),
                          "peak_mb": round(peak_self, 1), "worker_peak_mb": round(peak_children, 1),
                          **extra})
        self._t, self._cpu = now, cpu


def build(corpus_dir, out_dir, cache_dir=None, progress=True, base_url=None, jobs=None,
          wait=LOCK_WAIT, notify=None):
    """Build data exports, the Whoosh index and the site from ``corpus_dir`` into
    ``out_dir``. Raises InputError on bad input (nothing in ``out_dir`` changes).

    ``notify(message)`` receives notices (waiting for another build, files of the
    corpus that are not read, very large documents); ``wait`` is how many seconds
    to wait for another build of the same output (0: refuse at once)."""
    out_dir = Path(out_dir).resolve()
    notify = notify or (lambda message: None)
    with output_lock(out_dir, wait, notify):
        return _build(Path(corpus_dir), out_dir, cache_dir, progress, base_url, jobs, notify)


@contextlib.contextmanager
def output_lock(out_dir, wait, notify):
    """Hold the lock of ``out_dir`` (a ``filelock`` file beside it) for a build."""
    import filelock

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(out_dir.with_name(f".{out_dir.name}.lock"), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        if wait <= 0:
            raise InputError(out_dir, "另一个构建正在写入此输出目录 (another build is running)；"
                                      "请稍后再试") from None
        notify(f"另一个构建正在写入 {out_dir}，等待其完成（最多 {wait:g} 秒）…")
        try:
            lock.acquire(timeout=wait)
        except filelock.Timeout:
            raise InputError(out_dir, f"另一个构建 {wait:g} 秒后仍在写入此输出目录 "
                                      "(another build is running)；请稍后再试") from None
    try:
        yield
    finally:
        lock.release()


def _build(corpus_dir, out_dir, cache_dir, progress, base_url, jobs, notify):

    cache_dir = Path(cache_dir) if cache_dir else out_dir.parent / ".kbcache"
    jobs = jobs or min(2, os.cpu_count() or 1)
    stages = _Stages()

    vocab = load_vocab(memo_dir=cache_dir)
    corpus = scan_corpus(corpus_dir)
    for path, reason in corpus.ignored:
        notify(f"已忽略 {path}: {reason}")
    for path in corpus.documents:
        size = path.stat().st_size
        if size > LARGE_TEXT_BYTES:
            notify(f"注意 {path}: 文件很大（{size / 2**20:.1f} MB，超过 "
                   f"{LARGE_TEXT_BYTES // 2**20} MB），构建会较慢")
    paths = corpus.documents
    memo, read_memo = SidecarMemo(cache_dir), DocumentMemo(cache_dir, vocab.version)
    docs = [read_memo.read(p, vocab.city_names, extract_cache=cache_dir / "extract",
                           sidecar=corpus.sidecars.get(p.stem), sidecar_memo=memo.used)
            for p in _progress(progress, "读取", len(paths))(paths)]
    memo.save()
    read_memo.save()

    def text_of(i):  # a document taken from the memo has no text: read it when it is analysed
        return with_text(docs[i], paths[i], vocab.city_names, cache_dir / "extract",
                         corpus.sidecars.get(paths[i].stem))
    stages.done("read", documents=len(docs), ignored=len(corpus.ignored))

    keys = analysis_keys(docs)
    build_key = _inputs_key(docs, keys, base_url)
    stamp = stamp_path(cache_dir, out_dir)
    kept = unchanged_output(stamp, build_key, out_dir)
    if kept is not None:  # nothing changed since the build that made out_dir: keep it as it is
        stages.done("unchanged")
        return {**kept, "out": str(out_dir), "stages": stages.rows}

    from . import export
    from .figures import coverage, coverage_report
    from .render import render_site
    from .static_index import write_static_index

    results, keys, cache_stats = analyse_corpus(docs, cache_dir, jobs, progress, keys, text_of)
    passages_by_doc = {doc["id"]: result["passages"] for doc, result in zip(docs, results)}
    passages = [p for result in results for p in result["passages"]]
    figures = [f for result in results for f in result["figures"]]
    tokens = {p["id"]: tok for result in results for p, tok in zip(result["passages"], result["tokens"])}
    del results
    stages.done("clean+split+tag+figures", passages=len(passages), figures=len(figures),
                **cache_stats)

    # left by a killed build (staging) or an interrupted removal (retired)
    discard([*out_dir.parent.glob(f".{out_dir.name}.building-*"),
              *out_dir.parent.glob(f".{out_dir.name}.retired-*")])
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    try:
        with frozen():  # the analysed corpus lives to the end: no collection need walk it
            mode = _update_or_build_index(out_dir if out_dir.exists() else None, staging / "index",
                                          docs, keys, passages_by_doc, tokens, progress, jobs)
            stages.done("index", mode=mode)

            previous = out_dir if out_dir.exists() else None  # its unchanged files are reused
            doc_keys = {d["id"]: k for d, k in zip(docs, keys)}  # content hashes of the analyses
            meta_docs = [{k: v for k, v in d.items() if k != "text"} for d in docs]
            export_stats = {}
            export.write_exports(staging / "data", meta_docs, passages, figures, vocab,
                                 coverage_report(figures, vocab), previous=previous, doc_keys=doc_keys,
                                 stats=export_stats)
            stages.done("export", **export_stats)

            si_stats = {}
            search_assets = write_static_index(staging, passages, meta_docs, vocab, jobs=jobs, tokens=tokens,
                                               previous=previous, cache=cache_dir,
                                               doc_keys=doc_keys, build_stats=si_stats)
            del tokens
            stats = search_assets.get("stats", {})
            stages.done("static-index", files=stats.get("files"), written=stats.get("files_written"),
                        terms_cached=si_stats.get("terms_cached", 0))
            render_stats = {}
            render_site(staging, meta_docs, passages, figures, vocab, search_assets, base_url=base_url,
                        previous=previous, doc_keys=doc_keys, stats=render_stats, jobs=jobs)
            stages.done("render", **render_stats)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    stamp.unlink(missing_ok=True)  # describes the output about to be replaced
    with _no_collection():  # (the analysed corpus, no longer frozen, is not walked again)
        swap(staging, out_dir)
        cov = coverage(figures)
        summary = {"documents": len(docs), "passages": len(passages), "figures": len(figures),
                   "figure_coverage": {k: cov[k] for k in ("total", "with_metric", "other")},
                   "search": search_assets.get("stats", {})}
        write_stamp(stamp, build_key, out_dir, summary)
    stages.done("swap")
    return {**summary, "out": str(out_dir), "stages": stages.rows}
