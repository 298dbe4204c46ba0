"""Small formatting helpers and the site's wording (kb/data/site.yaml): the sentence where a
cue fired, what a key figure measures, number/size/date formats."""

import math
import re

import yaml

from .. import charts, urls
from .config import COMPARE_EXCERPT, DATA_DIR


def _get(obj, name, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


_q = urls.segment


_months = charts.date_months  # "2024-06" -> 2024*12+6; a bare year counts as its December


def _fmt_number(value):
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer():
            return f"{int(value):,}"
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _human_size(n):
    if n < 1024:
        return f"{n} B"
    for unit in ("KB", "MB", "GB"):
        n /= 1024
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}"
    return f"{n} B"  # pragma: no cover


def _bucket(count, maximum):
    """Shading class for a matrix cell: b0 (empty) … b4 (top quarter of the maximum)."""
    if not count:
        return 0
    return max(1, min(4, math.ceil(4 * count / max(maximum, 1))))


def _plain_aliases(city):
    """A city's aliases without the regular-expression ones ("re:…", see cities.yaml)."""
    return [a for a in (city.get("aliases") or []) if not str(a).startswith("re:")]


# --------------------------------------------------------------------------- wording

def _load_site_text():
    data = yaml.safe_load((DATA_DIR / "site.yaml").read_text(encoding="utf-8")) or {}
    return data


SITE_TEXT = _load_site_text()
YEAR_LABELS = SITE_TEXT["year_labels"]   # {"doc": "发布年份", "passage": "所述年份"}

_SENTENCE = re.compile(r"[^。！？；!?;]+[。！？；!?;]*")
_CLAUSE = re.compile(r"[^，,；;。：:！？!?]+")


def cue_sentence(text, cues=(), limit=None):
    """The sentence of ``text`` where one of ``cues`` occurs (else the first sentence),
    cut to about ``limit`` characters around the cue."""
    limit = limit or COMPARE_EXCERPT
    text = text or ""
    sentences = [m.group(0).strip() for m in _SENTENCE.finditer(text)] or [text]
    terms = sorted({str(c) for c in cues or () if c}, key=len, reverse=True)
    chosen, at = sentences[0], -1
    for sentence in sentences:
        hits = [sentence.find(t) for t in terms if t in sentence]
        if hits:
            chosen, at = sentence, min(hits)
            break
    if len(chosen) <= limit:
        return chosen
    start = 0 if at < 0 else max(0, min(at - limit // 3, len(chosen) - limit))
    out = chosen[start:start + limit]
    return ("…" if start else "") + out + ("…" if start + limit < len(chosen) else "")


def figure_measure(f, limit=40):
    """What a key figure measures, in the source's words: the clause of its quote that holds
    the printed number (with the clause before it when that one alone is too short to say
    which fund, body or total it is), e.g. ``共管理基金159支，总规模超1900亿元``."""
    quote = f.get("quote") or ""
    printed = str(f.get("printed") or "")
    clauses = [m.group(0).strip() for m in _CLAUSE.finditer(quote)]
    clauses = [c for c in clauses if c]
    if not clauses:
        return ""
    idx = next((i for i, c in enumerate(clauses) if printed and printed in c), None)
    if idx is None:
        value = _fmt_number(f.get("value")).replace(",", "")
        idx = next((i for i, c in enumerate(clauses) if value and value in c), len(clauses) - 1)
    text = clauses[idx]
    if len(text) < 14 and idx > 0:
        text = clauses[idx - 1] + "，" + text
    if len(text) > limit:
        text = "…" + text[-limit:]
    return text


def _figure_sort_key(f):
    return (str(f.get("metric") or ""), str(f.get("kind") or ""), str(f.get("as_of") or ""),
            str(f.get("passage") or ""), str(f.get("value")))
