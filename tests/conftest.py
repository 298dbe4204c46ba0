"""Shared fixtures: the real corpus, a built site, and Debian's Chromium through Playwright."""

import contextlib
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
CHROMIUM = os.environ.get("KB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


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
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (it installs it) "
                    "or set KB_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory, prefix=""):
    """Serve ``directory`` on 127.0.0.1 at an ephemeral port; yields the base URL.

    With ``prefix`` (e.g. "sub/path"), the directory is served under that sub-path,
    to prove the site uses only relative links."""
    directory = Path(directory)
    root = directory
    if prefix:
        root = directory.parent / f".serve-{directory.name}"
        if root.exists():
            shutil.rmtree(root)
        target = root / prefix
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(directory.resolve(), target_is_directory=True)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        yield base + (prefix.strip("/") + "/" if prefix else "")
    finally:
        server.shutdown()
        server.server_close()


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
