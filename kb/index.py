"""Stage — index: tagged passages -> a Whoosh index (BM25F) for command-line search.

What :mod:`kb.search.whoosh_source` reads, and nothing more: ``text`` (word layer, jieba
search-mode words with positions, stored for the CLI) and ``grams`` (character bigrams with
positions), the exact layer lengths ``dlw``/``dlg`` and the tag counts ``ncities``/``ninst``
(sortable columns), ``cuecounts`` (distinct cues per tagged instrument), ``doc``/``position``
(document order), the filter fields ``cities``,
``instruments``, ``year``, ``type``, ``doc``, and the stored ``id``/``section`` the CLI prints.
Whoosh pickles the field types and analyzers into the schema, so they live in this
importable module.

Speed: the two layers are not analysed here. :func:`kb.analysis.passage_tokens` cuts each
passage once, in the cached per-document analysis stage, and the ``text``/``grams`` fields
(:class:`TokenText`) index those (term, position) pairs as given. In a build, the two layers'
postings of TOKEN_BATCH passages at a time are grouped by one numpy sort
(:class:`_TokenBatch`) rather than a dictionary per passage. Postings are gathered
in memory per segment (:class:`_Postings`, instead of Whoosh's pool, which pickles every
posting to sorted runs on disk and merges them) and handed to Whoosh's own codec writer in
term order with the exact field lengths; a segment holds at most SEGMENT_PASSAGES
passages (bounded memory), and contiguous shards of segments are written by parallel
worker processes (jobs > 1) into the same index, listed by one table of contents.

The index can be updated in place: passages of changed or removed documents are
deleted by document id and the new ones added (``update_index``).
"""

import contextlib
import hashlib
import re
import itertools
import operator
import random
import shutil
from pathlib import Path

from pickle import dumps

from whoosh import fields, formats, index
from whoosh.system import pack_uint
from whoosh.analysis import Token, Tokenizer

from . import analysis
from .search.rank import CUE_SATURATION
from .parallel import can_fork, fork_map

INDEX_NAME = "MAIN"
# bump when fields or analysis change incompatibly; the cue counts are stored capped at
# CUE_SATURATION, so the schema changes with it
SCHEMA_VERSION = f"6.{CUE_SATURATION}"


class _LayerTokenizer(Tokenizer):
    """Whoosh tokenizer over one of kb.analysis's token layers."""

    layer = "words"

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self).__name__)

    def _tokens(self, value):
        if self.layer == "words":
            return analysis.word_tokens(value)
        return analysis.gram_tokens(value)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True,
                 mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        for term, pos, start, end in self._tokens(value):
            token.text = term
            token.boost = 1.0
            if keeporiginal:
                token.original = term
            token.stopped = False
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


class WordTokenizer(_LayerTokenizer):
    layer = "words"


class GramTokenizer(_LayerTokenizer):
    layer = "grams"


def _positions_by_term(pairs):
    """{term: [positions]} of (term, position) pairs, terms in first-seen order."""
    per = {}
    for term, pos in pairs:
        lst = per.get(term)
        if lst is None:
            per[term] = [pos]
        else:
            lst.append(pos)
    return per


class TokenText(fields.TEXT):
    """A TEXT field with positions that indexes a list of (term, position) pairs as given
    (the tokens :func:`kb.analysis.passage_tokens` cached); a string is analysed by the
    field's analyzer as usual. Postings are the same as analysing the text."""

    def index(self, value, **kwargs):
        if isinstance(value, str):
            return super().index(value, **kwargs)
        per = _positions_by_term(value)
        fb = self.format.field_boost
        encode = self.format.encode
        single = _SINGLE
        out = []
        for term, ps in per.items():
            if len(ps) == 1:
                vbytes = single.get(ps[0])
                if vbytes is None:
                    vbytes = single[ps[0]] = encode(ps)
            else:
                vbytes = encode(ps)
            out.append((term.encode("utf-8"), len(ps), len(ps) * fb, vbytes))
        return out


_SINGLE = {}  # position -> encoded one-position posting value (shared bytes objects)


