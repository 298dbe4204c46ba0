#!/usr/bin/env python3
"""Our static search vs Pagefind's extended build, over exactly the same passages.

    .venv/bin/python -m pip install -r requirements-bench.txt      # pagefind[extended]
    .venv/bin/python build.py --corpus corpus --out /tmp/kb-real --cache /tmp/kb-real-cache --no-progress
    .venv/bin/python benchmarks/pagefind_compare.py --out /tmp/kb-real [/tmp/kb-syn100 …] \
        [--queries benchmarks/queries.txt] [--write benchmarks/PAGEFIND.md]

For every built site OUT (kb.pipeline output):

1. Pagefind index: one custom record per passage of OUT/data/passages.jsonl (url = the
   passage permalink, content = the passage text — the same field our static index
   indexes —, language "zh", meta title = the document title), written with the Pagefind
   Python API into OUT-pagefind/pagefind/, plus OUT-pagefind/search.html: a minimal page
   that imports pagefind.js, runs ?q=…, fetches the data() of the first 20 results (the
   first page a user sees) and renders them as <li data-passage-id>.
2. Ground truth: a passage is relevant to a query when its normalised text
   (kb.analysis.normalize) contains every space-separated part of the normalised query.
3. In headless Chromium, for each query and engine, in a fresh context with the cache
   disabled: open the search page with ?q=, wait for #results[data-ready] and network idle,
   sum the response bodies of every request (bytes as served by a plain HTTP server, and
   the gzip-equivalent: text files gzip -6, already-gzipped Pagefind files as they are).
   Then read every hit each engine reports: ours from the page's engine (KB.page.lastRun —
   the first view; when it is partial, the script clicks "加载全部结果", counts the extra
   bytes, and reads the full run); Pagefind's r.results ids, mapped to passages through
   its fragment files.
4. Recall and precision over all hits (and over our first view), recall@20 of the first
   page shown, per query and as medians.

The Python API's poll loop sleeps 0.1 s per response (~10 records/s); that delay is removed
unless --pagefind-poll-delay (the index files are the same).

Raw JSON goes to OUT-pagefind/results.json; --write renders the Markdown report between two
marker comments (text outside them in an existing file, e.g. a hand-written analysis, is kept).
"""

import argparse
import asyncio
import datetime
import gzip
import json
import shlex
import shutil
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote, unquote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))

PAGE_SIZE = 20
TIMEOUT_MS = 120_000


# ---------------------------------------------------------------------------- pure helpers

def load_queries(path):
    """One query per line; blank lines and # comments ignored."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def query_parts(query, normalize=None):
    """The normalised, space-separated parts of a query (quotes dropped)."""
    if normalize is None:
        from kb.analysis import normalize
    return [p for p in normalize(query).replace('"', " ").split() if p]


def relevant_ids(passages, query, normalize=None):
    """Ids of the passages whose normalised text contains every part of the query.

    ``passages``: iterable of {"id", "text"} (or of {"id", "norm"} with the text already
    normalised)."""
    if normalize is None:
        from kb.analysis import normalize
    parts = query_parts(query, normalize)
    if not parts:
        return set()
    out = set()
    for p in passages:
        text = p["norm"] if "norm" in p else normalize(p["text"])
        if all(part in text for part in parts):
            out.add(p["id"])
    return out


def hit_metrics(hits, relevant, k=PAGE_SIZE):
    """Metrics of a ranked hit list against a set of relevant ids.

    recall = |hits ∩ relevant| / |relevant|; precision = |hits ∩ relevant| / |hits|;
    recall_at_k = |first k hits ∩ relevant| / min(k, |relevant|) — the share of the first
    page that could be relevant and is. None where the denominator is 0."""
    hits = list(dict.fromkeys(hits))
    relevant = set(relevant)
    found = len(relevant.intersection(hits))
    top = len(relevant.intersection(hits[:k]))
    return {
        "hits": len(hits),
        "relevant": len(relevant),
        "found": found,
        "recall": found / len(relevant) if relevant else None,
        "precision": found / len(hits) if hits else None,
        "recall_at_k": top / min(k, len(relevant)) if relevant else None,
    }


def median(values):
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def passage_id_of_url(url):
    """The passage id of a permalink doc/<doc>.html#<passage-id> (with or without a leading /)."""
    return url.split("#", 1)[1] if "#" in url else None


def transfer_size(data):
    """Bytes a compressing web server would send: gzip -6 of text, already-gzipped data as is."""
    if data[:2] == b"\x1f\x8b":
        return len(data)
    return min(len(data), len(gzip.compress(data, 6, mtime=0)))


