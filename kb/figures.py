"""Stage — figures: the key numbers each city reports (关键数字), out of tagged passages.

``extract(passages, vocab=None) -> [figure]`` finds every quantitative statement
(a number with a unit) in the passages and returns one dict per figure::

    {"city", "metric", "label", "value", "value_max", "from_value", "unit", "printed",
     "norm_value", "norm_unit", "family", "as_of", "kind" (actual|target), "cumulative",
     "qualifier" (approx|over|under|at-least|at-most|None), "scope" (city|institution),
     "province", "instrument", "passage", "doc", "doc_year", "quote"}

* **value / unit** are as printed, with the multiplier folded into the unit:
  "超万亿元" → 1 万亿元, "1.8万余家" → 1.8 万家, "近千亿元" → 1000 亿元.
  ``norm_value``/``norm_unit`` give the same amount in a base unit (money → 亿元,
  counts → the bare counter, e.g. 万家 → 家) so figures can be compared.
* **ranges** ("10万元至200万元", "80%至90%") are one figure: ``value`` is the low end,
  ``value_max`` the high end. **Changes** ("由23家增至41家") are one figure: the new
  value, with ``from_value`` the old one.
* **metric** comes from the controlled vocabulary ``kb/data/metrics.yaml`` (data, not
  code): cue patterns that must occur next to the number. No cue → ``"other"``.
* **as_of** ("2024-06", "2024-12", "2027"…) is taken from the same sentence (the date
  nearest before the number, else one later in the same clause), else from one of the
  two sentences before it in the passage (not when the sentence says 目前/至今); never
  from a later sentence. Comparison dates ("较2019年末") and "since" dates
  ("2022年以来", "自2022年") are not as-of dates, except a since-date of the document's
  own year (今年以来 → that year). A date printed without a year ("截至9月末",
  "上半年") takes the document's year.
* **kind** is ``target`` for "到2027年…" (a year not before the document's), future
  dates, 力争/争取/预计/冲刺/确保/目标/拟/将达到…, the 目标 section of a plan and the
  tasks of a policy document (one with 责任单位 lines); else ``actual``.
* **city**: the passage's subject city when it has one; with several, the one named
  nearest before the number in the same sentence; else None. **scope** is
  ``institution`` when the sentence is about one bank/fund ("该行…", "…，汉口银行…").

Amounts in Chinese numerals (五亿元, 两千万元, 一百家, 十余家, 百分之二十) are read with cn2an.

Not figures: years, dates, counts of times (次), ordinals (第一), document numbers (67号),
programme names in quotes ("965"产业集群, “3200上市后备企业培育”), numbers without a unit,
vague Chinese numerals (一批, 两大, 数百亿, 一家银行), and what the ``not_figures`` rules of
metrics.yaml describe: eligibility thresholds (对年营业收入不超过2亿元的企业) and size
classes (单户授信1000万元以下科技贷款). A metric cue may carry ``unless`` (挂牌 on a
regional equity market's board is not a stock-exchange listing).

``coverage(figures)`` and ``coverage_report(figures)`` tell a curator how many figures
found a metric and show the quotes of those that did not.
"""

import bisect
import re
from pathlib import Path

import cn2an
import yaml

from .analysis import normalize
from .errors import InputError

DATA_DIR = Path(__file__).parent / "data"
METRICS_FILE = DATA_DIR / "metrics.yaml"
OTHER = "other"
QUOTE_MAX = 120
FAMILIES = ("money", "count", "percent", "ratio", "point", "usd")
QUALIFIERS = ("approx", "over", "under", "at-least", "at-most")

# ----------------------------------------------------------------------------- units

# Money units and their size in 亿元.
MONEY_UNITS = {"元": 1e-8, "万元": 1e-4, "亿元": 1.0, "万亿元": 1e4}
# Multipliers folded into the value: 千亿 → ×1000 亿.
_MULT_SCALE = {"千亿": (1000, "亿"), "百亿": (100, "亿"), "千万": (1000, "万"),
               "百万": (100, "万"), "千": (1000, ""), "亿": (1, "亿"), "万": (1, "万"),
               "万亿": (1, "万亿"), None: (1, "")}
_MULT_FACTOR = {"": 1, "万": 1e4, "亿": 1e8, "万亿": 1e12}
COUNTERS = ("家次", "人次", "家", "支", "只", "个", "户", "笔", "款", "项", "种", "名", "人", "所",
            "类", "条", "张", "场", "期", "单", "位", "台", "套", "件")
_UNIT_ALT = "个百分点|百分点|美元|元|%|‰|倍|" + "|".join(COUNTERS)
# (a single line break is not a mark: raw text may still hold hard wraps)
_CLAUSE_MARKS = ",;:。!?"
_SENT_MARKS = "。!?"
_CUE_GAP_MARKS = ",;:。!?"
CUE_WINDOW = 80  # characters before a number searched for its metric's cues
CJK_CLASS = "\u3400-\u4dbf\u4e00-\u9fff"

