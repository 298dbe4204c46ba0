"""End to end: the in-browser search of the built site (output/search/index.html) in Chromium.

Results are compared with the query model over kb.search.reference.Reference (the same model
over kb.analysis tokens).
Payload per query is measured from the responses; numbers are printed (pytest -s) and written
to test-results/search-payload.json. The large synthetic corpus runs at KB_BENCH_PASSAGES
passages (default 5,000; the report used 300,000)."""

import json
import os
import re
import statistics
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import jinja2
import pytest

from kb import static_index as si
from kb.localweb import serve
from kb.search import gazetteer, run
from kb.search.reference import Reference
from tests.test_static_index import synthetic_corpus

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "test-results"
PAYLOAD_QUERIES = ["投贷联动", "知识产权质押", "风险补偿", "風險補償", "融通", "科技金融", "专精特新 贷款",
                   "担保", '"优化营商环境"', "科"]
BUDGET = 300_000


@pytest.fixture(scope="module")
def site_data(built_site):
    """Passages, documents and vocabulary of the built site, and the Python reference."""
    from kb.vocab import load_vocab

    data = built_site / "data"
    passages = [json.loads(line) for line in (data / "passages.jsonl").read_text(encoding="utf-8").splitlines()
                if line.strip()]
    docs = json.loads((data / "documents.json").read_text(encoding="utf-8"))
    if isinstance(docs, dict):
        docs = docs.get("documents", list(docs.values()))
    vocab = load_vocab()
    return {"passages": passages, "docs": docs, "vocab": vocab,
            "ref": Ref(passages, docs, vocab),
            "slug": {c["name"]: c["slug"] for c in vocab.cities}}


class Ref:
    """The query model's reference answers, as passage ids (what the page shows)."""

    def __init__(self, passages, docs, vocab):
        self.r = Reference(passages, docs, vocab)
        self.gaz = gazetteer(vocab)
        self.passages = self.r.passages
        year = {d["id"]: d["year"] for d in docs}
        self.doc_year = [year[p["doc"]] for p in self.passages]

    def search(self, q, **filters):
        return [self.r.passage_id(i) for i in run(q, self.r, self.gaz, filters=filters)["idxs"]]


def open_search(page, base, params):
    page.goto(base + "search/index.html" + ("?" + params if params else ""))
    return wait_ready(page)


def wait_ready(page):
    page.wait_for_selector("#results[data-ready]", state="attached", timeout=20_000)
    return {"ids": page.eval_on_selector_all("#results > li", "els => els.map(e => e.dataset.passageId)"),
            "status": page.inner_text("#kb-status")}


def q(text):
    return "q=" + quote(text)


def facet_counts(page, facet):
    return page.eval_on_selector_all(
        f'#kb-facets button[data-facet="{facet}"]',
        "bs => Object.fromEntries(bs.map(b => [b.dataset.value, "
        "parseInt(b.querySelector('.count').textContent.replace(/[()]/g, ''), 10)]))")


# --------------------------------------------------------------------------- results


