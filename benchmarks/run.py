#!/usr/bin/env python3
"""Scale benchmark: synthetic corpora of N documents → full build, incremental
rebuild, index sizes, CLI search latency and in-browser search cost.

    python benchmarks/run.py --sizes 100                      # smoke (CI)
    python benchmarks/run.py --sizes 100 1000 10000 --write BENCHMARKS.md

For every N: generate ``<workdir>/<N>/corpus`` (benchmarks/synth.py); build it
with a cold cache in a fresh process (kb.pipeline.build through a tiny
``python -c`` wrapper that prints the per-stage result as JSON) while sampling
the memory of the whole process tree; measure the Whoosh index (out/index/) and
the static search index (out/search/) on disk; time kb.search.Searcher.search()
with the index warm; open search/index.html?q=… in headless Chromium for each
query of benchmarks/queries.txt (fresh context, cache disabled) and sum the
bytes of every response; time the last keystroke → results in the page; add
one document and rebuild with the warm cache, then compare with a cold full
build of the same N+1 corpus (every file outside out/index/, byte for byte).

It reports, it does not judge the exit status: targets that miss are marked
FAIL in the report and the exit status is still 0. It exits 1 only when a build
itself fails (or the generator does).
"""

import argparse
import datetime
import filecmp
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import synth  # noqa: E402
from kb import localweb  # noqa: E402

PY = sys.executable
MARK = "KB-BENCH-RESULT "
# The code that is benchmarked: ROOT, or a snapshot of it (see snapshot_code).
CODE = ROOT

TARGETS = {  # issue 11
    "build_1000_s": 60.0,
    "index_1000_s": 25.0,
    "build_1000_mb": 1536.0,
    "scaling_10x": 10.0,
    "mem_10000_mb": 2048.0,
    "incremental_share": 0.10,
    "cli_p50_ms_10000": 50.0,
    "browser_kb_10000": 300.0,
}

# A full build in a fresh process; prints the pipeline's result dict as JSON.
BUILD_WRAPPER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from kb import pipeline

# Each stage's row goes to stderr as soon as it is done, so a build that fails or is
# killed still tells which stages it finished and what they cost.
_Stages = getattr(pipeline, "_Stages", None)
if _Stages is not None and hasattr(_Stages, "done"):
    _done = _Stages.done
    def _done_and_report(self, name, **extra):
        _done(self, name, **extra)
        rows = getattr(self, "rows", None)
        if rows:
            print("KB-BENCH-STAGE " + json.dumps(rows[-1], ensure_ascii=False, default=str),
                  file=sys.stderr, flush=True)
    _Stages.done = _done_and_report

t = time.perf_counter()
jobs = int(sys.argv[5]) if sys.argv[5] != "0" else None
result = pipeline.build(sys.argv[2], sys.argv[3], cache_dir=sys.argv[4], progress=False, jobs=jobs)
result["wall_in_process"] = round(time.perf_counter() - t, 3)
print("KB-BENCH-RESULT " + json.dumps(result, ensure_ascii=False, default=str), flush=True)
"""

# CLI search latency: one warm Searcher, the query list run 1 + R times.
LATENCY_WRAPPER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
t0 = time.perf_counter()
from kb.search import Searcher
t1 = time.perf_counter()
searcher = Searcher(sys.argv[2])
t2 = time.perf_counter()
queries = json.loads(sys.argv[3])
repeats = int(sys.argv[4])
first, warm, ids = [], [], {}
for q in queries:
    t = time.perf_counter()
    hits = searcher.search(q)
    first.append((time.perf_counter() - t) * 1000)
    ids[q] = [h["id"] for h in hits]
for _ in range(repeats):
    for q in queries:
        t = time.perf_counter()
        searcher.search(q)
        warm.append((time.perf_counter() - t) * 1000)
print("KB-BENCH-RESULT " + json.dumps({"import_ms": (t1 - t0) * 1000, "open_ms": (t2 - t1) * 1000,
      "first_ms": first, "warm_ms": warm, "ids": ids}, ensure_ascii=False), flush=True)
"""


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ processes + memory


def _children_map():
    kids = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _tree_memory(root_pid):
    """(sum of PSS, sum of RSS) in MB over the process and all its descendants."""
    kids = _children_map()
    todo, pids = [root_pid], []
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(kids.get(pid, ()))
    pss = rss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
        except OSError:
            continue
    return pss / 1024, rss / 1024


def snapshot_code(workdir):
    """Copy build.py, requirements.txt, kb/ and site_templates/ into ``workdir/code`` so that every build
    of a long run uses the same code even while the working tree is being edited (the
    pipeline's cache key includes the code, so an edit mid-run would also defeat the
    incremental measure). Returns (path, description of the code version)."""
    import shutil

    dest = Path(workdir).resolve() / "code"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copy2(ROOT / "build.py", dest / "build.py")
    shutil.copy2(ROOT / "requirements.txt", dest / "requirements.txt")  # build.py and kb.publish read it
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("kb", "site_templates"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    return dest, code_version()


def code_version():
    def git(*a):
        try:
            return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    branch = git("rev-parse", "--abbrev-ref", "HEAD") or "?"
    dirty = [line for line in git("status", "--porcelain", "--", "build.py", "kb", "site_templates").splitlines()
             if line.strip()]
    return f"{branch}@{head}" + (f" + {len(dirty)} uncommitted change(s) in build.py/kb/site_templates"
                                  if dirty else "")


MIN_AVAILABLE_MB = 3000  # --min-free-mb: kill a build that would push the machine into swap/OOM


def _available_mb():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("inf")


def run_measured(argv, log_path, cwd=ROOT):
    """Run ``argv``; returns {"rc", "wall", "cpu_s", "maxrss_mb" (largest single process,
    from wait4), "peak_pss_mb"/"peak_rss_mb" (sampled sums over the process tree),
    "stdout", "stderr_tail", "killed"} (stderr lines starting KB-BENCH-STAGE are left out
    of the tail). The child runs in its own process group, which is
    terminated if the machine's available memory falls below MIN_AVAILABLE_MB."""
    import signal

    log_path = Path(log_path)
    out_path, err_path = log_path.with_suffix(".out"), log_path.with_suffix(".err")
    load_before = os.getloadavg()[0]
    killed = []
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err, start_new_session=True,
                                env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONUNBUFFERED": "1"})
        peak = {"pss": 0.0, "rss": 0.0}
        stop = threading.Event()

        def kill_group():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

        def sample():
            while not stop.is_set():
                pss, rss = _tree_memory(proc.pid)
                peak["pss"], peak["rss"] = max(peak["pss"], pss), max(peak["rss"], rss)
                avail = _available_mb()
                if avail < MIN_AVAILABLE_MB and not killed:
                    killed.append(f"killed: only {avail:.0f} MB of memory left on the machine "
                                  f"(process tree at {pss:.0f} MB PSS)")
                    log(killed[-1])
                    kill_group()
                stop.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            kill_group()
            raise
        finally:
            stop.set()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.join()
        if killed:  # workers may outlive the leader for a moment
            kill_group()
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("KB-BENCH-STAGE ")]
    tail = "\n".join(lines[-15:])
    return {"rc": proc.returncode, "wall": round(wall, 3), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
            "maxrss_mb": round(usage.ru_maxrss / 1024, 1),
            "peak_pss_mb": round(peak["pss"], 1), "peak_rss_mb": round(peak["rss"], 1),
            "stdout": stdout, "stderr_tail": "\n".join(killed + [tail]).strip(), "killed": bool(killed)}


