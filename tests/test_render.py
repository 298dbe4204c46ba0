"""kb.render: the static site from small synthetic data (no browser).

``synthetic()`` and ``render_synthetic()`` are also used by tests/test_site_browser.py."""

import hashlib
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote, urlsplit

import pytest

from kb import render

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "site_templates"

HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_PUBLISHER = '" onerror="x'
HOSTILE_TEXT = '武汉科技信贷<img src=x onerror=alert(1)> 详见 javascript:alert(1) 与 </textarea><b>粗</b>'
HOSTILE_MD = '<script>alert("md")</script>\n\n<div onclick="x()">块</div>\n\n[点我](javascript:alert(2)) 和 <img src=x onerror=alert(3)>'

SEARCH_STUB = """{% extends "base.html" %}
{% block content %}<h1>检索</h1><form role="search"><label for="q">关键词</label><input id="q" name="q"></form>
<div id="results"></div>{% endblock %}
{% block scripts %}{% for s in search_scripts %}<script src="{{ root }}{{ s }}" defer></script>{% endfor %}{% endblock %}
"""


# --------------------------------------------------------------------------- synthetic data

def synthetic():
    """(documents, passages, figures, vocab) — small but exercising every page feature."""
    vocab = SimpleNamespace(
        cities=[
            {"name": "武汉", "slug": "wuhan", "province": "湖北省", "aliases": ["江城"]},
            {"name": "苏州", "slug": "suzhou", "province": "江苏省", "aliases": ["姑苏"]},
            {"name": "合肥", "slug": "hefei", "province": "安徽省", "aliases": []},
            {"name": "洛阳", "slug": "luoyang", "province": "河南省", "aliases": []},
            {"name": "深圳", "slug": "shenzhen", "province": "广东省", "aliases": []},
            {"name": "杭州", "slug": "hangzhou", "province": "浙江省", "aliases": ["re:(?<=在)杭(?!州)"],
             "nicknames": ["杭城"]},
            {"name": "宁波", "slug": "ningbo", "province": "浙江省", "aliases": []},
        ],
        provinces=[{"name": "湖北省", "aliases": ["湖北"]}],
        instruments=[
            {"slug": "guidance-fund", "label": "政府引导基金", "definition": "政府出资设立、引导社会资本投向科技企业的基金。",
             "stip": "TH31", "policy_tool": "supply", "cues": ["引导基金", "母基金"]},
            {"slug": "tech-loan", "label": "科技信贷", "definition": "面向科技型企业的专属信贷产品与风险补偿。",
             "stip": "TH32", "policy_tool": "environment", "cues": ["科技贷", "信贷"]},
            {"slug": "tech-insurance", "label": "科技保险", "definition": HOSTILE_MD,
             "stip": "TH33", "policy_tool": "demand", "cues": ["科技保险"]},
            {"slug": "ip-pledge", "label": "知识产权质押", "definition": "以知识产权为质押物的融资。",
             "stip": "TH34", "policy_tool": "environment", "cues": ["质押"]},
        ],
        metrics=[
            {"slug": "fund-size", "label": "引导基金规模", "family": "money", "unit": "亿元",
             "instrument": "guidance-fund", "cues": ["引导基金"]},
            {"slug": "loan-balance", "label": "科技贷款余额", "family": "money", "unit": "亿元",
             "instrument": "tech-loan", "cues": ["贷款余额"]},
        ],
    )
    documents = [
        {"id": "001_wuhan_policy", "source": "001_wuhan_policy.txt",
         "title": "武汉市推动科技金融高质量发展行动方案(2025—2027年)", "publisher": "武汉市人民政府办公厅",
         "date": "2025-06-07", "year": 2025, "type": "policy", "home_city": "武汉",
         "doc_number": "武政办〔2025〕67号", "date_note": "成文日期。"},
        {"id": "002_luoyang_report", "source": "002_luoyang_report.txt", "title": "关于发展科技金融的调研报告",
         "publisher": "洛阳市委政策研究室", "date": "2024", "year": 2024, "type": "report",
         "home_city": "洛阳", "doc_number": None, "date_note": None},
        {"id": "003_news", "source": "003_news.txt", "title": "长三角科技金融观察", "publisher": "报纸专版（报名未印出）",
         "date": "2023-02-27", "year": 2023, "type": "news", "home_city": None,
         "doc_number": None, "date_note": None},
        {"id": "004_commentary", "source": "004_commentary.txt", "title": "区域观察：合肥模式",
         "publisher": "未署名（区域观察专栏）", "date": "2021", "year": 2021, "type": "commentary",
         "home_city": None, "doc_number": None, "date_note": "推定。"},
        {"id": "005_hostile", "source": "005_hostile.txt", "title": HOSTILE_TITLE,
         "publisher": HOSTILE_PUBLISHER, "date": "2022-01", "year": 2022, "type": "report",
         "home_city": "武汉", "doc_number": None, "date_note": '<b onmouseover="x">注</b>'},
    ]
    passages = []

    def add(doc, section, text, cities, instruments, years=()):
        pos = sum(1 for p in passages if p["doc"] == doc)
        pid = f"{doc}-{hashlib.sha1(f'{doc}{pos}{text}'.encode()).hexdigest()[:8]}"
        year = next(d["year"] for d in documents if d["id"] == doc)
        passages.append({
            "id": pid, "doc": doc, "position": pos, "section": list(section), "text": text,
            "cities": list(cities), "mentions": list(cities), "province": [],
            "instruments": list(instruments), "cues": {i: ["x"] for i in instruments},
            "year": year, "years": sorted(years), "url": f"doc/{doc}.html#{pid}",
        })

    d1 = "001_wuhan_policy"
    add(d1, ["一、总体要求"], "到2027年，武汉科技金融体系更加完善。", ["武汉"], [], [2027])
    for k in range(23):  # more than a city page shows per instrument
        add(d1, ["二、重点任务", "（一）扩大科技信贷"], f"第{k + 1}条：推广“科技贷”，新增科技信贷{k + 10}亿元。",
            ["武汉"], ["tech-loan"], [2025])
    add(d1, ["二、重点任务", "（二）壮大引导基金"], "设立规模100亿元的科技创新引导基金。", ["武汉"],
        ["guidance-fund"], [2025])
    add(d1, ["二、重点任务", "（二）壮大引导基金"], "母基金与子基金联动，支持科技保险。", ["武汉"],
        ["guidance-fund", "tech-insurance"], [2026])
    add(d1, ["三、保障措施"], "各区落实责任。", [], [], [])
    d2 = "002_luoyang_report"
    add(d2, ["一、现状"], "截至2024年6月底，洛阳科技贷款余额达320亿元。", ["洛阳"], ["tech-loan"], [2024])
    add(d2, ["二、问题"], "洛阳知识产权质押规模较小，与武汉相比差距明显。", ["洛阳"], ["ip-pledge"], [2024])
    d3 = "003_news"
    add(d3, [], "苏州设立天使母基金，规模60亿元。", ["苏州"], ["guidance-fund"], [2023])
    add(d3, [], "苏州推出科技保险共保体。", ["苏州"], ["tech-insurance"], [2022, 2023])
    add(d3, [], "合肥以“基金+产业”招商。", ["合肥"], ["guidance-fund"], [2021])
    add(d3, [], "杭州推出知识产权质押融资。", ["杭州"], ["ip-pledge"], [2023])
    add(d3, [], "深圳举办创新论坛。", ["深圳"], [], [2023])  # a city with no instrument
    d4 = "004_commentary"
    add(d4, ["合肥模式"], "合肥引导基金规模超过300亿元。", ["合肥"], ["guidance-fund"], [2020])
    d5 = "005_hostile"
    add(d5, ['<script>alert("sec")</script>'], HOSTILE_TEXT, ["武汉"], ["tech-loan"], [2022])
    add(d5, ['<script>alert("sec")</script>', "javascript:alert(1)"], "第二段 <a href=\"javascript:alert(1)\">链接</a>",
        ["武汉", "苏州"], ["ip-pledge"], [2022])

    def pid(doc, n):
        return [p["id"] for p in passages if p["doc"] == doc][n]

    figures = [
        {"city": "武汉", "metric": "fund-size", "value": 100, "unit": "亿元", "as_of": "2025-06",
         "kind": "actual", "cumulative": False, "qualifier": None, "instrument": "guidance-fund",
         "passage": pid(d1, 24), "doc": d1, "quote": "规模100亿元"},
        {"city": "苏州", "metric": "fund-size", "value": 60, "unit": "亿元", "as_of": "2023",
         "kind": "actual", "cumulative": False, "qualifier": "天使母基金", "instrument": "guidance-fund",
         "passage": pid(d3, 0), "doc": d3, "quote": "规模60亿元"},
        {"city": "合肥", "metric": "fund-size", "value": 300, "unit": "亿元", "as_of": "2020",
         "kind": "actual", "cumulative": True, "qualifier": "<i>超过</i>", "instrument": "guidance-fund",
         "passage": pid(d4, 0), "doc": d4, "quote": '"><script>alert(4)</script>'},
        {"city": "洛阳", "metric": "loan-balance", "value": 320, "unit": "亿元", "as_of": "2024-06-30",
         "kind": "actual", "cumulative": False, "qualifier": None, "instrument": "tech-loan",
         "passage": pid(d2, 0), "doc": d2, "quote": "余额达320亿元"},
        {"city": "武汉", "metric": "loan-balance", "value": 1000, "value_max": 1200, "unit": "亿元",
         "as_of": "2027", "kind": "target", "cumulative": False, "qualifier": None,
         "instrument": "tech-loan", "passage": pid(d1, 1), "doc": d1, "quote": "目标"},
    ]
    return documents, passages, figures, vocab


