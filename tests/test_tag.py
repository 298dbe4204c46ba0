"""The tag stage: subject cities, mentions, provinces, instruments, years and ids."""

import hashlib
import time
from pathlib import Path

import pytest

from kb.analysis import normalize
from kb.tag import explain, tag_passages
from kb.vocab import load_vocab

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="module")
def vocab():
    return load_vocab()


def P(text, *section, position=0):
    return {"section": list(section), "text": text, "position": position}


def doc(home=None, doc_id="d1", year=2024):
    return {"id": doc_id, "home_city": home, "year": year}


def tag1(vocab, text, *section, home=None, year=2024):
    """Tag one passage in a document that is about one city (or no city)."""
    return tag_passages(doc(home, year=year), [P(text, *section)], vocab)[0]


# A comparative report: several other cities are the subjects of its passages.
COMPARATIVE = [
    P("苏州市坚持把金融作为科技创新的第一推动力。", "一、先行地区经验做法", "（一）苏州市"),
    P("合肥市自2022年获批建设国家科创金融改革试验区。", "一、先行地区经验做法", "（二）合肥市"),
    P("广州市着力打造科技金融生态圈。", "一、先行地区经验做法", "（三）广州市"),
]


def tag_in_comparative(vocab, passage, home="洛阳"):
    tagged = tag_passages(doc(home), COMPARATIVE + [passage], vocab)
    return tagged[-1]


# --------------------------------------------------------------------------- subject cities


def test_a_paragraph_inherits_the_city_of_its_section(vocab):
    p = tag_in_comparative(vocab, P("一是由政府出资4亿元设立科技型中小企业信贷风险损失补偿资金池，建立风险共担机制。",
                                    "一、先行地区经验做法", "（三）广州市"))
    assert p["cities"] == ["广州"]
    assert p["city_basis"] == {"广州": "heading"}
    assert p["mentions"] == ["广州"]


def test_explicit_subjects_in_the_text_beat_the_section(vocab):
    p = tag_in_comparative(vocab, P("南京提出建设科创金融改革试验标杆区。", "一、先行地区经验做法", "（三）广州市"))
    assert p["cities"] == ["南京"]
    assert p["city_basis"] == {"南京": "text"}
    assert "广州" not in p["mentions"]


@pytest.mark.parametrize("home, text", [
    ("洛阳", "本文对苏州市、合肥市、广州市的经验做法进行了研究分析，提出了我市加快发展科技金融工作的建议。"),
    ("合肥", "通过对各地金融规划进行梳理，除我市提出建设区域性科创金融中心发展目标外，众多城市也将科创金融列入发展目标。"),
    ("武汉", "武汉投控集团作为市属唯一的国有资本投资运营公司，始终围绕我市“965”产业集群投资布局。"),
])
def test_wo_shi_is_the_home_city_of_each_document(vocab, home, text):
    p = tag_in_comparative(vocab, P(text), home=home)
    assert home in p["cities"]
    assert p["city_basis"][home] in ("home", "text")


def test_wo_shi_without_a_home_city_names_nobody(vocab):
    assert tag1(vocab, "要探索建立我市科创金融统计制度。")["cities"] == []


def test_recommendations_under_a_wo_shi_heading_are_about_the_home_city(vocab):
    heading = "三、我市发展科技金融的建议"
    p = tag_in_comparative(vocab, P("优化财政支出结构，逐步提高财政科技支出比例，借鉴外地经验做法。",
                                    heading, "（一）加大政府支持力度"))
    assert p["cities"] == ["洛阳"] and p["city_basis"] == {"洛阳": "heading"}
    # …even when the recommendation cites another city's practice
    p = tag_in_comparative(vocab, P("合肥以国有基金为牵引构建“基金丛林”，值得推广。", heading))
    assert p["cities"] == ["合肥", "洛阳"]


def test_zai_luo_and_zai_han_are_the_city(vocab):
    p = tag_in_comparative(vocab, P("鼓励金融机构在洛设立“企业自主创新金融支持中心”。"))
    assert p["cities"] == ["洛阳"] and p["city_basis"] == {"洛阳": "alias"}
    p = tag1(vocab, "支持政府投资基金与在汉科研平台合作设立概念验证基金。")
    assert p["cities"] == ["武汉"]
    assert tag1(vocab, "在汉语中，这个词有多种含义。")["cities"] == []
    assert tag1(vocab, "他长期在洛杉矶工作。")["cities"] == []


