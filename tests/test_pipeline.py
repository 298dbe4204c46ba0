"""The whole build: exports, determinism, stable ids, bad input, the command line."""

import csv
import filecmp
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kb import pipeline
from tests.conftest import CORPUS, ROOT


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


def load_passages(out):
    lines = (Path(out) / "data" / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def tree(root, skip=("index",)):
    root = Path(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and p.relative_to(root).parts[0] not in skip)


# ------------------------------------------------------------------ exports


def test_exports_exist_and_agree(built_site):
    data = built_site / "data"
    passages = load_passages(built_site)
    assert len(passages) > 100
    with open(data / "passages.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert (data / "passages.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert [r["id"] for r in rows] == [p["id"] for p in passages]
    docs = json.loads((data / "documents.json").read_text(encoding="utf-8"))
    assert sorted(d["id"] for d in docs) == sorted({p["doc"] for p in passages})
    assert sum(d["passages"] for d in docs) == len(passages)
    taxonomy = json.loads((data / "taxonomy.json").read_text(encoding="utf-8"))
    assert len(taxonomy["cities"]) >= 20
    assert {i["slug"] for i in taxonomy["instruments"]} >= {"equity", "credit", "governance"}
    for field in ("id", "doc", "section", "text", "cities", "mentions", "instruments",
                  "year", "years", "url"):
        assert all(field in p for p in passages), field
    assert (data / "figures.json").exists() and (data / "figures.csv").exists()


def test_permalinks_point_to_anchors_on_document_pages(built_site):
    for p in load_passages(built_site)[::25]:
        page, anchor = p["url"].split("#")
        html = (built_site / page).read_text(encoding="utf-8")
        assert f'id="{anchor}"' in html


def test_passage_ids_unique(built_site):
    ids = [p["id"] for p in load_passages(built_site)]
    assert len(ids) == len(set(ids))


# ------------------------------------------------------------------ determinism + stability


def test_two_builds_are_byte_identical(built_site, tmp_path):
    out = tmp_path / "again"
    pipeline.build(CORPUS, out, cache_dir=tmp_path / "cache", progress=False)
    assert tree(out, skip=()) == tree(built_site, skip=())
    mismatch = filecmp.cmpfiles(built_site, out, tree(out, skip=()), shallow=False)[1:]
    assert mismatch == ([], [])


def test_ids_survive_adding_and_editing_other_documents(built_site, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    extra = corpus / "zz_new.txt"
    extra.write_text("一、总体要求\n\n我市设立科技金融风险补偿资金池，规模10亿元。\n", encoding="utf-8")
    (corpus / "zz_new.yaml").write_text(
        "title: 新增测试文件\npublisher: 测试\ndate: 2025\ntype: policy\nhome_city: 合肥\n",
        encoding="utf-8")
    first = next(p for p in sorted(corpus.glob("000_*.txt")))
    first.write_text(first.read_text(encoding="utf-8") + "\n附：本文另有补充说明。\n", encoding="utf-8")
    out = tmp_path / "out"
    pipeline.build(corpus, out, cache_dir=tmp_path / "cache", progress=False)
    before = {p["id"]: p["text"] for p in load_passages(built_site) if not p["doc"].startswith("000")}
    after = {p["id"]: p["text"] for p in load_passages(out)}
    assert all(after.get(pid) == text for pid, text in before.items())
    assert any(pid.startswith("zz_new-") for pid in after)


def test_incremental_rebuild_matches_full_rebuild(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    out, cache = tmp_path / "out", tmp_path / "cache"
    pipeline.build(corpus, out, cache_dir=cache, progress=False)
    (corpus / "zz_new.txt").write_text("我市推动投贷联动，支持科技型企业上市。\n", encoding="utf-8")
    (corpus / "zz_new.yaml").write_text(
        "title: 增量测试\npublisher: 测试\ndate: 2025-01\ntype: news\nhome_city: 苏州\n", encoding="utf-8")
    result = pipeline.build(corpus, out, cache_dir=cache, progress=False)
    stages = {row["stage"]: row for row in result["stages"]}
    assert stages["clean+split+tag+figures"]["analysed"] == 1
    assert stages["index"]["mode"].startswith("incremental")
    full = tmp_path / "full"
    pipeline.build(corpus, full, cache_dir=tmp_path / "cache2", progress=False)
    names = tree(full)
    assert tree(out) == names
    assert filecmp.cmpfiles(full, out, names, shallow=False)[1:] == ([], [])


# ------------------------------------------------------------------ bad input


BAD_INPUTS = {
    "missing sidecar": lambda c: (c / "002_8e8fbbf27cdab432.yaml").unlink(),
    "malformed sidecar": lambda c: (c / "002_8e8fbbf27cdab432.yaml").write_text("title: [oops\n", encoding="utf-8"),
    "unknown type": lambda c: (c / "002_8e8fbbf27cdab432.yaml").write_text(
        (CORPUS / "002_8e8fbbf27cdab432.yaml").read_text(encoding="utf-8").replace("type: report", "type: memo"),
        encoding="utf-8"),
    "undecodable": lambda c: (c / "002_8e8fbbf27cdab432.txt").write_bytes(bytes(range(128, 256)) * 20),
    "empty file": lambda c: (c / "002_8e8fbbf27cdab432.txt").write_text("", encoding="utf-8"),
    "duplicate id": lambda c: shutil.copy(c / "002_8e8fbbf27cdab432.txt", c / "002_8e8fbbf27cdab432.md"),
}


@pytest.fixture(scope="module")
def prebuilt(tmp_path_factory):
    """A built output to check that failed builds leave it untouched."""
    base = tmp_path_factory.mktemp("prebuilt")
    pipeline.build(CORPUS, base / "out", cache_dir=base / "cache", progress=False)
    return base


@pytest.mark.parametrize("problem", sorted(BAD_INPUTS))
def test_bad_input_one_line_nonzero_output_untouched(prebuilt, tmp_path, problem):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    BAD_INPUTS[problem](corpus)
    out = tmp_path / "out"
    shutil.copytree(prebuilt / "out", out)
    before = {p: (out / p).read_bytes() for p in tree(out, skip=())}
    proc = run_cli("--corpus", corpus, "--out", out, "--cache", prebuilt / "cache", "--no-progress")
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "002_8e8fbbf27cdab432" in lines[0] and problem in lines[0]
    assert {p: (out / p).read_bytes() for p in tree(out, skip=())} == before
    assert not list(tmp_path.glob(".out.building*")), "no staging directory left behind"


# ------------------------------------------------------------------ command line


def test_help_explains_itself():
    proc = run_cli("--help")
    assert proc.returncode == 0 and "--corpus" in proc.stdout and "search" in proc.stdout
    proc = run_cli("search", "--help")
    assert proc.returncode == 0 and "--instrument" in proc.stdout and "--queries" in proc.stdout


def test_cli_search_json_with_filters(built_site):
    proc = run_cli("search", "知识产权质押", "--city", "wuhan", "--json", "--limit", "5", "--out", built_site)
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)["hits"]
    assert hits and all("武汉" in h["cities"] for h in hits)
    assert all("【" in h["snippet"] for h in hits)
    assert all(h["url"].startswith("doc/") for h in hits)


def test_cli_search_human_output_and_unknown_filter(built_site):
    proc = run_cli("search", "风险补偿", "--out", built_site)
    assert proc.returncode == 0 and "【风险补偿】" in proc.stdout
    proc = run_cli("search", "风险补偿", "--instrument", "nope", "--out", built_site)
    assert proc.returncode != 0 and "nope" in proc.stderr
    proc = run_cli("search", "风险补偿", "--out", built_site.parent / "missing")
    assert proc.returncode != 0 and "python build.py" in proc.stderr


def test_cli_batch_queries(built_site, tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"q": "投贷联动"}\n{"q": "风险补偿", "city": "广州", "instrument": "risk-sharing"}\n',
                       encoding="utf-8")
    proc = run_cli("search", "--queries", queries, "--out", built_site)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["q"] for r in rows] == ["投贷联动", "风险补偿"]
    assert rows[0]["ids"] and rows[1]["ids"]
    by_id = {p["id"]: p for p in load_passages(built_site)}
    assert all("广州" in by_id[i]["cities"] for i in rows[1]["ids"])


def test_renamed_document_gets_its_own_ids_from_a_warm_cache(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    cache = tmp_path / "cache"
    pipeline.build(corpus, tmp_path / "out1", cache_dir=cache, progress=False)
    for ext in (".txt", ".yaml"):
        (corpus / f"000_32d561a2c1e35645{ext}").rename(corpus / f"renamed{ext}")
    pipeline.build(corpus, tmp_path / "out2", cache_dir=cache, progress=False)
    renamed = [p for p in load_passages(tmp_path / "out2") if p["doc"] == "renamed"]
    assert renamed and all(p["id"].startswith("renamed-") for p in renamed)
    assert all(p["url"].startswith("doc/renamed.html#renamed-") for p in renamed)


def test_frozen_nests_and_fork_map_results_are_in_order():
    """kb.parallel: objects are frozen (left alone by the collector) until the outermost
    frozen() ends, also when fork_map (which freezes around its workers) runs inside."""
    import gc

    from kb.parallel import fork_map, frozen

    assert gc.get_freeze_count() == 0
    with frozen():
        held = gc.get_freeze_count()
        assert held > 0
        assert fork_map(lambda a, b: a * b, [(k, k + 1) for k in range(7)], 2) == [k * (k + 1) for k in range(7)]
        assert gc.get_freeze_count() == held
    assert gc.get_freeze_count() == 0
