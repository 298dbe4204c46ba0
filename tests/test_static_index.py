"""The static search index (kb/static_index/): the query model over its files ranks exactly like
the reference over analysis tokens; balanced chunks, content-hashed names, deterministic output,
data stays data."""

import functools
import hashlib
import json
import os
import random
import re
from pathlib import Path

import pytest

from kb.search.rank import CUE_SATURATION, impact

from kb import analysis
from kb import static_index as si
from kb.search import gazetteer, run
from kb.search.reference import Reference
from kb.static_index import codec

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"

QUERIES = ["投贷联动", "知识产权质押", "风险补偿", "風險補償", "融通", "汉融通", "科", "科技 金融",
           '"科技金融"', '"优化营商环境"', "武汉 担保", "AIC", "s基金", "2024年", "不存在的词汇xyz",
           "「科技」", '"科技，金融"', "ＡＩＣ", "专精特新 贷款", "险补", "知识产权质押融资", "基金"]


# --------------------------------------------------------------------------- corpus helpers


@functools.lru_cache(maxsize=1)
def corpus_data():
    """(passages, documents, vocab) of the real corpus through the real stages."""
    from kb.pipeline import analyse_document
    from kb.read import read_corpus
    from kb.vocab import load_vocab

    vocab = load_vocab()
    docs = read_corpus(CORPUS, vocab.city_names)
    passages = []
    for d in docs:
        for p in analyse_document(d)["passages"]:
            p["url"] = f"doc/{p['doc']}.html#{p['id']}"
            passages.append(p)
    meta = [{k: v for k, v in d.items() if k != "text"} for d in docs]
    return passages, meta, vocab


def synthetic_corpus(n_passages, seed=7, per_doc=30):
    """A large corpus made from the real passages: documents of ``per_doc`` passages taken in
    turn from the real ones, with every number replaced by a random one, the subject city
    swapped and a random year per document, so the vocabulary grows (numbers, city names in
    new contexts) and ids, facets and texts vary. Returns (passages, documents, vocab)."""
    passages, _docs, vocab = corpus_data()
    rng = random.Random(seed)
    names = [c["name"] for c in vocab.cities]
    digits = re.compile(r"\d+(?:\.\d+)?")
    out, docs = [], []
    n_docs = (n_passages + per_doc - 1) // per_doc
    k = 0
    for d in range(n_docs):
        doc_id = f"syn{d:05d}"
        year = rng.randint(2015, 2025)
        city = rng.choice(names)
        docs.append({"id": doc_id, "title": f"合成文档 {d}：{city}科技金融", "year": year})
        for j in range(per_doc):
            if k >= n_passages:
                break
            src = passages[k % len(passages)]
            k += 1
            text = digits.sub(lambda m: str(rng.randint(1, 99999)), src["text"])
            for c in src["cities"]:
                text = text.replace(c, city)
            pid = f"{doc_id}-{j:04d}"
            out.append({"id": pid, "doc": doc_id, "section": list(src["section"]), "text": text,
                        "cities": [city] + [c for c in src["cities"][1:] if c != city],
                        "instruments": list(src["instruments"]), "year": year, "years": [],
                        "url": f"doc/{doc_id}.html#{pid}"})
    return out, docs, vocab


def order_of(ref):
    return {p["id"]: i for i, p in enumerate(ref.passages)}


def ranked(source, q, gaz=None, **filters):
    """Passage numbers of the query model over ``source`` (the Reference or a StaticIndex)."""
    if gaz is None:
        gaz = getattr(source, "gazetteer", {})
    return run(q, source, gaz, filters=filters, max_chars=getattr(source, "maxw", None))["idxs"]


@pytest.fixture(scope="module")
def real():
    return corpus_data()


@pytest.fixture(scope="module")
def reference(real):
    passages, docs, vocab = real
    return Reference(passages, docs, vocab)


@pytest.fixture(scope="module")
def written(real, tmp_path_factory):
    passages, docs, vocab = real
    out = tmp_path_factory.mktemp("static")
    result = si.write_static_index(out, passages, docs, vocab)
    return out, result