@pytest.mark.parametrize("text, expected, absent", [
    ("联合深圳证券交易所建设“培育通”“科融通”武汉节点。", ["武汉"], "深圳"),
    ("达梦数据在上交所科技板正式发行，成为国产数据库领域第一股。", [], "上海"),
    ("广州提出支持广东股权交易中心建设“科技创新专板”。", ["广州"], "深圳"),
    ("东莞提出加强与广东股权交易中心合作，共同运营“莞创板”。", ["东莞"], "广州"),
    ("携手华中科技大学、武汉大学等产学研实践基地。", [], "武汉"),
    ("在上海南京路举办路演活动。", ["上海"], "南京"),
    ("支持企业在北京证券交易所上市。", [], "北京"),
])
def test_institution_names_are_neither_subjects_nor_mentions(vocab, text, expected, absent):
    p = tag_in_comparative(vocab, P(text))
    assert p["cities"] == expected
    assert absent not in p["mentions"]
    assert "广东" not in p["province"]


def test_a_city_before_lu_yan_is_still_the_city(vocab):
    assert tag1(vocab, "项目在南京路演后获得投资。")["cities"] == ["南京"]


@pytest.mark.parametrize("text, mentions", [
    ("推动长江城市群协同发展，九江城区也在其中。", ["九江"]),  # 江城 (Wuhan) only on its own; 九江 is a city
    ("沿海口岸和出海口建设。", []),                     # 海口 needs 海口市
    ("确保定期开展新乡村振兴调研，复合肥料供应充足。", []),
    ("全市场主体参与。", []),
    ("形成都市圈协同发展格局。", []),
    ("优化合肥市营商环境。", ["合肥"]),
    ("西安全面推进科创金融改革。", ["西安"]),
    ("成都会展经济快速发展。", ["成都"]),
    ("保定市、中山市、海口市均出台政策。", ["保定", "中山", "海口"]),
])
def test_city_names_inside_ordinary_words(vocab, text, mentions):
    assert tag1(vocab, text)["mentions"] == mentions


@pytest.mark.parametrize("text, city", [
    ("而在“中国光谷”，服务科创企业发展的专营机构已经具备一定数量规模。", "武汉"),
    ("据统计，东湖高新区已集聚科技银行专营机构24家。", "武汉"),
    ("汉口银行创新推出“人才贷”“武汉人才卡”等产品。", "武汉"),
    ("江城基金自2024年8月组建以来，持续发挥政府产业基金引导撬动作用。", "武汉"),
    ("“汉融通”平台已接入20.9亿条本地公共数据。", "武汉"),
    ("苏州工业园区管委会控股的元禾控股有限公司，共管理基金159支。", "苏州"),
    ("支持松山湖功能区构建覆盖创新全链条的融资服务体系。", "东莞"),
    ("围绕西部（重庆）科学城建设，建立完善科创投融资体系。", "重庆"),
    ("上海在浦东开展私募基金份额转让试点。", "上海"),
])
def test_aliases_name_their_city(vocab, text, city):
    p = tag_in_comparative(vocab, P(text))
    assert p["cities"] == [city]


def test_alias_basis_is_reported(vocab):
    p = tag1(vocab, "东湖高新区2020年GDP仍逆势增长5.1%。")
    assert p["city_basis"] == {"武汉": "alias"}
    assert tag1(vocab, "武汉市科创局构建“2+X”特色信贷体系。")["city_basis"] == {"武汉": "text"}


def test_a_passage_naming_several_cities_gets_all_of_them_in_order(vocab):
    p = tag_in_comparative(vocab, P("苏州、合肥、广州均建立了风险共担机制，有效分散信贷风险。", "二、主要启示"))
    assert p["cities"] == ["苏州", "合肥", "广州"]
    p = tag_in_comparative(vocab, P("串联武汉、鄂州、咸宁、黄冈、黄石城市主要功能板块和重要创新平台。"))
    assert p["cities"] == ["武汉", "鄂州", "咸宁", "黄冈", "黄石"]


def test_cities_only_cited_as_examples_are_mentions(vocab):
    text = ("三是学习先进，及时补齐短板。在知识产权金融发展方面，我市可考虑借鉴广州经验；"
            "在优化科创金融生态环境方面，可考虑借鉴重庆等地经验；也可对标上海、深圳的做法。")
    p = tag_in_comparative(vocab, P(text), home="合肥")
    assert p["cities"] == ["合肥"]
    assert set(p["mentions"]) == {"合肥", "广州", "重庆", "上海", "深圳"}
    why = explain(p, vocab, doc("合肥"))
    assert set(why["mentions_only"]) == {"广州", "重庆", "上海", "深圳"}


