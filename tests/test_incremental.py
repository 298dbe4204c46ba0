"""Incremental output: pages and export segments reused from the previous output (kb.reuse)
must give the bytes a cold build gives, and must never touch the previous output."""

import copy
import json
import os
import shutil
from pathlib import Path

import pytest

from kb import export, pipeline, publish, render, reuse
from tests.conftest import CORPUS
from tests.test_render import stub_templates, synthetic, write_data_files


def snapshot(root, skip=()):
    """{relative path: bytes} of every file under ``root`` (outside ``skip``)."""
    root = Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] not in skip}


def assert_same_tree(a, b, skip=()):
    sa, sb = snapshot(a, skip), snapshot(b, skip)
    assert sorted(sa) == sorted(sb)
    assert [name for name in sa if sa[name] != sb[name]] == []


# ------------------------------------------------------------------ render


def _render(out, data, templates, previous=None, base_url=None, stats=None, doc_keys=None):
    documents, passages, figures, vocab = data
    write_data_files(out)
    return render.render_site(out, documents, passages, figures, vocab, {"scripts": ["static/js/compare.js"]},
                              templates_dir=templates, base_url=base_url, previous=previous, stats=stats,
                              doc_keys=doc_keys)


def _content_keys(data):
    """document id -> a hash of its passages and figures (what the pipeline's analysis key fixes)."""
    documents, passages, figures, _ = data
    return {d["id"]: reuse.digest([p for p in passages if p["doc"] == d["id"]],
                                  [f for f in figures if f.get("doc") == d["id"]])
            for d in documents}


def _edit_passage(data, templates):
    passages = data[1]
    p = next(p for p in passages if p["doc"] == "003_news")
    p["text"] += "另设科技保险补偿。"


def _template(name, extra):
    def change(data, templates):
        path = templates / name
        path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return change


def _instrument_label(data, templates):
    vocab = data[3]
    inst = next(i for i in vocab.instruments if i["slug"] == "ip-pledge")
    inst["label"] = inst["label"] + "（改）"


def _new_city(data, templates):
    passages = data[1]
    p = next(p for p in passages if p["doc"] == "003_news" and "深圳" in p["cities"])
    p["cities"] = ["深圳", "南京"]


def _remove_document(data, templates):
    documents, passages, figures, _ = data
    documents[:] = [d for d in documents if d["id"] != "004_commentary"]
    passages[:] = [p for p in passages if p["doc"] != "004_commentary"]
    figures[:] = [f for f in figures if f.get("doc") != "004_commentary"]


def _site_text(data, templates):
    path = templates / "pages" / "about.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n\n补充一段说明。\n", encoding="utf-8")


