"""Reads ``out_dir/search/`` back (every page) and serves it to the query model exactly as the
browser's engine (``kb-rank.js``) does: the Python twin used by tests and benchmarks."""

import bisect
import json
from pathlib import Path

from .codec import HASH_LEN, Codes, decode_facet_list, decode_postings, decode_varints, utf16_key

def read_register(path):
    """(name, payload) of an index file ``KB.register("<name>",<json>);``."""
    text = Path(path).read_text(encoding="utf-8").strip()
    if not (text.startswith("KB.register(") and text.endswith(");")):
        raise ValueError(f"{path}: not an index file")
    name, payload = json.loads("[" + text[len("KB.register("):-2] + "]")
    return name, payload


def chunk_files(chunk_list, kind, lo, hi):
    """The files ``<kind>.<h>.js`` of a chunk list {"k": keys, "h": hashes} that may hold terms
    in [lo, hi] (file i holds those from key i up to key i + 1)."""
    keys = [utf16_key(k) for k in chunk_list["k"]]
    lo_k, hi_k = utf16_key(lo), utf16_key(hi)
    i = max(0, bisect.bisect_right(keys, lo_k) - 1)
    out = []
    while i < len(keys) and keys[i] <= hi_k:
        out.append(f"{kind}.{chunk_list['h'][i * HASH_LEN:(i + 1) * HASH_LEN]}.js")
        i += 1
    return out