_ARABIC_RE = re.compile(
    r"(?<![0-9a-z.])(?P<num>\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?P<dec>\.\d+)?"
    r"(?:(?P<sp>[ \t\u00a0]*)(?P<yu1>余|多)?(?P<mult>万亿|千亿|百亿|千万|百万|亿|万|千)?(?P<yu2>余|多)?"
    r"[ \t\u00a0\n]*(?P<unit>" + _UNIT_ALT + r"))?"
)
# A bare multiplier ("100万至2000万不等") is money when followed by one of these.
_BARE_MULT_OK = set("不的至到以左上等、和及或-—~")
# Amounts and counts in Chinese numerals (五亿元, 两千万元, 一百家, 十余家, 百分之二十):
# the numeral is converted by cn2an. A numeral needs a digit word (一…九, 两, 零) or a
# leading 十: 百亿 / 千亿 alone are _CN_MONEY_RE's, 百家 / 千家 are vague.
_CN_NUMERAL = "零一二两三四五六七八九十百千"
_CN_AMOUNT_RE = re.compile(
    rf"(?<![{_CN_NUMERAL}万亿第每唯首同任某哪这那另数几单逐周星礼])"
    r"(?P<num>(?=[零一二两三四五六七八九十])[零一二两三四五六七八九十百千]+)"
    r"(?P<yu1>余|多)?(?P<mult>万亿|亿|万)?(?P<yu2>余|多)?"
    r"(?P<unit>元|支|只|家|项|款|单|笔|户)"
)
_CN_PERCENT_RE = re.compile(r"百分之(?P<num>[零一二两三四五六七八九十百]+)")
_CN_ONE_OK = set("支只")
# "超万亿元", "近千亿元", "百亿规模": a multiplier with no digits.
_CN_MONEY_RE = re.compile(
    r"(?<![0-9零一二两三四五六七八九十百千万亿数几上过])(?P<m>千|百|十)?(?P<base>万亿|亿)"
    r"(?:(?P<yuan>元)|(?=规模|级))"
)

_QUOTE_OPEN = set("“\"《「‘『〔【")

# Prefix qualifiers, tried in order on the text just before the number.
_PREFIX_QUALIFIERS = [
    (re.compile(r"(?:最高|最多|上限)[^\d,;:。、]{0,8}$"), "at-most"),
    (re.compile(r"(?:不超过|不高于|不多于|至多)\s*$"), "at-most"),
    (re.compile(r"(?:不低于|不少于|至少|最低)[^\d,;:。、]{0,10}$"), "at-least"),
    (re.compile(r"(?:不足|不到|低于|少于|未满|不满)\s*$"), "under"),
    (re.compile(r"(?:超过|超出|超|逾|突破|高于|多于)了?\s*$"), "over"),
    (re.compile(r"(?:接近|将近|近|大约|约)(?:达到|达|为)?\s*$"), "approx"),
]
_SUFFIX_QUALIFIER_RE = re.compile(r"^\s*(以上|以下|以内|左右|上下)")
_SUFFIX_QUALIFIERS = {"以上": "at-least", "以下": "at-most", "以内": "at-most",
                      "左右": "approx", "上下": "approx"}

_RANGE_RE = re.compile(r"^\s*(?:至|到|-|—|–|~)\s*$")
_CHANGE_RE = re.compile(
    r"^\s*的?\s*(?:增长|增加|增|提升|提高|上升|扩大|跃升|下降|降低|减少|减|升|降|提)?(?:至|到)\s*"
    r"(?:(?:19|20)\d{2}\s*年\s*(?:底|末|年底|年末)?\s*的?)?\s*"
    r"(?:超过|超|近|约|逾|突破|不足|不到)?\s*$")
_CHANGE_FROM_RE = re.compile(
    r"(?:由|从)\s*(?:(?:19|20)\d{2}\s*年\s*(?:底|末|年底|年末)?\s*的?)?\s*"
    r"(?:超过|超|近|约|逾|不足|不到)?\s*$")

# ----------------------------------------------------------------------------- dates

_DATE_RE = re.compile(
    r"(?P<pre>截至到|截止到|截至|截止|至|到|自|从)?\s*"
    r"(?:(?P<y>(?:19|20)\d{2})\s*年|(?P<rel>今年|去年))\s*"
    r"(?:(?P<m>1[0-2]|0?[1-9])\s*月(?:\s*(?:[0-3]?\d)\s*日)?\s*(?P<ms>底|末|初|中旬|上旬|下旬)?"
    r"|(?P<ys>年末|年底|末|底|上半年|下半年|前三季度|第一季度|一季度|第二季度|二季度|第三季度|三季度|"
    r"第四季度|四季度|初))?"
    r"(?P<post>以来|以后|之前|起)?"
)
# A date printed without its year ("截至9月末", "上半年"): the document's year.
# (the pattern starts at the month or season so the scan is fast; the 截至/至 before it
# and the 以来 after it are looked at separately)
YEARLESS_DATE_RE = re.compile(
    r"(?<![0-9年每])(?P<m>1[0-2]|[1-9])\s*月(?:\s*[0-3]?\d\s*日)?\s*(?P<ms>底|末|初|中旬|上旬|下旬|份)?"
    r"|(?<![0-9年每今去明])(?P<ys>上半年|下半年|前三季度|第一季度|一季度|第二季度|二季度|第三季度|三季度|"
    r"第四季度|四季度)"
)
_YEARLESS_PRE_RE = re.compile(r"(?:截至到|截止到|截至|截止|至|到)\s*$")
_YEARLESS_POST_RE = re.compile(r"以来|以后|之前|起")
_SEASON_MONTH = {"上半年": 6, "下半年": 12, "前三季度": 9, "一季度": 3, "第一季度": 3, "二季度": 6,
                 "第二季度": 6, "三季度": 9, "第三季度": 9, "四季度": 12, "第四季度": 12,
                 "年末": 12, "年底": 12, "末": 12, "底": 12, "初": 1}