def parse_result(stdout):
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    return None


def build(corpus, out, cache, log_path, jobs):
    argv = [PY, "-c", BUILD_WRAPPER, str(CODE), str(corpus), str(out), str(cache), str(jobs or 0)]
    run = run_measured(argv, log_path)
    run["result"] = parse_result(run["stdout"]) if run["rc"] == 0 else None
    run["ok"] = run["rc"] == 0 and run["result"] is not None
    if not run["ok"]:  # the stages finished before the failure
        err = Path(log_path).with_suffix(".err").read_text(encoding="utf-8", errors="replace")
        run["partial_stages"] = [json.loads(line.split(" ", 1)[1]) for line in err.splitlines()
                                 if line.startswith("KB-BENCH-STAGE ")]
    run.pop("stdout")
    return run


def equivalent_build_command(corpus, out, cache, jobs):
    cmd = [".venv/bin/python", "build.py", "--corpus", _rel(corpus), "--out", _rel(out), "--cache", _rel(cache),
           "--no-progress"]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    return shlex.join(cmd)


def _rel(path):
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------ disk


def tree_size(directory):
    total = count = 0
    for dirpath, _dirs, names in os.walk(directory):
        for name in names:
            try:
                total += os.stat(os.path.join(dirpath, name)).st_size
                count += 1
            except OSError:
                pass
    return total, count


def compare_trees(a, b, skip=("index",)):
    """Files (relative paths) that differ between trees ``a`` and ``b`` outside ``skip``."""
    def files(root):
        root = Path(root)
        return {str(p.relative_to(root)) for p in root.rglob("*")
                if p.is_file() and p.relative_to(root).parts[0] not in skip}

    fa, fb = files(a), files(b)
    common = sorted(fa & fb)
    _match, mismatch, errors = filecmp.cmpfiles(a, b, common, shallow=False)
    diff = sorted(mismatch + errors)
    diff += [f"only in incremental: {p}" for p in sorted(fa - fb)]
    diff += [f"only in full: {p}" for p in sorted(fb - fa)]
    return diff, len(common)


# ------------------------------------------------------------------ queries


def load_queries(path):
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def cli_latency(index_dir, queries, repeats, log_path):
    argv = [PY, "-c", LATENCY_WRAPPER, str(CODE), str(index_dir), json.dumps(queries, ensure_ascii=False),
            str(repeats)]
    run = run_measured(argv, log_path)
    data = parse_result(run["stdout"]) if run["rc"] == 0 else None
    if data is None:
        return {"error": run["stderr_tail"] or f"exit {run['rc']}"}
    warm = data["warm_ms"]
    if not warm:
        return {"ids": data["ids"]}
    per_query = {q: statistics.median(warm[i::len(queries)]) for i, q in enumerate(queries)}
    slowest = sorted(per_query.items(), key=lambda kv: -kv[1])[:3]
    return {"slowest": [[q, round(ms, 1)] for q, ms in slowest],"p50_ms": round(percentile(warm, 50), 2), "p95_ms": round(percentile(warm, 95), 2),
            "max_ms": round(max(warm), 2), "first_pass_p50_ms": round(percentile(data["first_ms"], 50), 2),
            "open_ms": round(data["open_ms"], 1), "import_ms": round(data["import_ms"], 1),
            "samples": len(warm), "peak_mb": run["maxrss_mb"], "ids": data["ids"],
            "no_hits": sorted(q for q, ids in data["ids"].items() if not ids)}


def cli_oneshot(out_dir, queries, log_path):
    """Wall time of ``python build.py search Q --json`` (process start + index open)."""
    times = []
    for q in queries:
        run = run_measured([PY, str(CODE / "build.py"), "search", q, "--json", "--out", str(out_dir)], log_path)
        if run["rc"] != 0:
            return {"error": run["stderr_tail"]}
        times.append(run["wall"] * 1000)
    return {"median_ms": round(statistics.median(times), 1), "runs": len(times)}


# ------------------------------------------------------------------ browser


INSTALL_PROBE = """([input, results]) => {
  const q = document.querySelector(input), r = document.querySelector(results);
  if (!q || !r) return false;
  const s = window.__kbBench = {last: 0, ready: 0, mutation: 0};
  q.addEventListener('input', () => { s.last = performance.now(); s.ready = 0; s.mutation = 0; }, true);
  new MutationObserver((records) => {
    const now = performance.now();
    if (!s.last || now < s.last) return;
    s.mutation = now;
    for (const m of records) {
      if (m.type === 'attributes' && m.attributeName === 'data-ready' && m.target === r
          && r.hasAttribute('data-ready')) s.ready = now;
    }
  }).observe(r, {attributes: true, childList: true, subtree: true, characterData: true});
  return true;
}"""


