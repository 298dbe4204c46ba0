#!/usr/bin/env python3
"""One very large document: how long it takes to build, where, and at what memory.

    .venv/bin/python benchmarks/large_doc.py [--mb 30] [--workdir benchmarks/out/large]
                                             [--write BENCHMARKS.md]

The document is the text of synthetic reports (benchmarks/synth.py, seed 0) joined
with blank lines until it reaches ``--mb`` MB, with one sidecar: a 30 MB text as a
user might drop in (a yearbook, a scraped archive). It is built cold in a fresh
process from a snapshot of the code, exactly as ``run.py`` builds (stage rows, wall and
CPU time, peak memory of the process tree). ``--write`` puts the result in the ``large-document`` block of
BENCHMARKS.md.
"""

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402
from run import ROOT, build, machine_info, snapshot_code, splice_block, stage_table  # noqa: E402
from synth import generate  # noqa: E402

START, END = "<!-- large-document:start -->", "<!-- large-document:end -->"
TARGET_S = 60  # issue 10 item 5 / issue 11 item 4: one 30 MB document builds in at most this wall time
SIDECAR = "title: 超大文档基准\npublisher: 基准测试\ndate: 2025\ntype: report\n"


def make_corpus(workdir, mb):
    """corpus/big.txt of about ``mb`` MB (synthetic reports joined) + big.yaml."""
    source, corpus = workdir / "parts", workdir / "corpus"
    for d in (source, corpus):
        shutil.rmtree(d, ignore_errors=True)
    n = max(1, int(mb * 1024 * 1024 / 17_000) + 1)  # synthetic documents average ~18 KB
    generate(n, source)
    texts, size = [], 0
    for path in sorted(source.glob("*.txt")):
        if size >= mb * 2**20:
            break
        texts.append(path.read_text(encoding="utf-8"))
        size += len(texts[-1].encode("utf-8"))
    corpus.mkdir(parents=True)
    (corpus / "big.txt").write_text("\n\n".join(texts), encoding="utf-8")
    (corpus / "big.yaml").write_text(SIDECAR, encoding="utf-8")
    shutil.rmtree(source)
    return corpus, (corpus / "big.txt").stat().st_size


def report(run, size, mb):
    res = run.get("result") or {}
    lines = [f"## One large document ({mb:g} MB)", "",
             f"`benchmarks/large_doc.py --mb {mb:g}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
             f"one text of {size / 2**20:.1f} MB (synthetic reports joined), cold build in a fresh process.",
             "",
             "| measure | value |", "|---|---:|",
             f"| build finished | {'yes' if run['ok'] else 'no: ' + run['stderr_tail'][-200:]} |",
             f"| passages / figures | {res.get('passages', 0):,} / {res.get('figures', 0):,} |",
             f"| wall time | {run['wall']:.1f} s |",
             f"| CPU time (all processes) | {run['cpu_s']:.1f} s |",
             f"| 1-min load before → after | {run['load_before']} → {run['load_after']} |",
             f"| peak memory, process tree (PSS sum) | {run['peak_pss_mb']:.0f} MB |",
             f"| peak RSS, largest single process | {run['maxrss_mb']:.0f} MB |",
             "", "Per stage:", ""]
    lines += stage_table(res or {"stages": run.get("partial_stages", [])})
    if mb == 30:
        verdict = "PASS" if run["ok"] and run["wall"] <= TARGET_S else "FAIL"
        lines += ["", f"Target ≤ {TARGET_S} s wall for 30 MB: **{verdict}** ({run['wall']:.1f} s at a "
                      f"1-min load of {run['load_before']} → {run['load_after']} on this machine)."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python benchmarks/large_doc.py",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--mb", type=float, default=30, help="size of the document in MB (default 30)")
    p.add_argument("--workdir", default=str(ROOT / "benchmarks" / "out" / "large"))
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--write", metavar="FILE", help="put the result in FILE's large-document block")
    args = p.parse_args(argv)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    corpus, size = make_corpus(workdir, args.mb)
    for d in ("out", "cache"):
        shutil.rmtree(workdir / d, ignore_errors=True)
    run.CODE, version = snapshot_code(workdir)  # the code measured, even if the tree is edited
    result = build(corpus, workdir / "out", workdir / "cache", workdir / "build.log", args.jobs)
    text = report(result, size, args.mb) + f"\nCode: {version}.\n"
    info = machine_info(packages=("whoosh-reloaded", "rjieba"))
    text += f"\nMachine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python {info['python']}.\n"
    print(text)
    if args.write:
        target = Path(args.write)
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        target.write_text(splice_block(old, START, END, text), encoding="utf-8")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
