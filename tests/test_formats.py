"""Source formats (kb/formats): real web pages, PDFs and Word files -> text shaped like a .txt.

The files are the fixture corpus (tests/fixtures/realistic/corpus) plus files made here
with real tools: an encrypted PDF (pypdf), an image-only PDF (Pillow), Word files
(python-docx)."""

import subprocess
import sys

import pytest

from kb import formats
from kb.errors import InputError
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "realistic" / "corpus"


def test_government_page_keeps_the_article_and_drops_the_page_furniture():
    got = formats.extract(FIXTURES / "r01_shenzhen_gov.html")
    lines = got.text.splitlines()
    assert "深金管规〔2024〕3号" in lines
    assert "一、扩大科技信贷投放" in lines  # headings stay lines of their own
    assert any(line.startswith("（六）推广首台（套）重大技术装备保险") for line in lines)
    for furniture in ("今天是", "当前位置", "机构概况", "发布时间", "点击数", "责任编辑", "分享到", "打印本页",
                      "上一篇", "下一篇", "相关文件", "版权所有", "网站标识码"):
        assert furniture not in got.text, furniture
    assert got.lines_are_paragraphs and got.encoding == "utf-8"
    found = {(c["field"], c["value"]) for c in got.meta}
    assert ("date", "2024-03-01 16:30") in found          # the 发布时间 line and PubDate
    assert ("publisher", "深圳市地方金融管理局") in found   # the 来源 line and ContentSource
    assert ("hits", "2816") in found
    assert any(c["basis"].startswith("网页信息行") for c in got.meta)


def test_newspaper_page_declared_gb2312_with_layout_tables_and_captions():
    got = formats.extract(FIXTURES / "r02_hangzhou_paper.html")
    assert got.encoding == "gb18030"
    assert got.text.startswith("本报讯")
    assert "上半年，全市办理知识产权质押融资五十八亿元" in got.text
    for furniture in ("通版阅读", "版面导航", "第A03版", "记者 林晓 摄", "上一版", "版权所有"):
        assert furniture not in got.text, furniture
    assert ("date", "2024年10月18日 星期五") in {(c["field"], c["value"]) for c in got.meta}


def test_data_table_in_a_page_becomes_one_line(tmp_path):
    page = (FIXTURES / "r01_shenzhen_gov.html").read_text(encoding="utf-8").replace(
        "<p><strong>四、附则</strong></p>",
        "<p>补偿标准如下表：</p><table border=\"1\"><tr><td>贷款类型</td><td>补偿比例</td></tr>"
        "<tr><td>首贷</td><td>40%</td></tr><tr><td>信用贷款</td><td>30%</td></tr></table>"
        "<p><strong>四、附则</strong></p>")
    path = tmp_path / "table.html"
    path.write_text(page, encoding="utf-8")
    assert "贷款类型，补偿比例；首贷，40%；信用贷款，30%。" in formats.extract(path).text.splitlines()


def test_page_without_article_text_is_one_clear_error(tmp_path):
    path = tmp_path / "empty.html"
    path.write_text("<html><head><title>首页</title></head><body><nav><a href='#'>首页</a></nav></body></html>",
                    encoding="utf-8")
    with pytest.raises(InputError, match="没有找到正文|没有可提取的正文") as err:
        formats.extract(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_pdf_text_in_page_order_with_furniture_left_for_cleaning():
    got = formats.extract(FIXTURES / "r03_chengdu_policy.pdf")
    text = got.text
    assert "成办规〔2024〕5号" in text
    assert text.index("（一）实施科技型企业") < text.index("（八）建立由市政府") < text.index("抄送")
    assert "— 1 —" in text and "— 3 —" in text  # page numbers: removed by kb/clean.py
    assert not got.lines_are_paragraphs and got.encoding is None


def _encrypted_pdf(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(FIXTURES / "r11_jiangsu_notice.pdf"))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    path = tmp_path / "locked.pdf"
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


def _image_pdf(tmp_path):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 800), "white")
    ImageDraw.Draw(image).rectangle((50, 50, 550, 120), fill="black")  # a "scanned" page
    path = tmp_path / "scan.pdf"
    image.save(path, "PDF", resolution=72)
    return path


def test_encrypted_pdf_is_one_clear_error(tmp_path):
    path = _encrypted_pdf(tmp_path)
    with pytest.raises(InputError, match="加密") as err:
        formats.extract(path)
    assert err.value.path == str(path) and "\n" not in str(err.value)


def test_image_only_pdf_asks_for_ocr(tmp_path):
    path = _image_pdf(tmp_path)
    with pytest.raises(InputError, match="没有文字层.*OCR"):
        formats.extract(path)


def test_damaged_pdf_and_docx_are_refused(tmp_path):
    for name, data in (("broken.pdf", b"%PDF-1.4\nthis is not a pdf"), ("broken.docx", b"PK\x03\x04 nope")):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(InputError) as err:
            formats.extract(path)
        assert str(path) in str(err.value)


def test_word_file_paragraphs_headings_and_table_in_order():
    got = formats.extract(FIXTURES / "r06_nanjing_rules.docx")
    lines = got.text.splitlines()
    assert lines[0] == "南京市科技型中小企业融资风险补偿实施细则"  # the heading
    table = "贷款类型，资金池分担比例，合作银行分担比例；首贷，60%，40%；信用贷款，50%，50%；知识产权质押贷款，50%，50%。"
    assert lines.index(table) == lines.index(next(l for l in lines if l.startswith("第四条"))) + 1
    assert got.lines_are_paragraphs
    assert ("title", "南京市科技型中小企业融资风险补偿实施细则") in {(c["field"], c["value"]) for c in got.meta}


