"""Stage 2 — clean: raw extracted text -> logical paragraphs in reading order.

``clean(text, doc) -> [str]``. Headings stay as their own paragraphs; curated
outermost headings (newspaper articles, see kb/data/furniture.yaml) are emitted as
"# heading", which kb/split.py reads as the outermost level.

Steps, all linear in the text:

0. **Inline residue** (furniture.yaml ``inline``) is deleted first: the pinyin a
   converter left after characters of reposted traditional text (創(chuàng)新).
1. **Furniture** (patterns in kb/data/furniture.yaml, algorithms here) is dropped line
   by line before anything is joined, so a footer inside a sentence does not cut it:
   page numbers ("—5—"), running headers/footers, the newspaper date line, the red
   header and number of an official document, the 抄送/印发 block, the issuer and date
   signature, every line (or run of up to 5 lines) that spells the document title,
   and short lines repeated 3+ times (running headers of other sources); web-page
   furniture too (navigation, 今天是…, 发布时间/来源/责任编辑 lines, mastheads,
   share/print buttons, 上一篇/下一篇, copyright footers). Patterns are matched on the
   line converted to simplified Chinese. ``clean(..., furniture=[])`` collects the
   dropped lines.
2. **Spaces** that extraction put between CJK and digits/Latin letters ("2020年 GDP",
   "42 所"), after full-width punctuation ("。 政府") or inside brackets are removed;
   spaces between two CJK characters are kept (headlines such as "向“新”而行 以“质”
   致远" use them on purpose).
3. **Wraps** are rejoined. A line ends its paragraph only if the paragraph so far ends
   a sentence (。！？；… or a colon, closing quotes/brackets allowed, or a "(责任单位…)"
   remark after one) *and* one of: the line is short — narrower than the local wrap
   width (widest of the 5 lines either side, in display columns, minus a slack; a
   paragraph's first line is given back the 2-character indent extraction dropped);
   blank lines separate paragraphs in this document (they do unless they follow
   nearly every line) and one follows; the next line is a heading, starts with a
   numbering pattern (一、 （一） (一) 1. （1）) or, after a full stop, with "二是…".
   Documents whose lines are far wider than any print column, or that have no column
   at all (fewer than COLUMN_MIN_LINES lines of the same width: text copied from a
   web page), are not wrapped: each closed line is a paragraph. Blank lines after
   nearly every line mean nothing, unless the lines before them end with a full stop
   (whole paragraphs spaced out). Web pages and Word files mark their paragraphs
   (``doc["lines_are_paragraphs"]``, set by kb/formats): every line is a paragraph or
   a heading and none is joined to the next.
   Headings: a short numbered line without sentence or clause punctuation, or a
   headline — an unnumbered line clearly narrower than the column, at most 30
   characters, with no comma, colon or sentence punctuation; where blank lines
   separate paragraphs, the headline block must end at a blank line (otherwise it is
   the first line of a paragraph). Consecutive heading lines form one heading
   (joined with a space in newspapers, whose headlines are main line + deck).
   Leading indentation is ignored: in these extractions it marks page breaks.
4. **Captions**: in documents with blank-line paragraphs, a block of 2+ lines all
   narrower than 60 % of the document's column width, ending a sentence, is a photo
   caption. **Summary boxes**: a paragraph whose character 4-grams are at least 80 %
   contained in one other, longer paragraph is a near-duplicate and dropped.
5. **Glued items**: "一、…（一）…。（二）…。" on one line is cut into its items
   (:func:`split_glued_items`).
6. **Lead-ins and notices**: a short paragraph ending with a colon ("内容摘要：",
   "各区人民政府,市人民政府各部门:") is joined to the next one; a notice title
   ("…关于印发…的通知") followed by its addressee is kept with the notice text as one
   passage rather than heading the whole document.
7. **Curated corrections** per document id (furniture.yaml ``documents``): article
   headings to insert, displaced headlines and captions to drop.
"""

import functools
import math
import re
from collections import Counter, defaultdict
from itertools import chain
from pathlib import Path

import cn2an
import yaml

from .analysis import CJK as _CJK, _opencc, to_simplified
from .parallel import fork_map
from .split import CLOSERS, HEADLINE_MAX, LONG_HEADLINE_MAX, ends_sentence, numbered_level

