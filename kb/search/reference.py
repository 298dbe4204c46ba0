"""The query model evaluated straight from :mod:`kb.analysis` tokens (no index files): the
reference that the Whoosh (command line) and static (browser) executions must agree with."""

import bisect

from .. import analysis


def utf16_key(term):
    """Sort key matching JavaScript's string comparison (UTF-16 code units)."""
    return term.encode("utf-16-be")


def ordered(passages, documents=()):
    """Passages in index order: documents sorted by id, passages in input order within one."""
    doc_ids = sorted({d["id"] for d in documents} | {p["doc"] for p in passages})
    rank = {d: i for i, d in enumerate(doc_ids)}
    return [p for _i, p in sorted(enumerate(passages), key=lambda ip: (rank[ip[1]["doc"]], ip[0]))]


def city_slugs(vocab):
    """{city name or alias: slug} (a plain list of names maps each name to itself)."""
    out = {}
    cities = vocab.get("cities") if isinstance(vocab, dict) else getattr(vocab, "cities", None)
    for c in cities or []:
        if isinstance(c, str):
            out[c] = c
            continue
        out[c["name"]] = c["slug"]
        for alias in c.get("aliases", []) or []:
            out.setdefault(alias, c["slug"])
    return out


def _with_prefix(terms, keys, char):
    """The terms of a UTF-16-sorted list (``keys``: their sort keys) that start with ``char``."""
    out = []
    for t in terms[bisect.bisect_left(keys, utf16_key(char)):]:
        if not t.startswith(char):
            break
        out.append(t)
    return out


class Reference:
    """A search source over passage dicts (see :func:`kb.search.rank.rank`)."""

    def __init__(self, passages, documents=(), vocab=None):
        documents = list(documents or [])
        self.passages = ordered(passages, documents)
        slugs = city_slugs(vocab)
        docs = {d["id"]: d for d in documents}
        self.doc_meta = [docs.get(p["doc"], {}) for p in self.passages]
        self.tags = {"city": {}, "instrument": {}}
        for idx, p in enumerate(self.passages):
            for c in p.get("cities") or ():
                self.tags["city"].setdefault(slugs.get(c, c), set()).add(idx)
            for i in p.get("instruments") or ():
                self.tags["instrument"].setdefault(i, set()).add(idx)
        self.postings = {"w": {}, "g": {}}
        self.avgdl = {}
        for layer, fn in (("w", analysis.word_tokens), ("g", analysis.gram_tokens)):
            lengths = []
            post = self.postings[layer]
            for idx, p in enumerate(self.passages):
                toks = fn(p["text"])
                lengths.append(len(toks))
                per = {}
                for term, pos, _s, _e in toks:
                    per.setdefault(term, []).append(pos)
                for term, pos in per.items():
                    post.setdefault(term, {})[idx] = (len(pos), tuple(sorted(pos)), len(toks))
            self.avgdl[layer] = (sum(lengths) / len(lengths)) if lengths else 1.0
        self.n = len(self.passages)
        self.words = set(self.postings["w"])
        self.grams_sorted = sorted(self.postings["g"], key=utf16_key)
        self._gram_keys = [utf16_key(t) for t in self.grams_sorted]

    # ---- the source interface
    def has_word(self, term):
        return term in self.words

    def get(self, layer, term):
        return self.postings[layer].get(term, {})

    def prefix_words(self, char):
        if not hasattr(self, "_words_sorted"):
            self._words_sorted = sorted(self.words, key=utf16_key)
            self._word_keys = [utf16_key(t) for t in self._words_sorted]
        return _with_prefix(self._words_sorted, self._word_keys, char)

    def df(self, word):
        return len(self.postings["w"].get(word, ()))

    def expand(self, char):
        return _with_prefix(self.grams_sorted, self._gram_keys, char)

    def tagged(self, kind, value):
        return self.tags[kind].get(value, set())

    def cue_count(self, idx, slug):
        return len((self.passages[idx].get("cues") or {}).get(slug) or ())

    def tag_size(self, idx, kind):
        p = self.passages[idx]
        return max(1, len(p.get("cities" if kind == "city" else "instruments") or ()))

    def order(self, idx):
        return idx

    def passes(self, idx, filters):
        """Does passage ``idx`` satisfy the filters {city slug, instrument, year, doc, type}?"""
        p, d = self.passages[idx], self.doc_meta[idx]
        f = filters
        return ((not f.get("city") or idx in self.tags["city"].get(f["city"], ()))
                and (not f.get("instrument") or f["instrument"] in (p.get("instruments") or ()))
                and (not f.get("year") or int(f["year"]) == int(d.get("year") or p.get("year") or 0))
                and (not f.get("doc") or f["doc"] == p["doc"])
                and (not f.get("type") or f["type"] == d.get("type")))

    def browse(self, filters):
        return [i for i in range(self.n) if self.passes(i, filters)]

    def passage_id(self, idx):
        return self.passages[idx]["id"]