# --------------------------------------------------------------------------- encoding


def test_varint_round_trip():
    values = [0, 1, 31, 32, 33, 1023, 1024, 4095, 4096, 32767, 10**6, 2**31 + 5]
    buf = bytearray()
    for v in values:
        si.varint(v, buf)
    assert si.decode_varints(buf.decode("ascii")) == values
    assert len(codec._SMALL[31]) == 1 and len(codec._SMALL[32]) == 2


def test_utf16_order_matches_javascript():
    terms = ["科技", "a", "𠀀", "\uffff", "Z", "科", "科技金融"]
    # JavaScript compares UTF-16 code units: the astral character sorts before U+FFFF
    ordered = sorted(terms, key=si.utf16_key)
    assert ordered.index("𠀀") < ordered.index("\uffff")
    assert ordered.index("科") < ordered.index("科技") < ordered.index("科技金融")


def test_facet_codes_round_trip():
    """A passage's codes: a numbered set or mask of the tables, or spelt out (empty sets, one
    city, many, masks up to 52 bits)."""
    rng = random.Random(3)
    sets = [(), (0,), (1, 4)]
    masks = [0, 1, 6]
    set_code = {k: i for i, k in enumerate(sets)}
    mask_code = {m: i for i, m in enumerate(masks)}
    cases = [((), 0), ((1, 4), 6), ((2,), 2 ** 52 - 1), ((0, 1, 2, 3, 44), 5), ((7, 300), 1)]
    cases += [(tuple(sorted(rng.sample(range(60), rng.randrange(0, 9)))), rng.getrandbits(rng.choice((3, 16, 52))))
              for _ in range(200)]
    buf = bytearray()
    for cities, mask in cases:
        for v in codec.encode_codes(cities, mask, set_code, mask_code, len(sets), len(masks)):
            si.varint(v, buf)
    codes = si.Codes(sets, masks)
    nums = si.decode_varints(buf.decode("ascii"))
    i, got = 0, []
    while i < len(nums):
        cities, mask, i = codes.read(nums, i)
        got.append((cities, mask))
    assert got == cases
    # table entries take one value each; a spelt-out set its size value and its gaps
    assert codec.encode_codes((1, 4), 6, set_code, mask_code, 3, 3) == [2, 2]
    assert codec.encode_codes((7, 9), 6, set_code, mask_code, 3, 3) == [5, 7, 1, 2]
    assert codec.encode_codes((), 9, {}, {}, 0, 0) == [0, 9]  # no tables: all spelt out


# --------------------------------------------------------------------------- round trip


def test_static_index_ranks_like_the_reference(written, reference, real):
    out, _result = written
    index = si.StaticIndex(out)
    gaz = gazetteer(real[2])
    assert index.gazetteer == gaz and len(index.rules["ent"]) > 1
    assert index.n == len(reference.passages)
    found = 0
    for q in QUERIES:
        expected = ranked(reference, q, gaz)
        assert ranked(index, q) == expected, q
        found += bool(expected)
    assert found >= len(QUERIES) - 3


def test_reference_semantics(reference, real):
    gaz = gazetteer(real[2])
    norm = {i: analysis.normalize(p["text"]) for i, p in enumerate(reference.passages)}
    hits = ranked(reference, "投贷联动", gaz)
    # passages that say it come first (the instrument's other passages follow)
    n_text = sum("投贷联动" in t for t in norm.values())
    assert n_text and all("投贷联动" in norm[i] for i in hits[:n_text])
    # traditional and full-width queries are normalised
    assert ranked(reference, "風險補償", gaz) == ranked(reference, "风险补偿", gaz) != []
    assert ranked(reference, "ＡＩＣ", gaz) == ranked(reference, "aic", gaz) != []
    # a substring of a longer word is found through the gram layer
    sub = ranked(reference, "融通", gaz)
    assert any("汉融通" in norm[i] for i in sub)
    # one character: every passage containing it
    assert set(ranked(reference, "险", gaz)) == {i for i, t in norm.items() if "险" in t}
    # quoted phrases need the exact sequence
    assert set(ranked(reference, '"科技金融"', gaz)) == {i for i, t in norm.items() if "科技金融" in t}
    # two concepts: passages with both come before passages with one
    both = ranked(reference, "武汉 担保", gaz)
    first = [i for i in both if "担保" in norm[i] and "武汉" in reference.passages[i]["cities"]]
    assert first and both[:len(first)] == first


