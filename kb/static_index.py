"""Stage — static search index: tagged passages -> ``out_dir/search/`` for the in-browser search.

The browser search (``site_templates/static/js/kb-*.js``) needs no server: every index file
is a classic script ``KB.register("<name>", <JSON>);`` loaded by inserting a ``<script src>``
tag, which works from ``file://`` as well as over HTTP, with relative URLs only.

Layout (all names relative to ``search/``; ``<h>`` = the first 12 hex digits of the SHA-256 of
the file's JSON payload, so two builds of the same data are byte-identical and caches are safe;
``<kind>-<h>/<k>.js`` are numbered files whose folder is named by the hash of all of them, so
their names need no list anywhere)::

    meta.<h>.js       loaded with the page (< 2 KB): N, avgdl per layer, k1/b, the directory
                      files of each chunk list ([first term, last term, file]), other names
    lexd/wd/gd.<h>.js directories: [first, last, chunk file] of DIR_ENTRIES chunks each
    lex.<h>.js        word vocabulary only (sorted terms), for longest-match query segmentation
    w.<h>.js          word-layer posting chunks (~CHUNK_BYTES): {"t": [terms], "e": [entries]}
    g.<h>.js          gram-layer posting chunks (same shape)
    p.<h>.js          one page of a long posting list (a string)
    facets.<h>.js     facet values [slug, label, count, facet-list file], the city-set table,
                      passages per document and document years (varints)
    fl.<h>.js         facet list: every passage having one city / instrument / year, with its
                      codes (browsing without a query, e.g. ?city=wuhan from a city page)
    t2s.<h>.js        traditional -> simplified character map ("TSTS…")
    f-<h>/<k>.js      passages k*FRAG_SIZE …: [id, url, document number, section trail, text,
                      document title], loaded only for the results shown
    dt-<h>/<k>.js     ids and titles of documents k*DOC_CHUNK … (facet labels, ?doc=<id>)
    dc-<h>/<k>.js     codes of those documents' passages (browsing one document)
    kb-*.<h>.js/css   the browser scripts (comment lines and indentation dropped) and stylesheet

Terms of both layers come from :mod:`kb.analysis` (``word_tokens``/``gram_tokens`` of each
passage text) — never another segmentation. Terms are sorted by UTF-16 code units (the
browser's string order) and cut into chunks of about CHUNK_BYTES by their entry sizes (any term
boundary can be a cut, so no single prefix collapses the chunking).

An entry is ``[df, "<postings>"]`` (inline) or ``[df, [[file, count, bytes], …]]`` (paged):
a posting list longer than INLINE_MAX bytes is ordered by BM25 impact (the tf/length part of
the score) and cut into pages of PAGE0, 2·PAGE0, 4·PAGE0 … postings, so a query fetches the
most relevant part of a very common term first. Inside a page, postings are in passage order.

In the browser a query fetches: the lexicon chunks for its segmentation, one directory and one
chunk per term, the first page of each paged term, then further pages best-first while the
extra pages fit in ``BUDGET`` bytes (the result is then marked partial: "至少 N 条结果" and a
button loads everything); facets, t2s and the fragments of the 20 results shown. A query with a
facet filter fetches every page (filters apply to the whole result set).

Postings are one string of base-32 variable-length integers (``TERM`` digits end a number,
``CONT`` digits continue it, most significant first); per posting: passage-number gap − 1,
city-set code, instrument bit mask, field length of the layer, tf − 1, then tf positions
(first absolute, then gaps ≥ 0). The facet codes and field length are inlined in every posting
so the browser can rank and count facets for the postings it fetched without a per-passage
table (which would be megabytes at 300,000 passages); passage → document comes from the
per-document passage counts (passages are numbered in document order).

Query semantics (shared by this module's reference evaluator, the static-index reader and the
browser; see ``plan_query`` and ``evaluate``):

* the query is normalised (:func:`kb.analysis.normalize`), cut into parts: ``"quoted"`` or
  ``“quoted”`` parts are phrases, other parts are split on whitespace; all parts must match;
* a part's words: longest match, left to right, against the index's word vocabulary; if a
  word character (CJK, a-z, 0-9) is not covered by a vocabulary word, the word layer can't
  match this part;
* a part's grams: for each run of CJK or a-z0-9 characters, its bigrams (ASCII runs whole);
  between runs the run's last character as a unigram (as indexed), and a trailing
  one-character CJK run is a prefix over the gram layer (so a one-character query finds every
  occurrence of that character). The grams must occur at consecutive positions: an exact
  substring match, which finds text jieba cut differently (``融通`` in ``汉融通``);
* a part matches a passage if its words all occur (phrase: at consecutive positions) or its
  grams occur as a phrase. Tier per part: 2 = words as a phrase, 1 = substring through grams,
  0 = words present but scattered. Results sort by (sum of tiers, BM25 score) descending,
  then passage order, so word matches rank above gram-only matches;
* BM25 per layer (k1 = 1.2, b = 0.75, idf = ln(1 + (N − df + 0.5)/(df + 0.5))), summed over
  the distinct words and grams of every part that occur in the passage.
"""

import bisect
import hashlib
import json
import math
import re
import shutil
from array import array
from collections import Counter
from pathlib import Path

