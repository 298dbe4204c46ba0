"""Posting lists of one layer, collected and encoded over numpy arrays.

The files are exactly those the per-posting loops made before (tests compare the bytes):
a posting string is a run of varints (gap, city set, instrument mask, field length, tf − 1,
positions: first absolute, then gaps), so the strings of a whole layer are written by one
vectorised varint encoder over the values in output order. Python work is left per term
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
BATCH_VALUES = 1 << 21  # varint values encoded at once (bounds the memory of a layer)


def doc_terms(passages):
    """Tokens of one document's passages (per passage: its terms and their positions, two
    sequences) -> ``(terms, ids, positions, counts)``: the document's distinct terms
    (first-seen order), and per token (passage by passage) the term's number in ``terms``
    and its position; ``counts``: tokens per passage."""
    all_terms, pos, counts = [], [], []
    for terms, positions in passages:
        counts.append(len(terms))
        all_terms += terms
        pos += positions
    local = list(dict.fromkeys(all_terms))
    num = {t: i for i, t in enumerate(local)}
    return (local, np.fromiter(map(num.__getitem__, all_terms), dtype=np.int32, count=len(all_terms)),
            np.array(pos, dtype=np.int32), np.array(counts, dtype=np.int32))


def valid(entry, n_passages):
    """Whether ``entry`` has the shape :func:`doc_terms` gives a document of ``n_passages``
    passages (a cached entry that does not is computed again)."""
    try:
        terms, ids, pos, counts = entry
        return (isinstance(terms, list) and set(map(type, terms)) <= {str}
                and all(isinstance(a, np.ndarray) and a.dtype == np.int32 and a.ndim == 1
                        for a in (ids, pos, counts))
                and len(counts) == n_passages and len(ids) == len(pos) == int(counts.sum())
                and (not len(ids) or (0 <= int(ids.min()) and int(ids.max()) < len(terms)))
                and (not len(pos) or int(pos.min()) >= 0) and (not len(counts) or int(counts.min()) >= 0))
    except (TypeError, ValueError):
        return False


def merge(docs):
    """Per-document numberings (:func:`doc_terms`, in index order) -> the layer's sorted
    terms (UTF-16 order) and per token: term number, passage number, position; plus the
    field length of every passage."""
    vocab = set()
    for d in docs:
        vocab.update(d[0])
    terms = sorted(vocab, key=utf16_key)
    del vocab
    gid = {t: i for i, t in enumerate(terms)}.__getitem__
    tids, pidxs, poss, lens = [], [], [], []
    start = 0
    for dterms, ids, pos, counts in docs:
        l2g = np.fromiter(map(gid, dterms), dtype=np.int64, count=len(dterms))
        tids.append(l2g[ids])
        pidxs.append(np.repeat(np.arange(start, start + len(counts), dtype=np.int64), counts))
        poss.append(pos)
        lens.append(counts)
        start += len(counts)
    cat = (lambda xs: np.concatenate(xs).astype(np.int64) if xs else np.zeros(0, np.int64))
    return terms, cat(tids), cat(pidxs), cat(poss), cat(lens)


def _vlen(v):
    """Number of base-32 digits of each value."""
    n = np.ones(len(v), dtype=np.int64)
    if len(v):
        top = int(v.max())
        lim = 32
        while lim <= top:
            n += v >= lim
            lim *= 32
    return n


def _varints(v):
    """Varint bytes of the values ``v`` (uint64), and each value's byte offset."""
    nd = _vlen(v)
    ends = np.cumsum(nd)
    out = np.empty(int(ends[-1]) if len(ends) else 0, dtype=np.uint8)
    last = ends - 1
    out[last] = _TERM_A[(v & 31).astype(np.int64)]
    j = 1
    sel = np.flatnonzero(nd > 1)
    while len(sel):
        out[last[sel] - j] = _CONT_A[((v[sel] >> np.uint64(5 * j)) & np.uint64(31)).astype(np.int64)]
        j += 1
        sel = sel[nd[sel] > j]
    return out, ends - nd