def _new_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    return context, page


def _response_bytes(request):
    try:
        body = request.sizes().get("responseBodySize", -1)
    except Exception:
        body = -1
    if body is None or body < 0:
        try:
            response = request.response()
            body = len(response.body()) if response else 0
        except Exception:
            body = 0
    return body


def browser_measures(out_dir, queries, input_sel, results_sel, search_path, timeout_s, keystroke=True):
    res = {"first_query": [], "keystroke": [], "errors": []}
    with localweb.serve(out_dir) as base, localweb.chromium() as browser:
        res["chromium"] = browser.version
        # 1. bytes of a first query: fresh context, cache disabled, search/index.html?q=
        for q in queries:
            context, page = _new_page(browser)
            finished, failed = [], []
            page.on("requestfinished", lambda req: finished.append(req))
            page.on("requestfailed", lambda req: failed.append(req))
            try:
                t0 = time.perf_counter()
                page.goto(f"{base}{search_path}?q={quote(q)}", wait_until="commit")
                page.wait_for_selector(f"{results_sel}[data-ready]", state="attached",
                                       timeout=timeout_s * 1000)
                ready_s = time.perf_counter() - t0
                page.wait_for_load_state("networkidle", timeout=timeout_s * 1000)
                by_kind = {}
                for req in finished:
                    path = req.url[len(base):].split("?")[0] if req.url.startswith(base) else req.url
                    if path.startswith("search/") and path != search_path:
                        # search/facets.<h>.js, search/p.<h>.js, search/f-<h>/3.js …
                        kind = "search/" + re.split(r"[.-]", path[len("search/"):], maxsplit=1)[0]
                        if kind == "search/kb":
                            kind = "search/kb-*.js|css"
                    else:
                        kind = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else "other"
                    by_kind[kind] = by_kind.get(kind, 0) + _response_bytes(req)
                count = page.locator(f"{results_sel} > *").count()
                res["first_query"].append({"q": q, "bytes": sum(by_kind.values()), "by_kind": by_kind,
                                           "requests": len(finished), "failed": len(failed),
                                           "ready_ms": round(ready_s * 1000, 1), "result_nodes": count})
            except Exception as exc:
                res["errors"].append(f"first query {q!r}: {str(exc).splitlines()[0]}")
                if not res["first_query"]:
                    res["errors"].append("search page never became ready; browser measures skipped")
                    return res
            finally:
                context.close()
        # 2. last keystroke -> results, typed into the search box of a freshly loaded page
        #    (cold: downloads what the query needs), then the next query of the list typed
        #    into the same page (warm: the index metadata is loaded, its shards may not be).
        for q in queries if keystroke else ():
            context, page = _new_page(browser)
            try:
                page.goto(f"{base}{search_path}", wait_until="load")
                page.wait_for_load_state("networkidle", timeout=timeout_s * 1000)
                if not page.evaluate(INSTALL_PROBE, [input_sel, results_sel]):
                    res["errors"].append(f"no {input_sel} / {results_sel} on {search_path}")
                    return res
                row = {"q": q}
                following = queries[(queries.index(q) + 1) % len(queries)]
                for label, typed in (("cold_ms", q), ("warm_ms", following)):
                    if label == "warm_ms":
                        page.fill(input_sel, "")
                        page.wait_for_timeout(400)
                    page.click(input_sel)
                    page.keyboard.type(typed, delay=40)
                    try:
                        page.wait_for_function("() => window.__kbBench.ready > 0",
                                               timeout=timeout_s * 1000, polling=20)
                        page.wait_for_timeout(150)  # let a trailing re-render land
                        s = page.evaluate("() => window.__kbBench")
                        row[label] = round(max(s["ready"], 0) - s["last"], 1)
                    except Exception:
                        s = page.evaluate("() => window.__kbBench")
                        if s["mutation"]:
                            row[label] = round(s["mutation"] - s["last"], 1)
                            row["approx"] = True  # no data-ready change seen: last DOM change
                        else:
                            raise
                res["keystroke"].append(row)
            except Exception as exc:
                res["errors"].append(f"keystroke {q!r}: {str(exc).splitlines()[0]}")
            finally:
                context.close()
    return res


