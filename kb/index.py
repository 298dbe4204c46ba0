"""Stage — index: tagged passages -> a Whoosh index (BM25F) for command-line search.

Fields: ``text`` (jieba search-mode words with positions, stored), ``grams``
(character bigrams for recall), ``section`` (heading trail words), and the
filter fields ``cities``, ``instruments``, ``year``, ``years``, ``doc``.
Whoosh pickles the analyzers into the schema, so they live in this importable
module.

The index can be updated in place: passages of changed or removed documents are
deleted by document id and the new ones added (``update_index``).
"""

import contextlib
import hashlib
import random
import shutil
from pathlib import Path

from whoosh import fields, index
from whoosh.analysis import Token, Tokenizer

from . import analysis
from .search.rank import CUE_SATURATION
from .parallel import can_fork, fork_map

INDEX_NAME = "MAIN"
SCHEMA_VERSION = "4"  # bump when fields or analysis change incompatibly


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
        text=fields.TEXT(analyzer=WordTokenizer(), stored=True, phrase=True, field_boost=2.0),
        grams=fields.TEXT(analyzer=GramTokenizer(), phrase=True),
        section=fields.TEXT(analyzer=WordTokenizer(), stored=True, phrase=False, field_boost=0.5),
        cities=fields.KEYWORD(stored=True, commas=True),
        instruments=fields.KEYWORD(stored=True, commas=True),
        year=fields.ID(stored=True),
        years=fields.KEYWORD(stored=True, commas=True),
    )


def _fields(passage, doc_types):
    text = passage["text"]
    words = analysis.word_tokens(text)
    grams = analysis.gram_tokens(text)
    return dict(
        id=passage["id"],
        doc=passage["doc"],
        type=(doc_types or {}).get(passage["doc"]) or "",
        position=passage["position"],
        dlw=len(words),
        dlg=len(grams),
        ncities=len(passage["cities"]),
        ninst=len(passage["instruments"]),
        cuecounts=",".join(f"{slug}:{min(len((passage.get('cues') or {}).get(slug) or ()), CUE_SATURATION)}"
                           for slug in passage["instruments"]),
        text=text,
        grams=text,
        section=" › ".join(passage["section"]),
        cities=",".join(passage["cities"]),
        instruments=",".join(passage["instruments"]),
        year=str(passage["year"]),
        years=",".join(str(y) for y in passage["years"]),
    )


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


def _add(writer, passages, doc_types=None):
    for passage in passages:
        writer.add_document(**_fields(passage, doc_types))


def build_index(passages, index_dir, progress=None, jobs=1, doc_types=None):
    """Create a fresh index in ``index_dir`` holding ``passages`` (in the given order).

    With ``jobs`` > 1 (and the fork start method), contiguous shards of the
    passages are indexed in parallel worker processes, each writing its own
    segment into the same directory; the parent then commits one table of
    contents listing every segment (what Whoosh's multisegment writer does, minus
    shipping each document through a queue)."""
    index_dir = Path(index_dir)
    if index_dir.exists():
        shutil.rmtree(index_dir)
    index_dir.mkdir(parents=True)
    seed = "\n".join(p["id"] for p in passages)
    with _seeded_names(seed):
        ix = index.create_in(str(index_dir), schema(), indexname=INDEX_NAME)
        writer = ix.writer(limitmb=256, compound=False)
        shards = _shards(passages, jobs)
        if len(shards) < 2:
            _add(writer, passages if progress is None else progress(passages), doc_types)
            writer.commit()
            return index_dir
        segments = fork_map(_index_shard, [(ix, shard, f"{seed}|shard{k}", doc_types)
                                           for k, shard in enumerate(shards)], jobs)
        writer._close_segment()
        writer._commit_toc(segments)
        writer._finish()
    return index_dir


MIN_SHARD = 2000  # passages; below this one process is faster than forking


def _shards(passages, jobs):
    if jobs < 2 or len(passages) < 2 * MIN_SHARD or not can_fork():
        return [passages]
    size = -(-len(passages) // jobs)
    return [passages[i:i + size] for i in range(0, len(passages), size)]


def _index_shard(ix, passages, seed, doc_types=None):
    """Worker: index one shard into its own segment (the parent holds the lock)."""
    from whoosh.writing import SegmentWriter

    with _seeded_names(seed):
        writer = SegmentWriter(ix, _lk=False, limitmb=256, compound=False)
        _add(writer, passages, doc_types)
        return writer._finalize_segment()


def update_index(index_dir, passages_by_doc, removed_docs=(), doc_types=None):
    """Replace the passages of the documents in ``passages_by_doc`` and delete
    ``removed_docs``; other documents' postings are left as they are."""
    ix = index.open_dir(str(index_dir), indexname=INDEX_NAME)
    seed = "\n".join(p["id"] for ps in passages_by_doc.values() for p in ps) + "|" + ",".join(removed_docs)
    with _seeded_names(seed):
        writer = ix.writer(limitmb=128, compound=False)
        for doc_id in sorted(set(passages_by_doc) | set(removed_docs)):
            writer.delete_by_term("doc", doc_id)
        for doc_id in sorted(passages_by_doc):
            _add(writer, passages_by_doc[doc_id], doc_types)
        writer.commit()


def open_index(index_dir):
    index_dir = Path(index_dir)
    if not index.exists_in(str(index_dir), indexname=INDEX_NAME):
        return None
    return index.open_dir(str(index_dir), indexname=INDEX_NAME)