@pytest.mark.parametrize("query", ["投贷联动", "知识产权质押", "风险补偿"])
def test_real_queries_results_and_facets(page, site_url, site_data, query):
    ref = site_data["ref"]
    want = ref.search(query)
    assert want, query
    got = open_search(page, site_url, q(query))
    assert got["ids"] == want[:20]
    assert got["status"] == f"共 {len(want)} 条结果"
    by_id = {p["id"]: p for p in ref.passages}
    cities, insts = {}, {}
    for pid in want:
        for c in {site_data["slug"][c] for c in by_id[pid]["cities"]}:
            cities[c] = cities.get(c, 0) + 1
        for i in set(by_id[pid]["instruments"]):
            insts[i] = insts.get(i, 0) + 1
    assert facet_counts(page, "city") == cities
    assert facet_counts(page, "instrument") == insts
    assert sum(facet_counts(page, "year").values()) == len(want)
    # the document facet's titles follow the results: its ten most frequent documents
    docs = {}
    for pid in want:
        docs[by_id[pid]["doc"]] = docs.get(by_id[pid]["doc"], 0) + 1
    page.wait_for_function("n => document.querySelectorAll('#kb-facets button[data-facet=\"doc\"]').length === n",
                           arg=min(10, len(docs)))
    top = sorted(docs.items(), key=lambda kv: -kv[1])[:10]
    got_docs = facet_counts(page, "doc")
    assert sorted(got_docs.values(), reverse=True) == [n for _d, n in top]
    assert all(docs[d] == n for d, n in got_docs.items())
    # every result: highlighted snippet, title, chips, relative permalink
    first = page.locator("#results > li").first
    marks = first.locator(".kb-snippet mark").all_inner_texts()
    assert query in marks
    href = first.locator("a.kb-permalink").get_attribute("href")
    assert href == "../" + by_id[want[0]]["url"]
    assert first.locator(".kb-result-title a").inner_text().strip()
    # the result says what it is: publisher, date and type of its document, and its section
    doc = next(d for d in site_data["docs"] if d["id"] == by_id[want[0]]["doc"])
    meta = first.locator(".kb-docmeta").inner_text()
    assert doc["publisher"] in meta and str(doc["date"]) in meta
    assert first.locator(".kb-result-title a").inner_text().strip() == doc["title"]


def test_traditional_query_gives_the_same_results(page, site_url, site_data):
    simplified = open_search(page, site_url, q("风险补偿"))
    traditional = open_search(page, site_url, q("風險補償"))
    assert traditional["ids"] == simplified["ids"] != []
    assert traditional["status"] == simplified["status"]
    fullwidth = open_search(page, site_url, q("ＡＩＣ"))
    assert fullwidth["ids"] == open_search(page, site_url, q("aic"))["ids"] != []


def test_substring_query_finds_the_longer_word(page, site_url, site_data):
    got = open_search(page, site_url, q("融通"))
    by_id = {p["id"]: p for p in site_data["ref"].passages}
    assert any("汉融通" in by_id[i]["text"] for i in got["ids"])
    assert {i for i, p in by_id.items() if "融通" in p["text"]} <= set(got["ids"])
    marks = page.eval_on_selector_all("#results mark", "ms => ms.map(m => m.textContent)")
    assert "融通" in marks


def test_quoted_phrase_and_and_parts(page, site_url, site_data):
    ref = site_data["ref"]
    got = open_search(page, site_url, q('"科技金融" 武汉'))
    assert got["ids"] == ref.search('"科技金融" 武汉')[:20] != []


# --------------------------------------------------------------------------- URL state


def test_url_with_query_and_city_filters(page, site_url, site_data):
    ref = site_data["ref"]
    got = open_search(page, site_url, q("知识产权质押") + "&city=wuhan")
    want = ref.search("知识产权质押", city="wuhan")
    assert want and got["ids"] == want[:20]
    assert got["status"] == f"共 {len(want)} 条结果"
    pressed = page.eval_on_selector_all('#kb-facets button[aria-pressed="true"]',
                                        "bs => bs.map(b => b.dataset.facet + '=' + b.dataset.value)")
    assert pressed == ["city=wuhan"]
    assert page.input_value("#kb-q") == "知识产权质押"
    # other cities keep their counts (switchable), the instrument counts follow the filter
    assert facet_counts(page, "city")["wuhan"] == len(want)
    assert sum(1 for _ in facet_counts(page, "city")) > 1


def test_url_with_every_filter(page, site_url, site_data):
    ref = site_data["ref"]
    p = next(p for p in ref.passages if p["instruments"] and p["cities"])
    slug = site_data["slug"][p["cities"][0]]
    year = ref.doc_year[ref.passages.index(p)]
    params = f"city={slug}&instrument={p['instruments'][0]}&year={year}&doc={p['doc']}"
    got = open_search(page, site_url, params)
    want = ref.search("", city=slug, instrument=p["instruments"][0], year=year, doc=p["doc"])
    assert p["id"] in want and got["ids"] == want[:20]