def test_generic_passages_of_a_comparative_report_get_no_city(vocab):
    p = tag_in_comparative(vocab, P("通过分析先行地区的做法，我们可以发现，发展科技金融需重点把握好以下四个关键：",
                                    "二、主要启示"))
    assert p["cities"] == [] and p["mentions"] == []


def test_generic_passages_of_a_one_city_document_default_to_its_city(vocab):
    passages = [P("武汉市推动科技金融高质量发展。"),
                P("推动商业银行设立科技金融专营机构。", "二、主要任务", "(二)实施科技信贷提质行动"),
                P("联合深圳证券交易所建设“培育通”“科融通”武汉节点。")]
    tagged = tag_passages(doc("武汉"), passages, vocab)
    assert tagged[1]["cities"] == ["武汉"]
    assert tagged[1]["city_basis"] == {"武汉": "default"}
    assert tagged[1]["mentions"] == ["武汉"]


def test_quan_shi_means_the_city_in_context(vocab):
    # under the Hefei section 全市 is Hefei…
    p = tag_in_comparative(vocab, P("试验区获批以来，全市年均财政科技支出近250亿元。",
                                    "一、先行地区经验做法", "（二）合肥市"))
    assert p["cities"] == ["合肥"]
    # …and with no city in sight it is the author's city, even in a comparative report
    p = tag_in_comparative(vocab, P("建立全市科技金融服务平台，强化数据归集、银企对接功能。"))
    assert p["cities"] == ["洛阳"] and p["city_basis"] == {"洛阳": "default"}


# --------------------------------------------------------------------------- provinces


def test_provincial_statements(vocab):
    p = tag1(vocab, "湖北省还积极创新政府财政引导机制。不单单是对科创企业融资项目提供风险补偿或贴息。",
             "光谷之光——全国科技金融业发展高地")
    assert p["province"] == ["湖北"]
    assert p["cities"] == []  # a provincial statement does not inherit 光谷 from the heading
    p = tag1(vocab, "以东湖高新区为核心，整个湖北省科技金融业迎来快速发展。截至2021年6月末，"
                    "湖北省科技型企业融资总额达到6653.3亿元。")
    assert p["cities"] == ["武汉"] and p["province"] == ["湖北"]


def test_province_inside_an_institution_name_is_not_a_province(vocab):
    p = tag1(vocab, "湖北金融租赁公司为科创企业定制特色化融资租赁方案，支持武汉区域算力企业。", home="武汉")
    assert p["province"] == [] and p["cities"] == ["武汉"]
    p = tag1(vocab, "推动15亿元湖北基石中小企业发展基金等重点科技基金落地。", home="武汉")
    assert p["province"] == []


def test_a_province_named_in_passing_is_listed_but_keeps_the_section_city(vocab):
    p = tag_in_comparative(vocab, P("支持中小企业在“新三板”和安徽省区域性股权市场挂牌融资。",
                                    "一、先行地区经验做法", "（二）合肥市"))
    assert p["cities"] == ["合肥"] and p["province"] == ["安徽"]


def test_wo_sheng_is_the_home_province(vocab):
    assert tag1(vocab, "我省科技型企业融资总额大幅增长。", home="武汉")["province"] == ["湖北"]


# --------------------------------------------------------------------------- instruments

