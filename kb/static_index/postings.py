"""Posting lists of one layer, collected and encoded over numpy arrays.

A posting string is a run of varints (gap, the passage's facet codes — see
:class:`kb.static_index.codec.Codes` —, field length, tf − 1, positions: first absolute, then
gaps), so the strings of a whole layer are written by one vectorised varint encoder over the
values in output order. Python work is left per term
(entries, page files) and per passage (its tokens -> term numbers).

The per-passage token numbering (:func:`doc_terms`) depends on one document only, so the
writer caches it per document (keyed by the analysis cache key) and an incremental build
only numbers the tokens of the documents that changed.
"""

import numpy as np

from ..search.rank import B, K1
from ..search.reference import utf16_key
from .codec import CONT, TERM

_TERM_A = np.frombuffer(TERM.encode(), dtype=np.uint8)
_CONT_A = np.frombuffer(CONT.encode(), dtype=np.uint8)
BATCH_VALUES = 1 << 18  # tokens encoded at once (bounds the memory of a layer)
PACK_BITS = 62  # a token's term, passage and position numbers packed in one int64 key


SEP = "\x1f"  # joins a document's terms (no term holds it: see kb.analysis)


def doc_terms(passages):
    """Tokens of one document's passages (per passage: its terms and their positions, two
    sequences) -> ``(terms, ids, positions, counts)``: the document's distinct terms
    (first-seen order, joined by SEP: one string is a fraction of the memory of a list and
    quick to unpickle), and per token (passage by passage) the term's number in ``terms``
    and its position; ``counts``: tokens per passage."""
    all_terms, pos, counts = [], [], []
    for terms, positions in passages:
        counts.append(len(terms))
        all_terms += terms
        pos += positions
    num = {}
    number = num.setdefault
    ids = [number(t, len(num)) for t in all_terms]  # first-seen numbering, in one pass
    local = list(num)
    joined = SEP.join(local)
    if joined.count(SEP) != max(len(local) - 1, 0) or (len(local) == 1 and not local[0]):
        joined = local  # a term holding the separator (or one empty term): kept as a list
    return (joined, np.array(ids, dtype=np.int32),
            np.array(pos, dtype=np.int32), np.array(counts, dtype=np.int32))


def terms_of(entry):
    """The distinct terms of a :func:`doc_terms` entry, as a list."""
    terms = entry[0]
    if isinstance(terms, str):
        return terms.split(SEP) if terms else []
    return terms


def valid(entry, n_passages):
    """Whether ``entry`` has the shape :func:`doc_terms` gives a document of ``n_passages``
    passages (a cached entry that does not is computed again)."""
    try:
        terms, ids, pos, counts = entry
        if isinstance(terms, str):
            n_terms = terms.count(SEP) + 1 if terms else 0
        elif isinstance(terms, list) and set(map(type, terms)) <= {str}:
            n_terms = len(terms)
        else:
            return False
        return (all(isinstance(a, np.ndarray) and a.dtype == np.int32 and a.ndim == 1
                    for a in (ids, pos, counts))
                and len(counts) == n_passages and len(ids) == len(pos) == int(counts.sum())
                and (not len(ids) or (0 <= int(ids.min()) and int(ids.max()) < n_terms))
                and (not len(pos) or int(pos.min()) >= 0) and (not len(counts) or int(counts.min()) >= 0))
    except (TypeError, ValueError):
        return False


class Tokens:
    """The tokens of one layer sorted by (term, passage, position): ``terms`` (UTF-16
    order), ``lengths`` (field length of every passage), ``starts`` (where each term's tokens
    begin; one more at the end) and :meth:`rows` (term numbers, passage numbers, positions of
    a range of tokens). Kept as one packed int64 key per token where the three fit in 62
    bits (8 bytes a token), else as three sorted arrays."""

    def __init__(self, terms, lengths, key=None, bits=None, arrays=None):
        self.terms, self.lengths = terms, lengths
        self.key, self.bits, self.arrays = key, bits, arrays
        if key is not None:
            shift = bits[0] + bits[1]
            self.starts = np.searchsorted(key, np.arange(len(terms) + 1, dtype=np.int64) << shift)
        else:
            self.starts = np.searchsorted(arrays[0], np.arange(len(terms) + 1))

    def __len__(self):
        return int(self.starts[-1])

    def rows(self, a, b):
        if self.key is None:
            return tuple(x[a:b].astype(np.int64) for x in self.arrays)
        bi, bp = self.bits
        k = self.key[a:b]
        return k >> (bi + bp), (k >> bp) & ((1 << bi) - 1), k & ((1 << bp) - 1)


