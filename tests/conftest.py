"""Shared fixtures: the real corpus, a built site, and Debian's Chromium through Playwright."""

from pathlib import Path

import pytest

from kb import localweb
from kb.localweb import serve

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The real corpus built once into a temporary output directory (site + data)."""
    from kb import pipeline

    out = tmp_path_factory.mktemp("site") / "output"
    cache = tmp_path_factory.mktemp("cache")
    pipeline.build(CORPUS, out, cache_dir=cache, progress=False)
    return out


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium (Playwright's own browser download does not work here)."""
    missing = localweb.chromium_missing()
    if missing:
        pytest.fail(missing)
    with localweb.chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def site_url(built_site):
    """The built site served over HTTP from a sub-path (relative links only)."""
    with serve(built_site, prefix="kb/site") as url:
        yield url


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()