def write_data_files(out):
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name in render.REQUIRED_DOWNLOADS:
        (data / name).write_text(f"{name}\n", encoding="utf-8")


def stub_templates(tmp_path):
    """site_templates/ with a stand-in search.html when the real one does not exist yet."""
    dest = tmp_path / "templates"
    shutil.copytree(TEMPLATES, dest)
    if not (dest / "search.html").exists():
        (dest / "search.html").write_text(SEARCH_STUB, encoding="utf-8")
    return dest


def render_synthetic(out, templates_dir=None, base_url=None):
    documents, passages, figures, vocab = synthetic()
    write_data_files(out)
    assets = {"scripts": ["static/js/compare.js"]}  # any existing file stands in for the index
    return render.render_site(out, documents, passages, figures, vocab, assets,
                              base_url=base_url, templates_dir=templates_dir)


# --------------------------------------------------------------------------- HTML helpers

class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []      # (tag, attr, value)
        self.ids = set()
        self.tags = []       # (tag, attrs dict)
        self.metas = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for attr in ("href", "src", "action"):
            if attrs.get(attr) is not None:
                self.links.append((tag, attr, attrs[attr]))
        if tag == "meta":
            self.metas.append(attrs)


def parse(path):
    c = _Collector()
    c.feed(path.read_text(encoding="utf-8"))
    return c


