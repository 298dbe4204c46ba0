#!/usr/bin/env python3
"""Relevance benchmark: graded research questions → nDCG@10, recall@10 and MRR per system.

    python benchmarks/relevance.py [--out output] [--systems cli browser baseline]
                                   [--queries benchmarks/relevance/queries.yaml]
                                   [--write BENCHMARKS.md] [--json FILE]

Runs, in one run over one built output directory (``python build.py --out DIR``), every
query of the relevance set (benchmarks/relevance/queries.yaml: query, kind, graded judgments
on passage ids) through three systems and scores their top 10:

* ``cli`` — the real command line, one subprocess for the whole set:
  ``python build.py search --queries FILE --out DIR --limit 10`` (JSON lines in and out);
* ``browser`` — the site's search page in headless Debian Chromium (Playwright), opened from
  file:// as ``DIR/search/index.html?q=<query>``; one browser and one page, reused; the ids are
  the ``data-passage-id`` attributes of the result items, in order, once ``#results`` has
  ``data-ready``;
* ``baseline`` — a stock jieba + Whoosh search over the same passages (one Whoosh document per
  passage): ``jieba.analyse.ChineseAnalyzer()`` on the text, ``QueryParser("text", schema,
  group=OrGroup.factory(0.9))``, Whoosh's default BM25F, top 10. Nothing of the project's
  analysis (normalisation, user dictionary, tags) is used: it is the naive default to beat.

Metrics, per query, then averaged over all queries and per kind:

* nDCG@10 — gain 2^grade − 1, discount log2(rank + 1); the ideal ranking is all judged
  passages sorted by grade (so a system is penalised for relevant passages it misses);
* recall@10 — share of the passages judged ≥ 1 that appear in the top 10;
* MRR — 1 / rank of the first passage judged ≥ 2 in the top 10 (0 when none).

It also reports the mean top-10 overlap between cli and browser (|A∩B| / max(|A|, |B|), 1.0
when both are empty) and, per system, the queries that returned nothing. ``--write FILE``
replaces the block between ``<!-- relevance:start -->`` and ``<!-- relevance:end -->`` in FILE
(appends it when absent; ``--block NAME`` names another block, e.g. ``relevance-heldout`` for
the held-out set); ``--json FILE`` writes every query's ids and scores.
Exit status 0 after a report; 2 with one ``错误: …`` line for bad input; 1 with one such
line when a system fails (the CLI exits non-zero, the search page shows an error).
"""

import argparse
import datetime
import json
import math
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

K = 10
SYSTEMS = ("cli", "browser", "baseline")
KINDS = ("single", "multi", "city-instrument", "alias", "province", "traditional", "variant",
         "phrase", "abbreviation", "typo", "punctuation", "natural")
DEFAULT_QUERIES = ROOT / "benchmarks" / "relevance" / "queries.yaml"
BLOCK = "relevance"  # the report goes between <!-- BLOCK:start --> and <!-- BLOCK:end -->
BROWSER_TIMEOUT_MS = 30_000


class InputError(Exception):
    """Bad user input: reported as one line ``错误: <what>: <problem>``."""


# ------------------------------------------------------------------------------ the set

