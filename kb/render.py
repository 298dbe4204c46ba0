"""Stage — render: documents, tagged passages, figures and vocab -> the static site.

``render_site(out_dir, documents, passages, figures, vocab, search_assets, base_url=None)``
writes every HTML page (and ``sitemap.xml`` when ``base_url`` is given) and copies
``site_templates/static/**`` to ``out_dir/static/``; returns the sorted list of files written.

Pages (all links relative, built from ``root``, the prefix back to the site root; where a
document or passage lives is defined once, in ``kb.urls``):

* ``index.html`` — what the collection holds + the city × instrument matrix (short headers,
  cities without any instrument folded below it);
* ``cities.html`` — the cities with passages, by province, with counts;
* ``city/<slug>.html`` — only for cities with passages: each passage once (under its first
  instrument, with its instrument chips), a table of contents by instrument with counts,
  documents, 所述年份, key figures labelled with what each measures;
* ``instrument/<slug>.html`` — the instrument in plain Chinese, the cities that use it, key
  passages; STIP code and Rothwell–Zegveld type explained in a collapsible note;
* ``compare.html`` — 2–4 cities side by side, instrument by instrument first (TOC + jump
  links), then key figures of the chosen cities; the cells come from one small data file per
  city, ``compare/<slug>.js``, loaded as a script by ``static/js/compare.js`` (works from
  file://), so compare.html stays small whatever the corpus size; the comparison exports as
  CSV and as a pasteable table with each cell's citation;
* ``doc/<doc-id>.html`` (+ ``doc/<doc-id>/<n>.html`` for the parts of a long document) —
  metadata, link to the original, GB/T 7714-2015 citation, full text with one anchor and one
  copy-citation button per passage;
* ``documents.html``, ``downloads.html``, ``about.html``, ``404.html``;
* ``search/index.html`` from ``site_templates/search.html`` when that template exists.

Wording shared by every page (发布年份 / 所述年份, short instrument labels, notes on STIP and
policy-tool types) is data: ``kb/data/site.yaml``.

Templates hold no logic beyond loops and conditionals: every value is computed
here into plain dicts. Jinja autoescaping is on; Markdown is rendered with raw
HTML disabled and unsafe link schemes removed (``markdown_to_html``).

Output is deterministic (sorted iteration, no timestamps) and rendering is
linear in the corpus size: passages are grouped once, and city/instrument/compare
pages show at most a fixed number of passages per group with a link to the
search page for the rest.

``404.html`` is served at arbitrary paths, so relative links cannot work there:
it links with absolute paths from the path of ``base_url`` (default
``https://example.org/kb/`` → ``/kb/index.html``). Set ``--base-url`` to where the
site is published.
"""

import html
import json
import math
import re
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape as xml_escape

import jinja2
import markdown
import yaml
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

from . import charts, cite, urls
from .fsutil import write_bytes

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "site_templates"
DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_BASE_URL = "https://example.org/kb/"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'")

SITE_NAME = "城市科技金融政策比较知识库"
CITY_PAGE_PER_INSTRUMENT = 20     # passages per instrument on a city page
INSTRUMENT_PAGE_PER_CITY = 10     # passages per city on an instrument page
COMPARE_PER_CELL = 3              # passages per city × instrument cell on compare.html
COMPARE_EXCERPT = 120             # characters of the cue sentence shown on cards (full text: permalink)
CITY_FIGURES_PER_METRIC = 5       # newest key figures per metric and kind on a city page
MAX_ALIASES = 8                   # aliases listed under a city's name
COMPARE_DEFAULT = 3               # cities selected when compare.html has no ?cities=
COMPARE_MAX = 4
DATE_GAP_MONTHS = 12              # compared figure dates further apart get a warning

DOWNLOADS = (
    ("passages.jsonl", "JSON Lines", "全部段落，每行一个 JSON 对象（字段见下方数据字典）。"),
    ("passages.csv", "CSV（UTF-8 BOM）", "全部段落，适合 Excel；列表字段以“;”分隔，小节路径以“ › ”连接。"),
    ("documents.json", "JSON", "文献元数据（标题、发布者、日期、类型、文号、段落数等）。"),
    ("taxonomy.json", "JSON", "分类体系：城市（含别名）、省份、政策工具（含 STIP 代码与 Rothwell–Zegveld 类型、识别用词）、指标。"),
    ("figures.json", "JSON", "从段落中抽取的关键数字（城市、指标、数值、单位、时点、实际/目标、出处段落）。"),
    ("figures.csv", "CSV（UTF-8 BOM）", "同 figures.json，适合 Excel。"),
    ("figures-coverage.md", "Markdown", "关键数字抽取覆盖情况说明。"),
)
REQUIRED_DOWNLOADS = ("passages.jsonl", "passages.csv", "documents.json", "taxonomy.json",
                      "figures.json", "figures.csv")

