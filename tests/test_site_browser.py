"""The static site in Debian's Chromium: accessibility (axe-core), hostile input, the compare
page, small screens, keyboard use, no off-origin requests, file:// opening.

Runs on two sites: a synthetic render (tests/test_render.py's data, always available) and
the real corpus built by ``kb.pipeline.build`` (fixtures ``built_site`` / ``site_url``)."""

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
             "about": "about.html", "downloads": "downloads.html", "documents": "documents.html"}
    return pages


@pytest.fixture(params=["synthetic", "built"])
def any_site(request):
    """(out_dir, base_url, pages) for the synthetic and the real site."""
    if request.param == "synthetic":
        out, url = request.getfixturevalue("synthetic_site"), request.getfixturevalue("synthetic_url")
    else:
        out, url = _built(request)
    return out, url, _site_pages(out)


def _axe(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return results.response["violations"]


def _describe(violations):
    return "\n".join(f"{v['impact']}: {v['id']} — {v['help']} ({len(v['nodes'])} nodes: "
                     f"{[n['target'] for n in v['nodes'][:3]]})" for v in violations)


# --------------------------------------------------------------------------- accessibility

@pytest.mark.parametrize("which", ["home", "city", "compare", "document", "instrument", "about",
                                   "downloads"])
def test_axe_no_serious_violations(any_site, page, which):
    out, url, pages = any_site
    page.goto(url + pages[which])
    violations = _axe(page)
    bad = [v for v in violations if v["impact"] in SERIOUS]
    assert not bad, _describe(bad)


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


def test_compare_selection_from_and_to_url(synthetic_url, page):
    page.goto(synthetic_url + "compare.html?cities=wuhan,suzhou")
    visible = _visible_cities(page)
    assert {k for k, v in visible.items() if v} == {"wuhan", "suzhou"}
    assert {"hefei", "luoyang", "hangzhou"} <= set(visible)
    assert page.locator('input[value="wuhan"]').is_checked()
    assert page.locator('input[value="suzhou"]').is_checked()
    assert not page.locator('input[value="hefei"]').is_checked()
    assert "2" in page.locator("#compare-status").inner_text()

    page.locator('input[value="hefei"]').check()
    assert set(_url_cities(page)) == {"wuhan", "suzhou", "hefei"}
    assert _visible_cities(page)["hefei"]
    page.locator('input[value="wuhan"]').uncheck()
    assert set(_url_cities(page)) == {"suzhou", "hefei"}
    assert not _visible_cities(page)["wuhan"]

    # Reloading the shared URL restores the selection.
    page.goto(page.url)
    assert {k for k, v in _visible_cities(page).items() if v} == {"suzhou", "hefei"}


def test_compare_limits_to_four(synthetic_url, page):
    page.goto(synthetic_url + "compare.html?cities=wuhan,suzhou,hefei,luoyang,hangzhou")
    assert len(_url_cities(page)) <= 5  # the URL as typed
    checked = page.locator('input[name="cities"]:checked')
    assert checked.count() == 4
    assert page.locator('input[value="hangzhou"]').is_disabled()
    page.locator('input[value="luoyang"]').uncheck()
    assert page.locator('input[value="hangzhou"]').is_enabled()


def test_compare_default_and_unknown_slugs(synthetic_url, page):
    page.goto(synthetic_url + "compare.html?cities=nowhere")
    shown = {k for k, v in _visible_cities(page).items() if v}
    assert len(shown) == 3 and "wuhan" in shown


def test_compare_figure_date_warning_follows_selection(synthetic_url, page):
    section = '[aria-labelledby="fig-fund-size-actual"]'
    page.goto(synthetic_url + "compare.html?cities=wuhan,suzhou")
    assert page.locator(f'{section} tr[data-city="suzhou"] [data-warn]').is_visible()
    assert not page.locator(f'{section} tr[data-city="wuhan"] [data-warn]').is_visible()
    assert not page.locator(f'{section} tr[data-city="hefei"]').is_visible()
    assert page.locator(f"{section} [data-warn-note]").is_visible()
    assert page.locator(f"{section} svg").count() == 1
    page.goto(synthetic_url + "compare.html?cities=wuhan,luoyang")
    # fund-size: only Wuhan has it -> no warning
    assert not page.locator(f"{section} [data-warn-note]").is_visible()
    page.goto(synthetic_url + "compare.html?cities=hangzhou,luoyang")
    assert not page.locator(section).is_visible()  # neither city has the metric


# --------------------------------------------------------------------------- layout and keyboard

def test_no_horizontal_overflow_at_375px(any_site, browser):
    out, url, pages = any_site
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    try:
        for name, path in sorted(pages.items()):
            page.goto(url + path)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 375, f"{name} ({path}) is {width}px wide at 375px"
    finally:
        context.close()


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


def test_copy_citation_button(synthetic_url, browser):
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=synthetic_url.split("/kb/")[0])
    page = context.new_page()
    try:
        page.goto(synthetic_url + "doc/002_luoyang_report.html")
        button = page.get_by_role("button", name="复制引文")
        assert button.is_visible()
        button.click()
        page.wait_for_function("() => document.querySelector('[data-copy-status]').textContent !== ''")
        assert "已复制" in page.locator("[data-copy-status]").inner_text()
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied == "洛阳市委政策研究室. 关于发展科技金融的调研报告[R]. 2024."
    finally:
        context.close()


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
        # compare.js runs under file:// too.
        assert page.locator("#compare-status").inner_text() != ""
        assert errors == []
    finally:
        context.close()


# --------------------------------------------------------------------------- screenshots

def test_screenshots(any_site, browser, request):
    """Home and a city page at desktop and phone width (look at them: /tmp/kb-*.png)."""
    out, url, pages = any_site
    tag = request.node.callspec.params["any_site"]
    for width, suffix in ((1280, "desktop"), (375, "phone")):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            for name in ("home", "city", "compare"):
                page.goto(url + pages[name])
                path = SCREENSHOT_DIR / f"kb-{tag}-{name}-{suffix}.png"
                page.screenshot(path=str(path), full_page=True)
                assert path.stat().st_size > 5000
        finally:
            context.close()
