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
  candidates (a concept's weight is idf of the number of candidates it matches).

Order: passages matching **every** concept that occurs come first, then the rest (partial
matches); inside each group by score (rounded to 1e-6), then by index order (document id,
position). Concepts that match nothing are reported.
"""

import math

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
CUE_SATURATION = 3  # distinct cues of an instrument beyond which a passage is not more about it
SCORE_SCALE = 1_000_000


def constants():
    """The ranking constants, as the browser receives them."""
    return {"k1": K1, "b": B, "gram": GRAM_FACTOR, "pieces": PIECES_FACTOR, "tag": TAG_WEIGHT,
            "mention": MENTION_FACTOR, "cueSat": CUE_SATURATION,
            "inst": INSTRUMENT_FACTOR, "proxWindow": PROX_WINDOW, "prox": PROX_WEIGHT,
            "coord": COORD_POWER, "scale": SCORE_SCALE}


def idf(n, df):
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def impact(tf, dl, avgdl):
    return tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl))


def phrase_starts(position_lists):
    """Start positions where list j holds p + j for every j."""
    first, rest = position_lists[0], [set(p) for p in position_lists[1:]]
    return [p for p in first if all(p + j + 1 in s for j, s in enumerate(rest))]


def _unique(seq):
    seen = set()
    return [x for x in seq if not (x in seen or seen.add(x))]


def _common(maps):
    """The passages present in every posting map."""
    return set(min(maps, key=len)).intersection(*maps) if maps else set()


class _Concept:
    """A concept's postings and, per route, the passages it matches (computed once per query)."""

    def __init__(self, c, source):
        self.c = c
        self.words = _unique(c["words"])
        self.wmaps = [source.get("w", w) for w in c["words"]]
        self.smaps = []
        for kind, term in c["slots"]:
            if kind == "e":
                self.smaps.append(source.get("g", term))
            else:
                merged = {}
                for t in source.expand(term):
                    for idx, post in source.get("g", t).items():
                        old = merged.get(idx)
                        if old is None:
                            merged[idx] = (post[0], tuple(post[1]), post[2])
                        else:
                            merged[idx] = (old[0] + post[0], tuple(sorted(old[1] + tuple(post[1]))), old[2])
                self.smaps.append(merged)
        self.wmap = dict(zip(c["words"], self.wmaps))
        slot_keys = [tuple(s) for s in c["slots"]]
        self.exact = _unique([k for k in slot_keys if k[0] == "e"])
        self.smap = dict(zip(slot_keys, self.smaps))
        self.pieces = _unique(c.get("pieces") or [])
        self.pmaps = [source.get("w", w) for w in self.pieces]
        self.tag_kind = "city" if c["cities"] else "instrument" if c["instrument"] else None
        self.tag_values = c["cities"] if c["cities"] else [c["instrument"]] if c["instrument"] else []
        # the passages of each route: whole words as a phrase (with the phrase's start
        # positions), the bigram substring, the pieces apart, the tag
        self.word_pos = {}
        if len(self.wmaps) == 1:
            self.word_pos = {i: list(post[1]) for i, post in self.wmaps[0].items()}
        else:
            for i in _common(self.wmaps):
                starts = phrase_starts([d[i][1] for d in self.wmaps])
                if starts:
                    self.word_pos[i] = starts
        if len(self.smaps) == 1:
            self.gram_set = set(self.smaps[0])
        else:
            self.gram_set = {i for i in _common(self.smaps)
                             if phrase_starts([d[i][1] for d in self.smaps])}
        self.pieces_set = _common(self.pmaps)
        self.tag_set = set()
        for v in self.tag_values:
            self.tag_set |= source.tagged(self.tag_kind, v)

    def candidates(self):
        return set(self.word_pos) | self.gram_set | self.pieces_set | self.tag_set


def rank(plan, source):
    """Rank passages for ``plan`` (:func:`kb.search.query.plan_query`) over ``source``.

    ``source`` offers: ``n``; ``avgdl`` {"w", "g"}; ``get(layer, term)`` → {idx: (tf,
    positions, field length)}; ``expand(char)`` → gram terms starting with ``char``;
    ``tag_count(kind, value)``; ``tagged(kind, value)`` → set
    of idx; ``tag_size(idx, kind)`` → number of the passage's subject cities / instruments;
    ``order(idx)`` → tie-break key.

    Returns {"hits": [(idx, full, score)], "matched": {idx: [concept indexes]}, "absent":
    [concept texts], "full": number of passages matching every present concept}."""
    n, avgdl = source.n, source.avgdl
    concepts = [_Concept(c, source) for c in plan["concepts"]]
    candidates = set().union(*(c.candidates() for c in concepts)) if concepts else set()
    for c in concepts:  # idf of every term and of the tag, once
        c.idf = {key: idf(n, len(d)) for key, d in
                 list(c.wmap.items()) + list(c.smap.items()) + list(zip(c.pieces, c.pmaps))}
        c.tag_idf = idf(n, sum(source.tag_count(c.tag_kind, v) for v in c.tag_values)) if c.tag_kind else 0.0
    # per candidate: which concepts match, with their scores and word positions
    per = {}
    for idx in candidates:
        row = []
        for k, c in enumerate(concepts):
            pos = c.word_pos.get(idx) or []
            word = bool(pos)
            gram = False if word else idx in c.gram_set
            pieces = False if word or gram else idx in c.pieces_set
            tagged = idx in c.tag_set
            if c.c["required"] and not (word or gram):
                row = None
                break
            if not (word or gram or pieces or tagged):
                continue
            score = 0.0
            if word:
                for w in c.words:
                    tf, _p, dl = c.wmap[w][idx][:3]
                    score += c.idf[w] * impact(tf, dl, avgdl["w"])
            elif gram and c.exact:
                part = 0.0
                for key in c.exact:
                    d = c.smap[key]
                    tf, _p, dl = d[idx][:3]
                    part += c.idf[key] * impact(tf, dl, avgdl["g"])
                score += GRAM_FACTOR * part / len(c.exact)
            elif pieces:
                part = 0.0
                for w, d in zip(c.pieces, c.pmaps):
                    tf, _p, dl = d[idx][:3]
                    part += c.idf[w] * impact(tf, dl, avgdl["w"])
                score += PIECES_FACTOR * part / len(c.pieces)
            if c.tag_kind == "city":
                if tagged:
                    score += TAG_WEIGHT * c.tag_idf / source.tag_size(idx, "city")
                else:
                    score *= MENTION_FACTOR
            elif c.tag_kind == "instrument" and tagged:
                slug = c.tag_values[0]
                strength = (min(source.cue_count(idx, slug), CUE_SATURATION) / CUE_SATURATION
                            / math.sqrt(source.tag_size(idx, "instrument")))
                score += TAG_WEIGHT * INSTRUMENT_FACTOR * c.tag_idf * strength
            row.append((k, score, pos))
        if row:
            per[idx] = row
    df = [0] * len(concepts)
    for row in per.values():
        for k, _s, _p in row:
            df[k] += 1
    weight = [idf(n, d) if d else 0.0 for d in df]
    present = [k for k in range(len(concepts)) if df[k]]
    total_w = sum(weight[k] for k in present)
    hits = []
    matched = {}
    full_count = 0
    for idx, row in per.items():
        ks = matched[idx] = [k for k, _s, _p in row]
        full = len(ks) == len(present)
        full_count += full
        coverage = sum(weight[k] for k in ks) / total_w if total_w else 1.0
        score = sum(s for _k, s, _p in row)
        for (k1, _s1, p1), (k2, _s2, p2) in zip(row, row[1:]):
            if k2 == k1 + 1 and p1 and p2:
                d = min(abs(a - b) for a in p1 for b in p2)
                if d <= PROX_WINDOW:
                    score += PROX_WEIGHT * min(weight[k1], weight[k2]) / max(d, 1)
        score *= coverage ** COORD_POWER
        hits.append((idx, full, score))
    hits.sort(key=lambda h: (not h[1], -math.floor(h[2] * SCORE_SCALE + 0.5), source.order(h[0])))
    return {"hits": hits, "matched": matched,
            "absent": [concepts[k].c["text"] for k in range(len(concepts)) if not df[k]],
            "full": full_count}
