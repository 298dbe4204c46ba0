"""Property-based tests (Hypothesis) of the reader, cleaner, splitter and tagger.

* No input crashes them: the reader and sidecar validation either return a document
  or raise the one user-facing error, InputError; the cleaner and splitter take any
  text.
* Nothing is lost or invented: text that no furniture rule applies to comes out of
  clean → split with every character, in order; in general, passages only hold
  characters of the input, in the input's order.
* Passage ids are stable: inserting a paragraph elsewhere never changes the id of
  another passage.

The budget is bounded (``max_examples``, no deadline) so ``make test`` stays quick.
"""

import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kb import clean as kbclean, export
from kb.errors import InputError
from kb.read import DOC_TYPES, decode, read_document, validate_sidecar
from kb.split import split
from kb.tag import tag_passages
from kb.vocab import load_vocab

BUDGET = settings(max_examples=300, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
DOC = {"id": "prop", "title": "测试", "publisher": "测试", "type": "report", "year": 2024,
       "date": "2024", "home_city": None}

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
# any text, including controls, surrogates' neighbours, full-width forms and odd spaces
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)
# text shaped like a report: CJK, digits, punctuation, numbering, spaces and line breaks
PROSE_PIECES = st.one_of(
    st.text(CJK, min_size=1, max_size=30),
    st.sampled_from(["。", "，", "；", "：", "！", "？", "、", "（一）", "一、", "1.", "（1）", "# ",
                     "—5—", "\n", "\n\n", " ", "　", "“", "”", "2024年", "10亿元", "…"]),
)
PROSE = st.lists(PROSE_PIECES, max_size=60).map("".join)


def squeeze(text):
    return re.sub(r"\s+", "", text)


def is_subsequence(needle, haystack):
    it = iter(haystack)
    return all(ch in it for ch in needle)


# ------------------------------------------------------------------ reader


@BUDGET
@given(body=st.binary(max_size=600), sidecar=st.binary(max_size=300))
def test_reader_never_crashes_on_any_bytes(tmp_path_factory, body, sidecar):
    folder = tmp_path_factory.mktemp("doc")
    (folder / "d.txt").write_bytes(body)
    (folder / "d.yaml").write_bytes(sidecar)
    try:
        doc = read_document(folder / "d.txt", known_cities={"武汉"})
    except InputError as exc:
        assert str(exc).startswith(str(folder / "d."))
        return
    assert doc["text"].strip() and doc["type"] in DOC_TYPES


@BUDGET
@given(data=st.binary(max_size=600))
def test_decoded_text_has_no_control_characters(data):
    try:
        text, encoding = decode("d.txt", data)
    except InputError:
        return
    assert encoding in ("utf-8", "gb18030")
    assert not re.search(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]", text)


YAML_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30),
    st.dates(), st.datetimes(), st.sampled_from(["2024", "2024-06", "2024-06-07", "2025-13-45",
                                                 "report", "policy", "武汉", "哥谭", "\n", ""]),
)
YAML_VALUES = st.recursive(YAML_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=6)
FIELDS = st.sampled_from(["title", "publisher", "date", "type", "home_city", "doc_number",
                          "date_note", "colour", "Title"])


@BUDGET
@given(meta=st.one_of(YAML_VALUES, st.dictionaries(FIELDS, YAML_VALUES, max_size=8)))
def test_sidecar_validation_takes_whatever_yaml_made(meta):
    try:
        out = validate_sidecar("d.yaml", meta, known_cities={"武汉"})
    except InputError as exc:
        assert str(exc).startswith("d.yaml: ")
        return
    assert out["type"] in DOC_TYPES and 1000 <= out["year"] <= 2999
    assert re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", out["date"])
    for key in ("title", "publisher", "doc_number", "home_city"):
        assert out[key] is None or (isinstance(out[key], str) and "\n" not in out[key])
    assert out["home_city"] in (None, "武汉")


# ------------------------------------------------------------------ cleaner + splitter


