"""The vectorised posting encoder (kb/static_index/postings.py) makes exactly the entries and
page files of the per-posting loops it replaced (kept below as the reference), for tiny and
default page sizes, random facet codes (a variable number of values per passage) and very
large values."""

import random
from array import array

import numpy as np
import pytest

from kb import analysis
from kb.search.rank import B, K1
from kb.search.reference import ordered as _ordered, utf16_key
from kb.static_index import postings
from kb.static_index.codec import _SMALL, _big, _json
from kb.static_index.writer import _doc_groups, _passage_terms

from .test_static_index import corpus_data


# ---------------------------------------------------------------- the reference (old writer)

class _Term:
    __slots__ = ("idx", "tf", "pos", "off")

    def __init__(self):
        self.idx, self.tf, self.pos, self.off = array("I"), array("I"), bytearray(), array("I")


def _collect(passages, fn):
    terms, lengths = {}, array("I")
    for idx, p in enumerate(passages):
        toks = fn(p)
        lengths.append(len(toks))
        per = {}
        for term, q in toks:
            per.setdefault(term, []).append(q)
        for term, pos in per.items():
            t = terms.get(term)
            if t is None:
                t = terms[term] = _Term()
            t.idx.append(idx)
            t.tf.append(len(pos))
            t.off.append(len(t.pos))
            prev = 0
            for q in sorted(pos):
                d = q - prev
                t.pos += _SMALL[d] if d < 4096 else _big(d)
                prev = q
    return terms, lengths


def _encode(t, order, heads):
    parts, prev, last = [], -1, len(t.idx) - 1
    for k in order:
        idx = t.idx[k]
        d = idx - prev - 1
        prev = idx
        parts += [_SMALL[d] if d < 4096 else _big(d), heads[idx]]
        f = t.tf[k] - 1
        parts.append(_SMALL[f] if f < 4096 else _big(f))
        parts.append(t.pos[t.off[k]:t.off[k + 1]] if k < last else t.pos[t.off[k]:])
    return b"".join(parts).decode("ascii")


def _entries(files, terms, heads, lengths, avgdl, page0, inline_max):
    out, pages = [], 0
    for term in sorted(terms, key=utf16_key):
        t = terms[term]
        df = len(t.idx)
        size = len(term.encode("utf-8")) + 12
        full = _encode(t, range(df), heads) if df * 6 <= inline_max else None
        if full is not None and len(full) <= inline_max:
            out.append((term, [df, full], size + len(full)))
            continue
        norm = [K1 * (1 - B + B * lengths[i] / avgdl) for i in t.idx]
        order = sorted(range(df), key=lambda k: (-(t.tf[k] * (K1 + 1) / (t.tf[k] + norm[k])), t.idx[k]))
        refs, start, size_p = [], 0, page0
        while start < df:
            name = files.register("p", _encode(t, sorted(order[start:start + size_p]), heads))
            refs.append([name, min(size_p, df - start), files.sizes[name]])
            pages += 1
            start += size_p
            size_p *= 2
        out.append((term, [df, refs], size + 40 * len(refs)))
    return out, pages


class _Files:
    """Records the files instead of writing them."""

    def __init__(self):
        self.sizes, self.bodies = {}, {}

    def register(self, kind, payload):
        body = _json(payload)
        name = f"{kind}.{len(self.bodies)}"
        for old, b in self.bodies.items():  # same content, same name (as content hashes do)
            if b == body:
                return old
        self.bodies[name] = body
        self.sizes[name] = len(body)
        return name


def _vb(v):
    return _SMALL[v] if v < 4096 else _big(v)


@pytest.mark.parametrize("layer", ["w", "g"])
@pytest.mark.parametrize("page0,inline_max,big,batch,pack", [(2, 30, False, 1 << 20, 62), (3, 200, True, 1 << 20, 62),
                                                              (384, 1024, False, 1 << 20, 62),
                                                              (2, 30, False, 97, 62), (3, 200, True, 1, 0)])
def test_vectorised_postings_equal_the_reference(layer, page0, inline_max, big, batch, pack, monkeypatch):
    monkeypatch.setattr(postings, "BATCH_VALUES", batch)  # terms encoded in batches
    monkeypatch.setattr(postings, "PACK_BITS", pack)  # 0: three sorted arrays instead of one key
    passages, docs, _vocab = corpus_data()
    ordered = _ordered(passages, docs)[:400]
    rng = random.Random(page0)
    n = len(ordered)
    # facet codes: a variable number of values per passage (a numbered or spelt-out city set,
    # then a mask)
    codes = [[rng.randrange(5000 if big else 40) for _ in range(rng.choice((1, 1, 2, 4)))]
             + [rng.getrandbits(53 if big else 6)] for _ in range(n)]
    fn = _passage_terms(layer, None)
    if big:  # positions and gaps beyond the small-value table
        def fn(p, _fn=fn):
            terms, pos = _fn(p)
            return terms, [q * 3001 for q in pos]
    pairs = (lambda p: list(zip(*fn(p))))
    terms_ref, lengths = _collect(ordered, pairs)
    avgdl = sum(lengths) / n
    heads = [b"".join(_vb(v) for v in codes[i]) + _vb(lengths[i]) for i in range(n)]
    f_ref, f_new = _Files(), _Files()
    want = _entries(f_ref, terms_ref, heads, lengths, avgdl, page0, inline_max)
    docs_terms = [postings.doc_terms([fn(p) for p in ordered[a:b]]) for _d, a, b in _doc_groups(ordered)]
    table = postings.merge(docs_terms)
    assert list(table.lengths) == list(lengths)
    got = postings.entries(f_new, table, [v for c in codes for v in c], [len(c) for c in codes], avgdl,
                           page0, inline_max)
    assert got == want
    assert f_new.bodies == f_ref.bodies
    assert want[1] > 0  # some lists were paged


def test_tokens_of_the_cache_equal_the_cut_tokens():
    passages, _docs, _vocab = corpus_data()
    for layer, cut in (("w", analysis.word_tokens), ("g", analysis.gram_tokens)):
        cached = _passage_terms(layer, {p["id"]: analysis.passage_tokens(p["text"]) for p in passages[:50]})
        for p in passages[:50]:
            terms, pos = cached(p)
            assert list(zip(terms, pos)) == [(t, q) for t, q, _s, _e in cut(p["text"])]


def test_varints_match_the_codec():
    from kb.static_index.codec import decode_varints
    values = [0, 1, 31, 32, 1023, 1024, 4095, 4096, 32767, 32768, 2 ** 40 + 5, 2 ** 53 - 1]
    buf, off = postings._varints(np.array(values, dtype=np.uint64))
    assert decode_varints(buf.tobytes().decode("ascii")) == values
    assert buf.tobytes() == b"".join(_vb(v) for v in values)
    assert list(off) == [len(b"".join(_vb(v) for v in values[:i])) for i in range(len(values))]