def schema():
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        doc=fields.ID(stored=True, sortable=True),
        type=fields.ID(stored=True),
        position=fields.NUMERIC(stored=True, sortable=True),
        # exact field lengths of the two layers (Whoosh's own are one lossy byte); the query
        # model (kb.search.rank) needs the same numbers as the static index
        dlw=fields.NUMERIC(sortable=True),
        dlg=fields.NUMERIC(sortable=True),
        # how many subject cities / instruments the passage has (kb.search.rank weighs tags by them)
        ncities=fields.NUMERIC(sortable=True),
        ninst=fields.NUMERIC(sortable=True),
        # "<instrument>:<distinct cues, at most CUE_SATURATION>" per instrument of the passage
        cuecounts=fields.KEYWORD(commas=True),
        text=TokenText(analyzer=WordTokenizer(), stored=True, phrase=True, field_boost=2.0),
        grams=TokenText(analyzer=GramTokenizer(), phrase=True),
        section=fields.STORED(),  # printed by the CLI, never searched
        cities=fields.KEYWORD(stored=True, commas=True),
        instruments=fields.KEYWORD(stored=True, commas=True),
        year=fields.ID(stored=True),
    )


def _fields(passage, doc_types, tokens=None, pairs=True):
    """The field values of a passage. With ``pairs`` the token fields hold (term, position)
    pairs (what :class:`TokenText` indexes); without, ``text`` holds (word terms, word
    positions) and ``grams`` the packed runs the gram layer is cut from, for
    :class:`_TokenBatch`."""
    text = passage["text"]
    packed = tokens.get(passage["id"]) if tokens else None
    if packed is None:
        packed = analysis.passage_tokens(text)
    wterms = packed[0].split(analysis._SEP) if packed[0] else []
    gterms = gram_terms(packed[2]) if pairs else None
    return dict(
        id=passage["id"],
        doc=passage["doc"],
        type=(doc_types or {}).get(passage["doc"]) or "",
        position=passage["position"],
        dlw=len(wterms),
        dlg=len(gterms) if pairs else gram_count(packed[2]),
        ncities=len(passage["cities"]),
        ninst=len(passage["instruments"]),
        cuecounts=",".join(f"{slug}:{min(len((passage.get('cues') or {}).get(slug) or ()), CUE_SATURATION)}"
                           for slug in passage["instruments"]),
        text=list(zip(wterms, packed[1])) if pairs else (wterms, packed[1]),
        _stored_text=text,
        grams=list(zip(gterms, range(len(gterms)))) if pairs else packed[2],
        section=" › ".join(passage["section"]),
        cities=",".join(passage["cities"]),
        instruments=",".join(passage["instruments"]),
        year=str(passage["year"]),
    )


def gram_count(runs):
    """``len(gram_terms(runs))`` without cutting: a CJK run gives one gram per character,
    an ASCII run (ASCII characters only, as :data:`kb.analysis._RUN_RE` cuts them) one."""
    if not runs:
        return 0
    seps = runs.count(analysis._SEP)
    ascii_chars = len(runs.encode("ascii", "ignore")) - seps
    return len(runs) - seps - ascii_chars + len(_ASCII_RUN_START.findall(runs))


_ASCII_RUN_START = re.compile("(?:^|%s)[\x00-\x7f]" % analysis._SEP)


def gram_terms(runs):
    """The gram-layer terms of the runs packed by :func:`kb.analysis.passage_tokens` (as
    :func:`kb.analysis.grams_of` lists them, without positions): every CJK run's bigrams
    then its last character, every ASCII run whole."""
    if not runs:
        return []
    terms = []
    add = str.__add__
    for run in runs.split(analysis._SEP):
        if "\u3400" <= run[0]:
            terms += map(add, run, run[1:])
            terms.append(run[-1])
        else:
            terms.append(run)
    return terms


