"""kb.clean: furniture removal, wrap rejoining and space tidying.

The first half runs on the five real reports; the second on small synthetic inputs,
one per heuristic, so a regression points at the rule that broke."""

import re
from pathlib import Path

import pytest

from kb.clean import clean
from kb.read import read_document

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
DOC_IDS = sorted(p.stem for p in CORPUS.glob("*.txt"))
CJK = "\u4e00-\u9fff"


@pytest.fixture(scope="module")
def docs():
    return {doc_id: read_document(CORPUS / f"{doc_id}.txt") for doc_id in DOC_IDS}


@pytest.fixture(scope="module")
def cleaned(docs):
    return {doc_id: clean(doc["text"], doc) for doc_id, doc in docs.items()}


def doc_of(prefix):
    return next(d for d in DOC_IDS if d.startswith(prefix))


def norm(text):
    return re.sub(r"\s+", "", text)


def mini(text, type_="report", title="无关标题", publisher="某机构", doc_id="t"):
    """clean() on a synthetic document."""
    return clean(text, {"id": doc_id, "title": title, "type": type_, "publisher": publisher})


# ---------------------------------------------------------------- the five reports


def test_all_five_documents_are_present():
    assert len(DOC_IDS) == 5


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_no_page_furniture_left(cleaned, doc_id):
    text = "\n".join(cleaned[doc_id])
    assert not re.search(r"[—–-]\s*\d+\s*[—–-]", text), "page number"
    assert "敬请阅读末页的免责声明" not in text
    assert "兴泰智库研究报告" not in text
    assert "星期" not in text, "newspaper date line"
    assert "抄送" not in text and "日印发" not in text, "版记 of the notice"
    assert "武政办〔2025〕67" not in text and not any(p.endswith("文件") for p in cleaned[doc_id])
    assert not any(re.fullmatch(r"\d+", p) for p in cleaned[doc_id]), "bare page number"


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_title_is_not_repeated_in_the_text(docs, cleaned, doc_id):
    title = norm(docs[doc_id]["title"])
    paragraphs = cleaned[doc_id]
    assert all(norm(p) != title for p in paragraphs)
    # The title only survives where the text itself cites it: in 004's notice
    # ("关于印发《…》的通知"), never as a running title.
    citing = [p for p in paragraphs if title in norm(p)]
    assert all(p.startswith("市人民政府办公厅关于印发") for p in citing)


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_no_wrap_artefacts(cleaned, doc_id):
    for p in cleaned[doc_id]:
        assert "\n" not in p and p == p.strip()
        # extraction spaces between CJK and digits ("2020年 GDP", "42 所") are gone
        assert not re.search(rf"[{CJK}] +[0-9A-Za-z]|[0-9A-Za-z%] +[{CJK}]", p), p


def test_blank_line_inside_a_sentence_is_rejoined(cleaned):
    # 001: "最早一批项目投资" / blank line / "时间已近10年"
    assert any("最早一批项目投资时间已近10年" in p for p in cleaned[doc_of("001")])
    # 001: a paragraph's first line ends with "。" but the paragraph goes on
    assert any("武汉是全国最早探索科技金融融合发展的城市之一。2007年" in p for p in cleaned[doc_of("001")])
    # 000: every wrapped line is followed by a blank line
    assert any("正加速塑造湖北省在中部地区乃至全国科技创新版图中的优势地位" in p
               for p in cleaned[doc_of("000")])


def test_footer_inside_a_sentence_does_not_cut_it(cleaned):
    # 003: "济南、西安和" / page footer (two lines) / "东莞等地也提出…"
    assert any("济南、西安和东莞等地也提出加强知识产权交易运营平台建设" in p
               for p in cleaned[doc_of("003")])


def test_paragraph_first_lines_are_not_taken_for_headlines(cleaned):
    # 001 lost its first-line indents: these first lines are short and comma-free
    paragraphs = cleaned[doc_of("001")]
    for start in ("推动设立百亿规模科技基金、所投项目有111家成功挂牌上市",
                  "武汉投控集团作为市属唯一的国有资本投资运营公司",
                  "在武汉加速推进科技创新与产业升级的关键时期，汉口银行"):
        assert any(p.startswith(start) for p in paragraphs), start


