"""Whoosh index + query building, on small synthetic passages (no pipeline needed)."""

import pytest

from kb.index import build_index, update_index
from kb.search import Searcher, parse_parts, snippet


def P(pid, text, doc="d1", cities=("武汉",), instruments=("credit",), year=2024, years=()):
    return {"id": pid, "doc": doc, "position": 0, "section": ["一、总体目标"], "text": text,
            "cities": list(cities), "instruments": list(instruments), "year": year,
            "years": list(years)}


PASSAGES = [
    P("d1-a", "依托汉融通平台开展投贷联动试点，推广知识产权质押融资。"),
    P("d1-b", "设立风险补偿资金池，对科技贷款损失给予补偿。", instruments=("risk-sharing",)),
    P("d1-c", "持续优化营商环境，深化金融改革。", instruments=("governance",)),
    P("d2-a", "优化金融营商环境评价，构建环境指标。", doc="d2", cities=("广州",), year=2023,
      instruments=("governance",)),
    P("d2-b", "广州设立科技信贷风险补偿资金池，规模4亿元。", doc="d2", cities=("广州",),
      year=2023, instruments=("risk-sharing",)),
    P("d2-c", "债券融资支持科创企业发行科创票据。", doc="d2", cities=("广州",), year=2023,
      instruments=("bonds",)),
]


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    index_dir = build_index(PASSAGES, tmp_path_factory.mktemp("ix") / "index")
    with Searcher(index_dir) as s:
        yield s


def ids(hits):
    return [h["id"] for h in hits]


def test_word_query_and_filters(searcher):
    assert set(ids(searcher.search("风险补偿"))) == {"d1-b", "d2-b"}
    assert ids(searcher.search("风险补偿", city="广州")) == ["d2-b"]
    assert ids(searcher.search("风险补偿", year=2024)) == ["d1-b"]
    assert ids(searcher.search("风险补偿", doc="d1")) == ["d1-b"]
    assert ids(searcher.search("", instrument="bonds")) == ["d2-c"]


def test_traditional_query_finds_simplified_text(searcher):
    assert ids(searcher.search("風險補償")) == ids(searcher.search("风险补偿"))
    assert "d1-a" in ids(searcher.search("投貸聯動"))


def test_substring_of_a_longer_word_found_through_bigrams(searcher):
    assert ids(searcher.search("融通")) == ["d1-a"]


def test_one_character_query(searcher):
    assert ids(searcher.search("债")) == ["d2-c"]


def test_quoted_phrase_requires_adjacency(searcher):
    assert ids(searcher.search('"优化营商环境"')) == ["d1-c"]
    assert set(ids(searcher.search("优化 营商环境"))) == {"d1-c", "d2-a"}


def test_and_of_parts(searcher):
    assert ids(searcher.search("科创企业 票据")) == ["d2-c"]
    assert ids(searcher.search("广州 票据")) == []


def test_incremental_update_replaces_a_document(tmp_path):
    index_dir = build_index(PASSAGES, tmp_path / "index")
    update_index(index_dir, {"d2": [P("d2-z", "新增科技保险补偿条款。", doc="d2")]})
    with Searcher(index_dir) as s:
        assert ids(s.search("票据")) == []
        assert ids(s.search("科技保险")) == ["d2-z"]
        assert "d1-b" in ids(s.search("风险补偿"))


def test_parse_parts_and_snippet():
    assert parse_parts('“风险补偿” 投贷，联动') == [("风险补偿", True), ("投贷联动", False)]
    text = "前文" * 50 + "设立风险补偿资金池" + "后文" * 50
    snip = snippet(text, "風險補償")
    assert "【风险补偿】" in snip and snip.startswith("…") and snip.endswith("…")
