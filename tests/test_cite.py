"""kb.cite: GB/T 7714-2015 references per document type."""

from pathlib import Path

import pytest
import yaml

from kb import cite

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def _corpus_doc(stem):
    meta = yaml.safe_load((CORPUS / f"{stem}.yaml").read_text(encoding="utf-8"))
    meta["date"] = meta["date"].isoformat() if hasattr(meta["date"], "isoformat") else str(meta["date"])
    return meta


def test_report():
    doc = {"type": "report", "title": "关于发展科技金融的调研报告", "publisher": "洛阳市委政策研究室",
           "date": "2024"}
    assert cite.citation(doc) == "洛阳市委政策研究室. 关于发展科技金融的调研报告[R]. 2024."


def test_report_with_full_date_cites_the_year():
    doc = {"type": "report", "title": "报告", "publisher": "某研究院", "date": "2023-05-01"}
    assert cite.citation(doc) == "某研究院. 报告[R]. 2023."


def test_policy_with_document_number():
    doc = {"type": "policy", "publisher": "武汉市人民政府办公厅", "date": "2025-06-07",
           "title": "武汉市推动科技金融高质量发展 加快建设全国科技金融中心行动方案(2025—2027年)",
           "doc_number": "武政办〔2025〕67号"}
    assert cite.citation(doc) == (
        "武汉市人民政府办公厅. 武汉市推动科技金融高质量发展 加快建设全国科技金融中心行动方案"
        "(2025—2027年): 武政办〔2025〕67号[A]. 2025-06-07.")


def test_policy_without_number():
    doc = {"type": "policy", "publisher": "某市人民政府", "date": "2024-01", "title": "若干措施"}
    assert cite.citation(doc) == "某市人民政府. 若干措施[A]. 2024-01."


def test_policy_online_uses_carrier_code_and_dates():
    doc = {"type": "policy", "publisher": "北京市人民政府办公厅", "date": "2005-07-12",
           "title": "关于转发北京市企业投资项目核准暂行实施办法的通知", "doc_number": "京政办发[2005]37号",
           "url": "http://china.findlaw.cn/fagui/p_1/39934.html", "accessed": "2011-07-12"}
    assert cite.citation(doc) == (
        "北京市人民政府办公厅. 关于转发北京市企业投资项目核准暂行实施办法的通知: 京政办发[2005]37号[A/OL]. "
        "(2005-07-12)[2011-07-12]. http://china.findlaw.cn/fagui/p_1/39934.html.")


def test_news_known_paper():
    doc = {"type": "news", "title": "数字革命与竞争国际化", "publisher": "中国青年报", "date": "2000-11-20"}
    assert cite.citation(doc) == "数字革命与竞争国际化[N]. 中国青年报, 2000-11-20."


def test_news_unknown_paper_and_online():
    doc = {"type": "news", "title": "专题报道", "publisher": "报纸专版（报名未印出）", "date": "2025-02-27"}
    assert cite.citation(doc) == "专题报道[N]. 2025-02-27."
    doc = {"type": "news", "title": "专题报道", "publisher": "长江日报", "date": "2025-02-27",
           "url": "https://example.cn/a", "accessed": "2025-03-01"}
    assert cite.citation(doc) == "专题报道[N/OL]. 长江日报, 2025-02-27[2025-03-01]. https://example.cn/a."


def test_commentary_unknown_author_starts_with_title():
    doc = {"type": "commentary", "title": "区域观察：“光谷之光”点亮我国科技金融发展火炬",
           "publisher": "未署名（区域观察专栏）", "date": "2021"}
    assert cite.citation(doc) == "区域观察：“光谷之光”点亮我国科技金融发展火炬[Z]. 2021."


