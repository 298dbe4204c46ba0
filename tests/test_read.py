"""Reading the corpus: sidecar validation, encodings, one clear error per problem."""

import pytest

from kb.errors import InputError
from kb.read import SidecarMemo, list_documents, read_corpus, read_document
from tests.conftest import CORPUS

SIDECAR = "title: 测试报告\npublisher: 某市科技局\ndate: 2024-06\ntype: report\nhome_city: 武汉\n"
TEXT = "一、总体要求\n\n我市推动科技金融发展，设立风险补偿资金池。\n"


def make_doc(tmp_path, doc_id="t1", text=TEXT, sidecar=SIDECAR, encoding="utf-8"):
    (tmp_path / f"{doc_id}.txt").write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    if sidecar is not None:
        (tmp_path / f"{doc_id}.yaml").write_text(sidecar, encoding="utf-8")
    return tmp_path / f"{doc_id}.txt"


def test_real_corpus_reads_with_metadata():
    docs = read_corpus(CORPUS)
    assert [d["id"] for d in docs] == sorted(d["id"] for d in docs)
    assert len(docs) == 5
    wuhan_plan = next(d for d in docs if d["id"].startswith("004"))
    assert wuhan_plan["doc_number"] == "武政办〔2025〕67号"
    assert wuhan_plan["date"] == "2025-06-07" and wuhan_plan["year"] == 2025
    assert wuhan_plan["home_city"] == "武汉"


def test_gb18030_file_is_detected_and_decoded(tmp_path):
    path = make_doc(tmp_path, encoding="gb18030")
    doc = read_document(path)
    assert doc["encoding"] == "gb18030"
    assert "风险补偿资金池" in doc["text"]


@pytest.mark.parametrize("sidecar, problem", [
    (None, "missing sidecar"),
    ("title: [unclosed\n", "malformed sidecar"),
    ("- just\n- a list\n", "not a mapping"),
    (SIDECAR.replace("type: report", "type: memo"), "unknown type"),
    (SIDECAR.replace("date: 2024-06", "date: 2024-13"), "bad date"),
    (SIDECAR.replace("date: 2024-06", "date: June 2024"), "bad date"),
    (SIDECAR.replace("publisher: 某市科技局\n", ""), ("missing field", "publisher")),
    (SIDECAR + "colour: red\n", ("unknown field", "colour")),
])
def test_bad_sidecar_names_file_and_problem(tmp_path, sidecar, problem):
    path = make_doc(tmp_path, sidecar=sidecar)
    with pytest.raises(InputError) as err:
        read_document(path, known_cities={"武汉"})
    for part in (problem,) if isinstance(problem, str) else problem:
        assert part in str(err.value)
    assert str(err.value).startswith(str(tmp_path / "t1."))


def test_unknown_home_city(tmp_path):
    path = make_doc(tmp_path, sidecar=SIDECAR.replace("home_city: 武汉", "home_city: 哥谭"))
    with pytest.raises(InputError, match="unknown city"):
        read_document(path, known_cities={"武汉"})


def test_empty_and_undecodable_files(tmp_path):
    with pytest.raises(InputError, match="empty file"):
        read_document(make_doc(tmp_path, text="  \n\n"))
    with pytest.raises(InputError, match="undecodable"):
        read_document(make_doc(tmp_path, doc_id="t2", text=bytes(range(128, 256)) * 8))


def test_duplicate_id_and_orphan_sidecar(tmp_path):
    make_doc(tmp_path)
    (tmp_path / "t1.md").write_text(TEXT, encoding="utf-8")
    with pytest.raises(InputError, match="duplicate id"):
        list_documents(tmp_path)
    (tmp_path / "t1.md").unlink()
    (tmp_path / "orphan.yaml").write_text(SIDECAR, encoding="utf-8")
    with pytest.raises(InputError, match="sidecar without"):
        list_documents(tmp_path)


def test_document_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.txt")  # opening a named pipe for reading would wait for a writer
    (tmp_path / "pipe.yaml").write_text(SIDECAR, encoding="utf-8")
    with pytest.raises(InputError, match="not a regular file"):
        read_document(tmp_path / "pipe.txt")
    (tmp_path / "dir.txt").mkdir()
    (tmp_path / "dir.yaml").write_text(SIDECAR, encoding="utf-8")
    with pytest.raises(InputError, match="a directory"):
        read_document(tmp_path / "dir.txt")