# One real sentence of the reports per instrument, with a cue that must fire.
INSTRUMENT_SENTENCES = [
    ("equity", "设立总规模29亿元的中国科学院成果转化母基金，截至2024年底，该基金已投子基金31只。", "成果转化母基金"),
    ("equity", "抢抓AIC试点政策机遇，与三大国有银行达成合作，设立三支AIC基金。", "AIC"),
    ("equity", "支持政府投资基金、银行理财子公司等设立私募股权二级市场基金(S基金)。", "S基金"),
    ("credit", "推广科技型企业知识价值信用贷款模式，为科技型企业发放最长3年期的信用贷款。", "知识价值信用贷款"),
    ("credit", "用好中国人民银行科技创新再贷款政策，引导19家银行金融机构发放优惠贷款近370亿元。", "再贷款"),
    ("bonds", "推出科创票据，推动广州凯得投资控股有限公司成功发行科创票据，规模3亿元。", "科创票据"),
    ("bonds", "东莞提出鼓励科技型中小企业发行小微企业增信集合债券。", "集合债"),
    ("insurance", "加快推广首台(套)重大技术装备保险、新材料首批次应用保险、首版次高端软件研发及推广应用保险。",
     "首台(套)"),
    ("insurance", "探索组建集成电路、新能源、生物医药等重点产业共保体。", "共保体"),
    ("guarantee", "推广科技担保“4222”新型政银担合作体系，降低或者取消反担保要求。", "反担保"),
    ("guarantee", "发挥国有担保公司信用等级高的优势，为科创债发行提供增信服务。", "担保公司"),
    ("ip-finance", "知识产权质押贷款22亿元，市场份额在武汉市领先。", "知识产权质押"),
    ("ip-finance", "推动知识产权证券化先行先试，成功发行4单知识产权证券化产品，规模10.25亿元。", "知识产权证券化"),
    ("listing", "支持符合条件的科技型企业在主板、创业板、科创板和北交所上市。", "科创板"),
    ("listing", "高质量建设“专精特新”专板，积极推荐优质四板企业申报新三板挂牌。", "新三板"),
    ("risk-sharing", "建立科技专项风险资金池，对科技信贷本金给予最高达80%风险补偿。", "风险补偿"),
    ("risk-sharing", "苏州、合肥、广州均建立了风险共担机制，有效分散信贷风险。", "风险共担"),
    ("fiscal", "出台科技贷款贴息政策，每年拿出约5000万元的财政专项资金用于补贴科技型企业融资利息。", "贴息"),
    ("fiscal", "创新建立“以赛代评”的市场化遴选机制，以大赛评选替代传统的科技项目专家评审。", "以赛代评"),
    ("linkage", "探索“贷款+认股权证”业务，拓展“贷款+外部直投”。", "认股权"),
    ("linkage", "开展科技金融“共赢计划”专项试点，创新“共赢贷”产品。", "共赢贷"),
    ("linkage", "作为全国首批投贷联动试点地区和首个科技保险创新示范区。", "投贷联动"),
    ("institutions", "支持金融机构设立科技支行、科技保险支公司等专营机构。", "科技支行"),
    ("institutions", "设立科技分支行、科技保险分支公司、科技金融事业部等科技金融专营机构50家以上。", "科技金融事业部"),
    ("platforms", "“汉融通”平台归集涉企信用数据19类57项，覆盖市场主体29.5万家。", "汉融通"),
    ("platforms", "发布“科创指数”评价体系，为银行提供企业贷款决策依据。", "科创指数"),
    ("ecosystem", "通过科技金融工作站、创业投资沙龙、科技金融早春行等活动搭建对接平台。", "科技金融工作站"),
    ("ecosystem", "不定期举办科技金融新产品发布会、创新投资产业对接会、科技金融项目路演等活动。", "路演"),
    ("local-finance", "鼓励引导小额贷款公司、融资性担保公司、融资租赁公司、商业保理公司等地方金融组织规范发展。",
     "地方金融组织"),
    ("local-finance", "国通信托通过集合资金信托计划增资8亿元。", "信托"),
    ("cross-border", "用好合格境外有限合伙人(QFLP)试点政策，在有条件的区设立QFLP基金。", "QFLP"),
    ("cross-border", "积极深化跨境融资便利化试点，支持科技型企业赴境外上市。", "跨境融资"),
    ("governance", "建立健全以尽职合规责任豁免为核心的容错机制，不对单只基金或者单个项目盈亏进行考核。", "容错"),
    ("governance", "建立科技金融全口径统计监测体系，适时开展政策及工作成效评估。", "统计监测"),
]


@pytest.mark.parametrize("slug, text, cue", INSTRUMENT_SENTENCES)
def test_each_instrument_fires_on_real_report_sentences(vocab, slug, text, cue):
    p = tag1(vocab, text)
    assert slug in p["instruments"]
    assert cue in p["cues"][slug]
    assert cue in explain(p, vocab)["instruments"][slug]


def test_every_instrument_is_covered_by_the_sentences_above():
    assert {s for s, *_ in INSTRUMENT_SENTENCES} == {i["slug"] for i in load_vocab().instruments}


