"""The query model, part 1: from what the user typed to a plan of *concepts*.

This module is the reference; the browser (``site_templates/static/js/kb-query.js``) is its
twin and tests hold it to these functions on the relevance query set. The rules:

1. **Normalise** like the indexed text (:func:`kb.analysis.normalize`: traditional →
   simplified, full-width → ASCII, lower case) and fold bracketed variants
   (:func:`kb.analysis.fold_variants`: 首台(套) = 首台套, 首批(次) = 首批次).
2. **Cap**: at most ``MAX_QUERY_CHARS`` characters and ``MAX_PARTS`` parts; anything cut is
   reported in a notice.
3. **Parts**: ``"quoted"`` or ``“quoted”`` text is a phrase; everything else is split on
   whitespace and on any punctuation (Chinese or ASCII), so 科技,金融 = 科技 金融.
4. **Entities**: inside an unquoted part, at each position the longest surface form of the
   gazetteer (:mod:`kb.search.entities`) wins: a city, alias or province becomes a city
   concept, an instrument's label or cue an instrument concept.
5. **Misprints**: an unquoted part of ``TYPO_MIN``–``TYPO_MAX`` characters that is neither a
   vocabulary word nor a gazetteer surface, and that the vocabulary can only cut into single
   characters somewhere (融资但保 → 融资 / 但 / 保), is replaced by the vocabulary word or
   gazetteer surface of the same length that differs from it in one character after the
   first (融资担保; 科技租凭 → 科技租赁, a cue of the gazetteer), the most frequent one if
   several do. Failing that, inside any part, a run of characters that no vocabulary word
   covers (two or more, not a function word, outside gazetteer surfaces) is corrected with its neighbour — the word
   before it and the run, else the run alone, else the run and the word after it — into a
   gazetteer surface one character of the run apart (合肥科技租凭 → 合肥科技租赁). Only curated
   names qualify there: a rare real word (招商引资 when the corpus never says 引资) must not
   become a frequent one. A notice says so. Before either: an unquoted part that is a curated
   abbreviation (``abbreviations`` in ``kb/data/query.yaml``: fof → 母基金) and that the corpus
   never prints is replaced by its term, with the same notice.
6. **Words**: the rest of a part is cut by longest match against the index's word
   vocabulary (at most ``MAX_WORD_CHARS`` characters); each word of two or more characters is
   a concept; a run of characters that no such word covers (uncovered characters and
   one-character words alike: 让 + 利 in 让利) is one concept, matched as a phrase; function
   words (``kb/data/query.yaml``) are dropped unless nothing else is left.

A concept: ``{"text", "kind": "term"|"phrase"|"city"|"instrument", "words": [word-layer
terms matched as a phrase, or [] when the word layer cannot match], "slots": gram-layer slots
matched as a phrase (see :func:`gram_slots`), "pieces": [the shorter words a one-word concept
of four or more characters is made of, matched anywhere in a passage], "cities": [city slugs]
(city concepts),
"instrument": slug or None, "label": bool (an instrument concept naming the whole instrument, by
its label, not by a narrower cue), "required": bool (quoted phrases)}``.
"""

import functools
import re

import yaml

from .. import analysis

MAX_QUERY_CHARS = 100
MAX_PARTS = 8
MAX_WORD_CHARS = 16
TYPO_MIN, TYPO_MAX = 3, 8
QUERY_RULES = analysis.DATA_DIR / "query.yaml"

_CJK = analysis.CJK
_WORDCHAR_RE = re.compile(rf"[{_CJK}a-z0-9]")
_RUN_RE = re.compile(rf"[{_CJK}]+|[a-z0-9]+(?:[.%][a-z0-9]+)*")
_QUOTE_RE = re.compile(r'"([^"]*)"?|“([^”]*)”?')
_SEP_RE = re.compile(rf"[^{_CJK}a-z0-9.%]+")
_ASCII_RE = re.compile(r"[a-z0-9]")