@BUDGET
@given(text=st.one_of(ANY_TEXT, PROSE), news=st.booleans())
def test_clean_and_split_take_any_text_and_invent_nothing(text, news):
    doc = dict(DOC, type="news" if news else "report")
    paragraphs = kbclean.clean(text, doc)
    assert all(isinstance(p, str) and p.strip() for p in paragraphs)
    passages = split(paragraphs)
    assert [p["position"] for p in passages] == list(range(len(passages)))
    body = "".join(p["text"] for p in passages)
    assert is_subsequence(squeeze(body), squeeze(text)), "passages hold only input text, in order"


SENTENCE = st.builds(lambda s, end: s + end, st.text(CJK, min_size=2, max_size=60),
                     st.sampled_from(["。", "！", "？"]))
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=4).map("".join)


def _furniture_free(paragraphs):
    """No documented furniture rule applies: no line pattern, no near-duplicate."""
    rules = kbclean.rules()
    patterns = [r for r in (rules["lines"], rules["head"]) if r]
    return (not any(r.search(p) for r in patterns for p in paragraphs)
            and len(kbclean.drop_near_duplicates([("text", p) for p in paragraphs])) == len(paragraphs))


@BUDGET
@given(paragraphs=st.lists(PARAGRAPH, min_size=1, max_size=8, unique=True),
       separator=st.sampled_from(["\n", "\n\n", "\n\n\n"]))
def test_every_character_of_body_text_ends_in_a_passage(paragraphs, separator):
    assume(_furniture_free(paragraphs))
    passages = split(kbclean.clean(separator.join(paragraphs), DOC))
    assert squeeze("".join(p["text"] for p in passages)) == squeeze("".join(paragraphs))


@BUDGET
@given(paragraphs=st.lists(PARAGRAPH, min_size=1, max_size=6, unique=True),
       width=st.integers(min_value=8, max_value=40), separator=st.sampled_from(["\n", "\n\n"]))
def test_hard_wrapped_body_text_ends_in_passages(paragraphs, width, separator):
    assume(_furniture_free(paragraphs))
    wrapped = separator.join("\n".join(p[i:i + width] for i in range(0, len(p), width))
                             for p in paragraphs)
    passages = split(kbclean.clean(wrapped, DOC))
    assert squeeze("".join(p["text"] for p in passages)) == squeeze("".join(paragraphs))


# ------------------------------------------------------------------ ids


@pytest.fixture(scope="module")
def vocab():
    return load_vocab()


@BUDGET
@given(paragraphs=st.lists(PARAGRAPH, min_size=1, max_size=8, unique=True),
       inserted=PARAGRAPH, where=st.integers(min_value=0))
def test_ids_are_stable_under_insertion_elsewhere(vocab, paragraphs, inserted, where):
    assume(inserted not in paragraphs)
    before = tag_passages(DOC, split(paragraphs), vocab)
    at = where % (len(paragraphs) + 1)
    after = tag_passages(DOC, split(paragraphs[:at] + [inserted] + paragraphs[at:]), vocab)
    new_ids = {p["text"]: p["id"] for p in after}
    assert all(new_ids.get(p["text"]) == p["id"] for p in before)
    assert len(after) > len(before)
    assert len({p["id"] for p in after}) == len(after)


@BUDGET
@given(title=st.text(CJK, min_size=1, max_size=20), date=st.dates())
def test_sidecar_dates_yaml_would_make_objects_read_back_as_text(title, date):
    meta = {"title": title, "publisher": "测试", "type": "report", "date": date}
    try:
        out = validate_sidecar("d.yaml", meta)
    except InputError as exc:
        assert not 1000 <= date.year <= 2999 and "bad date" in str(exc)
        return
    assert out["date"] == date.isoformat() and out["year"] == date.year and out["title"] == title