def summarise_browser(b):
    out = {"chromium": b.get("chromium"), "errors": b.get("errors", [])}
    fq = b.get("first_query", [])
    if fq:
        sizes = [r["bytes"] for r in fq]
        out.update({"first_query_kb_median": round(statistics.median(sizes) / 1024, 1),
                    "first_query_kb_max": round(max(sizes) / 1024, 1),
                    "first_query_max_q": max(fq, key=lambda r: r["bytes"])["q"],
                    "requests_median": statistics.median(r["requests"] for r in fq),
                    "requests_max": max(r["requests"] for r in fq),
                    "first_query_ready_ms_median": round(statistics.median(r["ready_ms"] for r in fq), 1)})
        median_row = sorted(fq, key=lambda r: r["bytes"])[len(fq) // 2]
        out["median_query"] = median_row["q"]
        out["median_breakdown_kb"] = {k: round(v / 1024, 1) for k, v in
                                      sorted(median_row["by_kind"].items(), key=lambda kv: -kv[1])}
    ks = b.get("keystroke", [])
    cold = [r["cold_ms"] for r in ks if "cold_ms" in r]
    warm = [r["warm_ms"] for r in ks if "warm_ms" in r]
    if cold:
        out["keystroke_cold_ms_median"] = round(statistics.median(cold), 1)
        out["keystroke_cold_ms_max"] = round(max(cold), 1)
    if warm:
        out["keystroke_warm_ms_median"] = round(statistics.median(warm), 1)
    if any(r.get("approx") for r in ks):
        out["keystroke_note"] = "some pages never re-set data-ready after typing; the last DOM change was used"
    return out


# ------------------------------------------------------------------ one size


def bench_size(n, args, queries):
    work = Path(args.workdir).resolve() / str(n)
    corpus, out, cache = work / "corpus", work / "out", work / "cache"
    logs = work / "logs"
    for d in (out, cache, work / "out-full", work / "cache-full"):
        _rmtree(d)
    logs.mkdir(parents=True, exist_ok=True)
    row = {"n": n, "commands": {}}

    log(f"N={n}: generating corpus → {corpus}")
    gen = synth.generate(n, corpus, seed=args.seed, source=args.source)
    row["generate"] = gen
    row["commands"]["generate"] = shlex.join([".venv/bin/python", "benchmarks/synth.py", "--docs", str(n),
                                              "--out", _rel(corpus), "--seed", str(args.seed)])
    log(f"N={n}: {gen['bytes'] / 1e6:.1f} MB in {gen['seconds']:.1f} s; full build (cold cache)…")

    row["commands"]["build"] = equivalent_build_command(corpus, out, cache, args.jobs)
    full = build(corpus, out, cache, logs / "build-full", args.jobs)
    row["build"] = full
    if not full["ok"]:
        log(f"N={n}: BUILD FAILED (exit {full['rc']}):\n{full['stderr_tail']}")
        return row
    r = full["result"]
    log(f"N={n}: built {r['documents']} docs, {r['passages']} passages in {full['wall']:.1f} s, "
        f"peak {full['peak_pss_mb']:.0f} MB (tree PSS)")

    idx_bytes, idx_files = tree_size(out / "index")
    st_bytes, st_files = tree_size(out / "search")
    all_bytes, all_files = tree_size(out)
    row["disk"] = {"index_mb": round(idx_bytes / 1e6, 2), "index_files": idx_files,
                   "static_mb": round(st_bytes / 1e6, 2), "static_files": st_files,
                   "out_mb": round(all_bytes / 1e6, 1), "out_files": all_files}

    log(f"N={n}: CLI search latency ({len(queries)} queries × {args.repeats})…")
    row["cli"] = cli_latency(out / "index", queries, args.repeats, logs / "latency")
    row["cli"]["oneshot"] = cli_oneshot(out, queries[:3], logs / "oneshot")
    row["commands"]["search"] = shlex.join([".venv/bin/python", "build.py", "search", queries[0], "--json",
                                            "--out", _rel(out)])

    if not args.no_browser:
        log(f"N={n}: browser (headless Chromium): first-query bytes and keystroke latency…")
        try:
            b = browser_measures(out, queries, args.input, args.results, args.search_path, args.browser_timeout)
        except Exception as exc:
            b = {"errors": [f"browser: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"]}
        row["browser_raw"] = b
        row["browser"] = summarise_browser(b)
        for e in row["browser"]["errors"][:5]:
            log(f"N={n}: browser: {e}")

    if n in args.incremental:
        extra_id = synth.doc_id(n + 1)
        log(f"N={n}: incremental: add {extra_id}, rebuild with the warm cache…")
        synth.generate_extra(n + 1, corpus, seed=args.seed, source=args.source)
        row["commands"]["extra"] = shlex.join([".venv/bin/python", "benchmarks/synth.py", "--extra", extra_id,
                                               "--out", _rel(corpus), "--seed", str(args.seed)])
        inc = build(corpus, out, cache, logs / "build-incremental", args.jobs)
        row["incremental"] = inc
        if not inc["ok"]:
            log(f"N={n}: INCREMENTAL BUILD FAILED (exit {inc['rc']}):\n{inc['stderr_tail']}")
            return row
        log(f"N={n}: incremental rebuild {inc['wall']:.1f} s; cold full build of N+1 for comparison…")
        ref = build(corpus, work / "out-full", work / "cache-full", logs / "build-full-n1", args.jobs)
        row["full_n1"] = ref
        if not ref["ok"]:
            log(f"N={n}: FULL BUILD OF N+1 FAILED (exit {ref['rc']}):\n{ref['stderr_tail']}")
            return row
        diff, compared = compare_trees(out, work / "out-full")
        same_search = None
        lat_inc = cli_latency(out / "index", queries, 0, logs / "ids-inc")
        lat_ref = cli_latency(work / "out-full" / "index", queries, 0, logs / "ids-ref")
        if "ids" in lat_inc and "ids" in lat_ref:
            same_search = lat_inc["ids"] == lat_ref["ids"]
        row["identical"] = {"identical": not diff, "files_compared": compared, "differing": diff,
                            "search_results_identical": same_search}
        log(f"N={n}: incremental output identical to full rebuild: {'yes' if not diff else 'NO'}"
            f" ({compared} files compared{'' if not diff else f', {len(diff)} differ'}); "
            f"search results identical: {same_search}")
        log(f"N={n}: rebuild with nothing changed…")
        row["unchanged"] = build(corpus, out, cache, logs / "build-unchanged", args.jobs)
        if row["unchanged"]["ok"]:
            log(f"N={n}: rebuild with nothing changed {row['unchanged']['wall']:.1f} s")
    if args.clean:
        for d in (out, cache, work / "out-full", work / "cache-full", corpus):
            _rmtree(d)
    return row


def _rmtree(path):
    import shutil

    shutil.rmtree(path, ignore_errors=True)
    for sibling in (*path.parent.glob(f".{path.name}.building-*"), *path.parent.glob(f".{path.name}.retired-*"),
                    path.with_name(f".{path.name}.old")):
        shutil.rmtree(sibling, ignore_errors=True)
    path.with_name(f".{path.name}.lock").unlink(missing_ok=True)


# ------------------------------------------------------------------ targets + report


def evaluate(rows):
    by_n = {r["n"]: r for r in rows if r.get("build", {}).get("ok")}
    targets = []

    def add(name, measured, ok, note=""):
        targets.append({"target": name, "measured": measured,
                        "status": "n/a" if ok is None else ("PASS" if ok else "FAIL"), "note": note})

    r = by_n.get(1000)
    if r:
        mem = r["build"]["peak_pss_mb"] or r["build"]["peak_rss_mb"]
        add(f"1,000 documents: full build ≤ {TARGETS['build_1000_s']:g} s", f"{r['build']['wall']:.1f} s",
            r["build"]["wall"] <= TARGETS["build_1000_s"],
            f"CPU {r['build']['cpu_s']:.0f} s; load average {r['build']['load_before']:.1f} at the start")
        index_s = next((st.get("seconds") for st in (r["build"].get("result") or {}).get("stages", [])
                        if st.get("stage") == "index"), None)
        if index_s is not None:
            add(f"1,000 documents: index stage ≤ {TARGETS['index_1000_s']:g} s", f"{index_s:.1f} s",
                index_s <= TARGETS["index_1000_s"])
        add("1,000 documents: peak memory ≤ 1.5 GB", f"{mem:.0f} MB (process tree PSS)",
            mem <= TARGETS["build_1000_mb"], f"largest single process {r['build']['maxrss_mb']:.0f} MB")
    else:
        add(f"1,000 documents: full build ≤ {TARGETS['build_1000_s']:g} s, peak memory ≤ 1.5 GB", "not measured", None)
    sizes = sorted(by_n)
    pairs = [(a, b) for a in sizes for b in sizes if b == 10 * a]
    if pairs:
        for a, b in pairs:
            ratio = by_n[b]["build"]["wall"] / max(by_n[a]["build"]["wall"], 1e-9)
            add(f"10× documents ({a:,} → {b:,}) costs ≤ {TARGETS['scaling_10x']:g}× the time", f"{ratio:.2f}×",
                ratio <= TARGETS["scaling_10x"])
    else:
        add(f"10× documents costs ≤ {TARGETS['scaling_10x']:g}× the time", "not measured (needs two sizes 10× apart)", None)
    if r and r.get("incremental", {}).get("ok") and "identical" in r:
        share = r["incremental"]["wall"] / r["build"]["wall"]
        ident = r["identical"]["identical"]
        same = r["identical"].get("search_results_identical")
        add("1,000 + 1 document: rebuild ≤ 10% of the full build, output identical to a full rebuild",
            f"{r['incremental']['wall']:.1f} s = {share:.1%} of {r['build']['wall']:.1f} s; "
            f"identical: {'yes' if ident else 'no'}",
            share <= TARGETS["incremental_share"] and ident,
            f"CPU {r['incremental']['cpu_s']:.0f} s vs {r['build']['cpu_s']:.0f} s; out/index/ not compared, "
            f"its search results {'match' if same else 'DIFFER from' if same is False else '?'} the full rebuild's")
    else:
        add("1,000 + 1 document: rebuild ≤ 10% of the full build, identical output", "not measured", None)
    r10 = by_n.get(10000)
    if r10:
        mem10 = r10["build"]["peak_pss_mb"] or r10["build"]["peak_rss_mb"]
        add(f"10,000 documents: peak memory ≤ {TARGETS['mem_10000_mb'] / 1024:g} GB", f"{mem10:.0f} MB (process tree PSS)",
            mem10 <= TARGETS["mem_10000_mb"])
    else:
        add(f"10,000 documents: peak memory ≤ {TARGETS['mem_10000_mb'] / 1024:g} GB", "not measured", None)
    if r10 and "p50_ms" in r10.get("cli", {}):
        add("10,000 documents: CLI search p50 ≤ 50 ms", f"{r10['cli']['p50_ms']:.1f} ms",
            r10["cli"]["p50_ms"] <= TARGETS["cli_p50_ms_10000"])
    else:
        add("10,000 documents: CLI search p50 ≤ 50 ms", "not measured", None)
    if r10 and "first_query_kb_max" in r10.get("browser", {}):
        b = r10["browser"]
        add("10,000 documents: a first browser query downloads ≤ 300 KB",
            f"max {b['first_query_kb_max']:.0f} KB, median {b['first_query_kb_median']:.0f} KB",
            b["first_query_kb_max"] <= TARGETS["browser_kb_10000"], "judged on the largest query")
    else:
        add("10,000 documents: a first browser query downloads ≤ 300 KB", "not measured", None)
    return targets


def machine_info(chromium=None, packages=("whoosh-reloaded", "rjieba", "jieba", "playwright")):
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
                osname = f"{line.split('=', 1)[1].strip(chr(34))} (Linux {platform.release()})"
    except OSError:
        pass
    versions = {}
    from importlib.metadata import PackageNotFoundError, version

    for pkg in packages:
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "not installed"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "os": osname,
            "python": platform.python_version(), "chromium": chromium or "not run", "packages": versions}


