"""Pure helpers of benchmarks/pagefind_compare.py (no browser, no Pagefind)."""

import gzip

from benchmarks.pagefind_compare import (hit_metrics, load_queries, median, passage_id_of_url,
                                         query_parts, relevant_ids, transfer_size)

PASSAGES = [
    {"id": "a", "text": "广州设立風險補償资金池，支持科技贷款。"},   # traditional: normalised
    {"id": "b", "text": "武汉推进投贷联动试点。"},
    {"id": "c", "text": "广州的风险分担与补偿机制。"},               # words, not the substring
    {"id": "d", "text": "ＡＩＣ股权投资试点在广州落地，风险补偿同步推进。"},  # full-width ASCII
]


def test_relevance_needs_every_part_as_a_normalised_substring():
    assert query_parts('广州  "风险补偿"') == ["广州", "风险补偿"]
    assert relevant_ids(PASSAGES, "风险补偿") == {"a", "d"}
    assert relevant_ids(PASSAGES, "广州 风险补偿") == {"a", "d"}
    assert relevant_ids(PASSAGES, "aic 股权投资") == {"d"}
    assert relevant_ids(PASSAGES, "投贷联动 广州") == set()
    assert relevant_ids(PASSAGES, "   ") == set()
    # pre-normalised input is used as is
    assert relevant_ids([{"id": "x", "norm": "风险补偿"}], "風險補償") == {"x"}


def test_hit_metrics():
    rel = {"a", "b", "c", "d"}
    m = hit_metrics(["a", "x", "b", "a"], rel, k=2)          # duplicates count once
    assert (m["hits"], m["relevant"], m["found"]) == (3, 4, 2)
    assert m["recall"] == 0.5 and m["precision"] == 2 / 3
    assert m["recall_at_k"] == 0.5                           # first 2: a, x → 1 of min(2, 4)
    assert hit_metrics(["a"], {"a"}, k=20)["recall_at_k"] == 1.0
    empty = hit_metrics([], set())
    assert empty["recall"] is None and empty["precision"] is None and empty["recall_at_k"] is None
    assert hit_metrics([], {"a"})["recall"] == 0.0


def test_small_helpers(tmp_path):
    assert median([3, None, 1, 2]) == 2 and median([None]) is None
    assert passage_id_of_url("/doc/x.html#x-1a2b") == "x-1a2b"
    assert passage_id_of_url("doc/x.html") is None
    text = ("科技金融" * 500).encode()
    assert transfer_size(text) < len(text)
    packed = gzip.compress(text)
    assert transfer_size(packed) == len(packed)              # already gzip: as is
    f = tmp_path / "q.txt"
    f.write_text("# comment\n\n知识产权质押\n 广州 风险补偿 \n", encoding="utf-8")
    assert load_queries(f) == ["知识产权质押", "广州 风险补偿"]


def test_report_splice_keeps_hand_written_text():
    from benchmarks.pagefind_compare import GEN_END, GEN_START, splice

    first = splice("", "table v1")
    assert first.startswith(GEN_START) and first.rstrip().endswith(GEN_END) and "table v1" in first
    doc = "# Notes\n\n" + first + "\nVerdict by hand.\n"
    again = splice(doc, "table v2")
    assert again.startswith("# Notes\n") and again.endswith("\nVerdict by hand.\n")
    assert "table v2" in again and "table v1" not in again