def load_queries(path):
    """The relevance set: a list of {id, q, kind, judgments {passage id: grade 1–3}, note}."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: 无法读取 ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: 不是有效的 YAML ({str(exc).splitlines()[0]})") from None
    items = data.get("queries") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise InputError(f"{path}: 缺少 queries 列表")
    seen = set()
    for n, item in enumerate(items, 1):
        where = f"{path}: 第 {n} 条查询"
        if not isinstance(item, dict):
            raise InputError(f"{where}: 应为映射")
        for field in ("id", "q", "kind", "judgments"):
            if not item.get(field):
                raise InputError(f"{where}: 缺少 {field}")
        if item["id"] in seen:
            raise InputError(f"{where}: id 重复 ({item['id']})")
        seen.add(item["id"])
        if item["kind"] not in KINDS:
            raise InputError(f"{where}: kind 取值无效: {item['kind']}；可选 {' | '.join(KINDS)}")
        judgments = item["judgments"]
        if not isinstance(judgments, dict) or any(g not in (1, 2, 3) for g in judgments.values()):
            raise InputError(f"{where}: judgments 应为 {{段落 id: 1|2|3}}")
    return items


def unknown_ids(queries, passage_ids):
    """(query id, passage id) pairs judged on passages the built corpus does not have."""
    return [(q["id"], pid) for q in queries for pid in q["judgments"] if pid not in passage_ids]


def read_passages(out_dir):
    path = Path(out_dir) / "data" / "passages.jsonl"
    try:
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except OSError:
        raise InputError(f"{path}: 没有段落数据，请先运行 python build.py --out {out_dir}") from None


# ------------------------------------------------------------------------------ metrics

def dcg(gains):
    return sum((2 ** g - 1) / math.log2(rank + 1) for rank, g in enumerate(gains, 1))


def ndcg(ranked, judgments, k=K):
    """nDCG@k with graded gain 2^g − 1; the ideal is every judged passage sorted by grade."""
    ideal = dcg(sorted(judgments.values(), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([judgments.get(pid, 0) for pid in ranked[:k]]) / ideal


def recall(ranked, judgments, k=K):
    """Share of the passages judged ≥ 1 found in the top k."""
    relevant = {pid for pid, g in judgments.items() if g >= 1}
    if not relevant:
        return 0.0
    return len(relevant & set(ranked[:k])) / len(relevant)


def reciprocal_rank(ranked, judgments, k=K, min_grade=2):
    """1 / rank of the first passage judged ≥ min_grade in the top k, else 0."""
    for rank, pid in enumerate(ranked[:k], 1):
        if judgments.get(pid, 0) >= min_grade:
            return 1.0 / rank
    return 0.0


def overlap(a, b, k=K):
    """|A∩B| / max(|A|, |B|) of two top-k lists; 1.0 when both are empty."""
    a, b = set(a[:k]), set(b[:k])
    if not a and not b:
        return 1.0
    return len(a & b) / max(len(a), len(b))


def score(queries, runs):
    """Per-query metrics and the summary (overall and per kind) of every system in ``runs``."""
    per_query, summary = {}, {}
    for system, ranked in runs.items():
        rows = []
        for query, ids in zip(queries, ranked):
            j = query["judgments"]
            rows.append({"id": query["id"], "q": query["q"], "kind": query["kind"], "ids": ids[:K],
                         "ndcg": ndcg(ids, j), "recall": recall(ids, j), "rr": reciprocal_rank(ids, j)})
        per_query[system] = rows
        summary[system] = {"all": _means(rows),
                           "kinds": {kind: _means([r for r in rows if r["kind"] == kind])
                                     for kind in KINDS if any(r["kind"] == kind for r in rows)},
                           "empty": [r["id"] for r in rows if not r["ids"]]}
    if "cli" in runs and "browser" in runs:
        values = [overlap(a, b) for a, b in zip(runs["cli"], runs["browser"])]
        summary["cli_browser_overlap"] = sum(values) / len(values)
        summary["cli_browser_differ"] = [q["id"] for q, v in zip(queries, values) if v < 1.0]
    return per_query, summary


def _means(rows):
    n = len(rows)
    return {"n": n, **{m: (sum(r[m] for r in rows) / n if n else 0.0) for m in ("ndcg", "recall", "rr")}}


# ------------------------------------------------------------------------------ systems

def run_cli(out_dir, queries, k=K):
    """Top-k ids per query from one ``build.py search --queries`` subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "queries.jsonl"
        path.write_text("".join(json.dumps({"q": q["q"]}, ensure_ascii=False) + "\n" for q in queries),
                        encoding="utf-8")
        argv = [sys.executable, str(ROOT / "build.py"), "search", "--queries", str(path),
                "--out", str(out_dir), "--limit", str(k)]
        proc = subprocess.run(argv, capture_output=True, text=True, encoding="utf-8", cwd=ROOT)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise RuntimeError(f"build.py search --queries: {last}")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if [row["q"] for row in lines] != [q["q"] for q in queries]:
        raise RuntimeError(f"build.py search --queries answered {len(lines)} of {len(queries)} queries")
    return [row["ids"][:k] for row in lines]


# The page catches its own exceptions and shows them in the status line (kb-search-ui.js):
# such a search must not pass for an empty result.
PAGE_ERROR = "() => { const s = document.querySelector('#kb-status'); " \
             "return s && s.textContent.includes('检索出错') ? s.textContent.trim() : ''; }"