def test_commentary_known_author_and_online_report():
    assert cite.citation({"type": "commentary", "title": "评论", "publisher": "兴泰智库",
                          "date": "2022-03"}) == "兴泰智库. 评论[Z]. 2022."
    assert cite.citation({"type": "report", "title": "第29次中国互联网络发展状况统计报告",
                          "publisher": "中国互联网络信息中心", "date": "2012-01-16",
                          "url": "http://www.cnnic.net.cn/x", "accessed": "2013-03-26"}) == (
        "中国互联网络信息中心. 第29次中国互联网络发展状况统计报告[R/OL]. (2012-01-16)[2013-03-26]. "
        "http://www.cnnic.net.cn/x.")


def test_type_codes_cover_every_document_type():
    from kb.read import DOC_TYPE_LABELS, DOC_TYPES

    assert set(cite.TYPE_CODES) == set(DOC_TYPES)
    assert set(DOC_TYPE_LABELS) == set(DOC_TYPES)


@pytest.mark.parametrize("stem,expected", [
    ("004_267d143d2259cbea", "武汉市人民政府办公厅. 武汉市推动科技金融高质量发展 加快建设全国科技金融中心行动方案"
                             "(2025—2027年): 武政办〔2025〕67号[A]. 2025-06-07."),
    ("002_8e8fbbf27cdab432", "洛阳市委政策研究室. 关于发展科技金融的调研报告[R]. 2024."),
    ("000_32d561a2c1e35645", "区域观察：“光谷之光”点亮我国科技金融发展火炬[Z]. 2021."),
    ("001_05ab9e2092abd6e3", "武汉科技金融主体专题报道（武汉投控集团、汉口银行、武汉农商行、武汉金控集团等）[N]. 2025-02-27."),
])
def test_real_corpus(stem, expected):
    assert cite.citation(_corpus_doc(stem)) == expected


def test_whitespace_and_trailing_period_normalised():
    doc = {"type": "report", "title": "  报告\n标题。 ", "publisher": " 某院 ", "date": "2020"}
    assert cite.citation(doc) == "某院. 报告 标题[R]. 2020."


def test_online_citation_of_a_passage_names_section_permalink_and_date():
    doc = {"type": "report", "title": "关于发展科技金融的调研报告", "publisher": "洛阳市委政策研究室",
           "date": "2024"}
    template = cite.online_citation(doc, "一、先行地区经验做法 › （三）广州市")
    assert template == ("洛阳市委政策研究室. 关于发展科技金融的调研报告: 一、先行地区经验做法 › （三）广州市"
                        "[R/OL]. (2024)[{accessed}]. {url}.")
    filled = cite.fill(template, "https://kb.example.cn/doc/002.html#002-abc", "2026-12-02")
    assert filled.endswith("[R/OL]. (2024)[2026-12-02]. https://kb.example.cn/doc/002.html#002-abc.")


def test_online_citation_of_a_document_uses_its_original_url():
    doc = {"type": "policy", "title": "行动方案", "publisher": "武汉市人民政府办公厅",
           "date": "2025-06-07", "doc_number": "武政办〔2025〕67号",
           "url": "https://www.wuhan.gov.cn/x.html"}
    assert cite.online_citation(doc) == ("武汉市人民政府办公厅. 行动方案: 武政办〔2025〕67号[A/OL]. "
                                         "(2025-06-07)[{accessed}]. https://www.wuhan.gov.cn/x.html.")
    # without a url of its own the cited address is the page on this site
    no_url = dict(doc, url=None)
    assert cite.online_citation(no_url).endswith("(2025-06-07)[{accessed}]. {url}.")
    # a passage always points to its permalink, even when the document has an original url
    assert cite.online_citation(doc, "二、任务").endswith("[{accessed}]. {url}.")


def test_online_citation_of_news_keeps_the_paper_as_source():
    doc = {"type": "news", "title": "专题报道", "publisher": "长江日报", "date": "2025-02-27"}
    assert cite.online_citation(doc) == "专题报道[N/OL]. 长江日报, 2025-02-27[{accessed}]. {url}."