_COMPARE_BEFORE_RE = re.compile(r"(?:较|比|相比|同比|与|比上年)\s*$")
_TARGET_MARK_RE = re.compile(
    r"(?:力争|争取|预计|冲刺|确保|目标|拟|"
    r"将(?:达到|达|突破|超过|实现|新增|增至|增加到|提升至|提高至))")
_PLAN_DOC_RE = re.compile(r"责任单位")

# ----------------------------------------------------------------------------- scope

_INSTITUTION_PRONOUN_RE = re.compile(r"该行|本行|全行|该集团|本集团|该公司|该基金|该平台")
# a bank named at the start of a clause: "…，汉口银行创新推出…", "武汉农商行为…"
_NAMED_BANK_RE = re.compile(
    rf"(?:^|[,;:。!?])\s*([{CJK_CLASS}]{{2,6}}?)(?:银行|农商行|农村商业银行)(?!机构|业|等|、)")
_NOW_RE = re.compile(r"目前|截至目前|当前|现已|至今")
_PRINTED_QUAL_RE = re.compile(r"(?:超过|超|近|约|逾|突破|不足|不到|接近|将近|不超过|不低于|至少)\s*$")
INHERIT_SENTENCES = 2  # an as-of date carries over this many sentences
_GENERIC_BANK_PREFIX = ("商业", "合作", "中资", "国有", "法人", "各大", "大型", "股份制", "城市商业",
                        "村镇", "民营", "外资", "政策性", "家", "等", "和", "及", "的", "各类", "推动",
                        "鼓励", "支持", "引导", "有条件的", "科技", "发放", "全市", "辖区", "合作的",
                        "国有大行", "人民", "中国人民")


# ============================================================================= metrics


def load_metrics(path=METRICS_FILE):
    """The metric vocabulary: a list of metric dicts (raw YAML, see the file's header)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, f"指标表无法读取 (unreadable metrics file): {first}") from None
    if isinstance(data, dict):
        data = data.get("metrics")
    if not isinstance(data, list):
        raise InputError(path, "指标表应为 metrics: 列表 (metrics file must hold a list)")
    return data


class Metric:
    """One compiled metric of the vocabulary."""

    __slots__ = ("slug", "label", "family", "unit", "counters", "instrument", "priority", "cues",
                 "order")

    def __init__(self, raw, order, source="metrics.yaml"):
        if not isinstance(raw, dict) or not raw.get("slug"):
            raise InputError(source, f"第 {order + 1} 个指标缺少 slug (metric without slug)")
        self.slug = str(raw["slug"])
        self.label = str(raw.get("label") or self.slug)
        self.family = raw.get("family") or "money"
        if self.family not in FAMILIES:
            raise InputError(source, f"指标 {self.slug}: 未知单位类别 (unknown family) {self.family}")
        self.unit = raw.get("unit") or {"money": "亿元", "percent": "%", "ratio": "倍"}.get(
            self.family)
        self.counters = tuple(raw.get("counters") or ())
        self.instrument = raw.get("instrument")
        self.priority = int(raw.get("priority") or 0)
        self.order = order
        self.cues = []
        for cue in raw.get("cues") or []:
            if isinstance(cue, str):
                cue = {"before": cue}
            try:
                gap = int(cue.get("gap", 8))
                # the cue must end within `gap` characters (no clause mark) of the number:
                # the greedy ".*" makes the last match win, so the nearest one is found
                before = (re.compile(rf"(?s).*(?:{cue['before']})(?P<gap>[^{_CUE_GAP_MARKS}]{{0,{gap}}})$")
                          if cue.get("before") else None)
                after = re.compile(cue["after"]) if cue.get("after") else None
                unless = re.compile(cue["unless"]) if cue.get("unless") else None
            except re.error as exc:
                raise InputError(source, f"指标 {self.slug}: 正则表达式有误 (bad pattern): {exc}") from None
            if not before and not after:
                raise InputError(source, f"指标 {self.slug}: 提示词为空 (empty cue)")
            self.cues.append((before, after, gap, int(cue.get("gap_after", 12)), unless))
        if not self.cues:
            raise InputError(source, f"指标 {self.slug}: 没有提示词 (no cues)")

    def accepts(self, fig):
        if fig["family"] != self.family:
            return False
        if self.family == "count" and self.counters:
            return base_counter(fig["unit"]) in self.counters
        return True

    def as_dict(self):
        return {"slug": self.slug, "label": self.label, "family": self.family, "unit": self.unit,
                "counters": list(self.counters), "instrument": self.instrument}


def load_not_figures(path=METRICS_FILE):
    """Compiled ``not_figures`` rules of the metrics file: [(why, before, after, family)]."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return []  # (load_metrics reports an unreadable file)
    rules = data.get("not_figures") if isinstance(data, dict) else None
    out = []
    for i, rule in enumerate(rules or []):
        if not isinstance(rule, dict) or not (rule.get("before") or rule.get("after")):
            raise InputError(path, f"not_figures 第 {i + 1} 条需要 before 或 after (rule needs before/after)")
        try:
            out.append((str(rule.get("why") or ""),
                        re.compile(rule["before"] + "$") if rule.get("before") else None,
                        re.compile(rule["after"]) if rule.get("after") else None,
                        rule.get("family")))
        except re.error as exc:
            raise InputError(path, f"not_figures 第 {i + 1} 条正则表达式有误 (bad pattern): {exc}") from None
    return out


_NOT_FIGURES_CACHE = {}