RESULT_IDS = ("() => Array.from(document.querySelectorAll('#results > [data-passage-id]'))"
              ".map(e => e.getAttribute('data-passage-id'))")


def run_browser(out_dir, queries, k=K, progress=None, browser=None):
    """Top-k ids per query from the search page opened from file:// in headless Chromium
    (``browser``: an open Playwright browser to reuse, else one is launched); returns (ranked
    ids, Chromium version)."""
    from kb.localweb import chromium

    if not (Path(out_dir) / "search" / "index.html").exists():
        raise InputError(f"{out_dir}/search/index.html: 没有检索页，请先运行 python build.py")
    if browser is None:
        with chromium() as launched:
            return run_browser(out_dir, queries, k, progress, launched)
    page_url = (Path(out_dir).resolve() / "search" / "index.html").as_uri()
    ranked = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        for query in queries:
            page.goto(f"{page_url}?q={quote(query['q'])}")
            page.wait_for_selector("#results[data-ready]", state="attached", timeout=BROWSER_TIMEOUT_MS)
            shown = page.evaluate(PAGE_ERROR)
            if errors or shown:
                raise RuntimeError(f"search page, query {query['q']!r}: {(errors or [shown])[0]}")
            ranked.append(page.evaluate(RESULT_IDS)[:k])
            if progress:
                progress()
    finally:
        context.close()
    return ranked, browser.version


def baseline_searcher(passages, directory):
    """The stock jieba + Whoosh OR-grouped search over ``passages``, its index written to the
    empty ``directory`` (not RamStorage: its writer pools in a shared /tmp/MAIN.tmp that
    parallel runs delete under each other); a function q → top-k ids."""
    import logging

    import jieba
    from jieba.analyse import ChineseAnalyzer
    from whoosh import index
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.qparser import OrGroup, QueryParser

    jieba.setLogLevel(logging.WARNING)  # its "Building prefix dict" lines are not our progress
    schema = Schema(id=ID(stored=True, unique=True), text=TEXT(analyzer=ChineseAnalyzer()))
    ix = index.create_in(str(directory), schema)
    writer = ix.writer()
    for p in passages:
        writer.add_document(id=p["id"], text=p["text"])
    writer.commit()
    parser = QueryParser("text", schema, group=OrGroup.factory(0.9))
    searcher = ix.searcher()

    def search(q, k=K):
        return [hit["id"] for hit in searcher.search(parser.parse(q), limit=k)]

    return search


def run_baseline(out_dir, queries, k=K):
    with tempfile.TemporaryDirectory(prefix="kb-baseline-") as tmp:
        search = baseline_searcher(read_passages(out_dir), tmp)
        return [search(q["q"], k) for q in queries]


# ------------------------------------------------------------------------------ report

LABELS = {"cli": "命令行 (cli)", "browser": "浏览器 (browser)", "baseline": "基线 jieba+Whoosh OR"}


def render(summary, systems, n_queries, info, command, when, queries_file, title=""):
    f = "{:.3f}".format
    L = [f"## Relevance{title} (nDCG@10, recall@10, MRR)", "",
         f"Generated by `benchmarks/relevance.py` on {when} over {n_queries} graded research "
         f"questions ({queries_file}; see the README, \"Relevance\"). "
         "Gain 2^grade − 1, log2 discount, ideal from all judgments; recall counts grade ≥ 1; "
         "MRR is the first grade ≥ 2 in the top 10.", "",
         f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, {info['os']}; "
         f"Python {info['python']}; Chromium {info['chromium']}; code {info.get('code', '?')}.", "",
         "```sh", command, "```", "",
         "| system | nDCG@10 | recall@10 | MRR | empty results |", "| --- | --- | --- | --- | --- |"]
    for s in systems:
        a = summary[s]["all"]
        L.append(f"| {LABELS[s]} | {f(a['ndcg'])} | {f(a['recall'])} | {f(a['rr'])} | "
                 f"{len(summary[s]['empty'])} |")
    L.append("")
    if "cli_browser_overlap" in summary:
        differ = summary["cli_browser_differ"]
        L += [f"Mean top-10 overlap cli ↔ browser: {f(summary['cli_browser_overlap'])} "
              f"({len(differ)} of {n_queries} queries differ"
              + (": " + ", ".join(differ) if differ else "") + ").", ""]
    L += ["nDCG@10 by kind of query:", "",
          "| kind | n | " + " | ".join(systems) + " |", "| --- | --- | " + " | ".join("---" for _ in systems) + " |"]
    first = summary[systems[0]]["kinds"]
    for kind in KINDS:
        if kind in first:
            L.append(f"| {kind} | {first[kind]['n']} | "
                     + " | ".join(f(summary[s]["kinds"][kind]["ndcg"]) for s in systems) + " |")
    L.append("")
    for s in systems:
        if summary[s]["empty"]:
            L.append(f"- {LABELS[s]} returned nothing for: {', '.join(summary[s]['empty'])}")
    return "\n".join(L).rstrip() + "\n"


