"""Key-figure comparison across cities: table rows and an inline SVG bar chart.

``comparison_rows(figures, metric, cities=None, kind=None, vocab=None)`` picks, per
city, the figure to compare for one metric (see its docstring) and converts values to
one unit; ``bar_chart_svg(rows, title)`` draws them as a horizontal bar chart in plain
SVG markup (no chart library, no external resources, no style attributes — the site's
stylesheet styles the classes, presentation attributes are the fallback).

Output is deterministic (same rows → byte-identical SVG) and every piece of corpus
text (city names, quotes, titles) is XML-escaped.
"""

from xml.sax.saxutils import escape as _xml_escape

from .figures import OTHER, base_counter, convert, metrics_for, unit_family

KINDS = ("actual", "target")
KIND_LABELS = {"actual": "实际", "target": "目标"}
QUALIFIER_TEXT = {"approx": "约", "over": "超", "under": "不足", "at-least": "不少于",
                  "at-most": "最高"}
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


def comparable_metrics(figures, cities=None, min_cities=2, vocab=None):
    """Slugs of vocabulary metrics with an actual or target figure for ``min_cities``+ cities."""
    out = []
    for m in metrics_for(vocab):
        rows = comparison_rows(figures, m.slug, cities=cities, vocab=vocab)
        for k in KINDS:
            if len({r["city"] for r in rows if r["kind"] == k}) >= min_cities:
                out.append(m.slug)
                break
    return out


# ----------------------------------------------------------------------------- SVG

WIDTH = 680
LABEL_W = 120
VALUE_W = 220
BAR_H = 22
GAP = 10
PAD = 8
FONT = "'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif"
BAR_FILL = "#2f6f9f"
TARGET_FILL = "#a9c6dd"


def esc(text):
    """XML-escape text for element content and double- or single-quoted attributes."""
    return _xml_escape(str(text), {'"': "&quot;", "'": "&#39;"})


def fmt_number(value, precision=2):
    """Fixed-precision number without trailing zeros: 5872.92, 10000, 0.5."""
    if value is None:
        return ""
    text = f"{float(value):.{precision}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _c(x):
    """A coordinate with one decimal (deterministic)."""
    return f"{x:.1f}"


def _bars(rows, unit):
    """Normalise rows (comparison rows or (label, value) pairs) to bar dicts."""
    bars = []
    for row in rows:
        if isinstance(row, dict):
            value = row.get("value")
            if value is None:
                continue
            kind = row.get("kind") or "actual"
            u = row.get("unit") or unit or ""
            qual = QUALIFIER_TEXT.get(row.get("qualifier"), "")
            amount = fmt_number(value)
            if row.get("value_max") is not None:
                amount += "–" + fmt_number(row["value_max"])
            text = f"{qual}{amount} {u}".strip()
            if row.get("as_of"):
                text += f"（{row['as_of']}）"
            label = str(row.get("city") or "")
            if kind != "actual":
                label += f"（{KIND_LABELS.get(kind, kind)}）"
            tip = f"{label}：{text}"
            if row.get("quote"):
                tip += f" — {row['quote']}"
            bars.append({"label": label, "value": float(value), "text": text, "kind": kind,
                         "tip": tip, "warn": bool(row.get("date_warning"))})
        else:
            label, value = row[0], row[1]
            if value is None:
                continue
            text = f"{fmt_number(value)} {unit or ''}".strip()
            bars.append({"label": str(label), "value": float(value), "text": text,
                         "kind": "actual", "tip": f"{label}：{text}", "warn": False})
    return bars


def bar_chart_svg(rows, title, unit=None):
    """A horizontal bar chart as inline SVG markup.

    ``rows``: comparison rows (``comparison_rows``) or ``(label, value)`` pairs (then
    ``unit`` names their unit). Target rows are drawn lighter and labelled （目标）.
    The chart has role="img", an aria-label and a <title>; each bar has its own
    <title> (city, value, date, quote)."""
    bars = _bars(rows, unit)
    n = max(len(bars), 1)
    height = PAD * 2 + n * BAR_H + (n - 1) * GAP
    plot_w = WIDTH - LABEL_W - VALUE_W
    top = max((b["value"] for b in bars), default=0.0)
    t = esc(title)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" role="img" '
           f'aria-label="{t}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
           f'font-family="{esc(FONT)}" font-size="13">',
           f"<title>{t}</title>"]
    if not bars:
        out.append(f'<text x="{_c(WIDTH / 2)}" y="{_c(PAD + BAR_H * 0.7)}" text-anchor="middle" '
                   f'class="chart-empty" fill="#555">暂无可比数据</text>')
    for i, b in enumerate(bars):
        y = PAD + i * (BAR_H + GAP)
        w = plot_w * max(b["value"], 0.0) / top if top > 0 else 0.0
        if b["value"] > 0:
            w = max(w, 1.0)
        target = b["kind"] == "target"
        cls = "chart-bar chart-bar-target" if target else "chart-bar"
        fill = TARGET_FILL if target else BAR_FILL
        text_y = _c(y + BAR_H * 0.72)
        value_text = b["text"] + (" ⚠" if b["warn"] else "")
        out.append('<g class="chart-row">')
        out.append(f"<title>{esc(b['tip'])}</title>")
        out.append(f'<text x="{_c(LABEL_W - 8)}" y="{text_y}" text-anchor="end" '
                   f'class="chart-label" fill="#222">{esc(b["label"])}</text>')
        out.append(f'<rect x="{_c(LABEL_W)}" y="{_c(y)}" width="{_c(w)}" height="{_c(BAR_H)}" '
                   f'class="{cls}" fill="{fill}"/>')
        out.append(f'<text x="{_c(LABEL_W + w + 6)}" y="{text_y}" class="chart-value" '
                   f'fill="#222">{esc(value_text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