def test_browse_links_from_city_and_instrument_pages(page, site_url, site_data, built_site):
    ref = site_data["ref"]
    html = (built_site / "city" / "wuhan.html").read_text(encoding="utf-8")
    assert "search/index.html?city=wuhan" in html
    for params, filters in (("city=wuhan", {"city": "wuhan"}),
                            ("city=wuhan&instrument=equity", {"city": "wuhan", "instrument": "equity"}),
                            ("instrument=linkage", {"instrument": "linkage"})):
        got = open_search(page, site_url, params)
        want = ref.search("", **filters)
        assert want and got["ids"] == want[:20], params
        assert got["status"] == f"共 {len(want)} 条结果"


def test_zero_results_and_empty_query_set_ready(page, site_url):
    got = open_search(page, site_url, q("xyzzy"))
    assert got["ids"] == [] and "没有找到" in got["status"]
    got = open_search(page, site_url, "")
    assert got["ids"] == [] and "请输入" in got["status"]
    got = open_search(page, site_url, q("投贷联动") + "&city=nowhere")
    assert got["ids"] == [] and "没有找到" in got["status"]
    # the unknown value is shown pressed, so it can be removed
    page.click('#kb-facets button[data-value="nowhere"]')
    page.wait_for_function("() => !location.search.includes('nowhere')")
    assert wait_ready(page)["ids"] != []


def test_typing_updates_url_and_runs_the_search(page, site_url, site_data):
    open_search(page, site_url, "")
    page.fill("#kb-q", "投贷联动")
    page.wait_for_function("() => new URLSearchParams(location.search).get('q') === '投贷联动'")
    page.wait_for_function("() => document.querySelectorAll('#results > li').length > 0")
    got = wait_ready(page)
    assert got["ids"] == site_data["ref"].search("投贷联动")[:20]
    # a new search removes data-ready until it has finished
    page.fill("#kb-q", "风险补偿")
    page.wait_for_function("() => new URLSearchParams(location.search).get('q') === '风险补偿'")
    got = wait_ready(page)
    assert got["ids"] == site_data["ref"].search("风险补偿")[:20]
    assert page.evaluate("history.length") <= 3  # typing replaces the history entry


def test_input_method_composition_waits_for_the_committed_text(page, site_url, site_data):
    open_search(page, site_url, "")
    page.evaluate("""() => {
      const input = document.getElementById('kb-q');
      input.dispatchEvent(new CompositionEvent('compositionstart', {data: ''}));
      input.value = 'tou dai';
      input.dispatchEvent(new InputEvent('input', {data: 'tou dai', isComposing: true}));
    }""")
    page.wait_for_timeout(600)
    assert "q=" not in page.evaluate("location.search")  # no search for the pinyin
    page.evaluate("""() => {
      const input = document.getElementById('kb-q');
      input.value = '投贷联动';
      input.dispatchEvent(new CompositionEvent('compositionend', {data: '投贷联动'}));
    }""")
    page.wait_for_function("() => new URLSearchParams(location.search).get('q') === '投贷联动'")
    got = wait_ready(page)
    assert got["ids"] == site_data["ref"].search("投贷联动")[:20]


def test_facet_buttons_are_keyboard_operable(page, site_url, site_data):
    ref = site_data["ref"]
    open_search(page, site_url, q("科技金融"))
    button = page.locator('#kb-facets button[data-facet="city"][data-value="hefei"]')
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.search.includes('city=hefei')")
    got = wait_ready(page)
    assert got["ids"] == ref.search("科技金融", city="hefei")[:20]
    focused = page.evaluate("document.activeElement.dataset.value")
    assert focused == "hefei"  # focus stays on the (re-rendered) button
    assert page.get_attribute('#kb-facets button[data-value="hefei"]', "aria-pressed") == "true"
    page.keyboard.press("Space")
    page.wait_for_function("() => !location.search.includes('city=')")
    assert wait_ready(page)["ids"] == ref.search("科技金融")[:20]
    # visible focus: the outline of a focused facet button is drawn
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")


