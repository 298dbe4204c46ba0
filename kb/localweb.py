"""The built site on this machine: a local HTTP server and headless Chromium.

One definition of how the tests (tests/conftest.py) and the benchmarks (benchmarks/run.py,
benchmarks/pagefind_compare.py, benchmarks/relevance.py) serve a built output directory and
start the browser, so that benchmarks never import tests/.

* ``serve(directory, prefix="")`` — a quiet ``http.server`` on 127.0.0.1 at an ephemeral port,
  as a context manager yielding the base URL; with ``prefix`` the directory is served under a
  sub-path (proves the site uses relative links only).
* ``chromium()`` — Debian's Chromium (``KB_CHROMIUM``, default /usr/bin/chromium) driven by
  Playwright, headless, as a context manager yielding the browser. Playwright's own browser
  download is not used. Playwright is a test/benchmark dependency, imported only here.
"""

import contextlib
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

CHROMIUM = os.environ.get("KB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory, prefix=""):
    """Serve ``directory`` on 127.0.0.1 at an ephemeral port; yields the base URL.

    With ``prefix`` (e.g. "sub/path"), the directory is served under that sub-path
    (through a symlink in a sibling ``.serve-<name>`` directory, removed afterwards)."""
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
        if prefix:
            target.unlink()  # the symlink first: the served directory itself is never touched
            shutil.rmtree(root, ignore_errors=True)


def chromium_missing():
    """A one-line explanation when the Chromium binary is absent, else None."""
    if Path(CHROMIUM).exists():
        return None
    return (f"Chromium not found at {CHROMIUM}: run `make chromium` (Debian's chromium package) "
            "or set KB_CHROMIUM")


@contextlib.contextmanager
def chromium():
    """Headless Debian Chromium through Playwright; yields the browser, closes it on exit."""
    missing = chromium_missing()
    if missing:
        raise FileNotFoundError(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