def _near_duplicates_by_counting(paragraphs):
    """drop_near_duplicates as first written: every candidate's gram hits counted over
    all its counted postings (the reference for the pruned comparison)."""
    from collections import Counter, defaultdict
    from itertools import chain

    norm = [kbclean._NON_WORD.sub("", t) if kind == "text" else "" for kind, t in paragraphs]
    grams = [kbclean._sampled_grams(n) for n in norm]
    postings = defaultdict(list)
    for i, gs in enumerate(grams):
        for g in gs:
            postings[g].append(i)
    rank = [(len(n), -i) for i, n in enumerate(norm)]
    kept = [True] * len(paragraphs)
    candidates = (i for i, n in enumerate(norm)
                  if kbclean.DUP_MIN_LEN <= len(n) <= kbclean.DUP_MAX_LEN and len(grams[i]) >= 4)
    for i in sorted(candidates, key=rank.__getitem__):
        lists = (postings[g] for g in grams[i])
        hits = Counter(chain.from_iterable(p for p in lists if len(p) <= kbclean.DUP_POSTINGS_MAX))
        need = kbclean.DUP_COVERAGE * len(grams[i])
        if any(n >= need and kept[j] and rank[j] > rank[i] for j, n in hits.items()):
            kept[i] = False
    return [p for p, keep in zip(paragraphs, kept) if keep]


# few distinct characters (code points divisible by 4 are the sampled gram starts): many shared grams
DUP_CHARS = st.sampled_from([chr(0x4E00 + k) for k in range(0, 48, 2)] + ["，", "1", "a"])
DUP_TEXT = st.text(DUP_CHARS, min_size=10, max_size=120)


@BUDGET
@given(base=st.lists(DUP_TEXT, min_size=1, max_size=12), picks=st.lists(
    st.tuples(st.integers(0, 11), st.integers(0, 60), st.integers(15, 200), DUP_TEXT), max_size=12))
def test_pruned_near_duplicates_drop_what_counting_drops(base, picks):
    paragraphs = [("text", t) for t in base]
    for k, start, length, noise in picks:  # excerpts of others, some with a little noise
        src = base[k % len(base)]
        paragraphs.append(("text", src[start:start + length] + noise[:k]))
    paragraphs.insert(len(paragraphs) // 2, ("heading", base[0]))
    assert kbclean.drop_near_duplicates(paragraphs) == _near_duplicates_by_counting(paragraphs)


LINE = st.one_of(st.just(""), st.just("  "), st.just("\u3000"), st.just("—5—"), st.just("兴泰智库研究报告"),
                 st.just("一、總體要求"), st.just("（二）风险补偿"), st.just("发布时间：2024-01-02"),
                 st.text(st.sampled_from(list("科技金融發展风险补偿。，：1 aA\t后")), max_size=40))


@BUDGET
@given(lines=st.lists(LINE, max_size=40), slices=st.integers(1, 6), doc_type=st.sampled_from(DOC_TYPES))
def test_lines_read_in_slices_clean_like_the_whole_text(lines, slices, doc_type, monkeypatch):
    """clean(jobs > 1) cuts the text into slices at newlines (here run in this process):
    the paragraphs and the dropped furniture are those of the whole text read at once."""
    monkeypatch.setattr(kbclean, "PARALLEL_LINES", 0)
    monkeypatch.setattr(kbclean, "LINE_SLICES", slices)
    monkeypatch.setattr(kbclean, "fork_map", lambda fn, calls, jobs: [fn(*c) for c in calls])
    text = "\n".join(lines)
    doc = dict(DOC, type=doc_type)
    serial, sliced = [], []
    assert kbclean.clean(text, doc, furniture=sliced, jobs=2) == kbclean.clean(text, doc, furniture=serial)
    assert sliced == serial


SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12))


@BUDGET
@given(records=st.lists(st.dictionaries(st.sampled_from(export.FIGURE_FIELDS),
                                        st.one_of(SCALAR, st.lists(SCALAR, max_size=3))), max_size=4))
def test_figures_json_items_are_those_of_the_indenting_encoder(records):
    """figures.json's items (the C encoder where a record holds only scalars) are the
    items of json.dumps(list, indent=2); CSV cells are as before for every value."""
    import json

    rows = [{k: r.get(k) for k in export.FIGURE_FIELDS} for r in records]
    whole = json.dumps(rows, ensure_ascii=False, indent=2)
    assert ("[\n" + export._figures_json(records) + "\n]" if records else "[]") == whole
    for r in records:
        for v in r.values():
            if type(v) in (str, int, float):
                assert export._cell(v) == str(v)