DATA_FILE = Path(__file__).parent / "data" / "furniture.yaml"

WINDOW = 5                # neighbours on each side for the local wrap width
SLACK_MIN = 6             # display columns a full line may fall short of the widest
SLACK_FRACTION = 0.1
UNWRAPPED_WIDTH = 200     # 90th-percentile line width above this: lines are paragraphs
COLUMN_MIN_LINES = 2      # a wrapped text has at least this many lines at its column width…
COLUMN_SHARE = 0.25       # …and at least this share of its lines
BLANK_EVERYWHERE = 0.6    # share of lines after a blank line above which blanks mean nothing…
CLOSED_PARAGRAPHS = 0.9   # …unless this share of the lines before them are closed paragraphs
CAPTION_FRACTION = 0.6    # caption blocks are narrower than this share of the column
HEADLINE_LINE_MAX = 30    # characters in one headline line
HEADLINE_FRACTION = 0.85  # a headline line is at most this share of the column
FIRST_INDENT = 4          # display columns of a paragraph's (lost) first-line indent
TITLE_LINES = 5           # a title may be wrapped over this many lines
REPEAT_MIN = 3            # a short line seen this often is a running header
LEADIN_MAX = 20           # "内容摘要：" and addressee lines are at most this long
TAIL = 400                # characters of a paragraph looked at to see if it is closed
DUP_GRAM = 4
DUP_MIN_LEN = 20          # paragraphs checked for being a near-duplicate are
DUP_MAX_LEN = 400         # this long: summary boxes, decks and captions are short
DUP_COVERAGE = 0.8
DUP_POSTINGS_MAX = 64     # ignore n-grams this common when looking for duplicates

_WIDE = re.compile("[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f"
                   "\uff00-\uff60\uffe0-\uffe6\u2014\u2018\u2019\u201c\u201d\u2026]")
_SPACE = "[ \t\u3000\u00a0]"
_SPACE_RULES = [
    (re.compile(rf"(?<=[{_CJK}]){_SPACE}+(?=[0-9A-Za-z])"), ""),
    (re.compile(rf"(?<=[0-9A-Za-z%]){_SPACE}+(?=[{_CJK}])"), ""),
    (re.compile(rf"(?<=[，。、；：！？”’）》」』〕“‘（《「『〔]){_SPACE}+"), ""),
    (re.compile(rf"{_SPACE}+(?=[，。、；：！？”’）》」』〕])"), ""),
    (re.compile(rf"(?<=\(){_SPACE}+|{_SPACE}+(?=\))"), ""),
    (re.compile(rf"{_SPACE}{{2,}}"), " "),
]
_PARAGRAPH_END = "。！？!?：:"  # a full stop (not ；) or a lead-in colon closes a paragraph
_NO_HEADLINE = re.compile("[，,。；;！？!?：:]")
_NO_NUMBERED_HEADING = re.compile("[，,。；;！？!?]|[：:]$")
_ENUMERATION = re.compile("^(?:[一二三四五六七八九十]+是|第[一二三四五六七八九十]+[，,、])")
_ASCII_LETTER = re.compile("[A-Za-z]")
_COLON = re.compile("[：:]")
_NON_WORD = re.compile(r"[\W_]+")
_SAMPLED_GRAM = re.compile("(?=([%s].{%d}))" % (
    re.escape("".join(chr(c) for c in [*range(0x30, 0x7B, 4), *range(0x3400, 0xA000, 4)])),
    DUP_GRAM - 1))


class Line:
    __slots__ = ("text", "blank", "width", "key", "simple", "level")

    def __init__(self, text, blank, width, simple=None):
        self.text = text    # stripped, spaces tidied
        self.blank = blank  # a blank line (or dropped furniture after one) precedes it
        self.width = width  # display width as printed (before tidying)
        # furniture patterns are written in simplified Chinese
        self.simple = simple if simple is not None else to_simplified(text)
        self.key = _norm(self.simple)
        self.level = numbered_level(text)  # numbering pattern level, or None


def _combine(patterns):
    """One regex searching for any of ``patterns`` (None if there are none)."""
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