# ------------------------------------------------------------------------------ main

def main(argv=None):
    ap = argparse.ArgumentParser(
        description="检索相关性评测：对分级标注的研究问题计算 nDCG@10、recall@10 和 MRR "
                    "（命令行、浏览器、jieba+Whoosh 基线，一次运行）。")
    ap.add_argument("--out", default="output", help="已构建的输出目录（python build.py --out DIR；默认 output/）")
    ap.add_argument("--systems", nargs="+", default=list(SYSTEMS), metavar="SYSTEM",
                    help="要评测的系统：cli browser baseline（默认三者）")
    ap.add_argument("--queries", default=str(DEFAULT_QUERIES), help="相关性标注集（YAML）")
    ap.add_argument("--write", metavar="FILE",
                    help="把报告写入 FILE 中 <!-- BLOCK:start --> … <!-- BLOCK:end --> 之间（没有则追加）")
    ap.add_argument("--block", default=BLOCK,
                    help=f"--write 的区块名（默认 {BLOCK}；留出集用 relevance-heldout）")
    ap.add_argument("--title", default="", help="报告标题的补充（如 \"，留出集\"）")
    ap.add_argument("--json", metavar="FILE", help="每个查询的结果与得分（JSON）")
    ap.add_argument("--no-progress", action="store_true", help="不显示进度条")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = ap.parse_args(argv)
    try:
        return _run(args, argv)
    except InputError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # a system failed (CLI exit status, an error on the search page)
        print(f"错误: {exc}", file=sys.stderr)
        return 1


def _run(args, argv):
    from tqdm import tqdm

    from run import code_version, machine_info, splice_block  # benchmarks/ is on sys.path

    bad = [s for s in args.systems if s not in SYSTEMS]
    if bad:
        raise InputError(f"--systems: 未知系统 {bad[0]}；可选 {' | '.join(SYSTEMS)}")
    systems = [s for s in SYSTEMS if s in args.systems]
    out = Path(args.out)
    queries = load_queries(args.queries)
    missing = unknown_ids(queries, {p["id"] for p in read_passages(out)})
    if missing:
        qid, pid = missing[0]
        raise InputError(f"{args.queries}: {qid} 标注了 {out} 中没有的段落 {pid}"
                         f"（共 {len(missing)} 处；标注针对 corpus/ 的五篇报告）")
    runs, chromium_version = {}, None
    for system in systems:
        bar = tqdm(total=len(queries), desc=system, unit="q", file=sys.stderr, disable=args.no_progress)
        if system == "cli":
            runs[system] = run_cli(out, queries)
            bar.update(len(queries))
        elif system == "browser":
            runs[system], chromium_version = run_browser(out, queries, progress=lambda: bar.update(1))
        else:
            runs[system] = run_baseline(out, queries)
            bar.update(len(queries))
        bar.close()
    per_query, summary = score(queries, runs)
    info = machine_info(chromium_version)
    info["code"] = code_version()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = shlex.join([".venv/bin/python", "benchmarks/relevance.py", *argv])
    try:
        queries_file = Path(args.queries).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        queries_file = args.queries
    report = render(summary, systems, len(queries), info, command, when, queries_file, args.title)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "summary": summary, "queries": per_query},
                                              ensure_ascii=False, indent=1), encoding="utf-8")
    if args.write:
        target = Path(args.write)
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        target.write_text(splice_block(old, f"<!-- {args.block}:start -->", f"<!-- {args.block}:end -->", report),
                          encoding="utf-8")
        print(f"wrote {args.write}", file=sys.stderr)
    else:
        print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