def splice_block(old, start, end, text):
    """``old`` with the text between the ``start`` and ``end`` marker lines replaced by ``text``
    (hand-written text around them is kept); ``old`` plus the block when it has no markers."""
    block = f"{start}\n{text.rstrip()}\n{end}"
    if start in old and end in old and old.index(start) < old.index(end):
        head, rest = old.split(start, 1)
        return head + block + rest.split(end, 1)[1]
    return (old.rstrip() + "\n\n" if old.strip() else "") + block + "\n"


MARKED_BLOCK = re.compile(r"<!-- ([\w.-]+):start -->\n.*?\n<!-- \1:end -->", re.S)


def keep_marked_blocks(old, report):
    """``report`` followed by the blocks kept in the same file between ``<!-- name:start -->``
    and ``<!-- name:end -->`` (by other tools such as benchmarks/relevance.py, or by hand), so
    that rewriting BENCHMARKS.md does not drop them."""
    blocks = [m.group(0) for m in MARKED_BLOCK.finditer(old)]
    return report.rstrip() + "\n" + "".join("\n" + b + "\n" for b in blocks)


def fmt(v, unit="", digits=1):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.{digits}f}{unit}"
    if isinstance(v, int):
        return f"{v:,}{unit}"
    return f"{v}{unit}"