def merge(docs):
    """Per-document numberings (:func:`doc_terms`, in index order; the list is emptied as
    they are packed) -> the layer's :class:`Tokens`."""
    vocab = set()
    for d in docs:
        vocab.update(terms_of(d))
    terms = sorted(vocab, key=utf16_key)
    del vocab
    gid = {t: i for i, t in enumerate(terms)}.__getitem__
    lengths = np.concatenate([d[3] for d in docs]).astype(np.int64) if docs else np.zeros(0, np.int64)
    n_tok = int(lengths.sum())
    max_pos = max((int(d[2].max()) for d in docs if len(d[2])), default=0)
    bits_t = max(len(terms).bit_length(), 1)
    bits_i = max(len(lengths).bit_length(), 1)
    bits_p = max(max_pos.bit_length(), 1)
    packed = bits_t + bits_i + bits_p <= PACK_BITS
    if packed:
        key = np.empty(n_tok, dtype=np.int64)
    else:
        arrays = tuple(np.empty(n_tok, dtype=np.int64) for _ in range(3))
    start = at = 0
    for i in range(len(docs)):
        entry, docs[i] = docs[i], None  # consumed: the keys replace the numberings
        _terms, ids, pos, counts = entry
        dterms = terms_of(entry)
        l2g = np.fromiter(map(gid, dterms), dtype=np.int64, count=len(dterms))
        end = at + len(ids)
        pidx = np.repeat(np.arange(start, start + len(counts), dtype=np.int64), counts)
        if packed:
            part = key[at:end]
            np.left_shift(l2g[ids], bits_i + bits_p, out=part)
            part |= pidx << bits_p
            part |= pos
        else:
            arrays[0][at:end], arrays[1][at:end], arrays[2][at:end] = l2g[ids], pidx, pos
        start += len(counts)
        at = end
    if packed:
        key.sort()
        return Tokens(terms, lengths, key=key, bits=(bits_i, bits_p))
    order = np.lexsort((arrays[2], arrays[1], arrays[0]))
    return Tokens(terms, lengths, arrays=tuple(a[order] for a in arrays))


def _vlen(v):
    """Number of base-32 digits of each value (int8)."""
    n = np.ones(len(v), dtype=np.int8)
    if len(v):
        top = int(v.max())
        lim = 32
        while lim <= top:
            n += v >= lim
            lim *= 32
    return n


def _varints(v):
    """Varint bytes of the values ``v`` (uint64), and the byte offset of each value."""
    nd = _vlen(v)
    last = np.cumsum(nd, dtype=np.int64)
    out = np.empty(int(last[-1]) if len(last) else 0, dtype=np.uint8)
    last -= 1  # where each value's last digit goes
    out[last] = _TERM_A[v.astype(np.uint8) & 31]
    j = 1
    sel = np.flatnonzero(nd > 1)
    while len(sel):
        out[last[sel] - j] = _CONT_A[(v[sel] >> np.uint64(5 * j)).astype(np.uint8) & 31]
        j += 1
        sel = sel[nd[sel] > j]
    last -= nd
    last += 1
    return out, last


def _argsort_keys(keys):
    """Order of rows sorted by the non-negative integer ``keys`` (most significant first)."""
    bits = [max(int(k.max()).bit_length(), 1) if len(k) else 1 for k in keys]
    if sum(bits) > 63:
        return np.lexsort(tuple(reversed(keys)))
    comp = np.zeros(len(keys[0]), dtype=np.int64)
    for k, nb in zip(keys, bits):
        comp <<= nb
        comp |= k
    return np.argsort(comp)  # the rows are distinct


