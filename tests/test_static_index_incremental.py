"""The static index built with the previous output and the per-document token cache
(``cache`` + ``doc_keys``) is byte for byte the cold index, for an added, an edited and a
removed document, and a damaged cache only costs time."""

import hashlib
import json
import os
import pickle

import pytest

from kb import static_index as si
from kb.analysis import passage_tokens
from kb.static_index import writer

from .test_static_index import synthetic_corpus


def _tree(out):
    """{path under search/: bytes}."""
    root = out / "search"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _keys(passages):
    """document id -> a key of its passages (what the analysis cache key fixes in a build)."""
    by_doc = {}
    for p in passages:
        by_doc.setdefault(p["doc"], []).append(p)
    return {d: hashlib.sha256(json.dumps(ps, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
            for d, ps in by_doc.items()}


def _build(out, corpus, **kw):
    passages, docs, vocab = corpus
    tokens = {p["id"]: passage_tokens(p["text"]) for p in passages}
    stats = {}
    result = si.write_static_index(out, passages, docs, vocab, tokens=tokens, jobs=2, build_stats=stats, **kw)
    result["stats"]["terms_cached"] = stats.get("terms_cached")
    return result


@pytest.fixture(scope="module")
def base():
    passages, docs, vocab = synthetic_corpus(300, seed=11, per_doc=25)  # 12 documents
    return passages, docs, vocab


def _added(corpus):
    """A new document sorted between the others (every later passage number moves)."""
    passages, docs, vocab = corpus
    src = [p for p in passages if p["doc"] == docs[3]["id"]]
    new = [dict(p, id=p["id"].replace(docs[3]["id"], "syn00003a"), doc="syn00003a",
                text=p["text"] + "新增文档的补充说明。", cities=["成都"]) for p in src[:7]]
    return passages + new, docs + [dict(docs[3], id="syn00003a", title="新增文档")], vocab


def _edited(corpus):
    passages, docs, vocab = corpus
    target = docs[5]["id"]
    out = [dict(p, text=p["text"] + "另设科技保险补偿条款。") if p["doc"] == target and i % 3 == 0 else p
           for i, p in enumerate(passages)]
    return out, docs, vocab


def _removed(corpus):
    passages, docs, vocab = corpus
    gone = docs[2]["id"]
    return [p for p in passages if p["doc"] != gone], [d for d in docs if d["id"] != gone], vocab


@pytest.mark.parametrize("change", [_added, _edited, _removed])
def test_incremental_static_index_equals_a_cold_one(tmp_path, base, change):
    cache = tmp_path / "cache"
    _build(tmp_path / "old", base, cache=cache, doc_keys=_keys(base[0]))
    before = _tree(tmp_path / "old")
    changed = change(base)
    keys = _keys(changed[0])
    inc = _build(tmp_path / "new", changed, cache=cache, doc_keys=keys, previous=tmp_path / "old")
    cold = _build(tmp_path / "cold", changed)
    assert _tree(tmp_path / "new") == _tree(tmp_path / "cold")
    assert inc["scripts"] == cold["scripts"]
    # the documents that did not change came from the cache (both layers)
    unchanged = len(set(keys.values()) & set(_keys(base[0]).values()))
    assert inc["stats"]["terms_cached"] == 2 * unchanged > 0
    assert _tree(tmp_path / "old") == before  # the previous output is only read


def _entries(cache):
    return sorted((cache / writer._TERMS_DIR).rglob("*.pickle"))


def test_a_damaged_or_missing_cache_falls_back_to_computing(tmp_path, base):
    cache = tmp_path / "cache"
    keys = _keys(base[0])
    first = _build(tmp_path / "a", base, cache=cache, doc_keys=keys)
    assert first["stats"]["terms_cached"] == 0
    entries = _entries(cache)
    assert len(entries) == 2 * len(keys)
    # truncated, garbage, a well-formed pickle of the wrong shape, one of the wrong passage
    # count, term numbers out of range; one deleted
    entries[0].write_bytes(entries[0].read_bytes()[:20])
    entries[1].write_bytes(b"not a pickle")
    entries[2].write_bytes(pickle.dumps({"terms": []}))
    terms, ids, pos, counts = pickle.loads(entries[3].read_bytes())
    entries[3].write_bytes(pickle.dumps((terms, ids, pos, counts[:-1])))
    terms, ids, pos, counts = pickle.loads(entries[4].read_bytes())
    entries[4].write_bytes(pickle.dumps((terms[:1], ids, pos, counts)))
    entries[5].unlink()
    second = _build(tmp_path / "b", base, cache=cache, doc_keys=keys)  # no previous: no whole-index reuse
    cold = _build(tmp_path / "cold", base)
    assert _tree(tmp_path / "b") == _tree(tmp_path / "cold") == _tree(tmp_path / "a")
    assert second["stats"]["terms_cached"] == 2 * len(keys) - 6
    # the damaged entries were made again
    third = _build(tmp_path / "c", base, cache=cache, doc_keys=keys)
    assert third["stats"]["terms_cached"] == 2 * len(keys)
    # a cache that cannot be written (a file where its folder would be) only costs time
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / writer._TERMS_DIR).write_text("x")
    fourth = _build(tmp_path / "d", base, cache=blocked, doc_keys=keys)
    assert fourth["stats"]["terms_cached"] == 0
    assert _tree(tmp_path / "d") == _tree(tmp_path / "cold")


def test_no_document_keys_no_token_cache(tmp_path, base):
    _build(tmp_path / "a", base, cache=tmp_path / "cache")
    assert not (tmp_path / "cache" / writer._TERMS_DIR).exists()
    assert not os.listdir(tmp_path / "cache") or writer._TERMS_DIR not in os.listdir(tmp_path / "cache")


def test_an_unchanged_index_is_linked_unless_a_file_was_edited_since(tmp_path, base):
    cache = tmp_path / "cache"
    keys = _keys(base[0])
    _build(tmp_path / "old", base, cache=cache, doc_keys=keys)
    cold = _tree(tmp_path / "old")
    # nothing changed: every file linked from the previous output (none written)
    same = _build(tmp_path / "same", base, cache=cache, doc_keys=keys, previous=tmp_path / "old")
    assert same["stats"]["files_written"] == 0 and _tree(tmp_path / "same") == cold
    # a file of the previous output edited in place to the same size: not linked, written again
    edited = next(p for p in sorted((tmp_path / "same" / "search").glob("meta.*.js")))
    data = edited.read_bytes()
    with open(edited, "r+b") as fh:
        fh.write(b"X" if data[:1] != b"X" else b"Y")
    assert edited.stat().st_size == len(data)
    again = _build(tmp_path / "again", base, cache=cache, doc_keys=keys, previous=tmp_path / "same")
    assert _tree(tmp_path / "again") == cold
    assert again["stats"]["files_written"] >= 1


def test_a_document_added_at_the_end_rewrites_only_the_last_fragment_folder(tmp_path, base, monkeypatch):
    """Fragments live in folders of FRAG_BLOCK files named by their own hash: a document added
    after the others leaves the earlier folders' files as they were (linked, same inode)."""
    monkeypatch.setattr(writer, "FRAG_BLOCK", 16)
    passages, docs, vocab = base
    last = docs[-1]
    new_id = last["id"] + "z"  # sorts after every other document
    src = [p for p in passages if p["doc"] == last["id"]][:5]
    added = (passages + [dict(p, id=p["id"].replace(last["id"], new_id), doc=new_id) for p in src],
             docs + [dict(last, id=new_id, title="新增文档")], vocab)
    cache = tmp_path / "cache"
    _build(tmp_path / "old", base, cache=cache, doc_keys=_keys(base[0]))
    _build(tmp_path / "new", added, cache=cache, doc_keys=_keys(added[0]), previous=tmp_path / "old")
    _build(tmp_path / "cold", added)
    assert _tree(tmp_path / "new") == _tree(tmp_path / "cold")
    old_dirs = {p.name for p in (tmp_path / "old" / "search").glob("f-*")}
    new_dirs = {p.name for p in (tmp_path / "new" / "search").glob("f-*")}
    n_old = len(passages)
    assert len(old_dirs) == -(-n_old // 16) and len(new_dirs) == -(-(n_old + 5) // 16)
    kept = old_dirs & new_dirs
    assert len(kept) == n_old // 16  # every full block of the old index keeps its folder
    for d in kept:
        for f in (tmp_path / "new" / "search" / d).iterdir():
            assert f.stat().st_ino == (tmp_path / "old" / "search" / d / f.name).stat().st_ino
    # the reader finds every passage through the folder list
    idx = si.StaticIndex(tmp_path / "new")
    assert [idx.passage_id(i) for i in range(idx.n)] == [p["id"] for p in si.writer._ordered(*added[:2])]


def test_a_previous_file_edited_after_its_index_is_compared_not_trusted(tmp_path, base, monkeypatch):
    """Files of the previous index are linked on name and size when not modified after its
    meta file was written; one edited since (same size) is compared and written anew."""
    monkeypatch.setattr(writer, "FRAG_BLOCK", 16)
    cache = tmp_path / "cache"
    changed = _edited(base)
    _build(tmp_path / "cold", changed)
    _build(tmp_path / "old", base, cache=cache, doc_keys=_keys(base[0]))
    kept = sorted({p.name for p in (tmp_path / "old" / "search").glob("f-*")}
                  & {p.name for p in (tmp_path / "cold" / "search").glob("f-*")})
    frag = tmp_path / "old" / "search" / kept[0] / "0.js"
    data = frag.read_bytes()
    frag.write_bytes(data.replace(b'"', b"'", 1))  # same size, other bytes
    later = (tmp_path / "old" / "search").stat().st_mtime + 5
    os.utime(frag, (later, later))
    stats = _build(tmp_path / "new", changed, cache=cache, doc_keys=_keys(changed[0]), previous=tmp_path / "old")
    assert _tree(tmp_path / "new") == _tree(tmp_path / "cold")
    new_frag = tmp_path / "new" / "search" / frag.relative_to(tmp_path / "old" / "search")
    assert new_frag.read_bytes() == data and not os.path.samefile(new_frag, frag)
    assert stats["stats"]["files_written"] < len(_tree(tmp_path / "new")) // 2  # the others were linked
