#!/usr/bin/env python3
"""Synthetic corpus generator for the scale benchmarks.

    python benchmarks/synth.py --docs 1000 --out /tmp/corpus [--seed 0] [--source corpus/]
    python benchmarks/synth.py --extra syn-001001 --out /tmp/corpus   # one more document

Documents are made by recombining real sentences of the reports in ``corpus/``
(so the text keeps real Chinese policy language), with:

* city names substituted: the source document's own city becomes the synthetic
  document's home city, every other city is mapped (consistently within one
  document) to another city of ``kb/data/cities.yaml``; the source's province
  follows the home city (湖北省 → 四川省 for a 成都 document);
* four-digit years shifted by (synthetic year − source year) — only numbers that
  read as years (followed by 年, a year range, or inside 〔〕);
* other numbers ≥ 10 perturbed by a factor of 0.6–1.65 (units, decimals kept;
  percentages stay ≤ 100; months, days, ordinals untouched);
* a structure with headings 一、 / （一） / 1. and 8–60 body paragraphs, a title
  and publisher that fit the type (policy | report | news | commentary), a date
  in 2019–2026 and, for policies, a 文号.

Deterministic: the document with index *i* depends only on (seed, i, the source
corpus, the city list and — when importable — kb.clean), never on N, so a corpus
of N documents plus ``--extra`` document N+1 equals the corpus of N+1 documents.
No set or dict iteration order, no time, no hash() is involved.
"""

import argparse
import math
import random
import re
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT / "corpus"
DATA_DIR = ROOT / "kb" / "data"
ID_PREFIX = "syn-"
YEARS = (2019, 2026)
TYPES = (("policy", 45), ("report", 25), ("news", 20), ("commentary", 10))

# Cities the five reports name first, then ~20 more; only those in kb/data/cities.yaml
# (with a bare name that the tagger recognises) are used.
TARGET_CITIES = (
    "武汉 苏州 合肥 广州 洛阳 上海 深圳 天津 重庆 杭州 南京 长沙 宁波 泉州 福州 济南 西安 东莞 "
    "北京 成都 郑州 青岛 厦门 无锡 常州 徐州 温州 绍兴 嘉兴 佛山 珠海 芜湖 南昌 长春 沈阳 大连 "
    "哈尔滨 石家庄 太原 昆明 贵阳 南宁 烟台 襄阳 宜昌"
).split()
# Used only when kb/data/cities.yaml is missing.
_FALLBACK_PROVINCES = {
    "武汉": "湖北", "襄阳": "湖北", "宜昌": "湖北", "苏州": "江苏", "南京": "江苏", "无锡": "江苏",
    "常州": "江苏", "徐州": "江苏", "合肥": "安徽", "芜湖": "安徽", "广州": "广东", "深圳": "广东",
    "东莞": "广东", "佛山": "广东", "珠海": "广东", "洛阳": "河南", "郑州": "河南", "杭州": "浙江",
    "宁波": "浙江", "温州": "浙江", "绍兴": "浙江", "嘉兴": "浙江", "长沙": "湖南", "泉州": "福建",
    "福州": "福建", "厦门": "福建", "济南": "山东", "青岛": "山东", "烟台": "山东", "西安": "陕西",
    "成都": "四川", "南昌": "江西", "长春": "吉林", "沈阳": "辽宁", "大连": "辽宁", "哈尔滨": "黑龙江",
    "石家庄": "河北", "太原": "山西", "昆明": "云南", "贵阳": "贵州", "南宁": "广西",
    "上海": "上海", "北京": "北京", "天津": "天津", "重庆": "重庆",
}
_FALLBACK_PROTECTED = ("上海证券交易所", "深圳证券交易所", "北京证券交易所", "上交所", "深交所",
                       "北交所", "上海清算所", "中国人民银行")
MUNICIPALITIES = ("北京", "上海", "天津", "重庆")
PROVINCES = ("河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 "
             "四川 贵州 云南 陕西 甘肃 青海 内蒙古 广西 西藏 宁夏 新疆").split()

# ------------------------------------------------------------------ vocabulary


