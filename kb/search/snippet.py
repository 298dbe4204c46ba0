"""The query model, part 3: the snippet that explains a match.

Every concept of the query is looked for in the passage (on the normalised, folded text, so
首台套 is found in 首台（套）): its own text, and for a city concept the names of its cities, for
an instrument concept every label and cue of the instrument (the sentence where the
instrument's cue fired). The window of ``SNIPPET_CHARS`` characters covering the most distinct
concepts is shown (ties: the earliest); when two windows of half that size together cover more
concepts than any single window, both are shown, joined by "…". Every occurrence inside what
is shown is highlighted. ``kb-snippet.js`` is the browser's twin.
"""

from .. import analysis

SNIPPET_CHARS = 120  # a window starts width // 6 characters before its first match


def needles(plan, tables):
    """[[needle, …] per concept]: the strings that show a concept in a text: its own text; for
    a city concept the name and name+市 of its cities; for an instrument concept the label and
    cues of the instrument (``tables``: :func:`kb.search.entities.needle_tables`)."""
    names, cues = tables.get("names", {}), tables.get("cues", {})
    out = []
    for c in plan["concepts"]:
        found = [c["text"]]
        if c["kind"] == "term" and len(c["words"]) > 1:
            found += [w for w in c["words"] if len(w) > 1]
        for slug in c["cities"]:
            if slug in names:
                found += [names[slug], names[slug] + "市"]
        if c["instrument"]:
            found += cues.get(c["instrument"], [])
        out.append(sorted(set(found), key=lambda s: (-len(s), s)))
    return out


def spans(text, concept_needles):
    """[(start, end, concept index)] of every needle occurrence in ``text`` (original
    offsets), sorted."""
    norm = analysis.normalize(text)
    folded, offsets = analysis.fold_variants(norm)
    out = []
    for k, group in enumerate(concept_needles):
        for needle in group:
            start = folded.find(needle)
            while start >= 0:
                out.append((*analysis.unfold_span(norm, offsets, start, start + len(needle)), k))
                start = folded.find(needle, start + 1)
    return sorted(set(out))


def _cover(found, start, width):
    return {k for s, e, k in found if s >= start and e <= start + width}


def _best(found, length, width, taken=frozenset(), avoid=None):
    best = None
    for s, _e, _k in found:
        start = max(0, min(s - width // 6, length - width))
        if avoid and start < avoid[1] and start + width > avoid[0]:
            continue
        score = len(_cover(found, start, width) | taken)
        if best is None or score > best[0] or (score == best[0] and start < best[1]):
            best = (score, start)
    return best


def windows(text, found, width=SNIPPET_CHARS):
    """[(start, end)] of the fragment(s) to show."""
    length = len(text)
    if not found or length <= width:
        return [(0, min(length, width))]
    one = _best(found, length, width)
    concepts = {k for _s, _e, k in found}
    if one[0] < len(concepts):
        half = width // 2
        first = _best(found, length, half)
        cover1 = _cover(found, first[1], half)
        second = _best(found, length, half, frozenset(cover1), avoid=(first[1], first[1] + half))
        if second is not None and second[0] > one[0]:
            return sorted([(first[1], first[1] + half), (second[1], second[1] + half)])
    return [(one[1], min(length, one[1] + width))]


def render(text, found, frags, mark=("【", "】"), escape=str):
    """The fragments of ``text`` with every span highlighted, "…" where text is left out."""
    merged = []
    for s, e, _k in found:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out = []
    for i, (fs, fe) in enumerate(frags):
        out.append("…" if fs > 0 and (i == 0 or fs > frags[i - 1][1]) else "")
        cursor = fs
        for s, e in merged:
            if e <= fs or s >= fe:
                continue
            s, e = max(s, fs), min(e, fe)
            out.append(escape(text[cursor:s]) + mark[0] + escape(text[s:e]) + mark[1])
            cursor = e
        out.append(escape(text[cursor:fe]))
    if frags and frags[-1][1] < len(text):
        out.append("…")
    return "".join(out)


def snippet(text, plan, tables, mark=("【", "】"), width=SNIPPET_CHARS):
    """The highlighted snippet of ``text`` for a query plan (``tables``: needle tables)."""
    found = spans(text, needles(plan, tables))
    return render(text, found, windows(text, found, width), mark)