@functools.lru_cache(maxsize=1)
def rules():
    """Compiled furniture rules from kb/data/furniture.yaml."""
    raw = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    return {
        "lines": _combine(raw.get("lines")),
        "inline": _combine(raw.get("inline")),
        "head": _combine(raw.get("head")),
        "head_lines": raw.get("head_lines", 0),
        "blocks": [(re.compile(b["start"]), re.compile(b["end"]), b["max_lines"])
                   for b in raw.get("blocks", [])],
        "openers": _combine(raw.get("openers")),
        "notice_title": re.compile(raw["notice_title"]) if raw.get("notice_title") else None,
        "documents": raw.get("documents") or {},
    }


def clean(text, doc, furniture=None, jobs=1):
    """Logical paragraphs of ``text`` in reading order (see module docstring).

    If ``furniture`` is a list, the dropped furniture lines are appended to it. With
    ``jobs`` > 1, a text of PARALLEL_LINES characters or more has its lines read (and
    matched against the furniture line patterns) in slices by forked worker processes;
    the result is the same."""
    r = rules()
    news = doc.get("type") == "news"
    if r["inline"]:
        text = r["inline"].sub("", text)
    lines, hits = _read_lines_parallel(text, r, jobs) if jobs > 1 else (None, None)
    if lines is None:
        lines = _read_lines(text)
    lines = _drop_furniture(lines, doc, r, furniture, hits)
    blank_breaks = _blank_lines_break(lines)
    if blank_breaks:
        lines = _drop_captions(lines, furniture)
    paragraphs = join_lines(lines, blank_breaks, " " if news else "",
                            complete=bool(doc.get("lines_are_paragraphs")))
    paragraphs = split_glued_items(paragraphs)
    paragraphs = _merge_leadins(paragraphs, r["notice_title"])
    paragraphs = drop_near_duplicates(paragraphs)
    return _curate(paragraphs, r["documents"].get(doc.get("id")) or {})


# ---------------------------------------------------------------- lines and furniture


def _read_lines(text, tidied=None, simple=None):
    """Non-blank lines, spaces tidied; widths are measured on the printed line.
    Tidying never crosses a newline, so raw and tidied lines correspond."""
    lines, blank = [], False
    tidied = tidy_spaces(text) if tidied is None else tidied
    simple = (to_simplified(tidied) if simple is None else simple).split("\n")  # one conversion (length-preserving)
    for raw, tidy, simp in zip(text.split("\n"), tidied.split("\n"), simple):
        stripped = tidy.strip()
        if stripped:
            lines.append(Line(stripped, blank, display_width(raw.strip()), simp.strip()))
            blank = False
        else:
            blank = True
    return lines


PARALLEL_LINES = 1_000_000  # characters: with jobs > 1 a text this long is read in slices
LINE_SLICES = 4              # slices per job


