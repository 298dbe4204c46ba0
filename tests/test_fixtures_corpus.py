"""The fixture corpus of real source shapes (tests/fixtures/realistic) and its gold.

Checks that every document builds through the real pipeline, in every format, and
that the gold is sound: each anchor matches exactly one passage, every metric and
instrument exists. How well the tags match the gold is measured, not asserted, by
benchmarks/fixtures_eval.py (BENCHMARKS.md)."""

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from kb import pipeline
from kb.vocab import load_vocab
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "realistic"
GOLD = yaml.safe_load((FIXTURES / "gold.yaml").read_text(encoding="utf-8"))["documents"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("fixtures") / "output"
    pipeline.build(FIXTURES / "corpus", out, cache_dir=out.parent / "cache", progress=False, jobs=1)
    data = out / "data"
    passages = [json.loads(line) for line in (data / "passages.jsonl").read_text(encoding="utf-8").splitlines()]
    docs = json.loads((data / "documents.json").read_text(encoding="utf-8"))
    return out, passages, docs if isinstance(docs, list) else docs["documents"]


def test_every_format_builds_into_passages(built):
    _out, passages, docs = built
    suffixes = Counter(Path(d["source"]).suffix for d in docs)
    assert {".html", ".pdf", ".docx", ".txt"} <= set(suffixes) and len(docs) >= 12
    per_doc = Counter(p["doc"] for p in passages)
    assert all(per_doc[d["id"]] >= 3 for d in docs), per_doc
    assert set(GOLD) == {d["id"] for d in docs}


def test_every_gold_anchor_matches_exactly_one_passage(built):
    from benchmarks.fixtures_eval import locate

    _out, passages, _docs = built
    by_doc = {}
    for p in passages:
        by_doc.setdefault(p["doc"], []).append(p)
    bad = []
    for doc_id, gold in GOLD.items():
        anchors = [g["anchor"] for g in gold.get("passages", [])]
        anchors += [g["anchor"] for key in ("figures", "no_figures") for g in gold.get(key, [])]
        for anchor in anchors:
            hits = locate(anchor, by_doc[doc_id])
            if len(hits) != 1:
                bad.append((doc_id, anchor, len(hits)))
    assert not bad


def test_gold_uses_the_vocabularies():
    vocab = load_vocab()
    instruments = {i["slug"] for i in vocab.instruments}
    metrics = {m["slug"]: m for m in vocab.metrics}
    for doc_id, gold in GOLD.items():
        for g in gold.get("passages", []):
            assert set(g["instruments"]) <= instruments, (doc_id, g["anchor"])
        for f in gold.get("figures", []):
            assert f["metric"] in metrics, (doc_id, f)
            assert f.get("city") or f.get("province"), (doc_id, f)


def test_url_of_a_sidecar_reaches_documents_json(built):
    _out, _passages, docs = built
    by_id = {d["id"]: d for d in docs}
    assert by_id["r01_shenzhen_gov"]["source_url"] == "https://jrj.example.cn/zcwj/2024/0301_kjrz.html"
    assert by_id["r05_shaanxi_plan"]["source_url"] is None


def test_rebuild_from_the_extraction_cache_is_byte_identical(built, tmp_path):
    import filecmp

    out, _passages, _docs = built
    again = tmp_path / "output"
    pipeline.build(FIXTURES / "corpus", again, cache_dir=out.parent / "cache", progress=False, jobs=1)
    assert list((out.parent / "cache" / "extract").rglob("*.json"))  # html, pdf, docx were cached
    for sub in ("data", "doc"):
        cmp = filecmp.dircmp(out / sub, again / sub)
        assert not (cmp.diff_files or cmp.left_only or cmp.right_only), sub