def not_figures_for(vocab=None):
    """The not_figures rules of the vocabulary's metrics file (or the default one)."""
    data_dir = getattr(vocab, "data_dir", None) or DATA_DIR
    path = Path(data_dir) / "metrics.yaml"
    key = (str(path), path.stat().st_mtime_ns if path.exists() else None)
    if key not in _NOT_FIGURES_CACHE:
        _NOT_FIGURES_CACHE[key] = load_not_figures(path)
    return _NOT_FIGURES_CACHE[key]


def _not_a_figure(rules, norm, clause, s, e, family):
    """The ``why`` of the first not_figures rule matching the number's clause, else None."""
    before, after = norm[clause[0]:s], norm[e:clause[1]]
    for why, before_rx, after_rx, only in rules:
        if only and only != family:
            continue
        if (before_rx is None or before_rx.search(before)) and (after_rx is None or after_rx.match(after)):
            return why or "not a figure"
    return None


def compile_metrics(raw_metrics, source=METRICS_FILE):
    metrics = [m if isinstance(m, Metric) else Metric(m, i, source)
               for i, m in enumerate(raw_metrics)]
    seen = set()
    for m in metrics:
        if m.slug in seen or m.slug == OTHER:
            raise InputError(source, f"指标编号重复或保留 (duplicate/reserved slug): {m.slug}")
        seen.add(m.slug)
    return metrics


_METRICS_CACHE = {}


def metrics_for(vocab=None):
    """Compiled metrics: ``vocab.metrics`` when the vocabulary carries them, else the file."""
    raw = getattr(vocab, "metrics", None) if vocab is not None else None
    if not raw:
        key = str(METRICS_FILE)
        if key not in _METRICS_CACHE:
            _METRICS_CACHE[key] = compile_metrics(load_metrics(METRICS_FILE))
        return _METRICS_CACHE[key]
    key = id(raw)
    cached = _METRICS_CACHE.get(key)
    if cached is None or cached[0] is not raw:
        cached = (raw, compile_metrics(raw))
        _METRICS_CACHE[key] = cached
    return cached[1]


def metric_labels(vocab=None):
    labels = {m.slug: m.label for m in metrics_for(vocab)}
    labels[OTHER] = "其他"
    return labels


# ============================================================================= units


def base_counter(unit):
    """万家 → 家, 亿条 → 条, 家 → 家."""
    for prefix in ("万亿", "亿", "万"):
        if unit.startswith(prefix) and len(unit) > len(prefix):
            return unit[len(prefix):]
    return unit


def unit_family(unit):
    if unit in MONEY_UNITS:
        return "money"
    if unit == "%" or unit == "‰":
        return "percent"
    if unit == "倍":
        return "ratio"
    if unit in ("个百分点", "百分点"):
        return "point"
    if unit.endswith("美元"):
        return "usd"
    return "count"


def normalise_amount(value, unit):
    """(value, unit) in the family's base unit: money → 亿元, 万家 → 家, ‰ → %."""
    if value is None:
        return None, None
    fam = unit_family(unit)
    if fam == "money":
        return _round(value * MONEY_UNITS[unit]), "亿元"
    if fam == "count":
        base = base_counter(unit)
        prefix = unit[: len(unit) - len(base)]
        return _round(value * _MULT_FACTOR.get(prefix, 1)), base
    if unit == "‰":
        return _round(value / 10), "%"
    return value, unit


def convert(value, unit, target):
    """``value`` in ``unit`` expressed in ``target``; None when not convertible."""
    if value is None:
        return None
    if unit == target:
        return value
    if unit in MONEY_UNITS and target in MONEY_UNITS:
        return _round(value * MONEY_UNITS[unit] / MONEY_UNITS[target])
    if unit_family(unit) == "count" and unit_family(target) == "count":
        if base_counter(unit) != base_counter(target):
            return None
        f_from = _MULT_FACTOR.get(unit[: len(unit) - len(base_counter(unit))], 1)
        f_to = _MULT_FACTOR.get(target[: len(target) - len(base_counter(target))], 1)
        return _round(value * f_from / f_to)
    return None


def _round(x):
    x = round(float(x), 6)
    return int(x) if x == int(x) and abs(x) < 1e15 else x


def _num(text):
    x = float(text.replace(",", ""))
    return int(x) if x == int(x) and "." not in text else x


def _cn_number(s):
    """A Chinese numeral's value (cn2an: 两千 → 2000, 一百零五 → 105), None if not one."""
    try:
        return _round(cn2an.cn2an(s, "normal"))
    except ValueError:
        return None


# ============================================================================= text layout


def _sentences(norm):
    """(start, end) spans of sentences (ending at 。!? or a line break)."""
    spans, start = [], 0
    for m in _SENT_MARK_RE.finditer(norm):
        spans.append((start, m.end()))
        start = m.end()
    if start < len(norm):
        spans.append((start, len(norm)))
    return spans


_SENT_MARK_RE = re.compile("[" + re.escape(_SENT_MARKS) + "]")
_CLAUSE_MARK_RE = re.compile("[" + re.escape(_CLAUSE_MARKS) + "]")


def _is_clause_mark(norm, i):
    ch = norm[i]
    if ch not in _CLAUSE_MARKS:
        return False
    if ch == "," and 0 < i < len(norm) - 3 and norm[i - 1].isdigit() and norm[i + 1: i + 4].isdigit():
        return False  # thousands separator
    return True


_MARKS = [None, []]  # the last text looked at and the positions of its clause marks