def test_instruments_follow_taxonomy_order_and_cues_match_them(vocab):
    p = tag1(vocab, "做大做优知识产权质押融资风险补偿资金池，完善风险分担机制；设立天使基金。")
    assert p["instruments"] == ["equity", "ip-finance", "risk-sharing"]
    assert set(p["cues"]) == set(p["instruments"])
    assert p["cues"]["risk-sharing"] == ["风险补偿资金池", "风险分担"]


def test_a_cue_inside_a_longer_cue_of_another_instrument_still_counts(vocab):
    p = tag1(vocab, "设立全国首家科技保险支公司。")
    assert p["cues"]["institutions"] == ["科技保险支公司"]
    assert p["cues"]["insurance"] == ["科技保险"]


@pytest.mark.parametrize("text", [
    "设立基金，加强保险和担保，搭建平台。",          # generic words are not cues
    "全面满足人才创新创业需求，充分保障企业权益。",    # 分保 inside 充分保障
    "黑芝麻智能成为国产数据库领域第一股。",
    "清华大学中国经济思想与实践研究院院长李稻葵认为。",
    "各类金融创新试点相继挂牌和落地。",
    "加大资产投入力度。",                          # 产投 inside 资产投入
    "在aicd会上发言。",                            # AIC only as a whole word
])
def test_generic_text_fires_no_instrument(vocab, text):
    assert tag1(vocab, text)["instruments"] == []


def test_ip_exchange_is_not_a_local_finance_organisation(vocab):
    p = tag1(vocab, "高标准建设武汉知识产权交易所，简化知识产权登记、质押及交易办理流程。")
    assert "ip-finance" in p["instruments"] and "local-finance" not in p["instruments"]
    p = tag1(vocab, "鼓励产权交易所等地方金融组织规范发展。")
    assert p["cues"]["local-finance"] == ["产权交易所", "地方金融组织"]


def test_cues_match_traditional_and_full_width_text(vocab):
    p = tag1(vocab, "推出知識產權質押貸款，用好ＡＩＣ股權投資試點，加快推廣首臺（套）重大技術裝備保險。")
    assert {"ip-finance", "equity", "insurance"} <= set(p["instruments"])
    assert "AIC" in p["cues"]["equity"]
    assert "首台(套)" in p["cues"]["insurance"]
    assert tag1(vocab, "支持廣州市企業上市。")["cities"] == ["广州"]


# --------------------------------------------------------------------------- years


@pytest.mark.parametrize("text, years", [
    ("截至2024年6月底，苏州科技贷款余额5872.92亿元。", [2024]),
    ("截至 2024\n年末，该行服务初创企业近 6000 家。", [2024]),
    ("到 2027 年,设立科技金融专营机构 50 家以上。", [2027]),
    ("武汉市行动方案(2025—2027 年)", [2025, 2026, 2027]),
    ("行动方案（2025-2027年）", [2025, 2026, 2027]),
    ("2025年至2027年，每年新增投资不低于20%。", [2025, 2026, 2027]),
    ("《科技金融三年行动计划（2023—2025）》", [2023, 2024, 2025]),
    ("武政办〔2025〕67号，增长20.25%，编号2024-01。", []),
    ("东湖高新区创立于 1988 年，规划总面积518平方公里。", [1988]),
    ("股权投资机构由2013年的不足300家增长至2020年的超1200家。", [2013, 2020]),
    ("《中长期规划（2021—2035年）》", [2021, 2035]),
    ("登记备案基金数量超 400只，科技信贷余额冲刺 2000亿元，每年拿出约5000万元，累计3000 亿元。", []),
    ("参与设立的创业投资基金存续期最长可达 15 年。", []),
    ("今年9月首次召开国际科创大会。", [2024]),
    ("二〇二五年六月七日印发。", [2025]),
    ("“十四五”时期科创金融发展重点。", [2021, 2022, 2023, 2024, 2025]),
    ("近三年股权投资笔数稳居全国前五。", []),
    ("截至9月末，科技贷款余额增长12%。", [2024]),
    ("上半年新增科技型企业贷款300亿元；前三季度保持增长。", [2024]),
    ("今年以来，全市新增首贷户1000户。", [2024]),
    ("每年6月底前报送，每月10日前更新。", []),
    ("2023年上半年累计发放贷款。", [2023]),
])
def test_years_the_facts_refer_to(vocab, text, years):
    p = tag1(vocab, text, year=2024)
    assert p["years"] == years
    assert p["year"] == 2024


# --------------------------------------------------------------------------- ids


