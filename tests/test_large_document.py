"""One large document: its per-passage analysis runs in parallel slices and gives exactly
what one process gives (ids, tags, figures, urls, tokens, order)."""

import json
import shutil

import pytest

from kb import pipeline
from kb.parallel import can_fork
from kb.read import read_document
from kb.vocab import load_vocab
from tests.conftest import CORPUS

pytestmark = pytest.mark.skipif(not can_fork(), reason="parallel slices need fork")


@pytest.fixture(scope="module")
def big_doc(tmp_path_factory):
    """The corpus's texts joined into one document (twice over, so identical passages get
    -2 ids), with a comparative report's sidecar."""
    folder = tmp_path_factory.mktemp("big")
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    (folder / "big.txt").write_text("\n\n".join(texts * 2), encoding="utf-8")
    shutil.copy(CORPUS / "002_8e8fbbf27cdab432.yaml", folder / "big.yaml")
    return read_document(folder / "big.txt", load_vocab().city_names, sidecar=folder / "big.yaml")


def test_sliced_analysis_equals_one_process(big_doc):
    serial = pipeline.analyse_document(big_doc)
    sliced = pipeline.analyse_document(big_doc, jobs=2, chunk=37)
    assert len(serial["passages"]) > 5 * 37  # many slices, and a short last one
    assert any(p["id"].endswith("-2") for p in serial["passages"])
    assert serial["figures"]
    assert sliced == serial
    for key in ("passages", "figures"):  # same values, types and key order as written out
        assert json.dumps(sliced[key], ensure_ascii=False) == json.dumps(serial[key], ensure_ascii=False)
    assert [t[1].typecode for t in sliced["tokens"]] == [t[1].typecode for t in serial["tokens"]]


def test_large_documents_of_a_corpus_are_sliced_with_the_same_result(big_doc, tmp_path, monkeypatch):
    small = read_document(CORPUS / "000_32d561a2c1e35645.txt", load_vocab().city_names,
                          sidecar=CORPUS / "000_32d561a2c1e35645.yaml")
    docs = [small, big_doc, dict(small, id="other")]
    serial, _keys, _stats = pipeline.analyse_corpus(docs, tmp_path / "serial", 1, False)
    monkeypatch.setattr(pipeline, "CHUNKED_CHARS", len(big_doc["text"]))
    monkeypatch.setattr(pipeline, "CHUNK_PASSAGES", 50)
    slices = []
    fork_map = pipeline.fork_map
    monkeypatch.setattr(pipeline, "fork_map",
                        lambda fn, calls, jobs: slices.append(len(calls)) or fork_map(fn, calls, jobs))
    sliced, _keys, _stats = pipeline.analyse_corpus(docs, tmp_path / "sliced", 2, False)
    assert slices and min(slices) >= 3  # the large document was analysed in slices
    assert sliced == serial