def measures(row):
    """(label, value) rows of one size."""
    b, out = row.get("build", {}), []
    res = b.get("result") or {}
    gen = row.get("generate", {})
    out.append(("corpus", f"{gen.get('documents', row['n']):,} documents, {gen.get('bytes', 0) / 1e6:.1f} MB "
                          f"(generated in {gen.get('seconds', 0):.1f} s)"))
    if not b.get("ok"):
        why = "killed: the machine ran low on memory" if b.get("killed") else f"exit {b.get('rc')}"
        out.append(("full build", f"FAILED ({why}) after {b.get('wall', 0):,.0f} s"))
        if b.get("peak_pss_mb"):
            out.append(("peak memory, process tree (PSS sum / RSS sum)",
                        f"{b['peak_pss_mb']:,.0f} MB / {b['peak_rss_mb']:,.0f} MB (when it stopped)"))
        done = b.get("partial_stages") or []
        if done:
            out.append(("stages finished", ", ".join(f"{st['stage']} {st['seconds']:.0f} s" for st in done)))
        return out
    out.append(("passages / figures", f"{res.get('passages', 0):,} / {res.get('figures', 0):,}"))
    out.append(("full build, cold cache (wall, fresh process)", fmt(b["wall"], " s", 2)))
    out.append(("full build: CPU time (user+sys, all processes); 1-min load before → after",
                f"{b['cpu_s']:,.1f} s; {b['load_before']:.2f} → {b['load_after']:.2f}"))
    out.append(("peak memory, process tree (PSS sum / RSS sum)",
                f"{b['peak_pss_mb']:,.0f} MB / {b['peak_rss_mb']:,.0f} MB"))
    out.append(("peak RSS, largest single process (wait4)", fmt(b["maxrss_mb"], " MB", 0)))
    d = row.get("disk", {})
    out.append(("Whoosh index out/index/", f"{d.get('index_mb', 0):,.1f} MB, {d.get('index_files', 0)} files"))
    out.append(("static search index out/search/", f"{d.get('static_mb', 0):,.1f} MB, {d.get('static_files', 0):,} files"))
    out.append(("whole output out/", f"{d.get('out_mb', 0):,.1f} MB, {d.get('out_files', 0):,} files"))
    c = row.get("cli", {})
    if "p50_ms" in c:
        out.append(("CLI search, warm index: p50 / p95 / max",
                    f"{c['p50_ms']:.1f} / {c['p95_ms']:.1f} / {c['max_ms']:.1f} ms ({c['samples']} calls)"))
        out.append(("CLI search, first pass p50; index open; import",
                    f"{c['first_pass_p50_ms']:.1f} ms; {c['open_ms']:.0f} ms; {c['import_ms']:.0f} ms"))
        one = c.get("oneshot", {})
        if "median_ms" in one:
            out.append(("`build.py search Q --json` one-shot (process start to exit), median",
                        fmt(one["median_ms"], " ms", 0)))
        if c.get("slowest"):
            out.append(("CLI search, slowest queries (median ms)",
                        ", ".join(f"{q} {ms:.0f}" for q, ms in c["slowest"])))
        if c.get("no_hits"):
            out.append(("queries without hits", "、".join(c["no_hits"])))
    elif c:
        out.append(("CLI search", f"error: {c.get('error', '')[:200]}"))
    br = row.get("browser")
    if br:
        if "first_query_kb_median" in br:
            out.append(("browser, first query: bytes downloaded median / max",
                        f"{br['first_query_kb_median']:,.1f} / {br['first_query_kb_max']:,.1f} KB "
                        f"(max: {br['first_query_max_q']})"))
            out.append(("browser, first query: requests median / max",
                        f"{br['requests_median']} / {br['requests_max']}"))
            out.append(("browser, first query: bytes by file kind, for the median query",
                        f"{br.get('median_query', '?')}: "
                        + ", ".join(f"{k} {v:.1f} KB" for k, v in br["median_breakdown_kb"].items())))
            out.append(("browser, page load → results ready (?q=), median",
                        fmt(br["first_query_ready_ms_median"], " ms", 0)))
        if "keystroke_cold_ms_median" in br:
            out.append(("browser, last keystroke → results: median (fresh page) / max",
                        f"{br['keystroke_cold_ms_median']:.0f} / {br['keystroke_cold_ms_max']:.0f} ms"))
        if "keystroke_warm_ms_median" in br:
            out.append(("browser, last keystroke → results: median (next query, same page)",
                        fmt(br["keystroke_warm_ms_median"], " ms", 0)))
        if br.get("errors"):
            out.append(("browser errors", "; ".join(br["errors"][:3])[:300]))
    inc = row.get("incremental")
    if inc:
        if inc.get("ok"):
            share = inc["wall"] / b["wall"]
            out.append(("incremental: +1 document, warm cache (wall)", f"{inc['wall']:.2f} s = {share:.1%} of the full build"))
            ref = row.get("full_n1", {})
            if ref.get("ok"):
                out.append(("cold full build of the N+1 corpus (wall)", fmt(ref["wall"], " s", 2)))
            ident = row.get("identical")
            if ident:
                out.append(("incremental output = full rebuild (all files outside out/index/)",
                            f"{'yes' if ident['identical'] else 'NO'} ({ident['files_compared']:,} files compared)"))
                if ident["differing"]:
                    out.append(("differing files", ", ".join(ident["differing"][:20])
                                + (" …" if len(ident["differing"]) > 20 else "")))
                out.append(("incremental index gives the same search results",
                            {True: "yes", False: "NO", None: "—"}[ident["search_results_identical"]]))
        else:
            out.append(("incremental build", f"FAILED (exit {inc.get('rc')})"))
    same = row.get("unchanged")
    if same:
        if same.get("ok"):
            out.append(("rebuild with nothing changed, warm cache (wall, fresh process)",
                        f"{same['wall']:.2f} s = {same['wall'] / b['wall']:.1%} of the full build"))
        else:
            out.append(("rebuild with nothing changed", f"FAILED (exit {same.get('rc')})"))
    return out


