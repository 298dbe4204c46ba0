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
   Then read every hit each engine reports: ours through the page's engine (KB.page.lastRun,
   and the full run the "加载全部结果" button would fetch when the first run was partial);
   Pagefind's r.results ids, mapped to passages through its fragment files.
4. Recall, precision (over all hits) and recall@20 (first page), per query and median.

Raw JSON goes to OUT-pagefind/results.json; --write renders the Markdown report.
"""

import argparse
import asyncio
import datetime
import gzip
import json
import os
import platform
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

CHROMIUM = os.environ.get("KB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
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
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    return context, page


def _local_file(root, base, url):
    if not url.startswith(base):
        return None
    rel = unquote(url[len(base):].split("#")[0].split("?")[0])
    if rel == "" or rel.endswith("/"):
        rel += "index.html"
    f = Path(root) / rel
    return f if f.is_file() else None


def _body_size(req):
    try:
        size = req.sizes().get("responseBodySize", -1)
    except Exception:
        size = -1
    if size is None or size < 0:
        try:
            resp = req.response()
            size = len(resp.body()) if resp else 0
        except Exception:
            size = 0
    return size


OURS_HITS = """async () => {
  const page = window.KB && window.KB.page;
  if (!page || !page.lastRun || !page.engine) return {error: "KB.page.lastRun not available"};
  const run = page.lastRun;
  const first = run.ranked.map((r) => r.idx);
  const full = run.partial ? await page.engine.run(run.query, {full: true}) : run;
  const all = full.ranked.map((r) => r.idx);
  const frags = await page.engine.fragments(Array.from(new Set(first.concat(all))));
  const id = (i) => frags.get(i).id;
  return {partial: !!run.partial, first: first.map(id), all: all.map(id),
          status: (document.getElementById("kb-status") || {}).textContent || ""};
}"""


def measure(browser, root, base, path, query, search_prefix):
    """Open base+path?q=query in a fresh context with the cache disabled; bytes and requests
    until the results are shown. search_prefix: URL paths under it count as search files."""
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
        raw = gz = search_raw = search_gz = 0
        files = []
        for req in finished:
            f = _local_file(root, base, req.url)
            if f is not None:  # the plain server sends files as they are on disk
                data = f.read_bytes()
                size, tsize = len(data), transfer_size(data)
            else:
                size = tsize = _body_size(req)
            raw += size
            gz += tsize
            rel = req.url[len(base):] if req.url.startswith(base) else req.url
            status = req.response().status if req.response() else None
            if rel.startswith(search_prefix):
                search_raw += size
                search_gz += tsize
            files.append([rel, size, tsize, status])
        shown = page.eval_on_selector_all("#results [data-passage-id]",
                                          "els => els.map(e => e.getAttribute('data-passage-id'))")
        return page, context, {
            "q": query, "bytes": raw, "bytes_gzip": gz, "search_bytes": search_raw,
            "search_bytes_gzip": search_gz, "requests": len(finished), "failed": failed,
            "http_errors": [f for f in files if f[3] and f[3] >= 400], "ready_ms": round(ready_ms, 1),
            "shown": shown, "page_errors": errors, "files": files,
        }
    except Exception:
        context.close()
        raise


def run_browser(out_dir, pf_site, queries, log):
    from playwright.sync_api import sync_playwright

    from tests.conftest import serve

    frag_map = pagefind_fragment_map(pf_site / "pagefind")
    res = {"ours": [], "pagefind": [], "chromium": None}
    with serve(out_dir) as ours_base, serve(pf_site) as pf_base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        res["chromium"] = browser.version
        try:
            for q in queries:
                log(f"  {q}")
                page, context, m = measure(browser, out_dir, ours_base, "search/index.html", q, "search/")
                try:
                    hits = page.evaluate(OURS_HITS)
                finally:
                    context.close()
                if "error" in hits:
                    raise RuntimeError(f"our search page: {hits['error']}")
                m.update(hits)
                res["ours"].append(m)

                page, context, m = measure(browser, pf_site, pf_base, "search.html", q, "pagefind/")
                try:
                    pf = page.evaluate("() => window.__pf")
                finally:
                    context.close()
                if not pf or "error" in pf:
                    raise RuntimeError(f"Pagefind page: {pf and pf.get('error')}")
                missing = [x for x in pf["ids"] if x not in frag_map]
                if missing:
                    raise RuntimeError(f"Pagefind result ids without fragment: {missing[:3]}")
                ids = [frag_map[x] for x in pf["ids"]]
                m.update({"all": ids, "first": ids, "partial": False, "total": pf["total"]})
                res["pagefind"].append(m)
        finally:
            browser.close()
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
            missed = sorted(rel.difference(m["all"]))
            wrong = [pid for pid in m["all"] if pid not in rel]
            row[engine] = {
                **all_m,
                "recall_first_view": first_m["recall"], "hits_first_view": first_m["hits"],
                "partial": m["partial"],
                "bytes": m["bytes"], "bytes_gzip": m["bytes_gzip"],
                "search_bytes": m["search_bytes"], "search_bytes_gzip": m["search_bytes_gzip"],
                "requests": m["requests"], "ready_ms": m["ready_ms"],
                "shown": len(m["shown"]), "http_errors": m["http_errors"], "failed": m["failed"],
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
    out["bytes_gzip_ours_fewer"] = cmp("bytes_gzip", lambda a, b: a < b)
    out["bytes_raw_ours_fewer"] = cmp("bytes", lambda a, b: a < b)
    out["claim_more_right_passages"] = (o["found_total"] > p["found_total"]
                                        and out["recall_ours_lower"] == 0)
    out["claim_fewer_bytes"] = (o["bytes_gzip_median"] < p["bytes_gzip_median"]
                                and o["bytes_gzip_max"] <= p["bytes_gzip_max"])
    return out


# ---------------------------------------------------------------------------- report

def machine_info():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    osname = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                osname = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("pagefind", "pagefind_bin_extended", "playwright"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "not installed"
    import subprocess

    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "os": osname,
            "python": platform.python_version(), "packages": versions, "commit": commit}


def _pct_pair(a, b):
    return f"{fmt_pct(a)} / {fmt_pct(b)}" if a != b else fmt_pct(a)


def render(results, machine, queries_path, argv):
    L = []
    add = L.append
    date = datetime.date.today().isoformat()
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
        "hits an engine reports (ours: every hit, i.e. after \"加载全部结果\" when the first view was "
        "partial — the first-view recall is shown after the slash when it differs; Pagefind: "
        "`r.results`). *R@20* = |first 20 ∩ relevant| / min(20, |relevant|). *Bytes*: a fresh "
        "browser context with the cache disabled opens the search page with `?q=` and waits for "
        "the results and network idle; sum of all response bodies (HTML, CSS, JS, wasm, index "
        "files, fragments). The local server does not compress, so bytes are given as served "
        "(*raw*) and as a compressing host would send them (*gz*: text files gzip -6; Pagefind's "
        "index, fragment and wasm files are already gzip and count as they are). Our page is the "
        "full site page (site CSS, favicon, facets); the Pagefind page is a bare harness without "
        "Pagefind's UI (its `pagefind-ui.js` + CSS would add ~32 KB gzipped), which favours Pagefind.")
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
        add("| query | relevant | ours hits | ours found | ours recall | ours prec. | ours R@20 | ours KB gz (raw) | "
            "PF hits | PF found | PF recall | PF prec. | PF R@20 | PF KB gz (raw) |")
        add("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for r in res["rows"]:
            a, b = r["ours"], r["pagefind"]
            hits_a = f"{a['hits']:,}" + (f" ({a['hits_first_view']:,} first)" if a["partial"] else "")
            add(f"| {r['q']} | {r['relevant']:,} | {hits_a} | {a['found']:,} | "
                f"{_pct_pair(a['recall'], a['recall_first_view'])} | {fmt_pct(a['precision'])} | "
                f"{fmt_pct(a['recall_at_k'])} | {fmt_kb(a['bytes_gzip'])} ({fmt_kb(a['bytes'])}) | "
                f"{b['hits']:,} | {b['found']:,} | {fmt_pct(b['recall'])} | {fmt_pct(b['precision'])} | "
                f"{fmt_pct(b['recall_at_k'])} | {fmt_kb(b['bytes_gzip'])} ({fmt_kb(b['bytes'])}) |")
        add("")
        add("| per query | ours | Pagefind |")
        add("|---|--:|--:|")
        add(f"| relevant passages found (sum over queries, of {s['relevant_total']:,}) | "
            f"{o['found_total']:,} | {p['found_total']:,} |")
        add(f"| recall: median / mean | {fmt_pct(o['recall_median'])} / {fmt_pct(o['recall_mean'])} | "
            f"{fmt_pct(p['recall_median'])} / {fmt_pct(p['recall_mean'])} |")
        add(f"| recall of the first view (before \"加载全部结果\"): median | {fmt_pct(o['recall_first_view_median'])} | "
            f"{fmt_pct(p['recall_first_view_median'])} |")
        add(f"| precision: median | {fmt_pct(o['precision_median'])} | {fmt_pct(p['precision_median'])} |")
        add(f"| R@20: median | {fmt_pct(o['recall_at_k_median'])} | {fmt_pct(p['recall_at_k_median'])} |")
        add(f"| queries with relevant passages but no relevant hit | {len(o['zero_found_queries'])} | "
            f"{len(p['zero_found_queries'])} |")
        add(f"| KB per query, gz: median / max | {fmt_kb(o['bytes_gzip_median'])} / {fmt_kb(o['bytes_gzip_max'])} | "
            f"{fmt_kb(p['bytes_gzip_median'])} / {fmt_kb(p['bytes_gzip_max'])} |")
        add(f"| KB per query, raw: median / max | {fmt_kb(o['bytes_median'])} / {fmt_kb(o['bytes_max'])} | "
            f"{fmt_kb(p['bytes_median'])} / {fmt_kb(p['bytes_max'])} |")
        add(f"| of which search engine + index (`search/`, `pagefind/`), gz: median / max | "
            f"{fmt_kb(o['search_bytes_gzip_median'])} / {fmt_kb(o['search_bytes_gzip_max'])} | "
            f"{fmt_kb(p['search_bytes_gzip_median'])} / {fmt_kb(p['search_bytes_gzip_max'])} |")
        add(f"| requests per query: median / max | {o['requests_median']:g} / {o['requests_max']} | "
            f"{p['requests_median']:g} / {p['requests_max']} |")
        add(f"| page open → results shown, ms (median, local server) | {o['ready_ms_median']:,.0f} | {p['ready_ms_median']:,.0f} |")
        add("")
        add(f"Recall higher for ours on {s['recall_ours_higher']} of {s['queries']} queries, lower on "
            f"{s['recall_ours_lower']}; fewer gz bytes for ours on {s['bytes_gzip_ours_fewer']} of "
            f"{s['queries']} queries ({s['bytes_raw_ours_fewer']} raw).")
        for name, e in (("Pagefind", p), ("Ours", o)):
            if e["zero_found_queries"]:
                add(f"{name} finds no relevant passage for: "
                    f"{', '.join('`' + q + '`' for q in e['zero_found_queries'])}.")
        if o["partial_queries"]:
            add(f"Our first view is partial (byte budget; \"加载全部结果\" fetches the rest) for: "
                f"{', '.join('`' + q + '`' for q in o['partial_queries'])}.")
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
        lines.append(
            f"- **{res['label']}** — *more of the right passages*: {more} (found {o['found_total']:,} vs "
            f"{p['found_total']:,} of {s['relevant_total']:,}; recall higher on {s['recall_ours_higher']}, lower on "
            f"{s['recall_ours_lower']} of {s['queries']} queries). *Fewer bytes per query* (gz): {fewer} "
            f"(median {fmt_kb(o['bytes_gzip_median'])} vs {fmt_kb(p['bytes_gzip_median'])} KB, max "
            f"{fmt_kb(o['bytes_gzip_max'])} vs {fmt_kb(p['bytes_gzip_max'])} KB; raw median "
            f"{fmt_kb(o['bytes_median'])} vs {fmt_kb(p['bytes_median'])} KB).")
    lines.append("")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", nargs="+", required=True, help="built site directories (build.py --out)")
    ap.add_argument("--label", nargs="*", default=None, help="a label per --out directory")
    ap.add_argument("--queries", default=str(ROOT / "benchmarks" / "queries.txt"))
    ap.add_argument("--write", default=None, help="write the Markdown report here")
    ap.add_argument("--notes", default=None,
                    help="a Markdown file appended to the report (hand-written observations)")
    ap.add_argument("--pagefind-poll-delay", action="store_true",
                    help="keep the Python API's 0.1 s delay per response (~10 records/s)")
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
        results.append(compare(out, queries, label, log))
    argv_echo = ["benchmarks/pagefind_compare.py"] + list(argv if argv is not None else sys.argv[1:])
    text = render(results, machine_info(), args.queries, argv_echo) + "\n" + verdict(results)
    if args.notes:
        text += "\n" + Path(args.notes).read_text(encoding="utf-8")
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
        log(f"wrote {args.write}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
