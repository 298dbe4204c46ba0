"""kb.split: passages, their length and their heading trails.

Real-report tests check what a reader of the knowledge base sees (whole sentences,
sensible lengths, the right section); synthetic tests pin each rule."""

import re
import statistics
from pathlib import Path

import pytest

from kb.clean import clean
from kb.read import read_document
from kb.split import ends_sentence, sentences, split

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
DOC_IDS = sorted(p.stem for p in CORPUS.glob("*.txt"))
# characters a sentence cannot start with: a passage starting with one continues another
MAX_LEN = 800  # no passage longer, unless it is one sentence
CONTINUATION_START = "，。、；：！？”’）)》」』…,.;:!?%"


@pytest.fixture(scope="module")
def passages():
    out = {}
    for doc_id in DOC_IDS:
        doc = read_document(CORPUS / f"{doc_id}.txt")
        out[doc_id] = split(clean(doc["text"], doc))
    return out


def doc_of(prefix):
    return next(d for d in DOC_IDS if d.startswith(prefix))


def starting(passages, prefix, start):
    found = [p for p in passages[doc_of(prefix)] if p["text"].startswith(start)]
    assert found, f"no passage starts with {start!r}"
    return found[0]


# ---------------------------------------------------------------- the five reports


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_passages_are_whole_sentences(passages, doc_id):
    for p in passages[doc_id]:
        text = p["text"]
        # a lead-in ending with a colon ("主要有以下做法：") ends its paragraph
        assert ends_sentence(text, colon=True), f"ends mid-sentence: …{text[-30:]}"
        assert text[0] not in CONTINUATION_START, f"starts with a fragment: {text[:30]}…"
        assert "\n" not in text and text == text.strip()


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_passage_lengths(passages, doc_id):
    lengths = [len(p["text"]) for p in passages[doc_id]]
    assert 100 <= statistics.median(lengths) <= 400
    for p in passages[doc_id]:
        if len(p["text"]) > MAX_LEN:
            assert len(sentences(p["text"])) == 1, "only a single sentence may exceed 800"
        # fragments under 15 characters are attached to a neighbour
        assert len(p["text"]) >= 15, p["text"]


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_positions_and_no_heading_passages(passages, doc_id):
    ps = passages[doc_id]
    assert [p["position"] for p in ps] == list(range(len(ps)))
    for p in ps:
        assert all(isinstance(s, str) and s for s in p["section"])
        assert p["text"] not in p["section"], "a pure heading became a passage"
        assert not p["text"].startswith("#")


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_split_is_deterministic(doc_id):
    doc = read_document(CORPUS / f"{doc_id}.txt")
    assert split(clean(doc["text"], doc)) == split(clean(doc["text"], doc))


def test_no_furniture_in_passages(passages):
    for doc_id, ps in passages.items():
        text = "\n".join(p["text"] for p in ps)
        assert not re.search(r"—\d+—|敬请阅读末页的免责声明|星期四", text), doc_id


def test_guangzhou_paragraph_is_under_guangzhou(passages):
    p = starting(passages, "002", "近年来，广州市着力打造")
    assert p["section"] == ["一、先行地区经验做法", "（三）广州市"]
    later = starting(passages, "002", "在拓宽融资渠道方面")
    assert later["section"] == ["一、先行地区经验做法", "（三）广州市"]
    suzhou = starting(passages, "002", "在构建科技金融政策体系方面")
    assert suzhou["section"][-1] == "（一）苏州市"


def test_inline_heading_goes_to_the_trail_and_stays_in_the_text(passages):
    p = starting(passages, "002", "（一）突出政府引导。科技创新高投入")
    assert p["section"] == ["二、主要启示", "（一）突出政府引导"]
    p = starting(passages, "002", "（四）推动体制机制创新。")
    assert p["section"] == ["三、我市发展科技金融的建议", "（四）推动体制机制创新"]


