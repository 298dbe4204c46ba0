"""The query model, part 2: ranking passages for a plan of concepts.

One definition, executed three ways: over the Whoosh index (command line,
:mod:`kb.search.whoosh_source`), over the static index files (:class:`kb.static_index.StaticIndex`,
the browser's Python twin) and over analysis tokens directly (:class:`kb.search.reference.Reference`).
The browser's ``kb-rank.js`` implements the same arithmetic in the same order; the constants
reach it through the static index (``rules`` file), so they are defined here only.

A concept **matches** a passage when

* its words occur at consecutive positions of the word layer (a whole-word match), or its
  gram slots occur as a phrase of the character-bigram layer (an exact substring: text that
  jieba cut differently); a quoted phrase must match this way or the passage is dropped;
* for a city concept: also when the passage's subject city (its tag, section inheritance
  included) is one of the concept's cities;
* for an instrument concept: also when the passage is tagged with that instrument.

Candidates are the passages where some concept matches through the text, and the passages
tagged with the city or instrument of a city or instrument concept.

Score of a passage, from the concepts it matches (BM25, k1 = 1.2, b = 0.75, idf =
ln(1 + (N − df + 0.5)/(df + 0.5))):

* text: a whole-word match adds Σ idf·impact over the concept's distinct words; a substring
  match only adds ``GRAM_FACTOR`` × the mean idf·impact of its distinct bigrams; a long word
  whose pieces all occur apart (容错 … 免责 for 容错免责) adds ``PIECES_FACTOR`` × the mean
  idf·impact of the pieces;
* city concept: a subject adds ``TAG_WEIGHT`` × idf(passages with that subject) / (number of
  the passage's subject cities) and its text score in full; a mere mention adds
  ``MENTION_FACTOR`` × its text score;
* instrument concept: the text score plus, when tagged, ``TAG_WEIGHT`` × ``INSTRUMENT_FACTOR``
  × idf(tagged) × strength, where strength = min(distinct cues of the instrument in the passage,
  ``CUE_SATURATION``) / ``CUE_SATURATION`` / √(number of the passage's instruments): a passage
  where three of its cues fire and that is about little else is most about it;
* proximity: for two neighbouring concepts that both match as words, ``PROX_WEIGHT`` ×
  min(weights) / max(distance, 1) when their nearest positions are at most ``PROX_WINDOW`` words
  apart (distance 0: both inside one compound word, 科技 and 金融 in 科技金融);
* coordination: the sum is multiplied by ``coverage ** COORD_POWER``, where coverage is the
  weight of the matched concepts over the weight of every concept that occurs in the
  candidates; an instrument concept named by a cue narrower than its instrument (天使基金,
  a cue of equity funds) and matched by the instrument's tag alone counts ``TAG_ONLY_SHARE``
  of its weight: the passage is about the instrument, not necessarily about that kind of it
  (a concept named by the instrument's label, 科技保险, counts in full). A concept's weight is how specific its **text** is: idf of the number of
  candidates that contain it as text (words, substring or pieces); only a concept found by
  tag alone (a province whose name no passage prints) is weighed by the candidates it matches
  by tag. The tags widen what a city or instrument concept matches, but they must not make the
  concept look common: in 银行如何通过知识产权质押为轻资产科技企业融资 the instrument tag
  adds every passage tagged with IP finance, and weighed by that number 知识产权质押 would
  count for less than 轻.

Order: passages matching **enough** of the concepts that occur come first, then the rest
(partial matches); inside each group by score (rounded to 1e-6), then by index order (document
id, position). Enough is Elasticsearch's ``minimum_should_match: "3<75%"``: every concept when
the query has at most ``MSM_ALL_UP_TO`` (3) concepts that occur, else ``MSM_SHARE`` (75 %) of
them, rounded down. A long question (银行如何通过知识产权质押为轻资产科技企业融资: seven
concepts) thus does not put every passage that happens to hold all seven words, generic ones
included, above those about its subject that miss one. Concepts that match nothing are reported;
"full" counts the passages that match every concept (the partial-match notice needs it).

Execution: the arithmetic runs over numpy arrays of candidates, one vector operation per
concept and term in the order written above (IEEE doubles, the same operations as the
scalar JavaScript twin, so both give the same scores); only phrase checks and proximity, which
need positions, loop over the few passages they concern. A source may offer fast array
versions of its columns (``arrays``, ``prefix_arrays``, ``positions``, ``tagged_array``,
``size_array``, ``cue_array``, ``order_rank``); without them the plain methods are used.
"""

