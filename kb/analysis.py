"""Text analysis shared by the Whoosh index, the static browser index and the CLI.

Two layers of terms are produced from the same normalised text:

* **words** — jieba (the Rust implementation ``rjieba``, identical segmentation)
  in *search mode* with the domain user dictionary ``kb/data/userdict.txt``.
  Every default-mode word gets a position 0, 1, 2…; the shorter dictionary words
  search mode adds inside a long word share the position of that word, so quoted
  phrases match on consecutive positions.
* **grams** — overlapping character bigrams of every CJK run, plus the last
  character of each run as a unigram (so a one-character query is a prefix
  query over this layer), and ASCII/digit runs as whole tokens. Positions are
  ordinals, so a query's bigrams as a phrase means "this exact substring".

Normalisation (index and query alike) is length-preserving so character
offsets stay valid for highlighting: full-width ASCII -> ASCII, traditional ->
simplified (OpenCC t2s), lower case.

Both layers are cut from the *folded* text (:func:`fold_variants`): a bracketed
one- or two-character CJK insertion right after a CJK character loses its brackets,
so 首台(套), 首批（次） and 首版(次) are indexed (and queried) as 首台套, 首批次, 首版次.
Token offsets are mapped back to the unfolded text.

:func:`passage_tokens` packs both layers of a passage (terms and positions, no offsets:
what the indexes store) into a compact value that the analysis stage computes once per
document and caches; :func:`words_of` and :func:`grams_of` unpack it for the Whoosh index
and the static index, so no passage is segmented twice.
"""

import functools
import re
from array import array
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
USERDICT = DATA_DIR / "userdict.txt"

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN_RE = re.compile(rf"[{CJK}]+|[a-z0-9]+(?:[.%][a-z0-9]+)*")
_WORDCHAR_RE = re.compile(rf"[{CJK}a-z0-9]")
# Characters jieba's own regex keeps inside one block; dictionary words with any
# other character (首台(套)) are matched by a separate pass.
_JIEBA_BLOCK_RE = re.compile(r"^[\u4e00-\u9fd5a-zA-Z0-9+#&._%\-]+$")


@functools.lru_cache(maxsize=1)
def _opencc():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text):
    """Traditional -> simplified, keeping the length (falls back to per-character)."""
    if not text:
        return text
    converted = _opencc().convert(text)
    if len(converted) == len(text):
        return converted
    conv = _opencc().convert
    return "".join(c if len(c2 := conv(c)) != 1 else c2 for c in text)


def normalize(text):
    """Length-preserving normalisation applied to indexed text and to queries."""
    return to_simplified(text.translate(_FULLWIDTH)).lower()


# Bracketed variants: 首台(套) -> 首台套. Applied after normalize (brackets are ASCII then).
_VARIANT_RE = re.compile(rf"(?<=[{CJK}])\(([{CJK}]{{1,2}})\)")


def fold_variants(norm):
    """(folded text, offsets): ``norm`` with the brackets of short CJK insertions removed;
    ``offsets[i]`` is the index in ``norm`` of folded character ``i`` (plus one entry for
    the end)."""
    if "(" not in norm:
        return norm, None
    out, offsets, last = [], [], 0
    for m in _VARIANT_RE.finditer(norm):
        out.append(norm[last:m.start()])
        offsets.extend(range(last, m.start()))
        out.append(m.group(1))
        offsets.extend(range(m.start(1), m.end(1)))
        last = m.end()
    if not out:
        return norm, None
    out.append(norm[last:])
    offsets.extend(range(last, len(norm) + 1))
    return "".join(out), offsets


def unfold_span(norm, offsets, start, end):
    """The span of ``norm`` under folded characters [start, end): a closing bracket that
    folding dropped right after the span belongs to it (首台套 -> 首台(套))."""
    if offsets is None:
        return start, end
    s, e = offsets[start], offsets[end - 1] + 1
    if offsets[end] > e and norm[e:e + 1] == ")":
        e += 1
    return s, e


def _unfold(tokens, norm, offsets):
    if offsets is None:
        return tokens
    return [(t, p, *unfold_span(norm, offsets, s, e)) for t, p, s, e in tokens]


# --------------------------------------------------------------------------- jieba


def read_userdict(path=USERDICT):
    """Entries of a jieba-format user dictionary: ``word [freq] [tag]`` per line."""
    entries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        word = fold_variants(normalize(parts[0]))[0]
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[2] if len(parts) > 2 else None
        entries.append((word, freq, tag))
    return entries


_LOADED = {}


def segmenter(userdict=USERDICT):
    """The rjieba module with the user dictionary loaded (once per process).

    Returns (rjieba, special_words) where special_words are dictionary words that
    jieba's block regex would split (they contain brackets etc.)."""
    key = str(userdict)
    if key not in _LOADED:
        import rjieba

        special = []
        for word, freq, tag in read_userdict(userdict):
            if _JIEBA_BLOCK_RE.match(word):
                rjieba.add_word(word, freq, tag)
            else:
                special.append(word)
        _LOADED[key] = (rjieba, tuple(sorted(set(special), key=lambda w: (-len(w), w))))
    return _LOADED[key]


