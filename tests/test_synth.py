"""The benchmark corpus generator (benchmarks/synth.py): deterministic, valid, varied,
made of real policy language. Small N so it runs in about a second; no timing asserts."""

import filecmp
import importlib.util
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from kb.read import read_corpus
from tests.conftest import ROOT

N = 20
CUES = ("贷款", "信贷", "基金", "担保", "保险", "融资", "投资", "资本", "上市", "债券", "补偿",
        "贴息", "质押", "金融")


@pytest.fixture(scope="module")
def synth():
    spec = importlib.util.spec_from_file_location("kb_bench_synth", ROOT / "benchmarks" / "synth.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("syn") / "corpus"
    synth.generate(N, out, seed=7)
    return out


def known_cities():
    data = yaml.safe_load((ROOT / "kb" / "data" / "cities.yaml").read_text(encoding="utf-8"))
    return {c["name"] for c in data["cities"]}


def files(directory):
    return sorted(p.name for p in Path(directory).iterdir())


def test_requested_count_and_ids(corpus):
    names = files(corpus)
    assert len(names) == 2 * N
    assert names[:2] == ["syn-000001.txt", "syn-000001.yaml"]
    assert names[-1] == f"syn-{N:06d}.yaml"


def test_two_runs_are_byte_identical(synth, corpus, tmp_path):
    again = tmp_path / "again"
    synth.generate(N, again, seed=7)
    assert files(again) == files(corpus)
    match, mismatch, errors = filecmp.cmpfiles(corpus, again, files(corpus), shallow=False)
    assert (mismatch, errors) == ([], [])


def test_cli_matches_api_and_seed_matters(synth, corpus, tmp_path):
    cli = tmp_path / "cli"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "synth.py"), "--docs", "3",
                    "--out", str(cli), "--seed", "7"], check=True, capture_output=True, cwd=ROOT)
    for name in files(cli):
        assert (cli / name).read_bytes() == (corpus / name).read_bytes()
    other = tmp_path / "other"
    synth.generate(3, other, seed=8)
    assert (other / "syn-000001.txt").read_bytes() != (corpus / "syn-000001.txt").read_bytes()


def test_extra_document_equals_the_one_of_a_larger_corpus(synth, corpus, tmp_path):
    bigger = tmp_path / "bigger"
    synth.generate(N + 1, bigger, seed=7)
    extra = tmp_path / "extra"
    assert synth.generate_extra(f"syn-{N + 1:06d}", extra, seed=7) == f"syn-{N + 1:06d}"
    for suffix in (".txt", ".yaml"):
        name = f"syn-{N + 1:06d}{suffix}"
        assert (extra / name).read_bytes() == (bigger / name).read_bytes()
    with pytest.raises(ValueError):
        synth.parse_id("doc-1")


def test_sidecars_are_valid_for_the_reader(corpus):
    docs = read_corpus(corpus, known_cities())
    assert len(docs) == N
    assert {d["type"] for d in docs} <= {"policy", "report", "news", "commentary"}
    assert all(2019 <= d["year"] <= 2026 for d in docs)
    assert all(d["encoding"] == "utf-8" for d in docs)
    policies = [d for d in docs if d["type"] == "policy"]
    assert policies and all(d["doc_number"] for d in policies)


def test_varied_cities_years_types_and_sizes(corpus):
    docs = read_corpus(corpus, known_cities())
    assert len({d["home_city"] for d in docs if d["home_city"]}) >= 8
    assert len({d["year"] for d in docs}) >= 4
    assert len({d["type"] for d in docs}) >= 3
    sizes = sorted(len(d["text"].encode("utf-8")) for d in docs)
    assert sizes[0] >= 3000 and sizes[-1] <= 60000 and sizes[-1] > 2 * sizes[0]
    assert 8000 <= sum(sizes) / len(sizes) <= 30000
    # the text names many different cities, all of them in the city table
    cities = known_cities()
    named = Counter(c for d in docs for c in cities if len(c) >= 2 and c in d["text"])
    assert len(named) >= 15


def test_real_policy_language_and_structure(corpus):
    docs = read_corpus(corpus)
    paragraphs = [p for d in docs for p in re.split(r"\n\s*\n", d["text"])
                  if len(p.replace("\n", "")) >= 60]
    assert len(paragraphs) >= 8 * N
    with_cue = sum(any(c in p for c in CUES) for p in paragraphs)
    assert with_cue >= 0.8 * len(paragraphs)
    for d in docs:
        body = d["text"]
        assert re.search(r"^一、", body, re.M), d["id"]
        assert "\ufffd" not in body
    assert any(re.search(r"^（一）", d["text"], re.M) for d in docs)
    assert any(re.search(r"^1\. ", d["text"], re.M) for d in docs)
    # the real reports' sentences survive (modulo substituted cities and numbers)
    real = (ROOT / "corpus" / "002_8e8fbbf27cdab432.txt").read_text(encoding="utf-8")
    fixed = [s for s in ("投贷联动", "风险补偿", "全生命周期", "科技型企业") if s in real]
    text = "".join(d["text"] for d in docs)
    assert all(s in text for s in fixed)


def test_years_and_numbers_are_shifted_not_copied(corpus):
    docs = read_corpus(corpus)
    for d in docs:
        years = [int(y) for y in re.findall(r"(?<!\d)(20\d\d)(?=年)", d["text"])]
        # most years named in a document sit near its own date
        if len(years) >= 5:
            near = sum(abs(y - d["year"]) <= 16 for y in years)
            assert near >= 0.8 * len(years), d["id"]
    # the 4亿元 pool and 5872.92亿元 of the real reports appear perturbed, not verbatim everywhere
    text = "".join(d["text"] for d in docs)
    assert text.count("5872.92") <= 1