import itertools
import math

import numpy as np

K1 = 1.2
B = 0.75
GRAM_FACTOR = 0.5
PIECES_FACTOR = 0.8
TAG_WEIGHT = 4.0
MENTION_FACTOR = 0.3
INSTRUMENT_FACTOR = 0.5
PROX_WINDOW = 5
PROX_WEIGHT = 0.5
COORD_POWER = 2
MSM_ALL_UP_TO = 3  # minimum_should_match "3<75%": all concepts up to 3, …
MSM_SHARE = 0.75  # … else this share of them, rounded down
CUE_SATURATION = 3  # distinct cues of an instrument beyond which a passage is not more about it
TAG_ONLY_SHARE = 0.5  # coverage of a cue concept (天使基金) matched by its instrument's tag alone
SCORE_SCALE = 1_000_000

_EMPTY = np.zeros(0, dtype=np.int64)


def constants():
    """The ranking constants, as the browser receives them."""
    return {"k1": K1, "b": B, "gram": GRAM_FACTOR, "pieces": PIECES_FACTOR, "tag": TAG_WEIGHT,
            "mention": MENTION_FACTOR, "cueSat": CUE_SATURATION, "tagOnly": TAG_ONLY_SHARE,
            "inst": INSTRUMENT_FACTOR, "proxWindow": PROX_WINDOW, "prox": PROX_WEIGHT,
            "coord": COORD_POWER, "msmAll": MSM_ALL_UP_TO, "msmShare": MSM_SHARE, "scale": SCORE_SCALE}


def idf(n, df):
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def impact(tf, dl, avgdl):
    """BM25's saturated term frequency; ``tf`` and ``dl`` may be numbers or numpy arrays."""
    return tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl))


def _unique(seq):
    seen = set()
    return [x for x in seq if not (x in seen or seen.add(x))]


def postings_arrays(postings):
    """{idx: (tf, positions, dl)} → (sorted idx, tf, dl) arrays."""
    keys = sorted(postings)
    return (np.array(keys, dtype=np.int64),
            np.array([postings[i][0] for i in keys], dtype=np.float64),
            np.array([postings[i][2] for i in keys], dtype=np.float64))


def merge_postings(maps):
    """One posting map for several terms (a prefix slot: every bigram starting with a char)."""
    merged = {}
    for d in maps:
        for idx, post in d.items():
            old = merged.get(idx)
            if old is None:
                merged[idx] = (post[0], tuple(post[1]), post[2])
            else:
                merged[idx] = (old[0] + post[0], tuple(sorted(old[1] + tuple(post[1]))), old[2])
    return merged


def _intersect(arrays):
    if not arrays:
        return _EMPTY
    out = arrays[0]
    for a in arrays[1:]:
        out = np.intersect1d(out, a, assume_unique=True)
    return out


def _merge(a, b):
    """The sorted union of two disjoint sorted arrays."""
    return np.sort(np.concatenate([a, b]), kind="stable")


_POS = 1 << 32  # passage·_POS + position: one sortable key per occurrence