@functools.lru_cache(maxsize=4)
def load_rules(path=QUERY_RULES):
    """The query rules of ``kb/data/query.yaml``: {"function_words": [...], "abbreviations":
    {abbreviation: term}} (normalised as queries are)."""
    data = yaml.safe_load(open(path, encoding="utf-8")) or {}
    words = sorted({analysis.normalize(str(w)) for w in data.get("function_words") or ()})
    abbr = {analysis.normalize(str(k)): analysis.normalize(str(v))
            for k, v in (data.get("abbreviations") or {}).items()}
    return {"function_words": words, "abbreviations": dict(sorted(abbr.items()))}


def prepare(query):
    """(normalised and folded query text, notices) with the length cap applied."""
    notices = []
    query = query or ""
    if len(query) > MAX_QUERY_CHARS:
        notices.append(f"查询过长，只使用了前 {MAX_QUERY_CHARS} 个字符")
        query = query[:MAX_QUERY_CHARS]
    return analysis.fold_variants(analysis.normalize(query))[0], notices


def split_parts(text):
    """[(text, is_phrase)]: quoted phrases, and the rest split on whitespace/punctuation."""
    parts = []
    last = 0

    def plain(chunk):
        for piece in _SEP_RE.split(chunk):
            piece = piece.strip(".%")
            if piece and _WORDCHAR_RE.search(piece):
                parts.append((piece, False))

    for m in _QUOTE_RE.finditer(text):
        plain(text[last:m.start()])
        phrase = m.group(1) if m.group(1) is not None else m.group(2)
        phrase = " ".join(_SEP_RE.sub(" ", phrase).split()).strip(".%")
        if phrase and _WORDCHAR_RE.search(phrase):
            parts.append((phrase, True))
        last = m.end()
    plain(text[last:])
    return parts


def segment_words(text, has_word, max_chars=MAX_WORD_CHARS):
    """Longest match of ``text`` against a vocabulary: [(word or None, start, end)];
    None marks a character no vocabulary word covers. A word never ends inside a run of ASCII
    letters and digits (xyzzy is not x + yzzy): such a run is one word or uncovered whole."""
    out = []
    i, n = 0, len(text)
    while i < n:
        for length in range(min(max_chars, n - i), 0, -1):
            end = i + length
            if end < n and _ASCII_RE.match(text[end - 1]) and _ASCII_RE.match(text[end]):
                continue
            if has_word(text[i:end]):
                out.append((text[i:end], i, end))
                i = end
                break
        else:
            end = i + 1
            if _ASCII_RE.match(text[i]):
                while end < n and _ASCII_RE.match(text[end]):
                    end += 1
            out.extend((None, k, k + 1) for k in range(i, end))
            i = end
    return out


def gram_slots(text):
    """Gram-layer slots of a text: [("e", term) exact | ("p", char) prefix], as a phrase:
    bigrams of each CJK run, the run's last character between runs, ASCII runs whole, and
    a trailing one-character CJK run as a prefix (a one-character query finds every word
    starting with it)."""
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


def _words_of(text, has_word, max_chars):
    """Word-layer terms of a text when every word character is covered, else []."""
    words = []
    for word, start, _end in segment_words(text, has_word, max_chars):
        if word is None:
            if _WORDCHAR_RE.match(text[start]):
                return []
            continue
        words.append(word)
    return words


def _pieces(text, words, has_word):
    """The words a one-word concept is made of (容错免责 -> 容错, 免责), when each has two or more
    characters: the concept also matches, weakly, a passage holding all of them apart."""
    if len(words) != 1 or len(text) < 4:
        return []
    pieces = _words_of(text, has_word, len(text) - 1)
    return pieces if len(pieces) > 1 and all(len(w) > 1 for w in pieces) else []


def _concept(text, kind, has_word, max_chars, entity=None, required=False):
    words = _words_of(text, has_word, max_chars)
    return {"text": text, "kind": kind, "words": words, "slots": gram_slots(text),
            "pieces": [] if required else _pieces(text, words, has_word),
            "cities": list(entity[1:]) if entity and entity[0] in ("c", "p") else [],
            "instrument": entity[1] if entity and entity[0] == "i" else None,
            "label": bool(entity and entity[0] == "i" and entity[2:] == ["label"]),
            "required": required}