class StaticIndex:
    """Reads ``out_dir/search/`` back (all pages) and answers queries like the browser."""

    def __init__(self, out_dir):
        self.dir = Path(out_dir) / "search"
        metas = sorted(self.dir.glob("meta.*.js"))
        if len(metas) != 1:
            raise FileNotFoundError(f"{self.dir}: expected one meta file, found {len(metas)}")
        self.meta = read_register(metas[0])[1]
        self._cache = {}
        self.facets = self.load(self.meta["facets"])
        self.codes = Codes.from_facets(self.facets)
        self.avgdl = {"w": self.meta["avgdl"][0], "g": self.meta["avgdl"][1]}
        self.n = self.meta["N"]
        counts = decode_varints(self.facets["docCount"])
        self.doc_starts = [sum(counts[:i]) for i in range(len(counts))]
        n_types = len(self.facets["types"])
        self.doc_year = [v // n_types for v in decode_varints(self.facets["docYT"])]
        self.doc_type = [v % n_types for v in decode_varints(self.facets["docYT"])]
        self.rules = self.load(self.meta["rules"])
        self.gazetteer = {}
        for _first, _last, name in self.rules["ent"]:
            self.gazetteer.update(self.load(name))
        # the snippet's needle tables, from their files (the browser loads a query's only)
        names, cues = {}, {}
        for _first, _last, name in self.rules["names"]:
            names.update(self.load(name))
        for _slug, name in sorted(self.rules["cues"].items()):
            cues.update(self.load(name))
        self.tables = {"names": names, "cues": cues}
        self.maxw = self.meta["maxw"]

    def load(self, name):
        if name not in self._cache:
            got, payload = read_register(self.dir / name)
            if got != name:
                raise ValueError(f"{name} registers itself as {got}")
            self._cache[name] = payload
        return self._cache[name]

    def chunks(self, layer, lo, hi):
        """Names of the chunks of ``layer`` ("lex", "w", "g") that may hold terms in [lo, hi]."""
        out = []
        for dir_name in chunk_files(self.meta[layer], layer + "d", lo, hi):
            out.extend(chunk_files(self.load(dir_name), layer, lo, hi))
        return out

    def has_word(self, term):
        return any(term in self.load(name) for name in self.chunks("lex", term, term))

    def entry(self, layer, term):
        for name in self.chunks(layer, term, term):
            chunk = self.load(name)
            if term in chunk["t"]:
                return chunk["e"][chunk["t"].index(term)]
        return None

    def get(self, layer, term):
        e = self.entry(layer, term)
        if e is None:
            return {}
        df, post = e
        if isinstance(post, str):
            out = decode_postings(post, self.codes)
        else:
            out = {}
            for name, _count, _bytes in post:
                out.update(decode_postings(self.load(name), self.codes))
        assert len(out) == df
        return out

    def prefix_words(self, char):
        words = []
        for name in self.chunks("lex", char, char + "\uffff"):
            words.extend(t for t in self.load(name) if t.startswith(char))
        return words

    def df(self, word):
        e = self.entry("w", word)
        return e[0] if e else 0

    def expand(self, char):
        terms = []
        for name in self.chunks("g", char, char + "\uffff"):
            terms.extend(t for t in self.load(name)["t"] if t.startswith(char))
        return terms

    # ---- the source interface of kb.search.rank (like the browser's engine)
    def _facet_entry(self, kind, value):
        entries = self.facets["cities" if kind == "city" else "instruments"]
        return next((e for e in entries if e[0] == value), None)

    def tagged(self, kind, value):
        key = ("tag", kind, value)
        if key not in self._cache:
            e = self._facet_entry(kind, value)
            self._cache[key] = set(self._list(kind, value)) if e else set()
        return self._cache[key]

    def _list(self, kind, value):
        """{passage: codes} of a city's or instrument's facet list."""
        key = ("list", kind, value)
        if key not in self._cache:
            e = self._facet_entry(kind, value)
            cue_base = self.facets["cueBase"] if kind == "instrument" else 0
            self._cache[key] = self.facet_list(e, cue_base) if e else {}
        return self._cache[key]

    def list_pages(self, entry):
        """[[file, passages, bytes]] of a facet entry ([…, count, [hash, bytes, …]])."""
        count, refs = entry[-2], entry[-1]
        if len(refs) == 2:
            return [[f"fl.{refs[0]}.js", count, refs[1]]]
        out, left, size = [], count, self.meta["page0"]
        for k in range(0, len(refs), 2):
            n = size if k + 2 < len(refs) else left
            out.append([f"fl.{refs[k]}.js", n, refs[k + 1]])
            left -= n
            size *= 2
        return out

    def facet_list(self, entry, cue_base=0):
        """{passage: codes} of a facet entry's list, every page of it."""
        out = {}
        for name, count, _bytes in self.list_pages(entry):
            got = decode_facet_list(self.load(name), self.codes, cue_base)
            assert len(got) == count
            out.update(got)
        return dict(sorted(out.items()))

    def cue_count(self, idx, slug):
        codes = self._list("instrument", slug).get(idx)
        return codes[2] if codes else 0

    def tag_size(self, idx, kind):
        if not hasattr(self, "_codes"):
            self._codes = {}
            for e in self.facets["cities"]:
                self._codes.update(self._list("city", e[0]))
            for e in self.facets["instruments"]:
                self._codes.update({i: c[:2] for i, c in self._list("instrument", e[0]).items()})
        cities, mask = self._codes.get(idx, ((), 0))
        if kind == "city":
            return max(1, len(cities))
        return max(1, bin(mask).count("1"))

    def order(self, idx):
        return idx

    def doc_of(self, idx):
        """Document number of passage ``idx``."""
        return bisect.bisect_right(self.doc_starts, idx) - 1

    def passes(self, idx, filters):
        f = self.facets
        doc = self.doc_of(idx)
        if filters.get("city") and idx not in self.tagged("city", filters["city"]):
            return False
        if filters.get("instrument") and idx not in self.tagged("instrument", filters["instrument"]):
            return False
        if filters.get("year") and str(f["years"][self.doc_year[doc]][0]) != str(filters["year"]):
            return False
        if filters.get("type") and f["types"][self.doc_type[doc]][0] != filters["type"]:
            return False
        return not filters.get("doc") or self.document(doc)[0] == filters["doc"]

    def browse(self, filters):
        return [i for i in range(self.n) if self.passes(i, filters)]

    def passage(self, idx):
        """[id, url, document number, section trail, text, document title, publisher, date, type]."""
        frag = self.meta["frag"]
        k = idx // frag["size"]  # the file's number; its folder: the hash of its block in "dirs"
        b = k // frag["block"]
        data = self.load(f"f-{frag['dirs'][b * HASH_LEN:(b + 1) * HASH_LEN]}/{k % frag['block']}.js")
        return data[idx % frag["size"]]

    def document(self, num):
        """(id, title, publisher, date, type) of document number ``num``."""
        docs = self.meta["docs"]
        data = self.load(f"{docs['titles']}/{num // docs['size']}.js")
        k = num % docs["size"]
        return (data["ids"][k], data["titles"][k], data["publishers"][k], data["dates"][k],
                data["types"][k])

    def passage_id(self, idx):
        return self.passage(idx)[0]

