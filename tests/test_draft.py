"""Drafting sidecars (kb/draft.py) and `build.py add` through the command line."""

import subprocess
import sys

import pytest
import yaml

from kb import draft, formats
from kb.read import read_sidecar
from kb.vocab import load_vocab
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "realistic" / "corpus"


def drafted(name):
    fields = draft.draft_sidecar(formats.extract(FIXTURES / name), load_vocab())
    return {k: f.value for k, f in fields.items()}, {k: f.basis for k, f in fields.items()}


@pytest.mark.parametrize("name", ["r01_shenzhen_gov.html", "r03_chengdu_policy.pdf", "r06_nanjing_rules.docx",
                                  "r11_jiangsu_notice.pdf", "r12_pidu_opinions.docx", "r08_shanghai_gov.html"])
def test_official_documents_are_drafted_as_their_curated_sidecars(name):
    values, basis = drafted(name)
    curated, _ = read_sidecar((FIXTURES / name).with_suffix(".yaml"))
    for key in ("title", "publisher", "date", "type", "home_city", "doc_number"):
        assert values.get(key) == curated[key], key
    assert all(basis[k] for k in values)


def test_basis_says_how_each_field_was_found():
    values, basis = drafted("r03_chengdu_policy.pdf")
    assert values["title"].startswith("成都市人民政府办公厅关于印发《") and values["title"].endswith("》的通知")
    assert basis["title"].startswith("公文标题")          # joined from three wrapped PDF lines
    assert basis["publisher"].startswith("落款")
    assert basis["date"].startswith("落款日期“2024年4月28日”")  # not the 4月29日 print line
    assert basis["doc_number"].startswith("发文字号")


@pytest.mark.parametrize("name, publisher, date", [
    ("r02_hangzhou_paper.html", "钱塘晨报", "2024-10-18"),   # masthead, edition date line (not the widget)
    ("r09_chongqing_news.txt", "山城日报", "2024-08-06"),
    ("r04_xian_repost.txt", "西安日报", "2023-08-16"),       # 來源 line of a traditional repost
])
def test_news_pages_get_the_paper_and_the_edition_date(name, publisher, date):
    values, _ = drafted(name)
    assert values["type"] == "news"
    assert values["publisher"] == publisher and values["date"] == date
    assert "(" not in values["title"]  # transcoding residue removed


def test_chinese_numeral_dates():
    assert draft.parse_date("二〇二四年三月一日") == "2024-03-01"
    assert draft.parse_date("二○二三年十二月二十五日") == "2023-12-25"
    assert draft.parse_date("2024年3月1日") == "2024-03-01"
    assert draft.parse_date("发布时间：2024-03-01 16:30") == "2024-03-01"
    assert draft.parse_date("2024年2月30日") is None


def test_doc_number_brackets_are_normalised(tmp_path):
    path = tmp_path / "n.txt"
    path.write_text("某市人民政府办公室文件\n某政办发[2023]12号\n某市人民政府办公室关于印发科技金融若干措施的通知\n"
                    "各区人民政府：\n现将措施印发给你们，请认真贯彻执行。\n某市人民政府办公室\n二〇二三年五月六日\n",
                    encoding="utf-8")
    values = {k: f.value for k, f in draft.draft_sidecar(formats.extract(path), load_vocab()).items()}
    assert values["doc_number"] == "某政办发〔2023〕12号"
    assert values["date"] == "2023-05-06" and values["publisher"] == "某市人民政府办公室"
    assert values["title"] == "某市人民政府办公室关于印发科技金融若干措施的通知" and values["type"] == "policy"


# ------------------------------------------------------------------ build.py add


def add(tmp_path, *args):
    return subprocess.run([sys.executable, str(ROOT / "build.py"), "add", *map(str, args),
                           "--corpus", str(tmp_path / "corpus")],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)


@pytest.fixture
def corpus(tmp_path):
    (tmp_path / "corpus").mkdir()
    return tmp_path / "corpus"