def _is_term(text):
    return bool(_WORDCHAR_RE.search(text))


def _long_subwords(jb, word, pos, start):
    """Dictionary words of 4+ characters inside a longer word (search mode itself
    only adds 2- and 3-character ones): 知识产权质押 inside 知识产权质押融资."""
    n = len(word)
    return [(word[i:j], pos, start + i, start + j)
            for i in range(n) for j in range(i + 4, n + (i > 0))
            if jb.has_word(word[i:j])]


def word_tokens(text, normalized=False):
    """Word-layer tokens: list of (term, position, startchar, endchar).

    ``text`` is normalised first unless ``normalized`` is true; offsets refer to
    the text as given (normalisation keeps the length)."""
    jb, special = segmenter()
    unfolded = text if normalized else normalize(text)
    norm, offsets = fold_variants(unfolded)
    raw = jb.tokenize(norm, mode="search")
    raw.sort(key=lambda t: (t[1], -t[2]))
    out = []
    # sorted by (start, -end), so the default-mode word comes before its sub-words
    pos = -1
    main_end = -1
    for word, start, end in raw:
        if start >= main_end:  # a default-mode word
            pos += 1
            main_end = end
            if end - start > 4:
                out.extend(_long_subwords(jb, word, pos, start))
        if _is_term(word):
            out.append((word, pos, start, end))
    if special:
        starts = {}
        for term, p, s, _e in out:
            starts.setdefault(s, p)
        for word in special:
            for m in re.finditer(re.escape(word), norm):
                p = starts.get(m.start())
                if p is not None:
                    out.append((word, p, m.start(), m.end()))
    out.sort(key=lambda t: (t[2], -t[3], t[0]))
    return _unfold(out, unfolded, offsets)


def gram_tokens(text, normalized=False):
    """Character layer: list of (term, position, startchar, endchar)."""
    unfolded = text if normalized else normalize(text)
    norm, offsets = fold_variants(unfolded)
    out = []
    pos = 0
    for m in _RUN_RE.finditer(norm):
        run, start = m.group(), m.start()
        if "\u3400" <= run[0]:  # CJK run
            for i in range(len(run) - 1):
                out.append((run[i : i + 2], pos, start + i, start + i + 2))
                pos += 1
            out.append((run[-1], pos, start + len(run) - 1, start + len(run)))
            pos += 1
        else:
            out.append((run, pos, start, m.end()))
            pos += 1
    return _unfold(out, unfolded, offsets)


def query_grams(text):
    """The gram-layer terms that a query string must match as a phrase."""
    terms = [t for t, _p, s, e in gram_tokens(text) if e - s == 2 or not ("\u3400" <= t[0])]
    if not terms:  # a one-character query: its unigram (used as a prefix)
        terms = [t for t, *_ in gram_tokens(text)]
    return terms


def query_words(text):
    """Default-mode words of a query (no search-mode sub-words)."""
    seen_pos = set()
    words = []
    for term, pos, _s, _e in word_tokens(text):
        if pos in seen_pos:
            # keep the longest word at a position (search mode lists it last)
            words[-1] = term if len(term) > len(words[-1]) else words[-1]
            continue
        seen_pos.add(pos)
        words.append(term)
    return words


# --------------------------------------------------------------------------- packed tokens

_SEP = "\x1f"  # no term holds it: jieba splits at every non-word character


def passage_tokens(text):
    """Both layers of a passage text, packed for the cache: ``(word terms joined by \\x1f,
    word positions (array), the CJK and ASCII runs the gram layer is cut from)``."""
    unfolded = normalize(text)  # once for both layers
    words = word_tokens(unfolded, normalized=True)
    wpos = [p for _t, p, _s, _e in words]
    code = "H" if not wpos or max(wpos) < 65536 else "I"
    norm = fold_variants(unfolded)[0]
    return (_SEP.join(t for t, *_ in words), array(code, wpos),
            _SEP.join(m.group() for m in _RUN_RE.finditer(norm)))


def words_of(packed):
    """Word-layer (term, position) pairs of :func:`passage_tokens`' value (as
    :func:`word_tokens` lists them)."""
    terms, pos, _runs = packed
    return list(zip(terms.split(_SEP), pos)) if terms else []


def grams_of(packed):
    """Gram-layer (term, position) pairs of :func:`passage_tokens`' value (as
    :func:`gram_tokens` lists them)."""
    runs = packed[2]
    if not runs:
        return []
    terms = []
    for run in runs.split(_SEP):
        if "\u3400" <= run[0]:
            terms.extend([run[i:i + 2] for i in range(len(run) - 1)])
            terms.append(run[-1])
        else:
            terms.append(run)
    return list(zip(terms, range(len(terms))))