def entries(files, table, cvals, clen, avgdl, page0, inline_max):
    """Sorted [(term, entry, approximate JSON bytes)] of one layer (:class:`Tokens`; page
    files written through ``files``), and the number of pages. ``cvals``: the facet code
    values of every passage, one after the other (uint64); ``clen``: how many each passage
    has. Terms are encoded in batches of about BATCH_VALUES tokens (memory)."""
    out, pages = [], 0
    cvals = np.asarray(cvals, dtype=np.uint64)
    clen = np.asarray(clen, dtype=np.int64)
    coff = np.cumsum(clen) - clen
    cchars = (np.add.reduceat(_vlen(cvals).astype(np.int64), coff) if len(clen)
              else np.zeros(0, np.int64))
    head_len = cchars + _vlen(table.lengths.astype(np.uint64))
    # most passages have two values (a numbered set, a mask): first and last copied directly,
    # the values between (a spelt-out set) only for the passages that have them
    first_v = cvals[coff] if len(clen) else np.zeros(0, np.uint64)
    last_v = cvals[coff + clen - 1] if len(clen) else np.zeros(0, np.uint64)
    csets = (cvals, clen, coff, first_v, last_v)
    starts = table.starts
    n_terms = len(table.terms)
    t0 = 0
    while t0 < n_terms:
        t1 = int(np.searchsorted(starts, int(starts[t0]) + BATCH_VALUES, side="right")) - 1
        t1 = min(max(t1, t0 + 1), n_terms)
        pages += _batch(files, table, t0, t1, csets, head_len, avgdl, page0, inline_max, out)
        t0 = t1
    return out, pages