def _clause_marks(norm):
    """Positions of the clause marks of ``norm``, ascending (kept for the last text)."""
    if _MARKS[0] is not norm:
        _MARKS[:] = norm, [m.start() for m in _CLAUSE_MARK_RE.finditer(norm)
                           if _is_clause_mark(norm, m.start())]
    return _MARKS[1]


def _clause_bounds(norm, pos, lo=0, hi=None):
    """(start, end) of the clause around ``pos`` inside [lo, hi): from just after the
    last clause mark before ``pos`` to the first one at or after it."""
    hi = len(norm) if hi is None else hi
    marks = _clause_marks(norm)
    k = bisect.bisect_left(marks, pos)
    start = pos if pos <= lo else max(lo, marks[k - 1] + 1 if k else lo)
    end = pos if pos >= hi else min(hi, marks[k] if k < len(marks) else hi)
    return start, end


def _has_clause_mark(norm, a, b):
    marks = _clause_marks(norm)
    k = bisect.bisect_left(marks, a)
    return a < b and k < len(marks) and marks[k] < b


# ============================================================================= numbers


def _raw_numbers(norm):
    """Every number-like token: dicts with start/end/value/unit (unit may be None)."""
    toks = []
    for m in _ARABIC_RE.finditer(norm):
        start = m.start()
        prev = norm[start - 1] if start else ""
        if prev in _QUOTE_OPEN or prev == "第":
            continue
        value = _num(m.group("num") + (m.group("dec") or ""))
        mult, unit, yu = m.group("mult"), m.group("unit"), m.group("yu1") or m.group("yu2")
        end = m.end()
        if unit is None:
            # re-scan without the unit: a bare multiplier, or no unit at all
            mm = re.match(r"[ \t\u00a0]*(余|多)?(万亿|千亿|百亿|千万|百万|亿|万|千)?(余|多)?",
                          norm[m.end("dec") if m.group("dec") else m.end("num"):])
            base = m.end("dec") if m.group("dec") else m.end("num")
            mult = mm.group(2)
            yu = mm.group(1) or mm.group(3)
            if mult:
                end = base + mm.end()
                nxt = norm[end:end + 1]
                if not nxt or not re.match(f"[{CJK_CLASS}]", nxt) or nxt in _BARE_MULT_OK:
                    unit = "元"
                else:
                    continue  # "30多万专业技术人员": a bare multiplier before a noun
            else:
                end = base
                yu = None
        if unit == "个" and norm[end:end + 1] == "月":
            continue
        scale, mult_norm = _MULT_SCALE.get(mult, (1, mult or ""))
        if unit in ("元",):
            unit_out = mult_norm + "元"
        elif unit in ("美元",):
            unit_out = mult_norm + "美元"
        elif unit in ("%", "‰", "倍", "个百分点", "百分点"):
            if mult:
                continue
            unit_out = unit
        elif unit is None:
            unit_out = None
        else:
            unit_out = mult_norm + unit
        toks.append({"start": start, "end": end, "value": _round(value * scale) if scale != 1 else value,
                     "unit": unit_out, "yu": bool(yu)})
    for m in _CN_AMOUNT_RE.finditer(norm):
        start = m.start()
        prev = norm[start - 1] if start else ""
        if prev in _QUOTE_OPEN:
            continue
        num, mult, unit = m.group("num"), m.group("mult") or "", m.group("unit")
        if num == "一" and not mult and unit not in _CN_ONE_OK:
            continue  # 一家银行: one bank, not a figure
        value = _cn_number(num)
        if value is None:
            continue
        toks.append({"start": start, "end": m.end(), "value": value, "unit": mult + unit,
                     "yu": bool(m.group("yu1") or m.group("yu2"))})
    for m in _CN_PERCENT_RE.finditer(norm):
        value = _cn_number(m.group("num"))
        if value is not None:
            toks.append({"start": m.start(), "end": m.end(), "value": value, "unit": "%", "yu": False})
    for m in _CN_MONEY_RE.finditer(norm):
        start = m.start()
        before = norm[max(0, start - 3):start].rstrip()
        if before and before[-1].isdigit():
            continue
        mm, base = m.group("m"), m.group("base")
        if base == "亿" and not mm:
            continue
        value = {None: 1, "十": 10, "百": 100, "千": 1000}[mm]
        unit = "万亿元" if base == "万亿" else "亿元"
        toks.append({"start": start, "end": m.end(), "value": value, "unit": unit, "yu": False})
    toks.sort(key=lambda t: t["start"])
    # drop overlaps (keep the earlier, longer token)
    out = []
    for t in toks:
        if out and t["start"] < out[-1]["end"]:
            continue
        out.append(t)
    return out


def _prefix_qualifier(norm, start, lo):
    before = norm[max(lo, start - 12):start]
    for rx, q in _PREFIX_QUALIFIERS:
        if rx.search(before):
            return q
    return None