def html_pages(out):
    return sorted(p for p in out.rglob("*.html"))


def check_links(out, base_path="/kb/"):
    """Every href/src/action that is not external resolves to a file, every #fragment to an id.

    Returns a list of problems (empty when all is well)."""
    parsed = {p: parse(p) for p in html_pages(out)}
    problems = []
    for page, c in parsed.items():
        for tag, attr, value in c.links:
            if value.startswith(("mailto:",)):
                continue
            parts = urlsplit(value)
            if parts.scheme or parts.netloc:
                problems.append(f"{page.relative_to(out)}: external {attr}={value}")
                continue
            if parts.path.startswith("/"):
                if page.name != "404.html" or not parts.path.startswith(base_path):
                    problems.append(f"{page.relative_to(out)}: absolute {attr}={value}")
                    continue
                target = out / unquote(parts.path[len(base_path):])
            elif parts.path:
                target = (page.parent / unquote(parts.path)).resolve()
            else:
                target = page
            if tag == "form" and not parts.path:
                continue
            if not target.exists():
                problems.append(f"{page.relative_to(out)}: missing {attr}={value}")
                continue
            if parts.fragment:
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{page.relative_to(out)}: missing #{parts.fragment} in {value}")
    return problems


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("render")
    out = tmp / "out"
    files = render_synthetic(out, templates_dir=stub_templates(tmp))
    return out, files


@pytest.fixture(scope="module")
def site_real_templates(tmp_path_factory):
    """Rendered with site_templates/ as it is (search page only if its template exists)."""
    out = tmp_path_factory.mktemp("render-real") / "out"
    files = render_synthetic(out)
    return out, files


# --------------------------------------------------------------------------- tests

EXPECTED_PAGES = [
    "index.html", "compare.html", "documents.html", "downloads.html", "about.html", "404.html",
    "search/index.html",
    "cities.html",
    "city/wuhan.html", "city/suzhou.html", "city/hefei.html", "city/luoyang.html", "city/shenzhen.html",
    "city/hangzhou.html",
    "compare/wuhan.js", "compare/suzhou.js", "compare/hefei.js", "compare/luoyang.js",
    "compare/shenzhen.js", "compare/hangzhou.js",
    "instrument/guidance-fund.html", "instrument/tech-loan.html", "instrument/tech-insurance.html",
    "instrument/ip-pledge.html",
    "doc/001_wuhan_policy.html", "doc/002_luoyang_report.html", "doc/003_news.html",
    "doc/004_commentary.html", "doc/005_hostile.html",
    "static/css/site.css", "static/js/compare.js", "static/js/cite.js", "static/js/filters.js",
    "static/favicon.svg",
]


def test_every_page_exists_and_files_are_returned_sorted(site):
    out, files = site
    for rel in EXPECTED_PAGES:
        assert (out / rel).is_file(), rel
    assert files == sorted(files)
    assert all(isinstance(f, Path) for f in files)
    written = {f.relative_to(out).as_posix() for f in files}
    assert set(EXPECTED_PAGES) <= written
    # Everything under out/ except the data files we planted was written by render_site.
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk - written == {f"data/{n}" for n in render.REQUIRED_DOWNLOADS}


def test_links_resolve(site):
    out, _ = site
    assert check_links(out) == []


def test_links_resolve_with_real_templates(site_real_templates):
    out, _ = site_real_templates
    assert check_links(out) == []


def test_all_links_are_relative(site):
    out, _ = site
    for page in html_pages(out):
        for tag, attr, value in parse(page).links:
            if page.name == "404.html":
                assert value.startswith("/kb/") or value.startswith("#"), value
            else:
                assert not value.startswith("/"), (page, value)
                assert "://" not in value, (page, value)