class _Postings:
    """Stands in for Whoosh's PostingPool in one segment writer: postings gathered per
    field and term in memory, in document order, instead of pickled to sorted runs on disk
    and merged back: ``fields[field][term bytes]`` is ``(docnums, weights, values)``, three
    lists. ``lengths[field][docnum]`` are the exact field lengths (the segment's documents
    are numbered from 0)."""

    def __init__(self):
        self.fields = {}
        self.lengths = {"text": [], "grams": []}

    def add(self, item):
        fieldname, tbytes, docnum, weight, vbytes = item
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = {}
        lists = terms.get(tbytes)
        if lists is None:
            terms[tbytes] = ([docnum], [weight], [vbytes or b""])
        else:
            lists[0].append(docnum)
            lists[1].append(weight)
            lists[2].append(vbytes or b"")

    def _sorted(self):
        """(field, term, (docnums, weights, values) in document order), sorted."""
        for fieldname in sorted(self.fields):
            terms = self.fields[fieldname]
            for tbytes in sorted(terms):
                lists = terms[tbytes]
                docs = lists[0]
                if any(map(operator.gt, docs, docs[1:])):  # merged segments
                    triples = sorted(zip(*lists), key=lambda t: t[0])
                    lists = tuple(list(column) for column in zip(*triples))
                yield fieldname, tbytes, lists

    def iter_postings(self):
        """Whoosh's interface (a writer's own commit, merges): sorted posting tuples."""
        for fieldname, tbytes, (docs, weights, values) in self._sorted():
            for docnum, weight, vbytes in zip(docs, weights, values):
                yield fieldname, tbytes, docnum, weight, vbytes

    def write(self, fieldwriter, schema):
        """Every posting, in field and term order, through Whoosh's codec field writer."""
        lastfn = None
        for fieldname, tbytes, lists in self._sorted():
            if fieldname != lastfn:
                if lastfn is not None:
                    fieldwriter.finish_field()
                fieldwriter.start_field(fieldname, schema[fieldname])
                lastfn = fieldname
                lengths = self.lengths.get(fieldname)
            fieldwriter.start_term(tbytes)
            postwriter = getattr(fieldwriter, "_postwriter", None)
            if BULK and _can_bulk(postwriter):
                _add_bulk(postwriter, *lists, lengths)
            else:
                add = fieldwriter.add
                for docnum, weight, vbytes in zip(*lists):
                    add(docnum, weight, vbytes, lengths[docnum] if lengths else 0)
            fieldwriter.finish_term()
        if lastfn is not None:
            fieldwriter.finish_field()

    def cleanup(self):
        self.fields = {}


BULK = True  # fill whole posting blocks at once (tests compare with posting-by-posting adds)
_BLOCK_ATTRS = ("_blocklimit", "_ids", "_weights", "_values", "_minlength", "_maxlength",
                "_maxweight", "_write_block")


def _can_bulk(postwriter):
    return postwriter is not None and all(hasattr(postwriter, a) for a in _BLOCK_ATTRS)


def _add_bulk(pw, docnums, weights, values, lengths):
    """What Whoosh's W3PostingsWriter.add_posting does for each posting, a block at a
    time: buffer ids, weights, non-empty values and the block's statistics, writing a
    block whenever ``_blocklimit`` postings are buffered before more are added."""
    limit = pw._blocklimit
    for start in range(0, len(docnums), limit):
        if len(pw._ids) >= limit:
            pw._write_block()
        docs = docnums[start:start + limit]
        ws = weights[start:start + limit]
        pw._ids.extend(docs)
        pw._weights.extend(ws)
        pw._values.extend(filter(None, values[start:start + limit]))
        top = max(ws)
        if top > pw._maxweight:
            pw._maxweight = top
        if lengths:
            lens = list(filter(None, map(lengths.__getitem__, docs)))
            if lens:
                low, high = min(lens), max(lens)
                if pw._minlength is None or low < pw._minlength:
                    pw._minlength = low
                if high > pw._maxlength:
                    pw._maxlength = high


@contextlib.contextmanager
def _seeded_names(seed):
    """Whoosh names segments with random.choice; seed it so the same passages give
    the same file names (restoring the global random state afterwards)."""
    state = random.getstate()
    random.seed(hashlib.sha256(seed.encode("utf-8")).hexdigest())
    try:
        yield
    finally:
        random.setstate(state)


TOKEN_BATCH = 4000  # passages whose token-layer postings are gathered in one go


def _add(writer, passages, doc_types=None, tokens=None):
    pool = writer.pool
    direct = DIRECT and isinstance(pool, _Postings)
    memo = {}
    batch = _TokenBatch(writer.schema, pool) if direct else None
    for passage in passages:
        f = _fields(passage, doc_types, tokens, pairs=not direct)
        pool.lengths["text"].append(f["dlw"])
        pool.lengths["grams"].append(f["dlg"])
        if direct:
            batch.add(writer.docnum, f)
            _add_document(writer, f, memo)
            if len(batch) >= TOKEN_BATCH:
                batch.flush()
        else:
            writer.add_document(**f)
    if direct:
        batch.flush()


DIRECT = True  # _add_document instead of Whoosh's add_document (tests compare the two)
_UNIQUE = ("id", "position")  # fields whose values are not memoised (one per passage)