DATA_DICTIONARY = (
    ("段落 passages", (
        ("id", "段落永久编号：文献编号 + 正文哈希（同一文献中相同正文加 -2、-3）"),
        ("doc", "所属文献编号"),
        ("position", "段落在文献中的顺序（从 0 开始）"),
        ("section", "所在小节标题路径（由外到内）"),
        ("text", "清洗后的段落正文"),
        ("cities", "段落所述的主体城市"),
        ("mentions", "段落中提到的全部城市"),
        ("province", "省级表述涉及的省份"),
        ("instruments", "命中的政策工具（slug）"),
        ("cues", "每个政策工具命中的识别用词"),
        ("year / years", "发布年份（文献日期的年份）/ 所述年份（段落所述事实的年份）"),
        ("url", "段落在本站的永久链接（相对站点根目录）"),
    )),
    ("文献 documents", (
        ("id / source", "文献编号 / 语料文件名"),
        ("title / publisher", "标题 / 发布者（责任者）"),
        ("date / year", "发布日期（YYYY、YYYY-MM 或 YYYY-MM-DD）/ 发布年份"),
        ("type", "policy 政策文件、report 研究报告、news 新闻报道、commentary 评论文章"),
        ("home_city / doc_number / date_note", "所属城市 / 文号 / 日期说明"),
        ("passages", "段落数"),
    )),
    ("关键数字 figures", (
        ("city / metric", "城市 / 指标（slug，见 taxonomy.json）"),
        ("value / value_max / from_value / unit", "数值（区间上限、变化起点）/ 单位"),
        ("as_of", "数字所指时点"),
        ("kind", "actual 实际值，target 目标值"),
        ("cumulative / qualifier", "是否累计 / 限定语"),
        ("passage / doc / quote", "出处段落、文献与原文摘录"),
    )),
)

POLICY_TOOL_LABELS = {"supply": "供给型", "demand": "需求型", "environment": "环境型",
                      "environmental": "环境型"}
KIND_LABELS = {"actual": "实际", "target": "目标"}
QUALIFIER_LABELS = {"approx": "约", "over": "超过", "under": "不足", "at-least": "至少",
                    "at-most": "至多"}
SCOPE_LABELS = {"institution": "单个机构/基金"}  # kb.figures scope; "city" makes no claim
OTHER_METRIC = "other"  # kb.figures: a number that matched no metric of metrics.yaml


# --------------------------------------------------------------------------- Markdown

class _SafeLinks(Treeprocessor):
    """Drop href/src values whose scheme is not http(s)/mailto (javascript:, data:, vbscript:…)."""

    SAFE = {"http", "https", "mailto"}

    def run(self, root):
        for el in root.iter():
            for attr in ("href", "src"):
                value = el.get(attr)
                if value is None:
                    continue
                # Browsers ignore whitespace and control characters inside the scheme.
                squashed = re.sub(r"[\x00-\x20]", "", html.unescape(value))
                scheme = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", squashed)
                if scheme and scheme.group(1).lower() not in self.SAFE:
                    del el.attrib[attr]


class _NoRawHtml(Extension):
    """python-markdown 3 has no safe_mode: deregister the raw-HTML block preprocessor and
    the inline HTML pattern, so ``<script>`` stays text (escaped by the serializer)."""

    def extendMarkdown(self, md):
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_SafeLinks(md), "safe_links", 0)


def markdown_to_html(source):
    """Markdown -> HTML (Markup) with raw HTML escaped and unsafe link schemes removed."""
    md = markdown.Markdown(extensions=[_NoRawHtml(), "tables", "sane_lists"],
                           output_format="html")
    return Markup(md.convert(source or ""))


# --------------------------------------------------------------------------- helpers

