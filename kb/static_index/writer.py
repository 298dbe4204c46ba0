"""Writes the static search index (layout: see :mod:`kb.static_index`)."""

import functools
from operator import add as _add
import hashlib
import json
import os
import pickle
import re
import shutil
from array import array
from collections import Counter
from pathlib import Path

import numpy as np
import rjsmin

from .. import analysis
from ..fsutil import link_or_copy, write_bytes, write_text
from ..parallel import fork_map
from ..read import DOC_TYPE_LABELS
from ..reuse import files_digest, package_versions
from ..urls import passage_url
from ..search import entities
from ..search import query as squery
from ..search.rank import B, CUE_SATURATION, K1, constants as rank_constants
from ..search.snippet import SNIPPET_CHARS
from ..search.reference import city_slugs as _city_slugs, ordered as _ordered, utf16_key
from .codec import HASH_LEN, _hash, _json, _vb, encode_codes
from . import postings
from .t2s import t2s_map

FORMAT = 5  # meta "v": the version of this layout (4: facet codes spelt out, no full set table; 5: chunk lists of keys and hashes, fragment folders per block)
SET_TABLE = 128  # most frequent city sets numbered in the facets file (others spelt out)
MASK_TABLE = 256  # most frequent instrument masks numbered in the facets file
PAGE0 = 384  # postings in the first page of a paged list; each next page doubles
INLINE_MAX = 1024  # posting strings up to this many bytes stay inline in their chunk
CHUNK_BYTES = 3_000  # target posting-chunk size (bytes of entries)
LEX_BYTES = 1_000  # target lexicon-chunk size (and gazetteer chunks)
NAME_BYTES = 1_000  # target size of a chunk of city names (snippet needles)
DIR_ENTRIES = 32  # chunk references per directory file
FRAG_SIZE = 1  # passages per fragment file (a result loads its own text only)
FRAG_BLOCK = 2048  # fragment files per folder (a folder is named by the hash of its files only)
DOC_CHUNK = 4  # documents per title / code file (the doc facet shows ten documents: small files)
BUDGET = 64_000  # bytes of posting pages a query fetches (browser; first pages always, and counted)
TAG_BUDGET = 64_000  # bytes of facet-list pages (a query's city / instrument concepts), likewise
TOTAL_BUDGET = 96_000  # bytes of posting and facet-list pages together, likewise
MAX_WORD_CHARS = squery.MAX_WORD_CHARS
# labels of the document types (the ``type`` of a sidecar), shown as the 文献类型 facet

JS_DIR = Path(__file__).resolve().parent.parent.parent / "site_templates" / "static" / "js"
# Load order matters: core defines the KB namespace the others (and the index files) use.
JS_FILES = ("kb-core.js", "kb-normalize.js", "kb-query.js", "kb-rank.js", "kb-snippet.js",
            "kb-search-ui.js")
CSS_FILE = "kb-search.css"

_OWN_FILE_RE = re.compile(
    r"^(?:meta|lex|lexd|w|wd|g|gd|p|fl|facets|rules|ent|sn|t2s|kb-[a-z-]+)\.[0-9a-f]{12}\.(?:js|css)$")
_OWN_DIR_RE = re.compile(r"^(?:f|dt|dc)-[0-9a-f]{12}$")