def _sort_tokens(tid, pidx, pos):
    """Tokens sorted by (term, passage, position)."""
    bits_p = max(int(pos.max()).bit_length(), 1) if len(pos) else 1
    bits_i = max(int(pidx.max()).bit_length(), 1) if len(pidx) else 1
    bits_t = max(int(tid.max()).bit_length(), 1) if len(tid) else 1
    if bits_p + bits_i + bits_t <= 62:
        key = (tid << (bits_i + bits_p)) | (pidx << bits_p) | pos
        key.sort()
        return key >> (bits_i + bits_p), (key >> bits_p) & ((1 << bits_i) - 1), key & ((1 << bits_p) - 1)
    order = np.lexsort((pos, pidx, tid))
    return tid[order], pidx[order], pos[order]


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


def entries(files, terms, tid, pidx, pos, lengths, csets, masks, avgdl, page0, inline_max):
    """Sorted [(term, entry, approximate JSON bytes)] of one layer (page files written
    through ``files``), and the number of pages: what ``writer._entries`` made posting by
    posting."""
    out = []
    n_terms = len(terms)
    if not n_terms:
        return out, 0
    tid, pidx, pos = _sort_tokens(tid, pidx, pos)
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
    csets = np.asarray(csets, dtype=np.uint64)
    masks = np.array(masks, dtype=np.uint64)
    lengths_u = lengths.astype(np.uint64)
    head_len = _vlen(csets) + _vlen(masks) + _vlen(lengths_u)

    # Inline when short: the length of the string in passage order.
    gap = p_pidx - np.r_[-1, p_pidx[:-1]] - 1
    gap[tstart] = p_pidx[tstart]
    plen = _vlen(gap) + head_len[p_pidx] + _vlen(tf - 1) + np.add.reduceat(_vlen(pv), pst)
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
        if int(code.max()) < (1 << 24):
            present = np.zeros(int(code.max()) + 1, dtype=bool)
            present[code] = True
            pairs = np.flatnonzero(present)
            lut = np.zeros(len(present), dtype=np.int64)
        else:
            pairs, inverse = np.unique(code, return_inverse=True)
        u_tf = (pairs // (int(lengths.max()) + 1)).astype(np.float64)
        u_len = (pairs % (int(lengths.max()) + 1)).astype(np.float64)
        impact = (u_tf * (K1 + 1)) / (u_tf + K1 * ((1 - B) + (B * u_len) / avgdl))
        values, dense = np.unique(-impact, return_inverse=True)
        if int(code.max()) < (1 << 24):
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

    pages_written = 0
    t0 = 0
    while t0 < n_terms:
        # a batch of whole terms, about BATCH_VALUES values
        a = int(tstart[t0])
        t1 = int(np.searchsorted(tstart, a + max(1, BATCH_VALUES // 8), side="left"))
        t1 = min(max(t1, t0 + 1), n_terms)
        b = int(tstart[t1]) if t1 < n_terms else P
        bp = perm[a:b]  # postings a..b-1 in output order (a permutation of that range)
        o_pidx, o_page, o_tid, o_tf = p_pidx[bp], page[bp], p_tid[bp], tf[bp]
        grp = np.r_[True, (o_tid[1:] != o_tid[:-1]) | (o_page[1:] != o_page[:-1])]
        o_gap = o_pidx - np.r_[-1, o_pidx[:-1]] - 1
        o_gap[grp] = o_pidx[grp]
        nval = 5 + o_tf
        off = np.cumsum(nval) - nval
        vals = np.empty(int(nval.sum()), dtype=np.uint64)
        vals[off] = o_gap
        vals[off + 1] = csets[o_pidx]
        vals[off + 2] = masks[o_pidx]
        vals[off + 3] = lengths_u[o_pidx]
        vals[off + 4] = o_tf - 1
        # positions: the tokens of posting bp[j] go after its five values
        n_tok = int(o_tf.sum())
        tok_post = np.repeat(np.arange(b - a), o_tf)  # output posting of each token
        within = np.arange(n_tok) - np.repeat(np.cumsum(o_tf) - o_tf, o_tf)
        vals[off[tok_post] + 5 + within] = pv[pst[bp][tok_post] + within]
        del tok_post, within
        buf, boff = _varints(vals)
        del vals
        g_starts = np.flatnonzero(grp)
        g_byte = np.append(boff[off[g_starts]], len(buf)).tolist()
        g_tid = o_tid[g_starts].tolist()
        g_n = np.diff(np.append(g_starts, b - a)).tolist()
        data = buf.tobytes()
        del buf, boff
        gi = 0
        ng = len(g_starts)
        while gi < ng:
            t = g_tid[gi]
            term = terms[t]
            d = int(df[t])
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
        t0 = t1
    return out, pages_written