from . import analysis
from .parallel import fork_map

K1 = 1.2
B = 0.75
PAGE0 = 384  # postings in the first page of a paged list; each next page doubles
INLINE_MAX = 1024  # posting strings up to this many bytes stay inline in their chunk
CHUNK_BYTES = 6_000  # target posting-chunk size (bytes of entries)
LEX_BYTES = 3_000  # target lexicon-chunk size
DIR_ENTRIES = 64  # chunk references per directory file
FRAG_SIZE = 2  # passages per fragment file
DOC_CHUNK = 16  # documents per title / code file
BUDGET = 64_000  # bytes of posting pages beyond the first ones a query may fetch (browser)
MAX_QUERY_CHARS = 100
MAX_PARTS = 8
MAX_WORD_CHARS = 16  # longest vocabulary word used for query segmentation
HASH_LEN = 12

TERM = "0123456789abcdefghijklmnopqrstuv"
CONT = "wxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
_TERM_B = TERM.encode()
_CONT_B = CONT.encode()
_DIGIT = {c: i for i, c in enumerate(TERM)} | {c: 32 + i for i, c in enumerate(CONT)}

JS_DIR = Path(__file__).resolve().parent.parent / "site_templates" / "static" / "js"
# Load order matters: core defines the KB namespace the others (and the index files) use.
JS_FILES = ("kb-core.js", "kb-normalize.js", "kb-segment.js", "kb-rank.js", "kb-search-ui.js")
CSS_FILE = "kb-search.css"

_PART_RE = re.compile(r'"([^"]*)"|“([^”]*)”|([^\s"“”]+)')
_WORDCHAR_RE = re.compile(rf"[{analysis.CJK}a-z0-9]")
_RUN_RE = re.compile(rf"[{analysis.CJK}]+|[a-z0-9]+(?:[.%][a-z0-9]+)*")
_OWN_FILE_RE = re.compile(
    r"^(?:meta|lex|lexd|w|wd|g|gd|p|fl|facets|t2s|kb-[a-z-]+)\.[0-9a-f]{12}\.(?:js|css)$")
_OWN_DIR_RE = re.compile(r"^(?:f|dt|dc)-[0-9a-f]{12}$")


# --------------------------------------------------------------------------- encoding

_SMALL = []
for _v in range(4096):
    _digits = []
    _x = _v
    while True:
        _digits.append(_x & 31)
        _x >>= 5
        if not _x:
            break
    _SMALL.append(bytes(_CONT_B[d] for d in reversed(_digits[1:])) + bytes([_TERM_B[_digits[0]]]))


def varint(v, out):
    """Append ``v`` (int >= 0) to ``out`` (bytearray) as base-32 digits."""
    out += _vb(v)


def decode_varints(text):
    """All integers of a varint string."""
    out = []
    acc = 0
    for ch in text:
        d = _DIGIT[ch]
        if d >= 32:
            acc = acc * 32 + d - 32
        else:
            out.append(acc * 32 + d)
            acc = 0
    return out


def decode_postings(text):
    """Posting string -> {passage number: (tf, positions, field length, city set, instruments)}
    (city set: code into the facets' ``citySets``; instruments: bit mask over ``instruments``)."""
    nums = decode_varints(text)
    out = {}
    i = 0
    idx = -1
    while i < len(nums):
        idx += nums[i] + 1
        cset, imask, dl, tf = nums[i + 1], nums[i + 2], nums[i + 3], nums[i + 4] + 1
        pos = []
        p = 0
        for j in range(tf):
            p = nums[i + 5 + j] if j == 0 else p + nums[i + 5 + j]
            pos.append(p)
        out[idx] = (tf, tuple(pos), dl, cset, imask)
        i += 5 + tf
    return out


def decode_facet_list(text):
    """Facet list string -> {passage number: (city set, instrument mask)}."""
    nums = decode_varints(text)
    out = {}
    idx = -1
    for i in range(0, len(nums), 3):
        idx += nums[i] + 1
        out[idx] = (nums[i + 1], nums[i + 2])
    return out


def decode_city_sets(text):
    """City-set table: varint string of (size, city codes…) per set -> [[codes], …]."""
    nums = decode_varints(text)
    out, i = [], 0
    while i < len(nums):
        out.append(nums[i + 1:i + 1 + nums[i]])
        i += 1 + nums[i]
    return out


def utf16_key(term):
    """Sort key matching JavaScript's string comparison (UTF-16 code units)."""
    return term.encode("utf-16-be")


def _json(obj):
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    # Data stays data even if a file were ever inlined into HTML.
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _hash(data):
    return hashlib.sha256(data).hexdigest()[:HASH_LEN]


def impact(tf, dl, avgdl):
    return tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl))


def idf(n, df):
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


# --------------------------------------------------------------------------- query semantics


def parse_parts(query, normalize=analysis.normalize):
    """[(text, is_phrase)] of a query: normalised, quoted parts are phrases, others split on
    whitespace; parts without any word character are dropped."""
    q = normalize((query or "")[:MAX_QUERY_CHARS])
    parts = []
    for m in _PART_RE.finditer(q):
        phrase = m.group(1) if m.group(1) is not None else m.group(2)
        text = (phrase if phrase is not None else m.group(3)).strip()
        if text and _WORDCHAR_RE.search(text):
            parts.append((text, phrase is not None))
    return parts[:MAX_PARTS]


