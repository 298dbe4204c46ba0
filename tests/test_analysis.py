"""The analysis shared by the Whoosh index, the CLI and the browser index."""

import pytest

from kb import analysis


def test_normalize_is_length_preserving_and_simplifies():
    text = "投貸聯動與專營機構（ＡＩＣ）"
    norm = analysis.normalize(text)
    assert norm == "投贷联动与专营机构(aic)"
    assert len(norm) == len(text)


def test_user_dictionary_words_are_single_terms():
    words = [t for t, *_ in analysis.word_tokens("支持汉融通平台开展投贷联动和知识产权质押融资")]
    assert "汉融通" in words
    assert "投贷联动" in words
    assert "知识产权质押" in words


def test_bracketed_variant_is_indexed_as_one_word():
    text = "推广首台（套）重大技术装备保险"
    toks = {t: (s, e) for t, _p, s, e in analysis.word_tokens(text)}
    assert "首台套" in toks
    s, e = toks["首台套"]
    assert text[s:e] == "首台（套）"  # offsets point at the printed form, brackets included
    assert analysis.fold_variants(analysis.normalize("首批(次)、(一)总体"))[0] == "首批次、(一)总体"


def test_ascii_prefix_kept_in_s_fund():
    words = [t for t, *_ in analysis.word_tokens("设立S基金")]
    assert "s基金" in words


def test_positions_are_token_numbers_and_subwords_share_them():
    toks = analysis.word_tokens("科技创新创业投资母基金")
    positions = {t: p for t, p, *_ in toks}
    assert positions["创业投资"] == positions["创业"] == positions["投资"]
    assert positions["母基金"] == positions["创业投资"] + 1


def test_stop_words_are_not_dropped():
    words = [t for t, *_ in analysis.word_tokens("银行和保险")]
    assert "和" in words


def test_grams_cover_substrings_and_one_character_queries():
    grams = analysis.gram_tokens("汉融通平台")
    terms = [t for t, *_ in grams]
    assert terms == ["汉融", "融通", "通平", "平台", "台"]
    assert [p for _t, p, *_ in grams] == [0, 1, 2, 3, 4]
    assert analysis.query_grams("融通") == ["融通"]
    assert analysis.query_grams("債") == ["债"]


def test_offsets_point_into_original_text():
    text = "推動科技金融"
    for term, _pos, start, end in analysis.word_tokens(text):
        assert analysis.normalize(text[start:end]) == term


@pytest.mark.parametrize("text", ["推广首台（套）重大技术装备保险和首批(次)应用", "風險補償資金池（ＱＦＬＰ）",
                                  "设立S基金 2024年 12.5% ABS", "", "……——", "科"])
def test_packed_tokens_unpack_to_both_layers(text):
    packed = analysis.passage_tokens(text)
    assert analysis.words_of(packed) == [(t, p) for t, p, _s, _e in analysis.word_tokens(text)]
    assert analysis.grams_of(packed) == [(t, p) for t, p, _s, _e in analysis.gram_tokens(text)]