def test_pagination(page, site_url, site_data):
    want = site_data["ref"].search("科技")
    assert len(want) > 40
    got = open_search(page, site_url, q("科技"))
    assert got["ids"] == want[:20]
    assert page.is_disabled("#kb-prev") and not page.is_disabled("#kb-next")
    pages = -(-len(want) // 20)
    assert page.inner_text("#kb-page-info") == f"第 1 / {pages} 页"
    page.click("#kb-next")
    page.wait_for_function("() => new URLSearchParams(location.search).get('page') === '2'")
    got = wait_ready(page)
    assert got["ids"] == want[20:40]
    assert page.get_attribute("#results", "start") == "21"
    page.go_back()
    page.wait_for_function("() => !location.search.includes('page=')")
    assert wait_ready(page)["ids"] == want[:20]
    got = open_search(page, site_url, q("科技") + f"&page={pages}")
    assert got["ids"] == want[(pages - 1) * 20:]
    assert page.is_disabled("#kb-next")


# --------------------------------------------------------------------------- file://, origin, payload


def test_file_url_works(page, built_site, site_data):
    url = (built_site / "search" / "index.html").as_uri()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "?" + q("投贷联动"))
    got = wait_ready(page)
    assert got["ids"] == site_data["ref"].search("投贷联动")[:20] != []
    page.fill("#kb-q", "风险补偿")
    page.wait_for_function("() => document.title.startsWith('风险补偿')")
    got = wait_ready(page)
    assert got["ids"] == site_data["ref"].search("风险补偿")[:20]
    page.goto(url + "?city=wuhan")
    assert wait_ready(page)["ids"] == site_data["ref"].search("", city="wuhan")[:20]
    assert not errors


def test_no_request_leaves_the_origin(browser, site_url):
    context = browser.new_context()
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    console = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    for params in (q("投贷联动"), q("風險補償") + "&city=wuhan", "instrument=equity", q("科")):
        open_search(page, site_url, params)
    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(site_url))
    assert requests and all(u.startswith(origin) for u in requests), [u for u in requests if not u.startswith(origin)]
    assert not console  # no CSP violation or script error
    context.close()


def measure(browser, base, queries):
    """Bytes of every response for each query in a fresh (cold-cache) context."""
    rows = []
    for query in queries:
        context = browser.new_context()
        page = context.new_page()
        sizes = {}

        def on_response(r, sizes=sizes):
            try:
                sizes[r.url] = len(r.body())
            except Exception:  # noqa: BLE001 - redirects/aborted have no body
                sizes[r.url] = 0

        page.on("response", on_response)
        t0 = time.perf_counter()
        page.goto(base + "search/index.html?" + q(query))
        got = wait_ready(page)
        ms = (time.perf_counter() - t0) * 1000
        page.wait_for_load_state("networkidle")
        index_bytes = sum(s for u, s in sizes.items() if re.search(r"/search/(?!kb-|index\.html)", u))
        rows.append({"q": query, "results": got["status"], "total_bytes": sum(sizes.values()),
                     "index_bytes": index_bytes, "files": len(sizes), "ms": round(ms)})
        context.close()
    return rows


def measure_warm(browser, base, queries):
    """Bytes per query when the queries are typed one after another on one page."""
    context = browser.new_context()
    page = context.new_page()
    sizes = []

    def on_response(r):
        try:
            sizes.append(len(r.body()))
        except Exception:  # noqa: BLE001
            sizes.append(0)

    page.on("response", on_response)
    open_search(page, base, q(queries[0]))
    rows = []
    for query in queries[1:]:
        sizes.clear()
        page.fill("#kb-q", query)
        page.wait_for_function("(q) => new URLSearchParams(location.search).get('q') === q", arg=query)
        wait_ready(page)
        page.wait_for_load_state("networkidle")
        rows.append({"q": query, "bytes": sum(sizes), "files": len(sizes)})
    context.close()
    return rows