def segment_words(text, has_word, max_chars=MAX_WORD_CHARS):
    """Longest match of ``text`` against a vocabulary: (words, every word char covered)."""
    words = []
    covered = True
    i, n = 0, len(text)
    while i < n:
        for length in range(min(max_chars, n - i), 0, -1):
            if has_word(text[i:i + length]):
                words.append(text[i:i + length])
                i += length
                break
        else:
            if _WORDCHAR_RE.match(text[i]):
                covered = False
            i += 1
    return words, covered


def gram_slots(text):
    """Gram-layer slots of a part: [("e", term) exact | ("p", char) prefix], as a phrase."""
    runs = [m.group() for m in _RUN_RE.finditer(text)]
    slots = []
    for r, run in enumerate(runs):
        last = r == len(runs) - 1
        if "\u3400" <= run[0]:
            slots.extend(("e", run[i:i + 2]) for i in range(len(run) - 1))
            if not last:
                slots.append(("e", run[-1]))
            elif len(run) == 1:
                slots.append(("p", run))
        else:
            slots.append(("e", run))
    return slots


def plan_query(query, has_word, normalize=analysis.normalize, max_chars=MAX_WORD_CHARS):
    """The parts of a query with their words (empty if the word layer can't match) and slots."""
    plan = []
    for text, phrase in parse_parts(query, normalize):
        words, covered = segment_words(text, has_word, max_chars)
        plan.append({"text": text, "phrase": phrase, "words": words if covered else [],
                     "slots": gram_slots(text)})
    return plan


def _is_phrase(position_lists):
    first, rest = position_lists[0], [set(p) for p in position_lists[1:]]
    return any(all(p + j + 1 in s for j, s in enumerate(rest)) for p in first)


def _unique(seq):
    seen = set()
    return [x for x in seq if not (x in seen or seen.add(x))]


def evaluate(plan, get, expand, n, avgdl):
    """Rank passages for a planned query.

    ``get(layer, term)`` -> {passage number: (tf, positions, field length, …)} ({} if absent);
    ``expand(char)`` -> gram terms starting with ``char``; ``avgdl`` = {"w": …, "g": …}.
    Returns [(passage number, tier, score)] best first."""
    total = None
    for part in plan:
        wp = [get("w", w) for w in part["words"]]
        sp = []
        for kind, term in part["slots"]:
            if kind == "e":
                sp.append(get("g", term))
            else:
                merged = {}
                for t in expand(term):
                    for idx, (tf, pos, dl, *_rest) in get("g", t).items():
                        if idx in merged:
                            old = merged[idx]
                            merged[idx] = (old[0] + tf, tuple(sorted(old[1] + pos)), dl)
                        else:
                            merged[idx] = (tf, tuple(pos), dl)
                sp.append(merged)
        cand = set()
        if wp:
            cand |= set(min(wp, key=len)).intersection(*wp)
        if sp:
            cand |= set(min(sp, key=len)).intersection(*sp)
        wterms = _unique(part["words"])
        wmap = {w: d for w, d in zip(part["words"], wp)}
        smap = {}
        for slot, d in zip(part["slots"], sp):
            smap.setdefault(slot, d)
        res = {}
        for idx in cand:
            word_all = bool(wp) and all(idx in d for d in wp)
            word_phrase = word_all and _is_phrase([d[idx][1] for d in wp])
            gram_phrase = bool(sp) and all(idx in d for d in sp) and _is_phrase(
                [d[idx][1] for d in sp])
            ok = (word_phrase or gram_phrase) if part["phrase"] else (word_all or gram_phrase)
            if not ok:
                continue
            tier = 2 if word_phrase else 1 if gram_phrase else 0
            score = 0.0
            for w in wterms:
                d = wmap[w]
                if idx in d:
                    tf, _pos, dl = d[idx][:3]
                    score += idf(n, len(d)) * impact(tf, dl, avgdl["w"])
            for slot in smap:
                d = smap[slot]
                if idx in d:
                    tf, _pos, dl = d[idx][:3]
                    score += idf(n, len(d)) * impact(tf, dl, avgdl["g"])
            res[idx] = (tier, score)
        if total is None:
            total = res
        else:
            total = {i: (total[i][0] + res[i][0], total[i][1] + res[i][1]) for i in total if i in res}
    if not total:
        return []
    return sorted(((i, t, s) for i, (t, s) in total.items()), key=lambda r: (-r[1], -r[2], r[0]))


# --------------------------------------------------------------------------- reference


