"""Stage 3 — split: logical paragraphs -> passages with a heading trail.

``split(paragraphs) -> [{"section": [...], "text": str, "position": int}]``

Headings
    A paragraph is a heading when it starts with a numbering pattern or is a short
    unnumbered line without sentence-final punctuation (a headline). Levels, outermost
    first::

        "# …" … "###### …"   explicit level (Markdown; clean() emits "# " for curated
                             article headings of newspaper pages, .md sources may carry them)
        headline             unnumbered short paragraph without sentence-final punctuation
                             ("光谷印象——政策密集地…"; up to 80 characters if it has
                             no punctuation at all)
        一、                 level 11
        （一） / (一)        level 12
        1. / 1．/ 1、        level 13
        （1） / (1)          level 14

    A heading at level k replaces trail entries at levels >= k. A *pure* heading
    ("（三）广州市") is not a passage. An *inline* heading — a numbered paragraph whose
    first sentence is followed by body text ("（一）突出政府引导。科技创新…",
    "1. 强化政府投资基金引导作用。 政府投资…") — is a passage with its full text, and
    its first sentence (without the final punctuation) goes into the trail.

Passages
    A paragraph of up to ``SINGLE_MAX`` characters is one passage. Longer paragraphs are
    cut at sentence ends (。！？； and ASCII !?; with any closing quotes/brackets after
    them) into roughly equal chunks of about ``TARGET`` characters; a chunk exceeds
    ``HARD_MAX`` only when one sentence does. Parenthetical sentences ("(责任单位:…)",
    "（本文摘自…）") and fragments shorter than ``MIN_FRAGMENT`` stay with the sentence
    before them, so no passage starts with a fragment of the previous one.

The helpers ``ends_sentence``, ``numbered_level`` and ``sentences`` are shared with
kb/clean.py. Everything is linear in the input and deterministic.
"""

import re

SINGLE_MAX = 500      # a paragraph up to this length stays whole
TARGET = 350          # preferred chunk length when a paragraph is cut
HARD_MAX = 800        # no chunk longer than this unless one sentence is
MIN_FRAGMENT = 15     # shorter sentence units are attached to a neighbour
HEADLINE_MAX = 40     # unnumbered headings are at most this long…
LONG_HEADLINE_MAX = 80  # …or this long if they have no punctuation at all (main line + deck)
HEADING_MAX = 60      # longer inline-heading sentences are shortened in the trail

FINAL = "。！？；!?;…"
COLONS = "：:"
CLOSERS = "”’」』）)】》〕\"'"
BRACKET_PAIRS = {")": "(", "）": "（"}  # closing -> opening

HEADLINE_LEVEL = 10
_NUMBERED = [
    (11, re.compile(r"^[一二三四五六七八九十百]+、")),
    (12, re.compile(r"^[（(][一二三四五六七八九十]+[）)]")),
    (13, re.compile(r"^\d{1,2}[.．、](?![\d.．])")),
    (14, re.compile(r"^[（(]\d{1,2}[）)]")),
]
_MARKDOWN = re.compile(r"^(#{1,6})\s+(\S.*)$")
_SENTENCE = re.compile(rf"[^{FINAL}]*(?:[{FINAL}]+[{re.escape(CLOSERS)}]*|$)")
_PUNCTUATED = re.compile(rf"[{FINAL}，,]|[{COLONS}]$")
_TRAILING_FINAL = re.compile(rf"[{FINAL}{COLONS}\s]+$")


def numbered_level(text):
    """Level (11–14) of a numbering pattern at the start of ``text``, else None."""
    for level, pattern in _NUMBERED:
        if pattern.match(text):
            return level
    return None


def ends_sentence(text, colon=False):
    """True if ``text`` ends a sentence: final punctuation (optionally followed by
    closing quotes/brackets), or a bracketed remark that follows a finished sentence
    ("…实施。(责任单位:市财政局)"). With ``colon``, a final "：" counts too."""
    text = text.rstrip()
    if not text:
        return False
    if text[-1] in BRACKET_PAIRS:
        opener = _matching_opener(text)
        if opener is not None:
            before = text[:opener].rstrip()
            if not before or before[-1] in FINAL or ends_sentence(before, colon):
                return True
    stripped = text.rstrip(CLOSERS)
    if not stripped:
        return False
    return stripped[-1] in FINAL or (colon and stripped[-1] in COLONS)


def _matching_opener(text):
    """Index of the bracket opening the one that closes ``text``, or None."""
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        ch = text[i]
        if ch in BRACKET_PAIRS:
            depth += 1
        elif ch in "(（":
            depth -= 1
            if depth == 0:
                return i
    return None


def sentences(text):
    """Sentence units of a paragraph; concatenating them gives ``text`` back."""
    return [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0)]


def parse_heading(paragraph):
    """``(level, trail_text, is_pure)`` if the paragraph is or starts with a heading."""
    m = _MARKDOWN.match(paragraph)
    if m:
        return len(m.group(1)) - 1, m.group(2).strip(), True
    level = numbered_level(paragraph)
    if level is not None:
        first = sentences(paragraph)[0]
        if first == paragraph and not ends_sentence(paragraph) and len(paragraph) <= HEADING_MAX:
            return level, paragraph.strip(), True
        return level, _short_heading(first), False
    if _is_headline(paragraph):
        return HEADLINE_LEVEL, paragraph.strip(), True
    return None


def _is_headline(paragraph):
    if len(paragraph) <= HEADLINE_MAX:
        return "。" not in paragraph and not ends_sentence(paragraph, colon=True)
    return len(paragraph) <= LONG_HEADLINE_MAX and not _PUNCTUATED.search(paragraph)


def _short_heading(sentence):
    """Trail text for an inline heading: its first sentence without final punctuation."""
    text = _TRAILING_FINAL.sub("", sentence.strip())
    if len(text) > HEADING_MAX:
        comma = text.find("，", 4)
        text = text[:comma] if 0 < comma <= HEADING_MAX else text[:HEADING_MAX] + "…"
    return text


def _units(text):
    """Sentence units with parentheticals and short fragments merged into a neighbour."""
    units = []
    for sent in sentences(text):
        attach = units and (sent.lstrip()[:1] in "(（" or len(sent.strip()) < MIN_FRAGMENT
                            or len(units[-1].strip()) < MIN_FRAGMENT)
        if attach:
            units[-1] += sent
        else:
            units.append(sent)
    return units


def chunks(text):
    """Cut a paragraph into passages at sentence ends (see module docstring)."""
    text = text.strip()
    if len(text) <= SINGLE_MAX:
        return [text]
    units = _units(text)
    parts = -(-len(text) // TARGET)
    goal = len(text) / parts
    out, cur = [], ""
    for unit in units:
        if cur and (len(cur) >= goal or len(cur) + len(unit) > HARD_MAX):
            out.append(cur)
            cur = ""
        cur += unit
    if cur:
        if out and len(cur) < goal / 3 and len(out[-1]) + len(cur) <= HARD_MAX:
            out[-1] += cur
        else:
            out.append(cur)
    return [c.strip() for c in out if c.strip()]


def split(paragraphs):
    """Passages ``{"section", "text", "position"}`` in document order."""
    trail = []  # [(level, text)]
    passages = []
    for paragraph in paragraphs:
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        heading = parse_heading(paragraph)
        if heading:
            level, title, pure = heading
            trail = [entry for entry in trail if entry[0] < level] + [(level, title)]
            if pure:
                continue
        section = [title for _, title in trail]
        for text in chunks(paragraph):
            passages.append({"section": list(section), "text": text, "position": len(passages)})
    return passages