def test_nested_numbered_headings_in_003(passages):
    p = starting(passages, "003", "银行信贷作为科创企业的重要融资途径")
    assert p["section"] == ["二、“十四五”时期科创金融发展重点", "（二）优化科创金融产品服务",
                            "1.持续优化科技信贷产品"]
    # a new （三） replaces （二） and its "1." child
    p = starting(passages, "003", "当前，银行等金融机构更倾向于支持成长期")
    assert p["section"] == ["二、“十四五”时期科创金融发展重点", "（三）拓宽科创企业直融渠道",
                            "1.规范发展私募股权投资"]
    # a level-2 heading with no "1." child below it
    p = starting(passages, "003", "对于科创企业而言，知识产权是其重要资产之一")
    assert p["section"] == ["二、“十四五”时期科创金融发展重点", "（四）创新发展知识产权金融"]
    # the summary box and the introduction come before any heading
    assert passages[doc_of("003")][0]["section"] == []


def test_policy_items_in_004(passages):
    p = starting(passages, "004", "8. 创新推广科技信贷产品。")
    assert p["section"] == ["二、主要任务", "(二)实施科技信贷提质行动", "8. 创新推广科技信贷产品"]
    assert p["text"].endswith("武汉金控集团、武汉投控集团)")
    p = starting(passages, "004", "20. 健全科技金融绩效评估机制。")
    assert p["section"][-1] == "20. 健全科技金融绩效评估机制"
    p = starting(passages, "004", "建立由市委金融办、市科技创新局牵头")
    assert p["section"] == ["三、保障措施"]
    notice = passages[doc_of("004")][0]
    assert notice["section"] == [] and "的通知 各区人民政府" in notice["text"]


def test_newspaper_articles_are_sections(passages):
    ps = passages[doc_of("001")]
    articles = []
    for p in ps:
        if p["section"][0] not in articles:
            articles.append(p["section"][0])
    assert articles == ["武汉投控集团", "汉口银行", "武汉农商行", "武汉金控集团",
                        "市委金融办、市科创局：认真做好科技金融大文章 助力科技创新和产业创新融合发展"]
    p = starting(passages, "001", "积极打造科创基金集群")
    assert p["section"] == ["武汉投控集团", "百亿元耐心资本孵育科技“幼苗” 激发创新活力"]
    # an article's lead paragraph is not under the previous article's last headline
    p = starting(passages, "001", "在武汉加速推进科技创新与产业升级的关键时期")
    assert p["section"] == ["汉口银行"]
    p = starting(passages, "001", "政银企联动，打通融资“最后一公里”")
    assert p["section"] == ["汉口银行", "生态共建协同发力 激活服务科创新动能"]


def test_commentary_headlines_rank_above_numbered_items(passages):
    p = starting(passages, "000", "一、以重要国家战略区为重点")
    assert p["section"] == ["点亮火炬——推动全国科技金融业大发展",
                            "一、以重要国家战略区为重点，以高新区、科创产业园区为依托，大力推广科技金融先行先试成果"]
    p = starting(passages, "000", "以东湖高新区为核心")
    assert p["section"] == ["光谷之光——全国科技金融业发展高地"]


# ---------------------------------------------------------------- synthetic inputs