def stage_table(result):
    lines = ["| stage | seconds | share | CPU s (all processes) | peak MB (main) | peak MB (workers) | details |",
             "|---|---:|---:|---:|---:|---:|---|"]
    rows = result.get("stages", [])
    total = sum(s.get("seconds", 0) for s in rows) or 1
    for s in rows:
        extra = ", ".join(f"{k}={v}" for k, v in s.items()
                          if k not in ("stage", "seconds", "cpu_seconds", "peak_mb", "worker_peak_mb"))
        cpu = f"{s['cpu_seconds']:.2f}" if "cpu_seconds" in s else "—"
        lines.append(f"| {s.get('stage')} | {s.get('seconds', 0):.2f} | {s.get('seconds', 0) / total:.0%} | "
                     f"{cpu} | {s.get('peak_mb', 0):.0f} | {s.get('worker_peak_mb', 0):.0f} | {extra} |")
    return lines


def render_markdown(rows, targets, info, argv, started, notes):
    L = ["# Benchmarks: scale, incremental rebuilds, search cost", "",
         f"Generated by `benchmarks/run.py` on {started} (see benchmarks/README.md). "
         "Synthetic corpora recombine sentences of the five real reports (benchmarks/synth.py); "
         "numbers are wall-clock on the machine below and vary by a few percent between runs.", "",
         "## Machine", "",
         f"- CPU: {info['cpu']}, {info['cores']} cores",
         f"- Memory: {info['memory']}",
         f"- OS: {info['os']}",
         f"- Python {info['python']}; " + ", ".join(f"{k} {v}" for k, v in info["packages"].items()),
         f"- Chromium: {info['chromium']} (headless, via Playwright)",
         f"- Code: {info.get('code', '?')}", "",
         "## Commands", "", "```sh",
         shlex.join([".venv/bin/python", "benchmarks/run.py", *argv]),
         "# which runs, for each N:"]
    seen = set()
    for row in rows:
        for key in ("generate", "build", "search", "extra"):
            cmd = row.get("commands", {}).get(key)
            if cmd and cmd not in seen:
                seen.add(cmd)
                L.append(cmd)
    L += ["```", "",
          "The build runs in a fresh process as `python -c 'kb.pipeline.build(…)'` (the same call "
          "as the `build.py` line above, which also prints the stage table) so the per-stage rows "
          "come back as JSON; memory is sampled every 0.2 s over the whole process tree "
          "(main process + worker processes).", "",
          "## Targets", "", "| target | measured | result | note |", "|---|---|---|---|"]
    for t in targets:
        L.append(f"| {t['target']} | {t['measured']} | **{t['status']}** | {t['note']} |")
    L += ["", "## Summary", ""]
    ok_rows = [r for r in rows]
    L.append("| measure | " + " | ".join(f"N = {r['n']:,}" for r in ok_rows) + " |")
    L.append("|---|" + "---:|" * len(ok_rows))
    labels = []
    per = [dict(measures(r)) for r in ok_rows]
    for r in ok_rows:
        for k, _v in measures(r):
            if k not in labels:
                labels.append(k)
    for k in labels:
        L.append(f"| {k} | " + " | ".join(str(p.get(k, "—")).replace("|", "/") for p in per) + " |")
    sizes = [r for r in rows if r.get("build", {}).get("ok")]
    if len(sizes) > 1:
        L += ["", "Scaling of the full build: " + "; ".join(
            f"{a['n']:,} → {b['n']:,}: ×{b['build']['wall'] / a['build']['wall']:.2f} time "
            f"for ×{b['n'] / a['n']:.0f} documents" for a, b in zip(sizes, sizes[1:]))]
    for row in rows:
        L += ["", f"## N = {row['n']:,}", ""]
        L += ["| measure | value |", "|---|---|"]
        L += [f"| {k} | {str(v).replace('|', '/')} |" for k, v in measures(row)]
        if row.get("build", {}).get("ok"):
            L += ["", "Full build (cold cache), per stage:", ""] + stage_table(row["build"]["result"])
        if row.get("incremental", {}).get("ok"):
            L += ["", "Incremental rebuild (+1 document, warm cache), per stage:", ""]
            L += stage_table(row["incremental"]["result"])
        if row.get("unchanged", {}).get("ok"):
            L += ["", "Rebuild with nothing changed, per stage:", ""]
            L += stage_table(row["unchanged"]["result"])
        if not row.get("build", {}).get("ok"):
            if row.get("build", {}).get("partial_stages"):
                L += ["", "Stages finished before the build failed:", ""]
                L += stage_table({"stages": row["build"]["partial_stages"]})
            if row.get("build", {}).get("stderr_tail"):
                L += ["", "```", row["build"]["stderr_tail"], "```"]
    if notes:
        L += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(L) + "\n"


def auto_notes(rows):
    notes = [
        "Peak memory is the highest sampled sum of PSS (proportional set size: shared pages "
        "counted once) over the build process and its workers; the RSS sum over-counts pages "
        "shared after fork. The largest single process comes from wait4's ru_maxrss.",
        "Browser bytes are the response bodies of every request of a fresh context with the "
        "cache disabled (no compression: Python's http.server), from navigation to "
        "`#results[data-ready]` + network idle.",
        "Keystroke latency: performance.now() at the last `input` event of the search box (`#kb-q`, typed with "
        "page.keyboard, 40 ms between keys) to the `data-ready` attribute of `#results` being "
        "set again; it includes the page's debounce and, for a fresh page, the download of the "
        "index shards the query needs.",
        "CLI latency: one kb.search.Searcher kept open, every query run once to warm up and then "
        "R more times; p50/p95 over those calls (search() only, no process start).",
        "Incremental check: the N corpus plus document N+1 (`synth.py --extra`) rebuilt into "
        "the N output with its cache, compared with a cold build of the same N+1 corpus into "
        "another directory; out/index/ is excluded (Whoosh segment files legitimately differ) "
        "but both indexes must return the same ids for every query.",
    ]
    busy = [f"N={r['n']:,} ({r['build']['load_before']:.1f})" for r in rows
            if r.get("build", {}).get("load_before", 0) > 0.7]
    if busy:
        notes.append("The machine was not idle when some builds started (1-min load average): "
                     + ", ".join(busy) + "; wall times are then inflated — compare CPU times too.")
    for row in rows:
        res = (row.get("build") or {}).get("result") or {}
        st = res.get("stages") or []
        if st:
            top = max(st, key=lambda s: s.get("seconds", 0))
            total = sum(s.get("seconds", 0) for s in st) or 1
            notes.append(f"N={row['n']:,}: the slowest stage is `{top['stage']}` "
                         f"({top['seconds']:.1f} s, {top['seconds'] / total:.0%} of the build).")
    return notes