def test_ids_are_the_doc_id_and_a_hash_of_the_normalised_text(vocab):
    p = tag1(vocab, "推动商业银行设立科技金融专营机构。")
    h = hashlib.sha1(normalize("推动商业银行设立科技金融专营机构。").encode()).hexdigest()[:8]
    assert p["id"] == f"d1-{h}"
    assert p["doc"] == "d1"
    # the same text written in traditional characters is the same passage
    assert tag1(vocab, "推動商業銀行設立科技金融專營機構。")["id"] == p["id"]


def test_ids_are_stable_when_the_document_or_corpus_changes(vocab):
    texts = ["甲段落：设立天使基金。", "乙段落：推广信用贷。", "丙段落：建设汉融通平台。"]
    before = tag_passages(doc("武汉"), [P(t, position=i) for i, t in enumerate(texts)], vocab)
    # insert a passage at the front and edit another one
    edited = ["新增段落：发展科技保险。", texts[0], "乙段落：推广信用贷和首贷。", texts[2]]
    after = tag_passages(doc("武汉"), [P(t, position=i) for i, t in enumerate(edited)], vocab)
    ids_after = {p["text"]: p["id"] for p in after}
    assert ids_after[texts[0]] == before[0]["id"]
    assert ids_after[texts[2]] == before[2]["id"]
    # another document with the same text: its own prefix, this document unaffected
    other = tag_passages(doc("武汉", doc_id="d2"), [P(texts[0])], vocab)
    assert other[0]["id"] == before[0]["id"].replace("d1-", "d2-")


def test_identical_texts_in_one_document_get_suffixes_in_order(vocab):
    texts = ["相同的段落。", "另一段。", "相同的段落。", "相同的段落。"]
    tagged = tag_passages(doc(), [P(t, position=i) for i, t in enumerate(texts)], vocab)
    ids = [p["id"] for p in tagged]
    assert ids[2] == ids[0] + "-2" and ids[3] == ids[0] + "-3"
    assert len(set(ids)) == 4


def test_the_input_is_not_modified_and_fields_are_complete(vocab):
    passage = P("武汉坚持创新驱动发展战略。", "一、总体目标", position=7)
    passage["extra"] = "kept"
    snapshot = dict(passage)
    [p] = tag_passages(doc("武汉", year=2025), [passage], vocab)
    assert passage == snapshot
    assert p["extra"] == "kept" and p["position"] == 7 and p["section"] == ["一、总体目标"]
    for field in ("id", "doc", "cities", "mentions", "province", "instruments", "cues",
                  "city_basis", "year", "years"):
        assert field in p
    assert p["year"] == 2025


def test_explain_says_why(vocab):
    p = tag_in_comparative(vocab, P("一是由政府出资4亿元设立科技型中小企业信贷风险损失补偿资金池。",
                                    "一、先行地区经验做法", "（三）广州市"))
    why = explain(p, vocab, doc("洛阳"))
    assert why["cities"]["广州"] == {"basis": "heading", "evidence": ["（三）广州市"]}
    assert why["instruments"]["risk-sharing"] == ["风险损失", "补偿资金池"]
    p = tag1(vocab, "联合深圳证券交易所建设武汉节点。", home="武汉")
    why = explain(p, vocab, doc("武汉"))
    assert ("深圳证券交易所", "institution") in why["ignored"]
    assert why["cities"]["武汉"]["basis"] == "text"


def test_tagging_is_fast_enough_for_large_corpora(vocab):
    text = ("截至2024年末，武汉市科技型企业贷款余额达到3709.11亿元，推动设立总规模100亿元的武汉创新发展基金，"
            "对接5家国有大行AIC设立AIC股权投资基金，科技金融工作站举办投融资对接活动1890场。") * 3
    passages = [P(text + str(i), "二、主要任务", position=i) for i in range(3000)]
    start = time.perf_counter()
    tag_passages(doc("武汉"), passages, vocab)
    assert time.perf_counter() - start < 30  # ~1 s on an idle reference machine


# --------------------------------------------------------------------------- the real reports


@pytest.fixture(scope="module")
def corpus(vocab):
    from kb.clean import clean
    from kb.split import split
    from kb.read import read_corpus

    out = {}
    for d in read_corpus(CORPUS, vocab.city_names):
        out[d["id"][:3]] = tag_passages(d, split(clean(d["text"], d)), vocab)
    return out