class Reference:
    """The query semantics evaluated straight from kb.analysis tokens (no index files):
    the reference the static index and the browser must agree with."""

    def __init__(self, passages, documents=(), vocab=None):
        documents = list(documents or [])
        self.passages = _ordered(passages, documents)
        slugs = _city_slugs(vocab)
        doc_year = {d["id"]: d.get("year") for d in documents}
        self.city_slugs = [{slugs.get(c, c) for c in p.get("cities") or ()} for p in self.passages]
        self.doc_year = [int(doc_year.get(p["doc"]) or p.get("year") or 0) for p in self.passages]
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
        self.words = set(self.postings["w"])
        self.grams_sorted = sorted(self.postings["g"], key=utf16_key)
        self._gram_keys = [utf16_key(t) for t in self.grams_sorted]

    def get(self, layer, term):
        return self.postings[layer].get(term, {})

    def expand(self, char):
        lo = bisect.bisect_left(self._gram_keys, utf16_key(char))
        out = []
        for t in self.grams_sorted[lo:]:
            if not t.startswith(char):
                break
            out.append(t)
        return out

    def plan(self, query):
        return plan_query(query, self.words.__contains__)

    def search(self, query, city=None, instrument=None, year=None, doc=None):
        """Ranked passage ids (filters: city slug, instrument slug, document year, doc id).
        Without query words, the passages matching the filters in index order (none if there
        is no filter either)."""
        plan = self.plan(query)
        if plan:
            ranked = [i for i, _t, _s in evaluate(plan, self.get, self.expand, len(self.passages), self.avgdl)]
        elif city or instrument or year or doc:
            ranked = range(len(self.passages))
        else:
            ranked = []
        out = []
        for idx in ranked:
            p = self.passages[idx]
            if city and city not in self.city_slugs[idx]:
                continue
            if instrument and instrument not in (p.get("instruments") or ()):
                continue
            if year and int(year) != self.doc_year[idx]:
                continue
            if doc and doc != p["doc"]:
                continue
            out.append(p["id"])
        return out


def _ordered(passages, documents=()):
    """Passages in index order: documents sorted by id, passages in input order within one."""
    doc_ids = sorted({d["id"] for d in documents} | {p["doc"] for p in passages})
    rank = {d: i for i, d in enumerate(doc_ids)}
    return [p for _i, p in sorted(enumerate(passages), key=lambda ip: (rank[ip[1]["doc"]], ip[0]))]


# --------------------------------------------------------------------------- reader


def read_register(path):
    """(name, payload) of an index file ``KB.register("<name>",<json>);``."""
    text = Path(path).read_text(encoding="utf-8").strip()
    if not (text.startswith("KB.register(") and text.endswith(");")):
        raise ValueError(f"{path}: not an index file")
    name, payload = json.loads("[" + text[len("KB.register("):-2] + "]")
    return name, payload


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
        self.city_sets = decode_city_sets(self.facets["citySets"])
        self.avgdl = {"w": self.meta["avgdl"][0], "g": self.meta["avgdl"][1]}
        self.n = self.meta["N"]

    def load(self, name):
        if name not in self._cache:
            got, payload = read_register(self.dir / name)
            if got != name:
                raise ValueError(f"{name} registers itself as {got}")
            self._cache[name] = payload
        return self._cache[name]

    def chunks(self, layer, lo, hi):
        """Names of the chunks of ``layer`` ("lex", "w", "g") overlapping [lo, hi]."""
        lo_k, hi_k = utf16_key(lo), utf16_key(hi)
        out = []
        for first, last, dir_name in self.meta[layer]:
            if utf16_key(first) <= hi_k and utf16_key(last) >= lo_k:
                out.extend(c[2] for c in self.load(dir_name)
                           if utf16_key(c[0]) <= hi_k and utf16_key(c[1]) >= lo_k)
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
            out = decode_postings(post)
        else:
            out = {}
            for name, _count, _bytes in post:
                out.update(decode_postings(self.load(name)))
        assert len(out) == df
        return out

    def expand(self, char):
        terms = []
        for name in self.chunks("g", char, char + "\uffff"):
            terms.extend(t for t in self.load(name)["t"] if t.startswith(char))
        return terms

    def plan(self, query):
        return plan_query(query, self.has_word, max_chars=self.meta["maxw"])

    def search(self, query):
        """Ranked passage numbers (no filters)."""
        return [i for i, _t, _s in evaluate(self.plan(query), self.get, self.expand, self.n, self.avgdl)]

    def browse(self, city=None, instrument=None, year=None):
        """Passage numbers having all the given facet values, from the facet lists."""
        f = self.facets
        lists = []
        for value, entries in ((city, f["cities"]), (instrument, f["instruments"]), (year, f["years"])):
            if value is None:
                continue
            match = [e for e in entries if str(e[0]) == str(value)]
            if not match:
                return []
            lists.append(set(decode_facet_list(self.load(match[0][-1]))))
        return sorted(set.intersection(*lists)) if lists else list(range(self.n))

    def passage(self, idx):
        """[id, url, document number, section trail, text, document title]."""
        frag = self.meta["frag"]
        data = self.load(f"{frag['dir']}/{idx // frag['size']}.js")
        return data[idx % frag["size"]]

    def document(self, num):
        """(id, title) of document number ``num``."""
        docs = self.meta["docs"]
        data = self.load(f"{docs['titles']}/{num // docs['size']}.js")
        return data["ids"][num % docs["size"]], data["titles"][num % docs["size"]]


# --------------------------------------------------------------------------- t2s map

_CJK_RANGES = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00))