def main(argv=None):
    global CODE, MIN_AVAILABLE_MB
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(prog="python benchmarks/run.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100], metavar="N")
    p.add_argument("--write", metavar="FILE", help="write the report as Markdown (else print it)")
    p.add_argument("--workdir", default=str(ROOT / "benchmarks" / "out"), metavar="DIR")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--source", default=str(ROOT / "corpus"), metavar="DIR")
    p.add_argument("--queries", default=str(ROOT / "benchmarks" / "queries.txt"), metavar="FILE")
    p.add_argument("--repeats", type=int, default=3, help="timed passes over the query list (CLI)")
    p.add_argument("--jobs", type=int, default=None, help="build worker processes (default: the pipeline's)")
    p.add_argument("--incremental", type=int, nargs="*", default=None, metavar="N",
                   help="sizes at which to run the incremental check (default: every size ≤ 1000)")
    p.add_argument("--no-browser", action="store_true", help="skip the Chromium measures")
    p.add_argument("--input", default="#kb-q", help="CSS selector of the search box (default #kb-q)")
    p.add_argument("--results", default="#results", help="CSS selector of the results list")
    p.add_argument("--search-path", default="search/index.html", help="search page, relative to out/")
    p.add_argument("--browser-timeout", type=int, default=60, metavar="S")
    p.add_argument("--code", metavar="DIR", help="benchmark the code in DIR (a snapshot of an earlier "
                   "run, e.g. benchmarks/out/code) instead of snapshotting the working tree")
    p.add_argument("--no-snapshot", action="store_true",
                   help="build with the live working tree instead of a snapshot of build.py, kb/ and "
                        "site_templates/ taken at the start (the snapshot keeps a long run consistent "
                        "while the code is being edited)")
    p.add_argument("--min-free-mb", type=int, default=MIN_AVAILABLE_MB, metavar="MB",
                   help="terminate a build when the machine has less memory available than this "
                        f"(default {MIN_AVAILABLE_MB}); the build is then reported as failed")
    p.add_argument("--clean", action="store_true", help="delete each size's corpus and outputs afterwards")
    p.add_argument("--json", metavar="FILE", help="also write every raw measure as JSON "
                                                     "(default <workdir>/results.json)")
    p.add_argument("--first-query-bytes", metavar="OUT", nargs="+",
                   help="only measure the first-query bytes (browser) of existing build outputs and "
                        "print them as JSON (no corpus, no build)")
    args = p.parse_args(argv)
    if args.first_query_bytes:
        return first_query_bytes(args)
    if args.incremental is None:
        args.incremental = [n for n in args.sizes if n <= 1000]
    queries = load_queries(args.queries)
    started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    MIN_AVAILABLE_MB = args.min_free_mb
    if args.code:
        CODE = Path(args.code).resolve()
        args.code_version = f"the code in {_rel(CODE)} (an earlier snapshot)"
        sys.path.insert(0, str(CODE))
        synth.DATA_DIR = CODE / "kb" / "data"
    elif args.no_snapshot:
        args.code_version = code_version() + " (live working tree)"
    else:
        CODE, args.code_version = snapshot_code(args.workdir)
        args.code_version += f" (snapshot in {_rel(CODE)})"
        # the generator's paragraphs (kb.clean) and city table come from the same code
        sys.path.insert(0, str(CODE))
        synth.DATA_DIR = CODE / "kb" / "data"
    log(f"code: {args.code_version}")

    import signal

    def on_term(signum, _frame):  # write what was measured so far (finally: below)
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    rows, failed = [], False
    try:
        _run_sizes(args, queries, rows)
    except KeyboardInterrupt as exc:
        log(f"interrupted ({exc or 'Ctrl-C'}): reporting the sizes measured so far")
        failed = True
    for row in rows:
        for key in ("build", "incremental", "full_n1", "unchanged"):
            if key in row and not row[key].get("ok"):
                failed = True

    chromium = next((r["browser"]["chromium"] for r in rows if r.get("browser", {}).get("chromium")), None)
    info = machine_info(chromium)
    targets = evaluate(rows)
    info["code"] = args.code_version
    report = render_markdown(rows, targets, info, argv, started, auto_notes(rows))
    _dump(args, rows, info, targets)
    if args.write:
        target = Path(args.write)
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        target.write_text(keep_marked_blocks(old, report), encoding="utf-8")
        log(f"wrote {args.write}")
    else:
        print(report)
    for t in targets:
        log(f"{t['status']:>4}  {t['target']}: {t['measured']}")
    if failed:
        log("a build failed or the run was interrupted: exit 1")
    return 1 if failed else 0


def first_query_bytes(args):
    """--first-query-bytes: the browser's first-query bytes of already built outputs."""
    queries = load_queries(args.queries)
    report = {}
    for out in args.first_query_bytes:
        b = browser_measures(Path(out).resolve(), queries, args.input, args.results, args.search_path,
                             args.browser_timeout, keystroke=False)
        summary = summarise_browser(b)
        summary["per_query_kb"] = {r["q"]: round(r["bytes"] / 1024, 1) for r in b["first_query"]}
        summary["breakdown_kb"] = {r["q"]: {k: round(v / 1024, 1) for k, v in
                                            sorted(r["by_kind"].items(), key=lambda kv: -kv[1])}
                                   for r in b["first_query"]}
        report[out] = summary
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0 if all(not r["errors"] for r in report.values()) else 1


def _run_sizes(args, queries, rows):
    for n in args.sizes:
        row = bench_size(n, args, queries)
        rows.append(row)
        _dump(args, rows)
        if not row["build"].get("ok"):
            break


def _dump(args, rows, info=None, targets=None):
    path = Path(args.json) if args.json else Path(args.workdir) / "results.json"
    path.write_text(json.dumps({"machine": info, "targets": targets, "sizes": rows}, ensure_ascii=False,
                               indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