def _figures_in(norm):
    """Numbers with units, ranges and changes merged; each has span [s, e), value(s), unit."""
    toks = _raw_numbers(norm)
    merged = []
    i = 0
    while i < len(toks):
        t = dict(toks[i])
        t["s"] = t["start"]
        t["value_max"] = None
        t["from_value"] = None
        # range: X至Y (X may lack the unit)
        if i + 1 < len(toks):
            u = toks[i + 1]
            between = norm[t["end"]:u["start"]]
            if _RANGE_RE.match(between) and u["unit"] and not _has_clause_mark(norm, t["end"], u["start"]):
                low = t["value"] if t["unit"] is None else convert(t["value"], t["unit"], u["unit"])
                if low is not None:
                    t.update(value=low, value_max=u["value"], unit=u["unit"], end=u["end"],
                             yu=t["yu"] or u["yu"])
                    i += 1
        merged.append(t)
        i += 1
    figs = [t for t in merged if t["unit"]]
    # changes: 由X增至Y → Y with from_value X
    out = []
    for t in figs:
        if out:
            x = out[-1]
            between = norm[x["end"]:t["start"]]
            lo = max(0, x["start"] - 14)
            m = _CHANGE_FROM_RE.search(norm[lo:x["start"]])
            if m and _CHANGE_RE.match(between) and x["value_max"] is None:
                old = convert(x["value"], x["unit"], t["unit"])
                if old is not None:
                    # one figure, the new value; its span starts at 由/从
                    out[-1] = dict(t, from_value=old, s=lo + m.start())
                    continue
        out.append(t)
    return out


# ============================================================================= dates


def _dates(norm, doc_year):
    """Date mentions: dicts with start, end, year, month, form (at|to|plain|since|compare)."""
    out = []
    for m in _DATE_RE.finditer(norm):
        if not (m.group("y") or m.group("rel")):
            continue
        y_start = m.start("y") if m.group("y") else m.start("rel")
        prev = norm[max(0, y_start - 1):y_start]
        if prev.isdigit() or prev in _QUOTE_OPEN:
            continue
        if m.group("y"):
            year = int(m.group("y"))
        elif doc_year:
            year = doc_year if m.group("rel") == "今年" else doc_year - 1
        else:
            continue
        month = None
        if m.group("m"):
            month = int(m.group("m"))
        elif m.group("ys"):
            month = _SEASON_MONTH[m.group("ys")]
        start = m.start("pre") if m.group("pre") else y_start
        form = _date_form(norm, m, start, month)
        if form == "since" and doc_year and year == doc_year and not month:
            form = "plain"  # 今年以来: the figure is as of the document's year
        if form is None and re.search(r"(?:19|20)\d{2}\s*[—\-~至到]\s*$", norm[max(0, y_start - 8):y_start]):
            form = "to"  # the end of a period "2025—2027年"
        out.append({"start": start, "end": m.end(), "year": year, "month": month,
                    "form": form or "plain"})
    if doc_year:
        for m in YEARLESS_DATE_RE.finditer(norm):
            month = int(m.group("m")) if m.group("m") else _SEASON_MONTH[m.group("ys")]
            pre = _YEARLESS_PRE_RE.search(norm, max(0, m.start() - 6), m.start())
            post = _YEARLESS_POST_RE.match(norm, m.end())
            start = pre.start() if pre else m.start()
            form = _form(norm, start, pre.group().strip() if pre else None,
                         post.group() if post else None, month)
            out.append({"start": start, "end": post.end() if post else m.end(), "year": doc_year,
                        "month": month, "form": form or "plain"})
        out.sort(key=lambda d: d["start"])
    return out


def _date_form(norm, m, start, month):
    """How a date is used: compare (较…), since (…以来), at (截至…), to (到…), plain."""
    return _form(norm, start, m.group("pre"), m.group("post"), month)


def _form(norm, start, pre, post, month):
    if _COMPARE_BEFORE_RE.search(norm[max(0, start - 4):start]):
        return "compare"
    if post in ("以来", "起") or pre in ("自", "从"):
        return "since"
    if pre in ("截至", "截止", "截至到", "截止到"):
        return "at"
    if pre in ("至", "到"):
        return "at" if month else "to"
    return None


def _as_of_str(d):
    if d is None:
        return None
    return f"{d['year']}-{d['month']:02d}" if d["month"] else str(d["year"])


def _pick_date(dates, span_s, span_e, sent, clause, sentences, norm):
    """The as-of date of a figure at [span_s, span_e) in sentence ``sent``."""
    usable = [d for d in dates if d["form"] not in ("compare", "since")]
    # the same sentence, before the number (nearest)
    before = [d for d in usable if sent[0] <= d["start"] and d["end"] <= span_s]
    if before:
        return before[-1]
    # the same clause, after the number
    after = [d for d in usable if span_e <= d["start"] and d["end"] <= clause[1]]
    if after:
        return after[0]
    # an earlier sentence of the passage (one of the last INHERIT_SENTENCES), unless the
    # sentence says "目前" (now)
    if _NOW_RE.search(norm[sent[0]:span_s]):
        return None
    idx = next((i for i, sp in enumerate(sentences) if sp == sent), 0)
    lo = sentences[max(0, idx - INHERIT_SENTENCES)][0]
    earlier = [d for d in usable if lo <= d["start"] and d["end"] <= sent[0]]
    if earlier:
        return earlier[-1]
    return None


# ============================================================================= cues


def _match_metric(metrics, fig, norm, sent, clause):
    """(metric, distance) of the best cue match, or (None, None)."""
    s, e = fig["s"], fig["end"]
    prefix = norm[max(sent[0], s - CUE_WINDOW):s]
    # the text after the figure, in the same clause, without suffix qualifiers / parentheses
    after = norm[e:clause[1]]
    after = re.sub(r"^\s*(?:以上|以下|以内|左右|上下)?\s*(?:\([^)]{0,6}\))?\s*", "", after)
    best = None
    for metric in metrics:
        if not metric.accepts(fig):
            continue
        for before_rx, after_rx, gap, gap_after, unless_rx in metric.cues:
            if unless_rx is not None and unless_rx.search(norm, clause[0], clause[1]):
                continue
            dist = 0
            if before_rx is not None:
                m = before_rx.match(prefix)
                if not m:
                    continue
                dist += len(m.group("gap"))
            if after_rx is not None:
                m = after_rx.search(after)
                if not m or m.start() > gap_after:
                    continue
                dist += m.start()
            key = (-metric.priority, dist, metric.order)
            if best is None or key < best[0]:
                best = (key, metric, dist)
    if best is None:
        return None, None
    return best[1], best[2]