def fmt_pct(v):
    return "—" if v is None else f"{v * 100:.0f} %"


def fmt_kb(v):
    return "—" if v is None else f"{v / 1024:,.1f}"


# ---------------------------------------------------------------------------- corpus and Pagefind

def read_site(out_dir):
    out_dir = Path(out_dir)
    passages = []
    with open(out_dir / "data" / "passages.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                p = json.loads(line)
                passages.append({"id": p["id"], "doc": p["doc"], "text": p["text"], "url": p["url"]})
    documents = json.loads((out_dir / "data" / "documents.json").read_text(encoding="utf-8"))
    return passages, {d["id"]: d for d in documents}


class _NoPollDelay:
    """``asyncio`` for pagefind.service, whose response loop sleeps 0.1 s before reading each
    response (so the Python API adds at most ~10 records a second: 40 minutes for 25,000
    passages). ``readuntil`` already waits for data; the records and files are unchanged."""

    def __getattr__(self, name):
        return getattr(asyncio, name)

    @staticmethod
    async def sleep(delay, result=None):
        return await asyncio.sleep(0, result)


def fast_pagefind_ipc():
    import pagefind.service

    pagefind.service.asyncio = _NoPollDelay()


async def _index_pagefind(passages, titles, pf_dir):
    from pagefind.index import IndexConfig, PagefindIndex

    config = IndexConfig(output_path=str(pf_dir))
    async with PagefindIndex(config=config) as index:
        batch = 200
        for i in range(0, len(passages), batch):
            await asyncio.gather(*(
                index.add_custom_record(url=p["url"], content=p["text"], language="zh",
                                        meta={"title": titles.get(p["doc"]) or p["doc"]})
                for p in passages[i:i + batch]))


PAGEFIND_PAGE = """<!doctype html>
<html lang="zh">
<head><meta charset="utf-8"><title>Pagefind</title><link rel="icon" href="data:,"></head>
<body>
<ol id="results"></ol>
<script type="module">
const results = document.getElementById("results");
const q = new URLSearchParams(location.search).get("q") || "";
try {
  const pf = await import("./pagefind/pagefind.js");
  await pf.init();
  const r = await pf.search(q);
  const data = await Promise.all(r.results.slice(0, %(page)d).map((x) => x.data()));
  for (const d of data) {
    const li = document.createElement("li");
    li.setAttribute("data-passage-id", d.url.split("#")[1] || d.url);
    li.textContent = (d.meta && d.meta.title ? d.meta.title + " — " : "") + d.excerpt.replace(/<[^>]*>/g, "");
    results.appendChild(li);
  }
  window.__pf = {total: r.results.length, ids: r.results.map((x) => x.id)};
} catch (err) {
  window.__pf = {error: String(err && err.stack || err)};
} finally {
  results.setAttribute("data-ready", "");
}
</script>
</body>
</html>
"""


def build_pagefind(out_dir, passages, documents):
    """Index the passages with Pagefind into <out>-pagefind/pagefind/; returns its root."""
    site = Path(str(Path(out_dir).resolve()) + "-pagefind")
    pf_dir = site / "pagefind"
    if pf_dir.exists():
        shutil.rmtree(pf_dir)
    site.mkdir(parents=True, exist_ok=True)
    titles = {k: d.get("title") for k, d in documents.items()}
    t0 = time.perf_counter()
    asyncio.run(_index_pagefind(passages, titles, pf_dir))
    seconds = time.perf_counter() - t0
    (site / "search.html").write_text(PAGEFIND_PAGE % {"page": PAGE_SIZE}, encoding="utf-8")
    return site, seconds


def pagefind_fragment_map(pf_dir):
    """{Pagefind page hash (result id): passage id}, read from the fragment files."""
    out = {}
    for f in (Path(pf_dir) / "fragment").glob("*.pf_fragment"):
        raw = gzip.decompress(f.read_bytes())
        if raw.startswith(b"pagefind_dcd"):
            raw = raw[len(b"pagefind_dcd"):]
        out[f.stem] = passage_id_of_url(json.loads(raw)["url"])
    return out


def tree_bytes(directory):
    total = files = 0
    for f in Path(directory).rglob("*"):
        if f.is_file():
            total += f.stat().st_size
            files += 1
    return total, files


# ---------------------------------------------------------------------------- browser

def _new_page(browser):
    """A fresh 1280 px context with the HTTP cache disabled (as benchmarks/run.py uses)."""
    from run import _new_page as run_new_page  # benchmarks/ is on sys.path

    return run_new_page(browser)


def _local_file(root, base, url):
    if not url.startswith(base):
        return None
    rel = unquote(url[len(base):].split("#")[0].split("?")[0])
    if rel == "" or rel.endswith("/"):
        rel += "index.html"
    f = Path(root) / rel
    return f if f.is_file() else None


def _body_size(req):
    from run import _response_bytes  # benchmarks/ is on sys.path

    return _response_bytes(req)


OURS_FIRST_VIEW = """() => {
  const page = window.KB && window.KB.page;
  if (!page || !page.lastRun || !page.engine) return {error: "KB.page.lastRun not available"};
  return {partial: !!page.lastRun.partial, idx: page.lastRun.ranked.map((r) => r.idx),
          status: (document.getElementById("kb-status") || {}).textContent || ""};
}"""

# after "加载全部结果": the page's last run is the full one
OURS_FULL_READY = """() => {
  const page = window.KB && window.KB.page;
  return !!(page && page.lastRun && !page.lastRun.partial &&
            document.querySelector("#results").hasAttribute("data-ready"));
}"""

OURS_IDS = """async ([first, useEngine]) => {
  const page = window.KB.page;
  const run = useEngine ? await page.engine.run(page.lastRun.query, {full: true}) : page.lastRun;
  const all = run.ranked.map((r) => r.idx);
  const frags = await page.engine.fragments(Array.from(new Set(first.concat(all))));
  const id = (i) => frags.get(i).id;
  return {first: first.map(id), all: all.map(id)};
}"""


def _tally(requests, root, base, search_prefix):
    """Bytes (as served / gzip-equivalent), search-only bytes and the file list of requests."""
    raw = gz = search_raw = search_gz = 0
    files = []
    for req in requests:
        f = _local_file(root, base, req.url)
        if f is not None:  # the plain server sends files as they are on disk
            data = f.read_bytes()
            size, tsize = len(data), transfer_size(data)
        else:
            size = tsize = _body_size(req)
        raw += size
        gz += tsize
        rel = req.url[len(base):] if req.url.startswith(base) else req.url
        resp = req.response()
        if rel.startswith(search_prefix):
            search_raw += size
            search_gz += tsize
        files.append([rel, size, tsize, resp.status if resp else None])
    return {"bytes": raw, "bytes_gzip": gz, "search_bytes": search_raw, "search_bytes_gzip": search_gz,
            "requests": len(requests), "files": files,
            "http_errors": [f for f in files if f[3] and f[3] >= 400]}


def _shown(page):
    return page.eval_on_selector_all("#results [data-passage-id]",
                                     "els => els.map(e => e.getAttribute('data-passage-id'))")


def measure(browser, root, base, path, query, search_prefix, after=None):
    """Open base+path?q=query in a fresh context with the cache disabled: bytes and requests
    until the results are shown (URL paths under search_prefix count as search files).
    ``after(page, finished)`` runs before the context closes; its dict is merged in."""
    context, page = _new_page(browser)
    finished, failed, errors = [], [], []
    page.on("requestfinished", lambda r: finished.append(r))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        t0 = time.perf_counter()
        page.goto(f"{base}{path}?q={quote(query)}", wait_until="commit")
        page.wait_for_selector("#results[data-ready]", state="attached", timeout=TIMEOUT_MS)
        ready_ms = (time.perf_counter() - t0) * 1000
        page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
        m = _tally(list(finished), root, base, search_prefix)
        m.update({"q": query, "failed": failed, "page_errors": errors, "ready_ms": round(ready_ms, 1),
                  "shown": _shown(page)})
        if after:
            m.update(after(page, finished))
        return m
    finally:
        context.close()


def run_browser(out_dir, pf_site, queries, log):
    from kb.localweb import chromium, serve

    frag_map = pagefind_fragment_map(pf_site / "pagefind")
    res = {"ours": [], "pagefind": [], "chromium": None}
    with serve(out_dir) as ours_base, serve(pf_site) as pf_base, chromium() as browser:
        res["chromium"] = browser.version

        def ours_after(page, finished):
            view = page.evaluate(OURS_FIRST_VIEW)
            if "error" in view:
                raise RuntimeError(f"our search page: {view['error']}")
            out = {"partial": view["partial"], "status": view["status"], "load_all": None}
            use_engine = False
            if view["partial"]:
                more = page.locator("#kb-more")
                if more.count() and more.is_visible():
                    # what the user gets (and pays) for the whole result list
                    before = len(finished)
                    more.click()
                    page.wait_for_function(OURS_FULL_READY, timeout=TIMEOUT_MS)
                    page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
                    extra = _tally(finished[before:], out_dir, ours_base, "search/")
                    out["load_all"] = {k: extra[k] for k in ("bytes", "bytes_gzip", "requests")}
                else:
                    use_engine = True
            out.update(page.evaluate(OURS_IDS, [view["idx"], use_engine]))
            return out

        def pf_after(page, _finished):
            pf = page.evaluate("() => window.__pf")
            if not pf or "error" in pf:
                raise RuntimeError(f"Pagefind page: {pf and pf.get('error')}")
            missing = [x for x in pf["ids"] if x not in frag_map]
            if missing:
                raise RuntimeError(f"Pagefind result ids without a fragment: {missing[:3]}")
            ids = [frag_map[x] for x in pf["ids"]]
            return {"all": ids, "first": ids, "partial": False, "load_all": None, "total": pf["total"]}

        for q in queries:
            log(f"  {q}")
            res["ours"].append(measure(browser, out_dir, ours_base, "search/index.html", q,
                                       "search/", ours_after))
            res["pagefind"].append(measure(browser, pf_site, pf_base, "search.html", q,
                                           "pagefind/", pf_after))
    return res


# ---------------------------------------------------------------------------- one corpus

def compare(out_dir, queries, label=None, log=print):
    from kb.analysis import normalize

    out_dir = Path(out_dir).resolve()
    passages, documents = read_site(out_dir)
    log(f"{out_dir}: {len(documents)} documents, {len(passages)} passages; Pagefind index…")
    pf_site, pf_seconds = build_pagefind(out_dir, passages, documents)
    normed = [{"id": p["id"], "norm": normalize(p["text"])} for p in passages]
    text_of = {p["id"]: p["text"] for p in passages}
    log(f"  indexed in {pf_seconds:.1f} s; browser…")
    browser = run_browser(out_dir, pf_site, queries, log)
    rows = []
    for i, q in enumerate(queries):
        parts = query_parts(q, normalize)
        rel = relevant_ids(normed, q, normalize)
        row = {"q": q, "relevant": len(rel)}
        for engine in ("ours", "pagefind"):
            m = browser[engine][i]
            all_m = hit_metrics(m["all"], rel)
            first_m = hit_metrics(m["first"], rel)
            page_m = hit_metrics(m["shown"], rel)  # the first page the user sees
            missed = sorted(rel.difference(m["all"]))
            wrong = [pid for pid in m["all"] if pid not in rel]
            load_all = m.get("load_all") or {}
            row[engine] = {
                **all_m,
                "recall_at_k": page_m["recall_at_k"],
                "recall_first_view": first_m["recall"], "hits_first_view": first_m["hits"],
                "found_first_view": first_m["found"],
                "partial": m["partial"], "status": m.get("status"),
                "bytes": m["bytes"], "bytes_gzip": m["bytes_gzip"],
                "search_bytes": m["search_bytes"], "search_bytes_gzip": m["search_bytes_gzip"],
                "requests": m["requests"], "ready_ms": m["ready_ms"],
                "load_all_bytes": load_all.get("bytes", 0), "load_all_bytes_gzip": load_all.get("bytes_gzip", 0),
                "load_all_requests": load_all.get("requests", 0),
                "bytes_gzip_with_all": m["bytes_gzip"] + load_all.get("bytes_gzip", 0),
                "shown": m["shown"], "shown_is_first_20": m["shown"] == m["first"][:PAGE_SIZE],
                "http_errors": m["http_errors"], "failed": m["failed"],
                "page_errors": m["page_errors"],
                "missed": [{"id": pid, "context": _context(text_of[pid], parts)} for pid in missed[:3]],
                "missed_count": len(missed),
                "irrelevant_examples": [{"id": pid, "context": _context(text_of[pid], [parts[-1], parts[-1][-2:]], 30)}
                                        for pid in wrong[:2]],
                "files": m["files"],
            }
        rows.append(row)
    pf_bytes, pf_files = tree_bytes(pf_site / "pagefind")
    ours_bytes, ours_files = tree_bytes(out_dir / "search")
    result = {
        "label": label or out_dir.name, "out": str(out_dir), "pagefind_site": str(pf_site),
        "date": datetime.date.today().isoformat(),
        "documents": len(documents), "passages": len(passages),
        "pagefind_index_seconds": round(pf_seconds, 2),
        "disk": {"ours_search_bytes": ours_bytes, "ours_search_files": ours_files,
                 "pagefind_bytes": pf_bytes, "pagefind_files": pf_files},
        "chromium": browser["chromium"], "rows": rows, "summary": summarise(rows),
    }
    (pf_site / "results.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return result


def _context(text, needles, width=24):
    """A window of text around the first of the needles (normalised) that occurs in it."""
    from kb.analysis import normalize

    norm = normalize(text)
    for n in needles:
        at = norm.find(n) if n else -1
        if at >= 0:
            return text[max(0, at - width):at + len(n) + width]
    return text[:2 * width]


def summarise(rows):
    out = {}
    for engine in ("ours", "pagefind"):
        e = [r[engine] for r in rows]
        rel_total = sum(r["relevant"] for r in rows)
        out[engine] = {
            "recall_median": median(x["recall"] for x in e),
            "recall_mean": statistics.mean([x["recall"] for x in e if x["recall"] is not None] or [0]),
            "recall_micro": sum(x["found"] for x in e) / rel_total if rel_total else None,
            "recall_first_view_median": median(x["recall_first_view"] for x in e),
            "found_first_view_total": sum(x["found_first_view"] for x in e),
            "bytes_gzip_with_all_median": median(x["bytes_gzip_with_all"] for x in e),
            "bytes_gzip_with_all_max": max(x["bytes_gzip_with_all"] for x in e),
            "precision_median": median(x["precision"] for x in e),
            "recall_at_k_median": median(x["recall_at_k"] for x in e),
            "found_total": sum(x["found"] for x in e),
            "hits_total": sum(x["hits"] for x in e),
            "zero_hit_queries": [r["q"] for r in rows if r[engine]["hits"] == 0 and r["relevant"] > 0],
            "zero_found_queries": [r["q"] for r in rows if r[engine]["found"] == 0 and r["relevant"] > 0],
            "partial_queries": [r["q"] for r in rows if r[engine]["partial"]],
            "bytes_median": median(x["bytes"] for x in e), "bytes_max": max(x["bytes"] for x in e),
            "bytes_gzip_median": median(x["bytes_gzip"] for x in e),
            "bytes_gzip_max": max(x["bytes_gzip"] for x in e),
            "search_bytes_gzip_median": median(x["search_bytes_gzip"] for x in e),
            "search_bytes_gzip_max": max(x["search_bytes_gzip"] for x in e),
            "requests_median": median(x["requests"] for x in e),
            "requests_max": max(x["requests"] for x in e),
            "ready_ms_median": median(x["ready_ms"] for x in e),
        }
        out["relevant_total"] = sum(r["relevant"] for r in rows)
    o, p = out["ours"], out["pagefind"]
    def cmp(key, better):
        wins = sum(1 for r in rows if r["ours"][key] is not None and r["pagefind"][key] is not None
                   and better(r["ours"][key], r["pagefind"][key]))
        return wins
    out["queries"] = len(rows)
    out["recall_ours_higher"] = cmp("recall", lambda a, b: a > b)
    out["recall_ours_lower"] = cmp("recall", lambda a, b: a < b)
    out["first_view_found_ours_lower"] = cmp("found_first_view", lambda a, b: a < b)
    out["first_view_found_ours_higher"] = cmp("found_first_view", lambda a, b: a > b)
    out["bytes_gzip_with_all_ours_fewer"] = cmp("bytes_gzip_with_all", lambda a, b: a < b)
    out["bytes_gzip_ours_fewer"] = cmp("bytes_gzip", lambda a, b: a < b)
    out["bytes_raw_ours_fewer"] = cmp("bytes", lambda a, b: a < b)
    out["claim_more_right_passages"] = (o["found_total"] > p["found_total"]
                                        and out["recall_ours_lower"] == 0)
    out["claim_fewer_bytes"] = (o["bytes_gzip_median"] < p["bytes_gzip_median"]
                                and o["bytes_gzip_max"] <= p["bytes_gzip_max"])
    return out


# ---------------------------------------------------------------------------- report

def machine_info():
    """The machine as benchmarks/run.py reports it, with Pagefind's versions and the commit."""
    import subprocess

    from run import machine_info as base_machine_info  # benchmarks/ is on sys.path

    info = base_machine_info(packages=("pagefind", "pagefind_bin_extended", "playwright"))
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    info["commit"] = commit
    return info


def _pct_pair(a, b):
    return f"{fmt_pct(a)} / {fmt_pct(b)}" if a != b else fmt_pct(a)


def render(results, machine, queries_path, argv):
    L = []
    add = L.append
    date = ", ".join(sorted({r.get("date") or datetime.date.today().isoformat() for r in results}))
    pk = machine["packages"]
    add("## Comparison with Pagefind (extended)")
    add("")
    add("The issue's claim: over the same passages, this site's search finds more of the right "
        "passages than Pagefind's extended build (static search with Chinese segmentation) and "
        "downloads fewer bytes per query. Measured by `benchmarks/pagefind_compare.py`.")
    add("")
    add(f"*Machine*: {machine['cpu']}, {machine['cores']} cores, {machine['memory']}, {machine['os']}, "
        f"Python {machine['python']}, Chromium {results[0]['chromium'] if results else '?'} (headless, "
        f"Playwright {pk.get('playwright')}). *Date*: {date}. *Pagefind*: {pk.get('pagefind')} "
        f"(`pagefind[extended]`, binary `pagefind_bin_extended` {pk.get('pagefind_bin_extended')}, "
        f"the latest release on PyPI at the time of writing). *Code*: commit {machine['commit']}.")
    add("")
    add("```sh")
    add(".venv/bin/python -m pip install -r requirements-bench.txt")
    add(".venv/bin/python build.py --corpus corpus --out /tmp/pfc/real --cache /tmp/pfc/cache-real --no-progress")
    add("for n in 100 1000; do")
    add("  .venv/bin/python benchmarks/synth.py --docs $n --out /tmp/pfc/corpus-$n")
    add("  .venv/bin/python build.py --corpus /tmp/pfc/corpus-$n --out /tmp/pfc/syn$n --cache /tmp/pfc/cache-$n --no-progress")
    add("done")
    add(".venv/bin/python " + shlex.join(argv))
    add("```")
    add("")
    add("**Method.** Pagefind gets one custom record per passage of `OUT/data/passages.jsonl` "
        "(`add_custom_record(url=<passage permalink>, content=<passage text>, language=\"zh\", "
        "meta={\"title\": <document title>})` — the text is the same field our static index "
        "indexes) and a minimal page that imports `pagefind/pagefind.js`, runs `pf.search(q)` and "
        "fetches `data()` of the first 20 results (the first page a user sees; our page also shows "
        "20). *Relevant* = the passage's normalised text (`kb.analysis.normalize`) contains every "
        "space-separated part of the normalised query. *Recall* and *precision* are over **all** "
        "hits an engine reports: Pagefind's `r.results`; ours after \"加载全部结果\" when the first "
        "view is partial (our engine fetches posting pages best-first within a byte budget and says "
        "\"至少 N 条结果\"); the first view's figure follows the slash where it differs. *R@20* = "
        "|results on the first page shown ∩ relevant| / min(20, |relevant|). *Bytes*: a fresh "
        "browser context with the cache disabled opens the search page with `?q=` and waits for "
        "the results and network idle; sum of all response bodies (HTML, CSS, JS, wasm, index "
        "files, fragments). *+all*: what clicking \"加载全部结果\" then downloads (ours; Pagefind "
        "has no such step). The local server does not compress, so bytes are given as served "
        "(*raw*) and as a compressing host would send them (*gz*: text files gzip -6; Pagefind's "
        "index, fragment and wasm files are already gzip and count as they are). Our page is the "
        "full site page (site CSS, favicon, facets); the Pagefind page is a bare harness without "
        "Pagefind's UI (its `pagefind-ui.js` + CSS would add ~32 KB gzipped), which favours Pagefind. "
        "The Pagefind Python wrapper sleeps 0.1 s before reading each response of its backing binary "
        "(≈10 records/s: 40 min for 25,000 passages); the script removes that delay "
        "(`--pagefind-poll-delay` keeps it) — the written index is byte-identical (checked on the real "
        "corpus).")
    add("")
    for res in results:
        s = res["summary"]
        o, p = s["ours"], s["pagefind"]
        d = res["disk"]
        add(f"### {res['label']}: {res['documents']:,} documents, {res['passages']:,} passages")
        add("")
        add(f"Index on disk: ours `search/` {d['ours_search_bytes'] / 1e6:.1f} MB in "
            f"{d['ours_search_files']:,} files; Pagefind {d['pagefind_bytes'] / 1e6:.1f} MB in "
            f"{d['pagefind_files']:,} files (indexed in {res['pagefind_index_seconds']} s).")
        add("")
        add("| query | relevant | ours hits | ours found | ours recall | ours prec. | ours R@20 | ours KB gz | "
            "ours +all KB gz | PF hits | PF found | PF recall | PF prec. | PF R@20 | PF KB gz |")
        add("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for r in res["rows"]:
            a, b = r["ours"], r["pagefind"]
            def two(full, first, f=lambda v: f"{v:,}"):
                return f(full) if full == first else f"{f(full)} / {f(first)}"
            add(f"| {r['q']} | {r['relevant']:,} | {two(a['hits'], a['hits_first_view'])} | "
                f"{two(a['found'], a['found_first_view'])} | "
                f"{two(a['recall'], a['recall_first_view'], fmt_pct)} | {fmt_pct(a['precision'])} | "
                f"{fmt_pct(a['recall_at_k'])} | {fmt_kb(a['bytes_gzip'])} | "
                f"{fmt_kb(a['load_all_bytes_gzip']) if a['partial'] else '—'} | "
                f"{b['hits']:,} | {b['found']:,} | {fmt_pct(b['recall'])} | {fmt_pct(b['precision'])} | "
                f"{fmt_pct(b['recall_at_k'])} | {fmt_kb(b['bytes_gzip'])} |")
        add("")
        add("| per query | ours | Pagefind |")
        add("|---|--:|--:|")
        add(f"| relevant passages found, sum over queries (of {s['relevant_total']:,}) | "
            f"{o['found_total']:,} | {p['found_total']:,} |")
        add(f"| … in our first view, before \"加载全部结果\" | {o['found_first_view_total']:,} | "
            f"{p['found_first_view_total']:,} |")
        add(f"| recall: median / mean | {fmt_pct(o['recall_median'])} / {fmt_pct(o['recall_mean'])} | "
            f"{fmt_pct(p['recall_median'])} / {fmt_pct(p['recall_mean'])} |")
        add(f"| recall of the first view: median | {fmt_pct(o['recall_first_view_median'])} | "
            f"{fmt_pct(p['recall_first_view_median'])} |")
        add(f"| precision: median | {fmt_pct(o['precision_median'])} | {fmt_pct(p['precision_median'])} |")
        add(f"| R@20 (first page shown): median | {fmt_pct(o['recall_at_k_median'])} | "
            f"{fmt_pct(p['recall_at_k_median'])} |")
        add(f"| queries with relevant passages but no relevant hit | {len(o['zero_found_queries'])} | "
            f"{len(p['zero_found_queries'])} |")
        add(f"| KB per query, gz: median / max | {fmt_kb(o['bytes_gzip_median'])} / {fmt_kb(o['bytes_gzip_max'])} | "
            f"{fmt_kb(p['bytes_gzip_median'])} / {fmt_kb(p['bytes_gzip_max'])} |")
        add(f"| KB per query incl. \"加载全部结果\", gz: median / max | {fmt_kb(o['bytes_gzip_with_all_median'])} / "
            f"{fmt_kb(o['bytes_gzip_with_all_max'])} | {fmt_kb(p['bytes_gzip_with_all_median'])} / "
            f"{fmt_kb(p['bytes_gzip_with_all_max'])} |")
        add(f"| KB per query, raw: median / max | {fmt_kb(o['bytes_median'])} / {fmt_kb(o['bytes_max'])} | "
            f"{fmt_kb(p['bytes_median'])} / {fmt_kb(p['bytes_max'])} |")
        add(f"| of which search engine + index (`search/`, `pagefind/`), gz: median / max | "
            f"{fmt_kb(o['search_bytes_gzip_median'])} / {fmt_kb(o['search_bytes_gzip_max'])} | "
            f"{fmt_kb(p['search_bytes_gzip_median'])} / {fmt_kb(p['search_bytes_gzip_max'])} |")
        add(f"| requests per query: median / max | {o['requests_median']:g} / {o['requests_max']} | "
            f"{p['requests_median']:g} / {p['requests_max']} |")
        add(f"| page open → results shown, ms (median, local server) | {o['ready_ms_median']:,.0f} | "
            f"{p['ready_ms_median']:,.0f} |")
        add("")
        add(f"Recall (all hits) higher for ours on {s['recall_ours_higher']} of {s['queries']} queries, "
            f"lower on {s['recall_ours_lower']}. First views: ours finds more relevant passages than "
            f"Pagefind on {s['first_view_found_ours_higher']}, fewer on {s['first_view_found_ours_lower']}. "
            f"Fewer gz bytes for ours on {s['bytes_gzip_ours_fewer']} of {s['queries']} queries "
            f"({s['bytes_raw_ours_fewer']} raw; {s['bytes_gzip_with_all_ours_fewer']} including \"加载全部结果\").")
        for name, e in (("Pagefind", p), ("Ours", o)):
            if e["zero_found_queries"]:
                add(f"{name} finds no relevant passage for: "
                    f"{', '.join('`' + q + '`' for q in e['zero_found_queries'])}.")
        if o["partial_queries"]:
            add(f"Our first view is partial for: {', '.join('`' + q + '`' for q in o['partial_queries'])}.")
        empty = [r["q"] for r in res["rows"] if r["ours"]["partial"] and not r["ours"]["shown"]
                 and r["ours"]["found"]]
        if empty:
            add(f"Our first view shows **no result** (\"在已下载的部分索引中没有找到…\") although relevant "
                f"passages exist for: {', '.join('`' + q + '`' for q in empty)}.")
        misses = [(r["q"], r["ours"]) for r in res["rows"] if r["ours"]["missed_count"]]
        if misses:
            add("")
            add("Relevant passages our search misses (examples):")
            add("")
            for q, a in misses:
                ex = "; ".join(f"`{m['id']}` …{m['context']}…" for m in a["missed"][:2])
                add(f"- `{q}`: {a['missed_count']} missed — {ex}")
        extra = [(r["q"], r["ours"]) for r in res["rows"] if r["ours"]["hits"] > r["ours"]["found"]]
        if extra:
            add("")
            add("Our hits that are not relevant by the substring rule (a part's words all occur, "
                "but not as one substring; unquoted parts are not phrases) — examples:")
            add("")
            for q, a in extra:
                ex = "; ".join(f"`{m['id']}` …{m['context']}…" for m in a["irrelevant_examples"][:1])
                add(f"- `{q}`: {a['hits'] - a['found']} — {ex}")
        add("")
    return "\n".join(L) + "\n"


VERDICT_HEADER = "### Verdict"


def verdict(results):
    lines = [VERDICT_HEADER, ""]
    for res in results:
        s = res["summary"]
        o, p = s["ours"], s["pagefind"]
        more = "holds" if s["claim_more_right_passages"] else "does not hold"
        fewer = "holds" if s["claim_fewer_bytes"] else "does not hold"
        first = ""
        if o["found_first_view_total"] != o["found_total"]:
            first = (f"; before \"加载全部结果\" ours shows {o['found_first_view_total']:,}, fewer than Pagefind "
                     f"on {s['first_view_found_ours_lower']} queries")
        lines.append(
            f"- **{res['label']}** — *more of the right passages*: {more} (found {o['found_total']:,} vs "
            f"{p['found_total']:,} of {s['relevant_total']:,}; recall higher on {s['recall_ours_higher']}, lower on "
            f"{s['recall_ours_lower']} of {s['queries']} queries{first}). *Fewer bytes per query* (gz): {fewer} "
            f"(median {fmt_kb(o['bytes_gzip_median'])} vs {fmt_kb(p['bytes_gzip_median'])} KB, max "
            f"{fmt_kb(o['bytes_gzip_max'])} vs {fmt_kb(p['bytes_gzip_max'])} KB; raw median "
            f"{fmt_kb(o['bytes_median'])} vs {fmt_kb(p['bytes_median'])} KB; including \"加载全部结果\" median "
            f"{fmt_kb(o['bytes_gzip_with_all_median'])} KB, max {fmt_kb(o['bytes_gzip_with_all_max'])} KB).")
    lines.append("")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", nargs="+", required=True, help="built site directories (build.py --out)")
    ap.add_argument("--label", nargs="*", default=None, help="a label per --out directory")
    ap.add_argument("--queries", default=str(ROOT / "benchmarks" / "queries.txt"))
    ap.add_argument("--write", default=None, help="write the Markdown report here")
    ap.add_argument("--pagefind-poll-delay", action="store_true",
                    help="keep the Python API's 0.1 s delay per response (~10 records/s)")
    ap.add_argument("--render-only", action="store_true",
                    help="re-render the report from each OUT-pagefind/results.json (no measuring)")
    args = ap.parse_args(argv)
    if not args.pagefind_poll_delay:
        fast_pagefind_ipc()
    if args.label and len(args.label) != len(args.out):
        ap.error("--label needs one label per --out directory")
    queries = load_queries(args.queries)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    results = []
    for i, out in enumerate(args.out):
        label = args.label[i] if args.label else None
        if args.render_only:
            saved = Path(str(Path(out).resolve()) + "-pagefind") / "results.json"
            res = json.loads(saved.read_text(encoding="utf-8"))
            res["label"] = label or res["label"]
            results.append(res)
        else:
            results.append(compare(out, queries, label, log))
    argv_echo = ["benchmarks/pagefind_compare.py"] + [
        a for a in (argv if argv is not None else sys.argv[1:]) if a != "--render-only"]
    text = render(results, machine_info(), args.queries, argv_echo) + "\n" + verdict(results)
    if args.write:
        target = Path(args.write)
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        target.write_text(splice(old, text), encoding="utf-8")
        log(f"wrote {args.write}")
    else:
        print(text)
    return 0


GEN_START = "<!-- pagefind_compare.py: generated from here -->"
GEN_END = "<!-- pagefind_compare.py: generated up to here -->"


def splice(old, generated):
    """``old`` with the text between the generated-block markers replaced (hand-written text
    around them is kept)."""
    from run import splice_block  # benchmarks/ is on sys.path

    return splice_block(old, GEN_START, GEN_END, generated)


if __name__ == "__main__":
    sys.exit(main())
