"""Key figures: numbers, units, qualifiers, ranges, changes, dates, targets and metrics.

The sentences are copied from the corpus reports (hard wraps joined into one line)."""


import pytest
import yaml

from kb.errors import InputError
from kb.figures import (METRICS_FILE, compile_metrics, convert, coverage, coverage_report,
                        extract, load_metrics, normalise_amount)

DOC = {"002": "002_8e8fbbf27cdab432", "004": "004_267d143d2259cbea"}


def passage(text, cities=("苏州",), year=2024, pid="p1", doc="d1", instruments=(), section=()):
    return {"id": pid, "doc": doc, "text": text, "cities": list(cities),
            "instruments": list(instruments), "year": year, "years": [], "section": list(section)}


def figs(text, **kw):
    return extract([passage(text, **kw)])


def one(figures, **match):
    found = [f for f in figures if all(f.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, [(f["value"], f["unit"], f["metric"]) for f in figures])
    return found[0]


SUZHOU = ("近年来，苏州市坚持把金融作为科技创新的第一推动力，持续完善科技金融政策体系，大力引育各类"
          "金融机构，不断创新金融产品，着力营造良好的金融生态，成为全国重要的科技金融高地，形成了科技"
          "金融“苏州模式”。截至2024年6月底，苏州科技贷款余额5872.92亿元，产投、创投等各类基金近3000"
          "支、规模超万亿元，各类科技贷产品累计为1.8万余家（次）科技型中小企业解决贷款近千亿元，助推45"
          "家科技型企业登陆国内资本市场。具体实践中，主要有以下做法：")


# ----------------------------------------------------------------------------- numbers & units


def test_suzhou_tech_loan_balance_is_actual_2024_06():
    f = one(figs(SUZHOU), metric="tech-loan-balance")
    assert (f["city"], f["value"], f["unit"], f["as_of"], f["kind"]) == (
        "苏州", 5872.92, "亿元", "2024-06", "actual")
    assert f["qualifier"] is None and f["cumulative"] is False
    assert f["instrument"] == "credit"
    assert f["passage"] == "p1" and f["doc"] == "d1"
    assert "5872.92亿元" in f["quote"] and len(f["quote"]) <= 120


def test_wan_yi_is_one_wan_yi_yuan_over():
    f = one(figs(SUZHOU), metric="fund-scale")
    assert (f["value"], f["unit"], f["qualifier"]) == (1, "万亿元", "over")
    assert (f["norm_value"], f["norm_unit"]) == (10000, "亿元")
    assert f["printed"] == "超万亿元"
    assert "规模超万亿元" in f["quote"]


def test_jin_and_chao_qualifiers():
    fs = figs(SUZHOU)
    count = one(fs, metric="fund-count")
    assert (count["value"], count["unit"], count["qualifier"]) == (3000, "支", "approx")
    loans = one(fs, metric="financing-facilitated")  # 解决贷款近千亿元
    assert (loans["value"], loans["unit"], loans["qualifier"], loans["cumulative"]) == (
        1000, "亿元", "approx", True)
    firms = one(fs, metric="firms-served")  # 1.8万余家（次）
    assert (firms["value"], firms["unit"], firms["qualifier"]) == (1.8, "万家", "over")
    assert (firms["norm_value"], firms["norm_unit"]) == (18000, "家")
    listed = one(fs, metric="listed-companies")
    assert (listed["value"], listed["unit"]) == (45, "家")


def test_chao_1900_and_yu_counts():
    text = ("苏州工业园区管委会控股的元禾控股有限公司，共管理基金159支，总规模超1900亿元，投资企业超3800家；"
            "苏州高新区直属的苏州高新创业投资集团，参与设立基金30余支，总规模超100亿元，投资项目200多个。")
    fs = figs(text)
    big = one(fs, value=1900)
    assert (big["metric"], big["unit"], big["qualifier"]) == ("fund-scale", "亿元", "over")
    assert one(fs, value=159)["metric"] == "fund-count"
    thirty = one(fs, value=30)
    assert (thirty["unit"], thirty["qualifier"], thirty["metric"]) == ("支", "over", "fund-count")
    two_hundred = one(fs, value=200)
    assert (two_hundred["unit"], two_hundred["qualifier"]) == ("个", "over")


def test_space_and_wrap_between_number_and_unit():
    text = "武汉投控集团以旗下市级政策性担保机构融担公司为载体，累计服务科技类企业 3854 户，担保规模达 95.48 亿\n元，其中服务全市专精特新企业 1168 户，覆盖率近50%。"
    fs = figs(text, cities=["武汉"], year=2025)
    g = one(fs, metric="guarantee-scale")
    assert (g["value"], g["unit"]) == (95.48, "亿元")
    assert "\n" not in g["quote"] and "95.48 亿元" in g["quote"]
    firms = one(fs, value=3854)
    assert (firms["unit"], firms["metric"], firms["cumulative"]) == ("户", "firms-served", True)
    assert one(fs, value=1168)["metric"] == "firms-served"
    cover = one(fs, value=50)
    assert (cover["unit"], cover["qualifier"], cover["metric"]) == ("%", "approx", "other")


def test_thousands_separator_and_fullwidth_digits():
    fs = figs("截至2024年末，全市科技贷款余额达１２,３４５.６亿元，同比增长10％。")
    f = one(fs, metric="tech-loan-balance")
    assert (f["value"], f["as_of"]) == (12345.6, "2024-12")
    assert one(fs, value=10)["unit"] == "%"


def test_chinese_numerals():
    text = "同时，抢抓AIC试点政策机遇，与工商银行、交通银行、建设银行三大国有银行达成合作，设立三支AIC基金，资金总规模达70亿元，共同打造“耐心资本”。"
    fs = figs(text, cities=["武汉"], year=2025)
    three = one(fs, value=3)
    assert (three["unit"], three["metric"]) == ("支", "fund-count")
    assert one(fs, value=70)["metric"] == "fund-scale"
    assert len(fs) == 2  # 三大 is not a figure
    one_fund = figs("另设立一支天使基金。")
    assert [(f["value"], f["unit"]) for f in one_fund] == [(1, "支")]


def test_hundred_yi_scale_without_digits():
    text = "推动设立百亿规模科技基金、所投项目有111家成功挂牌上市、为全市近50%专精特新企业提供融资担保服务。"
    fs = figs(text, cities=["武汉"], year=2025)
    f = one(fs, metric="fund-scale")
    assert (f["value"], f["unit"]) == (100, "亿元")
    assert one(fs, value=111)["metric"] == "listed-companies"


@pytest.mark.parametrize("text", [
    "2009年，苏州市政府在全国率先制定科技金融实施意见，至今已进行两次迭代优化，不断加强政府对科技金融工作的统筹指导。",
    "武汉投控集团作为市属唯一的国有资本投资运营公司，始终围绕我市“965”产业集群投资布局。",
    "武汉市人民政府办公厅文件 武政办〔2025〕67 号",
    "从金融规划看“十四五”时期科创金融发展",
    "“中国光谷”是中国首批国家级高新区、第二个国家自主创新示范区。",
    "在一篇展开的“科技金融”大文章里书写浓墨重彩的一笔。",
    "发展科技金融需重点把握好以下四个关键：",
    "4 52025年2月27日 星期四2025年2月27日 星期四",
    "政府投资基金最高可按 1 ∶ 1 比例参与出资。",
    "中国光谷集聚了30多万专业技术人员和 80多万在校大学生，是中国三大智力密集区之一。",
    "武汉市人民政府办公厅 2025 年 6 月 7 日",
    "随后的12年间，为企业提供了两年期的贷款，最长 3 年期，访问量超3亿次。",
])
def test_not_figures(text):
    assert figs(text) == []


def test_programme_name_is_skipped_but_reserve_count_kept():
    text = "实施“3200上市后备企业培育”计划，聚焦专精特新企业、高新技术企业等，以三年为周期动态储备200家上市后备企业，前移上市奖补节点。"
    fs = figs(text, cities=["合肥"])
    assert [(f["value"], f["unit"]) for f in fs] == [(200, "家")]
    assert fs[0]["metric"] != "listed-companies"


# ----------------------------------------------------------------------------- ranges & changes


def test_range_of_wan_yuan():
    text = "每年从财政科技创新专项经费中拿出1亿元奖励资金，根据大赛排名分别给予初创期企业、成长期企业10万元至200万元不等的财政补助。"
    f = one(figs(text, cities=["广州"]), value=10)
    assert (f["value_max"], f["unit"], f["printed"]) == (200, "万元", "10万元至200万元")


def test_range_of_percent_and_bare_wan():
    text = "比如，一些县区对区域内重点科技产业的科技贷款利息补贴比例，在市级最高50%的基础上提升至80%至90%。"
    fs = figs(text)
    r = one(fs, value=80)
    assert (r["value_max"], r["unit"]) == (90, "%")
    assert one(fs, value=50)["qualifier"] == "at-most"
    bare = figs("通过设立100万至2000万不等的政府奖励、降低母基金对子基金认缴出资比例等措施。")
    assert [(f["value"], f["value_max"], f["unit"]) for f in bare] == [(100, 2000, "万元")]
    assert bare[0]["metric"] == "other"


def test_change_statements():
    text = ("试验区获批以来，全市科创金融专营机构由23家增至41家，总行级科创金融中心由1家增至11家，"
            "总部级科创保险中心实现零的突破。")
    fs = figs(text, cities=["合肥"])
    assert len(fs) == 2
    f = one(fs, value=41)
    assert (f["from_value"], f["unit"], f["metric"], f["city"]) == (
        23, "家", "specialised-institutions", "合肥")
    assert f["printed"] == "由23家增至41家"
    assert one(fs, value=11)["from_value"] == 1
    products = figs("试验区获批以来，科创金融产品由112款增至215款，针对初创期企业、信用类产品占比均超过75%。",
                    cities=["合肥"])
    p = one(products, value=215)
    assert (p["from_value"], p["unit"], p["metric"]) == (112, "款", "financial-products")
    assert one(products, value=75)["qualifier"] == "over"


def test_change_with_years_and_qualifiers():
    text = "注册在东湖高新区的各类股权投资机构由 2013年的不足 300家增长至 2020年的超 1200家。"
    fs = figs(text, cities=["武汉"], year=2021)
    f = one(fs, value=1200)
    assert (f["from_value"], f["qualifier"], f["as_of"], f["metric"]) == (
        300, "over", "2020", "vc-institutions")
    plan = figs("将科技型中小微企业单户在保余额上限从 1000 万元提高至 3000 万元。", cities=["武汉"],
                year=2025)
    assert [(f["value"], f["from_value"], f["unit"]) for f in plan] == [(3000, 1000, "万元")]


# ----------------------------------------------------------------------------- percentages


def test_fiscal_spending_and_share():
    text = ("试验区获批以来，全市年均财政科技支出近250亿元、占财政总支出的17%以上，累计帮助科技型企业"
            "获得各类融资超3000亿元，推动新成立科技型企业1700余家。")
    fs = figs(text, cities=["合肥"])
    spend = one(fs, metric="fiscal-st-spending")
    assert (spend["value"], spend["qualifier"]) == (250, "approx")
    share = one(fs, metric="fiscal-st-share")
    assert (share["value"], share["unit"], share["qualifier"]) == (17, "%", "at-least")
    fin = one(fs, metric="financing-facilitated")
    assert (fin["value"], fin["qualifier"], fin["cumulative"]) == (3000, "over", True)
    assert one(fs, value=1700)["metric"] == "other"


def test_risk_compensation_ratio_at_most():
    text = "比如，建立科技专项风险资金池，对科技信贷本金给予最高达80%风险补偿；出台科技贷款贴息政策，每年拿出约5000万元的财政专项资金用于补贴科技型企业融资利息。"
    fs = figs(text)
    f = one(fs, metric="risk-compensation-ratio")
    assert (f["value"], f["unit"], f["qualifier"], f["instrument"]) == (80, "%", "at-most",
                                                                       "risk-sharing")
    assert one(fs, value=5000)["qualifier"] == "approx"


def test_list_shares_the_at_most_qualifier():
    text = "允许种子基金、天使基金分别出现最高不超过投资总额 80%、60%的亏损。"
    fs = figs(text, cities=["武汉"], year=2025)
    assert [(f["value"], f["qualifier"]) for f in fs] == [(80, "at-most"), (60, "at-most")]


# ----------------------------------------------------------------------------- targets & dates

WUHAN_TARGET = ("按照“股权投资做引导、债权融资做增信、多层次资本市场公开募资做培育”的工作思路,为科技型企业提供"
                "多元化、接力式金融服务。 到 2027 年,设立科技分支行、科技保险分支公司、科技金融事业部等科技金融"
                "专营机构 50 家以上,股权投资基金规模突破 3000 亿元,科技型企业贷款余额突破 5000 亿元,培育“金"
                "种子”“银种子”企业 500 家以上;科技型企业融资便利度、获得感明显提升。")


def test_wuhan_2027_targets():
    fs = figs(WUHAN_TARGET, cities=["武汉"], year=2025, section=["一、总体目标"])
    loan = one(fs, metric="tech-loan-balance")
    assert (loan["value"], loan["unit"], loan["kind"], loan["as_of"], loan["qualifier"]) == (
        5000, "亿元", "target", "2027", "over")
    inst = one(fs, metric="specialised-institutions")
    assert (inst["value"], inst["qualifier"], inst["kind"]) == (50, "at-least", "target")
    assert one(fs, metric="fund-scale")["value"] == 3000
    seeds = one(fs, metric="seed-firms")
    assert (seeds["value"], seeds["qualifier"], seeds["kind"]) == (500, "at-least", "target")


def test_target_without_plan_section_by_future_year():
    # a 2022 report quoting Dongguan's plan: nearest city before the number
    text = "东莞将科创金融发展作为四大核心任务之一，并明确到 2025年科技信贷余额冲刺 2000亿元大关，登记备案基金数量超 400只。"
    fs = figs(text, cities=["东莞", "合肥", "广州"], year=2022)
    loan = one(fs, metric="tech-loan-balance")
    assert (loan["city"], loan["kind"], loan["as_of"], loan["value"]) == ("东莞", "target", "2025", 2000)
    funds = one(fs, metric="fund-count")
    assert (funds["kind"], funds["qualifier"], funds["city"]) == ("target", "over", "东莞")


def test_past_month_is_actual():
    text = "此外，汉口银行与湖北省市场监督管理局合作推出“鄂质贷”，至2025年1月末，投放超176笔，授信19.96亿元，投放信贷资金15.4亿元。"
    fs = figs(text, cities=["武汉"], year=2025)
    assert {f["kind"] for f in fs} == {"actual"}
    assert {f["as_of"] for f in fs} == {"2025-01"}
    assert one(fs, value=19.96)["metric"] == "financing-facilitated"


def test_policy_document_tasks_are_targets():
    tasks = passage("围绕创新研发等重点环节研发新型科技保险产品，科技保险在库产品达到 60 个。 (责任单位:东湖高新区管委会,市委金融办)",
                    cities=["武汉"], year=2025, pid="t1", doc="plan")
    other = passage("鼓励银行适时开展“股权激励贷”等业务。", cities=["武汉"], year=2025, pid="t2",
                    doc="plan")
    params = passage("为科技型企业发放最长 3 年期、最高额度 1000 万元的信用贷款。", cities=["武汉"],
                     year=2025, pid="t3", doc="plan")
    fs = extract([tasks, other, params])
    assert [(f["value"], f["kind"]) for f in fs] == [(60, "target"), (1000, "target")]
    assert fs[0]["metric"] == "tech-insurance-products"
    assert fs[1]["qualifier"] == "at-most"


def test_as_of_from_an_earlier_sentence():
    text = ("2024 年，江城基金先后完成董事会等治理主体搭建，对接调研市投促等各类项目176 个，与 17 家企事业单位达成合作意向。"
            "江城基金全口径完成投资 21.81 亿元，投出项目 10 个，项目覆盖核心零部件、先进封装设备等。")
    fs = figs(text, cities=["武汉"], year=2025)
    f = one(fs, value=21.81)
    assert (f["as_of"], f["kind"], f["metric"]) == ("2024", "actual", "equity-invested")
    assert one(fs, value=10)["as_of"] == "2024"


def test_as_of_never_from_a_later_sentence_nor_across_now():
    text = ("武汉投控集团以旗下市级政策性担保机构融担公司为载体，累计服务科技类企业 3854 户，担保规模达 95.48 亿元。"
            "2024 年 8 月，融担公司全面上线智慧担保业务系统，开通线上签约等功能。"
            "目前，其担保业务线上处理规模已占整体业务超 80%，解决企业融资慢的难点。")
    fs = figs(text, cities=["武汉"], year=2025)
    assert one(fs, value=3854)["as_of"] is None
    assert one(fs, value=95.48)["as_of"] is None
    assert one(fs, value=80)["as_of"] is None  # 目前: not the 2024-08 of the sentence before


def test_comparison_and_since_dates_are_not_as_of():
    text = ("数据显示，截至 2021年 6月末，湖北省科技型企业融资总额达到 6653.3 亿元，较 2019年末大幅增长 46.13%；"
            "服务科技型企业达到 6235家、新增 2117家；2020年以来，全省保险机构累计为 602家（次）科技企业提供 584亿元科技保险风险保障。")
    fs = figs(text, cities=[], year=2021)
    assert {f["as_of"] for f in fs} == {"2021-06"}
    assert one(fs, value=46.13)["as_of"] == "2021-06"
    insured = one(fs, value=602)
    assert (insured["metric"], insured["cumulative"], insured["city"]) == ("insured-firms", True, None)
    assert one(fs, value=584)["metric"] == "insurance-coverage"
    assert one(fs, value=6235)["metric"] == "firms-served"


def test_year_end_and_this_year():
    fs = figs("截至 2024 年末，该行服务初创及中小微科技企业近 6000 家，表内贷款余额超110亿元。",
              cities=["武汉"], year=2025)
    assert {f["as_of"] for f in fs} == {"2024-12"}
    assert {f["scope"] for f in fs} == {"institution"}
    fs = figs("今年9月首次召开国际科创大会，73支科创基金项目集体亮相，总规模近千亿元。", year=2024)
    assert one(fs, value=73)["as_of"] == "2024-09"


# ----------------------------------------------------------------------------- metrics & cities


def test_metric_assignment_guangzhou():
    text = ("一是由政府出资4亿元设立科技型中小企业信贷风险损失补偿资金池，建立风险共担机制，推动银行机构敢贷愿贷。"
            "截至2023年底，28家合作银行为广州市11855家科技型企业提供授信金额累计1769.08亿元，累计发放贷款额1056.69亿元。")
    fs = figs(text, cities=["广州"], year=2024)
    pool = one(fs, metric="risk-pool-size")
    assert (pool["value"], pool["unit"], pool["city"], pool["as_of"]) == (4, "亿元", "广州", None)
    assert one(fs, value=11855)["metric"] == "firms-served"
    assert one(fs, value=1769.08)["metric"] == "financing-facilitated"
    assert one(fs, value=28)["metric"] == "other"


def test_metric_assignment_vc_and_insurance():
    fs = figs("目前，广州市各类股权投资、创业投资、风险投资机构约6200家、管理资金规模9000亿元。", cities=["广州"])
    assert one(fs, value=6200)["metric"] == "vc-institutions"
    assert one(fs, value=9000)["metric"] == "vc-aum"
    fs = figs("2024年科技保险承保企业374家，承保金额398亿元，为科技研发与成果转化筑牢安全网。", cities=["武汉"],
              year=2025)
    assert one(fs, value=374)["metric"] == "insured-firms"
    cov = one(fs, value=398)
    assert (cov["metric"], cov["as_of"], cov["instrument"]) == ("insurance-coverage", "2024", "insurance")


def test_other_keeps_passage_instrument():
    fs = figs("子基金已实缴到位215.03亿元，撬动社会资本192.62亿元，财政资金杠杆放大8.6倍。",
              cities=["广州"], instruments=["equity", "fiscal"])
    lever = one(fs, value=8.6)
    assert (lever["metric"], lever["unit"], lever["instrument"]) == ("other", "倍", "equity")
    assert one(fs, value=192.62)["metric"] == "capital-leveraged"


def test_subject_city_rules():
    assert one(figs("全市科技贷款余额5000亿元。", cities=["合肥"]), value=5000)["city"] == "合肥"
    assert one(figs("全市科技贷款余额5000亿元。", cities=[]), value=5000)["city"] is None
    text = "合肥提出健全风险补偿机制。广州设立资金池4亿元，苏州科技贷款余额5872.92亿元。"
    fs = figs(text, cities=["合肥", "广州", "苏州"])
    assert one(fs, value=4)["city"] == "广州"
    assert one(fs, value=5872.92)["city"] == "苏州"
    nobody = figs("各地设立资金池4亿元。广州提出建立风险分担机制。", cities=["合肥", "广州"])
    assert nobody[0]["city"] is None


def test_quote_is_the_clause_and_at_most_120_chars():
    long_clause = "武汉" + "持续丰富平台政策产品供给和功能服务场景" * 8 + "撮合融资累计1152.08亿元" + "并进一步畅通政银企对接渠道" * 6
    f = one(figs(long_clause, cities=["武汉"]), value=1152.08)
    assert len(f["quote"]) <= 120 and "1152.08亿元" in f["quote"]
    f = one(figs(SUZHOU), metric="tech-loan-balance")
    assert f["quote"] == "苏州科技贷款余额5872.92亿元"
    # very short clause: the clause before it is included for context
    f = one(figs("其中市属平台苏州创新投资集团，共管理基金71支，总规模960亿元，投资项目达344个。"), value=960)
    assert f["quote"] == "共管理基金71支，总规模960亿元"


def test_contract_fields():
    f = figs(SUZHOU)[0]
    for key in ("city", "metric", "value", "unit", "as_of", "kind", "cumulative", "qualifier",
                "instrument", "passage", "doc", "quote", "value_max", "from_value"):
        assert key in f


# ----------------------------------------------------------------------------- units helpers


def test_unit_conversion():
    assert normalise_amount(1, "万亿元") == (10000, "亿元")
    assert normalise_amount(500, "万元") == (0.05, "亿元")
    assert normalise_amount(29.52, "万户") == (295200, "户")
    assert convert(1, "万亿元", "亿元") == 10000
    assert convert(5000, "万元", "亿元") == 0.5
    assert convert(3, "家", "支") is None
    assert convert(3, "%", "亿元") is None


# ----------------------------------------------------------------------------- vocabulary


REQUIRED_METRICS = {"tech-loan-balance", "fund-scale", "fund-count", "vc-aum", "vc-institutions",
                    "specialised-institutions", "listed-companies", "insured-firms",
                    "insurance-coverage", "risk-compensation-ratio", "risk-pool-size",
                    "guarantee-scale", "financing-facilitated", "firms-served",
                    "fiscal-st-spending", "seed-firms"}


def test_metrics_file_has_the_required_metrics():
    raw = load_metrics()
    metrics = compile_metrics(raw)
    slugs = {m.slug for m in metrics}
    assert REQUIRED_METRICS <= slugs
    for m in metrics:
        assert m.label and m.family and m.unit and m.cues


def test_metric_instruments_exist():
    path = METRICS_FILE.parent / "instruments.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    slugs = {i["slug"] for i in (data["instruments"] if isinstance(data, dict) else data)}
    for m in load_metrics():
        assert m.get("instrument") is None or m["instrument"] in slugs, m["slug"]


def test_bad_metric_vocabulary_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        compile_metrics([{"slug": "x", "family": "money", "cues": [{"before": "("}]}])
    with pytest.raises(InputError):
        compile_metrics([{"slug": "x", "family": "weight", "cues": ["a"]}])
    with pytest.raises(InputError):
        compile_metrics([{"slug": "a", "cues": ["x"]}, {"slug": "a", "cues": ["y"]}])
    bad = tmp_path / "metrics.yaml"
    bad.write_text("metrics: {", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_metrics(bad)
    assert "metrics.yaml" in str(err.value)


def test_vocab_metrics_are_used():
    class V:
        metrics = [{"slug": "ai-chips", "label": "芯片", "family": "money",
                    "cues": [{"before": "芯片投资"}]}]
        cities = []

    fs = extract([passage("芯片投资30亿元，科技贷款余额100亿元。")], V())
    assert [f["metric"] for f in fs] == ["ai-chips", "other"]


# ----------------------------------------------------------------------------- coverage


def test_coverage_and_report():
    fs = figs(SUZHOU) + figs("财政资金杠杆放大8.6倍，同比增长14.78%。")
    cov = coverage(fs)
    assert cov["total"] == len(fs) == 8
    assert cov["other"] == 2 and cov["with_metric"] == 6
    assert cov["by_metric"]["tech-loan-balance"] == 1
    assert sum(cov["by_metric"].values()) == cov["with_metric"]
    assert "财政资金杠杆放大8.6倍" in cov["other_examples"][0]
    report = coverage_report(fs)
    assert "数字总数 (figures): 8" in report
    assert "| tech-loan-balance | 科技贷款余额 | 1 |" in report
    assert "| other | 其他 | 2 |" in report
    assert coverage([]) == {"total": 0, "with_metric": 0, "other": 0, "by_metric": {},
                            "other_examples": []}
    assert "数字总数 (figures): 0" in coverage_report([])


def test_deterministic():
    a = extract([passage(SUZHOU), passage(WUHAN_TARGET, pid="p2", cities=["武汉"], year=2025)])
    b = extract([passage(SUZHOU), passage(WUHAN_TARGET, pid="p2", cities=["武汉"], year=2025)])
    assert a == b


# ----------------------------------------------------------------------------- the real corpus


@pytest.fixture(scope="module")
def corpus_figures():
    from kb.clean import clean
    from kb.read import read_corpus
    from kb.split import split
    from kb.tag import tag_passages
    from kb.vocab import load_vocab
    from tests.conftest import CORPUS

    vocab = load_vocab()
    passages = []
    for doc in read_corpus(CORPUS, vocab.city_names):
        passages.extend(tag_passages(doc, split(clean(doc["text"], doc)), vocab))
    return extract(passages, vocab)


def _find(figures, **match):
    return [f for f in figures if all(f.get(k) == v for k, v in match.items())]


def test_corpus_suzhou_loan_balance(corpus_figures):
    found = _find(corpus_figures, city="苏州", metric="tech-loan-balance", value=5872.92)
    assert found and found[0]["unit"] == "亿元"
    assert found[0]["as_of"] == "2024-06" and found[0]["kind"] == "actual"
    assert found[0]["doc"] == DOC["002"]


def test_corpus_wuhan_2027_target(corpus_figures):
    found = _find(corpus_figures, city="武汉", metric="tech-loan-balance", value=5000)
    assert found and found[0]["kind"] == "target" and found[0]["as_of"] == "2027"
    assert found[0]["doc"] == DOC["004"]


def test_corpus_hefei_specialised_institutions(corpus_figures):
    found = _find(corpus_figures, city="合肥", metric="specialised-institutions", value=41)
    assert found and found[0]["from_value"] == 23 and found[0]["unit"] == "家"


def test_corpus_guangzhou_risk_pool(corpus_figures):
    found = _find(corpus_figures, city="广州", metric="risk-pool-size", value=4)
    assert found and found[0]["unit"] == "亿元"


def test_corpus_coverage(corpus_figures):
    cov = coverage(corpus_figures)
    assert cov["total"] > 150
    assert cov["with_metric"] / cov["total"] > 0.4
    for f in corpus_figures:
        assert f["passage"] and f["doc"] and f["quote"]
        assert len(f["quote"]) <= 120
        assert f["kind"] in ("actual", "target")
        assert f["qualifier"] in (None, "approx", "over", "under", "at-least", "at-most")


# ----------------------------------------------------------------------------- documents from elsewhere


@pytest.mark.parametrize("text, value, unit, qualifier", [
    ("设立规模五亿元的天使投资基金。", 5, "亿元", None),
    ("对认定的项目给予两千万元资助。", 2000, "万元", None),
    ("首批服务一百家科技型企业。", 100, "家", None),
    ("已有十余家银行设立科技支行。", 10, "家", "over"),
    ("累计支持三千余家企业获得贷款。", 3000, "家", "over"),
    ("风险补偿比例为百分之二十。", 20, "%", None),
])
def test_amounts_in_chinese_numerals(text, value, unit, qualifier):
    f = one(figs(text, cities=["杭州"]), value=value)
    assert (f["unit"], f["qualifier"]) == (unit, qualifier)


@pytest.mark.parametrize("text", [
    "这是一家银行的创新做法。",          # 一家: one bank, not a figure
    "打造两大平台，培育一批企业。",
    "落实“十四五”规划部署。",
])
def test_vague_chinese_numerals_are_not_figures(text):
    assert figs(text, cities=["杭州"]) == []


def test_dates_without_a_year_take_the_document_year():
    fs = figs("截至9月末，全市科技贷款余额2100亿元。上半年新增首贷户500户。", cities=["杭州"], year=2024)
    assert one(fs, value=2100)["as_of"] == "2024-09"
    assert one(fs, value=500)["as_of"] == "2024-06"


def test_an_eligibility_threshold_is_not_an_amount():
    fs = figs("对年营业收入不超过2亿元的科技型中小企业，按贷款金额的1%给予贴息，最高100万元。",
              cities=["杭州"])
    assert [f["value"] for f in fs] == [1, 100]
    fs = figs("支持注册资本5000万元以上的公司发行科创债。", cities=["杭州"])
    assert fs == []
    # an amount given to firms is still a figure
    assert one(figs("给予每家企业50万元的奖励。", cities=["杭州"]), value=50)["unit"] == "万元"


def test_a_regional_equity_board_listing_is_not_a_stock_exchange_listing():
    fs = figs("全市上市公司达到120家，在区域性股权市场科创专板挂牌企业300家。", cities=["杭州"])
    assert one(fs, value=120)["metric"] == "listed-companies"
    assert one(fs, value=300)["metric"] != "listed-companies"
    fs = figs("推动45家企业在股权交易中心挂牌。", cities=["杭州"])
    assert one(fs, value=45)["metric"] != "listed-companies"


def test_a_figure_since_the_start_of_the_document_year_is_as_of_that_year():
    fs = figs("今年以来，引导银行机构新设十余家科技特色支行。", cities=["杭州"], year=2024)
    f = one(fs, value=10)
    assert (f["metric"], f["as_of"]) == ("specialised-institutions", "2024")
    # an earlier year's "since" date stays a period, not an as-of date
    assert one(figs("2020年以来，新设十余家科技支行。", cities=["杭州"], year=2024), value=10)["as_of"] is None


@pytest.mark.parametrize("text, value, metric", [
    ("对合作银行发放的“科创贷”本金损失分担40%。", 40, "risk-compensation-ratio"),
    ("对不良贷款本金给予最高50%的补偿。", 50, "risk-compensation-ratio"),
    ("设立科技企业贷款风险补偿资金池，规模达到5亿元。", 5, "risk-pool-size"),
    ("上半年新增担保额超过80亿元。", 80, "guarantee-scale"),
    ("融资担保公司为科技型企业提供担保三十六亿元。", 36, "guarantee-scale"),
    ("力争全市科技保险服务企业超过3000家。", 3000, "insured-firms"),
    ("政府投资基金对科技型企业的投资规模累计达到300亿元。", 300, "equity-invested"),
])
def test_metric_wording_variants(text, value, metric):
    assert one(figs(text, cities=["杭州"]), value=value)["metric"] == metric


def test_a_loan_size_class_is_not_an_amount():
    fs = figs("对银行机构发放的单户授信1000万元以下科技贷款，按新增额的1%给予奖励。", cities=["成都"])
    assert [(f["value"], f["unit"]) for f in fs] == [(1, "%")]