class _Phrase:
    """Where ``slots`` occur at consecutive positions, for the passages ``idx``: the passages
    (``idx``) and, per passage, the phrase's start positions: the positions p of the first
    slot such that slot j occurs at p + j, found for all passages at once over occurrence keys."""

    def __init__(self, cols, slots, idx):
        starts = None
        for j, slot in enumerate(slots):
            keys = _occurrences(cols, slot, idx)
            starts = keys if starts is None else starts[np.isin(starts + j, keys)]
        self.keys = _EMPTY if starts is None else starts
        self.idx = np.unique(self.keys // _POS)

    def occurrences(self, idx):
        """The start keys in the passages ``idx`` (a sorted subset of ``self.idx``)."""
        return self.keys[np.isin(self.keys // _POS, idx)]


def _occurrences(cols, slot, idx):
    """Sorted occurrence keys (passage·_POS + position) of a slot in the passages ``idx``."""
    pos = cols.positions(slot, idx)
    lists = [pos[i] for i in idx.tolist()]
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=int(lengths.sum()))
    return np.repeat(idx, lengths) * _POS + flat


def _nearest(first, second, idx):
    """Per passage of ``idx``: the least distance between an occurrence key of ``first`` and
    one of ``second`` (adjacent keys of different origin in their merged order)."""
    keys = np.concatenate([first, second])
    origin = np.concatenate([np.zeros(len(first), dtype=bool), np.ones(len(second), dtype=bool)])
    order = np.argsort(keys, kind="stable")
    keys, origin = keys[order], origin[order]
    passage = keys // _POS
    pair = (origin[1:] != origin[:-1]) & (passage[1:] == passage[:-1])
    out = np.full(len(idx), np.iinfo(np.int64).max)
    np.minimum.at(out, np.searchsorted(idx, passage[1:][pair]), (keys[1:] - keys[:-1])[pair])
    return out


def _term_scores(n, postings, idx, avgdl):
    """idf · impact of one term for the passages ``idx`` (a subset of its postings)."""
    keys, tf, dl = postings
    at = np.searchsorted(keys, idx)
    return idf(n, len(keys)) * impact(tf[at], dl[at], avgdl)


class _Columns:
    """Per-passage columns of a source, as arrays when the source offers them."""

    def __init__(self, source):
        self.source = source
        self._arrays = {}

    def postings(self, layer, term):
        key = (layer, term)
        if key not in self._arrays:
            fast = getattr(self.source, "arrays", None)
            self._arrays[key] = fast(layer, term) if fast else postings_arrays(self.source.get(layer, term))
        return self._arrays[key]

    def prefix(self, char):
        """Arrays of the merged postings of every bigram starting with ``char``."""
        key = ("prefix", char)
        if key not in self._arrays:
            fast = getattr(self.source, "prefix_arrays", None)
            self._arrays[key] = fast(char) if fast else postings_arrays(self._merged(char))
        return self._arrays[key]

    def _merged(self, char):
        return merge_postings([self.source.get("g", t) for t in self.source.expand(char)])

    def positions(self, slot, idx):
        """{passage: positions} of a term (``("w"|"g", term)``) or a prefix slot (``("p",
        char)``) for the passages ``idx`` (all in its postings). Sources may read positions
        only for the passages asked (``positions(layer, term, idxs)``)."""
        kind, term = slot
        idxs = idx.tolist() if hasattr(idx, "tolist") else list(idx)
        fast = getattr(self.source, "positions", None)
        if fast:
            if kind != "p":
                return fast(kind, term, idxs)
            merged = {i: [] for i in idxs}
            for t in self.source.expand(term):
                for i, pos in fast("g", t, idxs).items():
                    merged[i].extend(pos)
            return {i: tuple(sorted(p)) for i, p in merged.items()}
        d = self._merged(term) if kind == "p" else self.source.get(kind, term)
        return {i: d[i][1] for i in idxs}

    def tagged(self, kind, value):
        fast = getattr(self.source, "tagged_array", None)
        if fast:
            return fast(kind, value)
        return np.array(sorted(self.source.tagged(kind, value)), dtype=np.int64)

    def sizes(self, kind, idx):
        fast = getattr(self.source, "size_array", None)
        if fast:
            return fast(kind)[idx]
        return np.array([self.source.tag_size(i, kind) for i in idx.tolist()], dtype=np.float64)

    def cues(self, slug, idx):
        fast = getattr(self.source, "cue_array", None)
        if fast:
            return fast(slug)[idx]
        return np.array([self.source.cue_count(i, slug) for i in idx.tolist()], dtype=np.float64)

    def order(self, idx):
        fast = getattr(self.source, "order_rank", None)
        if fast:
            return fast()[idx]
        ranks = {i: r for r, i in enumerate(sorted(idx.tolist(), key=self.source.order))}
        return np.array([ranks[i] for i in idx.tolist()], dtype=np.int64)


class _Concept:
    """A concept's routes (whole words, bigram substring, pieces apart, tag) and its text score
    per passage, computed once per query."""

    def __init__(self, c, source, cols, n, avgdl):
        self.c = c
        words = _unique(c["words"])
        self.tag_kind = "city" if c["cities"] else "instrument" if c["instrument"] else None
        self.tag_values = c["cities"] if c["cities"] else [c["instrument"]] if c["instrument"] else []
        # whole words as a phrase: the passages and the phrase's start positions
        self.cols = cols
        warr = {w: cols.postings("w", w) for w in words}
        if len(c["words"]) == 1:
            self.word_idx = warr[c["words"][0]][0]
            self._starts = None
        else:
            self._starts = _Phrase(cols, [("w", w) for w in c["words"]],
                                   _intersect([warr[w][0] for w in words]))
            self.word_idx = self._starts.idx
        word_score = np.zeros(len(self.word_idx))
        for w in words:
            word_score += _term_scores(n, warr[w], self.word_idx, avgdl["w"])
        # the bigram substring, for passages without the whole words
        slots = [("g", term) if kind == "e" else ("p", term) for kind, term in c["slots"]]
        sarr = [cols.postings(*slot) if slot[0] == "g" else cols.prefix(slot[1]) for slot in slots]
        gram_idx = np.setdiff1d(_intersect([a[0] for a in sarr]), self.word_idx, assume_unique=True)
        if len(slots) > 1:
            gram_idx = _Phrase(cols, slots, gram_idx).idx
        exact = _unique([tuple(s) for s in c["slots"] if s[0] == "e"])
        gram_score = np.zeros(len(gram_idx))
        if exact:
            part = np.zeros(len(gram_idx))
            for _kind, term in exact:
                part += _term_scores(n, cols.postings("g", term), gram_idx, avgdl["g"])
            gram_score = gram_score + GRAM_FACTOR * part / len(exact)
        # a long word's pieces apart, for passages matching neither way
        pieces = _unique(c.get("pieces") or [])
        parr = [cols.postings("w", w) for w in pieces]
        pieces_idx = _EMPTY
        if parr:
            pieces_idx = np.setdiff1d(_intersect([a[0] for a in parr]),
                                      _merge(self.word_idx, gram_idx), assume_unique=True)
        pieces_score = np.zeros(len(pieces_idx))
        if pieces:
            part = np.zeros(len(pieces_idx))
            for postings in parr:
                part += _term_scores(n, postings, pieces_idx, avgdl["w"])
            pieces_score = pieces_score + PIECES_FACTOR * part / len(pieces)
        # the three text routes are disjoint: one sorted array of passages and their scores
        text_idx = np.concatenate([self.word_idx, gram_idx, pieces_idx])
        order = np.argsort(text_idx, kind="stable")
        self.text_idx = text_idx[order]
        self.text_score = np.concatenate([word_score, gram_score, pieces_score])[order]
        self.strict_idx = _merge(self.word_idx, gram_idx)  # what a quoted phrase needs
        tagged = [cols.tagged(self.tag_kind, v) for v in self.tag_values]
        self.tag_idx = (_EMPTY if not tagged else tagged[0] if len(tagged) == 1
                        else np.unique(np.concatenate(tagged)))
        self.tag_idf = idf(n, sum(len(t) for t in tagged)) if self.tag_kind else 0.0

    def candidates(self):
        return np.concatenate([self.text_idx, self.tag_idx])

    def word_occurrences(self, idx):
        """Occurrence keys of the concept's whole-word match in passages ``idx`` (of ``word_idx``)."""
        if self._starts is not None:
            return self._starts.occurrences(idx)
        return _occurrences(self.cols, ("w", self.c["words"][0]), idx)


def _member(universe, idx):
    """A boolean mask over ``universe`` (sorted) of the passages in ``idx`` (a subset)."""
    mask = np.zeros(len(universe), dtype=bool)
    mask[np.searchsorted(universe, idx)] = True
    return mask


class _Matched:
    """{idx: [indexes of the concepts the passage matches]}, computed for the passages asked."""

    def __init__(self, universe, masks):
        self.universe, self.masks = universe, masks

    def get(self, idx, default=None):
        at = int(np.searchsorted(self.universe, idx))
        if at >= len(self.universe) or self.universe[at] != idx:
            return default
        return [k for k, m in enumerate(self.masks) if m[at]]

    def __getitem__(self, idx):
        out = self.get(idx)
        if out is None:
            raise KeyError(idx)
        return out

    def __contains__(self, idx):
        return self.get(idx) is not None


def rank(plan, source):
    """Rank passages for ``plan`` (:func:`kb.search.query.plan_query`) over ``source``.

    ``source`` offers: ``n``; ``avgdl`` {"w", "g"}; ``expand(char)`` → gram terms starting
    with ``char``; ``tagged(kind, value)`` → set of idx; and either the plain columns —
    ``get(layer, term)`` → {idx: (tf, positions, field length)}, ``tag_size(idx, kind)`` →
    number of the passage's subject cities / instruments, ``cue_count(idx, slug)``,
    ``order(idx)`` → tie-break key — or their array versions named in the module's docstring
    (``arrays``, ``prefix_arrays`` and ``positions`` for ``get``, ``size_array``, ``cue_array``,
    ``order_rank``).

    Returns {"hits": [(idx, first, score)] (first: in the first group), "matched": {idx: [concept indexes]}, "absent":
    [concept texts], "full": number of passages matching every present concept}."""
    n, avgdl = source.n, source.avgdl
    cols = _Columns(source)
    concepts = [_Concept(c, source, cols, n, avgdl) for c in plan["concepts"]]
    every = np.concatenate([c.candidates() for c in concepts] + [_EMPTY])
    flags = np.zeros(int(every.max()) + 1 if len(every) else 0, dtype=bool)
    flags[every] = True
    universe = np.flatnonzero(flags)
    # per concept, over the candidates: does it match, its score, does it match as words
    valid = np.ones(len(universe), dtype=bool)
    masks, texts, scores, words, shares = [], [], [], [], []
    for c in concepts:
        text = _member(universe, c.text_idx)
        score = np.zeros(len(universe))
        score[np.searchsorted(universe, c.text_idx)] = c.text_score
        tagged = _member(universe, c.tag_idx)
        if c.c["required"]:
            valid &= _member(universe, c.strict_idx)
        if c.tag_kind == "city":
            at = np.flatnonzero(tagged)
            score[at] = score[at] + TAG_WEIGHT * c.tag_idf / cols.sizes("city", universe[at])
            plain = text & ~tagged
            score[plain] = score[plain] * MENTION_FACTOR
        elif c.tag_kind == "instrument":
            at = np.flatnonzero(tagged)
            strength = (np.minimum(cols.cues(c.tag_values[0], universe[at]), CUE_SATURATION)
                        / CUE_SATURATION / np.sqrt(cols.sizes("instrument", universe[at])))
            score[at] = score[at] + TAG_WEIGHT * INSTRUMENT_FACTOR * c.tag_idf * strength
        masks.append(text | tagged)
        texts.append(text)
        share = np.where(text | tagged, 1.0, 0.0)
        if c.tag_kind == "instrument" and not c.c.get("label"):
            share[tagged & ~text] = TAG_ONLY_SHARE
        shares.append(share)
        scores.append(score)
        words.append(_member(universe, c.word_idx))
    keep = valid & np.logical_or.reduce(masks) if masks else valid
    universe = universe[keep]
    masks = [m[keep] for m in masks]
    scores = [s[keep] for s in scores]
    words = [w[keep] for w in words]
    shares = [s[keep] for s in shares]
    df = [int(m.sum()) for m in masks]
    text_df = [int(t[keep].sum()) for t in texts]
    weight = [idf(n, t or d) if d else 0.0 for d, t in zip(df, text_df)]
    present = [k for k in range(len(concepts)) if df[k]]
    total_w = sum(weight[k] for k in present)
    coverage = np.zeros(len(universe))
    count = np.zeros(len(universe), dtype=np.int64)
    total = np.zeros(len(universe))
    for k in range(len(concepts)):
        coverage = coverage + shares[k] * weight[k]
        count += masks[k]
        total = total + scores[k]
    for k in range(len(concepts) - 1):
        both = np.flatnonzero(words[k] & words[k + 1])
        if not len(both):
            continue
        bonus = np.zeros(len(universe))
        w = min(weight[k], weight[k + 1])
        idx = universe[both]
        d = _nearest(concepts[k].word_occurrences(idx), concepts[k + 1].word_occurrences(idx), idx)
        near = d <= PROX_WINDOW
        bonus[both[near]] = PROX_WEIGHT * w / np.maximum(d[near], 1)
        total = total + bonus
    coverage = coverage / total_w if total_w else np.ones(len(universe))
    total = total * coverage ** COORD_POWER
    full = count == len(present)
    needed = len(present) if len(present) <= MSM_ALL_UP_TO else math.floor(MSM_SHARE * len(present))
    first = count >= needed
    rounded = np.floor(total * SCORE_SCALE + 0.5)
    order = np.lexsort((cols.order(universe), -rounded, ~first))
    hits = list(zip(universe[order].tolist(), first[order].tolist(), total[order].tolist()))
    return {"hits": hits, "matched": _Matched(universe, masks),
            "absent": [concepts[k].c["text"] for k in range(len(concepts)) if not df[k]],
            "full": int(full.sum())}
