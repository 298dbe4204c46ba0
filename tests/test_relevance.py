"""benchmarks/relevance.py: the metrics, the relevance set and the stock baseline."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import relevance as rel
from benchmarks.run import keep_marked_blocks

ROOT = Path(__file__).resolve().parent.parent

J = {"a": 3, "b": 2, "c": 1}


def passages_of(out):
    with open(out / "data" / "passages.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


# ------------------------------------------------------------------------------ metrics

def test_ndcg_by_hand():
    # DCG of b, x, a = (2^2-1)/log2 2 + 0 + (2^3-1)/log2 4 = 3 + 3.5
    # ideal a, b, c  = 7 + 3/log2 3 + 1/log2 4
    ideal = 7 + 3 / math.log2(3) + 0.5
    assert rel.ndcg(["b", "x", "a"], J) == pytest.approx(6.5 / ideal)
    assert rel.ndcg(["a", "b", "c"], J) == pytest.approx(1.0)
    assert rel.ndcg(["a", "c", "b"], J) < 1.0
    assert rel.ndcg([], J) == 0.0
    # only the top k counts
    assert rel.ndcg(["x"] * 10 + ["a"], J) == 0.0


def test_recall_and_reciprocal_rank_by_hand():
    assert rel.recall(["b", "x", "a"], J) == pytest.approx(2 / 3)
    assert rel.recall(["x"] * 10 + ["a", "b", "c"], J) == 0.0
    assert rel.reciprocal_rank(["b", "x", "a"], J) == 1.0
    # grade 1 is not a hit for MRR: the first grade ≥ 2 is at rank 3
    assert rel.reciprocal_rank(["c", "x", "a"], J) == pytest.approx(1 / 3)
    assert rel.reciprocal_rank(["c", "x"], J) == 0.0


def test_overlap_by_hand():
    assert rel.overlap([], []) == 1.0
    assert rel.overlap(["a"], []) == 0.0
    assert rel.overlap(["a", "b"], ["b", "c", "d"]) == pytest.approx(1 / 3)
    assert rel.overlap(["a", "b"], ["b", "a"]) == 1.0


def test_score_summarises_per_kind_and_counts_empty_results():
    queries = [{"id": "q1", "q": "甲", "kind": "single", "judgments": J},
               {"id": "q2", "q": "乙", "kind": "typo", "judgments": {"d": 3}}]
    runs = {"cli": [["a", "b", "c"], []], "browser": [["a", "b", "c"], ["d"]]}
    per_query, summary = rel.score(queries, runs)
    assert summary["cli"]["all"]["ndcg"] == pytest.approx(0.5)
    assert summary["browser"]["all"]["ndcg"] == pytest.approx(1.0)
    assert summary["cli"]["kinds"]["typo"] == {"n": 1, "ndcg": 0.0, "recall": 0.0, "rr": 0.0}
    assert summary["cli"]["empty"] == ["q2"] and summary["browser"]["empty"] == []
    assert summary["cli_browser_overlap"] == pytest.approx(0.5)
    assert summary["cli_browser_differ"] == ["q2"]
    assert per_query["browser"][1]["ids"] == ["d"]


# ------------------------------------------------------------------------------ the set

def test_relevance_set_is_valid_for_the_built_corpus(built_site):
    queries = rel.load_queries(rel.DEFAULT_QUERIES)
    assert len(queries) >= 70
    assert {q["kind"] for q in queries} == set(rel.KINDS)
    assert all(q["judgments"] for q in queries)
    ids = {p["id"] for p in passages_of(built_site)}
    assert rel.unknown_ids(queries, ids) == []


@pytest.mark.parametrize("name, prefix, size", [("heldout.yaml", "ho-", 30), ("heldout2.yaml", "h2-", 36),
                                                ("heldout3.yaml", "h3-", 50)])
def test_held_out_sets_are_valid_and_ask_new_questions(built_site, name, prefix, size):
    held = rel.load_queries(rel.DEFAULT_QUERIES.with_name(name))
    assert len(held) >= size and all(q["judgments"] and q["id"].startswith(prefix) for q in held)
    assert rel.unknown_ids(held, {p["id"] for p in passages_of(built_site)}) == []
    for other in ("queries.yaml", "heldout.yaml", "heldout2.yaml", "heldout3.yaml"):
        if other != name:
            seen = rel.load_queries(rel.DEFAULT_QUERIES.with_name(other))
            assert not {q["q"] for q in held} & {q["q"] for q in seen}, other
            assert not {q["id"] for q in held} & {q["id"] for q in seen}, other


@pytest.mark.parametrize("body, problem", [
    ("queries: []", "缺少 queries"),
    ("queries:\n  - {id: a, q: 甲, kind: memo, judgments: {x: 1}}", "kind 取值无效"),
    ("queries:\n  - {id: a, q: 甲, kind: single, judgments: {x: 4}}", "judgments"),
    ("queries:\n  - {id: a, q: 甲, kind: single}", "缺少 judgments"),
    ("queries: [", "不是有效的 YAML"),
])
def test_bad_relevance_file_is_one_clear_line(tmp_path, capsys, built_site, body, problem):
    path = tmp_path / "q.yaml"
    path.write_text(body, encoding="utf-8")
    assert rel.main(["--out", str(built_site), "--queries", str(path), "--systems", "baseline"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"错误: {path}") and problem in err[0]


def test_missing_output_and_unknown_system_are_refused(tmp_path, capsys):
    assert rel.main(["--out", str(tmp_path / "nothing")]) == 2
    assert "passages.jsonl" in capsys.readouterr().err
    assert rel.main(["--out", str(tmp_path), "--systems", "google"]) == 2
    assert capsys.readouterr().err.startswith("错误: --systems: 未知系统 google")


# ------------------------------------------------------------------------------ systems

def test_baseline_finds_judged_passages(built_site, tmp_path):
    passages = passages_of(built_site)
    search = rel.baseline_searcher(passages, tmp_path)
    ids = search("投贷联动")
    assert 0 < len(ids) <= 10 and set(ids) <= {p["id"] for p in passages}
    judged = next(q for q in rel.load_queries(rel.DEFAULT_QUERIES) if q["id"] == "single-linkage")
    assert rel.ndcg(ids, judged["judgments"]) > 0.5
    # OR-grouped: a question whose words no passage holds together still finds passages
    assert search("科创票据 高收益债")


def test_cli_system_answers_every_query_in_order(built_site):
    queries = rel.load_queries(rel.DEFAULT_QUERIES)[:3]
    ranked = rel.run_cli(built_site, queries)
    ids = {p["id"] for p in passages_of(built_site)}
    assert len(ranked) == 3 and all(r and len(r) <= 10 and set(r) <= ids for r in ranked)


START, END = "<!-- relevance:start -->", "<!-- relevance:end -->"


def test_write_replaces_only_the_relevance_block(tmp_path, built_site):
    target = tmp_path / "BENCHMARKS.md"
    target.write_text(f"# Bench\n\n{START}\nold table\n{END}\n\nHand-written notes.\n",
                      encoding="utf-8")
    assert rel.main(["--out", str(built_site), "--systems", "baseline", "--no-progress",
                     "--write", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Bench\n\n" + START) and text.endswith(END + "\n\nHand-written notes.\n")
    assert "old table" not in text and "| 基线 jieba+Whoosh OR |" in text
    assert "(benchmarks/relevance/queries.yaml;" in text
    # a second set (e.g. the held-out questions) goes into its own block, titled, beside the first
    other = tmp_path / "other.yaml"
    other.write_text(rel.DEFAULT_QUERIES.read_text(encoding="utf-8"), encoding="utf-8")
    assert rel.main(["--out", str(built_site), "--systems", "baseline", "--no-progress",
                     "--queries", str(other), "--block", "relevance-heldout", "--title", "，留出集",
                     "--write", str(target)]) == 0
    both = target.read_text(encoding="utf-8")
    assert both.startswith(text.rstrip("\n").rsplit("\n\nHand-written", 1)[0])
    assert "<!-- relevance-heldout:start -->\n## Relevance，留出集" in both
    assert f"questions ({other};" in both and both.count("## Relevance") == 2
    # a full rewrite by benchmarks/run.py keeps the block
    kept = keep_marked_blocks(text, "# New scale report\n")
    assert kept.startswith("# New scale report\n") and "| 基线 jieba+Whoosh OR |" in kept
    assert "Hand-written notes." not in kept


def test_browser_system_reads_the_result_ids(built_site, browser):
    queries = [q for q in rel.load_queries(rel.DEFAULT_QUERIES) if q["kind"] == "single"][:2]
    ranked, version = rel.run_browser(built_site, queries, browser=browser)
    ids = {p["id"] for p in passages_of(built_site)}
    assert version and len(ranked) == 2 and all(r and len(r) <= 10 and set(r) <= ids for r in ranked)


def test_an_error_on_the_search_page_is_not_an_empty_result(tmp_path):
    out = tmp_path / "output"
    (out / "search").mkdir(parents=True)
    (out / "data").mkdir()
    (out / "data" / "passages.jsonl").write_text('{"id": "d-00000000", "text": "投贷联动"}\n', encoding="utf-8")
    (out / "search" / "index.html").write_text(
        '<meta charset="utf-8"><p id="kb-status">检索出错：索引无法读取</p><ol id="results" data-ready></ol>',
        encoding="utf-8")
    queries = tmp_path / "q.yaml"
    queries.write_text("queries:\n  - {id: a, q: 投贷联动, kind: single, judgments: {d-00000000: 3}}\n",
                       encoding="utf-8")
    # as a user runs it (its own Chromium, in its own process)
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "relevance.py"), "--out", str(out),
                           "--queries", str(queries), "--systems", "browser", "--no-progress"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()
    assert err == ["错误: search page, query '投贷联动': 检索出错：索引无法读取"]