def _entity_spans(text, gazetteer, max_len):
    """Longest gazetteer surface at each position: [(start, end, entity or None)]."""
    out = []
    i, plain_start, n = 0, 0, len(text)
    while i < n:
        hit = None
        for length in range(min(max_len, n - i), 1, -1):
            ent = gazetteer.get(text[i:i + length])
            if ent is not None:
                hit = (i, i + length, ent)
                break
        if hit is None:
            i += 1
            continue
        if plain_start < i:
            out.append((plain_start, i, None))
        out.append(hit)
        i = plain_start = hit[1]
    if plain_start < n:
        out.append((plain_start, n, None))
    return out


def needs_correction(part, has_word, gazetteer, max_chars=MAX_WORD_CHARS):
    """Is ``part`` (unquoted) a candidate misprint as a whole (rule 5)?"""
    if not (TYPO_MIN <= len(part) <= TYPO_MAX) or has_word(part) or part in gazetteer:
        return False
    if not all("\u3400" <= ch for ch in part):
        return False
    return any(w is None or len(w) == 1 for w, _s, _e in segment_words(part, has_word, max_chars))


def correction_windows(part, has_word, function_words, max_chars=MAX_WORD_CHARS):
    """Where a misprint may sit inside ``part`` (rule 5, second clause): for each run of two or
    more CJK characters that no vocabulary word covers (and that is not a function word), the
    windows [(text, lo, hi)] to try in turn — the word before the run with the run, the run
    alone, the run with the word after it; ``lo``–``hi``: the positions of the run inside the
    window, where the one changed character must be. ``part``: text outside gazetteer
    surfaces."""
    segs = segment_words(part, has_word, max_chars)

    def uncovered(k):  # a CJK character no vocabulary word covers
        return segs[k][0] is None and "\u3400" <= part[segs[k][1]]

    out, k = [], 0
    while k < len(segs):
        if not uncovered(k):
            k += 1
            continue
        j = k
        while j < len(segs) and uncovered(j):
            j += 1
        a, b = segs[k][1], segs[j - 1][2]
        if b - a >= 2 and part[a:b] not in function_words:
            if k > 0:
                s = segs[k - 1][1]
                out.append((part[s:b], a - s, b - s))
            out.append((part[a:b], 1, b - a))
            if j < len(segs):
                out.append((part[a:segs[j][2]], 1, b - a))
        k = j
    return [(w, lo, hi) for w, lo, hi in out if 2 <= len(w) <= TYPO_MAX]


def pick_correction(part, candidates, lo=1, hi=None):
    """The correction of ``part`` among [(word, document frequency)] (vocabulary words and
    gazetteer surfaces with its first character): the same length, one character apart at a
    position in ``lo``–``hi`` (default: any after the first), the most frequent; or None."""
    hi = len(part) if hi is None else hi
    fits = []
    for w, df in candidates:
        if len(w) != len(part) or w[0] != part[0]:
            continue
        diff = [i for i, (a, b) in enumerate(zip(w, part)) if a != b]
        if len(diff) == 1 and lo <= diff[0] < hi:
            fits.append((w, df))
    if not fits:
        return None
    return min(fits, key=lambda wd: (-wd[1], wd[0].encode("utf-16-be")))[0]