# ============================================================================= extraction


_CITY_NAMES_CACHE = {}


def _city_names(vocab):
    """{city name: [normalised name and aliases]} from the vocabulary (if any)."""
    key = getattr(vocab, "version", None)
    if key is not None and key in _CITY_NAMES_CACHE:
        return _CITY_NAMES_CACHE[key]
    names = {}
    for c in getattr(vocab, "cities", None) or []:
        if isinstance(c, dict) and c.get("name"):
            forms = [c["name"], *(c.get("aliases") or [])]
            names[c["name"]] = sorted({normalize(f) for f in forms if f}, key=len, reverse=True)
    if key is not None:
        _CITY_NAMES_CACHE[key] = names
    return names


def _subject_city(passage, norm, span_s, sent, city_forms):
    cities = list(passage.get("cities") or [])
    if len(cities) == 1:
        return cities[0]
    if not cities:
        return None
    best, best_pos = None, -1
    window = norm[sent[0]:span_s]
    for city in cities:
        for form in city_forms.get(city) or [normalize(city)]:
            pos = window.rfind(form)
            if pos >= 0 and pos + len(form) > best_pos:
                best, best_pos = city, pos + len(form)
    return best


def _scope(norm, span_s, sent):
    """"institution" when the sentence is about one bank/fund/company ("该行…",
    "…，汉口银行推出…"), else "city"."""
    window = norm[sent[0]:span_s]
    if _INSTITUTION_PRONOUN_RE.search(window):
        return "institution"
    for m in _NAMED_BANK_RE.finditer(window):  # (window starts a sentence: ^ matches)
        name = m.group(1)
        if not any(name.endswith(g) for g in _GENERIC_BANK_PREFIX):
            return "institution"
    return "city"


def _quote(text, norm, clause, span_s, span_e, sent):
    start, end = clause
    while start < end and (norm[start] in " \t\u3000" or _is_clause_mark(norm, start)):
        start += 1
    if end - start < 12 and start > sent[0]:
        # a very short clause ("总规模960亿元"): include the clause before it
        prev_start, _ = _clause_bounds(norm, max(sent[0], start - 2), sent[0], start)
        start = prev_start
    if end - start > QUOTE_MAX:
        half = (QUOTE_MAX - 2 - (span_e - span_s)) // 2
        lo = max(start, span_s - max(half, 10))
        hi = min(end, lo + QUOTE_MAX - 2)
        q = ("…" if lo > start else "") + text[lo:hi] + ("…" if hi < end else "")
    else:
        q = text[start:end]
    q = re.sub(r"\s*\n\s*", "", q).strip()
    return q[:QUOTE_MAX]


def _printed(text, norm, s, e, lo):
    m = _PRINTED_QUAL_RE.search(norm[max(lo, s - 4):s])
    if m:
        s = max(lo, s - 4) + m.start()
    return re.sub(r"\s*\n\s*", "", text[s:e]).strip()


def _is_plan_doc(passages):
    return any(_PLAN_DOC_RE.search(p.get("text") or "") for p in passages) or any(
        (p.get("doc_type") or p.get("type")) == "policy" for p in passages)


def _kind(fig_date, norm, clause, span_s, doc_year, plan, section):
    if fig_date is not None:
        if fig_date["year"] > (doc_year or fig_date["year"]):
            return "target"
        if fig_date["form"] == "to" and doc_year and fig_date["year"] >= doc_year:
            return "target"
        if fig_date["form"] == "at":
            return "actual"
    if _TARGET_MARK_RE.search(norm[clause[0]:span_s]):
        return "target"
    if any("目标" in (h or "") for h in section or ()):
        return "target"
    if plan:
        return "target"
    return "actual"


