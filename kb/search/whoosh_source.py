"""The command line's execution of the query model: postings, positions and exact field lengths
read from the Whoosh index (``output/index/``), ranked by :func:`kb.search.rank.rank`."""

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.formats import Positions
from whoosh.scoring import BM25F
from whoosh.system import _INT_SIZE

from ..index import open_index
from ..vocab import load_vocab
from . import chips, run
from .entities import city_names, gazetteer, needle_tables
from .query import load_rules
from .rank import CUE_SATURATION
from .snippet import snippet


class WhooshSource:
    """The source interface of :func:`kb.search.rank.rank` over an open Whoosh reader.

    Made once per :class:`Searcher` (a warm searcher): the per-passage columns (exact field
    lengths, tag counts, document and position for the tie-break) are read into arrays once.
    A term's passages and frequencies are read as arrays (16 bytes a posting) without its
    positions; positions are decoded only for the passages a phrase or proximity check asks
    about. Both are kept in a cache of at most ``CACHE_POSTINGS`` postings (≈ 256 MB)."""

    CACHE_POSTINGS = 16_000_000

    def __init__(self, reader, vocab):
        self.reader = reader
        self.n = reader.doc_count()
        self.live = list(reader.all_doc_ids())

        def column(name):
            cr = reader.column_reader(name)
            return [cr[d] for d in range(reader.doc_count_all())]

        lengths = {"w": column("dlw"), "g": column("dlg")}
        self._dl_arrays = {layer: np.array(v, dtype=np.float64) for layer, v in lengths.items()}
        n = max(1, len(self.live))
        self.avgdl = {layer: sum(dl[d] for d in self.live) / n if self.live else 1.0
                      for layer, dl in lengths.items()}
        docs, positions = column("doc"), column("position")
        self._order = list(zip(docs, positions))
        rank = np.zeros(len(self._order), dtype=np.int64)
        rank[sorted(range(len(self._order)), key=self._order.__getitem__)] = np.arange(len(self._order))
        self._rank = rank
        self._size_arrays = {kind: np.maximum(np.array(column(name), dtype=np.float64), 1.0)
                             for kind, name in (("city", "ncities"), ("instrument", "ninst"))}
        self._slug_name = city_names(vocab)
        self._cache = {}
        self._cached = 0
        self._tags = {}
        self._columns = {}

    def has_word(self, term):
        return ("text", term) in self.reader

    _FIELDS = {"w": "text", "g": "grams"}

    def _cached_value(self, key, make, size):
        out = self._cache.get(key)
        if out is None:
            out = make()
            if self._cached + size(out) > self.CACHE_POSTINGS:
                self._cache.clear()
                self._cached = 0
            self._cache[key] = out
            self._cached += size(out)
        return out

    def _read_ids_weights(self, field, term):
        """Passage numbers and frequencies of a term, read block by block from each segment.
        A frequency is the count that prefixes each posting's value in Whoosh's ``Positions``
        format (the block's weights are frequency × field boost, so they are not used); the
        positions after it are not decoded here. Other matchers are walked posting by posting."""
        fast_format = isinstance(self.reader.schema[field].format, Positions)
        ids, freqs = [], []
        for reader, base in self.reader.leaf_readers():
            if (field, term) not in reader:
                continue
            m = reader.postings(field, term)
            deleted = reader.has_deletions()
            if fast_format and isinstance(m, W3LeafMatcher) and not deleted:
                while m.is_active():
                    m._read_ids()
                    m._read_values()
                    ids.append(np.asarray(m._ids, dtype=np.int64) + base)
                    prefix = b"".join(v[:_INT_SIZE] for v in m._values)
                    freqs.append(np.frombuffer(prefix, dtype=">u4").astype(np.float64))
                    m._next_block()
                continue
            got, fs = [], []
            while m.is_active():
                if not (deleted and reader.is_deleted(m.id())):
                    got.append(m.id() + base)
                    fs.append(m.value_as("frequency"))
                m.next()
            ids.append(np.array(got, dtype=np.int64))
            freqs.append(np.array(fs, dtype=np.float64))
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(ids), np.concatenate(freqs)

    def arrays(self, layer, term):
        ids, tf = self._cached_value(("a", layer, term),
                                     lambda: self._read_ids_weights(self._FIELDS[layer], term),
                                     lambda a: len(a[0]))
        return ids, tf, self._dl_arrays[layer][ids]

    def positions(self, layer, term, idxs):
        """{passage: positions} of ``term`` for the passages ``idxs`` (decoded once each)."""
        known = self._cached_value(("pos", layer, term), dict, lambda d: 0)
        missing = sorted(i for i in idxs if i not in known)
        if missing:
            m = self.reader.postings(self._FIELDS[layer], term)
            for i in missing:
                if m.is_active() and m.id() < i:
                    m.skip_to(i)
                if m.is_active() and m.id() == i:
                    known[i] = tuple(m.value_as("positions"))
            self._cached += len(missing)
        return {i: known[i] for i in idxs}

    def prefix_arrays(self, char):
        def read():
            parts = [self.arrays("g", t) for t in self.expand(char)]
            if not parts:
                return np.zeros(0, dtype=np.int64), np.zeros(0)
            ids = np.concatenate([p[0] for p in parts])
            tf = np.concatenate([p[1] for p in parts])
            order = np.argsort(ids, kind="stable")
            ids, tf = ids[order], tf[order]
            uniq, start = np.unique(ids, return_index=True)
            return uniq, np.add.reduceat(tf, start) if len(tf) else tf

        ids, tf = self._cached_value(("pa", char), read, lambda a: len(a[0]))
        return ids, tf, self._dl_arrays["g"][ids]

    def tagged_array(self, kind, value):
        key = ("tagged", kind, value)
        if key not in self._columns:
            self._columns[key] = np.array(sorted(self.tagged(kind, value)), dtype=np.int64)
        return self._columns[key]

    def size_array(self, kind):
        return self._size_arrays[kind]

    def cue_array(self, slug):
        key = ("cues", slug)
        if key not in self._columns:
            counts = np.zeros(len(self._order), dtype=np.float64)
            for k in range(1, CUE_SATURATION + 1):
                ids = self._field_set("cuecounts", f"{slug}:{k}")
                if ids:
                    counts[sorted(ids)] = k
            self._columns[key] = counts
        return self._columns[key]

    def order_rank(self):
        return self._rank

    def prefix_words(self, char):
        return [t if isinstance(t, str) else t.decode("utf-8")
                for t in self.reader.expand_prefix("text", char)]

    def df(self, word):
        return len(self.arrays("w", word)[0])

    def expand(self, char):
        return [t if isinstance(t, str) else t.decode("utf-8")
                for t in self.reader.expand_prefix("grams", char)]

    def _field_set(self, field, value):
        key = (field, value)
        if key not in self._tags:
            ids = set()
            if value and (field, value) in self.reader:
                ids = set(self.reader.postings(field, value).all_ids())
            self._tags[key] = ids
        return self._tags[key]

    def tagged(self, kind, value):
        if kind == "city":
            return self._field_set("cities", self._slug_name.get(value, value))
        return self._field_set("instruments", value)


    def order(self, idx):
        return self._order[idx]

    def passes(self, idx, filters):
        for key, field in (("city", "cities"), ("instrument", "instruments"), ("year", "year"),
                           ("doc", "doc"), ("type", "type")):
            value = filters.get(key)
            if not value:
                continue
            if key == "city":
                value = self._slug_name.get(value, value)
            if idx not in self._field_set(field, str(value)):
                return False
        return True

    def browse(self, filters):
        return sorted((i for i in self.live if self.passes(i, filters)), key=self.order)