def test_phrase_positions():
    ps = [{"id": "a-1", "doc": "a", "text": "持续优化营商环境，提升服务。", "cities": [], "instruments": [], "year": 2024},
          {"id": "a-2", "doc": "a", "text": "优化服务流程，营商环境改善。", "cities": [], "instruments": [], "year": 2024}]
    ref = Reference(ps)
    assert ranked(ref, '"优化营商环境"', {}) == [0]
    assert set(ranked(ref, "优化 营商环境", {})) == {0, 1}


# --------------------------------------------------------------------------- layout


def _files(out):
    base = out / "search"
    return {str(p.relative_to(base)): p for p in base.rglob("*") if p.is_file()}


def test_chunks_are_balanced(written):
    out, result = written
    meta = si.read_register(next((out / "search").glob("meta.*.js")))[1]
    sizes = result["stats"]
    for layer in ("w", "g", "lex"):
        dirs = si.reader.chunk_files(meta[layer], layer + "d", "", "\uffff")
        chunks = [f for d in dirs for f in si.reader.chunk_files(si.read_register(out / "search" / d)[1], layer,
                                                                  "", "\uffff")]
        assert len(chunks) >= 3, layer  # never one chunk holding everything
        assert sizes["chunks"][layer] == len(chunks)
        # the keys are sorted, each chunk's terms lie between its key and the next one's
        keys = [k for d in dirs for k in si.read_register(out / "search" / d)[1]["k"]]
        assert keys[0] == "" and [si.utf16_key(k) for k in keys] == sorted(map(si.utf16_key, set(keys)))
        for k, name, end in zip(keys, chunks, keys[1:] + [None]):
            payload = si.read_register(out / "search" / name)[1]
            terms = payload if layer == "lex" else payload["t"]
            assert all(si.utf16_key(k) <= si.utf16_key(t) and (end is None or si.utf16_key(t) < si.utf16_key(end))
                       for t in terms), (layer, k)
        file_sizes = [(out / "search" / f).stat().st_size for f in chunks]
        target = si.writer.CHUNK_BYTES if layer != "lex" else si.writer.LEX_BYTES
        assert max(file_sizes) <= target + 1_500, layer
        # all but the last chunk are reasonably full
        assert min(file_sizes[:-1]) >= target // 3, (layer, file_sizes)
        assert max(file_sizes) < 0.6 * sum(file_sizes)


def test_names_are_content_hashed(written):
    out, result = written
    files = _files(out)
    hashed = re.compile(r"^([a-z0-9-]+)\.([0-9a-f]{12})\.(js|css)$")
    frag_dirs = set()
    for rel, path in files.items():
        data = path.read_bytes()
        if "/" in rel:
            frag_dirs.add(rel.split("/")[0])
            name, _payload = si.read_register(path)
            assert name == rel
            continue
        m = hashed.match(rel)
        assert m, rel
        if m.group(1).startswith("kb-"):
            assert hashlib.sha256(data).hexdigest()[:12] == m.group(2)
        else:
            name, payload = si.read_register(path)
            assert name == rel
            assert hashlib.sha256(codec._json(payload).encode()).hexdigest()[:12] == m.group(2)
    assert sorted(d.split("-")[0] for d in frag_dirs) == ["dc", "dt", "f"]
    for s in result["scripts"] + result["styles"]:
        assert (out / s).is_file() and s.startswith("search/")
    assert [Path(s).name.split(".")[0] for s in result["scripts"]] == [
        "kb-core", "kb-normalize", "kb-query", "kb-rank", "kb-snippet", "meta", "kb-search-ui"]