def _read_lines_parallel(text, r, jobs):
    """(lines, furniture line-pattern hits) as :func:`_read_lines` and the per-line
    search of :func:`_drop_furniture` give them, the text read in slices cut at newlines
    by forked worker processes; (None, None) if the text is too short or a slice's
    conversion to simplified characters changes its length (then the whole text is
    converted character by character, as :func:`kb.analysis.to_simplified` does)."""
    if len(text) < PARALLEL_LINES:
        return None, None
    cuts, step = [0], -(-len(text) // (jobs * LINE_SLICES))
    while cuts[-1] + step < len(text):
        nl = text.find("\n", cuts[-1] + step)
        if nl < 0:
            break
        cuts.append(nl + 1)  # slices are cut at a newline, which neither keeps
    bounds = [(a, b - 1) for a, b in zip(cuts, cuts[1:])] + [(cuts[-1], len(text))]
    parts = fork_map(lambda a, b: _line_slice(text[a:b], r), bounds, jobs)
    if not all(part is not None for part in parts):
        return None, None
    lines, hits, carry = [], bytearray(), False
    for texts, blanks, widths, simples, keys, levels, part_hits, end_blank in parts:
        for k, text_k in enumerate(texts):
            simple = simples[k] if simples[k] is not None else text_k
            line = Line.__new__(Line)
            line.text, line.blank, line.width = text_k, bool(blanks[k]) or (carry and k == 0), widths[k]
            line.simple = simple
            line.key = keys[k] if keys[k] is not None else simple
            line.level = levels[k] or None
            lines.append(line)
        hits += part_hits
        carry = end_blank if texts else (carry or end_blank)
    return lines, hits


def _line_slice(text, r):
    """One slice's lines (as columns: texts, blank flags, widths, simplified texts and
    keys where they differ, numbering levels (0: none), furniture pattern hits) and
    whether it ends with a blank line; None if converting it to simplified characters
    changes its length."""
    tidied = tidy_spaces(text)
    converted = _opencc().convert(tidied) if tidied else tidied
    if len(converted) != len(tidied):
        return None
    lines = _read_lines(text, tidied, converted)
    pattern = r["lines"]
    return ([line.text for line in lines], bytes(line.blank for line in lines),
            [line.width for line in lines],
            [None if line.simple == line.text else line.simple for line in lines],
            [None if line.key == line.simple else line.key for line in lines],
            bytes(line.level or 0 for line in lines),
            bytes(bool(pattern and pattern.search(line.simple)) for line in lines),
            not text[text.rfind("\n") + 1:].strip())  # a blank line ends the slice


def _norm(text):
    """Comparison key: no whitespace, ASCII brackets."""
    return "".join(text.split()).replace("（", "(").replace("）", ")")


def _drop_furniture(lines, doc, r, furniture=None, hits=None):
    """``hits``: per line, whether the ``lines`` patterns match it, if known already."""
    if hits is None:
        hits = [bool(r["lines"] and r["lines"].search(line.simple)) for line in lines]
    drop = [bool(h) for h in hits]
    for i, line in enumerate(lines[:r["head_lines"]] if r["head"] else ()):
        if r["head"].search(line.simple):
            drop[i] = True
    _mark_blocks(lines, drop, r["blocks"])
    _mark_title(lines, drop, _norm(to_simplified(doc.get("title") or "")))
    publisher = _norm(to_simplified(doc.get("publisher") or ""))
    counts = Counter(line.key for line in lines if _repeatable(line))
    for i, line in enumerate(lines):
        if (len(publisher) >= 4 and line.key == publisher) or counts.get(line.key, 0) >= REPEAT_MIN:
            drop[i] = True
    kept, carry = [], False
    for line, dropped in zip(lines, drop):
        if dropped:
            carry = carry or line.blank
            if furniture is not None:
                furniture.append(line.text)
            continue
        line.blank = line.blank or carry
        kept.append(line)
        carry = False
    return kept


def _repeatable(line):
    """Lines eligible as running headers: short, not sentence ends, not numbered."""
    return (6 <= len(line.text) <= 40 and line.level is None
            and not ends_sentence(line.text, colon=True))


def _mark_blocks(lines, drop, blocks):
    for start, end, max_lines in blocks:
        for i, line in enumerate(lines):
            if drop[i] or not start.search(line.simple):
                continue
            for j in range(i, min(len(lines), i + max_lines)):
                if end.search(lines[j].simple):
                    drop[i:j + 1] = [True] * (j + 1 - i)
                    break


def _mark_title(lines, drop, title):
    """Drop every line, or run of up to TITLE_LINES lines, that spells the title."""
    if len(title) < 4:
        return
    for i, line in enumerate(lines):
        if not line.key or not title.startswith(line.key):
            continue
        acc = ""
        for j in range(i, min(len(lines), i + TITLE_LINES)):
            acc += lines[j].key
            if acc == title:
                drop[i:j + 1] = [True] * (j + 1 - i)
                break
            if not title.startswith(acc):
                break


def tidy_spaces(text):
    """Remove extraction spaces around CJK (see module docstring, step 2)."""
    for pattern, repl in _SPACE_RULES:
        text = pattern.sub(repl, text)
    return text


def display_width(text):
    """Columns the text takes in print: CJK and full-width characters count 2."""
    return len(text) + len(_WIDE.findall(text))


def _blank_lines_break(lines):
    """True if blank lines separate paragraphs (not every wrapped line)."""
    if len(lines) < 2:
        return True
    blanks = sum(1 for line in lines[1:] if line.blank)
    if blanks <= BLANK_EVERYWHERE * (len(lines) - 1):
        return True
    # a blank after (nearly) every line: wrapped lines spaced out by extraction,
    # unless the lines before the blanks are whole paragraphs — they end with a
    # full stop or a colon (or are short unpunctuated headings), as in text copied from a web page
    before = [prev for prev, line in zip(lines, lines[1:]) if line.blank]
    closed = sum(1 for prev in before
                 if prev.text.rstrip(CLOSERS)[-1:] in _PARAGRAPH_END
                 or (len(prev.text) <= HEADLINE_LINE_MAX and not _NO_NUMBERED_HEADING.search(prev.text)))
    return closed >= CLOSED_PARAGRAPHS * len(before)


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0


def _drop_captions(lines, furniture=None):
    """Drop blocks of 2+ narrow lines ending a sentence (photo captions)."""
    widths = [line.width for line in lines]
    limit = CAPTION_FRACTION * _percentile(widths, 0.75)
    drop = [False] * len(lines)
    start = 0
    for end in range(1, len(lines) + 1):
        if end < len(lines) and not lines[end].blank:
            continue
        block = range(start, end)
        if (len(block) >= 2 and all(widths[k] <= limit for k in block)
                and ends_sentence(lines[end - 1].text)
                and lines[start].level is None):
            for k in block:
                drop[k] = True
        start = end
    if furniture is not None:
        furniture.extend(lines[k].text for k in range(len(lines)) if drop[k])
    return [lines[k] for k in range(len(lines)) if not drop[k]]


# ---------------------------------------------------------------- joining wrapped lines


def _has_column(widths):
    """Hard-wrapped text has a column: several lines filled to the same width (within
    SLACK_MIN display columns: a digit or Latin letter is narrower than a character).
    Text copied from a web page, one paragraph per line, has no such column."""
    top = _percentile(widths, 0.9)
    full = sum(1 for w in widths if top - SLACK_MIN <= w <= top + SLACK_MIN)
    return full >= max(COLUMN_MIN_LINES, COLUMN_SHARE * len(widths))


def _line_shape(widths, complete=False):
    """Per line, against the local wrap width (widest of its neighbours):
    ``short`` — it ends before the column does, even as a paragraph's first line
    given back the FIRST_INDENT columns extraction dropped (``short_first``);
    ``narrow`` — clearly narrower than the column (HEADLINE_FRACTION), as headlines are."""
    n = len(widths)
    if (complete or not widths or _percentile(widths, 0.9) > UNWRAPPED_WIDTH
            or not _has_column(widths)):
        return [True] * n, [True] * n, [True] * n  # not wrapped: lines are complete
    short, short_first, narrow = [], [], []
    for i, width in enumerate(widths):
        local = max(widths[max(0, i - WINDOW):i + WINDOW + 1])
        slack = max(SLACK_MIN, SLACK_FRACTION * local)
        short.append(local - width > slack)
        short_first.append(local - width - FIRST_INDENT > slack)
        narrow.append(width <= HEADLINE_FRACTION * local)
    return short, short_first, narrow


def _headline_line(line, narrow):
    return (narrow and len(line.text) <= HEADLINE_LINE_MAX and line.level is None
            and not _NO_HEADLINE.search(line.text) and not ends_sentence(line.text, colon=True))


def _headline_runs(lines, narrow, blank_breaks):
    """Lines that may start or continue a headline.

    Where blank lines separate paragraphs, a headline is a whole block: a run of
    headline-like lines ending at a blank line. A paragraph's first line can look
    like a headline (short, no comma) but is followed by its second line."""
    n = len(lines)
    like = [_headline_line(line, narrow[i]) for i, line in enumerate(lines)]
    if not blank_breaks:
        return like
    ok = [False] * n
    for i in range(n - 1, -1, -1):
        ok[i] = like[i] and (i + 1 == n or lines[i + 1].blank or ok[i + 1])
    return ok


def _heading_lines(lines, short, headline):
    """Per line: is it a heading on its own (when it follows a closed sentence)?
    Numbered: short, no sentence or clause punctuation (a colon inside is allowed:
    "（一）上海：突出资本市场功能"). Unnumbered: a headline."""
    return [(short[i] and len(line.text) <= HEADLINE_MAX
             and not _NO_NUMBERED_HEADING.search(line.text, 1)) if line.level is not None else headline[i]
            for i, line in enumerate(lines)]


def _append(buf, text):
    if buf and _ASCII_LETTER.match(buf[-1]) and _ASCII_LETTER.match(text[0]):
        return buf + " " + text
    return buf + text


def join_lines(lines, blank_breaks, heading_sep="", complete=False):
    """Rejoin hard-wrapped lines into ``[(kind, text)]``, kind "heading" or "text".
    ``complete``: the format marks paragraphs (web page, Word), no line is a wrap."""
    short, short_first, narrow = _line_shape([line.width for line in lines], complete)
    headline = _headline_runs(lines, narrow, blank_breaks)
    heading = _heading_lines(lines, short, headline)
    paragraphs = []
    kind, buf, first_line = None, "", False
    for i, line in enumerate(lines):
        text = line.text
        if kind == "heading":
            if (headline[i] and len(buf) + len(text) <= LONG_HEADLINE_MAX
                    and not (blank_breaks and line.blank)):
                buf += heading_sep + text
                continue
        elif kind == "text" and not complete and not _paragraph_ends(
                buf, line, i, lines, short, short_first, heading, first_line, blank_breaks):
            buf = _append(buf, text)
            first_line = False
            continue
        if kind:
            paragraphs.append((kind, buf))
        kind = "heading" if heading[i] else "text"
        buf, first_line = text, True
    if kind:
        paragraphs.append((kind, buf))
    return paragraphs


def _opens_paragraph(text):
    """A line that, after a full stop, starts a new paragraph (furniture.yaml `openers`)."""
    openers = rules()["openers"]
    return bool(openers and openers.search(text))


def _paragraph_ends(buf, line, i, lines, short, short_first, heading, first_line, blank_breaks):
    """Does the paragraph in ``buf`` end before ``line``? (see module docstring, step 3)"""
    tail = buf[-TAIL:]
    if not ends_sentence(tail, colon=True):
        return False
    if line.level is not None or heading[i]:
        return True
    full_stop = tail.rstrip(CLOSERS)[-1:] in "。！？!?"
    if full_stop and (_ENUMERATION.match(line.text) or _opens_paragraph(line.text)):
        return True
    prev_short = short_first[i - 1] if first_line else short[i - 1]
    return prev_short or (blank_breaks and line.blank)


# ---------------------------------------------------------------- paragraph passes


def split_glued_items(paragraphs):
    """Cut a text paragraph where a numbered item glued to the previous one starts.

    Extraction sometimes puts "一、强化信贷支持（一）……。（二）……。" on one line. A
    numbering pattern is an item of its own when it follows a sentence end and the
    item numbered one less, of the same pattern, opens the paragraph or was itself
    cut off — or when it is item 1 (（一）, 1.) right after a sentence end, or right
    after a numbered heading that opens the paragraph and has no punctuation
    ("一、强化信贷支持"). A lone "。（三）" quoting an item elsewhere does not cut."""
    out = []
    for kind, text in paragraphs:
        if kind != "text":
            out.append((kind, text))
            continue
        cuts, last = [], {}
        first = _GLUED_ITEM.match(text)
        if first:
            last[_item_key(first)] = _item_number(first)
        for m in _GLUED_ITEM.finditer(text, 1):
            key, number = _item_key(m), _item_number(m)
            if number is None or key in ("ard", "cnd") and not first:
                continue
            segment = text[cuts[-1] if cuts else 0:m.start()]
            after_stop = text[m.start() - 1] in _GLUE_AFTER
            after_heading = (first is not None and not cuts and len(segment) <= HEADLINE_MAX
                             and not _NO_HEADLINE.search(segment))
            if ((after_stop and last.get(key) == number - 1)
                    or (number == 1 and key not in last and first is not None
                        and (after_stop or after_heading))):
                cuts.append(m.start())
                last[key] = number
        if not cuts:
            out.append((kind, text))
            continue
        bounds = [0, *cuts, len(text)]
        out.extend(("text", text[a:b]) for a, b in zip(bounds, bounds[1:]) if text[a:b].strip())
    return out


_GLUE_AFTER = "。；;！？!?"
_GLUED_ITEM = re.compile(
    r"(?P<cnp>[（(])(?P<cn>[一二三四五六七八九十]{1,3})[）)]"
    r"|(?P<cnd>[一二三四五六七八九十]{1,3})、"
    r"|(?P<arp>[（(])(?P<ar>\d{1,2})[）)]"
    r"|(?P<ard>\d{1,2})[.．、](?![\d.．])")


def _item_key(m):
    return next(k for k in ("cn", "cnd", "ar", "ard") if m.group(k))


def _item_number(m):
    value = m.group(_item_key(m))
    if value.isdigit():
        return int(value)
    try:
        return int(cn2an.cn2an(value, "strict"))
    except ValueError:
        return None



def _merge_leadins(paragraphs, notice_title):
    """Join "内容摘要：" / addressee lines to what follows; keep a notice title with its text."""
    out = []
    for kind, text in paragraphs:
        if out and _is_leadin(*out[-1]):
            out[-1] = (kind, out[-1][1] + text)
        else:
            out.append((kind, text))
    if not notice_title:
        return out
    merged = []
    for kind, text in out:
        if (merged and merged[-1][0] == "heading" and kind == "text"
                and notice_title.search(merged[-1][1]) and _addressed(text)):
            merged[-1] = ("text", merged[-1][1] + " " + text)
        else:
            merged.append((kind, text))
    return merged


def _is_leadin(kind, text):
    return (kind == "text" and len(text) <= LEADIN_MAX and text[-1] in "：:"
            and numbered_level(text) is None)


def _addressed(text):
    """Starts with an addressee ("各区人民政府,市人民政府各部门:")."""
    return _COLON.search(text, 0, LEADIN_MAX + 1) is not None


def drop_near_duplicates(paragraphs):
    """Drop short text paragraphs mostly repeated (4-grams) inside one longer paragraph.

    Linear: an inverted index from sampled 4-grams to paragraphs; grams found in more
    than DUP_POSTINGS_MAX paragraphs are stock phrases and do not count. A paragraph
    holding ``need`` of a candidate's k counted grams holds one of any k - need + 1 of
    them, so only the paragraphs listed under the candidate's k - need + 1 rarest grams
    are compared with it (set intersection)."""
    norm = [_NON_WORD.sub("", text) if kind == "text" else "" for kind, text in paragraphs]
    grams = [_sampled_grams(n) for n in norm]
    postings = defaultdict(list)
    for i, gs in enumerate(grams):
        for g in gs:
            postings[g].append(i)
    rank = [(len(n), -i) for i, n in enumerate(norm)]  # "longer" = larger rank
    kept = [True] * len(paragraphs)
    candidates = (i for i, n in enumerate(norm)
                  if DUP_MIN_LEN <= len(n) <= DUP_MAX_LEN and len(grams[i]) >= 4)
    for i in sorted(candidates, key=rank.__getitem__):
        counted = sorted((len(postings[g]), g) for g in grams[i] if len(postings[g]) <= DUP_POSTINGS_MAX)
        need = math.ceil(DUP_COVERAGE * len(grams[i]))
        spare = len(counted) - need + 1
        if spare <= 0:
            continue
        own = {g for _n, g in counted}
        others = set(chain.from_iterable(postings[g] for _n, g in counted[:spare]))
        if any(kept[j] and rank[j] > rank[i] and len(own & grams[j]) >= need for j in others):
            kept[i] = False
    return [p for p, keep in zip(paragraphs, kept) if keep]


def _sampled_grams(text):
    """The 4-grams starting at a character whose code is divisible by 4 — about a
    quarter of them, chosen by content, so two copies of a passage pick the same."""
    return set(_SAMPLED_GRAM.findall(text))


def _curate(paragraphs, rules_for_doc):
    """Apply the curated corrections of one document; returns plain strings."""
    sections = rules_for_doc.get("sections") or []
    drops = tuple(rules_for_doc.get("drop") or ())
    headings = {_norm(s["heading"]) for s in sections}
    out = []
    pending = list(sections)
    for kind, text in paragraphs:
        if (drops and text.startswith(drops)) or _norm(text) in headings:
            continue
        for section in pending:
            if text.startswith(section["before"]):
                out.append("# " + section["heading"])
                pending.remove(section)
                break
        out.append(text)
    return out