def test_newspaper_headlines_are_their_own_paragraphs(cleaned):
    paragraphs = cleaned[doc_of("001")]
    assert "百亿元耐心资本孵育科技“幼苗” 激发创新活力" in paragraphs
    assert "向“新”而行 以“质”致远 全生命周期金融服务倾注科创企业" in paragraphs


def test_newspaper_articles_get_outermost_headings(cleaned):
    headings = [p for p in cleaned[doc_of("001")] if p.startswith("# ")]
    assert headings == ["# 武汉投控集团", "# 汉口银行", "# 武汉农商行", "# 武汉金控集团",
                        "# 市委金融办、市科创局：认真做好科技金融大文章 助力科技创新和产业创新融合发展"]


def test_captions_and_summary_boxes_are_dropped(cleaned):
    text = "\n".join(cleaned[doc_of("001")])
    assert "驾 驶 芯 片" not in text and "助力武汉本土企业" not in text  # narrow photo caption
    assert "平台持续丰富平台政策产品" not in text          # narrow photo caption
    assert "签订战略合作协议" not in text                  # narrow photo caption
    assert "武汉农村商业银行坚持专注主业" not in text      # curated caption
    assert "聚力建支点" not in text                        # page banner
    # summary box: a shortened repeat of the opening of the 市委金融办 article
    assert "通过政策引领、产品创新等多维发力" not in text
    assert "通过政策引领、产品创新、服务升级、生态优化等多维发力" in text
    # the displaced headline is used once, as the article heading
    assert text.count("认真做好科技金融大文章") == 1


def test_summary_that_is_not_a_repeat_is_kept(cleaned):
    paragraphs = cleaned[doc_of("003")]
    assert paragraphs[0].startswith("内容摘要：科创金融在各地金融规划中“频现”")
    assert "（二）优化科创金融产品服务" in paragraphs
    assert "1.持续优化科技信贷产品" in paragraphs
    for point in ("一是争取政策，努力走在前列。", "二是突出特色，形成合肥经验。", "三是学习先进，及时补齐短板。"):
        assert any(p.startswith(point) for p in paragraphs), point


