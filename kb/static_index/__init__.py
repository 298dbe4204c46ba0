"""Stage — static search index: tagged passages -> ``out_dir/search/`` for the in-browser search.

The browser search (``site_templates/static/js/kb-*.js``) needs no server: every index file
is a classic script ``KB.register("<name>", <JSON>);`` loaded by inserting a ``<script src>``
tag, which works from ``file://`` as well as over HTTP, with relative URLs only.

Layout (all names relative to ``search/``; ``<h>`` = the first 12 hex digits of the SHA-256 of
the file's JSON payload, so two builds of the same data are byte-identical and caches are safe;
``<kind>-<h>/<k>.js`` are numbered files whose folder is named by the hash of all of them, so
their names need no list anywhere — except the fragments, in folders of FRAG_BLOCK files each
named by the hash of its own files, listed in meta)::

    meta.<h>.js       loaded with the page (< 2 KB): "v" (format version, 5), N, avgdl per
                      layer, k1/b, the directory files of each layer (a chunk list, below),
                      other names
    lexd/wd/gd.<h>.js directories: the chunk list of DIR_ENTRIES chunks each
    lex.<h>.js        word vocabulary only (sorted terms), for longest-match query segmentation
    w.<h>.js          word-layer posting chunks (~CHUNK_BYTES): {"t": [terms], "e": [entries]}
    g.<h>.js          gram-layer posting chunks (same shape)
    p.<h>.js          one page of a long posting list (a string)
    facets.<h>.js     facet values [slug, label, count, [page hash, page bytes, …]], the code
                      tables (the SET_TABLE most frequent city sets, the MASK_TABLE most
                      frequent instrument masks), passages per document, per document
                      year code × number of types + type code (varints)
    rules.<h>.js      the query model's rules for the browser (see below)
    fl.<h>.js         a page of a facet list: passages having one city / instrument / year,
                      with their codes (browsing without a query, e.g. ?city=wuhan from a city
                      page, and the tagged passages of a query's city or instrument concept).
                      A city's or instrument's list is paged like a posting list, by tag
                      strength (1 / cities; min(cues, CUE_SATURATION) / √instruments): pages of
                      PAGE0, 2·PAGE0 … passages, strongest first, each in passage order; a
                      year's list is one page. Per passage: gap − 1 (an instrument's list:
                      (gap − 1) × cueBase + its distinct cues of it, at most CUE_SATURATION),
                      then its codes
    sn.<h>.js         snippet needles: a chunk of {city slug: name}, or one instrument's cues
                      (a query loads those of its city and instrument concepts)
    ent.<h>.js        a chunk of the query gazetteer (surface -> city / province / instrument)
    t2s.<h>.js        traditional -> simplified character map ("TSTS…")
    f-<h>/<j>.js      passage k (FRAG_SIZE 1): [id, url, document number, section trail, text,
                      document title, publisher, date, type], loaded only for the results shown;
                      file k is file j = k mod FRAG_BLOCK of the folder of block b = k div
                      FRAG_BLOCK, whose hash is characters 12b … 12b + 11 of meta's frag.dirs
                      (so a document added at the end renames only the last block's folder,
                      and the files of the others are linked from the previous build)
    dt-<h>/<k>.js     ids, titles, publishers, dates and types of documents k*DOC_CHUNK …
    dc-<h>/<k>.js     codes of those documents' passages (browsing one document)
    kb-*.<h>.js/css   the browser scripts (comment lines and indentation dropped) and stylesheet

A chunk list is ``{"k": [keys], "h": "<h><h>…"}``: file i (``<kind>.<h i>.js``, the hashes
run together) holds the terms from key i up to, not including, key i + 1; a key is the shortest
prefix of its chunk's first term that follows the previous chunk's last term (the first key is
""), so a term between two chunks is looked up, and not found, in the first.

Terms of both layers come from :mod:`kb.analysis` (``word_tokens``/``gram_tokens`` of each
passage text) — never another segmentation. Terms are sorted by UTF-16 code units (the
browser's string order) and cut into chunks of about CHUNK_BYTES by their entry sizes (any term
boundary can be a cut, so no single prefix collapses the chunking).

An entry is ``[df, "<postings>"]`` (inline) or ``[df, [[file, count, bytes], …]]`` (paged):
a posting list longer than INLINE_MAX bytes is ordered by BM25 impact (the tf/length part of
the score) and cut into pages of PAGE0, 2·PAGE0, 4·PAGE0 … postings, so a query fetches the
most relevant part of a very common term first. Inside a page, postings are in passage order.

In the browser a query fetches: the lexicon chunks for its segmentation, one directory and one
chunk per term, the first page of each paged term and of each of its concepts' facet lists
(always), then further pages best-first (page number, then size) while its posting pages fit in
``BUDGET`` bytes, its facet-list pages in ``TAG_BUDGET`` and both together in ``TOTAL_BUDGET``
(first pages included: this caps a query's bytes; the result is then marked partial: "至少 N
条结果" and a button loads everything); facets, t2s and the fragments of the 20 results shown.
A query with a facet filter fetches every page (filters apply to the whole result set).

Postings are one string of base-32 variable-length integers (``TERM`` digits end a number,
``CONT`` digits continue it, most significant first); per posting: passage-number gap − 1,
the passage's codes, field length of the layer, tf − 1, then tf positions (first absolute,
then gaps ≥ 0). Codes (format 4, :class:`codec.Codes`): a city-set value v (v < K: set v of
the facets' table of the K most frequent sets; else v − K cities follow: the first city code,
then gaps − 1), then an instrument value m (m < M: mask m of the table of the M most frequent
masks; else the bit mask m − M). The codes and field length are inlined in every posting so
the browser can rank and count facets for the postings it fetched without a per-passage
table (which would be megabytes at 300,000 passages), and without a table of every city set
(5,714 sets, 47 KB at 1,000 synthetic documents, before format 4); passage → document comes
from the per-document passage counts (passages are numbered in document order).

Query semantics are not defined here: :mod:`kb.search` is the one query model (parse, concepts,
ranking, snippets); its rules file (``rules.<h>.js``: gazetteer, function words, ranking
constants, caps) is written into the index, and the browser (``kb-query.js``, ``kb-rank.js``,
``kb-snippet.js``) executes the same model. :class:`StaticIndex` (``reader.py``) serves these
files to :func:`kb.search.rank.rank` the way the browser reads them.

Modules: ``codec`` (varints, posting strings), ``writer`` (the layout above), ``postings``
(the posting lists of a layer, collected and encoded over numpy arrays; per-document token
numberings the writer caches by the analysis key), ``reader`` (:class:`StaticIndex`), ``t2s``
(the traditional → simplified map).
"""

from .codec import (Codes, decode_city_sets, decode_doc_codes, decode_facet_list, decode_postings,  # noqa: F401
                    decode_varints,
                    utf16_key, varint)
from .reader import StaticIndex, read_register  # noqa: F401
from .writer import (BUDGET, CHUNK_BYTES, CSS_FILE, DOC_TYPE_LABELS, FRAG_BLOCK, FRAG_SIZE, INLINE_MAX,  # noqa: F401
                     JS_DIR, JS_FILES, PAGE0, compact_css, compact_js, write_static_index)