CHANGES = {
    "nothing": lambda data, templates: None,
    "one passage edited": _edit_passage,
    "document template": _template("document.html", "{# changed #}\n<!-- v2 -->\n"),
    "shared macro template": _template("_macros.html", "\n{# v2 #}\n"),
    "base template": _template("base.html", "<!-- v2 -->\n"),
    "markdown page": _site_text,
    "instrument label (vocabulary)": _instrument_label,
    "a city gains its first passage": _new_city,
    "a document removed": _remove_document,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_render_with_previous_output_equals_a_cold_render(tmp_path, change):
    templates = stub_templates(tmp_path)
    data = synthetic()
    prev = tmp_path / "prev"
    _render(prev, data, templates)
    before = snapshot(prev)

    data = copy.deepcopy(data)
    CHANGES[change](data, templates)
    inc, cold = tmp_path / "inc", tmp_path / "cold"
    stats = {}
    _render(inc, data, templates, previous=prev, stats=stats)
    _render(cold, data, templates)

    assert_same_tree(inc, cold)
    assert snapshot(prev) == before  # the previous output is only read
    assert (stats["reused"] == 0) == (change in ("base template", "instrument label (vocabulary)"))
    pages = {p.relative_to(inc).as_posix() for p in inc.rglob("*.html")}
    linked = {rel for rel in pages if (prev / rel).exists()
              and os.path.samefile(prev / rel, inc / rel)}
    if change == "nothing":
        assert linked == pages
    if change in ("document template", "base template", "shared macro template",
                  "instrument label (vocabulary)"):
        assert not any(rel.startswith("doc/") for rel in linked)
    if change == "document template":
        assert linked == {rel for rel in pages if not rel.startswith("doc/")}
    if change == "shared macro template":  # imported by the city, document and instrument pages
        assert linked == {rel for rel in pages if not rel.startswith(("city/", "doc/", "instrument/"))}
    if change == "one passage edited":
        assert "doc/003_news.html" not in linked and "doc/001_wuhan_policy.html" in linked
        assert "city/suzhou.html" not in linked  # shows that passage
    if change == "markdown page":
        assert "about.html" not in linked


@pytest.mark.parametrize("change", list(CHANGES))
def test_render_keyed_by_document_keys_equals_a_cold_render(tmp_path, change):
    """With the documents' content keys (as the pipeline passes them), city pages and compare
    data files are keyed by the documents they show: same bytes as a cold render, and the
    pages and data files of cities none of whose documents changed are linked."""
    templates = stub_templates(tmp_path)
    data = synthetic()
    prev = tmp_path / "prev"
    _render(prev, data, templates, doc_keys=_content_keys(data))
    before = snapshot(prev)
    data = copy.deepcopy(data)
    CHANGES[change](data, templates)
    inc, cold = tmp_path / "inc", tmp_path / "cold"
    _render(inc, data, templates, previous=prev, doc_keys=_content_keys(data))
    _render(cold, data, templates, doc_keys=_content_keys(data))
    assert_same_tree(inc, cold)
    assert snapshot(prev) == before
    linked = {p.relative_to(inc).as_posix() for p in inc.rglob("*")
              if p.is_file() and (prev / p.relative_to(inc)).exists()
              and os.path.samefile(prev / p.relative_to(inc), p)}
    cities = {p.relative_to(inc).as_posix() for p in inc.glob("city/*.html")}
    compare = {p.relative_to(inc).as_posix() for p in inc.glob("compare/*.js")}
    if change in ("nothing", "document template", "markdown page"):
        assert cities | compare <= linked
    if change == "one passage edited":  # 003_news names 深圳 and 苏州, not 武汉
        assert {"city/wuhan.html", "compare/wuhan.js"} <= linked
        assert not {"city/suzhou.html", "compare/suzhou.js"} & linked


def test_changed_base_url_renders_again(tmp_path):
    templates = stub_templates(tmp_path)
    data = synthetic()
    prev, inc, cold = tmp_path / "prev", tmp_path / "inc", tmp_path / "cold"
    _render(prev, data, templates)
    stats = {}
    _render(inc, data, templates, previous=prev, base_url="https://kb.example.cn/x/", stats=stats)
    _render(cold, data, templates, base_url="https://kb.example.cn/x/")
    assert_same_tree(inc, cold)
    assert stats["reused"] == 0


def test_a_page_changed_behind_the_builds_back_is_rendered_again(tmp_path):
    templates = stub_templates(tmp_path)
    data = synthetic()
    prev, inc, cold = tmp_path / "prev", tmp_path / "inc", tmp_path / "cold"
    _render(prev, data, templates)
    page = prev / "doc" / "003_news.html"
    page.write_text(page.read_text(encoding="utf-8")[:-50], encoding="utf-8")  # truncated
    (prev / "doc" / "002_luoyang_report.html").unlink()
    _render(inc, data, templates, previous=prev)
    _render(cold, data, templates)
    assert_same_tree(inc, cold)


def test_a_corrupt_manifest_only_costs_reuse(tmp_path):
    templates = stub_templates(tmp_path)
    data = synthetic()
    prev, inc, cold = tmp_path / "prev", tmp_path / "inc", tmp_path / "cold"
    _render(prev, data, templates)
    (prev / ".kb" / "render.json").write_text("{not json", encoding="utf-8")
    stats = {}
    _render(inc, data, templates, previous=prev, stats=stats)
    _render(cold, data, templates)
    assert_same_tree(inc, cold)
    assert stats["reused"] == 0


# ------------------------------------------------------------------ export


def test_export_segments_are_the_plain_serialisation(tmp_path):
    documents, passages, figures, vocab = synthetic()
    export.write_exports(tmp_path / "data", documents, passages, figures, vocab, "报告\n")
    data = tmp_path / "data"
    rows = [{k: f.get(k) for k in export.FIGURE_FIELDS} for f in figures]
    assert (data / "figures.json").read_text(encoding="utf-8") == \
        json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    joined = [dict(export.passage_record(p), section=" › ".join(p["section"])) for p in passages]
    assert (data / "passages.csv").read_bytes().decode("utf-8") == \
        "\ufeff" + export.csv_text(joined, export.PASSAGE_FIELDS)
    assert (data / "figures.csv").read_bytes().decode("utf-8") == \
        "\ufeff" + export.csv_text(figures, export.FIGURE_FIELDS)
    assert (data / "passages.jsonl").read_text(encoding="utf-8") == "".join(
        json.dumps(export.passage_record(p), ensure_ascii=False, separators=(",", ":")) + "\n"
        for p in passages)
    empty = tmp_path / "empty" / "data"
    export.write_exports(empty, [], [], [], vocab, "")
    assert (empty / "figures.json").read_text(encoding="utf-8") == "[]\n"
    assert (empty / "passages.jsonl").read_text(encoding="utf-8") == ""


def _by_doc(rows):
    out = {}
    for r in rows:
        out.setdefault(r["doc"], []).append(r)
    return out


def test_export_reuses_unchanged_documents_segments(tmp_path):
    documents, passages, figures, vocab = synthetic()
    figures.sort(key=lambda f: f["doc"])  # as the pipeline gives them: one run per document
    keys = {d["id"]: f"key-{d['id']}" for d in documents}
    prev = tmp_path / "prev"
    export.write_exports(prev / "data", documents, passages, figures, vocab, "r\n", doc_keys=keys)
    before = snapshot(prev)
    # document 003 changes (new key), 004 goes, the others are unchanged
    passages = copy.deepcopy(passages)
    for p in passages:
        if p["doc"] == "003_news":
            p["text"] += "新增内容。"
    keys = dict(keys, **{"003_news": "key-003-v2"})
    del keys["004_commentary"]
    documents = [d for d in documents if d["id"] != "004_commentary"]
    passages = [p for p in passages if p["doc"] != "004_commentary"]
    figures = [f for f in figures if f["doc"] != "004_commentary"]
    inc, cold = tmp_path / "inc", tmp_path / "cold"
    stats = {}
    export.write_exports(inc / "data", documents, passages, figures, vocab, "r\n", previous=prev,
                         doc_keys=keys, stats=stats)
    export.write_exports(cold / "data", documents, passages, figures, vocab, "r\n", doc_keys=keys)
    assert_same_tree(inc, cold)
    assert snapshot(prev) == before
    assert stats["segments_reused"] > 0 and stats["segments_made"] >= 2  # 003 in jsonl and csv
    # the same inputs again: every file is linked, nothing is serialised
    again, stats = tmp_path / "again", {}
    export.write_exports(again / "data", documents, passages, figures, vocab, "r\n", previous=inc,
                         doc_keys=keys, stats=stats)
    assert_same_tree(again, cold)
    assert stats == {"files_reused": 4, "segments_reused": 0, "segments_made": 0}
    assert os.path.samefile(again / "data" / "passages.jsonl", inc / "data" / "passages.jsonl")


def test_export_without_whole_document_runs_reuses_nothing(tmp_path):
    """Rows of one document in two places: the runs are not whole documents, so no key."""
    documents, passages, figures, vocab = synthetic()
    keys = {d["id"]: f"key-{d['id']}" for d in documents}
    prev, inc, cold = tmp_path / "prev", tmp_path / "inc", tmp_path / "cold"
    export.write_exports(prev / "data", documents, passages, figures, vocab, "", doc_keys=keys)
    shuffled = passages[1:] + passages[:1]
    stats = {}
    export.write_exports(inc / "data", documents, shuffled, figures, vocab, "", previous=prev,
                         doc_keys=keys, stats=stats)
    export.write_exports(cold / "data", documents, shuffled, figures, vocab, "")
    assert (inc / "data" / "passages.jsonl").read_bytes() == (cold / "data" / "passages.jsonl").read_bytes()
    assert (inc / "data" / "passages.csv").read_bytes() == (cold / "data" / "passages.csv").read_bytes()


# ------------------------------------------------------------------ the whole build


def _edit(corpus, name, extra):
    path = next(corpus.glob(f"{name}_*.txt"))
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")


def test_changing_and_removing_documents_matches_a_cold_build(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    out, cache = tmp_path / "out", tmp_path / "cache"
    pipeline.build(corpus, out, cache_dir=cache, progress=False)

    # nothing changed: the output is kept as it is, no stage runs
    before = snapshot(out)
    result = pipeline.build(corpus, out, cache_dir=cache, progress=False)
    assert [row["stage"] for row in result["stages"]] == ["read", "unchanged"]
    assert snapshot(out) == before and result["passages"] > 100
    # without the build's stamp, every page and export file comes from the previous output
    shutil.rmtree(cache / "output-stamps")
    result = pipeline.build(corpus, out, cache_dir=cache, progress=False)
    stages = {row["stage"]: row for row in result["stages"]}
    assert stages["export"]["files_reused"] == 4
    made = [*out.rglob("*.html"), *out.glob("compare/*.js")]  # every page and compare data file
    assert stages["render"]["reused"] == len(made) > 50 and stages["render"]["rendered"] == 0

    _edit(corpus, "001", "\n\n三、补充\n\n武汉市设立科技金融风险补偿资金池，规模20亿元，支持知识产权质押融资。\n")
    result = pipeline.build(corpus, out, cache_dir=cache, progress=False)
    stages = {row["stage"]: row for row in result["stages"]}
    assert stages["render"]["reused"] > 0 and stages["export"]["segments_reused"] > 0
    full = tmp_path / "full"
    pipeline.build(corpus, full, cache_dir=tmp_path / "cache-full", progress=False)
    assert_same_tree(out, full, skip=("index",))

    removed = next(corpus.glob("003_*.txt"))
    removed.unlink()
    removed.with_suffix(".yaml").unlink()
    pipeline.build(corpus, out, cache_dir=cache, progress=False)
    full2 = tmp_path / "full2"
    pipeline.build(corpus, full2, cache_dir=tmp_path / "cache-full2", progress=False)
    assert_same_tree(out, full2, skip=("index",))


def _stages(result):
    return [row["stage"] for row in result["stages"]]


def test_a_rebuild_with_nothing_changed_keeps_the_output_as_it_is(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = pipeline.build(corpus, out, cache_dir=cache, progress=False)
    before = snapshot(out)
    page = out / "about.html"
    inode = page.stat().st_ino
    again = pipeline.build(corpus, out, cache_dir=cache, progress=False)
    assert _stages(again) == ["read", "unchanged"]
    assert page.stat().st_ino == inode and snapshot(out) == before
    assert {k: again[k] for k in ("documents", "passages", "figures", "figure_coverage", "search")} == \
        {k: first[k] for k in ("documents", "passages", "figures", "figure_coverage", "search")}

    # a file of the output edited by hand (in place, same size), added or removed: the build
    # runs, and its output is a cold build's
    size = page.stat().st_size
    with open(page, "r+b") as fh:
        fh.write(b"X")
    assert page.stat().st_size == size
    assert "render" in _stages(pipeline.build(corpus, out, cache_dir=cache, progress=False))
    assert snapshot(out) == before
    (out / "stray.html").write_text("x", encoding="utf-8")
    assert "render" in _stages(pipeline.build(corpus, out, cache_dir=cache, progress=False))
    assert not (out / "stray.html").exists()
    (out / "data" / "documents.json").unlink()
    assert "render" in _stages(pipeline.build(corpus, out, cache_dir=cache, progress=False))
    assert _stages(pipeline.build(corpus, out, cache_dir=cache, progress=False)) == ["read", "unchanged"]
    cold = tmp_path / "cold"
    pipeline.build(corpus, cold, cache_dir=tmp_path / "cache-cold", progress=False)
    assert_same_tree(out, cold, skip=("index",))

    # another option, another document: built again
    assert "render" in _stages(pipeline.build(corpus, out, cache_dir=cache, progress=False,
                                              base_url="https://example.org/x/"))
    _edit(corpus, "002", "\n\n补充：苏州市推出科技保险共保体。\n")
    assert "render" in _stages(pipeline.build(corpus, out, cache_dir=cache, progress=False,
                                              base_url="https://example.org/x/"))


def test_a_code_change_rebuilds_an_unchanged_corpus(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    out, cache = tmp_path / "out", tmp_path / "cache"
    pipeline.build(corpus, out, cache_dir=cache, progress=False)
    monkeypatch.setattr(publish, "code_digest", lambda: "another version")
    assert "render" in _stages(pipeline.build(corpus, out, cache_dir=cache, progress=False))
    assert _stages(pipeline.build(corpus, out, cache_dir=cache, progress=False)) == ["read", "unchanged"]


def test_the_code_digest_covers_code_templates_and_data(tmp_path, monkeypatch):
    from importlib import metadata

    before = publish.code_digest()
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "0" if name == "Jinja2" else real(name))
    assert publish.code_digest() != before
    monkeypatch.undo()
    assert publish.code_digest() == before
    root = Path(pipeline.__file__).resolve().parent
    for path in (root / "render" / "pages.py", root / "data" / "site.yaml", root.parent / "site_templates" / "base.html"):
        assert path.is_file()
        real_read = Path.read_bytes
        monkeypatch.setattr(Path, "read_bytes",
                            lambda self, p=path: real_read(self) + (b"#" if self == p else b""))
        assert publish.code_digest() != before, path
        monkeypatch.undo()


def test_a_failed_incremental_build_leaves_the_previous_output_byte_identical(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    out, cache = tmp_path / "out", tmp_path / "cache"
    pipeline.build(corpus, out, cache_dir=cache, progress=False)
    before = snapshot(out)
    _edit(corpus, "002", "\n\n补充：苏州市推出科技保险共保体。\n")

    real = render.render_site

    def fail(*args, **kwargs):  # every stage has run, linking from out/ into the staging folder
        real(*args, **kwargs)
        raise RuntimeError("render failed")

    monkeypatch.setattr(render, "render_site", fail)
    with pytest.raises(RuntimeError):
        pipeline.build(corpus, out, cache_dir=cache, progress=False)
    assert snapshot(out) == before
    assert not list(tmp_path.glob(".out.building-*"))


def test_an_index_update_in_staging_leaves_the_previous_index_as_it_was(tmp_path):
    # the previous output's segment files are hard-linked into staging, not copied: an
    # update there (a document replaced) must not change a byte of the previous index
    import hashlib

    from kb import index as kbindex
    from kb.search.whoosh_source import Searcher
    from tests.test_search import PASSAGES, TYPES, P

    def digests(folder):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    previous = kbindex.build_index(PASSAGES, tmp_path / "out" / "index", doc_types=TYPES)
    before = digests(previous)
    staging = tmp_path / "staging" / "index"
    pipeline._stage_index(previous, staging)
    linked = [p for p in staging.iterdir() if p.stat().st_nlink > 1]
    assert linked and all(p.suffix in pipeline._SEGMENT_FILES for p in linked)
    kbindex.update_index(staging, {"d2": [P("d2-z", "新增科技保险补偿条款。", doc="d2", instruments=("insurance",))]},
                         doc_types=TYPES)
    assert digests(previous) == before
    with Searcher(previous) as s:
        assert "d2-b" in [h["id"] for h in s.search("风险补偿", limit=0)]
    with Searcher(staging) as s:
        assert "d2-b" not in [h["id"] for h in s.search("风险补偿", limit=0)]
        assert [h["id"] for h in s.search("科技保险补偿", limit=0)][0] == "d2-z"