def test_matrix_links_to_filtered_search(site):
    out, _ = site
    text = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="search/index.html?city=wuhan&amp;instrument=tech-loan"' in text
    assert re.search(r'class="cell b4"><a href="search/index.html\?city=wuhan&amp;instrument=tech-loan"', text)
    assert 'class="cell b0"' in text  # empty cells are shaded as empty


def test_city_page_groups_limits_and_figures(site):
    out, _ = site
    text = (out / "city/wuhan.html").read_text(encoding="utf-8")
    assert "查看全部 24 条" in text  # 23 + 1 hostile-document passage on tech-loan
    assert 'href="../search/index.html?city=wuhan&amp;instrument=tech-loan"' in text
    # 20 passages of the tech-loan group shown, not 24
    group = text.split('id="inst-tech-loan"')[1].split("</section>")[0]
    assert group.count('class="passage"') == render.CITY_PAGE_PER_INSTRUMENT
    # key figures: metric, value, unit, date, kind, passage link
    assert "引导基金规模" in text and "100" in text and "2025-06" in text and "实际" in text
    assert "1,000–1,200" in text and "目标" in text
    assert 'href="../doc/001_wuhan_policy.html#001_wuhan_policy-' in text
    # documents covering it and the years involved
    assert "武汉市推动科技金融高质量发展行动方案" in text
    assert "2027" in text
    # every passage shows its source title and section trail
    assert "小节：二、重点任务 › （一）扩大科技信贷" in text


def test_pages_only_for_cities_with_passages(site):
    out, _ = site
    assert not (out / "city/ningbo.html").exists()  # in the vocabulary, no passage
    assert not (out / "compare/ningbo.js").exists()
    for page in html_pages(out):
        text = page.read_text(encoding="utf-8")
        assert "city/ningbo.html" not in text, page
    for page in [out / "cities.html", *sorted((out / "city").glob("*.html"))]:
        assert not re.search(r"(?<![0-9])0 条段落", page.read_text(encoding="utf-8")), page
    index = (out / "cities.html").read_text(encoding="utf-8")
    # by province, with counts; the city without passages is only mentioned
    assert index.index("湖北省") < index.index("浙江省")
    assert '<a href="city/hangzhou.html">杭州</a> <span class="count">1</span>' in index
    assert "宁波" in index and 'href="city/ningbo.html"' not in index
    nav = (out / "index.html").read_text(encoding="utf-8")
    assert '<a href="cities.html">城市</a>' in nav                 # in the navigation
    assert '<dd><a href="cities.html">6</a></dd>' in nav              # the 城市 figure links there


def test_city_page_shows_each_passage_once_with_toc(site):
    out, _ = site
    text = (out / "city/wuhan.html").read_text(encoding="utf-8")
    documents, passages, _, _ = synthetic()
    for p in passages:
        if "武汉" in p["cities"]:
            assert text.count(f'id="c-{p["id"]}"') <= 1
    # the passage carrying two instruments is listed once, with both chips
    both = next(p for p in passages if p["instruments"] == ["guidance-fund", "tech-insurance"])
    card = text.split(f'id="c-{both["id"]}"')[1].split("</article>")[0]
    assert ">政府引导基金</a>" in card and ">科技保险</a>" in card
    # TOC by instrument with counts; 科技保险 has no section of its own: links to the passage
    toc = text.split('aria-label="本页政策工具"')[1].split("</nav>")[0]
    assert '<a href="#inst-tech-loan">科技信贷</a> <span class="count">24</span>' in toc
    assert f'<a href="#c-{both["id"]}">科技保险</a> <span class="count">1</span>' in toc
    assert "所述年份" in text and "年份：" not in text


def test_instrument_page(site):
    out, _ = site
    text = (out / "instrument/guidance-fund.html").read_text(encoding="utf-8")
    assert "TH31" in text and "供给型" in text
    assert "政府出资设立" in text
    for city in ("武汉", "苏州", "合肥"):
        assert f">{city}</a>" in text
    assert text.index('id="c-wuhan"') < text.index('id="c-suzhou"') or \
        text.index('id="c-hefei"') < text.index('id="c-wuhan"')


def test_markdown_raw_html_is_escaped():
    out = render.markdown_to_html(HOSTILE_MD + "\n\n**粗体** [内链](../index.html)")
    assert "<script" not in out and "<div" not in out and "<img" not in out
    assert "&lt;script&gt;" in out
    assert "javascript:" not in out.split("href")[0] or 'href="javascript' not in out
    assert 'href="javascript' not in out.lower()
    assert "<strong>粗体</strong>" in out and 'href="../index.html"' in out
    assert 'href' not in render.markdown_to_html("[x]( JaVa\tScRiPt:alert(1))")
    assert 'src' not in render.markdown_to_html("![x](data:text/html,abc)")