def _get(obj, name, default=None):
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _create(path, data):
    """Write ``data`` as a new file at ``path`` (an existing file there, perhaps a link to an
    earlier build's, is unlinked first, never written through)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        os.unlink(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        done = os.write(fd, data)
        if done < len(data):
            view = memoryview(data)[done:]
            while view:
                view = view[os.write(fd, view):]
    finally:
        os.close(fd)


class _Files:
    """Writes files under search/ and remembers their sizes.

    Every name is a content hash, so a file an earlier build (``previous``: its search/
    folder) already holds with the same bytes is hard-linked from there instead of written
    again (copied where links are impossible): unchanged files keep their inode and time
    stamp, and publishing the new output only needs to upload the changed ones. A file is
    never written through an existing link: it is unlinked first."""

    def __init__(self, root, previous=None):
        self.root = Path(root)
        self.previous = Path(previous) if previous else None
        self.sizes = {}
        self.dirs = set()
        self.written = self.carried = 0
        self._listed = {}  # (folder, "" or a subfolder) -> {file name: DirEntry} (listed once)
        self._trust = None  # see _trusted_ns

    def _names(self, base, sub):
        """{name: DirEntry} of the files in ``base/sub`` (a name is a content hash, so a name
        not listed there is not worth a stat; the listing itself stats nothing)."""
        key = (base, sub)
        names = self._listed.get(key)
        if names is None:
            names = {}
            try:
                with os.scandir(base / sub if sub else base) as it:
                    for e in it:
                        if e.is_file(follow_symlinks=False):
                            names[e.name] = e
            except OSError:
                pass
            self._listed[key] = names
        return names

    def _size_in(self, base, name):
        """Size of the file ``name`` listed in ``base`` (None: not there)."""
        sub, _, leaf = name.rpartition("/")
        e = self._names(base, sub).get(leaf)
        try:
            return None if e is None else e.stat(follow_symlinks=False).st_size
        except OSError:
            return None

    def write(self, name, data):
        path = f"{self.root}/{name}"  # a string: many small files, pathlib's cost adds up
        if name in self.sizes:
            if Path(path).read_bytes() != data:
                raise RuntimeError(f"hash collision on {name}")
            return name
        if "/" in name:
            parent = name.rsplit("/", 1)[0]
            if parent not in self.dirs:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                self.dirs.add(parent)
        unchanged = self._size_in(self.root, name) == len(data) and Path(path).read_bytes() == data
        if not unchanged:
            if self._carry(name, path, data):
                self.carried += 1
            else:
                _create(path, data)
                self.written += 1
        self.sizes[name] = len(data)
        return name

    def _carry(self, name, path, data):
        if self.previous is None:
            return False
        sub, _, leaf = name.rpartition("/")
        entry = self._names(self.previous, sub).get(leaf)
        try:
            st = entry.stat(follow_symlinks=False) if entry is not None else None
        except OSError:
            st = None
        if st is None or st.st_size != len(data):
            return False
        old = f"{self.previous}/{name}"
        # The name is the hash of the bytes: a file of the same name and size not modified since
        # the previous index was written (its meta file's time) holds them; else compare.
        if st.st_mtime_ns >= self._trusted_ns():
            try:
                with open(old, "rb") as fh:
                    if fh.read() != data:
                        return False
            except OSError:
                return False
        try:
            os.link(old, path)  # (link_or_copy's unlink first only when something is there)
        except OSError:  # a file there, or links refused: replace it, or copy
            try:
                link_or_copy(old, path)
            except OSError:
                return False
        return True

    def _trusted_ns(self):
        """When the previous index's meta file was written (files not modified after it are
        as that index made them; -1 without one)."""
        if self._trust is None:
            times = []
            for leaf, e in self._names(self.previous, "").items():
                if leaf.startswith("meta.") and _OWN_FILE_RE.match(leaf):
                    try:
                        times.append(e.stat(follow_symlinks=False).st_mtime_ns)
                    except OSError:
                        pass
            self._trust = min(times) if len(times) == 1 else -1
        return self._trust

    def register(self, kind, payload):
        """A content-hashed index file ``<kind>.<sha256[:12]>.js``; returns its name."""
        body = _json(payload)
        name = f"{kind}.{_hash(body.encode('utf-8'))}.js"
        return self.write(name, f'KB.register("{name}",{body});\n'.encode("utf-8"))

    def register_set(self, kind, bodies):
        """Numbered files ``<kind>-<h>/<k>.js`` whose directory is named by the hash of all of
        them (so their names need no list anywhere); returns the directory name."""
        bodies = [_json(b) for b in bodies]
        # the hash of every body followed by a newline
        digest = hashlib.sha256("".join(f"{body}\n" for body in bodies).encode("utf-8"))
        folder = f"{kind}-{digest.hexdigest()[:HASH_LEN]}"
        fresh = (folder not in self.dirs and not self._names(self.root, folder)
                 and (self.previous is None or not self._names(self.previous, folder)))
        if fresh:  # nothing to compare with or carry: create the files (many, small) directly
            os.makedirs(f"{self.root}/{folder}", exist_ok=True)
            self.dirs.add(folder)
            for k, body in enumerate(bodies):
                name = f"{folder}/{k}.js"
                data = f'KB.register("{name}",{body});\n'.encode("utf-8")
                _create(f"{self.root}/{name}", data)
                self.sizes[name] = len(data)
            self.written += len(bodies)
            return folder
        for k, body in enumerate(bodies):
            name = f"{folder}/{k}.js"
            self.write(name, f'KB.register("{name}",{body});\n'.encode("utf-8"))
        return folder


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


def separators(chunks):
    """The key of each chunk [first, last, …] of a sorted list: the shortest prefix of its
    first term after the previous chunk's last term ("" for the first chunk), so that chunk i
    holds the terms from key i up to (not including) key i + 1."""
    keys = []
    prev = None
    for first, *_rest in chunks:
        if prev is None:
            keys.append("")
        else:
            after = utf16_key(prev)
            k = 1
            while utf16_key(first[:k]) <= after:
                k += 1
            keys.append(first[:k])
        prev = _rest[0]
    return keys


def _chunk_list(kind, keys, names):
    """A list of files ``<kind>.<h>.js`` by key: {"k": [keys], "h": their hashes run together}."""
    return {"k": keys, "h": "".join(name[len(kind) + 1:-3] for name in names)}


def _directories(files, kind, chunks):
    """Group chunk references [first, last, file] into directory files of DIR_ENTRIES
    (``<kind>.<h>.js``: the chunk list of :func:`_chunk_list`, keys by :func:`separators`);
    returns the meta entry: the chunk list of the directory files."""
    keys = separators(chunks)
    dir_keys, dir_names = [], []
    for k in range(0, len(chunks), DIR_ENTRIES):
        group = chunks[k:k + DIR_ENTRIES]
        dir_keys.append(keys[k])
        dir_names.append(files.register(kind, _chunk_list(group[0][2].split(".", 1)[0], keys[k:k + DIR_ENTRIES],
                                                          [c[2] for c in group])))
    return _chunk_list(kind, dir_keys, dir_names)


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


def _passage_terms(layer, tokens):
    """passage -> (its terms of one layer, their positions): from the analysis stage's
    cached tokens (passage id -> :func:`kb.analysis.passage_tokens`) where given, else cut
    now (the same terms as :func:`kb.analysis.word_tokens` / ``gram_tokens``)."""
    sep = analysis._SEP
    if layer == "w":
        def fn(p):
            packed = tokens.get(p["id"]) if tokens else None
            if packed is not None:
                return (packed[0].split(sep), packed[1]) if packed[0] else ((), ())
            toks = analysis.word_tokens(p["text"])
            return [t for t, *_ in toks], [q for _t, q, *_ in toks]
    else:
        def fn(p):
            packed = tokens.get(p["id"]) if tokens else None
            if packed is None:
                toks = analysis.gram_tokens(p["text"])
                return [t for t, *_ in toks], [q for _t, q, *_ in toks]
            if not packed[2]:
                return (), ()
            terms = []
            for run in packed[2].split(sep):
                if "\u3400" <= run[0]:
                    terms += map(_add, run, run[1:])  # its bigrams, then its last character
                    terms.append(run[-1])
                else:
                    terms.append(run)
            return terms, range(len(terms))
    return fn


def _doc_groups(ordered):
    """[(document id, first passage number, end)] of passages in index order."""
    out = []
    start = 0
    for i in range(1, len(ordered) + 1):
        if i == len(ordered) or ordered[i]["doc"] != ordered[start]["doc"]:
            out.append((ordered[start]["doc"], start, i))
            start = i
    return out


_TERMS_DIR = "static-index-terms"  # in the build cache: per document, its tokens numbered


@functools.lru_cache(maxsize=1)
def _terms_salt():
    """What the cached numberings depend on besides the document: the code that makes them."""
    h = hashlib.sha256(b"static-index-terms/1")
    for path in (Path(__file__), Path(postings.__file__), Path(analysis.__file__)):
        h.update(path.read_bytes())
    return h.hexdigest()


def _layer_docs(ordered, layer, tokens, doc_keys, cache):
    """Per document (in index order): :func:`postings.doc_terms` of its passages' tokens of
    one layer. With ``cache`` and ``doc_keys`` (document id -> the analysis cache key, which
    fixes its passages and tokens) each is kept in the cache and read back by the next build;
    an entry that cannot be read or has the wrong shape is computed again. Returns (the
    numberings, how many came from the cache)."""
    fn = _passage_terms(layer, tokens)
    folder = Path(cache) / _TERMS_DIR if cache and doc_keys else None
    salt = _terms_salt() if folder else None
    out, cached = [], 0
    for doc, a, b in _doc_groups(ordered):
        key = doc_keys.get(doc) if folder else None
        path = None
        if key:
            name = hashlib.sha256(f"{key}|{salt}|{layer}".encode()).hexdigest()
            path = folder / name[:2] / f"{name}.pickle"
            try:
                with open(path, "rb") as fh:
                    entry = pickle.load(fh)
            except Exception:  # missing, truncated or not ours: compute it
                entry = None
            if entry is not None and postings.valid(entry, b - a):
                out.append(entry)
                cached += 1
                continue
        entry = postings.doc_terms([fn(p) for p in ordered[a:b]])
        out.append(entry)
        if path is not None:
            try:
                write_bytes(path, pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))
            except OSError:
                pass  # a cache that cannot be written only costs time
    return out, cached


def _write_layer(root, layer, ordered, args):
    """Collect, encode and write one posting layer ("w" words, "g" grams); returns what
    the meta file and the statistics need (runs in a worker process when jobs > 1)."""
    files = _Files(root, args.get("previous"))
    docs, from_cache = _layer_docs(ordered, layer, args.get("tokens"), args.get("doc_keys"), args.get("cache"))
    table = postings.merge(docs)
    del docs
    terms = table.terms
    n = len(ordered)
    avg = (int(table.lengths.sum()) / n) if n else 1.0
    entries, pages = postings.entries(files, table, args["cvals"], args["clen"], avg, args["page0"],
                                      args["inline_max"])
    del table
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
            "sizes": files.sizes, "chars": chars, "written": files.written, "carried": files.carried,
            "terms": terms if layer == "w" else None, "docs_cached": from_cache}


def _write_fragments(root, ordered, args):
    """The fragment files: the texts for snippets, ``frag_size`` passages per numbered file
    (runs in a worker process when jobs > 1)."""
    files = _Files(root, args.get("previous"))
    frag_size, doc_rank, doc_by_id, doc_types = args["frag_size"], args["doc_rank"], args["doc_by_id"], args["doc_types"]
    groups = []
    for g in range(0, len(ordered), frag_size):
        groups.append([[p["id"], p.get("url") or passage_url(p["doc"], p["id"]), doc_rank[p["doc"]],
                        list(p.get("section") or []), p["text"],
                        str(_get(doc_by_id.get(p["doc"]), "title") or p["doc"]),
                        # what the result says of its document (no title file to fetch)
                        str(_get(doc_by_id.get(p["doc"]), "publisher") or ""),
                        str(_get(doc_by_id.get(p["doc"]), "date") or ""), doc_types[p["doc"]]]
                       for p in ordered[g:g + frag_size]])
    # FRAG_BLOCK files per folder, each folder named by the hash of its own files: a document
    # added at the end (or changed) renames only the folders of the blocks it touches
    folders = [files.register_set("f", groups[b:b + FRAG_BLOCK]) for b in range(0, len(groups), FRAG_BLOCK)]
    return {"dirs": "".join(f[2:] for f in folders), "count": len(groups), "sizes": files.sizes,
            "written": files.written, "carried": files.carried}


def _write_part(root, kind, ordered, args):
    """One independent part of the index: a posting layer ("w", "g") or the fragments ("f")."""
    return _write_fragments(root, ordered, args) if kind == "f" else _write_layer(root, kind, ordered, args)


def write_static_index(out_dir, passages, documents, vocab=None, *, page0=PAGE0,
                       chunk_bytes=CHUNK_BYTES, frag_size=FRAG_SIZE, inline_max=INLINE_MAX,
                       budget=BUDGET, tag_budget=TAG_BUDGET, total_budget=TOTAL_BUDGET, jobs=1, tokens=None, previous=None, cache=None, doc_keys=None,
                       build_stats=None):
    """Write the static search index under ``out_dir/search/``.

    ``passages``: tagged passage dicts (id, doc, section, text, cities, instruments, year,
    url); ``documents``: document dicts (id, title, year); ``vocab``: kb.vocab.Vocab (or
    anything with ``cities`` [{name, slug, aliases}] and ``instruments`` [{slug, label}]; plain
    lists of names/slugs work too). ``jobs``: with 2 or more, the word and gram layers
    are built in parallel (forked) processes. ``tokens``: passage id ->
    :func:`kb.analysis.passage_tokens` of its text, as the analysis stage cached them
    (passages without are cut here). ``previous``: an earlier build's output folder, whose
    unchanged index files are hard-linked instead of written again. ``cache`` (a folder) with
    ``doc_keys`` (document id -> a key that fixes its passages and tokens: the analysis cache
    key): each document's tokens, numbered per layer, are kept there, so a build numbers
    only the tokens of new or changed documents. With ``cache`` and ``previous``, an index
    whose inputs (passages, documents, vocabulary, layout and the code and scripts that make
    it) are those of the last build is not computed at all: its files are all linked from
    ``previous``. The other keyword arguments tune the layout
    (tests use tiny pages to exercise paging).

    Returns ``{"scripts": [site-relative script paths to load at start, in order],
    "styles": [site-relative stylesheet paths], "stats": {…}}``."""
    out_dir = Path(out_dir)
    root = out_dir / "search"
    root.mkdir(parents=True, exist_ok=True)
    previous = Path(previous) / "search" if previous else None
    if previous is not None and previous.resolve() == root.resolve():
        previous = None  # rewriting in place: unchanged files are already there
    files = _Files(root, previous)
    documents = list(documents or [])
    ordered = _ordered(passages, documents)
    params = dict(page0=page0, chunk_bytes=chunk_bytes, frag_size=frag_size, inline_max=inline_max,
                  budget=budget, tag_budget=tag_budget, total_budget=total_budget)
    digest = _inputs_digest(ordered, documents, vocab, params, doc_keys) if cache and previous else None
    if digest:
        reused = _reuse(Path(cache), digest, previous, root)
        if reused is not None:
            return reused
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
    if len(insts) > 52:
        raise ValueError("the browser decodes instrument bit masks (plus MASK_TABLE) as doubles: at most 52 instruments")
    city_code = {s: i for i, s in enumerate(cities)}
    inst_code = {s: i for i, s in enumerate(insts)}

    # Per passage: its codes (see codec.Codes): the SET_TABLE most frequent city sets and
    # the MASK_TABLE most frequent instrument masks by number, rarer ones spelt out.
    set_keys = [tuple(sorted({city_code[slug_of(c)] for c in p.get("cities") or ()})) for p in ordered]
    masks = [sum(1 << inst_code[s] for s in set(p.get("instruments") or ())) for p in ordered]
    freq = Counter(set_keys)
    city_sets = sorted(freq, key=lambda k: (-freq[k], k))[:SET_TABLE]
    set_code = {k: i for i, k in enumerate(city_sets)}
    mfreq = Counter(masks)
    mask_table = sorted(mfreq, key=lambda m: (-mfreq[m], m))[:MASK_TABLE]
    mask_code = {m: i for i, m in enumerate(mask_table)}
    pair_vals = {}  # (city set, mask) -> (values, varint bytes)
    cvals, clen, codes = [], array("I"), []
    for key, m in zip(set_keys, masks):
        got = pair_vals.get((key, m))
        if got is None:
            vals = encode_codes(key, m, set_code, mask_code, len(city_sets), len(mask_table))
            got = pair_vals[(key, m)] = (vals, b"".join(_vb(v) for v in vals))
        cvals += got[0]
        clen.append(len(got[0]))
        codes.append(got[1])
    del pair_vals
    sets_buf = bytearray()
    for cs in city_sets:
        sets_buf += _vb(len(cs))
        for c in cs:
            sets_buf += _vb(c)
    mask_buf = b"".join(_vb(m) for m in mask_table)

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
    doc_types = {d: str(_get(doc_by_id.get(d), "type") or "") for d in doc_ids}
    types = sorted(set(doc_types.values()),
                   key=lambda t: (list(DOC_TYPE_LABELS).index(t) if t in DOC_TYPE_LABELS else 99, t))
    type_code = {t: i for i, t in enumerate(types)}
    doc_counts, doc_codes = bytearray(), bytearray()
    type_counts = Counter()
    for d in doc_ids:
        doc_counts += _vb(counts.get(d, 0))
        doc_codes += _vb(year_code[doc_years[d]] * len(types) + type_code[doc_types[d]])
        type_counts[doc_types[d]] += counts.get(d, 0)

    # Facet lists for browsing without a query (?city=… from the city pages): per value,
    # the passages that have it, with their codes; an instrument's list folds each passage's
    # distinct cues of it (at most CUE_SATURATION: ranking reads no more) into the gap.
    cue_base = CUE_SATURATION + 1

    def facet_list(indexes, strength=None, extra=None):
        """The pages of one value's list as [hash, bytes, hash, bytes …] (page k is the
        file ``fl.<hash>.js``; with one page it holds the whole list, else page k holds
        page0·2^k passages, the last the rest): with ``strength`` (per passage of
        ``indexes``, a sort key, smaller first: the passage's tag score in ranking, as an
        order) in pages by strength, like paged postings (a query fetches the strongest
        first), each in passage order; else one page. ``extra``: per passage, its cues
        (folded into the gap)."""
        xs = extra if extra is not None else [0] * len(indexes)
        if strength is None or len(indexes) <= page0:
            pages = [list(zip(indexes, xs))]
        else:
            by = sorted(zip(strength, indexes, xs))  # (strength, passage): passages are distinct
            pages, at, size = [], 0, page0
            while at < len(by):
                pages.append(sorted((idx, x) for _s, idx, x in by[at:at + size]))
                at += size
                size *= 2
        refs = []
        for page in pages:
            parts = []
            prev = -1
            for idx, x in page:
                gap = idx - prev - 1
                parts.append(_vb(gap * cue_base + min(x, CUE_SATURATION)) if extra is not None else _vb(gap))
                parts.append(codes[idx])
                prev = idx
            name = files.register("fl", b"".join(parts).decode("ascii"))
            refs += [name[3:-3], files.sizes[name]]
        return refs, len(indexes)

    by_city = [[] for _ in cities]
    by_inst = [[] for _ in insts]
    inst_cues = [[] for _ in insts]  # per instrument list: each passage's number of its cues
    by_year = [[] for _ in years]
    for idx, p in enumerate(ordered):
        for c in set_keys[idx]:
            by_city[c].append(idx)
        m, i = masks[idx], 0
        if m:
            cues = p.get("cues") or {}
        while m:
            if m & 1:
                by_inst[i].append(idx)
                inst_cues[i].append(len(cues.get(insts[i]) or ()))
            m >>= 1
            i += 1
        by_year[year_code[doc_years[p["doc"]]]].append(idx)
    city_count = [len(k) for k in set_keys]  # rank: tag weight / number of the passage's cities
    city_entries = [[s, city_name.get(s, s), *facet_list(lst, [city_count[i] for i in lst])[::-1]]
                    for s, lst in zip(cities, by_city)]
    # rank: min(cues, CUE_SATURATION) / sqrt(number of its instruments)
    inst_entries = [[s, inst_label.get(s, s),
                     *facet_list(lst, [-(min(c, CUE_SATURATION) ** 2 / max(1, masks[i].bit_count()))
                                       for i, c in zip(lst, cues)], cues)[::-1]]
                    for s, lst, cues in zip(insts, by_inst, inst_cues)]
    year_entries = [[y, *facet_list(lst)[::-1]] for y, lst in zip(years, by_year)]
    del by_city, by_inst, inst_cues, by_year, set_keys, city_count

    # Document titles (facet labels, URL doc=<id>) and per-document codes (browsing one
    # document), DOC_CHUNK documents per numbered file.
    title_bodies, code_bodies = [], []
    start = 0
    for k in range(0, len(doc_ids), DOC_CHUNK):
        ids = doc_ids[k:k + DOC_CHUNK]
        title_bodies.append({
            "ids": ids, "titles": [str(_get(doc_by_id.get(d), "title") or d) for d in ids],
            "publishers": [str(_get(doc_by_id.get(d), "publisher") or "") for d in ids],
            "dates": [str(_get(doc_by_id.get(d), "date") or "") for d in ids],
            "types": [doc_types[d] for d in ids]})
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
        "maskTable": mask_buf.decode("ascii"),
        "cueBase": cue_base,
        "docCount": doc_counts.decode("ascii"),
        "docYT": doc_codes.decode("ascii"),
        "types": [[t, DOC_TYPE_LABELS.get(t, t), type_counts[t]] for t in types],
    })

    # ---- the query model's rules for the browser (kb.search is the reference)
    # the gazetteer, cut into chunks by surface (a query loads the chunks its characters need)
    gaz = entities.gazetteer(vocab) if hasattr(vocab, "instruments") else {}
    tables = entities.needle_tables(vocab, gaz) if gaz else {"names": {}, "cues": {}}
    ent_chunks = []
    for chunk in _cut(sorted(gaz.items(), key=lambda kv: utf16_key(kv[0])), LEX_BYTES,
                      lambda kv: len(_json(kv).encode("utf-8"))):
        name = files.register("ent", dict(chunk))
        ent_chunks.append([chunk[0][0], chunk[-1][0], name])
    # the snippet's needles of a city or instrument concept: city names in chunks by slug, each
    # instrument's cues in a file of its own (a query loads those of its concepts)
    name_chunks = []
    for chunk in _cut(sorted(tables["names"].items()), NAME_BYTES,
                      lambda kv: len(_json(kv).encode("utf-8"))):
        name_chunks.append([chunk[0][0], chunk[-1][0], files.register("sn", dict(chunk))])
    cue_files = {slug: files.register("sn", {slug: cues}) for slug, cues in sorted(tables["cues"].items())}
    rules_name = files.register("rules", {
        "ent": ent_chunks, "entMax": max((len(k) for k in gaz), default=0),
        "names": name_chunks, "cues": cue_files,
        "fw": squery.load_rules()["function_words"],
        "abbr": squery.load_rules()["abbreviations"],
        "rank": rank_constants(),
        "maxq": squery.MAX_QUERY_CHARS, "maxp": squery.MAX_PARTS,
        "snip": SNIPPET_CHARS,
    })

    # ---- postings: the word and gram layers are independent (one process each)…
    cvals = np.array(cvals, dtype=np.uint64)
    clen = np.frombuffer(clen, dtype=np.uint32).astype(np.int64) if n else np.zeros(0, np.int64)
    layer_args = dict(cvals=cvals, clen=clen, page0=page0, inline_max=inline_max,
                      chunk_bytes=chunk_bytes, tokens=tokens, previous=previous, cache=cache,
                      doc_keys=doc_keys)
    # ---- and the fragments (the texts for snippets) beside them, in the pool's first free process
    frag_args = dict(previous=previous, frag_size=frag_size, doc_rank=doc_rank, doc_by_id=doc_by_id,
                     doc_types=doc_types)
    *built, frags = fork_map(_write_part, [(root, "w", ordered, layer_args), (root, "g", ordered, layer_args),
                                           (root, "f", ordered, frag_args)], jobs)
    files.sizes.update(frags["sizes"])
    files.written += frags["written"]
    files.carried += frags["carried"]
    layer_dirs, page_files, chunk_sizes, n_chunks, n_terms, avgdl = {}, 0, [], {}, {}, []
    docs_cached = 0
    charset = set()
    for layer, res in zip(("w", "g"), built):
        files.sizes.update(res["sizes"])
        files.written += res["written"]
        files.carried += res["carried"]
        layer_dirs[layer] = res["dir"]
        page_files += res["pages"]
        chunk_sizes += res["chunk_sizes"]
        n_chunks[layer] = res["n_chunks"]
        n_terms[layer] = res["n_terms"]
        docs_cached += res["docs_cached"]
        avgdl.append(res["avgdl"])
        charset |= res["chars"]
    if build_stats is not None:
        build_stats["terms_cached"] = docs_cached
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

    frag_dirs, n_groups = frags["dirs"], frags["count"]

    # ---- browser scripts and stylesheet (content-hashed copies)
    script_names = []
    for fname in JS_FILES:
        data = compact_js((JS_DIR / fname).read_text(encoding="utf-8")).encode("utf-8")
        script_names.append(files.write(f"{fname[:-3]}.{_hash(data)}.js", data))
    css = compact_css((JS_DIR / CSS_FILE).read_text(encoding="utf-8")).encode("utf-8")
    css_name = files.write(f"{CSS_FILE[:-4]}.{_hash(css)}.css", css)

    meta_name = files.register("meta", {
        "v": FORMAT, "N": n, "k1": K1, "b": B, "avgdl": avgdl, "maxw": maxw,
        "page0": page0, "budget": budget, "tagBudget": tag_budget, "totalBudget": total_budget,
        "lex": lex_dirs, "w": layer_dirs["w"], "g": layer_dirs["g"],
        "facets": facets_name, "t2s": t2s_name, "rules": rules_name,
        "frag": {"dirs": frag_dirs, "block": FRAG_BLOCK, "size": frag_size, "count": n_groups},
        "docs": {"titles": titles_dir, "codes": codes_dir, "size": DOC_CHUNK,
                 "count": -(-len(doc_ids) // DOC_CHUNK)},
    })

    _remove_stale(root, set(files.sizes))
    sizes = sorted(chunk_sizes)
    stats = {
        "passages": n, "documents": len(doc_ids), "terms": n_terms,
        "files": len(files.sizes),
        "files_written": files.written,  # the others were unchanged (kept or carried over)
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
        "city_sets": len(freq),
    }
    # meta registers into KB (defined by kb-core) and must be there before kb-search-ui starts
    scripts = script_names[:-1] + [meta_name, script_names[-1]]
    result = {"scripts": [f"search/{s}" for s in scripts],
              "styles": [f"search/{css_name}"], "stats": stats}
    if cache:
        _remember(Path(cache), digest or _inputs_digest(ordered, documents, vocab, params, doc_keys),
                  result, files.sizes)
    return result


_REUSE_DIR = "static-index"  # in the build cache: the inputs digest and file list of the last index


def _inputs_digest(ordered, documents, vocab, params, doc_keys=None):
    """Hash of everything the index is made of, or None when the vocabulary has no version.
    Code: every module of kb/ and every browser script, so any change recomputes."""
    version = getattr(vocab, "version", None)
    if not version:
        return None
    kb_dir = Path(__file__).resolve().parent.parent
    code = files_digest(sorted([*kb_dir.rglob("*.py"), *JS_DIR.parent.rglob("*")]), kb_dir.parent)
    h = hashlib.sha256()
    h.update(json.dumps([code, package_versions("rjieba", "opencc"), version, params], sort_keys=True).encode())
    groups = _doc_groups(ordered)
    if doc_keys and all(doc_keys.get(d) for d, _a, _b in groups):
        # each document's key fixes its passages (and tokens): hash the keys, not the passages
        passages = [[d, b - a, doc_keys[d]] for d, a, b in groups]
    else:
        passages = ordered
    h.update(json.dumps([passages, documents], ensure_ascii=False, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _remember(cache, digest, result, sizes):
    """Keep the digest, the result and the file list of this index (only the last one)."""
    folder = cache / _REUSE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink(missing_ok=True)
    write_text(folder / f"{digest}.json", json.dumps({"result": result, "sizes": sizes}, ensure_ascii=False))


def _reuse(cache, digest, previous, root):
    """Link every file of the last index into ``root`` when its inputs digest is ``digest``
    and ``previous`` still holds all its files (names are content hashes: same name and size
    is the same file, unless it was modified since); returns its result, or None to compute it."""
    entry = cache / _REUSE_DIR / f"{digest}.json"
    try:
        saved = json.loads(entry.read_text(encoding="utf-8"))
        saved_ns = entry.stat().st_mtime_ns
    except (OSError, ValueError):
        return None
    made = set()
    for name, size in saved["sizes"].items():
        src, dst = previous / name, root / name
        try:
            st = src.stat()
            if st.st_size != size or st.st_mtime_ns > saved_ns:  # (edited after this index was made)
                return None
            if "/" in name and dst.parent not in made:
                dst.parent.mkdir(parents=True, exist_ok=True)
                made.add(dst.parent)
            link_or_copy(src, dst)
        except OSError:
            return None
    _remove_stale(root, set(saved["sizes"]))
    result = saved["result"]
    result["stats"]["files_written"] = 0
    return result


def compact_js(text):
    """Our scripts without comments and needless whitespace (rjsmin: behaviour unchanged)."""
    return rjsmin.jsmin(text) + "\n"


def compact_css(text):
    """Our stylesheets without comments, indentation, blank lines, the space after a colon and
    the line breaks after ``{ ; , }`` or before ``}`` (whitespace CSS ignores there; the
    stylesheets hold no strings with a colon, brace or comment in them)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = ""
    for line in text.splitlines():
        line = re.sub(r"\s*([{;])\s*", r"\1", line.strip().replace(": ", ":"))
        if line:
            out += ("" if not out or out[-1] in "{;,}" or line[0] == "}" else "\n") + line
    return out + "\n"


def _remove_stale(root, keep):
    """Delete index files of an earlier build (only names this module writes)."""
    keep_dirs = {k.split("/", 1)[0] for k in keep if "/" in k}
    with os.scandir(root) as it:
        entries = list(it)
    for e in entries:
        rel = e.name
        if rel in keep or rel in keep_dirs:
            continue
        if e.is_dir() and _OWN_DIR_RE.match(rel):
            shutil.rmtree(e.path)
        elif e.is_file() and _OWN_FILE_RE.match(rel):
            os.unlink(e.path)
