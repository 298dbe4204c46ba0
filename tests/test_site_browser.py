"""The static site in Debian's Chromium: accessibility (axe-core), hostile input, the compare
page, small screens, keyboard use, no off-origin requests, file:// opening.

Runs on two sites: a synthetic render (tests/test_render.py's data, always available) and
the real corpus built by ``kb.pipeline.build`` (fixtures ``built_site`` / ``site_url``)."""

import contextlib
import csv
import io
import re
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kb.localweb import serve  # noqa: E402
import test_render  # noqa: E402

SCREENSHOT_DIR = Path(tempfile.gettempdir())
SERIOUS = ("serious", "critical")


# --------------------------------------------------------------------------- sites

@pytest.fixture(scope="session")
def synthetic_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-synth")
    out = tmp / "site"
    test_render.render_synthetic(out, templates_dir=test_render.stub_templates(tmp))
    return out


@pytest.fixture(scope="session")
def synthetic_url(synthetic_site):
    with serve(synthetic_site, prefix="kb/site") as url:
        yield url


def _built(request):
    return request.getfixturevalue("built_site"), request.getfixturevalue("site_url")


def _site_pages(out):
    """Representative pages of a rendered site: home, a city, compare, a document…"""
    index = (out / "index.html").read_text(encoding="utf-8")
    city = re.search(r'<th scope="row"><a href="(city/[^"]+\.html)"', index)
    doc = sorted((out / "doc").glob("*.html"))[0].relative_to(out).as_posix()
    inst = sorted((out / "instrument").glob("*.html"))[0].relative_to(out).as_posix()
    pages = {"home": "index.html", "city": city.group(1) if city else
             sorted((out / "city").glob("*.html"))[0].relative_to(out).as_posix(),
             "compare": "compare.html", "document": doc, "instrument": inst,
             "about": "about.html", "downloads": "downloads.html", "documents": "documents.html",
             "cities": "cities.html"}
    return pages


@pytest.fixture(params=["synthetic", "built"])
def any_site(request):
    """(out_dir, base_url, pages) for the synthetic and the real site."""
    if request.param == "synthetic":
        out, url = request.getfixturevalue("synthetic_site"), request.getfixturevalue("synthetic_url")
    else:
        out, url = _built(request)
    return out, url, _site_pages(out)