def test_notice_is_one_passage_without_header_and_signature(cleaned):
    paragraphs = cleaned[doc_of("004")]
    notice = paragraphs[0]
    assert notice.startswith("市人民政府办公厅关于印发武汉市推动科技金融高质量发展 加快建设")
    assert "的通知 各区人民政府,市人民政府各部门:《武汉市" in notice
    assert notice.endswith("请认真组织实施。")
    assert paragraphs[1].startswith("为贯彻落实习近平总书记")
    assert "武汉市人民政府办公厅" not in paragraphs
    assert not any(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", p) for p in paragraphs)


def test_004_keeps_ascii_punctuation_as_printed(cleaned):
    paragraphs = cleaned[doc_of("004")]
    assert "(一)实施耐心资本培育行动" in paragraphs
    item8 = next(p for p in paragraphs if p.startswith("8. 创新推广科技信贷产品。"))
    assert item8.endswith("(责任单位:市委金融办、市科技创新局、市经信局、市财政局,汉口银行、"
                          "武汉农商行、武汉金控集团、武汉投控集团)")
    # the displaced 版记 between items 19 and 20 is gone, item 20 follows item 19
    i19 = next(i for i, p in enumerate(paragraphs) if p.startswith("19. "))
    assert paragraphs[i19 + 1].startswith("20. 健全科技金融绩效评估机制。")


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_clean_is_deterministic(docs, doc_id):
    doc = docs[doc_id]
    assert clean(doc["text"], doc) == clean(doc["text"], doc)


# ---------------------------------------------------------------- synthetic inputs


WRAPPED_WITH_BLANKS = """
这是第一段的第一行文字内容，长度和其他行一样宽宽宽宽

这是第一段的第二行文字内容，长度和其他行一样宽宽宽宽

这是第一段的最后一行。

一、总体目标

这是第二段的第一行文字内容，长度和其他行一样宽宽宽宽

这是第二段的最后一行文字。
"""


def test_blank_lines_between_wrapped_lines_are_not_paragraph_breaks():
    assert mini(WRAPPED_WITH_BLANKS) == [
        "这是第一段的第一行文字内容，长度和其他行一样宽宽宽宽这是第一段的第二行文字内容，"
        "长度和其他行一样宽宽宽宽这是第一段的最后一行。",
        "一、总体目标",
        "这是第二段的第一行文字内容，长度和其他行一样宽宽宽宽这是第二段的最后一行文字。",
    ]


def test_full_line_ending_a_sentence_does_not_end_the_paragraph():
    text = ("第一行正好在句号处结束，但这一段还没有结束啊。\n\n"
            "第二行接着写下去，仍然是同一段的文字内容呀\n\n"
            "结束。\n")
    assert mini(text) == ["第一行正好在句号处结束，但这一段还没有结束啊。"
                          "第二行接着写下去，仍然是同一段的文字内容呀结束。"]


def test_heading_line_is_not_joined_with_the_next_line():
    text = ("前面一段的内容写在这里，一直写到这一行的行尾处\n"
            "结束了。\n"
            "（一）设立科创金融专营机构\n"
            "设立面向科创企业的专营金融机构，是科创金融发展\n"
            "的重要基础。\n")
    assert mini(text) == [
        "前面一段的内容写在这里，一直写到这一行的行尾处结束了。",
        "（一）设立科创金融专营机构",
        "设立面向科创企业的专营金融机构，是科创金融发展的重要基础。",
    ]


def test_numbered_item_starts_a_paragraph_even_when_the_line_is_full():
    text = ("上一项的内容到这里结束。 (责任单位:市财政局)\n\n"
            "2. 拓宽科技创新长期资本来源。 用好金融资产投资公司\n\n"
            "(AIC)股权投资试点政策,吸引保险资金参与试点工作。\n")
    assert mini(text) == [
        "上一项的内容到这里结束。(责任单位:市财政局)",
        "2. 拓宽科技创新长期资本来源。用好金融资产投资公司(AIC)股权投资试点政策,吸引保险资金参与试点工作。",
    ]


def test_page_number_line_is_removed_and_the_sentence_rejoined():
    text = ("这一句话在页面底部被切断了，后面的内容在下\n\n"
            "—5—\n\n\n"
            "一页继续，直到句子真正结束的地方才算完。\n")
    assert mini(text) == ["这一句话在页面底部被切断了，后面的内容在下一页继续，直到句子真正结束的地方才算完。"]


def test_running_footer_with_page_number_is_removed():
    text = ("正文的第一行内容写在这里，一直写到行尾处为\n\n"
            "兴泰智库研究报告 从金融规划看“十四五”时期科创金融发展\n\n"
            "敬请阅读末页的免责声明 8\n\n"
            "止，然后结束。\n")
    assert mini(text) == ["正文的第一行内容写在这里，一直写到行尾处为止，然后结束。"]


def test_newspaper_date_line_is_removed():
    text = ("\n4 52025年2月27日 星期四2025年2月27日 星期四\n\n"
            "推动设立百亿规模科技基金的消息今天发布。\n")
    assert mini(text, type_="news") == ["推动设立百亿规模科技基金的消息今天发布。"]


COLUMN = "这一行是排满整个版心宽度的正文，用来确定折行的宽度呀"  # a full-width line


def test_wrapped_and_repeated_title_is_removed():
    title = "区域观察：“光谷之光”点亮我国科技金融发展火炬"
    text = (" 区域观察：“光谷之光”点亮我国科技金融\n\n发展火炬 \n\n"
            "导语的内容写在这里。\n"
            " 区域观察：“光谷之光”点亮我国科技金融发展火炬 \n\n"
            f"{COLUMN}\n\n正文的内容写在这里。\n")
    assert mini(text, title=title) == ["导语的内容写在这里。", COLUMN + "正文的内容写在这里。"]


def test_line_repeated_on_every_page_is_a_running_header():
    bodies = [COLUMN, "第二页的正文完全不同，讲的是另外一件事情的来龙去脉", "第三页又是新的内容，同样排满了整整一行的宽度啊啊"]
    pages = [f"某某证券研究所专题报告\n\n{body}\n\n本页完。\n\n" for body in bodies]
    assert mini("".join(pages)) == [body + "本页完。" for body in bodies]


def test_extraction_spaces_around_digits_are_removed_but_headline_spaces_kept():
    text = ("东湖高新区 2020年 GDP仍逆势增长 5.1%，集聚了 42 所高等院校。 此外还有更多。\n\n"
            "向“新”而行 以“质”致远\n\n"
            "后面的正文。\n")
    assert mini(text) == ["东湖高新区2020年GDP仍逆势增长5.1%，集聚了42所高等院校。此外还有更多。",
                          "向“新”而行 以“质”致远", "后面的正文。"]


NEWSPAPER = """
推动设立百亿规模科技基金、所投项目有多家企
业成功挂牌上市，这些是集团深度参与科技企业
全生命发展周期的生动实践。

百亿元耐心资本孵育科技“幼苗”
激发创新活力

集团依托管理的武汉基金及权属企业武创投自
有基金，积极搭建科创服务平台、推动科技成果
转化，助力科技企业发展壮大。

武汉投控集团
助力本土企
业上市。
"""


def test_newspaper_headline_and_photo_caption():
    assert mini(NEWSPAPER, type_="news") == [
        "推动设立百亿规模科技基金、所投项目有多家企业成功挂牌上市，这些是集团深度参与"
        "科技企业全生命发展周期的生动实践。",
        "百亿元耐心资本孵育科技“幼苗” 激发创新活力",
        "集团依托管理的武汉基金及权属企业武创投自有基金，积极搭建科创服务平台、推动科技"
        "成果转化，助力科技企业发展壮大。",
    ]


def test_paragraph_first_line_shortened_by_lost_indent_is_not_a_headline():
    text = ("上一段的内容写在这里，到这里就结束了呀。\n\n"
            "武汉投控集团作为市属唯一的国有\n"
            "资本投资运营公司，始终围绕全市产业\n"
            "集群投资布局，全面助力中心建设。\n")
    assert mini(text, type_="news") == [
        "上一段的内容写在这里，到这里就结束了呀。",
        "武汉投控集团作为市属唯一的国有资本投资运营公司，始终围绕全市产业集群投资布局，全面助力中心建设。",
    ]


def test_first_line_ending_a_sentence_does_not_end_the_paragraph():
    # the first line is short only because extraction dropped its 2-character indent
    text = ("上一段的内容写在这里，到这里就结束了呀。\n\n"
            "武汉是最早探索科技金融的城市。\n"
            "2007年，武汉被确定为全国首批科技保险创新\n"
            "试点地区，此后又获批多项国家级的试点。\n")
    assert mini(text, type_="news") == [
        "上一段的内容写在这里，到这里就结束了呀。",
        "武汉是最早探索科技金融的城市。2007年，武汉被确定为全国首批科技保险创新试点地区，此后又获批多项国家级的试点。",
    ]


def test_enumerated_point_after_a_full_stop_starts_a_paragraph():
    # every line is full width: only the "二是" cue tells where a paragraph starts
    text = ("一是争取政策，努力走在前列。这一行排满了整个版心的宽度。\n\n"
            "二是突出特色，形成经验。这一行同样排满了版心的宽度。\n\n"
            "三是内容很多，一是指第一点内容，写满了这一行的宽；\n\n"
            "二是指第二点内容，它不是新的段落，而是接着上一行。\n")
    assert mini(text) == ["一是争取政策，努力走在前列。这一行排满了整个版心的宽度。",
                          "二是突出特色，形成经验。这一行同样排满了版心的宽度。",
                          "三是内容很多，一是指第一点内容，写满了这一行的宽；"
                          "二是指第二点内容，它不是新的段落，而是接着上一行。"]


def test_near_duplicate_summary_box_is_dropped():
    body = ("近年来，武汉坚持创新驱动发展战略，致力打造具有全国影响力的科技创新中心，以建设"
            "全国科技金融中心为目标，不断深化科技与金融融合创新，通过政策引领、产品创新、服务"
            "升级、生态优化等多维发力，为科技创新注入强劲动能。")
    summary = "武汉以建设全国科技金融中心为目标，不断深化科技与金融融合创新，通过政策引领、产品创新等多维发力，为科技创新注入强劲动能。"
    other = "武汉是全国最早探索科技金融融合发展的城市之一，这一点与上文并不重复。"
    assert mini(f"{body}\n\n{other}\n\n{summary}\n") == [body, other]


def test_unwrapped_document_has_one_paragraph_per_line():
    long1 = "这是一个很长的段落。" * 30
    long2 = "这是另一个很长的段落，内容并不相同。" * 20
    text = f"{long1}\n\n（一）苏州市\n\n{long2}\n\n具体实践中，主要有以下做法：\n\n{long1}\n"
    assert mini(text) == [long1, "（一）苏州市", long2 + "", "具体实践中，主要有以下做法：" + long1]


def test_leadin_label_is_joined_to_its_text():
    text = f" 内容摘要：\n\n 摘要的正文写在这里，共有一句话。\n\n{COLUMN}\n\n正文开始了。\n"
    assert mini(text) == ["内容摘要：摘要的正文写在这里，共有一句话。", COLUMN + "正文开始了。"]


def test_curated_sections_for_a_document_id():
    text = "推动设立百亿规模科技基金的消息今天发布。\n\n聚力建支点 夺取开门红\n"
    assert mini(text, type_="news", doc_id="001_05ab9e2092abd6e3") == [
        "# 武汉投控集团", "推动设立百亿规模科技基金的消息今天发布。"]


# ---------------------------------------------------------------- web pages, reposts, glued items

WEB_PAGE = """首页 > 政务公开 > 政策文件
今天是2024年5月6日 星期一
首页 机构概况 政务公开 办事服务 互动交流
关于进一步支持科技金融发展的若干措施
发布时间：2024-05-06 10:20 来源：市地方金融管理局 【字体：大 中 小】
浏览次数：1234
为加快科技金融发展，制定以下措施。
一、设立科技支行，给予每家科技支行开办补助。
（图为科技支行揭牌现场）
本报记者 张三 李四
【打印】【关闭】
分享到：
上一篇：关于开展2024年度评审工作的通知
下一篇：市金融局召开工作会议
版权所有：某市人民政府 ICP备12345678号
"""


def test_web_page_furniture_is_dropped_and_recorded():
    dropped = []
    paragraphs = clean(WEB_PAGE, {"id": "web", "type": "policy",
                                  "title": "关于进一步支持科技金融发展的若干措施"}, furniture=dropped)
    assert paragraphs == ["为加快科技金融发展，制定以下措施。",
                          "一、设立科技支行，给予每家科技支行开办补助。"]
    for line in ("首页 > 政务公开 > 政策文件", "浏览次数：1234", "【打印】【关闭】",
                 "上一篇：关于开展2024年度评审工作的通知", "本报记者 张三 李四"):
        assert line in dropped


@pytest.mark.parametrize("line", [
    "记者：请问今年的科技信贷投放有什么新举措？",     # an interview question is text
    "来源广泛的社会资本参与设立基金。",
    "分享经验做法，推广典型案例。",
    "首批科技支行挂牌。",
])
def test_web_patterns_leave_ordinary_sentences_alone(line):
    assert clean(line + "\n", {"id": "x"}) == [line]


def test_transcoding_residue_is_removed_before_cues_are_matched():
    text = "推動科技創(chuàng)新與融資擔(dān)保體系建設，發(fā)展綠(lǜ)色金融（PPP）。\n"
    assert clean(text, {"id": "tw"}) == ["推動科技創新與融資擔保體系建設，發展綠色金融（PPP）。"]


def test_numbered_items_glued_on_one_line_become_paragraphs():
    text = ("（一）加大信贷投放。银行扩大科技贷款。（二）发展创业投资。设立天使母基金；"
            "（三）完善融资担保。详见第（五）项。\n")
    assert clean(text, {"id": "g"}) == ["（一）加大信贷投放。银行扩大科技贷款。",
                                        "（二）发展创业投资。设立天使母基金；",
                                        "（三）完善融资担保。详见第（五）项。"]


def test_a_quoted_item_number_does_not_cut_a_paragraph():
    text = "按照本措施执行。（三）项所列补助由市财政承担。\n"
    assert clean(text, {"id": "q"}) == ["按照本措施执行。（三）项所列补助由市财政承担。"]


def test_copied_web_text_keeps_one_paragraph_per_line():
    # every paragraph is one long line and a blank line follows every line
    text = ("今年以来，全市持续深化科技金融改革，推动金融资源向科技型企业集聚，成效明显。\n\n"
            "在融资担保方面，政府性融资担保机构的担保费率降至1%以下。\n\n"
            "（一）上海：突出资本市场功能\n\n"
            "上海依托科创板，建立上市后备企业梯度培育机制。\n")
    assert mini(text) == ["今年以来，全市持续深化科技金融改革，推动金融资源向科技型企业集聚，成效明显。",
                          "在融资担保方面，政府性融资担保机构的担保费率降至1%以下。",
                          "（一）上海：突出资本市场功能",
                          "上海依托科创板，建立上市后备企业梯度培育机制。"]


def test_traditional_furniture_and_newspaper_masthead_are_dropped():
    text = ("山城日报数字报\n通版阅读　上一版　下一版\n第004版：经济\n"
            "2023-08-16 09:12　來源：西安日報　作者：記者 陳默\n"
            "記者　何川　攝\n"
            "全市科技型企業貸款余額達到3250億元。\n"
            "責任編輯：王一\n免責聲明：本網轉載內容僅供參考。\n")
    assert mini(text) == ["全市科技型企業貸款余額達到3250億元。"]


def test_numbered_heading_glued_to_its_first_item_is_cut():
    text = ("一、强化信贷支持（一）鼓励银行机构单列信贷计划，推广“人才贷”。（二）对首贷给予奖励。\n"
            "二、发展股权投资（一）市母基金重点投资早期项目。\n")
    assert clean(text, {"id": "h"}) == ["一、强化信贷支持", "（一）鼓励银行机构单列信贷计划，推广“人才贷”。",
                                        "（二）对首贷给予奖励。", "二、发展股权投资", "（一）市母基金重点投资早期项目。"]


def test_text_without_a_column_keeps_one_paragraph_per_line():
    # copied from a web page: one paragraph per line, no blank lines, no common width
    text = ("截至10月末，全市科技型企业贷款余额突破二千三百亿元，较年初增长19%。两个区设立的区级风险补偿资金池合计规模达三亿元。\n"
            "江阴市推出“科创积分贷”，已为八十余家企业授信。\n"
            "与苏州、常州相比，我市知识产权质押融资规模仍有差距，下一步将加大力度。\n")
    assert mini(text) == [line for line in text.splitlines()]


def test_hard_wrapped_text_with_a_column_is_still_rejoined():
    text = ("这是一段排版后被硬换行的文字，每一行都排满了版心的宽度。\n"
            "第二行同样排满了整个版心的宽度，句子在这里还没结束呀\n"
            "第三行也排满了整个版心的宽度，直到这里句子才结束了。\n"
            "短的末行。\n")
    assert mini(text) == ["这是一段排版后被硬换行的文字，每一行都排满了版心的宽度。第二行同样排满了整个版心的宽度，"
                          "句子在这里还没结束呀第三行也排满了整个版心的宽度，直到这里句子才结束了。短的末行。"]


def test_lines_of_unequal_widths_are_not_a_column():
    # a saved web page: paragraphs of 40–76 characters, one per line, none wrapped
    lines = ["十一月十九日，南山区举办科技金融政策宣讲会暨银企对接会，区工业和信息化局、区财政局及辖区二十余家银行、创投机构与近百家科技型企业参加。",
             "会上发布了若干措施。措施提出，区级天使母基金规模将扩大至五十亿元，重点投向人工智能、生物医药等领域的早期项目。",
             "截至十月末，全区科技型企业贷款余额达到两千八百亿元，占全区企业贷款的六成以上，同比明显增长。",
             "对首次获得银行贷款的科技型企业，区财政按贷款利息的一半给予贴息；对知识产权质押贷款给予全额贴息。",
             "与其他城区相比，南山区在创业投资集聚方面具有优势，但仍有提升空间。",
             "下一步，南山区将举办企业上市培训，帮助更多科技型企业登陆资本市场。"]
    assert mini("\n".join(lines) + "\n") == lines


# ---------------------------------------------------------------- lines read in parallel slices


def test_lines_read_in_parallel_slices_clean_the_same(docs, monkeypatch):
    """Every real report, read in slices by forked workers, cleans to the same paragraphs
    and drops the same furniture."""
    import kb.clean as kbclean

    monkeypatch.setattr(kbclean, "PARALLEL_LINES", 1)
    for doc_id, doc in docs.items():
        serial, parallel = [], []
        expected = clean(doc["text"], doc, furniture=serial)
        assert clean(doc["text"], doc, furniture=parallel, jobs=2) == expected, doc_id
        assert parallel == serial, doc_id