def find(passages, snippet):
    hits = [p for p in passages if snippet in p["text"]]
    assert hits, f"no passage contains {snippet!r}"
    return hits[0]


@pytest.mark.parametrize("doc_no, snippet, cities", [
    ("002", "由政府出资4亿元设立科技型中小企业信贷风险损失补偿资金池", ["广州"]),
    ("002", "建立“科技金融生态圈平台”", ["苏州"]),
    ("002", "在构建多层次资本市场方面", ["合肥"]),
    ("002", "在激发“双创”活力方面", ["广州"]),
    ("002", "要针对我市科技金融发展中存在的问题", ["洛阳"]),
    ("002", "鼓励金融机构在洛设立", ["洛阳"]),
    ("002", "建立健全风险共担机制，做大科技贷款风险补偿资金池", ["洛阳"]),
    ("002", "通过分析先行地区的做法", []),
    ("003", "除我市提出建设区域性科创金融中心发展目标外", ["合肥"]),
    ("003", "设立面向科创企业的专营金融机构，是科创金融发展的重要基础", []),
    ("003", "以打造科创金融要素集聚高地", ["广州"]),
    ("003", "可见科创金融将成为", ["合肥"]),
    ("000", "湖北省还积极创新政府财政引导机制", []),
    ("000", "“中国光谷”指的是武汉东湖新技术开发区", ["武汉"]),
    ("000", "据统计，东湖高新区已集聚科技银行专营机构", ["武汉"]),
    ("001", "汉口银行创新推出“人才贷”", ["武汉"]),
    ("001", "湖北金融租赁公司加大在科技金融领域的投入力度", ["武汉"]),
    ("004", "联合深圳证券交易所建设", ["武汉"]),
    ("004", "推动商业银行设立科技金融专营机构", ["武汉"]),
])
def test_real_passages_get_the_right_cities(corpus, doc_no, snippet, cities):
    assert find(corpus[doc_no], snippet)["cities"] == cities


def test_real_multi_city_and_comparative_passages(corpus):
    p = find(corpus["002"], "苏州、合肥、广州均建立了风险共担机制")
    assert set(p["cities"]) == {"苏州", "合肥", "广州"}
    p = find(corpus["000"], "串联武汉、鄂州、咸宁、黄冈、黄石")
    assert p["cities"] == ["武汉", "鄂州", "咸宁", "黄冈", "黄石"] and p["province"] == ["湖北"]
    p = find(corpus["003"], "可考虑借鉴广州经验")
    assert p["cities"] == ["合肥"] and {"广州", "重庆", "济南"} <= set(p["mentions"])
    p = find(corpus["003"], "深圳提出将依托深圳证券交易所扩大知识产权证券化覆盖面")
    assert {"深圳", "南京"} <= set(p["cities"]) and "深圳" in p["mentions"]
    assert "广州" not in p["cities"]  # 广州's paragraph before it is a passage of its own
    p = find(corpus["003"], "广州提出支持广东股权交易中心建设")
    assert "广州" in p["cities"] and "广东" not in p["province"]


def test_real_single_city_documents_are_about_wuhan_throughout(corpus):
    for doc_no in ("001", "004"):
        for p in corpus[doc_no]:
            assert p["cities"] == ["武汉"], p["text"][:40]
    assert find(corpus["000"], "湖北省还积极创新政府财政引导机制")["province"] == ["湖北"]
    assert "深圳" not in find(corpus["004"], "联合深圳证券交易所建设")["mentions"]


def test_real_years_and_instruments(corpus):
    title = find(corpus["004"], "行动方案(2025—2027")
    assert {2025, 2026, 2027} <= set(title["years"])
    assert 2027 in find(corpus["004"], "股权投资基金规模突破")["years"]
    assert find(corpus["002"], "截至2024年6月底")["years"] == [2024]
    assert "cross-border" in find(corpus["004"], "QFLP")["instruments"]
    assert "insurance" in find(corpus["004"], "共保体")["instruments"]
    assert "ip-finance" in find(corpus["003"], "在知识产权证券化方面")["instruments"]


def test_real_ids_are_unique_and_every_document_has_tags(corpus):
    ids = [p["id"] for passages in corpus.values() for p in passages]
    assert len(ids) == len(set(ids))
    for passages in corpus.values():
        assert sum(1 for p in passages if p["instruments"]) >= len(passages) // 2


# --------------------------------------------------------------------------- documents from elsewhere