def _t2s_pairs():
    conv = analysis._opencc().convert
    pairs = []
    for lo, hi in _CJK_RANGES:
        for cp in range(lo, hi):
            c = chr(cp)
            s = conv(c)
            if s != c and len(s) == 1 and ord(s) < 0x10000:
                pairs.append((c, s))
    return pairs


_T2S = None


def t2s_map(charset):
    """"TSTS…" pairs: traditional characters (not themselves indexed) whose simplified form is
    in ``charset``."""
    global _T2S
    if _T2S is None:
        _T2S = _t2s_pairs()
    return "".join(t + s for t, s in _T2S if s in charset and t not in charset)


# --------------------------------------------------------------------------- writer


def _get(obj, name, default=None):
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


class _Files:
    """Writes files under search/ and remembers their sizes."""

    def __init__(self, root):
        self.root = root
        self.sizes = {}
        self.dirs = set()

    def write(self, name, data):
        path = self.root / name
        if name in self.sizes:
            if path.read_bytes() != data:
                raise RuntimeError(f"hash collision on {name}")
            return name
        if "/" in name:
            parent = name.rsplit("/", 1)[0]
            if parent not in self.dirs:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.dirs.add(parent)
        try:
            unchanged = path.stat().st_size == len(data) and path.read_bytes() == data
        except FileNotFoundError:
            unchanged = False
        if not unchanged:
            path.write_bytes(data)
        self.sizes[name] = len(data)
        return name

    def register(self, kind, payload):
        """A content-hashed index file ``<kind>.<sha256[:12]>.js``; returns its name."""
        body = _json(payload)
        name = f"{kind}.{_hash(body.encode('utf-8'))}.js"
        return self.write(name, f'KB.register("{name}",{body});\n'.encode("utf-8"))

    def register_set(self, kind, bodies):
        """Numbered files ``<kind>-<h>/<k>.js`` whose directory is named by the hash of all of
        them (so their names need no list anywhere); returns the directory name."""
        bodies = [_json(b) for b in bodies]
        digest = hashlib.sha256()
        for body in bodies:
            digest.update(body.encode("utf-8"))
            digest.update(b"\n")
        folder = f"{kind}-{digest.hexdigest()[:HASH_LEN]}"
        for k, body in enumerate(bodies):
            name = f"{folder}/{k}.js"
            self.write(name, f'KB.register("{name}",{body});\n'.encode("utf-8"))
        return folder


def _big(v):
    """Base-32 varint bytes of a value too large for the _SMALL table."""
    digits = []
    while True:
        digits.append(v & 31)
        v >>= 5
        if not v:
            break
    return bytes(_CONT_B[d] for d in reversed(digits[1:])) + bytes([_TERM_B[digits[0]]])


def _vb(v):
    """Varint bytes of v."""
    return _SMALL[v] if v < 4096 else _big(v)


class _Term:
    __slots__ = ("idx", "tf", "pos", "off")

    def __init__(self):
        self.idx = array("I")
        self.tf = array("I")
        self.pos = bytearray()  # encoded positions of all postings
        self.off = array("I")  # where each posting's positions start in pos


def _collect(passages, fn):
    """Posting data of one layer: ({term: _Term}, field lengths array)."""
    terms = {}
    lengths = array("I")
    small = _SMALL
    for idx, p in enumerate(passages):
        toks = fn(p["text"])
        lengths.append(len(toks))
        per = {}
        for tok in toks:
            lst = per.get(tok[0])
            if lst is None:
                per[tok[0]] = [tok[1]]
            else:
                lst.append(tok[1])
        for term, pos in per.items():
            t = terms.get(term)
            if t is None:
                t = terms[term] = _Term()
            t.idx.append(idx)
            t.tf.append(len(pos))
            t.off.append(len(t.pos))
            if len(pos) == 1:
                v = pos[0]
                t.pos += small[v] if v < 4096 else _big(v)
            else:
                pos.sort()
                prev = 0
                for q in pos:
                    d = q - prev
                    t.pos += small[d] if d < 4096 else _big(d)
                    prev = q
    return terms, lengths


def _encode(t, order, heads):
    """Posting string of the postings ``order`` (indexes into t, in passage order).
    ``heads[idx]`` = varints of the passage's city set, instrument mask, field length."""
    parts = []
    ap = parts.append
    small = _SMALL
    prev = -1
    tidx, ttf, tpos, toff = t.idx, t.tf, t.pos, t.off
    last = len(tidx) - 1
    for k in order:
        idx = tidx[k]
        d = idx - prev - 1
        prev = idx
        ap(small[d] if d < 4096 else _big(d))
        ap(heads[idx])
        f = ttf[k] - 1
        ap(small[f] if f < 4096 else _big(f))
        ap(tpos[toff[k]:toff[k + 1]] if k < last else tpos[toff[k]:])
    return b"".join(parts).decode("ascii")