def _report(name, rows, extra=None):
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / "search-payload.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = {"queries": rows, **(extra or {}),
                  "first_query_total_bytes": rows[0]["total_bytes"],
                  "median_total_bytes": statistics.median(r["total_bytes"] for r in rows),
                  "median_index_bytes": statistics.median(r["index_bytes"] for r in rows),
                  "max_total_bytes": max(r["total_bytes"] for r in rows)}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    print(f"\n{name}: " + json.dumps(data[name], ensure_ascii=False, indent=1))


def test_bytes_downloaded_per_query(browser, site_url, built_site):
    rows = measure(browser, site_url, PAYLOAD_QUERIES)
    warm = measure_warm(browser, site_url, PAYLOAD_QUERIES)
    files = [p for p in (built_site / "search").rglob("*") if p.is_file()]
    _report("real", rows, {"search_files": len(files),
                           "search_bytes": sum(p.stat().st_size for p in files),
                           "warm_queries": warm,
                           "median_warm_bytes": statistics.median(r["bytes"] for r in warm)})
    assert all(r["total_bytes"] < BUDGET for r in rows), rows


# --------------------------------------------------------------------------- layout, accessibility


def test_small_screen_and_accessibility(browser, site_url):
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    open_search(page, site_url, q("投贷联动"))
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    assert page.is_visible("#kb-q") and page.is_visible("#results > li")
    box = page.locator("#kb-q").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert page.get_attribute("#kb-status", "aria-live") == "polite"
    assert page.locator('label[for="kb-q"]').count() == 1
    assert page.locator("#kb-facets button").count() > 3
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in serious]
    context.close()


# --------------------------------------------------------------------------- large corpus


def render_search_page(out, assets):
    """The search page for a bare index directory (no full site), with the real templates."""
    from kb.render import CSP

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROOT / "site_templates")), autoescape=True)
    html = env.get_template("search.html").render(
        root="../", csp=CSP, site_name="bench", page_id="search", page_title="检索", description="",
        nav=[], scripts=[], search_scripts=assets["scripts"], search_assets=assets, has_search=True)
    (out / "search" / "index.html").write_text(html, encoding="utf-8")


@pytest.fixture(scope="module")
def large_site(tmp_path_factory):
    n = int(os.environ.get("KB_BENCH_PASSAGES", "5000"))
    passages, docs, vocab = synthetic_corpus(n)
    out = tmp_path_factory.mktemp("large")
    t0 = time.perf_counter()
    assets = si.write_static_index(out, passages, docs, vocab)
    seconds = time.perf_counter() - t0
    render_search_page(out, assets)
    return out, assets, n, seconds, (passages, docs, vocab)


def test_large_corpus_payload(browser, large_site):
    out, assets, n, seconds, _data = large_site
    with serve(out) as base:
        rows = measure(browser, base, PAYLOAD_QUERIES)
        warm = measure_warm(browser, base, PAYLOAD_QUERIES)
        # browsing a city without a query
        context = browser.new_context()
        page = context.new_page()
        sizes = []
        page.on("response", lambda r: sizes.append(len(r.body()) if r.ok else 0))
        got = open_search(page, base, "city=wuhan")
        browse = {"q": "(city=wuhan)", "results": got["status"], "total_bytes": sum(sizes)}
        context.close()
    files = [p for p in (out / "search").rglob("*") if p.is_file()]
    _report(f"synthetic-{n}", rows, {"passages": n, "write_seconds": round(seconds, 1),
                                     "stats": assets["stats"], "search_files": len(files),
                                     "search_bytes": sum(p.stat().st_size for p in files),
                                     "browse": browse, "warm_queries": warm,
                                     "median_warm_bytes": statistics.median(r["bytes"] for r in warm)})
    assert all(r["total_bytes"] < BUDGET for r in rows), rows
    assert all("条结果" in r["results"] or "没有找到" in r["results"] for r in rows), rows