def sentence(n, length=60):
    body = f"第{n}句" + "内容" * ((length - 4) // 2)
    return body[:length - 1] + "。"


def test_long_paragraph_is_cut_at_sentence_ends():
    paragraph = "".join(sentence(n) for n in range(30))  # 1800 characters
    ps = split([paragraph])
    assert len(ps) > 1
    assert "".join(p["text"] for p in ps) == paragraph
    for p in ps:
        assert p["text"].endswith("。") and p["text"].startswith("第")
        assert 100 <= len(p["text"]) <= MAX_LEN


def test_no_passage_over_800_even_with_long_sentences():
    # short and long sentences alternate: the chunk goal alone would overshoot 800
    paragraph = "".join(sentence(n, 100 if n % 2 else 750) for n in range(6))
    ps = split([paragraph])
    assert len(ps) >= 3
    assert all(len(p["text"]) <= MAX_LEN for p in ps)
    assert "".join(p["text"] for p in ps) == paragraph


def test_a_single_sentence_longer_than_800_stays_whole():
    giant = "长" * 900 + "。"
    ps = split([giant, "下一段。" * 5])
    assert ps[0]["text"] == giant
    assert ps[1]["text"] == "下一段。" * 5


def test_short_paragraph_stays_whole_and_short_fragments_are_attached():
    paragraph = "".join(sentence(n) for n in range(12)) + "是的。" + "".join(
        sentence(n) for n in range(12, 20))
    ps = split([paragraph])
    assert not any(p["text"].startswith("是的。") for p in ps)
    assert any("是的。" in p["text"] for p in ps)


def test_parenthetical_remark_stays_with_its_sentence():
    paragraph = "".join(sentence(n) for n in range(9)) + "(责任单位:市委金融办、市科技创新局)"
    ps = split(["1. 某项任务。" + paragraph])
    assert ps[-1]["text"].endswith("(责任单位:市委金融办、市科技创新局)")
    assert not ps[-1]["text"].startswith("(")


def test_quotes_after_the_full_stop_belong_to_the_sentence():
    paragraph = ("“心中有梦，眼里有光，行而不辍，未来可期。”" + sentence(1)) * 8
    ps = split([paragraph])
    for p in ps:
        assert not p["text"].startswith("”")


def test_heading_levels_replace_deeper_entries():
    ps = split(["一、总体要求", "（一）基本原则", "1. 第一项", "（1）细目", "正文甲。",
                "2. 第二项", "正文乙。", "（二）主要目标", "正文丙。", "二、主要任务", "正文丁。"])
    assert [(p["section"], p["text"]) for p in ps] == [
        (["一、总体要求", "（一）基本原则", "1. 第一项", "（1）细目"], "正文甲。"),
        (["一、总体要求", "（一）基本原则", "2. 第二项"], "正文乙。"),
        (["一、总体要求", "（二）主要目标"], "正文丙。"),
        (["二、主要任务"], "正文丁。"),
    ]


def test_ascii_numbering_and_inline_headings():
    ps = split(["(一)实施耐心资本培育行动",
                "1. 强化政府投资基金引导作用。政府投资基金参与种子基金的出资比例提高至50%以上。",
                "（三）广州市", "近年来，广州市着力打造科技金融生态圈。"])
    assert ps[0]["section"] == ["(一)实施耐心资本培育行动", "1. 强化政府投资基金引导作用"]
    assert ps[0]["text"].startswith("1. 强化政府投资基金引导作用。政府投资基金")
    assert ps[1]["section"] == ["（三）广州市"]


def test_headlines_and_markdown_headings():
    ps = split(["# 武汉投控集团", "导语在这里。", "百亿元耐心资本孵育科技“幼苗” 激发创新活力",
                "一、第一点内容", "正文。", "# 汉口银行", "另一篇文章的正文。"])
    assert [(p["section"], p["text"]) for p in ps] == [
        (["武汉投控集团"], "导语在这里。"),
        (["武汉投控集团", "百亿元耐心资本孵育科技“幼苗” 激发创新活力", "一、第一点内容"], "正文。"),
        (["汉口银行"], "另一篇文章的正文。"),
    ]


def test_numbers_that_are_not_headings():
    ps = split(["2.4亿元的贷款已经发放到位。", "2025年，全市新增贷款。"])
    assert [p["section"] for p in ps] == [[], []]


def test_positions_count_passages_not_paragraphs():
    paragraph = "".join(sentence(n) for n in range(20))
    ps = split(["一、标题", paragraph, "短段落也是一段。"])
    assert [p["position"] for p in ps] == list(range(len(ps)))
    assert ps[-1]["text"] == "短段落也是一段。"


def test_cleaning_and_splitting_scale_linearly():
    """A 1 MB document (the newspaper pages 40 times) must not take quadratic time;
    one ~25 KB report takes a few milliseconds."""
    import time

    doc = read_document(CORPUS / f"{doc_of('001')}.txt")
    big = dict(doc, id="big", text=doc["text"] * 40)
    start = time.process_time()
    passages = split(clean(big["text"], big))
    elapsed = time.process_time() - start
    assert len(passages) > 1000
    assert elapsed < 10, f"{elapsed:.1f} s for 1 MB"  # ~0.3 s on an idle machine