def _entries(files, terms, heads, lengths, avgdl, page0, inline_max=INLINE_MAX):
    """Sorted [(term, entry, approximate JSON bytes)] of one layer; long posting lists go to
    page files ordered by impact."""
    out = []
    pages_written = 0
    for term in sorted(terms, key=utf16_key):
        t = terms[term]
        df = len(t.idx)
        size = len(term.encode("utf-8")) + 12
        full = _encode(t, range(df), heads) if df * 6 <= inline_max else None
        if full is not None and len(full) <= inline_max:
            out.append((term, [df, full], size + len(full)))
            continue
        tf, idxs = t.tf, t.idx
        norm = [K1 * (1 - B + B * lengths[i] / avgdl) for i in idxs]
        order = sorted(range(df), key=lambda k: (-(tf[k] * (K1 + 1) / (tf[k] + norm[k])), idxs[k]))
        refs = []
        start, size_p = 0, page0
        while start < df:
            page = sorted(order[start:start + size_p])
            name = files.register("p", _encode(t, page, heads))
            refs.append([name, len(page), files.sizes[name]])
            pages_written += 1
            start += size_p
            size_p *= 2
        out.append((term, [df, refs], size + 40 * len(refs)))
    return out, pages_written


def _cut(items, target, size_of):
    """Cut a sorted list into consecutive chunks of about ``target`` bytes (any boundary)."""
    chunks, cur, cur_bytes = [], [], 0
    for item in items:
        size = size_of(item)
        if cur and cur_bytes + size > target:
            chunks.append(cur)
            cur, cur_bytes = [], 0
        cur.append(item)
        cur_bytes += size
    if cur:
        chunks.append(cur)
    return chunks


def _directories(files, kind, chunks):
    """Group chunk references [first, last, file] into directory files of DIR_ENTRIES;
    returns the meta entries [first, last, directory file]."""
    out = []
    for k in range(0, len(chunks), DIR_ENTRIES):
        group = chunks[k:k + DIR_ENTRIES]
        name = files.register(kind, group)
        out.append([group[0][0], group[-1][1], name])
    return out


def _city_slugs(vocab):
    out = {}
    for c in _get(vocab, "cities", []) or []:
        if isinstance(c, str):
            out[c] = c
            continue
        name, slug = _get(c, "name"), _get(c, "slug")
        out[name] = slug
        for alias in _get(c, "aliases", []) or []:
            out.setdefault(alias, slug)
    return out


def _canonical_names(vocab):
    return {(_get(c, "name") if not isinstance(c, str) else c) for c in _get(vocab, "cities", []) or []}


def _inst_labels(vocab):
    out = {}
    for i in _get(vocab, "instruments", []) or []:
        if isinstance(i, str):
            out[i] = i
        else:
            out[_get(i, "slug")] = _get(i, "label") or _get(i, "slug")
    return out


def _write_layer(root, layer, ordered, args):
    """Collect, encode and write one posting layer ("w" words, "g" grams); returns what
    the meta file and the statistics need (runs in a worker process when jobs > 1)."""
    files = _Files(root)
    fn = analysis.word_tokens if layer == "w" else analysis.gram_tokens
    terms, lengths = _collect(ordered, fn)
    n = len(ordered)
    avg = (sum(lengths) / n) if n else 1.0
    csets, masks = args["csets"], args["masks"]
    heads = [_vb(csets[i]) + _vb(masks[i]) + _vb(lengths[i]) for i in range(n)]
    entries, pages = _entries(files, terms, heads, lengths, avg, args["page0"], args["inline_max"])
    refs, chunk_sizes = [], []
    for chunk in _cut(entries, args["chunk_bytes"], lambda e: e[2]):
        name = files.register(layer, {"t": [t for t, _e, _s in chunk], "e": [e for _t, e, _s in chunk]})
        refs.append([chunk[0][0], chunk[-1][0], name])
        chunk_sizes.append(files.sizes[name])
    chars = set()
    for t in terms:
        chars.update(t)
    return {"dir": _directories(files, layer + "d", refs), "avgdl": avg, "pages": pages,
            "chunk_sizes": chunk_sizes, "n_chunks": len(refs), "n_terms": len(terms),
            "sizes": files.sizes, "chars": chars,
            "terms": sorted(terms, key=utf16_key) if layer == "w" else None}


