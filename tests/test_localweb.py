"""kb.localweb: the local HTTP server and the Chromium launcher shared by tests and benchmarks."""

import urllib.error
import urllib.request

import pytest

from kb import localweb


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode("utf-8")


def test_serve_root_and_sub_path(tmp_path):
    site = tmp_path / "output"
    (site / "search").mkdir(parents=True)
    (site / "search" / "index.html").write_text("<p>检索</p>", encoding="utf-8")
    with localweb.serve(site) as base:
        assert base.startswith("http://127.0.0.1:")
        assert fetch(base + "search/index.html") == "<p>检索</p>"
    with localweb.serve(site, prefix="kb/site") as base:
        assert base.endswith("/kb/site/")
        assert fetch(base + "search/index.html") == "<p>检索</p>"
        with pytest.raises(urllib.error.HTTPError):
            fetch(base.replace("/kb/site/", "/") + "search/index.html")
    # the helper directory is gone, the served directory is intact
    assert not (tmp_path / ".serve-output").exists()
    assert (site / "search" / "index.html").read_text(encoding="utf-8") == "<p>检索</p>"


def test_missing_chromium_is_explained(monkeypatch, tmp_path):
    monkeypatch.setattr(localweb, "CHROMIUM", str(tmp_path / "no-chromium"))
    assert "no-chromium" in localweb.chromium_missing()
    with pytest.raises(FileNotFoundError, match="KB_CHROMIUM"):
        with localweb.chromium():
            pass


def test_chromium_opens_a_served_page(tmp_path, browser):
    (tmp_path / "index.html").write_text("<meta charset=\"utf-8\"><title>知识库</title>", encoding="utf-8")
    with localweb.serve(tmp_path) as base:
        page = browser.new_page()
        page.goto(base + "index.html")
        assert page.title() == "知识库"
        page.close()