def _add_document(writer, fields, memo):
    """What Whoosh's ``SegmentWriter.add_document(**fields)`` does for a document of this
    schema (no boosts, vectors or spelling fields) into a :class:`_Postings` pool, with the
    postings and column values of the fields that repeat a value (doc, type, year, tags,
    lengths) computed once per value; the token layers' postings are left to the
    :class:`_TokenBatch` the document was added to (only their lengths are used here).
    Same calls to the per-document writer, in the same order: the same files."""
    writer._check_state()
    perdocwriter = writer.perdocwriter
    schema = writer.schema
    docnum = writer.docnum
    pool_fields = writer.pool.fields
    perdocwriter.start_doc(docnum)
    try:
        for fieldname in sorted(name for name in fields if not name.startswith("_")):
            value = fields[fieldname]
            if value is None:
                continue
            field = schema[fieldname]
            length = 0
            if isinstance(field, TokenText):
                if field.scorable:
                    length = fields["dlw"] if fieldname == "text" else fields["dlg"]
            elif field.indexed:
                terms = pool_fields.get(fieldname)
                if terms is None:
                    terms = pool_fields[fieldname] = {}
                key = (fieldname, value)
                items = memo.get(key) if fieldname not in _UNIQUE else None
                if items is None:
                    items = []
                    for tbytes, freq, weight, vbytes in field.index(value):
                        items.append((tbytes, freq, weight * 1.0, vbytes or b""))
                    if fieldname not in _UNIQUE:
                        memo[key] = items
                for tbytes, freq, weight, vbytes in items:
                    if field.scorable:
                        length += freq
                    lists = terms.get(tbytes)
                    if lists is None:
                        terms[tbytes] = ([docnum], [weight], [vbytes])
                    else:
                        lists[0].append(docnum)
                        lists[1].append(weight)
                        lists[2].append(vbytes)
            customval = fields.get("_stored_%s" % fieldname, value)
            perdocwriter.add_field(fieldname, field, customval if field.stored else None, length)
            column = field.column_type
            if column and customval is not None:
                if fieldname in _UNIQUE:
                    cv = field.to_column_value(customval)
                else:
                    ckey = ("column", fieldname, customval)
                    cv = memo.get(ckey)
                    if cv is None:
                        cv = memo[ckey] = field.to_column_value(customval)
                perdocwriter.add_column_value(fieldname, column, cv)
    except Exception:
        perdocwriter.cancel_doc()
        raise
    perdocwriter.finish_doc()
    writer._added = True
    writer.docnum += 1


class _TokenBatch:
    """The token layers' postings of a run of consecutive documents, gathered for all of
    them at once: every (term, document) pair's positions are grouped by one stable sort
    (numpy) instead of a dictionary per document, and each term's postings are appended
    to the pool in document order. The postings are those :meth:`TokenText.index` gives
    for each document: frequency, weight = frequency × field boost, and the format's
    encoding of the positions in token order."""

    def __init__(self, schema, pool):
        self.pool = pool
        self.layers = [(name, schema[name]) for name in ("grams", "text")]
        self._reset()

    def _reset(self):
        self.docnums, self.words, self.wpos, self.grams = [], [], [], []

    def __len__(self):
        return len(self.docnums)

    def add(self, docnum, fields):
        wterms, wpos = fields["text"]
        self.docnums.append(docnum)
        self.words.append(wterms)
        self.wpos.append(wpos)
        self.grams.append(fields["grams"])

    def flush(self):
        if not self.docnums:
            return
        for name, field in self.layers:
            terms = self.pool.fields.get(name)
            if terms is None:
                terms = self.pool.fields[name] = {}
            if not field.scorable:
                continue
            if name == "text":
                _group_postings(terms, field, self.docnums, *_word_tokens(self.words, self.wpos))
            else:
                _group_postings(terms, field, self.docnums, *_gram_tokens(self.grams))
        self._reset()


def _word_tokens(term_lists, pos_lists):
    """(keys, document, position, name of a key) of every word token of the documents."""
    import numpy as np

    counts = np.fromiter(map(len, term_lists), dtype=np.int64, count=len(term_lists))
    total = int(counts.sum())
    flat = list(itertools.chain.from_iterable(term_lists))
    vocab = dict.fromkeys(flat)
    for i, term in enumerate(vocab):
        vocab[term] = i
    keys = np.fromiter(map(vocab.__getitem__, flat), dtype=np.int64, count=total)
    local = np.repeat(np.arange(len(term_lists), dtype=np.int64), counts)
    pos = np.fromiter(itertools.chain.from_iterable(pos_lists), dtype=np.int64, count=total)
    return keys, local, pos, list(vocab).__getitem__


_CHAR_BITS = 21  # a code point fits in 21 bits
_ASCII_KEYS = 1 << (2 * _CHAR_BITS)  # keys of ASCII runs start here
_DOC_SEP = "\x1e"  # between documents' runs (no run holds it)