def _get(obj, name, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


_URL_SAFE = re.compile(r"[A-Za-z0-9_.\-~]*")


def _q(value):
    """URL-quote one path segment / query value (ids and slugs are usually already safe)."""
    value = str(value)
    if _URL_SAFE.fullmatch(value):
        return value
    return quote(value, safe="")


def _months(as_of):
    """'2024-06' -> 2024*12+6; a bare year counts as its December (as kb.charts.date_months)."""
    m = re.match(r"^\s*(\d{4})(?:-(\d{1,2}))?", str(as_of or ""))
    if not m:
        return None
    return int(m.group(1)) * 12 + (int(m.group(2)) if m.group(2) else 12)


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


# --------------------------------------------------------------------------- model

class _Site:
    """Everything the templates need, computed once from the inputs."""

    def __init__(self, documents, passages, figures, vocab):
        self.documents = sorted(documents, key=lambda d: d["id"])
        self.docs_by_id = {d["id"]: d for d in self.documents}
        # Newest first, then by id: the order passages are listed in outside document pages.
        newest = sorted(self.documents, key=lambda d: (str(d.get("date") or ""), d["id"]),
                        reverse=True)
        self.doc_rank = {d["id"]: i for i, d in enumerate(newest)}
        self.docs_newest = newest
        self.docs_by_home = defaultdict(list)
        for d in self.documents:
            if d.get("home_city"):
                self.docs_by_home[d["home_city"]].append(d["id"])

        self.vocab = vocab
        cities = list(_get(vocab, "cities", []) or [])
        self.cities = cities
        self.city_by_name = {}
        for c in cities:
            self.city_by_name.setdefault(c["name"], c)
        for c in cities:
            for alias in _plain_aliases(c):
                self.city_by_name.setdefault(alias, c)
        self.instruments = list(_get(vocab, "instruments", []) or [])
        self.inst_by_slug = {i["slug"]: i for i in self.instruments}
        self.inst_rank = {i["slug"]: n for n, i in enumerate(self.instruments)}
        self.metrics = {m.get("slug") or m.get("id"): m for m in (_get(vocab, "metrics", []) or [])}

        self.passages = sorted(passages, key=lambda p: (self.doc_rank.get(p["doc"], 1 << 30),
                                                        p["doc"], p["position"]))
        self.figures = list(figures or [])

        # Groupings (one pass each).
        self.by_doc = defaultdict(list)
        self.by_city = defaultdict(list)
        self.by_city_inst = defaultdict(list)
        self.by_inst = defaultdict(list)
        for p in self.passages:
            self.by_doc[p["doc"]].append(p)
            insts = self.insts_of(p)
            for s in insts:
                self.by_inst[s].append(p)
            for name in p.get("cities", []):
                city = self.city_by_name.get(name)
                if city is None:
                    continue
                slug = city["slug"]
                self.by_city[slug].append(p)
                if insts:
                    for s in insts:
                        self.by_city_inst[(slug, s)].append(p)
                else:
                    self.by_city_inst[(slug, None)].append(p)
        # Page part of every passage (kb.urls: long documents are cut into parts).
        self.part_of = {}
        for key in self.by_doc:
            self.by_doc[key].sort(key=lambda p: p["position"])
            group = self.by_doc[key]
            self.part_of.update(zip((p["id"] for p in group),
                                    urls.part_numbers(p.get("text") for p in group)))

        # Cities that have passages, most passages first; only they get a page.
        self.active_cities = sorted(
            (c for c in cities if self.by_city.get(c["slug"])),
            key=lambda c: (-len(self.by_city[c["slug"]]), c["slug"]))
        self.active_slugs = {c["slug"] for c in self.active_cities}

        # Key figures: those that matched a metric (kb.figures files the rest under "other").
        self.figures_by_city = defaultdict(list)
        for f in self.figures:
            city = self.city_by_name.get(f.get("city"))
            if city is not None and f.get("metric") and f.get("metric") != OTHER_METRIC:
                self.figures_by_city[city["slug"]].append(f)

        self.views = {p["id"]: self._passage_view(p) for p in self.passages}

    def insts_of(self, p):
        """A passage's known instruments, in vocabulary order."""
        return sorted((s for s in p.get("instruments", []) if s in self.inst_by_slug),
                      key=self.inst_rank.get)

    # ----------------------------------------------------------------- links

    @staticmethod
    def doc_url(doc_id, part=1):
        return urls.doc_page(doc_id, part)

    def city_url(self, slug):
        """A city's page, or None when the city has no passages (it gets no page)."""
        return f"city/{_q(slug)}.html" if slug in self.active_slugs else None

    @staticmethod
    def inst_url(slug):
        return f"instrument/{_q(slug)}.html"

    @staticmethod
    def search_url(city=None, instrument=None):
        params = []
        if city:
            params.append(f"city={_q(city)}")
        if instrument:
            params.append(f"instrument={_q(instrument)}")
        return "search/index.html" + ("?" + "&".join(params) if params else "")

    def passage_url(self, doc_id, passage_id):
        return urls.passage_url(doc_id, passage_id, self.part_of.get(passage_id, 1))

    # ----------------------------------------------------------------- views

    def city_chip(self, name):
        city = self.city_by_name.get(name)
        return {"label": name, "url": self.city_url(city["slug"]) if city else None}

    def inst_chip(self, slug):
        inst = self.inst_by_slug.get(slug)
        return {"label": inst["label"] if inst else slug, "slug": slug,
                "url": self.inst_url(slug) if inst else None}

    def _passage_view(self, p):
        doc = self.docs_by_id.get(p["doc"], {"id": p["doc"]})
        text = p.get("text", "")
        trail = list(p.get("section") or [])
        section = " › ".join(trail)
        return {
            "id": p["id"],
            "text": text,
            "excerpt": cue_sentence(text),
            "url": self.passage_url(p["doc"], p["id"]),
            "doc_url": self.doc_url(p["doc"]),
            "doc_title": doc.get("title") or p["doc"],
            "doc_date": str(doc.get("date") or p.get("year") or ""),
            "doc_year": str(doc.get("year") or p.get("year") or ""),
            "doc_type": cite.TYPE_LABELS.get(doc.get("type"), doc.get("type") or ""),
            "section": section,
            "trail": trail,
            "cities": [self.city_chip(n) for n in p.get("cities", [])],
            "instruments": [self.inst_chip(s) for s in p.get("instruments", [])],
            "years": list(p.get("years") or []),
            "cite": cite.online_citation(doc, section or None),
        }

    def card(self, p, slug=None):
        """A passage as a card: its view plus the sentence where ``slug``'s cue fired."""
        view = dict(self.views[p["id"]])
        cues = (p.get("cues") or {}).get(slug) if slug else None
        if cues is None and not slug:
            cues = [c for cs in (p.get("cues") or {}).values() for c in cs]
        view["excerpt"] = cue_sentence(p.get("text", ""), cues or ())
        return view

    def cards(self, passages, slug=None, limit=None):
        chosen = passages if limit is None else passages[:limit]
        return [self.card(p, slug) for p in chosen]

    def doc_summary(self, doc, count=None):
        return {
            "id": doc["id"],
            "title": doc.get("title") or doc["id"],
            "publisher": doc.get("publisher") or "",
            "date": str(doc.get("date") or ""),
            "type": cite.TYPE_LABELS.get(doc.get("type"), doc.get("type") or ""),
            "url": self.doc_url(doc["id"]),
            "count": len(self.by_doc.get(doc["id"], [])) if count is None else count,
        }

    def metric_info(self, slug):
        m = self.metrics.get(slug) or {}
        return {"slug": slug, "label": m.get("label") or slug, "unit": m.get("unit") or ""}

    def figure_view(self, f):
        value = _fmt_number(f.get("value"))
        if f.get("value_max") not in (None, ""):
            value = f"{value}–{_fmt_number(f.get('value_max'))}"
        if f.get("from_value") not in (None, ""):
            value = f"{_fmt_number(f.get('from_value'))} → {value}"
        metric = self.metric_info(f.get("metric"))
        if f.get("label") and metric["label"] == metric["slug"]:
            metric["label"] = f["label"]
        city = self.city_by_name.get(f.get("city"))
        qualifiers = []
        if f.get("qualifier"):
            qualifiers.append(QUALIFIER_LABELS.get(f["qualifier"], str(f["qualifier"])))
        if f.get("cumulative"):
            qualifiers.append("累计")
        passage_id = f.get("passage")
        doc_id = f.get("doc") or (passage_id.rsplit("-", 1)[0] if passage_id else None)
        link = None
        if passage_id and passage_id in self.views:
            link = self.views[passage_id]["url"]
        elif doc_id and doc_id in self.docs_by_id:
            link = self.doc_url(doc_id)
        return {
            "city": f.get("city") or "",
            "city_slug": city["slug"] if city else "",
            "city_url": self.city_url(city["slug"]) if city else None,
            "metric": metric["label"],
            "metric_slug": metric["slug"],
            "value": value,
            "unit": f.get("unit") or metric["unit"],
            "as_of": str(f.get("as_of") or ""),
            "kind": KIND_LABELS.get(f.get("kind"), f.get("kind") or ""),
            "kind_key": f.get("kind") or "",
            "qualifier": "；".join(qualifiers),
            "measure": figure_measure(f),
            "scope": SCOPE_LABELS.get(f.get("scope") or "city", ""),
            "quote": f.get("quote") or "",
            "url": link,
            "doc_title": (self.docs_by_id.get(doc_id) or {}).get("title", ""),
        }


def _figure_sort_key(f):
    return (str(f.get("metric") or ""), str(f.get("kind") or ""), str(f.get("as_of") or ""),
            str(f.get("passage") or ""), str(f.get("value")))


def _js_data(name, payload):
    """A data file loaded as a classic script (works from file://, see compare.js)."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    # "</script" cannot end anything in a .js file, but "<!--" and U+2028 are kept out anyway.
    body = body.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"KBPages.register({json.dumps(name)},{body});\n"


# --------------------------------------------------------------------------- pages

NAV = (
    ("index", "index.html", "首页"),
    ("compare", "compare.html", "城市对比"),
    ("cities", "cities.html", "城市"),
    ("search", "search/index.html", "检索"),
    ("documents", "documents.html", "文献"),
    ("downloads", "downloads.html", "数据下载"),
    ("about", "about.html", "关于与方法"),
)


class _Renderer:
    def __init__(self, out_dir, site, search_assets, base_url, templates_dir):
        self.out = Path(out_dir)
        self.site = site
        self.search_assets = search_assets or {}
        self.base_url = (base_url if base_url.endswith("/") else base_url + "/") if base_url else None
        self.templates_dir = templates_dir
        self.has_search = (templates_dir / "search.html").exists()
        loader = jinja2.FileSystemLoader(str(templates_dir))
        common = dict(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
        self.env = jinja2.Environment(undefined=jinja2.StrictUndefined, **common)
        # The search page is another engineer's template: render it without StrictUndefined.
        self.search_env = jinja2.Environment(**common)
        self.written = []
        self.pages = []  # site-relative paths of HTML pages (for the sitemap)

    # ----------------------------------------------------------------- plumbing

    def nav(self, current):
        return [{"href": href, "label": label, "current": key == current}
                for key, href, label in NAV if key != "search" or self.has_search]

    def base_ctx(self, rel_path, page_id, title, description=""):
        depth = rel_path.count("/")
        return {
            "root": "../" * depth,
            "csp": CSP,
            "site_name": SITE_NAME,
            "page_id": page_id,
            "page_title": title,
            "description": description,
            "nav": self.nav(page_id),
            "has_search": self.has_search,
            "search_url": "search/index.html",
            "year_labels": YEAR_LABELS,
            "scripts": [],
        }

    def write(self, rel_path, text):
        path = self.out / rel_path
        if not text.endswith("\n"):
            text += "\n"
        write_bytes(path, text.encode("utf-8"))
        self.written.append(path)

    def page(self, template, rel_path, ctx, env=None):
        text = (env or self.env).get_template(template).render(**ctx)
        self.write(rel_path, text)
        if rel_path.endswith(".html") and rel_path != "404.html":
            self.pages.append(rel_path)

    # ----------------------------------------------------------------- static

    def copy_static(self):
        src = self.templates_dir / "static"
        if not src.is_dir():
            return
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            if any(part.startswith(".") for part in path.relative_to(src).parts):
                continue
            rel = Path("static") / path.relative_to(src)
            write_bytes(self.out / rel, path.read_bytes())
            self.written.append(self.out / rel)

    # ----------------------------------------------------------------- home

    def home(self):
        s = self.site
        ctx = self.base_ctx("index.html", "index", SITE_NAME,
                            "中国城市科技金融（科创金融）政策文本的比较知识库")
        years = sorted({d["year"] for d in s.documents if d.get("year")})
        type_counts = defaultdict(int)
        for d in s.documents:
            type_counts[d.get("type")] = type_counts[d.get("type")] + 1
        instruments = s.instruments
        short = SITE_TEXT.get("instrument_short") or {}
        maximum = max((len(v) for (c, i), v in s.by_city_inst.items() if i), default=0)
        rows, folded = [], []
        for c in s.active_cities:
            cells = []
            for inst in instruments:
                n = len(s.by_city_inst.get((c["slug"], inst["slug"]), []))
                cells.append({
                    "count": n,
                    "bucket": _bucket(n, maximum),
                    "url": s.search_url(c["slug"], inst["slug"]) if n and self.has_search else None,
                    "title": f"{c['name']} · {inst['label']}：{n} 条段落",
                })
            row = {"name": c["name"], "url": s.city_url(c["slug"]),
                   "total": len(s.by_city[c["slug"]]), "cells": cells}
            (rows if any(cell["count"] for cell in cells) else folded).append(row)
        ctx.update({
            "stats": {
                "documents": len(s.documents),
                "passages": len(s.passages),
                "cities": len(s.active_cities),
                "instruments": sum(1 for i in instruments if s.by_inst.get(i["slug"])),
                "figures": len(s.figures),
                "years": f"{years[0]}–{years[-1]}" if len(years) > 1 else (str(years[0]) if years else "—"),
            },
            "doc_types": [{"label": cite.TYPE_LABELS.get(t, t), "count": n}
                          for t, n in sorted(type_counts.items(), key=lambda kv: str(kv[0]))],
            "matrix_instruments": [{"label": i["label"], "short": short.get(i["slug"]) or i["label"],
                                    "url": s.inst_url(i["slug"]),
                                    "count": len(s.by_inst.get(i["slug"], []))}
                                   for i in instruments],
            "matrix_rows": rows,
            "matrix_folded": folded,
            "matrix_max": maximum,
            "legend": self._legend(maximum),
            "recent_documents": [s.doc_summary(d) for d in s.docs_newest[:10]],
            "all_instruments": [{"label": i["label"], "url": s.inst_url(i["slug"]),
                                 "definition": i.get("definition") or "",
                                 "count": len(s.by_inst.get(i["slug"], []))}
                                for i in instruments],
        })
        self.page("index.html", "index.html", ctx)

    @staticmethod
    def _legend(maximum):
        if maximum <= 0:
            return []
        out = [{"bucket": 0, "label": "0"}]
        lo = 1
        for b in range(1, 5):
            hi = math.floor(b * maximum / 4)
            if hi < lo:
                continue
            out.append({"bucket": b, "label": f"{lo}" if lo == hi else f"{lo}–{hi}"})
            lo = hi + 1
        return out

    # ----------------------------------------------------------------- cities

    def cities_index(self):
        """城市: every city with passages, by province, with counts; the others named only."""
        s = self.site
        ctx = self.base_ctx("cities.html", "cities", "城市", "按省份列出有段落的城市")
        provinces = defaultdict(list)
        for c in s.active_cities:
            provinces[c.get("province") or "其他"].append(
                {"name": c["name"], "url": s.city_url(c["slug"]), "count": len(s.by_city[c["slug"]])})
        groups = [{"province": p, "cities": sorted(cs, key=lambda c: (-c["count"], c["name"])),
                   "count": sum(c["count"] for c in cs)}
                  for p, cs in provinces.items()]
        groups.sort(key=lambda g: (-g["count"], g["province"]))
        ctx.update({
            "groups": groups,
            "count": len(s.active_cities),
            "without": [c["name"] for c in s.cities if c["slug"] not in s.active_slugs],
        })
        self.page("cities.html", "cities.html", ctx)

    def city(self, c):
        s = self.site
        slug = c["slug"]
        rel = s.city_url(slug)
        ctx = self.base_ctx(rel, "city", f"{c['name']} · 城市", f"{c['name']}的科技金融政策段落")
        passages = s.by_city.get(slug, [])
        # Each passage once, under its first instrument (vocabulary order); the TOC counts
        # every passage carrying an instrument and links to where the first of them is.
        sections, where = {}, {}
        for p in passages:
            insts = s.insts_of(p)
            key = insts[0] if insts else None
            sections.setdefault(key, []).append(p)
            for i in insts:
                where.setdefault(i, p["id"])
        shown = defaultdict(int)
        groups = []
        keys = [(i["slug"], i["label"]) for i in s.instruments] + [(None, "未归入政策工具")]
        for inst_slug, label in keys:
            items = sections.get(inst_slug, [])
            if not items:
                continue
            groups.append({
                "id": f"inst-{inst_slug}" if inst_slug else "inst-none",
                "label": label,
                "url": s.inst_url(inst_slug) if inst_slug else None,
                "count": len(items),
                "passages": s.cards(items[:CITY_PAGE_PER_INSTRUMENT], inst_slug),
                "more_url": (s.search_url(slug, inst_slug)
                             if len(items) > CITY_PAGE_PER_INSTRUMENT and self.has_search else None),
            })
            for p in items[:CITY_PAGE_PER_INSTRUMENT]:
                shown[p["id"]] += 1
        group_ids = {g["id"] for g in groups}
        toc = []
        for inst in s.instruments:
            n = len(s.by_city_inst.get((slug, inst["slug"]), []))
            if not n:
                continue
            anchor = f"inst-{inst['slug']}"
            toc.append({"label": inst["label"], "count": n,
                        "href": "#" + (anchor if anchor in group_ids else f"c-{where[inst['slug']]}")})
        if sections.get(None):
            toc.append({"label": "未归入政策工具", "count": len(sections[None]), "href": "#inst-none"})
        doc_counts = defaultdict(int)
        for p in passages:
            doc_counts[p["doc"]] += 1
        for doc_id in s.docs_by_home.get(c["name"], []):
            doc_counts.setdefault(doc_id, 0)
        docs = [s.doc_summary(s.docs_by_id[d], n) for d, n in
                sorted(doc_counts.items(), key=lambda kv: s.doc_rank.get(kv[0], 0))
                if d in s.docs_by_id]
        year_counts = defaultdict(int)
        for p in passages:
            for y in p.get("years") or []:
                year_counts[y] += 1
        # Key figures: per (metric, kind) the newest CITY_FIGURES_PER_METRIC, metrics in
        # vocabulary order.
        metric_rank = {m: i for i, m in enumerate(s.metrics)}
        by_metric = defaultdict(list)
        for f in s.figures_by_city.get(slug, []):
            by_metric[(f.get("metric"), f.get("kind") or "actual")].append(f)
        figures, hidden_figures = [], 0
        for key in sorted(by_metric, key=lambda k: (metric_rank.get(k[0], len(metric_rank)),
                                                    str(k[0]), k[1] != "actual", k[1])):
            fs = sorted(by_metric[key], key=lambda f: (-(_months(f.get("as_of")) or 0),
                                                       _figure_sort_key(f)))
            figures.extend(fs[:CITY_FIGURES_PER_METRIC])
            hidden_figures += max(0, len(fs) - CITY_FIGURES_PER_METRIC)
        aliases = [a for a in _plain_aliases(c) if a != c["name"]]
        ctx.update({
            "city": {"name": c["name"], "slug": slug, "province": c.get("province") or "",
                     "aliases": aliases[:MAX_ALIASES],
                     "more_aliases": max(0, len(aliases) - MAX_ALIASES)},
            "hidden_figures": hidden_figures,
            "count": len(passages),
            "toc": toc,
            "groups": groups,
            "documents": docs,
            "years": [{"year": y, "count": n} for y, n in sorted(year_counts.items())],
            "figures": [s.figure_view(f) for f in figures],
            "search_all": s.search_url(slug) if self.has_search else None,
            "compare_url": f"compare.html?cities={_q(slug)}",
            "scripts": ["static/js/cite.js"],
        })
        self.page("city.html", rel, ctx)

    # ----------------------------------------------------------------- instrument

    def instrument(self, inst):
        s = self.site
        slug = inst["slug"]
        rel = s.inst_url(slug)
        ctx = self.base_ctx(rel, "instrument", f"{inst['label']} · 政策工具",
                            inst.get("definition") or "")
        md_path = DATA_DIR / "instruments" / f"{slug}.md"
        if md_path.is_file():
            definition = markdown_to_html(md_path.read_text(encoding="utf-8"))
        else:
            definition = markdown_to_html(inst.get("definition") or "")
        blocks = []
        for c in s.active_cities:
            items = s.by_city_inst.get((c["slug"], slug), [])
            if not items:
                continue
            blocks.append({
                "name": c["name"], "slug": c["slug"], "url": s.city_url(c["slug"]),
                "count": len(items),
                "passages": s.cards(items, slug, INSTRUMENT_PAGE_PER_CITY),
                "more_url": (s.search_url(c["slug"], slug)
                             if len(items) > INSTRUMENT_PAGE_PER_CITY and self.has_search else None),
            })
        blocks.sort(key=lambda b: (-b["count"], b["slug"]))
        tool = POLICY_TOOL_LABELS.get(str(inst.get("policy_tool") or "").lower(),
                                      inst.get("policy_tool") or "")
        stip = str(inst.get("stip") or "")
        code = stip.split(" ", 1)[0] if stip else ""
        ctx.update({
            "inst": {"label": inst["label"], "slug": slug, "definition": inst.get("definition") or "",
                     "stip": stip, "stip_code": code,
                     "stip_name": (SITE_TEXT.get("stip_names") or {}).get(code, ""),
                     "policy_tool": tool,
                     "policy_tool_note": (SITE_TEXT.get("policy_tool_notes") or {}).get(tool, ""),
                     "cues": list(inst.get("cues") or [])},
            "notes": {"stip": SITE_TEXT.get("stip_note", ""),
                      "policy_tool": SITE_TEXT.get("policy_tool_intro", ""),
                      "tagging": SITE_TEXT.get("tagging_note", "")},
            "definition": definition,
            "count": len(s.by_inst.get(slug, [])),
            "city_list": [{"name": b["name"], "url": b["url"], "count": b["count"],
                           "slug": b["slug"]} for b in blocks],
            "blocks": blocks,
            "search_all": s.search_url(instrument=slug) if self.has_search else None,
            "scripts": ["static/js/cite.js"],
        })
        self.page("instrument.html", rel, ctx)

    # ----------------------------------------------------------------- compare

    def _city_figures(self, city):
        """The key figures compared for one city: per (metric, kind) the one
        kb.charts.comparison_rows picks, labelled with what it measures."""
        s = self.site
        out = []
        counts = defaultdict(int)
        for f in s.figures_by_city.get(city["slug"], []):
            counts[(f.get("metric"), f.get("kind") or "actual")] += 1
        present = {f.get("metric") for f in s.figures_by_city.get(city["slug"], [])}
        metric_order = [m for m in s.metrics if m in present] + sorted(present - set(s.metrics))
        for metric in metric_order:
            info = s.metric_info(metric)
            rows = charts.comparison_rows(s.figures_by_city[city["slug"]], metric, vocab=s.vocab)
            for r in rows:
                v = s.figure_view(r)
                kind = r.get("kind") or "actual"
                out.append({
                    "key": f"{metric}-{kind}",
                    "label": f"{info['label']}（{KIND_LABELS.get(kind, kind)}）",
                    "value": v["value"], "unit": v["unit"], "as_of": v["as_of"],
                    "m": _months(r.get("as_of")),
                    "what": v["measure"], "scope": v["scope"], "qualifier": v["qualifier"],
                    "url": v["url"], "others": max(0, counts[(metric, kind)] - 1),
                })
        return out

    def compare_data(self, c):
        """compare/<slug>.js: one city's cells (sentence where the cue fired, permalink,
        citation template) and key figures; compare.js loads the chosen cities' files."""
        s = self.site
        cells = {}
        for inst in s.instruments:
            items = s.by_city_inst.get((c["slug"], inst["slug"]), [])
            if not items:
                continue
            cells[inst["slug"]] = {
                "n": len(items),
                "all": s.search_url(c["slug"], inst["slug"]) if self.has_search else s.city_url(c["slug"]),
                "items": [{"s": v["excerpt"], "u": v["url"], "t": v["doc_title"], "d": v["doc_date"],
                           "c": v["cite"]}
                          for v in s.cards(items, inst["slug"], COMPARE_PER_CELL)],
            }
        name = f"compare/{_q(c['slug'])}.js"
        payload = {"slug": c["slug"], "name": c["name"], "url": s.city_url(c["slug"]),
                   "count": len(s.by_city[c["slug"]]), "cells": cells,
                   "figures": self._city_figures(c)}
        self.write(name, _js_data(name, payload))

    def compare(self):
        s = self.site
        ctx = self.base_ctx("compare.html", "compare", "城市对比",
                            "选择 2–4 个城市，按政策工具并排比较")
        cities = s.active_cities
        slugs = [c["slug"] for c in cities]
        for c in cities:
            self.compare_data(c)
        sections = [{"id": f"inst-{inst['slug']}", "slug": inst["slug"], "label": inst["label"],
                     "url": s.inst_url(inst["slug"])}
                    for inst in s.instruments if s.by_inst.get(inst["slug"])]
        ctx.update({
            "cities": [{"slug": c["slug"], "name": c["name"], "count": len(s.by_city[c["slug"]]),
                        "checked": i < COMPARE_DEFAULT} for i, c in enumerate(cities)],
            "default": ",".join(slugs[:COMPARE_DEFAULT]),
            "max": COMPARE_MAX,
            "per_cell": COMPARE_PER_CELL,
            "sections": sections,
            "scripts": ["static/js/cite.js", "static/js/compare.js"],
        })
        self.page("compare.html", "compare.html", ctx)

    # ----------------------------------------------------------------- documents

    def document(self, doc):
        s = self.site
        passages = s.by_doc.get(doc["id"], [])
        parts = defaultdict(list)
        for p in passages:
            parts[s.part_of.get(p["id"], 1)].append(p)
        n_parts = max(parts) if parts else 1
        home = doc.get("home_city")
        meta = [("发布者", doc.get("publisher") or "", None),
                ("发布日期", str(doc.get("date") or ""), None),
                ("类型", cite.TYPE_LABELS.get(doc.get("type"), doc.get("type") or ""), None)]
        if doc.get("doc_number"):
            meta.append(("文号", doc["doc_number"], None))
        if home:
            meta.append(("所属城市", home, s.city_chip(home)["url"]))
        if doc.get("date_note"):
            meta.append(("日期说明", doc["date_note"], None))
        meta.append(("段落数", str(len(passages)), None))
        original = (doc.get("url") or "").strip()
        for part in range(1, n_parts + 1):
            rel = s.doc_url(doc["id"], part)
            title = doc.get("title") or doc["id"]
            ctx = self.base_ctx(rel, "document", title if part == 1 else f"{title}（第 {part} 部分）",
                                doc.get("title") or "")
            items = []
            prev = []
            for p in parts.get(part, []):
                trail = list(p.get("section") or [])
                k = 0
                while k < min(len(prev), len(trail)) and prev[k] == trail[k]:
                    k += 1
                headings = [{"level": min(3 + i, 6), "text": trail[i]} for i in range(k, len(trail))]
                items.append({"headings": headings, "passage": s.views[p["id"]]})
                prev = trail
            root = "../" * rel.count("/")
            ctx.update({
                "doc": {"id": doc["id"], "title": title,
                        "original": original if re.match(r"https?://", original) else ""},
                "meta": [{"label": a, "value": b, "url": c} for a, b, c in meta],
                "citation": cite.online_citation(doc),
                "items": items,
                "part": part,
                "parts": [{"n": n, "url": root + s.doc_url(doc["id"], n), "current": n == part}
                          for n in range(1, n_parts + 1)] if n_parts > 1 else [],
                "scripts": ["static/js/cite.js"],
            })
            self.page("document.html", rel, ctx)

    def documents_index(self):
        s = self.site
        ctx = self.base_ctx("documents.html", "documents", "文献列表")
        ctx["documents"] = [s.doc_summary(d) for d in s.docs_newest]
        self.page("documents.html", "documents.html", ctx)

    # ----------------------------------------------------------------- downloads / about

    def downloads(self):
        ctx = self.base_ctx("downloads.html", "downloads", "数据下载")
        files = []
        for name, fmt, desc in DOWNLOADS:
            path = self.out / "data" / name
            exists = path.is_file()
            if not exists and name not in REQUIRED_DOWNLOADS:
                continue
            size = path.stat().st_size if exists else None
            files.append({"name": name, "url": f"data/{name}" if exists else None,
                          "format": fmt, "description": desc,
                          "size": _human_size(size) if exists else "尚未生成",
                          "bytes": f"{size:,}" if exists else ""})
        ctx.update({
            "files": files,
            "dictionary": [{"title": t, "fields": [{"name": n, "meaning": m} for n, m in fs]}
                           for t, fs in DATA_DICTIONARY],
        })
        self.page("downloads.html", "downloads.html", ctx)

    def about(self):
        s = self.site
        ctx = self.base_ctx("about.html", "about", "关于与方法")
        pages = self.templates_dir / "pages"

        def md(name):
            path = pages / name
            return markdown_to_html(path.read_text(encoding="utf-8")) if path.is_file() else ""

        ctx.update({
            "intro": md("about.md"),
            "caveats": md("caveats.md"),
            "taxonomy": [{
                "label": i["label"], "slug": i["slug"], "url": s.inst_url(i["slug"]),
                "definition": i.get("definition") or "", "stip": i.get("stip") or "",
                "policy_tool": POLICY_TOOL_LABELS.get(str(i.get("policy_tool") or "").lower(),
                                                      i.get("policy_tool") or ""),
                "cues": "、".join(list(i.get("cues") or [])[:6]),
                "count": len(s.by_inst.get(i["slug"], [])),
            } for i in s.instruments],
            "metrics": [{"slug": k, "label": v.get("label") or k, "unit": v.get("unit") or ""}
                        for k, v in sorted(s.metrics.items(), key=lambda kv: str(kv[0]))],
        })
        self.page("about.html", "about.html", ctx)

    def search(self):
        if not self.has_search:
            return
        ctx = self.base_ctx("search/index.html", "search", "检索")
        scripts = list(self.search_assets.get("scripts", []))
        ctx.update({"search_scripts": scripts, "search_assets": self.search_assets,
                    "scripts": ["static/js/filters.js"],
                    "cities": [{"slug": c["slug"], "name": c["name"]} for c in self.site.cities],
                    "instruments": [{"slug": i["slug"], "label": i["label"]}
                                    for i in self.site.instruments]})
        self.page("search.html", "search/index.html", ctx, env=self.search_env)

    def not_found(self):
        path = urlsplit(self.base_url or DEFAULT_BASE_URL).path or "/"
        if not path.endswith("/"):
            path += "/"
        ctx = self.base_ctx("404.html", "404", "页面未找到")
        ctx["root"] = path  # absolute path: 404 pages are served at arbitrary depths
        self.write("404.html", self.env.get_template("404.html").render(**ctx))

    def sitemap(self):
        """sitemap.xml lists absolute URLs, so it is written only when the site's address
        (``--base-url``) is known; it lists the pages written, nothing else."""
        if not self.base_url:
            return
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        for rel in sorted(self.pages):
            url = self.base_url + ("" if rel == "index.html" else rel)
            lines.append(f"  <url><loc>{xml_escape(url)}</loc></url>")
        lines.append("</urlset>")
        self.write("sitemap.xml", "\n".join(lines))


def render_site(out_dir, documents, passages, figures, vocab, search_assets,
                base_url=None, templates_dir=None):
    """Render the whole static site into ``out_dir``; returns the sorted files written.

    ``templates_dir`` defaults to ``site_templates/`` (tests may point it elsewhere)."""
    out_dir = Path(out_dir)
    site = _Site(documents, passages, figures or [], vocab)
    r = _Renderer(out_dir, site, search_assets, base_url,
                  Path(templates_dir) if templates_dir else TEMPLATES_DIR)
    r.copy_static()
    r.home()
    r.cities_index()
    for c in sorted(site.active_cities, key=lambda c: c["slug"]):
        r.city(c)
    for inst in sorted(site.instruments, key=lambda i: i["slug"]):
        r.instrument(inst)
    r.compare()
    for doc in site.documents:
        r.document(doc)
    r.documents_index()
    r.downloads()
    r.about()
    r.search()
    r.not_found()
    r.sitemap()
    return sorted(set(r.written))
