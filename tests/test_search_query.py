"""The query model's parser (kb/search/query.py): parts, normalisation, entities, words,
misprints, caps — unit cases and Hypothesis properties (no input crashes it; its output stays
within its caps)."""

from hypothesis import given, settings, strategies as st

from kb.search import query as Q
from kb.search.entities import gazetteer
from kb.vocab import load_vocab

VOCAB = {"科技", "金融", "科技金融", "投贷", "联动", "投贷联动", "风险", "补偿", "风险补偿", "首台套",
         "首批次", "融资", "担保", "融资担保", "知识产权", "质押", "知识产权质押", "容错", "免责",
         "容错免责", "城市", "设立", "科技支行", "s基金", "aic", "2027", "年", "但", "保", "债", "x"}
HAS = VOCAB.__contains__
GAZ = gazetteer(load_vocab())


def plan(q, **kw):
    return Q.plan_query(q, HAS, GAZ, **kw)


def texts(p):
    return [(c["kind"], c["text"]) for c in p["concepts"]]


def test_parts_split_on_spaces_and_any_punctuation():
    for q in ["科技 金融", "科技,金融", "科技，金融", "科技、金融", "科技;金融", "科技|金融", "科技/金融"]:
        text, _ = Q.prepare(q)
        assert Q.split_parts(text) == [("科技", False), ("金融", False)], q


def test_quotes_make_required_phrases():
    p = plan('"风险补偿" 科技')
    assert p["concepts"][0]["kind"] == "phrase" and p["concepts"][0]["required"]
    assert Q.split_parts(Q.prepare("“科技 金融”")[0]) == [("科技 金融", True)]
    assert Q.split_parts(Q.prepare('"未闭合 的')[0]) == [("未闭合 的", True)]


def test_normalisation_and_bracketed_variants():
    assert Q.prepare("首台(套)")[0] == "首台套"
    assert Q.prepare("首批（次）")[0] == "首批次"
    assert Q.prepare("風險補償 ＡＩＣ")[0] == "风险补偿 aic"
    assert Q.prepare("(一)总体")[0] == "(一)总体"  # not a variant: nothing before the bracket


def test_entities_cities_aliases_provinces_instruments():
    kinds = {c["text"]: (c["kind"], c["cities"], c["instrument"]) for c in plan("合肥 光谷 湖北 科技保险")["concepts"]}
    assert kinds["合肥"] == ("city", ["hefei"], None)
    assert kinds["光谷"] == ("city", ["wuhan"], None)
    assert kinds["湖北"][0] == "city" and "wuhan" in kinds["湖北"][1]
    assert kinds["科技保险"] == ("instrument", [], "insurance")
    # the longest surface wins, and an institution is a plain word, not its city
    assert texts(plan("合肥市"))[0] == ("city", "合肥市")
    assert all(c["kind"] != "city" for c in plan("深圳证券交易所")["concepts"])


def test_function_words_dropped_unless_alone():
    assert texts(plan("哪些城市设立了科技支行")) == [("term", "城市"), ("term", "设立"), ("instrument", "科技支行")]
    assert texts(plan("的")) == [("term", "的")]


def test_words_concepts_pieces_and_ascii_runs():
    p = plan("容错免责")
    assert p["concepts"][0]["words"] == ["容错免责"] and p["concepts"][0]["pieces"] == ["容错", "免责"]
    assert [w for w, *_ in Q.segment_words("xyzzy", HAS)] == [None] * 5  # never x + yzzy
    assert [w for w, *_ in Q.segment_words("s基金aic", HAS)] == ["s基金", "aic"]
    # one-character words and uncovered characters in a row are one concept, matched as a phrase
    p = plan("科技但保利")
    assert texts(p) == [("term", "科技"), ("term", "但保利")] and p["concepts"][1]["words"] == []
    assert plan("但保")["concepts"][0]["words"] == ["但", "保"]
    assert Q.gram_slots("科") == [("p", "科")]
    assert Q.gram_slots("5g险") == [("e", "5g"), ("p", "险")]