def write_static_index(out_dir, passages, documents, vocab=None, *, page0=PAGE0,
                       chunk_bytes=CHUNK_BYTES, frag_size=FRAG_SIZE, inline_max=INLINE_MAX,
                       budget=BUDGET, jobs=1):
    """Write the static search index under ``out_dir/search/``.

    ``passages``: tagged passage dicts (id, doc, section, text, cities, instruments, year,
    url); ``documents``: document dicts (id, title, year); ``vocab``: kb.vocab.Vocab (or
    anything with ``cities`` [{name, slug, aliases}] and ``instruments`` [{slug, label}]; plain
    lists of names/slugs work too). ``jobs``: with 2 or more, the word and gram layers
    are built in parallel (forked) processes. The other keyword arguments tune the layout
    (tests use tiny pages to exercise paging).

    Returns ``{"scripts": [site-relative script paths to load at start, in order],
    "styles": [site-relative stylesheet paths], "stats": {…}}``."""
    out_dir = Path(out_dir)
    root = out_dir / "search"
    root.mkdir(parents=True, exist_ok=True)
    files = _Files(root)
    documents = list(documents or [])
    ordered = _ordered(passages, documents)
    n = len(ordered)

    # ---- facets: labels, per-passage codes, documents
    city_slug = _city_slugs(vocab)
    inst_label = _inst_labels(vocab)
    doc_by_id = {d["id"]: d for d in documents}
    doc_ids = sorted(set(doc_by_id) | {p["doc"] for p in ordered})
    doc_rank = {d: i for i, d in enumerate(doc_ids)}

    def slug_of(name):
        return city_slug.get(name, name)

    cities = sorted({slug_of(c) for p in ordered for c in p.get("cities") or ()})
    canonical = _canonical_names(vocab)
    city_name = {slug: name for name, slug in city_slug.items() if name in canonical}
    for p in ordered:
        for c in p.get("cities") or ():
            city_name.setdefault(slug_of(c), c)
    insts = sorted({s for p in ordered for s in p.get("instruments") or ()})
    if len(insts) > 53:
        raise ValueError("the browser decodes instrument bit masks as doubles: at most 53 instruments")
    city_code = {s: i for i, s in enumerate(cities)}
    inst_code = {s: i for i, s in enumerate(insts)}

    # Per passage: a city-set code (sets sorted by frequency, so common ones take one digit)
    # and an instrument bit mask.
    set_keys = [tuple(sorted({city_code[slug_of(c)] for c in p.get("cities") or ()})) for p in ordered]
    freq = Counter(set_keys)
    city_sets = sorted(freq, key=lambda k: (-freq[k], k))
    set_code = {k: i for i, k in enumerate(city_sets)}
    csets = array("I", (set_code[k] for k in set_keys))
    masks = [sum(1 << inst_code[s] for s in set(p.get("instruments") or ())) for p in ordered]
    del set_keys
    sets_buf = bytearray()
    for cs in city_sets:
        sets_buf += _vb(len(cs))
        for c in cs:
            sets_buf += _vb(c)

    doc_years = {}
    for d in doc_ids:
        y = _get(doc_by_id.get(d), "year")
        if y is None:
            ys = Counter(p.get("year") for p in ordered if p["doc"] == d and p.get("year"))
            y = ys.most_common(1)[0][0] if ys else 0
        doc_years[d] = int(y or 0)
    years = sorted(set(doc_years.values()))
    year_code = {y: i for i, y in enumerate(years)}
    counts = Counter(p["doc"] for p in ordered)
    doc_counts, doc_year_codes = bytearray(), bytearray()
    for d in doc_ids:
        doc_counts += _vb(counts.get(d, 0))
        doc_year_codes += _vb(year_code[doc_years[d]])

    # Facet lists for browsing without a query (?city=… from the city pages): per value,
    # the passages that have it, with their codes.
    codes = [_vb(csets[i]) + _vb(masks[i]) for i in range(n)]

    def facet_list(indexes):
        parts = []
        prev = -1
        for idx in indexes:
            parts.append(_vb(idx - prev - 1))
            parts.append(codes[idx])
            prev = idx
        return files.register("fl", b"".join(parts).decode("ascii")), len(indexes)

    by_city = [[] for _ in cities]
    by_inst = [[] for _ in insts]
    by_year = [[] for _ in years]
    for idx, p in enumerate(ordered):
        for c in city_sets[csets[idx]]:
            by_city[c].append(idx)
        m, i = masks[idx], 0
        while m:
            if m & 1:
                by_inst[i].append(idx)
            m >>= 1
            i += 1
        by_year[year_code[doc_years[p["doc"]]]].append(idx)
    city_entries = [[s, city_name.get(s, s), *facet_list(lst)[::-1]] for s, lst in zip(cities, by_city)]
    inst_entries = [[s, inst_label.get(s, s), *facet_list(lst)[::-1]] for s, lst in zip(insts, by_inst)]
    year_entries = [[y, *facet_list(lst)[::-1]] for y, lst in zip(years, by_year)]
    del by_city, by_inst, by_year

    # Document titles (facet labels, URL doc=<id>) and per-document codes (browsing one
    # document), DOC_CHUNK documents per numbered file.
    title_bodies, code_bodies = [], []
    start = 0
    for k in range(0, len(doc_ids), DOC_CHUNK):
        ids = doc_ids[k:k + DOC_CHUNK]
        title_bodies.append({"ids": ids, "titles": [str(_get(doc_by_id.get(d), "title") or d) for d in ids]})
        end = start + sum(counts.get(d, 0) for d in ids)
        code_bodies.append(b"".join(codes[start:end]).decode("ascii"))
        start = end
    titles_dir = files.register_set("dt", title_bodies)
    codes_dir = files.register_set("dc", code_bodies)
    del title_bodies, code_bodies

    facets_name = files.register("facets", {
        "cities": city_entries,
        "instruments": inst_entries,
        "years": year_entries,
        "citySets": sets_buf.decode("ascii"),
        "docCount": doc_counts.decode("ascii"),
        "docYear": doc_year_codes.decode("ascii"),
    })

    # ---- postings: the word and gram layers are independent (one process each)
    layer_args = dict(csets=csets, masks=masks, page0=page0, inline_max=inline_max,
                      chunk_bytes=chunk_bytes)
    built = fork_map(_write_layer, [(root, "w", ordered, layer_args), (root, "g", ordered, layer_args)],
                     jobs)
    layer_dirs, page_files, chunk_sizes, n_chunks, n_terms, avgdl = {}, 0, [], {}, {}, []
    charset = set()
    for layer, res in zip(("w", "g"), built):
        files.sizes.update(res["sizes"])
        layer_dirs[layer] = res["dir"]
        page_files += res["pages"]
        chunk_sizes += res["chunk_sizes"]
        n_chunks[layer] = res["n_chunks"]
        n_terms[layer] = res["n_terms"]
        avgdl.append(res["avgdl"])
        charset |= res["chars"]
    words_sorted = built[0]["terms"]
    del built

    lex = []
    for chunk in _cut(words_sorted, LEX_BYTES, lambda t: len(t.encode("utf-8")) + 3):
        name = files.register("lex", chunk)
        lex.append([chunk[0], chunk[-1], name])
    n_chunks["lex"] = len(lex)
    lex_dirs = _directories(files, "lexd", lex)
    maxw = min(MAX_WORD_CHARS, max((len(t) for t in words_sorted), default=1))
    t2s_name = files.register("t2s", t2s_map(charset))

    # ---- fragments: the texts for snippets, FRAG_SIZE passages per numbered file
    groups = []
    for g in range(0, n, frag_size):
        groups.append([[p["id"], p.get("url") or f"doc/{p['doc']}.html#{p['id']}", doc_rank[p["doc"]],
                        list(p.get("section") or []), p["text"],
                        str(_get(doc_by_id.get(p["doc"]), "title") or p["doc"])]
                       for p in ordered[g:g + frag_size]])
    frag_dir = files.register_set("f", groups)
    n_groups = len(groups)
    del groups

    # ---- browser scripts and stylesheet (content-hashed copies)
    script_names = []
    for fname in JS_FILES:
        data = compact_js((JS_DIR / fname).read_text(encoding="utf-8")).encode("utf-8")
        script_names.append(files.write(f"{fname[:-3]}.{_hash(data)}.js", data))
    css = (JS_DIR / CSS_FILE).read_bytes()
    css_name = files.write(f"{CSS_FILE[:-4]}.{_hash(css)}.css", css)

    meta_name = files.register("meta", {
        "v": 2, "N": n, "k1": K1, "b": B, "avgdl": avgdl, "maxw": maxw,
        "page0": page0, "budget": budget,
        "lex": lex_dirs, "w": layer_dirs["w"], "g": layer_dirs["g"],
        "facets": facets_name, "t2s": t2s_name,
        "frag": {"dir": frag_dir, "size": frag_size, "count": n_groups},
        "docs": {"titles": titles_dir, "codes": codes_dir, "size": DOC_CHUNK,
                 "count": -(-len(doc_ids) // DOC_CHUNK)},
    })

    _remove_stale(root, set(files.sizes))
    sizes = sorted(chunk_sizes)
    stats = {
        "passages": n, "documents": len(doc_ids), "terms": n_terms,
        "files": len(files.sizes),
        "bytes": sum(files.sizes.values()),
        "meta_bytes": files.sizes[meta_name],
        "facets_bytes": files.sizes[facets_name],
        "t2s_bytes": files.sizes[t2s_name],
        "chunks": n_chunks,
        "directories": {"lex": len(lex_dirs), "w": len(layer_dirs["w"]), "g": len(layer_dirs["g"])},
        "chunk_bytes_max": sizes[-1] if sizes else 0,
        "chunk_bytes_median": sizes[len(sizes) // 2] if sizes else 0,
        "page_files": page_files,
        "fragment_files": n_groups,
        "doc_files": 2 * (-(-len(doc_ids) // DOC_CHUNK)),
        "city_sets": len(city_sets),
    }
    # meta registers into KB (defined by kb-core) and must be there before kb-search-ui starts
    scripts = script_names[:-1] + [meta_name, script_names[-1]]
    return {"scripts": [f"search/{s}" for s in scripts],
            "styles": [f"search/{css_name}"], "stats": stats}


def compact_js(text):
    """Drop comment-only lines and indentation from our own scripts (their comments are
    block comments at line starts or whole-line // comments; statements keep their lines,
    so automatic semicolon insertion is unaffected)."""
    out = []
    in_comment = False
    for line in text.splitlines():
        stripped = line.strip()
        if in_comment:
            if "*/" in stripped:
                in_comment = False
                rest = stripped.split("*/", 1)[1].strip()
                if rest:
                    out.append(rest)
            continue
        if stripped.startswith("/*"):
            if "*/" not in stripped:
                in_comment = True
                continue
            rest = stripped.split("*/", 1)[1].strip()
            if rest:
                out.append(rest)
            continue
        if not stripped or stripped.startswith("//"):
            continue
        out.append(stripped)
    return "\n".join(out) + "\n"


def _remove_stale(root, keep):
    """Delete index files of an earlier build (only names this module writes)."""
    keep_dirs = {k.split("/", 1)[0] for k in keep if "/" in k}
    for path in root.iterdir():
        rel = path.name
        if path.is_dir() and _OWN_DIR_RE.match(rel):
            if rel not in keep_dirs:
                shutil.rmtree(path)
        elif path.is_file() and _OWN_FILE_RE.match(rel) and rel not in keep:
            path.unlink()