def test_instrument_markdown_definition_escaped(site):
    out, _ = site
    text = (out / "instrument/tech-insurance.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert" in text
    assert "<script>alert" not in text and "<div onclick" not in text
    assert "&lt;div onclick=" in text and "<a>点我</a>" in text  # javascript: href dropped


def test_instrument_markdown_file_preferred(tmp_path, monkeypatch):
    inst_dir = tmp_path / "instruments"
    inst_dir.mkdir()
    (inst_dir / "tech-loan.md").write_text("## 定义\n\n科技信贷**详解**。<script>x()</script>\n",
                                           encoding="utf-8")
    monkeypatch.setattr(render.pages, "DATA_DIR", tmp_path)
    out = tmp_path / "out"
    render_synthetic(out, templates_dir=stub_templates(tmp_path))
    text = (out / "instrument/tech-loan.html").read_text(encoding="utf-8")
    assert "<strong>详解</strong>" in text and "&lt;script&gt;x()" in text
    assert "<script>x()" not in text


def _hostile_ok(text):
    assert "<script>alert" not in text
    assert "<img src=x" not in text and "<img src=\"x\"" not in text
    assert '" onerror="x' not in text
    assert "<b>粗</b>" not in text
    assert '<b onmouseover' not in text


def test_hostile_document_escaped_everywhere(site):
    out, _ = site
    for page in html_pages(out):
        text = page.read_text(encoding="utf-8")
        _hostile_ok(text)
        c = parse(page)
        for tag, attrs in c.tags:
            for name, value in attrs.items():
                assert not name.startswith("on"), (page, tag, name)
                if name in ("href", "src", "action"):
                    assert not (value or "").strip().lower().startswith("javascript"), (page, value)
            if tag == "script":
                assert attrs.get("src"), (page, "inline script")
    doc = (out / "doc/005_hostile.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc          # title shown literally
    assert "&lt;img src=x onerror=alert(1)&gt;" in doc              # passage text literally
    assert "javascript:alert(1)" in doc                              # as text only
    assert "&#34; onerror=&#34;x" in doc                             # publisher
    assert "&lt;script&gt;alert(&#34;sec&#34;)&lt;/script&gt;" in doc  # section heading


def test_csp_meta_on_every_page(site):
    out, _ = site
    for page in html_pages(out):
        metas = [m for m in parse(page).metas if m.get("http-equiv") == "Content-Security-Policy"]
        assert len(metas) == 1, page
        csp = metas[0]["content"]
        for part in ("default-src 'self'", "script-src 'self'", "style-src 'self'",
                     "img-src 'self' data:"):
            assert part in csp
        assert "unsafe" not in csp
        text = page.read_text(encoding="utf-8")
        assert text.index("Content-Security-Policy") < text.index("<link"), page
        assert " style=" not in text, page  # inline style attributes would be blocked


def test_no_remote_urls_outside_sitemap(site):
    out, _ = site
    pattern = re.compile(r"https?://")
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.suffix not in (".html", ".css", ".js", ".svg"):
            continue
        text = path.read_text(encoding="utf-8")
        text = text.replace("http://www.w3.org/2000/svg", "")  # SVG namespace, not a request
        for cite_block in re.findall(r'<p id="citation-text"[^>]*>.*?</p>', text, re.S):
            text = text.replace(cite_block, "")
        assert not pattern.search(text), path


def test_no_sitemap_without_base_url_and_404(site):
    out, _ = site
    assert not (out / "sitemap.xml").exists()   # absolute URLs need the site's address
    nf = (out / "404.html").read_text(encoding="utf-8")
    assert 'href="/kb/index.html"' in nf and 'href="/kb/static/css/site.css"' in nf


def test_base_url_sets_sitemap_and_404(tmp_path):
    out = tmp_path / "out"
    render_synthetic(out, templates_dir=stub_templates(tmp_path), base_url="https://kb.example.cn/a/b")
    sm = (out / "sitemap.xml").read_text(encoding="utf-8")
    assert "<loc>https://kb.example.cn/a/b/compare.html</loc>" in sm
    locs = re.findall(r"<loc>(.*?)</loc>", sm)
    assert len(set(locs)) == len(locs) and "https://kb.example.cn/a/b/" in locs
    assert not any("404" in u or "ningbo" in u for u in locs)
    # only real pages: every loc is a file written, every page is listed
    for u in locs:
        rel = u[len("https://kb.example.cn/a/b/"):] or "index.html"
        assert (out / rel).is_file(), u
    assert len(locs) == len([p for p in html_pages(out) if p.name != "404.html"])
    assert 'href="/a/b/index.html"' in (out / "404.html").read_text(encoding="utf-8")
    assert check_links(out, base_path="/a/b/") == []


def test_byte_identical_across_renders(tmp_path):
    templates = stub_templates(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    render_synthetic(a, templates_dir=templates)
    render_synthetic(b, templates_dir=templates)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_input_order_does_not_matter(tmp_path):
    documents, passages, figures, vocab = synthetic()
    templates = stub_templates(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        write_data_files(out)
    render.render_site(a, documents, passages, figures, vocab, {"scripts": []}, templates_dir=templates)
    render.render_site(b, documents[::-1], passages[::-1], figures[::-1], vocab, {"scripts": []},
                       templates_dir=templates)
    for p in sorted(a.rglob("*.html")):
        assert p.read_bytes() == (b / p.relative_to(a)).read_bytes(), p


def test_document_page(site):
    out, _ = site
    text = (out / "doc/001_wuhan_policy.html").read_text(encoding="utf-8")
    c = parse(out / "doc/001_wuhan_policy.html")
    documents, passages, _, _ = synthetic()
    for p in passages:
        if p["doc"] == "001_wuhan_policy":
            assert p["id"] in c.ids
    # citation ready to copy (URL and 引用日期 filled by static/js/cite.js when copied)
    assert ('data-cite="武汉市人民政府办公厅. 武汉市推动科技金融高质量发展行动方案(2025—2027年): '
            '武政办〔2025〕67号[A/OL]. (2025-06-07)[{accessed}]. {url}."') in text
    assert "static/js/cite.js" in text
    # one copy-citation button per passage: section in the title, the passage permalink
    first = passages[1]
    assert (f'data-cite="武汉市人民政府办公厅. 武汉市推动科技金融高质量发展行动方案(2025—2027年): '
            f'二、重点任务 › （一）扩大科技信贷: 武政办〔2025〕67号[A/OL]. (2025-06-07)[{{accessed}}]. {{url}}." '
            f'data-cite-href="../doc/001_wuhan_policy.html#{first["id"]}"') in text
    assert text.count('class="cite-button"') == 1 + sum(1 for p in passages if p["doc"] == "001_wuhan_policy")
    # 发布日期 for the document, 所述年份 for a passage; no internal file name shown
    assert "<dt>发布日期</dt>" in text and "所述年份：2027" in text
    assert "001_wuhan_policy.txt" not in text and "来源文件" not in text
    # section headings rendered once when the trail changes
    assert text.count(">二、重点任务</h3>") == 1
    assert text.count(">（一）扩大科技信贷</h4>") == 1
    assert text.count(">（二）壮大引导基金</h4>") == 1
    # tag chips link to city and instrument pages
    assert 'href="../city/wuhan.html"' in text and 'href="../instrument/tech-loan.html"' in text


def _compare_data(out, slug):
    text = (out / f"compare/{slug}.js").read_text(encoding="utf-8")
    m = re.fullmatch(r'KBPages\.register\("compare/(\w+)\.js",(.*)\);\n', text, re.S)
    assert m and m.group(1) == slug
    return json.loads(m.group(2))


def test_compare_page_lists_cities_and_loads_their_data(site):
    out, _ = site
    text = (out / "compare.html").read_text(encoding="utf-8")
    for slug in ("wuhan", "suzhou", "hefei", "luoyang"):
        assert f'value="{slug}"' in text
    assert 'value="ningbo"' not in text  # no passages -> nothing to compare
    assert 'src="static/js/compare.js"' in text and 'src="static/js/cite.js"' in text
    # instrument sections come before the key figures, with a table of contents
    assert text.index('id="inst-guidance-fund"') < text.index('id="figures"')
    assert '<a href="#inst-tech-loan">科技信贷</a>' in text
    # no passage text is embedded: it is in the per-city data files
    assert "新增科技信贷10亿元" not in text
    wuhan = _compare_data(out, "wuhan")
    cell = wuhan["cells"]["tech-loan"]
    assert cell["n"] == 24 and len(cell["items"]) == render.COMPARE_PER_CELL
    assert cell["all"] == "search/index.html?city=wuhan&instrument=tech-loan"
    item = cell["items"][0]
    assert item["u"].startswith("doc/001_wuhan_policy.html#001_wuhan_policy-")
    assert "[A/OL]" in item["c"] and "{url}" in item["c"] and "{accessed}" in item["c"]
    # key figures of this city only, labelled with what each measures
    keys = {f["key"] for f in wuhan["figures"]}
    assert keys == {"fund-size-actual", "loan-balance-target"}
    fund = next(f for f in wuhan["figures"] if f["key"] == "fund-size-actual")
    assert fund["what"] == "规模100亿元" and fund["m"] == 2025 * 12 + 6
    assert fund["label"] == "引导基金规模（实际）"
    assert _compare_data(out, "hefei")["figures"][0]["m"] == 2020 * 12 + 12


def test_compare_html_stays_small_whatever_the_corpus_size(tmp_path):
    documents, passages, figures, vocab = synthetic()
    base = dict(passages[3])
    for k in range(3000):  # many long passages on every instrument and city
        extra = dict(base, id=f"001_wuhan_policy-x{k:05d}", position=1000 + k,
                     text="武汉推广科技贷。" * 60, cities=["武汉", "苏州", "合肥"],
                     instruments=[i["slug"] for i in vocab.instruments])
        passages.append(extra)
    out = tmp_path / "out"
    render.render_site(out, documents, passages, figures, vocab, {"scripts": []},
                       templates_dir=stub_templates(tmp_path))
    assert (out / "compare.html").stat().st_size <= 100_000
    # the per-city files hold a fixed number of excerpts per cell
    data = _compare_data(out, "wuhan")
    assert all(len(c["items"]) <= render.COMPARE_PER_CELL for c in data["cells"].values())
    assert (out / "compare/wuhan.js").stat().st_size < 50_000


def test_downloads_page(site, tmp_path):
    out, _ = site
    text = (out / "downloads.html").read_text(encoding="utf-8")
    for name in render.REQUIRED_DOWNLOADS:
        assert f'href="data/{name}"' in text
    assert "数据字典" in text and "字节" in text


def test_downloads_without_data_files_have_no_dead_links(tmp_path):
    documents, passages, figures, vocab = synthetic()
    out = tmp_path / "out"
    render.render_site(out, documents, passages, figures, vocab, {"scripts": []},
                       templates_dir=stub_templates(tmp_path))
    text = (out / "downloads.html").read_text(encoding="utf-8")
    assert 'href="data/' not in text and "尚未生成" in text
    assert check_links(out) == []


def test_about_page_has_method_and_taxonomy(site):
    out, _ = site
    text = (out / "about.html").read_text(encoding="utf-8")
    assert "段落如何切分" in text and "段落如何标注" in text and "局限" in text
    assert "TH32" in text and "环境型" in text and "需求型" in text


def test_empty_figures_and_no_search(tmp_path):
    """Figures may be empty until kb.figures lands; the search template may be absent."""
    documents, passages, _, vocab = synthetic()
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "search.html").unlink(missing_ok=True)
    out = tmp_path / "out"
    write_data_files(out)
    render.render_site(out, documents, passages, [], vocab, {"scripts": []}, templates_dir=templates)
    assert not (out / "search").exists()
    assert "search/index.html" not in (out / "index.html").read_text(encoding="utf-8")
    assert check_links(out) == []


def test_city_aliases_hide_regular_expressions(site):
    out, _ = site
    text = (out / "city/hangzhou.html").read_text(encoding="utf-8")
    assert "re:" not in text
    assert "别名：江城" in (out / "city/wuhan.html").read_text(encoding="utf-8")


def test_city_page_shows_nicknames(site_real_templates):
    out, _ = site_real_templates  # 杭城: a nickname, recognised in queries only (cities.yaml)
    assert "别称：杭城" in (out / "city/hangzhou.html").read_text(encoding="utf-8")


def test_cue_sentence_is_the_sentence_where_the_cue_fired():
    text = "第一句讲总体要求。第二句：设立科技创新引导基金，规模100亿元；第三句讲保险。"
    assert render.cue_sentence(text, ["引导基金"]) == "第二句：设立科技创新引导基金，规模100亿元；"
    assert render.cue_sentence(text, ["保险"]) == "第三句讲保险。"
    assert render.cue_sentence(text, ["不存在"]) == "第一句讲总体要求。"
    long = "甲" * 300 + "风险补偿资金池" + "乙" * 300 + "。"
    cut = render.cue_sentence(long, ["风险补偿"], limit=60)
    assert "风险补偿" in cut and cut.startswith("…") and cut.endswith("…") and len(cut) <= 62


def test_figure_measure_names_what_is_measured():
    f = {"quote": "苏州工业园区管委会控股的元禾控股有限公司，共管理基金159支，总规模超1900亿元",
         "printed": "超1900亿元", "value": 1900}
    assert render.figure_measure(f) == "共管理基金159支，总规模超1900亿元"
    g = {"quote": "产投、创投等各类基金近3000支、规模超万亿元", "printed": "超万亿元", "value": 1}
    assert render.figure_measure(g) == "产投、创投等各类基金近3000支、规模超万亿元"


def test_matrix_short_headers_and_folded_rows(site):
    out, _ = site
    text = (out / "index.html").read_text(encoding="utf-8")
    head = text.split("<thead>")[1].split("</thead>")[0]
    # the full label for hover and screen readers
    assert 'title="政府引导基金"' in head and "政府引导基金" in head
    body = text.split("<tbody>")[1].split("</tbody>")[0]
    assert ">深圳</a>" not in body                              # all-empty row folded…
    folded = text.split('class="note-box folded-rows"')[1].split("</details>")[0]
    assert '<a href="city/shenzhen.html">深圳</a>' in folded   # …and listed below
    assert "表格较宽时可左右滑动" in text


def test_instrument_page_in_plain_chinese(site):
    out, _ = site
    text = (out / "instrument/tech-loan.html").read_text(encoding="utf-8")
    assert text.index("哪些城市在用") < text.index("<details")
    note = text.split("<details")[1].split("</details>")[0]
    assert "TH32" in note and "环境型" in note and "识别用词" in note and "科技贷、信贷" in note
    assert "触发词" not in text and "Rothwell–Zegveld 类型" not in text
    # key passages show the sentence where the cue fired
    assert "第1条：推广“科技贷”，新增科技信贷10亿元。" in text


def test_long_document_is_cut_into_parts_with_working_anchors(tmp_path):
    from kb import urls

    documents, passages, figures, vocab = synthetic()
    big = [dict(p) for p in passages if p["doc"] == "001_wuhan_policy"]
    long_text = "武汉推广科技贷，支持科技企业融资。" * 2000   # ~100 KB of UTF-8 each
    for k in range(30):
        passages.append(dict(big[1], id=f"001_wuhan_policy-big{k:03d}", position=500 + k,
                             text=long_text, section=["四、附件", f"附{k}"]))
    parts = urls.assign_urls([p for p in passages if p["doc"] == "001_wuhan_policy"])
    assert max(parts.values()) >= 3
    out = tmp_path / "out"
    render.render_site(out, documents, passages, figures, vocab, {"scripts": []},
                       templates_dir=stub_templates(tmp_path))
    pages = [out / "doc/001_wuhan_policy.html"] + sorted((out / "doc/001_wuhan_policy").glob("*.html"))
    assert len(pages) == max(parts.values())
    for page in pages:
        assert page.stat().st_size < 1_000_000, page
    # every passage is on the page its permalink (kb.urls) names, and links resolve
    for p in passages:
        if p["doc"] == "001_wuhan_policy":
            path, frag = p["url"].split("#")
            assert f'id="{frag}"' in (out / path).read_text(encoding="utf-8"), p["url"]
    late = next(p for p in passages if p["id"] == "001_wuhan_policy-big029")
    assert late["url"].startswith("doc/001_wuhan_policy/") and late["url"].endswith("#001_wuhan_policy-big029")
    assert check_links(out) == []


# --------------------------------------------------------------------------- the real corpus

def _built(request):
    return request.getfixturevalue("built_site")


def test_built_site_links_csp_and_no_remote_urls(request):
    out = _built(request)
    assert check_links(out) == []
    for page in html_pages(out):
        c = parse(page)
        assert sum(1 for m in c.metas if m.get("http-equiv") == "Content-Security-Policy") == 1, page
        for tag, attrs in c.tags:
            assert not any(name.startswith("on") for name in attrs), (page, tag)
            if tag == "script":
                assert attrs.get("src"), (page, "inline script")
        text = page.read_text(encoding="utf-8").replace("http://www.w3.org/2000/svg", "")
        assert not re.search(r"https?://", text), page
        assert " style=" not in text, page
    assert (out / "compare.html").stat().st_size <= 100_000
    assert not (out / "sitemap.xml").exists()  # built without --base-url
    for rel in ("index.html", "cities.html", "compare.html", "about.html", "downloads.html",
                "documents.html", "404.html", "search/index.html", "city/wuhan.html"):
        assert (out / rel).is_file(), rel


def test_document_links_to_its_original_when_the_sidecar_has_url(tmp_path):
    documents, passages, figures, vocab = synthetic()
    documents[0] = dict(documents[0], url="https://www.wuhan.gov.cn/zwgk/x.html")
    documents[1] = dict(documents[1], url="javascript:alert(1)")  # never a link
    out = tmp_path / "out"
    render.render_site(out, documents, passages, figures, vocab, {"scripts": []},
                       templates_dir=stub_templates(tmp_path))
    text = (out / "doc/001_wuhan_policy.html").read_text(encoding="utf-8")
    assert ('<dt>原文</dt><dd><a class="original" href="https://www.wuhan.gov.cn/zwgk/x.html" '
            'rel="noopener noreferrer external">') in text
    # the document's citation points to the original; a passage's to its permalink
    assert "[A/OL]. (2025-06-07)[{accessed}]. https://www.wuhan.gov.cn/zwgk/x.html.\"" in text
    assert text.count("[{accessed}]. {url}.") == sum(1 for p in passages if p["doc"] == "001_wuhan_policy")
    other = (out / "doc/002_luoyang_report.html").read_text(encoding="utf-8")
    assert "<dt>原文</dt>" not in other and 'href="javascript' not in other


def test_pages_rendered_by_forked_workers_are_the_same(tmp_path, monkeypatch):
    """render_site(jobs=2) renders the pages at the end in forked workers: the same files,
    the same list of files written and the same keys for the next build."""
    from kb.render import pages as render_pages

    documents, passages, figures, vocab = synthetic()
    templates = stub_templates(tmp_path)
    monkeypatch.setattr(render_pages, "PARALLEL_PAGES", 2)
    written = {}
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}"
        write_data_files(out)
        stats = {}
        written[jobs] = [p.relative_to(out) for p in render.render_site(
            out, documents, passages, figures, vocab, {"scripts": []}, templates_dir=templates,
            base_url="https://example.org/kb/", jobs=jobs, stats=stats)]
        assert stats["rendered"] > 2 * render_pages.PAGE_CHUNKS
    assert written[1] == written[2]
    one, two = tmp_path / "jobs1", tmp_path / "jobs2"
    for p in sorted(one.rglob("*")):
        if p.is_file():
            assert p.read_bytes() == (two / p.relative_to(one)).read_bytes(), p
