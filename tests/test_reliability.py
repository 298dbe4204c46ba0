"""Reliability through the command line: concurrent builds, the corpus boundary, inputs
bad in new ways, hostile arguments. Every case ends in a complete output, or in one line
``错误: …``, a non-zero exit and the previous output intact — never a traceback."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import filelock
import pytest

from kb import pipeline, publish
from tests.conftest import CORPUS, ROOT
from tests.test_pipeline import run_cli, tree

DOC = "002_8e8fbbf27cdab432"


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """A built output and a warm analysis cache of the real corpus."""
    base = tmp_path_factory.mktemp("warm")
    pipeline.build(CORPUS, base / "out", cache_dir=base / "cache", progress=False)
    return base


@pytest.fixture
def work(warm, tmp_path):
    """A copy of the corpus and of the built output, to break and rebuild."""
    shutil.copytree(CORPUS, tmp_path / "corpus")
    shutil.copytree(warm / "out", tmp_path / "out")
    return tmp_path


def snapshot(out):
    return {p: (Path(out) / p).read_bytes() for p in tree(out, skip=())}


def build(work, *extra, cache=None):
    return run_cli("--corpus", work / "corpus", "--out", work / "out",
                   "--cache", cache or work / "cache", "--no-progress", *extra)


def assert_refused(proc, *needles):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def refused_build(work, *needles, warm=None):
    before = snapshot(work / "out")
    line = assert_refused(build(work, cache=warm and warm / "cache"), *needles)
    assert snapshot(work / "out") == before, "a refused build leaves output/ as it was"
    assert not list(work.glob(".out.building*")), "no staging folder left behind"
    return line


# ------------------------------------------------------------------ one build at a time


def test_two_builds_at_once_both_complete_one_after_the_other(work):
    shutil.rmtree(work / "out")
    cmd = [sys.executable, str(ROOT / "build.py"), "--corpus", str(work / "corpus"),
           "--out", str(work / "out"), "--no-progress"]
    procs = [subprocess.Popen(cmd + ["--cache", str(work / f"cache{k}")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT) for k in (1, 2)]
    results = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0], results
    waited = [err for _, _, err in results if "另一个构建正在写入" in err]
    assert len(waited) == 1, "the second build said it waits for the first"
    assert all("Traceback" not in err for _, _, err in results)
    fresh = work / "fresh"
    pipeline.build(work / "corpus", fresh, cache_dir=work / "cache3", progress=False)
    assert tree(work / "out", skip=()) == tree(fresh, skip=())  # 383 files: city/, data/, index/ …
    assert not list(work.glob(".out.building*")) and not (work / ".out.old").exists()
    deadline = time.monotonic() + 60  # the second build's previous output: removed by a process of its own
    while list(work.glob(".out.retired-*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list(work.glob(".out.retired-*"))


def test_second_build_refuses_after_waiting(work):
    before = snapshot(work / "out")
    with filelock.FileLock(work / ".out.lock"):
        proc = build(work, "--wait", "0")
        assert_refused(proc, str(work / "out"), "another build is running")
        started = time.monotonic()
        proc = build(work, "--wait", "1")
        assert time.monotonic() - started >= 1
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "等待" in lines[0] and lines[-1].startswith("错误: ") and len(lines) == 2
    assert snapshot(work / "out") == before


def test_swap_is_one_exchange_and_a_killed_builds_staging_is_cleared(work, monkeypatch):
    stale = work / ".out.building-killed"
    (stale / "index").mkdir(parents=True)
    renamed = []
    original = Path.rename
    monkeypatch.setattr(Path, "rename", lambda self, target: renamed.append(self) or original(self, target))
    pipeline.build(work / "corpus", work / "out", cache_dir=work / "cache", progress=False)
    assert work / "out" not in renamed, "output/ is replaced by one atomic exchange, never renamed away"
    assert [p.name.split("-")[0] for p in renamed] == [".out.building"]  # the previous output, retired
    publish.wait_for_removals(60)
    assert not stale.exists() and not list(work.glob(".out.retired-*"))
    assert (work / "out" / "index").is_dir() and (work / "out" / "data" / "passages.jsonl").exists()


def test_the_previous_output_is_removed_by_a_process_of_its_own(work, monkeypatch):
    started = []
    real = publish.subprocess.Popen
    monkeypatch.setattr(publish.subprocess, "Popen", lambda cmd, **kw: started.append(cmd) or real(cmd, **kw))
    left = work / ".out.retired-interrupted"  # an interrupted removal: the next build finishes it
    (left / "doc").mkdir(parents=True)
    with next((work / "corpus").glob("*.txt")).open("a", encoding="utf-8") as fh:
        fh.write("\n\n补充：苏州市推出科技保险共保体。\n")
    pipeline.build(work / "corpus", work / "out", cache_dir=work / "cache", progress=False)
    assert len(started) == 2 and str(left) in started[0]
    retired = [Path(p) for p in started[1][4:]]
    assert [p.name.startswith(".out.retired-") for p in retired] == [True]
    publish.wait_for_removals(60)
    assert not left.exists() and not retired[0].exists()
    assert not list(work.glob(".out.retired-*")) and not list(work.glob(".out.building*"))
    assert (work / "out" / "index").is_dir() and (work / "out" / "data" / "passages.jsonl").exists()


def test_without_a_removal_process_the_previous_output_is_removed_in_the_build(work, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no processes")

    monkeypatch.setattr(publish.subprocess, "Popen", refuse)
    (work / "out" / "stale.txt").write_text("from an older build", encoding="utf-8")
    pipeline.build(work / "corpus", work / "out", cache_dir=work / "cache", progress=False)
    assert not (work / "out" / "stale.txt").exists()
    assert not list(work.glob(".out.retired-*")) and not list(work.glob(".out.building*"))


def test_swap_falls_back_to_two_renames_where_exchange_is_refused(work, monkeypatch):
    monkeypatch.setattr(publish, "_exchange", lambda a, b: False)
    (work / "out" / "stale.txt").write_text("from an older build", encoding="utf-8")
    pipeline.build(work / "corpus", work / "out", cache_dir=work / "cache", progress=False)
    assert not (work / "out" / "stale.txt").exists() and (work / "out" / "index").is_dir()
    publish.wait_for_removals(60)
    assert not (work / ".out.old").exists() and not list(work.glob(".out.building*"))
    assert not list(work.glob(".out.retired-*"))


# ------------------------------------------------------------------ the corpus boundary


def test_link_leading_out_of_the_corpus_is_refused(work, warm):
    secret = work / "elsewhere.txt"
    secret.write_text("我市设立秘密测试资金，这段文字不属于语料。\n", encoding="utf-8")
    (work / "corpus" / "zz_link.txt").symlink_to(secret)
    shutil.copy(work / "corpus" / f"{DOC}.yaml", work / "corpus" / "zz_link.yaml")
    refused_build(work, "zz_link.txt", "link leads outside the corpus", warm=warm)


def test_link_inside_the_corpus_is_read(work, warm):
    (work / "corpus" / "sub").mkdir()
    shutil.move(work / "corpus" / f"{DOC}.txt", work / "corpus" / "sub" / "kept.txt")
    (work / "corpus" / f"{DOC}.txt").symlink_to(Path("sub") / "kept.txt")
    proc = build(work, cache=warm / "cache")
    assert proc.returncode == 0, proc.stderr
    assert "已忽略" in proc.stderr and "subdirectory" in proc.stderr  # sub/ is accounted for
    assert (work / "out" / "doc" / f"{DOC}.html").exists()


@pytest.mark.parametrize("make, needles", [
    (lambda c: (c / f"{DOC}.txt").write_bytes(b"\0" * 5000), ("binary", "U+0000")),
    (lambda c: (c / f"{DOC}.txt").write_bytes((c / f"{DOC}.txt").read_bytes()[:300] + b"\x07"),
     ("binary", "U+0007")),
    (lambda c: ((c / f"{DOC}.txt").unlink(), (c / f"{DOC}.txt").mkdir()), ("a directory",)),
    (lambda c: ((c / f"{DOC}.txt").unlink(), os.mkfifo(c / f"{DOC}.txt")), ("not a regular file",)),
    (lambda c: ((c / f"{DOC}.txt").unlink(), (c / f"{DOC}.txt").symlink_to("/dev/zero")),
     ("link leads outside the corpus",)),
    (lambda c: (c / f"{DOC}.txt").symlink_to(c / "missing") if (c / f"{DOC}.txt").unlink() is None else 0,
     ("broken link",)),
])
def test_unreadable_or_binary_document_is_refused(work, warm, make, needles):
    make(work / "corpus")
    refused_build(work, f"{DOC}.txt", *needles, warm=warm)


def test_every_corpus_entry_is_accounted_for(work, warm):
    corpus = work / "corpus"
    for ext in ("txt", "yaml"):  # upper-case extensions are accepted deliberately
        (corpus / f"{DOC}.{ext}").rename(corpus / f"{DOC}.{ext.upper()}")
    (corpus / "notes.xyz").write_text("不是语料", encoding="utf-8")
    (corpus / "drafts").mkdir()
    (corpus / ".DS_Store").write_bytes(b"\0\1")
    proc = build(work, cache=warm / "cache")
    assert proc.returncode == 0, proc.stderr
    ignored = [line for line in proc.stderr.splitlines() if line.startswith("已忽略")]
    assert len(ignored) == 3 and "ignored=3" in proc.stdout  # and counted in the stage table
    assert any("notes.xyz" in line and "unknown extension" in line for line in ignored)
    assert any("drafts" in line and "subdirectory" in line for line in ignored)
    assert any(".DS_Store" in line and "hidden" in line for line in ignored)
    assert (work / "out" / "doc" / f"{DOC}.html").exists()
    assert f"{DOC}.TXT" in (work / "out" / "data" / "documents.json").read_text(encoding="utf-8")


# ------------------------------------------------------------------ sidecar values


def sidecar(work, old, new):
    path = work / "corpus" / f"{DOC}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize("old, new, needles", [
    ("date: 2024\n", "date: 2025-13-45\n", ("bad date", "2025-13-45")),
    ("date: 2024\n", "date: 2025-02-30\n", ("bad date",)),
    ("date: 2024\n", "date: !!timestamp 2025-13-45\n", ("malformed sidecar",)),
    ("date: 2024\n", "date: 2024.5\n", ("bad date", "2024.5")),
    ("date: 2024\n", "date: [2024]\n", ("date", "must be text")),
    ("type: report", "type: {a: 1}", ("type", "must be text")),
    ("type: report", "type: 3", ("unknown type", "3")),
    ("title: 关于", "title: |\n  第一行\n  关于", ("title", "must be one line")),
])
def test_sidecar_values_validated_whatever_yaml_made_of_them(work, warm, old, new, needles):
    sidecar(work, old, new)
    refused_build(work, f"{DOC}.yaml", *needles, warm=warm)


def test_values_yaml_would_retype_are_kept_as_written(work, warm):
    sidecar(work, "type: report", "type: report\ndoc_number: 2024")
    sidecar(work, "publisher: 洛阳市委政策研究室", "publisher: yes")
    proc = build(work, cache=warm / "cache")
    assert proc.returncode == 0, proc.stderr
    docs = (work / "out" / "data" / "documents.json").read_text(encoding="utf-8")
    assert '"doc_number": "2024"' in docs and '"publisher": "yes"' in docs


# ------------------------------------------------------------------ search arguments


@pytest.mark.parametrize("args, needles", [
    (("--limit", "-1"), ("--limit", "-1")),
    (("--limit", "ten"), ("--limit", "ten")),
    (("--year", "二〇二四"), ("--year",)),
    (("--doc", "no-such-doc"), ("--doc", "no-such-doc")),
    (("--city", "哥谭"), ("--city", "哥谭")),
])
def test_search_arguments_refused_in_one_line(warm, args, needles):
    assert_refused(run_cli("search", "风险补偿", "--out", warm / "out", *args), *needles)


def test_search_limit_zero_means_every_match(warm):
    every = run_cli("search", "科技", "--limit", "0", "--json", "--out", warm / "out")
    ten = run_cli("search", "科技", "--json", "--out", warm / "out")
    import json
    assert len(json.loads(every.stdout)["hits"]) > len(json.loads(ten.stdout)["hits"]) == 10
    one_doc = run_cli("search", "科技", "--doc", DOC, "--limit", "0", "--json", "--out", warm / "out")
    hits = json.loads(one_doc.stdout)["hits"]
    assert hits and all(h["doc"] == DOC for h in hits)


@pytest.mark.parametrize("line, needles", [
    ('{"q": 5}', ("q", "5")),
    ('{"q": "风险补偿", "limit": "3"}', ("limit",)),
    ('{"q": "风险补偿", "limit": 2.5}', ("limit",)),
    ('{"q": "风险补偿", "limit": -2}', ("limit", "-2")),
    ('{"q": "风险补偿", "year": true}', ("year",)),
    ('{"q": "风险补偿", "doc": "nope"}', ("doc", "nope")),
    ('{"q": "风险补偿", "cty": "武汉"}', ("cty",)),
    ('["风险补偿"]', ("JSON",)),
    ('{"q": "风险补偿"', ("JSON",)),
])
def test_every_queries_line_is_validated_with_its_number(warm, tmp_path, line, needles):
    path = tmp_path / "q.jsonl"
    path.write_text('{"q": "投贷联动"}\n\n' + line + "\n", encoding="utf-8")
    proc = run_cli("search", "--queries", path, "--out", warm / "out")
    assert_refused(proc, f"{path}:3:", *needles)
    assert len(proc.stdout.splitlines()) == 1  # the good first line was answered


def test_closed_pipe_ends_quietly(warm):
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "search", "科技", "--limit", "0",
                             "--out", str(warm / "out")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    code = proc.wait(timeout=120)
    err = proc.stderr.read().decode()
    assert code == 128 + signal.SIGPIPE and err == ""


def test_unwritable_output_location_is_one_line(work):
    (work / "a-file").write_text("x", encoding="utf-8")
    proc = run_cli("--corpus", work / "corpus", "--out", work / "a-file" / "out", "--no-progress")
    assert_refused(proc, "a-file")


@pytest.mark.parametrize("args", [("--jobs", "0"), ("--wait", "-5"), ("--jobs", "many")])
def test_build_arguments_refused_in_one_line(work, args):
    before = snapshot(work / "out")
    assert_refused(build(work, *args), args[0])
    assert snapshot(work / "out") == before


# ------------------------------------------------------------------ large inputs, index bytes


def test_large_document_is_announced(work, warm, monkeypatch):
    monkeypatch.setattr(pipeline, "LARGE_TEXT_BYTES", 20_000)
    notices = []
    pipeline.build(work / "corpus", work / "out", cache_dir=warm / "cache", progress=False,
                   notify=notices.append)
    large = [n for n in notices if "文件很大" in n]
    big = sorted(p.name for p in (work / "corpus").glob("*.txt") if p.stat().st_size > 20_000)
    assert big and len(large) == len(big) and all(any(b in n for n in large) for b in big)


def test_add_then_remove_returns_the_index_to_a_fresh_builds_bytes(work, warm):
    corpus = work / "corpus"
    fresh = work / "fresh"
    pipeline.build(corpus, fresh, cache_dir=warm / "cache", progress=False)
    (corpus / "zz_new.txt").write_text("我市推动投贷联动，支持科技型企业上市。\n", encoding="utf-8")
    (corpus / "zz_new.yaml").write_text(
        "title: 增删测试\npublisher: 测试\ndate: 2025-01\ntype: news\nhome_city: 苏州\n", encoding="utf-8")
    assert build(work, cache=warm / "cache").returncode == 0
    for ext in ("txt", "yaml"):
        (corpus / f"zz_new.{ext}").unlink()
    assert build(work, cache=warm / "cache").returncode == 0
    assert snapshot(work / "out") == snapshot(fresh)


def test_python_without_the_virtualenv_gets_one_line():
    proc = subprocess.run([sys.executable, "-S", str(ROOT / "build.py"), "--no-progress"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert_refused(proc, "make site", ".venv/bin/python build.py")


def test_preview_server_listens_on_this_machine_unless_told():
    def serve_command(*args):
        # run as a user would, not as a sub-make of `make test` (whose MAKEFLAGS/MAKELEVEL make
        # the nested make print "Entering/Leaving directory" lines)
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
        proc = subprocess.run(["make", "--no-print-directory", "-n", "serve", *args],
                              capture_output=True, text=True, cwd=ROOT, env=env)
        return next(line for line in proc.stdout.splitlines() if "http.server" in line)
    assert "--bind 127.0.0.1" in serve_command()
    assert "--bind 0.0.0.0" in serve_command("HOST=0.0.0.0")


@pytest.mark.parametrize("path", [".output.building-x1y2/index", ".output.retired-x1y2/index.html",
                                  ".output.old/index.html", ".output.lock"])
def test_build_leftovers_are_git_ignored(path):
    proc = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT)
    assert proc.returncode == 0, path
