"""The Whoosh index stage (kb.index): pre-tokenised layers, in-memory segments, parallel shards."""

import hashlib

import pytest

from kb import analysis, index as kbindex
from kb.search.whoosh_source import Searcher

from tests.test_search import PASSAGES, TYPES, P

QUERIES = ["风险补偿", "广州 风险补偿", "票据 知识产权质押", "首台(套)", "融通", "债", "科技金融"]

MORE = PASSAGES + [
    P(f"d4-{k}", text, doc="d4", cities=("合肥",), instruments=("venture",), year=2021, pos=k)
    for k, text in enumerate(["合肥市设立天使投资基金，支持种子期科技企业。",
                              "風險補償資金池規模擴大到十億元。",
                              "推广QFLP试点和S基金，引导社会资本投早投小。",
                              "科技金融专营机构开展投贷联动，首批（次）应用保险补偿。",
                              "……", "ABS 2024"])]


def ids(searcher, q):
    return [h["id"] for h in searcher.search(q, limit=0)]


def tree_digest(path):
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("p", MORE, ids=lambda p: p["id"])
def test_cached_tokens_index_the_same_postings_as_analysing_the_text(p):
    schema = kbindex.schema()
    packed = analysis.passage_tokens(p["text"])
    for field, unpack in (("text", analysis.words_of), ("grams", analysis.grams_of)):
        analysed = sorted(schema[field].index(p["text"]))
        given = sorted(schema[field].index(unpack(packed)))
        assert given == analysed


def test_exact_layer_lengths_are_stored(tmp_path):
    ix = kbindex.open_index(kbindex.build_index(MORE, tmp_path / "ix", doc_types=TYPES))
    with ix.searcher() as s:
        r = s.reader()
        dlw, dlg = r.column_reader("dlw"), r.column_reader("dlg")
        for docnum in r.all_doc_ids():
            text = s.stored_fields(docnum)["text"]
            assert dlw[docnum] == len(analysis.word_tokens(text))
            assert dlg[docnum] == len(analysis.gram_tokens(text))


def test_segments_and_parallel_shards_search_like_one_segment(tmp_path, monkeypatch):
    one = kbindex.build_index(MORE, tmp_path / "one", doc_types=TYPES)
    monkeypatch.setattr(kbindex, "SEGMENT_PASSAGES", 3)
    monkeypatch.setattr(kbindex, "MIN_SHARD", 2)
    tokens = {p["id"]: analysis.passage_tokens(p["text"]) for p in MORE}
    many = kbindex.build_index(MORE, tmp_path / "many", doc_types=TYPES, jobs=2, tokens=tokens)
    assert len(kbindex.open_index(many).reader().leaf_readers()) >= 4  # shards × segments
    with Searcher(one) as a, Searcher(many) as b:
        for q in QUERIES:
            assert ids(a, q) == ids(b, q), q
        assert [a.searcher.stored_fields(i) for i in range(len(MORE))] == \
               [b.searcher.stored_fields(i) for i in range(len(MORE))]
    again = kbindex.build_index(MORE, tmp_path / "again", doc_types=TYPES, jobs=2, tokens=tokens)
    assert tree_digest(again) == tree_digest(many)  # same passages, same files


def test_update_with_cached_tokens_matches_a_fresh_build(tmp_path):
    new = [P("d2-z", "新增科技保险补偿条款，支持科创票据。", doc="d2", instruments=("insurance",))]
    tokens = {p["id"]: analysis.passage_tokens(p["text"]) for p in new}
    updated = kbindex.build_index(MORE, tmp_path / "upd", doc_types=TYPES)
    kbindex.update_index(updated, {"d2": new}, doc_types=TYPES, tokens=tokens)
    fresh = kbindex.build_index([p for p in MORE if p["doc"] != "d2"] + new, tmp_path / "fresh",
                                doc_types=TYPES)
    with Searcher(updated) as a, Searcher(fresh) as b:
        for q in QUERIES + ["科技保险", "票据"]:
            assert sorted(ids(a, q)) == sorted(ids(b, q)), q