@contextlib.contextmanager
def _page_at(browser, width, height=900, **options):
    """A page in a fresh browser context of the given viewport (closed afterwards)."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    try:
        yield context.new_page()
    finally:
        context.close()


def _axe(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return results.response["violations"]


def _describe(violations):
    return "\n".join(f"{v['impact']}: {v['id']} — {v['help']} ({len(v['nodes'])} nodes: "
                     f"{[n['target'] for n in v['nodes'][:3]]})" for v in violations)


# --------------------------------------------------------------------------- accessibility

def _goto(page, url):
    """Open a page; on compare.html wait until compare.js has drawn the chosen cities."""
    page.goto(url)
    if "compare.html" in url:
        page.wait_for_selector("body[data-compare-ready]", state="attached")


@pytest.mark.parametrize("width", [1366, 390])
@pytest.mark.parametrize("which", ["home", "city", "compare", "document", "instrument", "about",
                                   "downloads", "cities"])
def test_axe_no_violations(any_site, browser, which, width):
    out, url, pages = any_site
    with _page_at(browser, width) as page:
        _goto(page, url + pages[which])
        for summary in page.locator("main details > summary").all():
            summary.click()  # collapsible notes are checked open too
        violations = _axe(page)
        assert not violations, _describe(violations)


def test_axe_search_page(any_site, page):
    out, url, _ = any_site
    page.goto(url + "search/index.html")
    page.wait_for_load_state("networkidle")
    bad = [v for v in _axe(page) if v["impact"] in SERIOUS]
    assert not bad, _describe(bad)


# --------------------------------------------------------------------------- hostile input

def test_hostile_document_is_inert(synthetic_url, page):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for path in ("doc/005_hostile.html", "index.html", "city/wuhan.html", "compare.html",
                 "instrument/tech-insurance.html", "documents.html"):
        page.goto(synthetic_url + path)
        page.wait_for_load_state("load")
        # Hover and click every element an attacker might have injected.
        assert page.locator("main img").count() == 0, path
        assert page.locator("main script").count() == 0, path
        assert page.locator("main [onerror], main [onclick], main [onmouseover]").count() == 0, path
        assert page.locator('a[href^="javascript"]').count() == 0, path
    page.goto(synthetic_url + "doc/005_hostile.html")
    assert page.locator("h1").inner_text() == test_render.HOSTILE_TITLE
    body = page.locator("main").inner_text()
    assert "<img src=x onerror=alert(1)>" in body
    assert 'javascript:alert(1)' in body
    assert test_render.HOSTILE_PUBLISHER in body
    page.goto(synthetic_url + "instrument/tech-insurance.html")
    assert '<script>alert("md")</script>' in page.locator(".definition").inner_text()
    page.wait_for_timeout(200)
    assert dialogs == []


# --------------------------------------------------------------------------- compare

def _visible_cities(page):
    return page.evaluate("""() => {
        const out = {};
        document.querySelectorAll('.compare-grid [data-city]').forEach(el => {
            const slug = el.getAttribute('data-city');
            const shown = el.offsetParent !== null;
            out[slug] = (out[slug] || false) || shown;
        });
        return out;
    }""")


def _url_cities(page):
    query = parse_qs(urlsplit(page.url).query)
    return query.get("cities", [""])[0].split(",") if query.get("cities") else []


def _wait_selection(page, slugs):
    page.wait_for_function("(want) => document.body.getAttribute('data-compare-ready') === want",
                           arg=",".join(slugs))


def test_compare_selection_from_and_to_url(synthetic_url, page):
    _goto(page, synthetic_url + "compare.html?cities=wuhan,suzhou")
    visible = _visible_cities(page)
    assert {k for k, v in visible.items() if v} == {"wuhan", "suzhou"}
    assert set(visible) == {"wuhan", "suzhou"}  # only the chosen cities are drawn
    assert page.locator('input[value="wuhan"]').is_checked()
    assert page.locator('input[value="suzhou"]').is_checked()
    assert not page.locator('input[value="hefei"]').is_checked()
    assert "2" in page.locator("#compare-status").inner_text()

    page.locator('input[value="hefei"]').check()
    assert set(_url_cities(page)) == {"wuhan", "suzhou", "hefei"}
    _wait_selection(page, ["wuhan", "suzhou", "hefei"])
    assert _visible_cities(page)["hefei"]
    page.locator('input[value="wuhan"]').uncheck()
    assert set(_url_cities(page)) == {"suzhou", "hefei"}
    _wait_selection(page, ["suzhou", "hefei"])
    assert "wuhan" not in _visible_cities(page)

    # Reloading the shared URL restores the selection.
    _goto(page, page.url)
    assert {k for k, v in _visible_cities(page).items() if v} == {"suzhou", "hefei"}


def test_compare_limits_to_four(synthetic_url, page):
    _goto(page, synthetic_url + "compare.html?cities=wuhan,suzhou,hefei,luoyang,hangzhou")
    assert len(_url_cities(page)) <= 5  # the URL as typed
    checked = page.locator('input[name="cities"]:checked')
    assert checked.count() == 4
    assert page.locator('input[value="hangzhou"]').is_disabled()
    page.locator('input[value="luoyang"]').uncheck()
    assert page.locator('input[value="hangzhou"]').is_enabled()


def test_compare_default_and_unknown_slugs(synthetic_url, page):
    _goto(page, synthetic_url + "compare.html?cities=nowhere")
    shown = {k for k, v in _visible_cities(page).items() if v}
    assert len(shown) == 3 and "wuhan" in shown


def test_compare_figures_only_for_chosen_cities_and_labelled(synthetic_url, page):
    section = '[data-figure="fund-size-actual"]'
    _goto(page, synthetic_url + "compare.html?cities=wuhan,suzhou")
    assert page.locator(f'{section} tr[data-city="suzhou"] [data-warn]').is_visible()
    assert not page.locator(f'{section} tr[data-city="wuhan"] [data-warn]').is_visible()
    assert page.locator(f'{section} tr[data-city="hefei"]').count() == 0  # not chosen: absent
    assert page.locator(f"{section} [data-warn-note]").is_visible()
    # each figure says what it measures, in the source's words
    assert page.locator(f'{section} tr[data-city="wuhan"] td.measure').inner_text() == "规模100亿元"
    assert page.locator("#figures svg").count() == 0  # no chart setting unlike things side by side
    _goto(page, synthetic_url + "compare.html?cities=wuhan,luoyang")
    # fund-size: only Wuhan has it -> no warning
    assert not page.locator(f"{section} [data-warn-note]").is_visible()
    _goto(page, synthetic_url + "compare.html?cities=hangzhou,luoyang")
    assert page.locator(section).count() == 0  # neither city has the metric


def test_compare_cells_show_the_cue_sentence_and_link_to_all(synthetic_url, page):
    _goto(page, synthetic_url + "compare.html?cities=wuhan,suzhou,hefei")
    cell = page.locator('#inst-tech-loan .column[data-city="wuhan"]')
    assert cell.locator(".passage").count() == 3
    assert cell.locator(".passage-text").first.inner_text().startswith("第")
    more = cell.locator(".more a")
    assert more.inner_text() == "查看全部 24 条"
    assert "search/index.html?city=wuhan&instrument=tech-loan" in more.get_attribute("href")
    # the TOC counts the chosen cities' passages and hides instruments none of them has
    assert page.locator('[data-toc="tech-loan"] [data-toc-count]').inner_text() == "24"
    _goto(page, synthetic_url + "compare.html?cities=hangzhou,luoyang")
    assert not page.locator("#inst-guidance-fund").is_visible()
    assert not page.locator('[data-toc="guidance-fund"]').is_visible()


@pytest.mark.parametrize("width", [1366, 390])
def test_compare_exports_csv_and_pasteable_tables(synthetic_url, browser, width):
    with _page_at(browser, width, accept_downloads=True) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=synthetic_url.split("/kb/")[0])
        _goto(page, synthetic_url + "compare.html?cities=wuhan,suzhou")
        with page.expect_download() as info:
            page.get_by_role("button", name="下载 CSV").click()
        download = info.value
        assert download.suggested_filename == "城市对比-武汉-苏州.csv"
        raw = Path(download.path()).read_bytes()
        assert raw.startswith("\ufeff".encode("utf-8")) and b"\r\n" in raw
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
        assert rows[0] == ["政策工具", "城市", "段落数", "相关句", "出处（GB/T 7714）", "段落链接"]
        loan = [r for r in rows if r[0] == "科技信贷" and r[1] == "武汉"]
        assert len(loan) == 3 and loan[0][2] == "24"
        assert loan[0][5].startswith(synthetic_url + "doc/001_wuhan_policy.html#001_wuhan_policy-")
        today = page.evaluate("() => { const d = new Date(); return d.getFullYear() + '-' + "
                              "String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0'); }")
        assert loan[0][4].endswith(f"[A/OL]. (2025-06-07)[{today}]. {loan[0][5]}.")
        # the hostile passage stays text, and no cell can start a formula in Excel
        assert all(not c.startswith(("=", "+", "-", "@")) for r in rows for c in r)

        page.get_by_role("button", name="复制 Markdown").click()
        page.wait_for_function("() => document.getElementById('export-status').textContent.includes('已复制')")
        md = page.evaluate("() => navigator.clipboard.readText()")
        lines = md.strip().split("\n")
        assert lines[0] == "| 政策工具 | 武汉 | 苏州 |" and lines[1] == "| --- | --- | --- |"
        assert any(line.startswith("| 科技信贷 | ") and "（出处：" in line and "（共 24 条）" in line
                   for line in lines)
        page.get_by_role("button", name="复制表格（可粘贴到 Word）").click()
        page.wait_for_function("() => document.getElementById('export-status').textContent.includes('Word')")
        html = page.evaluate("""async () => {
            const items = await navigator.clipboard.read();
            return await (await items[0].getType('text/html')).text();
        }""")
        assert "<table" in html and "<th>武汉</th>" in html and "出处：" in html


@pytest.mark.parametrize("width", [1366, 390])
def test_compare_first_comparison_near_the_top(request, browser, width):
    """With three cities chosen, the first instrument comparison starts within the first
    screen and a half (measured on the real corpus; the figures go to the report)."""
    out, url = _built(request)
    with _page_at(browser, width) as page:
        html = (out / "compare.html").read_text(encoding="utf-8")
        slugs = re.findall(r'name="cities" value="([^"]+)"', html)[:3]
        _goto(page, url + "compare.html?cities=" + ",".join(slugs))
        y = page.evaluate("""() => {
            const s = [...document.querySelectorAll('.compare-section')].find(x => !x.hidden);
            return s.querySelector('.column').getBoundingClientRect().top + window.scrollY; }""")
        height = page.evaluate("() => document.documentElement.scrollHeight")
        print(f"compare.html {width}px: first comparison at y={y:.0f}, page height {height}")
        if width == 1366:
            assert y < 1.5 * 900
        # jump links: the TOC reaches every visible instrument section
        link = page.locator(".compare-toc li:not([hidden]) a").nth(1)
        link.click()
        target = link.get_attribute("href")
        top = page.evaluate("(sel) => document.querySelector(sel).getBoundingClientRect().top", target)
        assert -2 <= top < 100


# --------------------------------------------------------------------------- layout and keyboard

def test_no_horizontal_overflow_at_375px(any_site, browser):
    out, url, pages = any_site
    with _page_at(browser, 375, 740) as page:
        for name, path in sorted(pages.items()):
            page.goto(url + path)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 375, f"{name} ({path}) is {width}px wide at 375px"


def test_keyboard_skip_link_and_nav(any_site, page):
    out, url, pages = any_site
    page.goto(url + pages["city"])
    page.keyboard.press("Tab")
    focused = page.evaluate("() => [document.activeElement.className, document.activeElement.textContent]")
    assert focused[0] == "skip-link", focused
    box = page.locator(".skip-link").bounding_box()
    assert box and box["y"] >= 0, "skip link must become visible when focused"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    # From the top: Tab reaches every main navigation link, with a visible focus ring.
    page.goto(url + pages["city"])
    nav_labels = page.locator(".site-nav a").all_inner_texts()
    reached = []
    for _ in range(len(nav_labels) + 3):
        page.keyboard.press("Tab")
        info = page.evaluate("""() => {
            const el = document.activeElement;
            return {nav: !!el.closest('.site-nav'), text: el.textContent.trim(),
                    outline: getComputedStyle(el).outlineStyle};
        }""")
        if info["nav"]:
            reached.append(info["text"])
            assert info["outline"] != "none"
    assert reached == nav_labels


def test_requests_stay_on_origin_and_csp_is_clean(any_site, page):
    out, url, pages = any_site
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    requests, problems = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    for name, path in sorted(pages.items()):
        page.goto(url + path)
        page.wait_for_load_state("networkidle")
    off = [r for r in requests if not r.startswith(origin) and not r.startswith("data:")]
    assert off == []
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
    assert problems == []


def _today(page):
    return page.evaluate("() => { const d = new Date(); return d.getFullYear() + '-' + "
                         "String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0'); }")


@pytest.mark.parametrize("width", [1366, 390])
def test_copy_citation_buttons(synthetic_url, browser, width):
    with _page_at(browser, width) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=synthetic_url.split("/kb/")[0])
        page.goto(synthetic_url + "doc/002_luoyang_report.html")
        today = _today(page)
        doc_url = synthetic_url + "doc/002_luoyang_report.html"
        shown = page.locator(".citation-text").inner_text()
        assert shown == f"洛阳市委政策研究室. 关于发展科技金融的调研报告[R/OL]. (2024)[{today}]. {doc_url}."
        button = page.get_by_role("button", name="复制引文")
        assert button.is_visible()
        button.click()
        page.wait_for_function("() => document.getElementById('cite-status').textContent !== ''")
        assert "已复制" in page.locator("#cite-status").inner_text()
        assert page.evaluate("() => navigator.clipboard.readText()") == shown
        # one click on a passage: section, permalink and 引用日期
        passage = page.locator(".doc-passage").nth(1)
        pid = passage.get_attribute("id")
        passage.get_by_role("button", name="复制本段引用").click()
        page.wait_for_function("() => document.getElementById('cite-status').textContent !== ''")
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied == (f"洛阳市委政策研究室. 关于发展科技金融的调研报告: 二、问题[R/OL]. (2024)[{today}]. "
                          f"{doc_url}#{pid}.")
        # the permalink opens the passage (with its title and trail: see the test below)
        page.goto(f"{doc_url}#{pid}")
        assert page.evaluate("(id) => document.getElementById(id).matches(':target')", pid)
        # cards on city pages cite the same way
        page.goto(synthetic_url + "city/luoyang.html")
        page.locator(".passage").first.get_by_role("button", name="复制引用").click()
        page.wait_for_function("() => navigator.clipboard.readText().then(t => t.includes('#002_luoyang_report-'))")


@pytest.mark.parametrize("width", [1366, 390])
def test_city_instrument_and_cities_pages(request, browser, width):
    out, url = _built(request)
    with _page_at(browser, width) as page:
        # 城市 in the navigation: by province, with counts, every link a real city page
        page.goto(url + "index.html")
        page.locator(".site-nav").get_by_role("link", name="城市", exact=True).click()
        page.wait_for_load_state("load")
        assert page.url.endswith("cities.html")
        assert page.locator(".province h2").count() >= 2
        link = page.locator(".city-index a").first
        link.click()
        page.wait_for_load_state("load")
        assert "/city/" in page.url
        assert not re.search(r"(?<![0-9])0 条段落", page.locator("main").inner_text())
        # each passage once; the TOC by instrument jumps to its passages
        ids = page.evaluate("() => [...document.querySelectorAll('article.passage')].map(a => a.id)")
        assert ids and len(ids) == len(set(ids))
        toc = page.locator('nav[aria-label="本页政策工具"] a').first
        target = toc.get_attribute("href")
        toc.click()
        top = page.evaluate("(sel) => document.querySelector(sel).getBoundingClientRect().top", target)
        assert -2 <= top < 100
        assert page.locator("article.passage .chip-inst").first.is_visible()
        # instrument page: plain Chinese first, the classification folded in a note
        page.goto(url + "instrument/insurance.html")
        note = page.locator("details.note-box")
        assert not note.locator("dt", has_text="OECD STIP 代码").is_visible()
        note.locator("summary").click()
        assert note.locator("dt", has_text="识别用词").is_visible()
        assert "需求型" in note.inner_text() and "债务担保与风险分担" in note.inner_text()
        assert page.locator("h2", has_text="哪些城市在用").is_visible()


def test_citations_name_the_published_address(tmp_path, browser):
    """Built with --base-url, a copy opened anywhere cites the published permalink."""
    out = tmp_path / "site"
    test_render.render_synthetic(out, templates_dir=test_render.stub_templates(tmp_path),
                                 base_url="https://kb.example.cn/kb/")
    with serve(out, prefix="mirror") as url, _page_at(browser, 1366) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.split("/mirror/")[0])
        page.goto(url + "city/luoyang.html")
        page.locator(".passage").first.get_by_role("button", name="复制引用").click()
        page.wait_for_function("() => document.getElementById('cite-status').textContent !== ''")
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert re.search(r"\. https://kb\.example\.cn/kb/doc/002_luoyang_report\.html#002_luoyang_report-\w+\.$",
                         copied), copied
        _goto(page, url + "compare.html?cities=wuhan,luoyang")
        csv_text = page.evaluate("() => KBPages.compareExport.csv()")
        assert "https://kb.example.cn/kb/doc/" in csv_text and url not in csv_text


@pytest.mark.parametrize("width", [1366, 390])
def test_permalink_opens_with_title_and_section_visible(synthetic_url, browser, width):
    with _page_at(browser, width, 700) as page:
        documents, passages, _, _ = test_render.synthetic()
        late = [p for p in passages if p["doc"] == "001_wuhan_policy"][20]
        page.goto(synthetic_url + f"doc/001_wuhan_policy.html#{late['id']}")
        page.wait_for_timeout(100)
        title = page.locator(".doc-bar h1").bounding_box()
        trail = page.locator(f"[id='{late['id']}'] .passage-trail")
        assert trail.is_visible()
        assert trail.inner_text().endswith("二、重点任务 › （一）扩大科技信贷")
        box = trail.bounding_box()
        assert 0 <= title["y"] and title["y"] + title["height"] <= box["y"] < 700
        # the ¶ link is a real, readable link
        link = page.locator(f"[id='{late['id']}'] a.permalink")
        assert link.inner_text().strip() == "¶ 本段链接" and link.bounding_box()["width"] >= 40


def test_search_filters_button_on_phone(request, browser):
    out, url = _built(request)
    for width in (390, 1366):
        with _page_at(browser, width, 844) as page:
            page.goto(url + "search/index.html?q=" + "基金")
            page.wait_for_selector("#results li")
            button = page.get_by_role("button", name="筛选")
            facets = page.locator("#kb-facets")
            first = page.locator("#results > li").first.bounding_box()
            print(f"search {width}px: first result at y={first['y']:.0f}")
            if width == 390:
                assert button.is_visible() and not facets.is_visible()
                assert button.bounding_box()["y"] < 844
                assert first["y"] < 844  # the first result starts on the first screen
                button.click()
                assert button.get_attribute("aria-expanded") == "true"
                assert facets.is_visible()
                assert facets.bounding_box()["y"] < first["y"] + 844  # opens above the results
                assert facets.bounding_box()["y"] < page.locator("#results").bounding_box()["y"]
                bad = [v for v in _axe(page) if v["impact"] in SERIOUS]
                assert not bad, _describe(bad)
                page.keyboard.press("Escape")
                assert not facets.is_visible()
            else:
                assert not button.is_visible() and facets.is_visible()


@pytest.mark.parametrize("width", [1366, 390])
def test_matrix_fits_or_scrolls_with_cue(request, browser, width):
    out, url = _built(request)
    with _page_at(browser, width) as page:
        page.goto(url + "index.html")
        region = page.locator(".matrix-scroll")
        fits = page.evaluate("() => { const r = document.querySelector('.matrix-scroll'); "
                             "return r.scrollWidth <= r.clientWidth; }")
        cue = page.locator(".scroll-cue")
        if width == 1366:
            assert fits  # every column, 合计 included, without scrolling
            assert page.locator("table.matrix thead th").last.is_visible()
            assert not cue.is_visible()
        else:
            assert not fits and cue.is_visible()
            # row and column headers stay in view while the table scrolls
            region.evaluate("(r) => { r.scrollLeft = 400; r.scrollTop = 200; }")
            city = page.locator("table.matrix tbody th").first.bounding_box()
            head = page.locator("table.matrix thead th").nth(3).bounding_box()
            box = region.bounding_box()
            assert abs(city["x"] - box["x"]) < 3 and abs(head["y"] - box["y"]) < 3
        # short headers carry the full label for hover
        th = page.locator("table.matrix thead th a").nth(1)
        assert th.get_attribute("title") == "科技信贷"
        # cities whose row would be all empty are folded below the table
        assert page.locator("table.matrix tbody tr").count() + \
            page.locator(".folded-rows li").count() == int(page.locator(".stats a").first.inner_text())


def test_permalink_anchor_targets_passage(synthetic_url, page):
    page.goto(synthetic_url + "city/luoyang.html")
    link = page.locator("a.permalink").first
    href = link.get_attribute("href")
    link.click()
    page.wait_for_load_state("load")
    fragment = urlsplit(page.url).fragment
    assert fragment and href.endswith("#" + fragment)
    assert page.evaluate("(id) => document.getElementById(id).matches(':target')", fragment)


# --------------------------------------------------------------------------- file://

@pytest.mark.parametrize("which", ["synthetic", "built"])
def test_file_urls_work(request, browser, which):
    if which == "synthetic":
        out = request.getfixturevalue("synthetic_site")
    else:
        out, _ = _built(request)
    pages = _site_pages(out)
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        for name in ("home", "city", "document", "compare"):
            page.goto((out / pages[name]).resolve().as_uri())
            bg = page.evaluate("() => getComputedStyle(document.querySelector('.site-header')).backgroundColor")
            assert bg == "rgb(31, 78, 121)", f"stylesheet not applied on {name} under file://"
        # Relative links navigate between file:// pages.
        page.goto((out / "index.html").resolve().as_uri())
        page.locator("table.matrix tbody th a").first.click()
        page.wait_for_load_state("load")
        assert "/city/" in page.url and page.locator("h1").count() == 1
        page.locator(".site-nav a", has_text="城市对比").click()
        page.wait_for_load_state("load")
        assert page.url.endswith("compare.html") or "compare.html" in page.url
        # compare.js runs under file:// too, and loads the per-city data files.
        assert page.locator("#compare-status").inner_text() != ""
        page.wait_for_selector("body[data-compare-ready]", state="attached")
        assert page.locator(".compare-grid .column").count() >= 2
        assert errors == []
    finally:
        context.close()


# --------------------------------------------------------------------------- screenshots

def test_screenshots(any_site, browser, request):
    """Home and a city page at desktop and phone width (look at them: /tmp/kb-*.png)."""
    out, url, pages = any_site
    tag = request.node.callspec.params["any_site"]
    for width, suffix in ((1366, "desktop"), (390, "phone")):
        with _page_at(browser, width) as page:
            for name in ("home", "city", "compare", "cities", "instrument", "document"):
                _goto(page, url + pages[name])
                path = SCREENSHOT_DIR / f"kb-{tag}-{name}-{suffix}.png"
                page.screenshot(path=str(path), full_page=True)
                assert path.stat().st_size > 5000