def test_scan_accounts_for_every_entry(tmp_path):
    from kb.read import scan_corpus

    make_doc(tmp_path, doc_id="a")
    (tmp_path / "a.txt").rename(tmp_path / "a.TXT")
    (tmp_path / "notes.docx.bak").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    corpus = scan_corpus(tmp_path)
    assert [p.name for p in corpus.documents] == ["a.TXT"]
    assert corpus.sidecars == {"a": tmp_path / "a.yaml"}
    assert [(p.name, "unknown extension" in r or "subdirectory" in r) for p, r in corpus.ignored] == [
        ("notes.docx.bak", True), ("sub", True)]
    assert read_document(corpus.documents[0], sidecar=corpus.sidecars["a"])["source"] == "a.TXT"


@pytest.mark.parametrize("url, ok", [
    ("https://www.example.gov.cn/zcwj/2024/0301.html", True),
    ("http://example.org/a?id=3#p2", True),
    ("javascript:alert(1)", False),
    ("ftp://example.org/a.pdf", False),
    ("www.example.org/a.html", False),
    ("https://", False),
])
def test_sidecar_url_must_be_a_web_address(tmp_path, url, ok):
    path = make_doc(tmp_path, sidecar=SIDECAR + f"url: '{url}'\n")
    if ok:
        assert read_document(path)["url"] == url
    else:
        with pytest.raises(InputError, match="bad url"):
            read_document(path)


def test_a_document_is_found_in_every_supported_format(tmp_path):
    for suffix in (".html", ".pdf", ".docx"):
        (tmp_path / f"d{suffix}").write_bytes(b"x")
        (tmp_path / f"d{suffix}").with_suffix(".yaml").write_text(SIDECAR, encoding="utf-8")
        assert [p.name for p in list_documents(tmp_path)] == [f"d{suffix}"]
        (tmp_path / f"d{suffix}").unlink()


def test_the_sidecar_memo_gives_what_parsing_gives(tmp_path):
    paths = list_documents(CORPUS)
    plain = [read_document(p) for p in paths]
    memo = SidecarMemo(tmp_path)
    assert [read_document(p, sidecar_memo=memo.used) for p in paths] == plain  # parsed, noted
    memo.save()
    again = SidecarMemo(tmp_path)
    assert len(again.old) == len(paths)
    assert [read_document(p, sidecar_memo=again.used) for p in paths] == plain  # from the memo
    # an edited sidecar is parsed again (its bytes are the key); only used entries are kept
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("武汉市设立科技金融风险补偿资金池。\n", encoding="utf-8")
    (corpus / "a.yaml").write_text("title: 甲\npublisher: 武汉市人民政府\ndate: 2024-01-02\ntype: commentary\n", encoding="utf-8")
    memo = SidecarMemo(tmp_path)
    assert read_document(corpus / "a.txt", sidecar_memo=memo.used)["title"] == "甲"
    memo.save()
    (corpus / "a.yaml").write_text("title: 乙\npublisher: 武汉市人民政府\ndate: 2024-01-02\ntype: commentary\n", encoding="utf-8")
    memo = SidecarMemo(tmp_path)
    assert len(memo.old) == 1
    assert read_document(corpus / "a.txt", sidecar_memo=memo.used)["title"] == "乙"
    # a damaged memo is ignored
    memo.path.write_bytes(b"not a pickle")
    assert SidecarMemo(tmp_path).old == {}
    assert read_document(corpus / "a.txt", sidecar_memo=SidecarMemo(tmp_path).used)["title"] == "乙"


def test_the_document_memo_reads_only_changed_files(tmp_path):
    import os

    from kb.read import DocumentMemo, with_text
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    path = make_doc(corpus)
    plain = read_document(path)
    memo = DocumentMemo(tmp_path / "cache")
    assert memo.read(path) == plain  # read, noted
    memo.save()
    memo = DocumentMemo(tmp_path / "cache")
    kept = memo.read(path)
    assert "text" not in kept and kept == {k: v for k, v in plain.items() if k != "text"}
    assert with_text(kept, path) == plain  # the text is read when a stage needs it
    memo.save()
    # the same size and modification time put back: the change time still tells
    st = path.stat()
    path.write_text(TEXT.replace("风险补偿", "风险分担"), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size
    memo = DocumentMemo(tmp_path / "cache")
    changed = memo.read(path)
    assert "风险分担" in changed["text"] and changed["sha"] != plain["sha"]
    memo.save()
    # an edited sidecar, and a vocabulary version that is not the memo's, read again
    (corpus / "t1.yaml").write_text(SIDECAR.replace("测试报告", "另一份报告"), encoding="utf-8")
    assert DocumentMemo(tmp_path / "cache").read(path)["title"] == "另一份报告"
    assert "text" in DocumentMemo(tmp_path / "cache", extra="other vocabulary").read(path)
    # a problem is still reported when the files change again
    path.write_bytes(b"")
    with pytest.raises(InputError, match="t1.txt"):
        DocumentMemo(tmp_path / "cache").read(path)