def test_two_writes_are_byte_identical(real, tmp_path):
    passages, docs, vocab = real
    a = si.write_static_index(tmp_path / "a", passages, docs, vocab)
    b = si.write_static_index(tmp_path / "b", list(passages), docs, vocab)
    assert a == b
    fa, fb = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(fa) == sorted(fb)
    for rel in fa:
        assert fa[rel].read_bytes() == fb[rel].read_bytes(), rel


def test_rewrite_removes_stale_files_only(real, tmp_path):
    passages, docs, vocab = real
    si.write_static_index(tmp_path, passages, docs, vocab)
    keep = tmp_path / "search" / "index.html"
    keep.write_text("<p>renderer's page</p>")
    second = si.write_static_index(tmp_path, passages[:40], docs, vocab)
    files = _files(tmp_path)
    assert "index.html" in files
    metas = [f for f in files if f.startswith("meta.")]
    assert metas == [s.split("/")[-1] for s in second["scripts"] if "/meta." in s]
    assert len([f for f in files if f.startswith("f-")]) == -(-40 // si.FRAG_SIZE)
    assert si.StaticIndex(tmp_path).n == 40


def test_unchanged_files_are_carried_from_the_previous_build(real, tmp_path):
    passages, docs, vocab = real
    si.write_static_index(tmp_path / "old", passages, docs, vocab)
    old_before = {rel: p.read_bytes() for rel, p in _files(tmp_path / "old").items()}
    edited = passages[:-1] + [dict(passages[-1], text=passages[-1]["text"] + "另设科技保险补偿条款。")]
    fresh = si.write_static_index(tmp_path / "fresh", edited, docs, vocab)
    new = si.write_static_index(tmp_path / "new", edited, docs, vocab, previous=tmp_path / "old")
    assert new["scripts"] == fresh["scripts"]
    fn, ff = _files(tmp_path / "new"), _files(tmp_path / "fresh")
    assert sorted(fn) == sorted(ff)
    assert all(fn[rel].read_bytes() == ff[rel].read_bytes() for rel in fn)
    # what the edit changed is written; the rest is the earlier build's file (same inode)
    written = new["stats"]["files_written"]
    assert 0 < written < len(fn)
    old = _files(tmp_path / "old")
    carried = [rel for rel in fn if rel in old and os.path.samefile(fn[rel], old[rel])]
    assert len(carried) == len(fn) - written
    # and the earlier build is untouched
    assert {rel: p.read_bytes() for rel, p in _files(tmp_path / "old").items()} == old_before


def test_an_index_with_unchanged_inputs_is_linked_not_computed(real, tmp_path):
    passages, docs, vocab = real
    cache = tmp_path / "cache"
    first = si.write_static_index(tmp_path / "old", passages, docs, vocab, cache=cache)
    again = si.write_static_index(tmp_path / "new", passages, docs, vocab, previous=tmp_path / "old",
                                  cache=cache)
    assert again["scripts"] == first["scripts"] and again["stats"]["files_written"] == 0
    old, new = _files(tmp_path / "old"), _files(tmp_path / "new")
    assert sorted(old) == sorted(new) and all(os.path.samefile(old[r], new[r]) for r in new)
    # a missing file of the earlier build: computed again, complete and identical
    victim = sorted(old)[len(old) // 2]
    old[victim].unlink()
    third = si.write_static_index(tmp_path / "third", passages, docs, vocab, previous=tmp_path / "old",
                                  cache=cache)
    assert third["stats"]["files_written"] >= 1
    assert {r: p.read_bytes() for r, p in _files(tmp_path / "third").items()} == \
           {r: p.read_bytes() for r, p in new.items()}
    # changed inputs: computed again
    edited = passages[:-1] + [dict(passages[-1], text=passages[-1]["text"] + "另设科技保险补偿条款。")]
    fourth = si.write_static_index(tmp_path / "fourth", edited, docs, vocab, previous=tmp_path / "third",
                                   cache=cache)
    assert fourth["scripts"] != first["scripts"]
    fresh = si.write_static_index(tmp_path / "fresh", edited, docs, vocab)
    assert {r: p.read_bytes() for r, p in _files(tmp_path / "fourth").items()} == \
           {r: p.read_bytes() for r, p in _files(tmp_path / "fresh").items()}


def test_script_text_is_stored_as_data(tmp_path):
    evil = '<script>alert(1)</script> 投贷联动 <img src=x onerror=alert(2)> "quote" \\ \u2028 end'
    ps = [{"id": "x-1", "doc": "x", "section": ["<b>标题</b>"], "text": evil, "cities": ["武汉"],
           "instruments": ["linkage"], "year": 2024, "url": "doc/x.html#x-1"},
          {"id": "x-2", "doc": "x", "section": [], "text": "普通文本", "cities": [], "instruments": [],
           "year": 2024, "url": "doc/x.html#x-2"}]
    docs = [{"id": "x", "title": "</script><script>alert(3)</script>", "year": 2024}]
    si.write_static_index(tmp_path, ps, docs, None)
    for rel, path in _files(tmp_path).items():
        if rel.startswith("kb-"):
            continue
        text = path.read_text(encoding="utf-8")
        assert "<" not in text, rel  # every "<" is escaped as \u003c inside JSON strings
        assert "\u2028" not in text
    index = si.StaticIndex(tmp_path)
    assert index.passage(0)[4] == evil
    assert index.passage(0)[3] == ["<b>标题</b>"]
    assert index.passage(0)[5] == docs[0]["title"]
    assert ranked(index, "投贷联动") == [0]


def test_long_posting_lists_are_paged_by_impact(real, tmp_path, reference):
    passages, docs, vocab = real
    si.write_static_index(tmp_path, passages, docs, vocab, page0=4, inline_max=60)
    index = si.StaticIndex(tmp_path)
    for q in ["科技 金融", "投贷联动", "科", '"科技金融"', "风险补偿", "合肥 产业基金"]:
        assert ranked(index, q) == ranked(reference, q, index.gazetteer), q
    entry = index.entry("g", "科技")
    df, pages = entry
    assert isinstance(pages, list) and [c for _f, c, _b in pages][:3] == [4, 8, 16]
    assert sum(c for _f, c, _b in pages) == df
    # the first page holds the highest-impact postings
    first = si.decode_postings(index.load(pages[0][0]), index.codes)
    rest = {}
    for name, _c, _b in pages[1:]:
        rest.update(si.decode_postings(index.load(name), index.codes))
    avg = index.avgdl["g"]
    worst_first = min(impact(tf, dl, avg) for tf, _p, dl, *_codes in first.values())
    best_rest = max(impact(tf, dl, avg) for tf, _p, dl, *_codes in rest.values())
    assert worst_first >= best_rest
    # facet lists of cities and instruments are paged alike, by the strength of the tag
    # (cues / sqrt(instruments); 1 / cities): the first page holds the strongest passages
    entry = max(index.facets["instruments"], key=lambda e: e[2])
    pages = index.list_pages(entry)
    assert [n for _f, n, _b in pages][:3] == [4, 8, 16] and sum(n for _f, n, _b in pages) == entry[2]
    base = index.facets["cueBase"]

    def strength(codes):
        return min(codes[2], CUE_SATURATION) ** 2 / max(1, bin(codes[1]).count("1"))
    first = si.decode_facet_list(index.load(pages[0][0]), index.codes, base)
    rest = {}
    for name, _n, _b in pages[1:]:
        rest.update(si.decode_facet_list(index.load(name), index.codes, base))
    assert min(map(strength, first.values())) >= max(map(strength, rest.values()))
    assert index.facet_list(entry, base) == dict(sorted({**first, **rest}.items()))
    city = max(index.facets["cities"], key=lambda e: e[2])
    pages = index.list_pages(city)
    first = si.decode_facet_list(index.load(pages[0][0]), index.codes)
    rest = si.decode_facet_list(index.load(pages[-1][0]), index.codes)
    assert len(pages) > 1 and max(len(c[0]) for c in first.values()) <= min(len(c[0]) for c in rest.values())


def test_facets_are_compact_and_exact(written, real):
    out, _result = written
    passages, docs, vocab = real
    index = si.StaticIndex(out)
    f = index.facets
    counts = si.decode_varints(f["docCount"])
    assert sum(counts) == len(passages)
    assert [d["id"] for d in docs] == sorted(d["id"] for d in docs)
    slug = {c["name"]: c["slug"] for c in vocab.cities}
    ref = Reference(passages, docs, vocab)

    def decode(cset, mask):
        cities = sorted(f["cities"][c][0] for c in cset)
        insts = sorted(f["instruments"][i][0] for i in range(len(f["instruments"])) if mask >> i & 1)
        return cities, insts

    def tags(p):
        return sorted({slug[c] for c in p["cities"]}), sorted(set(p["instruments"]))

    # the codes inlined in the postings give each passage's cities and instruments
    post = index.get("g", "科技")
    assert len(post) > 50
    for idx, (_tf, _pos, _dl, cset, mask) in post.items():
        assert decode(cset, mask) == tags(ref.passages[idx])
    # facet lists (browsing without a query) hold the same codes
    for entry, cue_base in [(e, 0) for e in f["cities"][:3]] + [(e, f["cueBase"]) for e in f["instruments"][:3]]:
        lst = index.facet_list(entry, cue_base)
        assert len(lst) == entry[2] > 0
        for idx, (cset, mask, *cues) in lst.items():
            assert decode(cset, mask) == tags(ref.passages[idx])
            if cues:  # an instrument's list: the distinct cues of that instrument (as far as ranking reads)
                want = min(len(ref.passages[idx]["cues"][entry[0]]), CUE_SATURATION)
                assert cues == [want] and cues[0] > 0
    for entry in f["years"]:
        pages = index.list_pages(entry)
        assert len(pages) == 1 and len(si.decode_facet_list(index.load(pages[0][0]), index.codes)) == entry[1]
    # per-document code files
    docs_meta = index.meta["docs"]
    codes = []
    for k in range(docs_meta["count"]):
        codes += si.decode_doc_codes(index.load(f"{docs_meta['codes']}/{k}.js"), index.codes)
    assert len(codes) == len(passages)
    assert [decode(*c) for c in codes] == [tags(p) for p in ref.passages]
    assert index.document(0) == (docs[0]["id"], docs[0]["title"], docs[0]["publisher"],
                                  str(docs[0]["date"]), docs[0]["type"])
    types = {e[0]: e[2] for e in f["types"]}
    assert sum(types.values()) == len(passages) and set(types) <= set(si.DOC_TYPE_LABELS)
    labels = {e[0]: e[1] for e in f["instruments"]}
    assert all(labels[i["slug"]] == i["label"] for i in vocab.instruments if i["slug"] in labels)
    names = {e[0]: e[1] for e in f["cities"]}
    assert names["wuhan"] == "武汉"
    assert len(json.dumps(f, ensure_ascii=False).encode()) < 10_000


def test_browse_without_query(written, real):
    out, _result = written
    passages, docs, vocab = real
    index = si.StaticIndex(out)
    ref = Reference(passages, docs, vocab)
    for filters in ({"city": "wuhan"}, {"instrument": "equity"}, {"city": "hefei", "instrument": "credit"},
                    {"year": 2024}, {"type": "policy"}, {"city": "nowhere"}):
        want = ref.browse(filters)
        assert index.browse(filters) == want, filters
        assert ranked(index, "", **filters) == want
        if "nowhere" not in filters.values():
            assert want
    assert ranked(ref, "", {}) == []


def test_t2s_map_covers_the_index(written):
    out, _result = written
    index = si.StaticIndex(out)
    pairs = index.load(index.meta["t2s"])
    mapping = {pairs[i]: pairs[i + 1] for i in range(0, len(pairs), 2)}
    for t, s in zip("風險補償質聯動專貸", "风险补偿质联动专贷"):
        assert mapping.get(t) == s
    assert "风" not in mapping  # only traditional forms are mapped
    assert len(pairs.encode()) < 12_000


def test_stats(written):
    _out, result = written
    stats = result["stats"]
    assert stats["passages"] > 100 and stats["documents"] == 5
    assert stats["meta_bytes"] < 2_000
    assert stats["fragment_files"] == -(-stats["passages"] // si.FRAG_SIZE)