class Searcher:
    """An open index with the query model, reusable across queries (keep it warm)."""

    def __init__(self, index_dir, vocab=None):
        self.ix = open_index(index_dir)
        if self.ix is None:
            raise FileNotFoundError(index_dir)
        self.vocab = vocab or load_vocab()
        self.searcher = self.ix.searcher(weighting=BM25F())
        self.gazetteer = gazetteer(self.vocab)
        self.tables = needle_tables(self.vocab, self.gazetteer)
        self.rules = load_rules()
        self.city_names = city_names(self.vocab)
        self.instrument_labels = {i["slug"]: i["label"] for i in self.vocab.instruments}
        self.source = WhooshSource(self.searcher.reader(), self.vocab)

    def close(self):
        self.searcher.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def query(self, qstring, limit=10, **filters):
        """The whole answer: {"hits": [...], "total", "notices", "plan"}; ``limit`` 0 = all."""
        result = run(qstring, self.source, self.gazetteer, self.rules, filters)
        matched = result["ranked"]["matched"]
        idxs = result["idxs"][:limit] if limit else result["idxs"]
        scores, wanted = {}, set(idxs)
        for idx, _full, score in result["ranked"]["hits"]:  # best first: stops early
            if len(scores) == len(wanted):
                break
            if idx in wanted:
                scores[idx] = score
        hits = []
        for idx in idxs:
            stored = self.searcher.stored_fields(idx)
            text = stored["text"]
            hits.append({
                "id": stored["id"],
                "doc": stored["doc"],
                "type": stored.get("type", ""),
                "score": round(scores.get(idx, 0.0), 4),
                "concepts": [result["plan"]["concepts"][k]["text"] for k in matched.get(idx, [])],
                "section": stored.get("section", ""),
                "cities": [c for c in stored.get("cities", "").split(",") if c],
                "instruments": [c for c in stored.get("instruments", "").split(",") if c],
                "year": int(stored["year"]),
                "text": text,
                "snippet": snippet(text, result["plan"], self.tables),
            })
        return {"hits": hits, "total": len(result["idxs"]), "notices": result["notices"],
                "plan": result["plan"],
                "chips": chips(result["plan"], self.city_names, self.instrument_labels)}

    def search(self, qstring, city=None, instrument=None, year=None, doc=None, type=None, limit=10):
        """Ranked hits (dicts: id, doc, type, score, concepts, section, cities, instruments,
        year, text, snippet). ``city`` is a slug or a name."""
        if city and city not in self.city_names:
            city = {v: k for k, v in self.city_names.items()}.get(city, city)
        return self.query(qstring, limit=limit, city=city, instrument=instrument, year=year,
                          doc=doc, type=type)["hits"]