def extract_passage(passage, metrics, city_forms=None, plan=False, not_figures=()):
    """Figures of one tagged passage (see the module docstring)."""
    text = passage.get("text") or ""
    if not text:
        return []
    norm = normalize(text)
    doc_year = passage.get("year")
    dates = _dates(norm, doc_year)
    sentences = _sentences(norm)
    instruments = list(passage.get("instruments") or [])
    provinces = list(passage.get("province") or [])
    figures = []
    prev_fig = prev_qualifier = None
    for fig in _figures_in(norm):
        s, e = fig["s"], fig["end"]
        sent = next((sp for sp in sentences if sp[0] <= s < sp[1]), (0, len(norm)))
        clause = _clause_bounds(norm, s, sent[0], sent[1])
        clause = (clause[0], _clause_bounds(norm, max(s, e - 1), sent[0], sent[1])[1])
        if not_figures and _not_a_figure(not_figures, norm, clause, s, e, unit_family(fig["unit"])):
            continue
        unit = fig["unit"]
        family = unit_family(unit)
        # (the qualifier of a change is the one before the new value)
        qualifier = _prefix_qualifier(norm, fig["start"], sent[0])
        msuf = _SUFFIX_QUALIFIER_RE.match(norm[e:e + 4])
        if qualifier is None and prev_fig is not None and norm[prev_fig["end"]:fig["start"]] == "、" \
                and prev_fig["unit"] == unit:
            qualifier = prev_qualifier  # "最高不超过 80%、60%": the list shares the qualifier
        if qualifier is None and msuf:
            qualifier = _SUFFIX_QUALIFIERS[msuf.group(1)]
        if qualifier is None and fig["yu"]:
            qualifier = "over"
        prev_fig, prev_qualifier = fig, qualifier
        d = _pick_date(dates, fig["start"], e, sent, clause, sentences, norm)
        rec = {"value": fig["value"], "unit": unit, "family": family, "s": s, "end": e}
        metric, _dist = _match_metric(metrics, rec, norm, sent, clause)
        norm_value, norm_unit = normalise_amount(fig["value"], unit)
        city = _subject_city(passage, norm, s, sent, city_forms or {})
        figures.append({
            "city": city,
            "province": provinces[0] if city is None and len(provinces) == 1 else None,
            "metric": metric.slug if metric else OTHER,
            "label": metric.label if metric else "其他",
            "value": fig["value"],
            "value_max": fig["value_max"],
            "from_value": fig["from_value"],
            "unit": unit,
            "printed": _printed(text, norm, s, e, sent[0]),
            "norm_value": norm_value,
            "norm_unit": norm_unit,
            "family": family,
            "as_of": _as_of_str(d),
            "doc_year": doc_year,
            "kind": _kind(d, norm, clause, s, doc_year, plan, passage.get("section")),
            "cumulative": "累计" in norm[clause[0]:s] or "累计" in norm[s:fig["start"]],
            "qualifier": qualifier,
            "scope": _scope(norm, s, sent),
            "instrument": (metric.instrument if metric and metric.instrument else
                           (instruments[0] if instruments else None)),
            "passage": passage.get("id"),
            "doc": passage.get("doc"),
            "quote": _quote(text, norm, clause, s, e, sent),
        })
    return figures


def plan_documents(passages):
    """Ids of the documents among ``passages``' whose figures are targets by default
    (plans: a 责任单位 anywhere, or a policy)."""
    by_doc = {}
    for p in passages:
        by_doc.setdefault(p.get("doc"), []).append(p)
    return {doc for doc, ps in by_doc.items() if _is_plan_doc(ps)}


def extract(passages, vocab=None, plan_docs=None):
    """Figures of all passages, in passage order then text order.

    ``plan_docs``: :func:`plan_documents` of the whole documents when ``passages`` is a
    slice of them (a large document's figures are extracted in parallel slices)."""
    metrics = metrics_for(vocab)
    not_figures = not_figures_for(vocab)
    city_forms = _city_names(vocab)
    if plan_docs is None:
        plan_docs = plan_documents(passages)
    out = []
    for p in passages:
        out.extend(extract_passage(p, metrics, city_forms, p.get("doc") in plan_docs, not_figures))
    return out


# ============================================================================= coverage


def coverage(figures, examples=30):
    """How many figures found a metric; quotes of those that did not (for curators)."""
    by_metric = {}
    other_examples = []
    for f in figures:
        by_metric[f["metric"]] = by_metric.get(f["metric"], 0) + 1
        if f["metric"] == OTHER and len(other_examples) < examples:
            q = f.get("quote") or ""
            if q not in other_examples:
                other_examples.append(q)
    other = by_metric.pop(OTHER, 0)
    return {"total": len(figures), "with_metric": len(figures) - other, "other": other,
            "by_metric": dict(sorted(by_metric.items(), key=lambda kv: (-kv[1], kv[0]))),
            "other_examples": other_examples}


def coverage_report(figures, vocab=None, examples=30):
    """The coverage as a Markdown report (printed by the build, written to a file)."""
    cov = coverage(figures, examples)
    labels = metric_labels(vocab)
    total = cov["total"]
    pct = f"{100 * cov['with_metric'] / total:.1f}%" if total else "—"
    lines = [
        "# 关键数字覆盖率 (figures coverage)",
        "",
        f"- 数字总数 (figures): {total}",
        f"- 归入指标 (with a metric): {cov['with_metric']} ({pct})",
        f"- 未归类 other: {cov['other']}",
        "",
        "## 各指标数量 (by metric)",
        "",
        "| 指标 metric | 名称 | 数量 |",
        "|---|---|---:|",
    ]
    for slug in [m.slug for m in metrics_for(vocab)]:
        n = cov["by_metric"].get(slug, 0)
        lines.append(f"| {slug} | {_md(labels.get(slug, slug))} | {n} |")
    lines.append(f"| {OTHER} | 其他 | {cov['other']} |")
    cities = {}
    for f in figures:
        key = f.get("city") or "（无城市）"
        cities.setdefault(key, [0, 0])
        cities[key][0] += 1
        cities[key][1] += f["metric"] != OTHER
    lines += ["", "## 各城市 (by city)", "", "| 城市 | 数字 | 归入指标 |", "|---|---:|---:|"]
    for city, (n, k) in sorted(cities.items(), key=lambda kv: (-kv[1][0], kv[0])):
        lines.append(f"| {_md(city)} | {n} | {k} |")
    lines += ["", "## 未归类示例 (other: add a metric or a cue in kb/data/metrics.yaml)", ""]
    if cov["other_examples"]:
        lines += [f"- {_md(q)}" for q in cov["other_examples"]]
    else:
        lines.append("- （无）")
    return "\n".join(lines) + "\n"


def _md(text):
    return str(text).replace("|", "\\|").replace("\n", " ")