class Geo:
    """Cities (targets + names to substitute in the source), provinces, protected names."""

    def __init__(self, data_dir):
        cities_file = Path(data_dir) / "cities.yaml"
        self.province_of = {}
        match_names = []
        if cities_file.exists():
            data = yaml.safe_load(cities_file.read_text(encoding="utf-8")) or {}
            for c in data.get("cities", []):
                if c.get("bare", True) is False:
                    continue  # 中山, 吉林…: ordinary words; never matched or generated
                self.province_of[c["name"]] = c.get("province") or c["name"]
                match_names.append(c["name"])
            self.targets = [c for c in TARGET_CITIES if c in self.province_of]
        else:
            self.province_of = dict(_FALLBACK_PROVINCES)
            match_names = sorted(self.province_of)
            self.targets = [c for c in TARGET_CITIES if c in self.province_of]
        if len(self.targets) < 10:
            raise SystemExit("synth: fewer than 10 usable cities in kb/data/cities.yaml")
        # Names matched in the source text (longest first); all of them, targets or not.
        self.match_names = sorted(set(match_names) | set(self.targets), key=lambda n: (-len(n), n))
        protected = list(_FALLBACK_PROTECTED)
        self.suffix_res = [r"(?:理工|科技|师范|交通|工业|财经|医科|工程|农业)?大学(?!生)",
                           r"(?:东|西|南|北|中)?路(?![演径线况子])", r"大道|大街",
                           r"(?:证券|商品|期货|票据|黄金)交易所"]
        inst_file = Path(data_dir) / "institutions.yaml"
        if inst_file.exists():
            data = yaml.safe_load(inst_file.read_text(encoding="utf-8")) or {}
            for inst in data.get("institutions", []):
                protected.append(inst["name"])
                protected.extend(inst.get("aliases") or [])
            self.suffix_res = list(data.get("city_suffixes") or self.suffix_res)
        self.protected = sorted(set(protected), key=lambda n: (-len(n), n))
        self.suffix_re = re.compile("|".join(f"(?:{s})" for s in self.suffix_res))

    def province(self, city):
        return self.province_of.get(city, city)


# ------------------------------------------------------------------ source text -> templates

_CJK = r"\u3400-\u9fff"
_CJK_RE = re.compile(f"[{_CJK}]")
_H1_RE = re.compile(r"^[一二三四五六七八九十]{1,3}、\s*(.+)$")
_H2_RE = re.compile(r"^[（(][一二三四五六七八九十]{1,3}[)）]\s*(.+)$")
_H3_RE = re.compile(r"^\d{1,2}[.．、]\s*(.+)$")
_ENUM_RE = re.compile(r"^\s*(?:\d{1,2}[.．、]|[（(][一二三四五六七八九十\d]{1,3}[)）]|[一二三四五六七八九十]{1,3}、)\s*")
_SENT_RE = re.compile(r"[^。！？!?]*[。！？!?]+[”’」』）)]*")
_SPACE_NEAR_CJK = re.compile(rf"(?<=[{_CJK}，。；：、“”（）])\s+|\s+(?=[{_CJK}，。；：、“”（）])")
_FURNITURE_RE = re.compile(r"^[\d\s\-—–·.]*$|星期[一二三四五六日天]|^第\s*\d+\s*页")