def test_cities_inside_a_cited_title_are_mentions_not_subjects(vocab):
    text = "根据《广州市、深圳市、珠海市建设科创金融改革试验区实施方案》，加快推进各项改革任务。"
    p = tag_in_comparative(vocab, P(text))
    assert p["cities"] == []
    assert p["mentions"] == ["广州", "深圳", "珠海"]
    # outside the brackets the same names are subjects
    p = tag_in_comparative(vocab, P("广州市、深圳市、珠海市加快推进各项改革任务。"))
    assert p["cities"] == ["广州", "深圳", "珠海"]


def test_a_title_naming_cities_does_not_make_a_one_city_policy_comparative(vocab):
    passages = [P("为贯彻《广州市、深圳市、珠海市实施方案》《上海市、南京市行动计划》，制定本措施。"),
                P("对新设立的科技支行给予一次性奖励。"),
                P("打造具有全国影响力的科创金融高地。")]
    tagged = tag_passages({"id": "p", "home_city": "杭州", "year": 2024, "type": "report"}, passages, vocab)
    assert [t["cities"] for t in tagged] == [["杭州"], ["杭州"], ["杭州"]]


def test_a_citys_own_policy_keeps_its_city_when_naming_another(vocab):
    passages = [P("深化与香港金融机构合作，支持企业赴香港上市。"),
                P("对接上海证券交易所，推动企业在科创板上市。"),
                P("打造科技金融高地。")]
    policy = {"id": "sz", "home_city": "深圳", "year": 2024, "type": "policy"}
    tagged = tag_passages(policy, passages, vocab)
    assert tagged[0]["cities"] == ["深圳", "香港"]
    assert tagged[0]["city_basis"]["深圳"] == "default"
    assert tagged[1]["cities"] == ["深圳"] and tagged[2]["cities"] == ["深圳"]
    # in a news report the other city named is the subject
    news = dict(policy, type="news")
    assert tag_passages(news, passages[:1], vocab)[0]["cities"] == ["香港"]


def test_cities_a_passage_compares_with_are_mentions(vocab):
    p = tag_in_comparative(vocab, P("与深圳、上海相比，成都和重庆的创业投资规模仍然偏小。"))
    assert p["cities"] == ["成都", "重庆"]
    assert set(p["mentions"]) == {"深圳", "上海", "成都", "重庆"}


def test_a_provincial_documents_passages_are_about_its_province(vocab):
    passages = [P("到2026年，全省科技型企业贷款余额突破5000亿元。"),
                P("发挥省级政府引导基金作用，设立科技成果转化基金。"),
                P("支持西安建设科技金融中心。")]
    shaanxi = {"id": "sx", "year": 2024, "type": "policy", "publisher": "陕西省地方金融管理局",
               "title": "陕西省推进科技金融深度融合实施方案"}
    tagged = tag_passages(shaanxi, passages, vocab)
    assert [t["cities"] for t in tagged] == [[], [], ["西安"]]
    assert [t["province"] for t in tagged] == [["陕西"], ["陕西"], []]
    # a document with a home city is not provincial; nor one whose publisher names no province
    assert tag_passages(dict(shaanxi, home_city="西安"), passages[:1], vocab)[0]["province"] == []
    assert tag_passages(dict(shaanxi, publisher="研究课题组", title="比较研究"), passages[:1],
                        vocab)[0]["province"] == []


def test_a_passage_about_the_whole_province_is_not_about_the_home_city(vocab):
    passages = [P("西安市科技型企业贷款余额增长18%。"),
                P("全省科技型企业贷款余额突破5000亿元，省级风险补偿资金扩大至10亿元。"),
                P("武汉融资租赁公司发行全省首单知识产权证券化产品。")]
    tagged = tag_passages({"id": "xa", "home_city": "西安", "year": 2024, "type": "news"}, passages, vocab)
    assert tagged[0]["cities"] == ["西安"]
    assert tagged[1]["cities"] == [] and tagged[1]["province"] == ["陕西"]
    assert tagged[2]["cities"] == ["武汉"]  # a named city is still the subject


def test_a_city_followed_by_its_district_is_one_place_in_an_enumeration(vocab):
    p = tag_in_comparative(vocab, P("与北京海淀区、上海徐汇区相比，南山区在创业投资集聚方面具有优势。"))
    assert p["cities"] == ["深圳"]
    assert set(p["mentions"]) == {"北京", "上海", "深圳"}