def _batch(files, table, t0, t1, codes, head_len, avgdl, page0, inline_max, out):
    """Entries of the terms t0 … t1 − 1 (appended to ``out``); returns the pages written."""
    terms, lengths = table.terms, table.lengths
    tid, pidx, pos = table.rows(int(table.starts[t0]), int(table.starts[t1]))
    tid -= t0  # term numbers within the batch
    T = len(tid)
    first = np.empty(T, dtype=bool)
    first[0] = True
    np.not_equal(tid[1:], tid[:-1], out=first[1:])
    first[1:] |= pidx[1:] != pidx[:-1]
    pst = np.flatnonzero(first)  # first token of every posting
    P = len(pst)
    tf = np.diff(np.append(pst, T))
    p_tid, p_pidx = tid[pst], pidx[pst]
    pv = pos.copy()  # position values: first absolute, then gaps
    pv[1:] -= np.where(first[1:], 0, pos[:-1])
    del first, tid, pidx, pos
    tstart = np.flatnonzero(np.r_[True, p_tid[1:] != p_tid[:-1]])
    df = np.diff(np.append(tstart, P))
    lengths_u = lengths.astype(np.uint64)

    # Inline when short: the length of the string in passage order.
    gap = p_pidx - np.r_[-1, p_pidx[:-1]] - 1
    gap[tstart] = p_pidx[tstart]
    plen = head_len[p_pidx] + _vlen(gap) + _vlen(tf - 1) + np.add.reduceat(_vlen(pv), pst, dtype=np.int64)
    inline = (df * 6 <= inline_max) & (np.add.reduceat(plen, tstart) <= inline_max)
    del plen, gap

    # Paged: postings by BM25 impact (the same float operations as the reference order),
    # pages of page0, 2·page0, … postings, each in passage order.
    paged_p = np.repeat(~inline, df)
    page = np.zeros(P, dtype=np.int64)
    if paged_p.any():
        sel = np.flatnonzero(paged_p)
        s_tid, s_pidx, s_tf = p_tid[sel], p_pidx[sel], tf[sel]
        # rank of the impact (0 = highest; equal floats share a rank): impacts depend on
        # (tf, field length) only, so they are computed once per distinct pair
        code = s_tf * (int(lengths.max()) + 1) + lengths[s_pidx]
        if int(code.max()) < (1 << 20):
            present = np.zeros(int(code.max()) + 1, dtype=bool)
            present[code] = True
            pairs = np.flatnonzero(present)
            lut = np.zeros(len(present), dtype=np.int64)
        else:
            pairs, inverse = np.unique(code, return_inverse=True)
        u_tf = (pairs // (int(lengths.max()) + 1)).astype(np.float64)
        u_len = (pairs % (int(lengths.max()) + 1)).astype(np.float64)
        impact = (u_tf * (K1 + 1)) / (u_tf + K1 * ((1 - B) + (B * u_len) / avgdl))
        _values, dense = np.unique(-impact, return_inverse=True)
        if int(code.max()) < (1 << 20):
            lut[pairs] = dense
            irank = lut[code]
        else:
            irank = dense[inverse]
        order = _argsort_keys((s_tid, irank, s_pidx))
        s_start = np.flatnonzero(np.r_[True, s_tid[1:] != s_tid[:-1]])
        s_first = np.repeat(s_start, np.diff(np.append(s_start, len(sel))))
        rank = np.empty(len(sel), dtype=np.int64)
        rank[order] = np.arange(len(sel), dtype=np.int64) - s_first
        q = (rank + page0) // page0
        k = np.zeros(len(sel), dtype=np.int64)
        lim = 2
        top = int(q.max())
        while lim <= top:
            k += q >= lim
            lim *= 2
        page[sel] = k
        del s_tid, s_pidx, s_tf, code, impact, irank, order, rank, q, k
    perm = _argsort_keys((p_tid, page, p_pidx))  # output order of the postings
    del paged_p

    o_pidx, o_page, o_tid, o_tf = p_pidx[perm], page[perm], p_tid[perm], tf[perm]
    grp = np.r_[True, (o_tid[1:] != o_tid[:-1]) | (o_page[1:] != o_page[:-1])]
    o_gap = o_pidx - np.r_[-1, o_pidx[:-1]] - 1
    o_gap[grp] = o_pidx[grp]
    cvals, clen, coff, first_v, last_v = codes
    o_clen = clen[o_pidx]
    nval = 3 + o_clen + o_tf  # gap, codes, field length, tf - 1, positions
    off = np.cumsum(nval) - nval
    vals = np.empty(int(nval.sum()), dtype=np.uint64)
    vals[off] = o_gap
    # the codes of posting j's passage go after its gap
    vals[off + 1] = first_v[o_pidx]
    vals[off + o_clen] = last_v[o_pidx]
    mid = np.flatnonzero(o_clen > 2)
    if len(mid):
        m_len = o_clen[mid] - 2
        code_post = np.repeat(mid, m_len)
        within = np.arange(int(m_len.sum())) - np.repeat(np.cumsum(m_len) - m_len, m_len)
        vals[off[code_post] + 2 + within] = cvals[coff[o_pidx[code_post]] + 1 + within]
        del code_post, within
    at = off + o_clen  # where the field length goes, less one
    vals[at + 1] = lengths_u[o_pidx]
    vals[at + 2] = o_tf - 1
    # positions: the tokens of posting perm[j] go after its other values (token t of the
    # output is the (t - first)th of its posting: target and source are t plus a per-posting shift)
    n_tok = int(o_tf.sum())
    tok = np.arange(n_tok)
    first_tok = np.cumsum(o_tf) - o_tf
    vals[tok + np.repeat(at + 3 - first_tok, o_tf)] = pv[tok + np.repeat(pst[perm] - first_tok, o_tf)]
    del tok, first_tok, at, pv, o_gap
    buf, boff = _varints(vals)
    del vals
    g_starts = np.flatnonzero(grp)
    g_byte = np.append(boff[off[g_starts]], len(buf)).tolist()
    g_tid = o_tid[g_starts].tolist()
    g_n = np.diff(np.append(g_starts, P)).tolist()
    data = buf.tobytes()
    del buf, boff
    df, inline = df.tolist(), inline.tolist()
    pages_written = 0
    gi = 0
    ng = len(g_starts)
    while gi < ng:
        t = g_tid[gi]
        term = terms[t0 + t]
        d = df[t]
        size = len(term.encode("utf-8")) + 12
        if inline[t]:
            s = data[g_byte[gi]:g_byte[gi + 1]].decode("ascii")
            out.append((term, [d, s], size + len(s)))
            gi += 1
            continue
        refs = []
        while gi < ng and g_tid[gi] == t:
            name = files.register("p", data[g_byte[gi]:g_byte[gi + 1]].decode("ascii"))
            refs.append([name, g_n[gi], files.sizes[name]])
            pages_written += 1
            gi += 1
        out.append((term, [d, refs], size + 40 * len(refs)))
    return pages_written
