"""Comparison rows: which figure per city, unit conversion, date warnings."""

from kb.charts import comparison_rows, date_months
from kb.figures import extract

def fig(city, value, unit="亿元", as_of=None, kind="actual", metric="tech-loan-balance",
        scope="city", passage="p", doc_year=2024, **extra):
    f = {"city": city, "metric": metric, "value": value, "unit": unit, "as_of": as_of,
         "kind": kind, "cumulative": False, "qualifier": None, "instrument": "credit",
         "passage": passage, "doc": "d", "quote": f"{city}{value}{unit}", "scope": scope,
         "doc_year": doc_year, "value_max": None, "from_value": None}
    f.update(extra)
    return f


FIGURES = [
    fig("苏州", 5872.92, as_of="2024-06", passage="s1"),
    fig("苏州", 5000, as_of="2023-12", passage="s0"),
    fig("武汉", 3709.11, as_of="2024-12", passage="w1"),
    fig("武汉", 392.9, as_of="2024-12", scope="institution", passage="w2"),
    fig("武汉", 5000, as_of="2027", kind="target", passage="w3"),
    fig("武汉", 4000, as_of="2026", kind="target", passage="w4"),
    fig("东莞", 2000, as_of="2025", kind="target", passage="d1"),
    fig("广州", 0.5, unit="万亿元", as_of="2024-03", passage="g1"),
    fig("合肥", 12, unit="%", as_of="2024-06", passage="h1"),  # inconvertible: left out
    fig(None, 999, as_of="2024-06", passage="x1"),  # no city: not compared
    fig("苏州", 80, unit="%", metric="risk-compensation-ratio", passage="s9"),
]


def test_picks_latest_actual_and_latest_target_per_city():
    rows = comparison_rows(FIGURES, "tech-loan-balance")
    actual = {r["city"]: r for r in rows if r["kind"] == "actual"}
    target = {r["city"]: r for r in rows if r["kind"] == "target"}
    assert set(actual) == {"苏州", "武汉", "广州"}
    assert actual["苏州"]["value"] == 5872.92 and actual["苏州"]["as_of"] == "2024-06"
    assert actual["武汉"]["value"] == 3709.11  # the city total, not one bank's balance
    assert target["武汉"]["value"] == 5000 and target["武汉"]["as_of"] == "2027"
    assert target["东莞"]["value"] == 2000
    assert [r["kind"] for r in rows] == ["actual"] * 3 + ["target"] * 2
    assert [r["city"] for r in rows if r["kind"] == "actual"] == ["苏州", "广州", "武汉"]
    for r in rows:
        assert r["unit"] == "亿元" and r["metric"] == "tech-loan-balance"
        assert r["label"] == "科技贷款余额" and r["passage"] and r["quote"]


def test_units_are_converted():
    rows = comparison_rows(FIGURES, "tech-loan-balance", kind="actual")
    gz = next(r for r in rows if r["city"] == "广州")
    assert (gz["value"], gz["unit"], gz["orig_value"], gz["orig_unit"]) == (5000, "亿元", 0.5, "万亿元")
    small = comparison_rows([fig("甲", 5000, unit="万元", as_of="2024-06")], "tech-loan-balance")
    assert small[0]["value"] == 0.5
    # equivalent counters of a metric: 户 and 万家 compare as 家
    firms = [fig("甲", 3854, unit="户", metric="firms-served", as_of="2024-12"),
             fig("乙", 1.8, unit="万家", metric="firms-served", as_of="2024-06"),
             fig("丙", 3, unit="支", metric="firms-served", as_of="2024-06")]
    rows = comparison_rows(firms, "firms-served")
    assert [(r["city"], r["value"], r["unit"]) for r in rows] == [("乙", 18000, "家"), ("甲", 3854, "家")]


def test_city_filter_and_kind():
    rows = comparison_rows(FIGURES, "tech-loan-balance", cities=["武汉", "东莞"], kind="target")
    assert [(r["city"], r["value"]) for r in rows] == [("武汉", 5000), ("东莞", 2000)]
    assert comparison_rows(FIGURES, "vc-aum") == []


def test_within_a_year_the_larger_city_figure_wins():
    figures = [fig("苏州", 1, unit="万亿元", as_of="2024-06", metric="fund-scale", passage="a"),
               fig("苏州", 1000, as_of="2024-09", metric="fund-scale", passage="b"),
               fig("苏州", 20000, as_of="2022-06", metric="fund-scale", passage="c")]
    row = comparison_rows(figures, "fund-scale")[0]
    assert (row["value"], row["as_of"], row["passage"]) == (10000, "2024-06", "a")


def test_undated_figures_use_the_document_year():
    figures = [fig("武汉", 55, unit="家", metric="specialised-institutions", doc_year=2021, passage="a"),
               fig("武汉", 50, unit="家", metric="specialised-institutions", doc_year=2025, passage="b")]
    row = comparison_rows(figures, "specialised-institutions")[0]
    assert (row["value"], row["passage"], row["date_warning"]) == (50, "b", False)


def test_date_warning():
    close = [fig("甲", 1, as_of="2023-12"), fig("乙", 2, as_of="2024-06")]
    assert not any(r["date_warning"] for r in comparison_rows(close, "tech-loan-balance"))
    far = [fig("甲", 1, as_of="2021-06"), fig("乙", 2, as_of="2024-12")]
    rows = comparison_rows(far, "tech-loan-balance")
    assert all(r["date_warning"] for r in rows)
    assert {r["city"]: r["date_gap_months"] for r in rows} == {"甲": 42, "乙": 0}
    unknown = [fig("甲", 1, as_of=None), fig("乙", 2, as_of="2024-12")]
    assert all(r["date_warning"] for r in comparison_rows(unknown, "tech-loan-balance"))
    single = comparison_rows([fig("甲", 1, as_of=None)], "tech-loan-balance")
    assert single[0]["date_warning"] is False
    # targets are compared among targets only
    rows = comparison_rows(FIGURES, "tech-loan-balance")
    assert not any(r["date_warning"] for r in rows if r["kind"] == "actual")
    assert all(r["date_warning"] for r in rows if r["kind"] == "target")  # 2027 vs 2025


def test_date_months():
    assert date_months("2024-06") == 2024 * 12 + 6
    assert date_months("2024") == 2024 * 12 + 12
    assert date_months(None) is None and date_months("n/a") is None


def test_end_to_end_from_extracted_figures():
    passages = [
        {"id": "a", "doc": "002", "text": "截至2024年6月底，苏州科技贷款余额5872.92亿元。", "cities": ["苏州"],
         "instruments": [], "year": 2024, "years": []},
        {"id": "b", "doc": "001", "text": "截至2024年末，武汉市科技型企业贷款余额达到3709.11亿元，同比增长14.78%。",
         "cities": ["武汉"], "instruments": [], "year": 2025, "years": []},
        {"id": "c", "doc": "004", "text": "到 2027 年,科技型企业贷款余额突破 5000 亿元。", "cities": ["武汉"],
         "instruments": [], "year": 2025, "years": []},
    ]
    rows = comparison_rows(extract(passages), "tech-loan-balance")
    assert [(r["city"], r["kind"], r["value"], r["as_of"]) for r in rows] == [
        ("苏州", "actual", 5872.92, "2024-06"), ("武汉", "actual", 3709.11, "2024-12"),
        ("武汉", "target", 5000, "2027")]
    assert rows[2]["qualifier"] == "over"