def test_add_copies_the_file_writes_the_sidecar_and_the_corpus_builds(tmp_path, corpus):
    result = add(tmp_path, FIXTURES / "r03_chengdu_policy.pdf", "--url", "https://example.org/cd/5.html", "--yes")
    assert result.returncode == 0, result.stderr
    assert "# 落款" in result.stdout and "成办规〔2024〕5号" in result.stdout
    assert (corpus / "r03_chengdu_policy.pdf").read_bytes() == (FIXTURES / "r03_chengdu_policy.pdf").read_bytes()
    meta = yaml.safe_load((corpus / "r03_chengdu_policy.yaml").read_text(encoding="utf-8"))
    assert meta["url"] == "https://example.org/cd/5.html" and meta["home_city"] == "成都"
    build = subprocess.run([sys.executable, str(ROOT / "build.py"), "--corpus", str(corpus),
                            "--out", str(tmp_path / "out"), "--quiet"], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    import json

    docs = json.loads((tmp_path / "out" / "data" / "documents.json").read_text(encoding="utf-8"))
    docs = docs if isinstance(docs, list) else docs["documents"]
    assert docs[0]["source_url"] == "https://example.org/cd/5.html"


def test_add_refuses_naming_the_fields_it_cannot_infer_and_writes_nothing(tmp_path, corpus):
    result = add(tmp_path, FIXTURES / "r05_shaanxi_plan.txt", "--yes")
    assert result.returncode != 0
    assert result.stderr.startswith("错误: ") and result.stderr.count("\n") == 1
    assert "publisher" in result.stderr and "date" in result.stderr and "--date" in result.stderr
    assert list(corpus.iterdir()) == []
    ok = add(tmp_path, FIXTURES / "r05_shaanxi_plan.txt", "--yes", "--publisher", "陕西省地方金融管理局",
             "--date", "2024-02-20", "--id", "shaanxi-plan")
    assert ok.returncode == 0, ok.stderr
    assert sorted(p.name for p in corpus.iterdir()) == ["shaanxi-plan.txt", "shaanxi-plan.yaml"]


def test_add_without_a_terminal_asks_for_yes(tmp_path, corpus):
    result = add(tmp_path, FIXTURES / "r01_shenzhen_gov.html")
    assert result.returncode != 0 and "--yes" in result.stderr
    assert "title:" in result.stdout  # the draft is shown
    assert list(corpus.iterdir()) == []


def test_add_refuses_bad_values_duplicates_and_unreadable_files(tmp_path, corpus):
    bad_url = add(tmp_path, FIXTURES / "r01_shenzhen_gov.html", "--url", "ftp://x", "--yes")
    assert bad_url.returncode != 0 and "url" in bad_url.stderr and list(corpus.iterdir()) == []
    bad_type = add(tmp_path, FIXTURES / "r01_shenzhen_gov.html", "--type", "memo", "--yes")
    assert bad_type.returncode != 0 and "type" in bad_type.stderr and list(corpus.iterdir()) == []
    assert add(tmp_path, FIXTURES / "r01_shenzhen_gov.html", "--yes").returncode == 0
    again = add(tmp_path, FIXTURES / "r01_shenzhen_gov.html", "--yes")
    assert again.returncode != 0 and "duplicate id" in again.stderr
    missing = add(tmp_path, tmp_path / "nope.pdf", "--yes")
    assert missing.returncode != 0 and "nope.pdf" in missing.stderr and "Traceback" not in missing.stderr
    assert sorted(p.name for p in corpus.iterdir()) == ["r01_shenzhen_gov.html", "r01_shenzhen_gov.yaml"]


def test_add_names_a_file_without_a_valid_id(tmp_path, corpus):
    source = tmp_path / "关于科技金融的通知.docx"
    source.write_bytes((FIXTURES / "r12_pidu_opinions.docx").read_bytes())
    result = add(tmp_path, source, "--yes")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in corpus.iterdir())
    assert len(names) == 2 and names[0].startswith("000_") and names[0].endswith(".docx")


def test_page_title_parts_and_a_logo_heading(tmp_path):
    page = ("<html><head><meta charset='utf-8'><title>滨海日报数字报-科技贷款余额再创新高</title></head><body>"
            "<h1 class='logo'>滨海日报</h1><div class='art'>"
            "<p>本报讯 截至6月末，全市科技贷款余额再创新高，达到1200亿元，同比增长18%，增速高于各项贷款平均水平。</p>"
            "<p>市金融办表示，下一步将继续扩大科技信贷投放，完善风险补偿机制，推动更多银行设立科技支行。</p>"
            "</div></body></html>")
    path = tmp_path / "paper.html"
    path.write_text(page, encoding="utf-8")
    fields = draft.draft_sidecar(formats.extract(path), load_vocab())
    assert fields["title"] == ("科技贷款余额再创新高", "网页 <title>")
    assert fields["publisher"].value == "滨海日报" and fields["type"].value == "news"
    assert "date" not in fields  # no date printed: `build.py add` will ask for --date


@pytest.mark.parametrize("answer, written", [(b"y\n", True), (b"n\n", False)])
def test_add_asks_at_a_terminal(tmp_path, corpus, answer, written):
    import os

    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "add", str(FIXTURES / "r11_jiangsu_notice.pdf"),
                             "--corpus", str(corpus)], stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    os.close(slave)
    os.write(master, answer)
    out, err = proc.communicate(timeout=120)
    os.close(master)
    assert "[y/N]" in out and "苏金管发〔2024〕15号" in out
    assert (proc.returncode == 0) is written, err
    assert sorted(p.name for p in corpus.iterdir()) == (
        ["r11_jiangsu_notice.pdf", "r11_jiangsu_notice.yaml"] if written else [])


def test_add_a_file_already_saved_in_the_corpus_writes_only_its_sidecar(tmp_path, corpus):
    saved = corpus / "r09_chongqing_news.txt"
    saved.write_bytes((FIXTURES / "r09_chongqing_news.txt").read_bytes())
    result = add(tmp_path, saved, "--yes")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in corpus.iterdir()) == ["r09_chongqing_news.txt", "r09_chongqing_news.yaml"]
    assert saved.read_bytes() == (FIXTURES / "r09_chongqing_news.txt").read_bytes()
