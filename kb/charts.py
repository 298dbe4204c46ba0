"""Key-figure comparison across cities: which figure of each city to compare.

``comparison_rows(figures, metric, cities=None, kind=None, vocab=None)`` picks, per
city, the figure to compare for one metric (see its docstring) and converts values to
one unit. The compare page shows these rows as a table, each with the clause that says
what the number measures (kb.render.text.figure_measure); it draws no bar chart, because
one city's all-funds total and another's single fund are not alike things.

Output is deterministic (same figures in any order → the same rows).
"""

from .figures import OTHER, base_counter, convert, metrics_for, unit_family

KINDS = ("actual", "target")
DATE_WARNING_MONTHS = 12


# ----------------------------------------------------------------------------- dates


def date_months(as_of):
    """"2024-06" → 2024*12+6; a bare year counts as its December; None → None."""
    if not as_of:
        return None
    text = str(as_of)
    try:
        year = int(text[:4])
        month = int(text[5:7]) if len(text) >= 7 else 12
    except ValueError:
        return None
    return year * 12 + month


# ----------------------------------------------------------------------------- rows


def _metric(metric, vocab):
    for m in metrics_for(vocab):
        if m.slug == metric:
            return m
    return None


def to_unit(value, unit, target, counters=()):
    """``convert``, plus: counters a metric lists as equivalent (家/户, 支/只) compare as
    its unit (1.8 万户 → 18000 家)."""
    if value is None or not unit:
        return None
    if counters and unit_family(unit) == "count":
        base = base_counter(unit)
        if base in counters and base != base_counter(target):
            unit = unit[: len(unit) - len(base)] + base_counter(target)
    return convert(value, unit, target)


def _comparison_unit(metric, candidates, vocab):
    """The unit a metric is compared in: the vocabulary's, else the most common one."""
    m = _metric(metric, vocab)
    if m is not None and m.unit:
        return m.unit
    counts = {}
    for f in candidates:
        unit = f.get("norm_unit") or f.get("unit")
        counts[unit] = counts.get(unit, 0) + 1
    if not counts:
        return None
    return sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[0][0]


def _label(metric, vocab):
    m = _metric(metric, vocab)
    if m is not None:
        return m.label
    return "其他" if metric == OTHER else metric


def effective_months(f):
    """The figure's as-of date in months; undated figures count as of the December
    before their document's year (a 2025 report's "目前" is at least end-2024)."""
    months = date_months(f.get("as_of"))
    if months is None and f.get("doc_year"):
        months = int(f["doc_year"]) * 12
    return months


def _pick(cands):
    """The figure to compare among one city's candidates [(figure, value)].

    City-wide figures beat figures about one institution; then, among the figures
    dated within DATE_WARNING_MONTHS of the newest, the largest value (a city total
    rather than one fund's or one event's share of it), dated before undated, then
    the earliest passage."""
    city_level = [c for c in cands if c[0].get("scope", "city") != "institution"]
    cands = city_level or cands
    eff = [effective_months(f) for f, _v in cands]
    known = [m for m in eff if m is not None]
    newest = max(known) if known else None
    window = [c for c, m in zip(cands, eff)
              if newest is None or (m is not None and m >= newest - DATE_WARNING_MONTHS)]
    return min(window, key=lambda c: (-c[1], c[0].get("as_of") is None,
                                      str(c[0].get("passage") or "")))


def comparison_rows(figures, metric, cities=None, kind=None, vocab=None):
    """Rows for comparing ``metric`` across cities, one per (city, kind).

    Per city the most recent ``actual`` figure is picked, and separately the latest
    ``target`` (``kind`` restricts to one of them): a city-wide figure beats one about a
    single institution ("该行…"); among the figures dated within a year of the city's
    newest one the largest wins (the city total rather than one fund's share). Values are converted to the metric's comparison unit (万亿元/亿元/万元 → 亿元,
    万家 → 家…); figures whose unit cannot be converted are left out.

    Each row: city, metric, label, kind, value, value_max, from_value, unit (the
    comparison unit), orig_value, orig_unit, printed, qualifier, as_of, cumulative,
    scope, passage, doc, quote, url, date_warning (the dates compared across the
    cities of this kind differ by more than a year, or some are unknown), date_gap_months
    (how much older this row is than the newest). Sorted: actual rows first, then by
    value (largest first), then city.
    """
    wanted = set(cities) if cities is not None else None
    candidates = [f for f in figures
                  if f.get("metric") == metric and f.get("city")
                  and (wanted is None or f["city"] in wanted)
                  and f.get("value") is not None]
    unit = _comparison_unit(metric, candidates, vocab)
    if unit is None:
        return []
    info = _metric(metric, vocab)
    counters = info.counters if info is not None else ()
    label = _label(metric, vocab)
    kinds = (kind,) if kind else KINDS
    rows = []
    for k in kinds:
        per_city = {}
        for f in candidates:
            if (f.get("kind") or "actual") != k:
                continue
            value = to_unit(f["value"], f.get("unit"), unit, counters)
            if value is None or unit_family(f.get("unit") or "") != unit_family(unit):
                continue
            per_city.setdefault(f["city"], []).append((f, value))
        group = []
        for city in sorted(per_city):
            f, value = _pick(per_city[city])
            group.append({
                "city": city, "metric": metric, "label": label, "kind": k,
                "value": value,
                "value_max": to_unit(f.get("value_max"), f.get("unit"), unit, counters),
                "from_value": to_unit(f.get("from_value"), f.get("unit"), unit, counters),
                "unit": unit, "orig_value": f["value"], "orig_unit": f.get("unit"),
                "printed": f.get("printed"), "qualifier": f.get("qualifier"),
                "as_of": f.get("as_of"), "doc_year": f.get("doc_year"),
                "cumulative": bool(f.get("cumulative")),
                "scope": f.get("scope", "city"), "passage": f.get("passage"),
                "doc": f.get("doc"), "quote": f.get("quote"), "url": f.get("url"),
            })
        months = [date_months(r["as_of"]) for r in group]
        known = [m for m in months if m is not None]
        newest = max(known) if known else None
        spread = (max(known) - min(known)) if known else 0
        warn = len(group) >= 2 and (spread > DATE_WARNING_MONTHS or len(known) < len(group))
        for r, m in zip(group, months):
            r["date_warning"] = warn
            r["date_gap_months"] = (newest - m) if (m is not None and newest is not None) else None
        group.sort(key=lambda r: (-r["value"], r["city"]))
        rows.extend(group)
    return rows