def _gram_tokens(runs_list):
    """(keys, document, position, name of a key) of every gram token of the documents whose
    packed runs (:func:`kb.analysis.passage_tokens`) are ``runs_list``, cut from the code
    points at once, in :func:`gram_terms` order: a CJK character is the key of itself and
    the next character of its run (c1 << 21 | c2), or of itself alone (c1 << 21) at the
    end of its run; an ASCII run is one key from _ASCII_KEYS on."""
    import numpy as np

    joined = _DOC_SEP.join(runs_list)
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    n = len(cps)
    doc_sep = cps == ord(_DOC_SEP)
    sep = doc_sep | (cps == ord(analysis._SEP))
    start = np.ones(n, dtype=bool)
    start[1:] = sep[:-1]
    start &= ~sep  # the first character of a run
    if not start.any():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, None
    run = np.cumsum(start) - 1
    cjk_run = cps[start] >= 0x3400
    cjk = ~sep & cjk_run[run] if n else start
    ascii_start = start & ~cjk
    same_run = np.zeros(n, dtype=bool)  # the next character is in the same run
    same_run[:-1] = ~sep[1:]
    nxt = np.zeros(n, dtype=np.int64)
    nxt[:-1] = cps[1:]
    keys = (cps << _CHAR_BITS) | np.where(same_run, nxt, 0)
    names = [r for r in re.split("[%s%s]" % (_DOC_SEP, analysis._SEP), joined) if r and r[0] < "\u3400"]
    ids = dict.fromkeys(names)
    for i, name in enumerate(ids):
        ids[name] = i
    keys[ascii_start] = _ASCII_KEYS + np.fromiter(map(ids.__getitem__, names), dtype=np.int64,
                                                  count=len(names))
    token = np.flatnonzero(cjk | ascii_start)
    local = np.cumsum(doc_sep)[token]
    counts = np.bincount(local, minlength=len(runs_list))
    pos = np.arange(len(token), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    ascii_names = list(ids)

    def name(key):
        if key >= _ASCII_KEYS:
            return ascii_names[key - _ASCII_KEYS]
        c1, c2 = key >> _CHAR_BITS, key & ((1 << _CHAR_BITS) - 1)
        return chr(c1) + chr(c2) if c2 else chr(c1)

    return keys[token], local, pos, name


def _single_values(encode, top):
    """``_SINGLE_LIST[p]``: the encoded one-position posting value of position ``p``, for
    every p up to ``top`` (shared bytes objects, extended as needed)."""
    have = len(_SINGLE_LIST)
    if top >= have:
        _SINGLE_LIST.extend(encode([p]) for p in range(have, top + 1))
    return _SINGLE_LIST


_SINGLE_LIST = []


def _group_postings(terms, field, docnums, keys, local, pos, name):
    """Append to ``terms`` (a :class:`_Postings` field) the postings of documents
    ``docnums`` (ascending) given their tokens in order: term ``keys`` (``name(key)`` is
    the term), index of the document in ``docnums`` (``local``) and position ``pos``."""
    import numpy as np

    total = len(keys)
    if not total:
        return
    ids = keys
    ndocs = len(docnums)
    key = ids * ndocs + local  # keys are below 2**43: no overflow for batches under 2**20
    order = np.argsort(key, kind="stable")  # token order kept within a (term, document)
    key, pos = key[order], pos[order]
    first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    freq = np.diff(np.append(first, total))
    gkey = key[first]
    gterm, gdoc = np.divmod(gkey, ndocs)
    encode = field.format.encode
    single = _single_values(encode, int(pos.max()))
    values = list(map(single.__getitem__, pos[first].tolist()))
    multi = np.flatnonzero(freq > 1)
    if len(multi):
        if type(field.format) is formats.Positions:  # its encoding, with the deltas taken at once
            deltas = np.diff(pos, prepend=0)
            deltas[first] = pos[first]
            dlist = deltas.tolist()
            for g, a, n in zip(multi.tolist(), first[multi].tolist(), freq[multi].tolist()):
                values[g] = pack_uint(n) + dumps(dlist[a:a + n], 2)
        else:
            plist = pos.tolist()
            for g, a, n in zip(multi.tolist(), first[multi].tolist(), freq[multi].tolist()):
                values[g] = encode(plist[a:a + n])
    docs = np.asarray(docnums, dtype=np.int64)[gdoc].tolist()
    weights = (freq * (field.format.field_boost * 1.0)).tolist()
    bounds = np.flatnonzero(np.concatenate(([True], gterm[1:] != gterm[:-1]))).tolist()
    bounds.append(len(gterm))
    for a, b, tid in zip(bounds, bounds[1:], gterm[bounds[:-1]].tolist()):
        tbytes = name(tid).encode("utf-8")
        lists = terms.get(tbytes)
        if lists is None:
            terms[tbytes] = (docs[a:b], weights[a:b], values[a:b])
        else:
            lists[0].extend(docs[a:b])
            lists[1].extend(weights[a:b])
            lists[2].extend(values[a:b])


SEGMENT_PASSAGES = 16_000  # passages per segment: bounds the postings held in memory
MIN_SHARD = 2000  # passages; below this one process is faster than forking


def build_index(passages, index_dir, progress=None, jobs=1, doc_types=None, tokens=None):
    """Create a fresh index in ``index_dir`` holding ``passages`` (in the given order).

    ``tokens``: passage id -> :func:`kb.analysis.passage_tokens` of its text (missing ones
    are computed). Segments of at most SEGMENT_PASSAGES passages are written; with
    ``jobs`` > 1 (and the fork start method), contiguous shards of them are written by
    parallel worker processes into the same directory, and this process commits one
    table of contents listing every segment in order."""
    index_dir = Path(index_dir)
    if index_dir.exists():
        shutil.rmtree(index_dir)
    index_dir.mkdir(parents=True)
    seed = "\n".join(p["id"] for p in passages)
    with _seeded_names(seed):
        ix = index.create_in(str(index_dir), schema(), indexname=INDEX_NAME)
        writer = ix.writer()  # holds the lock; its own segment stays empty
        shards = _shards(passages, jobs)
        calls = [(ix, shard, f"{seed}|shard{k}", doc_types, tokens,
                  progress if len(shards) == 1 else None)
                 for k, shard in enumerate(shards)]
        segments = [seg for segs in fork_map(_index_shard, calls, jobs) for seg in segs]
        writer._close_segment()
        writer._commit_toc(segments)
        writer._finish()
    return index_dir


def _shards(passages, jobs):
    if jobs < 2 or len(passages) < 2 * MIN_SHARD or not can_fork():
        return [passages]
    size = -(-len(passages) // jobs)
    return [passages[i:i + size] for i in range(0, len(passages), size)]


def _index_shard(ix, passages, seed, doc_types=None, tokens=None, progress=None):
    """Index one shard into segments of at most SEGMENT_PASSAGES passages (runs in a
    worker process when the build is parallel; the parent holds the lock)."""
    from whoosh.writing import SegmentWriter

    segments = []
    stream = iter(passages if progress is None else progress(passages))
    for k in range(0, max(1, len(passages)), SEGMENT_PASSAGES):
        with _seeded_names(f"{seed}|{k}"):
            writer = SegmentWriter(ix, _lk=False, compound=False)
            writer.pool = _Postings()
            _add(writer, itertools.islice(stream, SEGMENT_PASSAGES), doc_types, tokens)
            writer.perdocwriter.close()
            writer.pool.write(writer.fieldwriter, writer.schema)
            writer._close_segment()
            segments.append(writer.get_segment())
    return segments


def update_index(index_dir, passages_by_doc, removed_docs=(), doc_types=None, tokens=None):
    """Replace the passages of the documents in ``passages_by_doc`` and delete
    ``removed_docs``; other documents' postings are left as they are."""
    ix = index.open_dir(str(index_dir), indexname=INDEX_NAME)
    # the segments already there are part of the seed: the same passages written again (a
    # second change to every document) must not get the name of the segment they replace
    existing = sorted(s.segment_id() for s in ix._segments())
    seed = ("\n".join(p["id"] for ps in passages_by_doc.values() for p in ps) + "|" + ",".join(removed_docs)
            + "|" + ",".join(existing))
    with _seeded_names(seed):
        writer = ix.writer(compound=False)
        writer.pool = _Postings()
        for doc_id in sorted(set(passages_by_doc) | set(removed_docs)):
            writer.delete_by_term("doc", doc_id)
        for doc_id in sorted(passages_by_doc):
            _add(writer, passages_by_doc[doc_id], doc_types, tokens)
        writer.commit()


def open_index(index_dir):
    index_dir = Path(index_dir)
    if not index.exists_in(str(index_dir), indexname=INDEX_NAME):
        return None
    return index.open_dir(str(index_dir), indexname=INDEX_NAME)