def _tidy(text):
    text = text.replace("\u3000", " ").replace("\ufeff", "")
    text = _SPACE_NEAR_CJK.sub("", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def _heading_text(line):
    """The text of a numbered heading line (一、 （一） 1.), or None."""
    for rx in (_H1_RE, _H2_RE):
        m = rx.match(line)
        if m and len(line) <= 40 and not line.rstrip().endswith(("。", "；", "，")):
            return m.group(1).strip()
    return None


def _fallback_paragraphs(text):
    """Own simple cleaning: drop page furniture, rejoin hard-wrapped lines; a heading
    line or a line ending a sentence ends a paragraph."""
    paras, buf = [], []
    for raw in text.splitlines():
        line = _tidy(raw)
        if not line:
            continue
        if len(line) < 4 and not _CJK_RE.search(line) or _FURNITURE_RE.search(line):
            continue
        if _heading_text(line) is not None:
            if buf:
                paras.append("".join(buf))
                buf = []
            paras.append(line)
            continue
        buf.append(line)
        if line.endswith(("。", "！", "？", "”", "）", ")")) and len("".join(buf)) > 60:
            paras.append("".join(buf))
            buf = []
    if buf:
        paras.append("".join(buf))
    return paras


def _paragraphs(path, text):
    """Logical paragraphs of one source report: kb.clean when importable, else our own."""
    try:
        from kb.clean import clean
        from kb.read import read_document

        paras = [_tidy(p) for p in clean(text, read_document(path))]
        paras = [p for p in paras if p]
        if len(paras) >= 5:
            return paras, "kb.clean"
    except Exception:  # a stage being written right now may be missing or broken
        pass
    return _fallback_paragraphs(text), "fallback"


def _good_sentence(s):
    cjk = len(_CJK_RE.findall(s))
    return (12 <= cjk and len(s) <= 400 and cjk >= 0.55 * len(s.replace(" ", ""))
            and "\ufffd" not in s and not _FURNITURE_RE.search(s))


class Templates:
    """Sentences and headings of the source corpus compiled into templates: lists of
    literal strings and placeholders ("c", city, has_市) / ("p", province, has_省) /
    ("y", year) / ("n", digits, decimals, is_percent)."""

    def __init__(self, source_dir, geo):
        self.geo = geo
        parts = [f"(?P<keep>{'|'.join(map(re.escape, geo.protected))})",
                 f"(?P<city>{'|'.join(map(re.escape, geo.match_names))})",
                 f"(?P<prov>{'|'.join(map(re.escape, sorted(PROVINCES, key=len, reverse=True)))})(?P<sheng>省)?",
                 r"(?<=〔)(?P<year0>(?:19|20)\d\d)(?=〕)",
                 r"(?<![\d.])(?P<year>(?:19[5-9]|20[0-4])\d)(?=\s*(?:年|[—–\-~～至]\s*(?:19|20)\d\d))",
                 r"(?<![\d.,])(?P<num>\d+(?:\.\d+)?)(?![\d.])(?P<pct>\s*[%％])?"]
        self._token_re = re.compile("|".join(parts))
        self.sources = []  # [{"id", "home", "year", "sentences": [tpl], "mode"}]
        self.headings = []  # heading templates (text only, no numbering)
        self.items = []  # short "1. xxx。" item headings
        source_dir = Path(source_dir)
        paths = sorted(p for p in source_dir.iterdir()
                       if p.suffix in (".txt", ".md") and p.with_suffix(".yaml").exists()
                       and not p.name.startswith(ID_PREFIX))
        if not paths:
            raise SystemExit(f"synth: no source documents in {source_dir}")
        seen = set()
        for path in paths:
            meta = yaml.safe_load(path.with_suffix(".yaml").read_text(encoding="utf-8"))
            text = path.read_bytes().decode("utf-8-sig", errors="replace")
            year = int(str(meta["date"])[:4])
            paras, mode = _paragraphs(path, text.replace("\r\n", "\n"))
            home = meta.get("home_city") or self._most_named_city(text)
            sentences = []
            for para in paras:
                head = _heading_text(para)
                if head is not None:
                    if 2 <= len(head) <= 30 and head not in seen:
                        seen.add(head)
                        self.headings.append(self.compile(head, home, year))
                    continue
                m = _H3_RE.match(para)
                for s in _SENT_RE.findall(para):
                    s = _ENUM_RE.sub("", s.strip())
                    if m and len(s) <= 24 and s.endswith("。") and s[:-1] not in seen:
                        seen.add(s[:-1])
                        self.items.append(self.compile(s[:-1], home, year))
                        m = None
                        continue
                    if _good_sentence(s) and s not in seen:
                        seen.add(s)
                        sentences.append(self.compile(s, home, year))
            if sentences:
                self.sources.append({"id": path.stem, "home": home, "year": year,
                                     "sentences": sentences, "mode": mode})
        self.source_cities = sorted({p[1] for src in self.sources for t in src["sentences"]
                                     for p in t if type(p) is tuple and p[0] == "c"})
        self.weights = [len(s["sentences"]) for s in self.sources]

    def _most_named_city(self, text):
        counts = {}
        for name in self.geo.match_names:
            counts[name] = text.count(name)
        best = max(sorted(counts), key=lambda n: counts[n])
        return best if counts[best] else self.geo.targets[0]

    def compile(self, text, home, year):
        out = []
        pos = 0
        for m in self._token_re.finditer(text):
            if m.group("keep") is not None:
                continue  # 深圳证券交易所…: left as literal text
            if m.group("city") is not None:
                name = m.group("city")
                if self.geo.suffix_re.match(text, m.end()):
                    continue  # 武汉大学, 南京路…
                out.append(text[pos:m.start()])
                out.append(("c", name, name == home))
                pos = m.end()
            elif m.group("prov") is not None:
                if m.group("prov") != self.geo.province(home):
                    continue
                out.append(text[pos:m.start()])
                out.append(("p", bool(m.group("sheng"))))
                pos = m.end()
            elif m.group("year0") is not None or m.group("year") is not None:
                out.append(text[pos:m.start()])
                out.append(("y", int(m.group("year0") or m.group("year")) - year))
                pos = m.end()
            else:
                digits = m.group("num")
                following = text[m.end("num"):m.end("num") + 2].lstrip()
                value = float(digits)
                if (value < 10 or following[:1] in ("月", "日", "号", "时", "点", "届", "期", "批", "轮")
                        or text[max(0, m.start() - 1):m.start()] in ("第", "〔")):
                    continue
                decimals = len(digits.split(".")[1]) if "." in digits else 0
                out.append(text[pos:m.start()])
                out.append(("n", value, decimals, bool(m.group("pct"))))
                pos = m.end("num")
        out.append(text[pos:])
        return tuple(p for p in out if p != "")


# ------------------------------------------------------------------ rendering


class _Doc:
    """Rendering context of one synthetic document."""

    def __init__(self, rng, geo, city, year, source_cities):
        self.rng, self.geo, self.city, self.year = rng, geo, city, year
        others = [c for c in geo.targets if c != city]
        picks = rng.sample(others, min(len(others), len(source_cities)))
        self.city_map = {src: picks[i % len(picks)] for i, src in enumerate(source_cities)}

    def render(self, tpl, base_year):
        out = []
        for p in tpl:
            if type(p) is str:
                out.append(p)
                continue
            kind = p[0]
            if kind == "c":
                out.append(self.city if p[2] else self.city_map.get(p[1], p[1]))
            elif kind == "p":
                prov = self.geo.province(self.city)
                if p[1]:
                    prov += "市" if prov in MUNICIPALITIES else ("" if prov in ("内蒙古", "广西", "西藏", "宁夏", "新疆") else "省")
                out.append(prov)
            elif kind == "y":
                out.append(str(base_year + p[1]))
            else:
                _, value, decimals, pct = p
                new = value * math.exp(self.rng.uniform(-0.5, 0.5))
                if pct and value <= 100:
                    new = min(new, 100.0 if decimals == 0 else 99.9)
                if decimals:
                    out.append(f"{new:.{decimals}f}")
                else:
                    out.append(str(max(10, int(round(new)))))
        return "".join(out)


CN_NUM = "一二三四五六七八九十"
TOPICS = ("加快发展科技金融", "推动科创金融高质量发展", "金融支持科技创新", "支持科技型企业融资",
          "建设区域科技金融中心", "深化知识产权金融服务", "发展耐心资本支持科技创新",
          "推进投贷联动试点", "完善科技信贷风险补偿机制", "促进创业投资高质量发展",
          "构建全生命周期科技金融服务体系", "加强科技保险和融资担保服务")
HEADLINES = ("科技贷款余额突破{n}亿元", "{n}家科技型企业获得首贷", "设立{n}亿元天使基金",
             "知识产权质押融资规模达{n}亿元", "科创金融专营机构增至{n}家", "政府投资基金撬动社会资本{n}亿元",
             "科技保险为{n}家企业提供风险保障", "“贷投联动”服务科技企业{n}户")
H1_POLICY = ("总体要求", "主要任务", "重点任务", "保障措施", "组织实施", "工作目标", "支持政策")
H1_REPORT = ("基本情况", "先行地区经验做法", "主要启示", "存在的问题", "对策建议", "发展现状", "几点思考")
ITEMS = ("强化政府投资基金引导作用", "扩大科技信贷投放", "完善风险分担机制", "发展科技保险",
         "拓宽直接融资渠道", "优化融资担保服务", "深化知识产权质押融资", "健全科技金融服务平台")


def _pick_type(rng):
    r = rng.uniform(0, sum(w for _, w in TYPES))
    for name, w in TYPES:
        r -= w
        if r <= 0:
            return name
    return TYPES[-1][0]


def _date(rng, year, kind):
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    roll = rng.random()
    if kind in ("policy", "news") or roll < 0.4:
        return f"{year}-{month:02d}-{day:02d}"
    if roll < 0.75:
        return f"{year}-{month:02d}"
    return f"{year}"


def _title_publisher(rng, kind, city, year):
    topic = rng.choice(TOPICS)
    if kind == "policy":
        title = rng.choice((f"{city}市关于{topic}的实施意见",
                            f"{city}市{topic}行动方案（{year}—{year + 2}年）",
                            f"{city}市人民政府办公厅关于印发{city}市{topic}若干措施的通知",
                            f"关于{topic}的若干政策措施"))
        publisher = rng.choice((f"{city}市人民政府办公厅", f"{city}市人民政府", f"{city}市地方金融管理局",
                                f"{city}市科学技术局"))
    elif kind == "report":
        title = rng.choice((f"关于{city}市{topic}的调研报告", f"{city}科创金融发展报告（{year}）",
                            f"{topic}：{city}的实践与思考"))
        publisher = rng.choice((f"{city}市委政策研究室", f"{city}市金融研究院", f"{city}市社会科学院"))
    elif kind == "news":
        headline = rng.choice(HEADLINES).format(n=rng.randint(12, 980))
        title = f"{city}：{headline}"
        publisher = rng.choice((f"{city}日报", f"{city}晚报", "金融时报（地方版）"))
    else:
        title = rng.choice((f"区域观察：{city}{topic}的经验与启示", f"从{city}看{topic}"))
        publisher = rng.choice(("区域金融观察", f"{city}金融学会", "未署名（评论专栏）"))
    return title, publisher


class Generator:
    def __init__(self, seed=0, source=DEFAULT_SOURCE, data_dir=None):
        self.seed = seed
        self.geo = Geo(data_dir or DATA_DIR)
        self.tpl = Templates(source, self.geo)
        if not self.tpl.sources:
            raise SystemExit("synth: no usable sentences in the source corpus")

    # -- pieces

    def _paragraph(self, ctx, rng):
        """A run of 1–5 consecutive real sentences from one source report."""
        src = rng.choices(self.tpl.sources, weights=self.tpl.weights)[0]
        sents = src["sentences"]
        n = min(len(sents), rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5, 6)))
        start = rng.randrange(0, len(sents) - n + 1)
        return "".join(ctx.render(t, ctx.year) for t in sents[start:start + n])

    def _heading(self, ctx, rng, pool):
        if self.tpl.headings and rng.random() < 0.6:
            return ctx.render(rng.choice(self.tpl.headings), ctx.year)
        return rng.choice(pool)

    def _item(self, ctx, rng):
        if self.tpl.items and rng.random() < 0.6:
            return ctx.render(rng.choice(self.tpl.items), ctx.year)
        return rng.choice(ITEMS)

    # -- one document

    def document(self, index):
        """(doc_id, text, sidecar) of document ``index`` (1-based)."""
        rng = random.Random(f"kb-synth|{self.seed}|{index}")
        doc_id = f"{ID_PREFIX}{index:06d}"
        kind = _pick_type(rng)
        city = rng.choice(self.geo.targets)
        year = rng.randint(*YEARS)
        date = _date(rng, year, kind)
        title, publisher = _title_publisher(rng, kind, city, year)
        ctx = _Doc(rng, self.geo, city, year, self.tpl.source_cities)
        # Size: a log-uniform target of 7–34 KB of UTF-8 text (the real reports are
        # 8–28 KB), at ~650 bytes per paragraph of recombined sentences: 10–52 paragraphs.
        target = math.exp(rng.uniform(math.log(7000), math.log(34000)))
        n_paras = max(8, min(60, round(target / 650)))
        blocks = [title]
        doc_number = None
        if kind == "policy":
            doc_number = f"{city[0]}政{rng.choice(('办', '', '发'))}〔{year}〕{rng.randint(1, 120)}号"
            blocks.append(doc_number)
        elif kind == "news":
            blocks.append(f"{year}年{int(date[5:7])}月{int(date[8:10])}日")
        blocks.append(self._paragraph(ctx, rng))  # preamble
        remaining = n_paras - 1
        h1_pool = H1_POLICY if kind == "policy" else H1_REPORT
        n_h1 = max(2, min(8, remaining // rng.randint(5, 9)))
        for i in range(n_h1):
            if remaining <= 0:
                break
            blocks.append(f"{CN_NUM[i]}、{self._heading(ctx, rng, h1_pool)}")
            share = remaining if i == n_h1 - 1 else max(1, remaining // (n_h1 - i))
            if kind in ("policy", "report") and share >= 4 and rng.random() < 0.8:
                n_h2 = min(6, max(2, share // rng.randint(2, 4)))
                for j in range(n_h2):
                    k = share // n_h2 + (1 if j < share % n_h2 else 0)
                    if k <= 0:
                        continue
                    blocks.append(f"（{CN_NUM[j]}）{self._heading(ctx, rng, ITEMS)}")
                    for m in range(k):
                        para = self._paragraph(ctx, rng)
                        if kind == "policy" and rng.random() < 0.7:
                            para = f"{m + 1}. {self._item(ctx, rng)}。{para}"
                        blocks.append(para)
            else:
                blocks.extend(self._paragraph(ctx, rng) for _ in range(share))
            remaining -= share
        if kind == "policy":
            blocks.append(f"{publisher}")
            blocks.append(f"{year}年{int(date[5:7])}月{int(date[8:10])}日")
        if rng.random() < 0.25:  # hard-wrapped like a PDF extraction
            width = rng.randint(28, 40)
            blocks = [b if len(b) <= width else "\n".join(b[i:i + width] for i in range(0, len(b), width))
                      for b in blocks]
        text = "\n\n".join(blocks) + "\n"
        meta = [("title", title), ("publisher", publisher), ("date", date), ("type", kind)]
        if kind != "commentary" or rng.random() < 0.5:
            meta.append(("home_city", city))
        if doc_number:
            meta.append(("doc_number", doc_number))
        meta.append(("date_note", f"合成文档（benchmarks/synth.py，seed={self.seed}），"
                                  "由真实报告的句子重组并替换城市、年份与数字，仅供性能测试。"))
        sidecar = "".join(f"{k}: {_yaml_str(v)}\n" for k, v in meta)
        return doc_id, text, sidecar

    def write(self, index, out_dir):
        doc_id, text, sidecar = self.document(index)
        out_dir = Path(out_dir)
        (out_dir / f"{doc_id}.txt").write_bytes(text.encode("utf-8"))
        (out_dir / f"{doc_id}.yaml").write_bytes(sidecar.encode("utf-8"))
        return doc_id, len(text.encode("utf-8"))


def _yaml_str(value):
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    import json

    return json.dumps(str(value), ensure_ascii=False)


# ------------------------------------------------------------------ API + CLI

_GENERATORS = {}


def generator(seed=0, source=DEFAULT_SOURCE):
    key = (seed, str(Path(source).resolve()))
    if key not in _GENERATORS:
        _GENERATORS[key] = Generator(seed, source)
    return _GENERATORS[key]


def doc_id(index):
    return f"{ID_PREFIX}{index:06d}"


def parse_id(value):
    value = str(value)
    if value.startswith(ID_PREFIX):
        value = value[len(ID_PREFIX):]
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"bad synthetic document id: {value!r} (expected syn-000123 or 123)")
    return int(value)


def generate(n, out_dir, seed=0, source=DEFAULT_SOURCE):
    """Write documents 1..n into ``out_dir`` (stale syn-* files there are removed).
    Returns {"documents", "bytes", "seconds"}."""
    t0 = time.perf_counter()
    gen = generator(seed, source)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = {doc_id(i) for i in range(1, n + 1)}
    for p in out_dir.glob(f"{ID_PREFIX}*"):
        if p.stem not in wanted and p.suffix in (".txt", ".yaml"):
            p.unlink()
    total = 0
    for i in range(1, n + 1):
        total += gen.write(i, out_dir)[1]
    return {"documents": n, "bytes": total, "seconds": round(time.perf_counter() - t0, 3)}


def generate_extra(index, out_dir, seed=0, source=DEFAULT_SOURCE):
    """Write the single document ``index`` (an int or "syn-000123"); returns its id."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return generator(seed, source).write(parse_id(index), out_dir)[0]


def main(argv=None):
    p = argparse.ArgumentParser(prog="python benchmarks/synth.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, help="number of documents (syn-000001 … syn-N)")
    p.add_argument("--out", required=True, metavar="DIR", help="corpus directory to write")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--source", default=str(DEFAULT_SOURCE), metavar="DIR",
                   help="real reports to recombine (default corpus/)")
    p.add_argument("--extra", metavar="ID", help="write only this one document (syn-001001 or 1001)")
    args = p.parse_args(argv)
    if args.extra:
        try:
            name = generate_extra(args.extra, args.out, args.seed, args.source)
        except ValueError as exc:
            p.error(str(exc))
        print(f"wrote {Path(args.out) / name}.txt", file=sys.stderr)
        return 0
    if args.docs is None or args.docs < 1:
        p.error("--docs N (N ≥ 1) or --extra ID is required")
    stats = generate(args.docs, args.out, args.seed, args.source)
    gen = generator(args.seed, args.source)
    modes = sorted({s["mode"] for s in gen.tpl.sources})
    print(f"wrote {stats['documents']} documents, {stats['bytes'] / 1e6:.1f} MB, "
          f"{stats['seconds']:.1f} s (sentences: {sum(gen.tpl.weights)}, "
          f"headings: {len(gen.tpl.headings)}, paragraphs via {', '.join(modes)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
