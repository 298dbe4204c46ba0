"""Search: one query model (``query`` → ``rank`` → ``snippet``), executed over the Whoosh index
for the command line (:mod:`kb.search.whoosh_source`), over the static index files for the
browser (``kb.static_index`` and its JavaScript twin) and over analysis tokens as the
reference (:mod:`kb.search.reference`).

:func:`run` is the whole model for one query over any source.
"""

from .entities import gazetteer
from .query import MAX_PARTS, MAX_QUERY_CHARS, MAX_WORD_CHARS, corrections, load_rules, plan_query
from .rank import rank as rank_passages
from .snippet import SNIPPET_CHARS, snippet as make_snippet

__all__ = ["run", "plan_query", "rank_passages", "make_snippet", "gazetteer", "load_rules", "Searcher",
           "MAX_PARTS", "MAX_QUERY_CHARS", "SNIPPET_CHARS", "notices", "chips"]


def notices(plan, ranked):
    """What the user is told about a query beside the results (caps, absent concepts,
    partial matches)."""
    out = list(plan["notices"])
    if ranked["absent"]:
        out.append("没有找到：" + "、".join(f"“{t}”" for t in ranked["absent"]))
    present = [c["text"] for c in plan["concepts"] if c["text"] not in ranked["absent"]]
    if ranked["hits"] and not ranked["full"] and len(present) > 1:
        out.append("没有同时包含" + "、".join(f"“{t}”" for t in present) + "的段落，以下为部分匹配")
    return out


def chips(plan, city_names, instrument_labels):
    """Recognised entities of a query: [{"kind": "city"|"instrument", "text", "label"}]."""
    out = []
    for c in plan["concepts"]:
        if c["kind"] == "city":
            names = [city_names.get(s, s) for s in c["cities"]]
            if len(names) != 1:
                label = f"{c['text']}（{len(names)} 个城市）"
            elif c["text"] in (names[0], names[0] + "市"):
                label = names[0]
            else:
                label = f"{names[0]}（{c['text']}）"
            out.append({"kind": "city", "text": c["text"], "label": f"城市：{label}"})
        elif c["kind"] == "instrument":
            label = instrument_labels.get(c["instrument"], c["instrument"])
            out.append({"kind": "instrument", "text": c["text"], "label": f"政策工具：{label}"})
    return out


def run(query, source, gaz, rules=None, filters=None, max_chars=None):
    """The query model over ``source``: {"plan", "ranked", "ids" (filtered, best first),
    "notices"}. Without query concepts, the filters alone list passages in index order."""
    max_chars = max_chars or MAX_WORD_CHARS
    fixes = corrections(query, source.has_word, gaz, source.prefix_words, source.df, max_chars, rules)
    plan = plan_query(query, source.has_word, gaz, rules, max_chars, fixes)
    filters = {k: v for k, v in (filters or {}).items() if v}
    if plan["concepts"]:
        ranked = rank_passages(plan, source)
        idxs = [h[0] for h in ranked["hits"]]
    else:
        ranked = {"hits": [], "matched": {}, "absent": [], "full": 0}
        idxs = source.browse(filters) if filters else []
    if filters:
        idxs = [i for i in idxs if source.passes(i, filters)]
    return {"plan": plan, "ranked": ranked, "idxs": idxs, "notices": notices(plan, ranked)}


def __getattr__(name):  # the Whoosh searcher is imported lazily (Whoosh is heavy)
    if name == "Searcher":
        from .whoosh_source import Searcher

        return Searcher
    raise AttributeError(name)