def test_block_filling_writes_the_same_files_as_posting_by_posting(tmp_path, monkeypatch):
    many = MORE * 60  # long posting lists: several blocks (of 128 postings) per term
    many = [dict(p, id=f"{p['id']}-{k}", position=k) for k, p in enumerate(many)]
    bulk = kbindex.build_index(many, tmp_path / "bulk", doc_types=TYPES)
    monkeypatch.setattr(kbindex, "BULK", False)
    plain = kbindex.build_index(many, tmp_path / "plain", doc_types=TYPES)
    with kbindex.open_index(bulk).searcher() as s:
        assert s.doc_frequency("grams", "补偿") > 2 * 128
    assert tree_digest(bulk) == tree_digest(plain)


@pytest.mark.parametrize("jobs,batch", [(1, 4000), (2, 4000), (1, 7)])
def test_direct_adds_write_the_same_files_as_whoosh_add_document(tmp_path, monkeypatch, jobs, batch):
    many = MORE * 30  # repeated field values (memoised postings) and long posting lists
    many = [dict(p, id=f"{p['id']}-{k}", position=k) for k, p in enumerate(many)]
    tokens = {p["id"]: analysis.passage_tokens(p["text"]) for p in many[::2]}  # and some analysed
    monkeypatch.setattr(kbindex, "MIN_SHARD", 20)
    monkeypatch.setattr(kbindex, "SEGMENT_PASSAGES", 70)
    monkeypatch.setattr(kbindex, "TOKEN_BATCH", batch)  # token postings gathered in several batches
    direct = kbindex.build_index(many, tmp_path / "direct", doc_types=TYPES, tokens=tokens, jobs=jobs)
    monkeypatch.setattr(kbindex, "DIRECT", False)
    whoosh = kbindex.build_index(many, tmp_path / "whoosh", doc_types=TYPES, tokens=tokens, jobs=jobs)
    assert tree_digest(direct) == tree_digest(whoosh)
    new = [dict(p, id=p["id"] + "-new") for p in many if p["doc"] == "d2"]
    for flag, ix in ((False, whoosh), (True, direct)):
        monkeypatch.setattr(kbindex, "DIRECT", flag)
        kbindex.update_index(ix, {"d2": new}, doc_types=TYPES)
    assert tree_digest(direct) == tree_digest(whoosh)


def test_gram_terms_are_the_gram_layer():
    runs = []
    for p in MORE:
        packed = analysis.passage_tokens(p["text"])
        assert kbindex.gram_terms(packed[2]) == [t for t, _pos in analysis.grams_of(packed)]
        assert kbindex.gram_count(packed[2]) == len(analysis.grams_of(packed))
        runs.append(packed[2])
    for batch in (runs, ["", *runs, ""], ["", ""], [""]):  # documents without runs too
        keys, local, pos, name = kbindex._gram_tokens(batch)
        got = [(int(d), name(int(k)), int(q)) for k, d, q in zip(keys, local, pos)]
        assert got == [(d, t, q) for d, r in enumerate(batch)
                       for q, t in enumerate(kbindex.gram_terms(r))]


def test_the_same_documents_replaced_twice_keep_a_readable_index(tmp_path):
    # two builds in a row that change every document (a vocabulary edited twice) write the
    # same passages again: the new segment must not take the name of the one it replaces
    ix = kbindex.build_index(PASSAGES, tmp_path / "ix", doc_types=TYPES)
    by_doc = {}
    for p in PASSAGES:
        by_doc.setdefault(p["doc"], []).append(p)
    for _ in range(3):
        kbindex.update_index(ix, by_doc, doc_types=TYPES)
        with Searcher(ix) as s:
            assert set(ids(s, "风险补偿")) == {"d1-b", "d2-b", "d3-a"}