def test_word_file_with_merged_cells_and_no_text(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("表1 补偿标准")
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "补偿标准"
    for cell, text in zip(table.rows[1].cells, ("首贷", "50%", "50%")):
        cell.text = text
    path = tmp_path / "merged.docx"
    document.save(path)
    assert "补偿标准；首贷，50%，50%。" in formats.extract(path).text
    empty = tmp_path / "empty.docx"
    docx.Document().save(empty)
    with pytest.raises(InputError, match="没有可提取的正文"):
        formats.extract(empty)


def test_unsupported_suffix_is_refused(tmp_path):
    path = tmp_path / "old.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError, match="不支持的文件格式"):
        formats.extract(path)


def test_build_stops_on_an_unreadable_pdf_and_keeps_the_previous_output(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    for name in ("r03_chengdu_policy.pdf", "r03_chengdu_policy.yaml"):
        (corpus / name).write_bytes((FIXTURES / name).read_bytes())
    run = [sys.executable, str(ROOT / "build.py"), "--corpus", str(corpus), "--out", str(out),
           "--cache", str(tmp_path / "cache"), "--quiet"]
    assert subprocess.run(run, capture_output=True).returncode == 0
    before = (out / "data" / "passages.jsonl").read_bytes()
    _image_pdf(corpus).rename(corpus / "scan.pdf")
    (corpus / "scan.yaml").write_text("title: 扫描件\npublisher: 某局\ndate: 2024\ntype: policy\n", encoding="utf-8")
    result = subprocess.run(run, capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("错误: ") and "scan.pdf" in result.stderr and "OCR" in result.stderr
    assert "Traceback" not in result.stderr
    assert (out / "data" / "passages.jsonl").read_bytes() == before


def test_extraction_is_cached_by_content_and_extractor(tmp_path, monkeypatch):
    source = tmp_path / "notice.pdf"
    source.write_bytes((FIXTURES / "r11_jiangsu_notice.pdf").read_bytes())
    cache = tmp_path / "cache"
    first = formats.extract(source, cache_dir=cache)
    assert len(list(cache.rglob("*.json"))) == 1
    calls = []
    monkeypatch.setattr("kb.formats.pdf.extract", lambda *a: calls.append(a))
    assert formats.extract(source, cache_dir=cache) == first and not calls  # read from the cache
    source.write_bytes(source.read_bytes() + b"\n%changed\n")
    with pytest.raises(Exception):
        formats.extract(source, cache_dir=cache)  # new bytes: the (patched) extractor runs
    assert calls


def test_a_new_extractor_invalidates_the_build_cache(monkeypatch):
    from kb import pipeline

    before = pipeline.code_version()
    monkeypatch.setattr(formats, "fingerprint", lambda: "another trafilatura")
    assert pipeline.code_version() != before


def test_information_line_inside_the_article_is_metadata_not_text(tmp_path):
    body = "".join(f"<p>第{i}段：市科技局会同市财政局完善科技信贷风险补偿机制，扩大合作银行范围，提高补偿比例。</p>"
                   for i in range(1, 6))
    page = ("<html><head><meta charset='utf-8'><title>关于科技信贷的通知</title></head><body>"
            "<div class='article'><h1>关于科技信贷的通知</h1>"
            "<p>发布时间：2024-05-06 09:30　来源：某市科学技术局　浏览次数：35</p>"
            f"{body}<p>资金来源：市级财政预算安排，由市科学技术局按季度拨付到合作银行的风险补偿专户。</p></div></body></html>")
    path = tmp_path / "minified.html"
    path.write_text(page, encoding="utf-8")
    got = formats.extract(path)
    assert "发布时间" not in got.text and "浏览次数" not in got.text
    assert "资金来源：市级财政预算安排" in got.text  # a sentence mentioning 来源 stays
    found = {(c["field"], c["value"]) for c in got.meta}
    assert ("date", "2024-05-06 09:30") in found and ("publisher", "某市科学技术局") in found


def test_page_declared_gbk_but_saved_as_utf8_reads_as_utf8(tmp_path):
    page = (FIXTURES / "r08_shanghai_gov.html").read_text(encoding="utf-8").replace(
        '<meta charset="utf-8">', '<meta http-equiv="Content-Type" content="text/html; charset=gbk">')
    path = tmp_path / "mislabelled.html"
    path.write_text(page, encoding="utf-8")  # a page re-saved by an editor keeps the old label
    got = formats.extract(path)
    assert got.encoding == "utf-8" and "全市已设立科技特色支行180家" in got.text


def _cid_pdf(glyphs=200):
    """A one-page PDF whose text uses a CID font with no Unicode mapping (no ToUnicode)."""
    hexstr = "".join(f"{0x0400 + i:04X}" for i in range(glyphs))
    content = f"BT /F1 12 Tf 50 700 Td <{hexstr}> Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /NoMap /Encoding /Identity-H /DescendantFonts [6 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /NoMap /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 7 0 R /DW 1000 >>",
        b"<< /Type /FontDescriptor /FontName /NoMap /Flags 4 /FontBBox [0 0 1000 1000] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def test_pdf_whose_fonts_have_no_unicode_mapping_is_refused(tmp_path):
    path = tmp_path / "glyphs.pdf"
    path.write_bytes(_cid_pdf())
    with pytest.raises(InputError, match="Unicode 映射"):
        formats.extract(path)