def corrections(query, has_word, gazetteer, prefix_words, df, max_chars=MAX_WORD_CHARS, rules=None):
    """{misprint: correction} for the parts of a query (rule 5), given ``prefix_words(char)``
    (vocabulary words starting with ``char``) and ``df(word)``; gazetteer surfaces are
    candidates too (their df: 0 unless they are vocabulary words)."""
    rules = rules or load_rules()
    function_words = set(rules["function_words"])
    abbreviations = rules.get("abbreviations") or {}
    max_len = max((len(s) for s in gazetteer), default=0)
    text, _notices = prepare(query)
    out = {}

    def fix(window, lo=1, hi=None, vocabulary=True):
        """Curated names (and, with ``vocabulary``, words of the index) one character apart."""
        surfaces = [s for s in gazetteer if len(s) == len(window) and s[0] == window[0]]
        if not vocabulary:
            return pick_correction(window, [(s, 0) for s in surfaces], lo, hi)
        words = [w for w in prefix_words(window[0]) if len(w) == len(window)]
        return pick_correction(window, [(w, df(w)) for w in words]
                               + [(s, 0) for s in surfaces if not has_word(s)], lo, hi)

    for part, phrase in split_parts(text)[:MAX_PARTS]:
        if phrase or part in out:
            continue
        if part in abbreviations and not has_word(part):  # an abbreviation the corpus never prints
            out[part] = abbreviations[part]
            continue
        fixed = fix(part) if needs_correction(part, has_word, gazetteer, max_chars) else None
        if fixed:
            out[part] = fixed
            continue
        for start, end, ent in _entity_spans(part, gazetteer, max_len):
            if ent is not None:
                continue
            for window, lo, hi in correction_windows(part[start:end], has_word, function_words, max_chars):
                if window in out:
                    break
                fixed = fix(window, lo, hi, vocabulary=False)
                if fixed:
                    out[window] = fixed
                    break
    return out


def apply_fixes(part, fixes):
    """(``part`` with its misprints corrected, [(misprint, correction)] applied)."""
    if part in fixes:
        return fixes[part], [(part, fixes[part])]
    done = []
    for wrong, right in fixes.items():
        if wrong in part:
            part = part.replace(wrong, right)
            done.append((wrong, right))
    return part, done


def plan_query(query, has_word, gazetteer=None, rules=None, max_chars=MAX_WORD_CHARS, fixes=None):
    """{"concepts": [...], "notices": [...], "parts": [(text, phrase)]} for a query.

    ``has_word(term)``: is ``term`` in the index's word vocabulary; ``gazetteer``:
    :func:`kb.search.entities.gazetteer` (None: no entity recognition); ``fixes``: the
    misprint corrections of :func:`corrections`."""
    rules = rules or load_rules()
    gazetteer = gazetteer or {}
    max_len = max((len(s) for s in gazetteer), default=0)
    function_words = set(rules["function_words"])
    text, notices = prepare(query)
    parts = split_parts(text)
    if len(parts) > MAX_PARTS:
        notices.append(f"查询词过多，只使用了前 {MAX_PARTS} 个")
        parts = parts[:MAX_PARTS]
    concepts, dropped = [], []
    for part, phrase in parts:
        if not phrase and fixes:
            part, done = apply_fixes(part, fixes)
            notices.extend(f"没有找到“{wrong}”，已按“{right}”检索" for wrong, right in done)
        if phrase:
            concepts.append(_concept(part, "phrase", has_word, max_chars, required=True))
            continue
        for start, end, ent in _entity_spans(part, gazetteer, max_len):
            piece = part[start:end]
            if ent is not None and ent[0] != "x":
                kind = "instrument" if ent[0] == "i" else "city"
                concepts.append(_concept(piece, kind, has_word, max_chars, entity=ent))
                continue
            def push_run(text):
                if text in function_words:
                    dropped.append(text)
                else:
                    concepts.append(_concept(text, "term", has_word, max_chars))

            run_start = None
            for word, s, _e in segment_words(piece, has_word, max_chars) + [(True, len(piece), len(piece))]:
                if word is not True and word is not None and len(word) == 1 and word not in function_words \
                        and "\u3400" <= word:
                    word = None  # a lone character joins its neighbours' run (让 + 利 = 让利)
                if word is None:
                    wordchar = bool(_WORDCHAR_RE.match(piece[s]))
                    if wordchar and run_start is None:
                        run_start = s
                    elif not wordchar and run_start is not None:
                        push_run(piece[run_start:s])
                        run_start = None
                    continue
                if run_start is not None:
                    push_run(piece[run_start:s])
                    run_start = None
                if word is True:
                    break
                if word in function_words:
                    dropped.append(word)
                    continue
                concepts.append(_concept(word, "term", has_word, max_chars))
    if not concepts and dropped:
        concepts = [_concept(w, "term", has_word, max_chars) for w in dropped]
    unique, seen = [], set()
    for c in concepts:
        key = (c["kind"], c["text"])
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return {"concepts": unique, "notices": notices, "parts": parts}