def test_misprint_correction():
    df = {"融资担保": 9, "融资租保": 2}.get
    words = lambda c: [w for w in VOCAB | {"融资租保"} if w.startswith(c)]  # noqa: E731
    assert Q.corrections("融资但保", HAS, GAZ, words, lambda w: df(w) or 0) == {"融资但保": "融资担保"}
    assert Q.corrections("融资担保", HAS, GAZ, words, lambda w: 1) == {}  # a word is never corrected
    assert Q.corrections('"融资但保"', HAS, GAZ, words, lambda w: 1) == {}  # nor a quoted phrase
    p = plan("融资但保", fixes={"融资但保": "融资担保"})
    assert texts(p) == [("instrument", "融资担保")] and "已按“融资担保”检索" in p["notices"][0]
    assert Q.pick_correction("风险补尝", [("风险补偿", 3), ("风险补贴", 5)]) == "风险补贴"
    assert Q.pick_correction("风险补尝", [("凤险补偿", 3)]) is None  # the first character stays


def test_misprint_of_a_curated_name_inside_a_part():
    vocab = VOCAB | {"合肥", "招商", "费", "补贴", "贷款"}
    has = vocab.__contains__
    words = lambda c: [w for w in vocab if w.startswith(c)]  # noqa: E731
    fix = lambda q: Q.corrections(q, has, GAZ, words, lambda w: 1)  # noqa: E731
    # 科技租赁 is an instrument cue, not a vocabulary word: the whole part and a run inside one
    assert fix("科技租凭") == {"科技租凭": "科技租赁"}
    assert fix("合肥科技租凭") == {"科技租凭": "科技租赁"}
    p = plan("合肥科技租凭", fixes={"科技租凭": "科技租赁"})
    assert texts(p) == [("city", "合肥"), ("instrument", "科技租赁")]
    assert p["notices"] == ["没有找到“科技租凭”，已按“科技租赁”检索"]
    # a rare real word never becomes a frequent one; a name of the gazetteer is never a misprint;
    # one uncovered character is not evidence enough
    assert fix("合肥招商引资") == {}
    assert fix("江苏 科技金融") == {}
    assert fix("贷款 担保费补贴") == {}
    assert Q.correction_windows("科技租凭", has, set()) == [("科技租凭", 2, 4), ("租凭", 1, 2)]


def test_nicknames_are_cities_in_queries_but_not_in_text():
    vocab = load_vocab()
    assert texts(plan("鹏城 科技保险"))[0] == ("city", "鹏城")
    assert plan("江城")["concepts"][0]["cities"] == ["wuhan"]
    assert plan("姑苏 科技贷款")["concepts"][0]["cities"] == ["suzhou"]
    # in running text 江城 stays guarded (长江城市群 is no Wuhan) and 鹏城 is no alias
    cities = lambda text: [h[3] for h in vocab.places.scan(text) if h[3][0] == "city"]  # noqa: E731
    assert cities("长江城市群发展") == [] and cities("鹏城科创") == []
    assert cities("江城基金") == [("city", "武汉", "alias")]


def test_caps_with_notices():
    p = plan("科技" * 80)
    assert any("查询过长" in n for n in p["notices"])
    p = plan(" ".join(["科技", "金融", "风险", "补偿", "投贷", "联动", "融资", "担保", "质押", "容错"]))
    assert len(p["parts"]) == Q.MAX_PARTS and any("查询词过多" in n for n in p["notices"])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("科技金融投贷联动风险补偿合肥光谷首台(套)（）\"“” ,，、。abcS1 2\t\u3000風險")),
               max_size=150))
def test_any_query_plans_within_its_caps(q):
    p = plan(q)
    assert len(p["parts"]) <= Q.MAX_PARTS
    assert sum(len(t) for t, _ph in p["parts"]) <= Q.MAX_QUERY_CHARS
    for c in p["concepts"]:
        assert c["text"] and (c["words"] or c["slots"])
        assert all(k in c for k in ("kind", "cities", "instrument", "required", "pieces"))
    assert plan(q) == p  # deterministic


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_unicode_never_crashes(q):
    p = plan(q)
    assert len(p["parts"]) <= Q.MAX_PARTS
