"""The browser's execution of the query model (site_templates/static/js/kb-*.js) run in Chromium
via Playwright and held to the Python reference (kb.search, kb.analysis): normalisation, query
plans, ranking, paging, facets, snippets, URL state."""

from pathlib import Path

import opencc
import pytest

import yaml

from kb import analysis
from kb import static_index as si
from kb.search import plan_query, run
from kb.search import query as squery
from kb.search.reference import Reference
from kb.search.snippet import snippet
from tests.test_static_index import QUERIES, corpus_data, ranked

RELEVANCE = Path(__file__).resolve().parent.parent / "benchmarks" / "relevance"
RELEVANCE_QUERIES = [q["q"] for name in ("queries.yaml", "heldout.yaml", "heldout2.yaml", "heldout3.yaml")
                     for q in yaml.safe_load((RELEVANCE / name).read_text(encoding="utf-8"))["queries"]]

JS_DIR = si.JS_DIR
SCRIPTS = [JS_DIR / f for f in si.JS_FILES]


@pytest.fixture
def js(page):
    """A blank page with the browser scripts loaded (no search page markup: nothing starts)."""
    page.set_content("<!doctype html><html><head><meta charset='utf-8'></head><body></body></html>")
    for path in SCRIPTS:
        page.add_script_tag(path=str(path))
    return page


def _index_page(page, out, scripts_result):
    """Open a file:// page in out/search/ that loads the scripts and meta like the site does."""
    html = ["<!doctype html><html><head><meta charset='utf-8'></head><body>"]
    html += [f'<script src="../{s}"></script>' for s in scripts_result["scripts"]]
    html.append("</body></html>")
    test_page = Path(out) / "search" / "test.html"
    test_page.write_text("\n".join(html), encoding="utf-8")
    page.goto(test_page.as_uri())
    page.wait_for_function("() => window.KB && KB.Engine && Object.keys(KB.data).some(k => k.startsWith('meta.'))")
    return page


RUN_JS = """async ([q, full]) => {
  const meta = KB.data[Object.keys(KB.data).find(k => k.startsWith('meta.'))];
  window.__engine = window.__engine || new KB.Engine('', meta);
  const r = await window.__engine.run(q, {full});
  const rules = await window.__engine.rules();
  const tables = await window.__engine.snippetTables(r.plan);
  const snips = [];
  if (r.ranked.length) {
    const frags = await window.__engine.fragments(r.ranked.slice(0, 10).map(x => x.idx));
    r.ranked.slice(0, 10).forEach(x => snips.push(KB.snippetText(frags.get(x.idx).text, r.plan, tables, rules.snip)));
  }
  return {ids: r.ranked.map(x => x.idx), partial: r.partial, plan: r.plan, notices: r.notices || [],
          snippets: snips};
}"""


@pytest.fixture(scope="module")
def real_index(tmp_path_factory):
    passages, docs, vocab = corpus_data()
    out = tmp_path_factory.mktemp("jsindex")
    result = si.write_static_index(out, passages, docs, vocab)
    return out, result, Reference(passages, docs, vocab)


# --------------------------------------------------------------------------- normalisation


def test_normalize_fullwidth_traditional_lower(js, real_index):
    out, _result, _ref = real_index
    index = si.StaticIndex(out)
    js.evaluate("pairs => KB.setT2S(pairs)", index.load(index.meta["t2s"]))
    samples = ["風險補償", "ＡＩＣ　試點", "知識產權質押融資", "Ｓ基金", "ＱＦＬＰ", "投貸聯動",
               "科技金融ABC", "專精特新「小巨人」", "１２３％", "漢融通"]
    got = js.evaluate("xs => xs.map(KB.normalize)", samples)
    assert got == [analysis.normalize(s) for s in samples]
    assert got[0] == "风险补偿" and got[1] == "aic 试点"


def test_normalize_matches_python_on_traditional_corpus(js, real_index):
    """Every passage converted to traditional characters normalises like kb.analysis does
    (length-preserving), apart from rare phrase-dependent OpenCC conversions."""
    out, _result, ref = real_index
    index = si.StaticIndex(out)
    js.evaluate("pairs => KB.setT2S(pairs)", index.load(index.meta["t2s"]))
    s2t = opencc.OpenCC("s2t")
    texts = [s2t.convert(p["text"]) for p in ref.passages]
    got = js.evaluate("xs => xs.map(KB.normalize)", texts)
    total = diff = 0
    for text, g in zip(texts, got):
        want = analysis.normalize(text)
        assert len(g) == len(text)
        total += len(want)
        diff += sum(a != b for a, b in zip(g, want))
    assert diff / total < 0.001, (diff, total)


# --------------------------------------------------------------------------- query plans


def test_longest_match_segmentation(js):
    vocab = ["科技", "科技金融", "金融", "中心", "建设", "风险", "补偿", "风险补偿", "知识产权",
             "知识产权质押", "质押", "融资", "s基金", "aic"]
    texts = ["科技金融中心建设", "风险补偿资金", "知识产权质押融资", "s基金和aic", "科技，金融",
             "金融科技", "xyz科技", "科"]
    got = js.evaluate("""([vocab, texts]) => {
        const s = new Set(vocab);
        return texts.map(t => KB.segmentWords(t, w => s.has(w), 16));
    }""", [vocab, texts])
    for text, g in zip(texts, got):
        assert [tuple(x) for x in g] == squery.segment_words(text, set(vocab).__contains__), text
    assert [w for w, *_ in got[0]] == ["科技金融", "中心", "建设"]
    assert [w for w, *_ in got[2]] == ["知识产权质押", "融资"]


def test_parts_and_gram_slots_match_python(js):
    queries = QUERIES + ['"科技 金融" 武汉', "“科技创新”  贷款", '"未闭合', "5g险", "a.b 3.5%", "，。",
                         "ｓ基金", "科 技", "首台(套)、首批（次）", "科技,金融;投贷|联动"]
    got = js.evaluate("""qs => qs.map(q => KB.splitParts(KB.prepareQuery(q, {maxq: 100}).text)
                          .map(p => [p[0], p[1], KB.gramSlots(p[0])]))""", queries)
    for q, g in zip(queries, got):
        if q in ("風險補償",):
            continue  # needs the t2s map (tested above)
        text, _notices = squery.prepare(q)
        want = [[t, ph, [list(x) for x in squery.gram_slots(t)]] for t, ph in squery.split_parts(text)]
        assert g == want, q
    slots = dict(zip(queries, got))
    assert slots["科"] == [["科", False, [["p", "科"]]]]
    assert slots["5g险"] == [["5g险", False, [["e", "5g"], ["p", "险"]]]]
    assert [p[0] for p in slots["首台(套)、首批（次）"]] == ["首台套", "首批次"]
    assert [p[0] for p in slots["科技,金融;投贷|联动"]] == ["科技", "金融", "投贷", "联动"]


def test_plans_notices_ranks_and_snippets_match_python(page, real_index):
    """The tests' version of "the CLI and the browser run one model": on every query of the
    relevance set and the unit queries, the browser's plan, notices, ranking (all of it, not
    only the top 10) and the top-10 snippets equal the Python reference over the same files."""
    out, result, _ref = real_index
    index = si.StaticIndex(out)
    _index_page(page, out, result)
    for q in RELEVANCE_QUERIES + QUERIES + ["融资但保", "风险补偿" * 40, " ".join(f"词{i}" for i in range(12))]:
        got = page.evaluate(RUN_JS, [q, True])
        res = run(q, index, index.gazetteer, max_chars=index.maxw)
        assert got["plan"]["concepts"] == [{**c, "slots": [list(x) for x in c["slots"]]}
                                           for c in res["plan"]["concepts"]], q
        assert got["notices"] == res["notices"], q
        assert got["ids"] == res["idxs"], q
        want = [snippet(index.passage(i)[4], res["plan"], index.tables) for i in res["idxs"][:10]]
        assert got["snippets"] == want, q


def test_caps_and_corrections_are_reported(page, real_index):
    out, result, _ref = real_index
    _index_page(page, out, result)
    long_q = page.evaluate(RUN_JS, ["风险补偿" * 40, True])
    assert any("查询过长" in n for n in long_q["notices"]) and long_q["ids"]
    many = page.evaluate(RUN_JS, [" ".join(f"科技{i}" for i in range(12)), True])
    assert any("查询词过多" in n for n in many["notices"])
    typo = page.evaluate(RUN_JS, ["融资但保", True])
    assert any("融资担保" in n for n in typo["notices"]) and typo["ids"]


# --------------------------------------------------------------------------- ranking


def test_ranking_on_small_index(page, tmp_path):
    ps = [
        {"id": "d-1", "doc": "d", "text": "科技金融。", "cities": [], "instruments": [], "year": 2024},
        {"id": "d-2", "doc": "d", "text": "科技金融与科技金融服务。", "cities": [], "instruments": [], "year": 2024},
        {"id": "d-3", "doc": "d", "text": "推动科技金融发展，" + "加强企业服务和人才培养，" * 8, "cities": [],
         "instruments": [], "year": 2024},
        {"id": "d-4", "doc": "d", "text": "金融科技的发展。", "cities": [], "instruments": [], "year": 2024},
        {"id": "d-5", "doc": "d", "text": "发展科技型企业的金融服务。", "cities": [], "instruments": [], "year": 2024},
    ]
    result = si.write_static_index(tmp_path, ps, [{"id": "d", "title": "T", "year": 2024}], None)
    ref = Reference(ps)
    _index_page(page, tmp_path, result)
    for q in ["科技金融", "科技 金融", '"科技金融"', "金融", "科", "技金"]:
        got = page.evaluate(RUN_JS, [q, True])
        assert got["ids"] == ranked(ref, q, {}), q
    ids = page.evaluate(RUN_JS, ["科技金融", True])["ids"]
    # tf 2 beats tf 1; a long passage ranks below a short one
    assert ids[:3] == [1, 0, 2]
    assert set(page.evaluate(RUN_JS, ["科技 金融", True])["ids"]) == {0, 1, 2, 3, 4}


def test_phrase_matching(js, page, tmp_path):
    assert js.evaluate("KB.phraseStarts([[1, 5], [2, 9], [3]])") == [1]
    assert js.evaluate("KB.phraseStarts([[1, 5], [3, 9], [4]])") == []
    ps = [{"id": "a-1", "doc": "a", "text": "持续优化营商环境，提升服务。", "cities": [], "instruments": [], "year": 2024},
          {"id": "a-2", "doc": "a", "text": "优化服务流程，营商环境改善。", "cities": [], "instruments": [], "year": 2024},
          {"id": "a-3", "doc": "a", "text": "优化营商环境", "cities": [], "instruments": [], "year": 2024}]
    result = si.write_static_index(tmp_path, ps, [], None)
    _index_page(page, tmp_path, result)
    assert page.evaluate(RUN_JS, ['"优化营商环境"', True])["ids"] == [2, 0]
    assert sorted(page.evaluate(RUN_JS, ["优化 营商环境", True])["ids"]) == [0, 1, 2]
    assert page.evaluate(RUN_JS, ['"营商环境改善"', True])["ids"] == [1]


def test_paged_postings_partial_then_full(page, tmp_path):
    passages, docs, vocab = corpus_data()
    result = si.write_static_index(tmp_path, passages, docs, vocab, page0=16, inline_max=200, budget=1500,
                                   tag_budget=1500)
    index = si.StaticIndex(tmp_path)
    _index_page(page, tmp_path, result)
    # facet lists are paged too (by tag strength): a city or instrument concept fetches the
    # first page of its list, later ones within the budget
    assert any(len(index.list_pages(e)) > 2 for e in index.facets["cities"] + index.facets["instruments"])
    partials = []
    for q in ["科技", "金融", "科技 金融", "武汉 科技", "投贷联动", "风险补偿", "合肥 产业基金"]:
        want = ranked(index, q)
        assert want == ranked(Reference(passages, docs, vocab), q, index.gazetteer), q
        partial = page.evaluate(RUN_JS, [q, False])
        assert set(partial["ids"]) <= set(want) and (partial["partial"] or partial["ids"] == want), q
        partials.append(partial["partial"])
        full = page.evaluate(RUN_JS, [q, True])
        assert not full["partial"] and full["ids"] == want, q
    assert all(partials[:3]) and sum(partials[3:]) >= 2
    # browsing reads every page of a list
    for filters in ({"city": "wuhan"}, {"instrument": "equity"}, {"city": "hefei", "instrument": "credit"}):
        got = page.evaluate("""async (filters) => {
          const meta = KB.data[Object.keys(KB.data).find(k => k.startsWith('meta.'))];
          const e = new KB.Engine('', meta);
          await e.facets();
          const r = e.refine(await e.browse(filters, -1), filters, -1);
          return r.items.map(x => x.idx);
        }""", filters)
        assert got == index.browse(filters) and got, filters


def test_one_budget_caps_a_querys_postings_and_tag_lists_together(page, tmp_path):
    """The posting pages and the facet-list pages a query fetches stay within the meta file's
    totalBudget bytes together (first pages always): the query is then partial, and the full
    run finds everything."""
    passages, docs, vocab = corpus_data()
    result = si.write_static_index(tmp_path, passages, docs, vocab, page0=16, inline_max=200)
    index = si.StaticIndex(tmp_path)
    assert index.meta["totalBudget"] == si.writer.TOTAL_BUDGET < index.meta["budget"] + index.meta["tagBudget"]
    _index_page(page, tmp_path, result)
    for q in ["武汉 科技", "合肥 产业基金"]:
        want = ranked(index, q)
        got = {}
        for total in (None, 0.5):
            got[total] = page.evaluate("""async ([q, share, full]) => {
              const meta = Object.assign({}, KB.data[Object.keys(KB.data).find(k => k.startsWith('meta.'))]);
              const all = (await new KB.Engine('', meta).run(q, {full: true})).bytesBudgeted;
              meta.budget = meta.tagBudget = Infinity;
              meta.totalBudget = share ? Math.round(share * all) : Infinity;
              const r = await new KB.Engine('', meta).run(q, {full});
              return {ids: r.ranked.map(x => x.idx), partial: r.partial, bytes: r.bytesBudgeted, all: all};
            }""", [q, total, False])
        assert not got[None]["partial"] and got[None]["ids"] == want, q
        assert got[None]["bytes"] == got[None]["all"], q
        assert got[0.5]["partial"] and 0 < got[0.5]["bytes"] <= 0.5 * got[0.5]["all"], q
        assert set(got[0.5]["ids"]) <= set(want), q


def test_facets_refine_counts(page, real_index):
    out, result, ref = real_index
    _index_page(page, out, result)
    got = page.evaluate("""async () => {
      const meta = KB.data[Object.keys(KB.data).find(k => k.startsWith('meta.'))];
      const e = new KB.Engine('', meta);
      const run = await e.run('知识产权质押', {});
      await e.facets();
      const all = e.refine(run, {}, -1);
      const wuhan = e.refine(run, {city: 'wuhan'}, -1);
      const policy = e.refine(run, {type: 'policy'}, -1);
      const f = e.facetInfo.raw;
      const names = m => Object.fromEntries(Array.from(m.entries()).map(([k, v]) => [f.cities[k][0], v]));
      const types = m => Object.fromEntries(Array.from(m.entries()).map(([k, v]) => [f.types[k][0], v]));
      return {n: all.items.length, cities: names(all.counts.city), wuhan: wuhan.items.length,
              wuhanCities: names(wuhan.counts.city), policy: policy.items.length,
              types: types(all.counts.type)};
    }""")
    hits = ranked(ref, "知识产权质押", si.StaticIndex(out).gazetteer)
    _passages, docs, vocab = corpus_data()
    slug = {c["name"]: c["slug"] for c in vocab.cities}
    doc_type = {d["id"]: d["type"] for d in docs}
    counts, types = {}, {}
    for i in hits:
        p = ref.passages[i]
        for c in {slug[c] for c in p["cities"]}:
            counts[c] = counts.get(c, 0) + 1
        types[doc_type[p["doc"]]] = types.get(doc_type[p["doc"]], 0) + 1
    assert got["n"] == len(hits)
    assert got["cities"] == counts
    assert got["wuhan"] == counts.get("wuhan", 0)
    assert got["wuhanCities"] == counts  # a facet's own filter does not narrow its counts
    assert got["types"] == types and got["policy"] == types.get("policy", 0)


# --------------------------------------------------------------------------- snippets

PLAN_JS = """([text, plan, gaz, width]) => KB.snippetText(text, plan, gaz, width)"""


def _plan(text):
    words = set(t for t, *_ in analysis.word_tokens(text))
    return lambda q, gaz={}: plan_query(q, words.__contains__, gaz)


def test_snippet_segments_escape_markup(js):
    evil = '<script>alert(1)</script>前文投贷联动<img src=x onerror="alert(2)">后文'
    plan = _plan(evil)("投贷联动 onerror")
    got = js.evaluate("""([text, plan]) => {
      const div = document.createElement('p');
      KB.snippet(text, plan, {}, 120).forEach(s => {
        if (s[1]) { const m = document.createElement('mark'); m.textContent = s[0]; div.appendChild(m); }
        else div.appendChild(document.createTextNode(s[0]));
      });
      document.body.appendChild(div);
      return {html: div.innerHTML, text: div.textContent,
              elements: Array.from(div.querySelectorAll('*')).map(e => e.tagName),
              marks: Array.from(div.querySelectorAll('mark')).map(m => m.textContent)};
    }""", [evil, plan])
    assert got["elements"] == ["MARK", "MARK"]
    assert got["marks"] == ["投贷联动", "onerror"]
    assert got["text"] == evil
    assert "<script>" not in got["html"] and "&lt;script&gt;" in got["html"]
    assert js.evaluate("() => window.__xss === undefined")


def test_snippet_covers_the_most_concepts(js):
    js.evaluate("pairs => KB.setT2S(pairs)", "風风險险補补償偿")
    text = "苏州" + "甲" * 200 + "風險補償" + "乙" * 200
    plan = _plan(text)("苏州 风险补偿")
    got = js.evaluate(PLAN_JS, [text, plan, {}, 120])
    assert got == snippet(text, plan, {})
    # two fragments, both concepts highlighted, in their original characters
    assert got.startswith("【苏州】") and "【風險補償】" in got and got.count("…") == 2
    text2 = "前文" * 60 + "设立首台（套）保险补偿" + "后文" * 60
    plan2 = _plan(text2)("首台套")
    got2 = js.evaluate(PLAN_JS, [text2, plan2, {}, 120])
    assert got2 == snippet(text2, plan2, {}) and "【首台（套）】" in got2


def test_url_state_round_trip(js):
    state = js.evaluate("""() => {
      const s = KB.readState('?q=%E6%8A%95%E8%B4%B7+%E8%81%94%E5%8A%A8&city=wuhan&year=2024&type=policy&page=3&doc=a.b');
      return [s, KB.stateQuery(s), KB.readState('?page=-2&year=20x4&type=<x>')];
    }""")
    assert state[0] == {"q": "投贷 联动", "city": "wuhan", "instrument": "", "year": "2024",
                        "type": "policy", "doc": "a.b", "page": 3}
    assert state[1].startswith("?q=") and "city=wuhan" in state[1] and "type=policy" in state[1]
    assert state[2]["page"] == 1 and state[2]["year"] == "" and state[2]["type"] == ""


def test_safe_relative_links(js):
    got = js.evaluate("""() => ['doc/a.html#x', 'javascript:alert(1)', '//evil.example/x',
                                '/abs', 'JaVaScRiPt:x', 'https://x'].map(KB.safeRelative)""")
    assert got == ["doc/a.html#x", None, None, None, None, None]


def test_browse_by_facets_without_query(page, real_index):
    out, result, ref = real_index
    _passages, docs, _vocab = corpus_data()
    _index_page(page, out, result)
    first_doc = sorted(d["id"] for d in docs)[1]
    for filters in ({"city": "wuhan"}, {"instrument": "equity"}, {"city": "hefei", "instrument": "credit"},
                    {"year": "2024"}, {"doc": first_doc}, {"doc": first_doc, "instrument": "equity"},
                    {"type": "policy"}, {"type": "report", "city": "suzhou"}, {"city": "nowhere"}):
        got = page.evaluate("""async (filters) => {
          const meta = KB.data[Object.keys(KB.data).find(k => k.startsWith('meta.'))];
          const e = new KB.Engine('', meta);
          await e.facets();
          const docNum = filters.doc ? await e.docIndex(filters.doc) : -1;
          const run = await e.browse(filters, docNum);
          const r = e.refine(run, filters, docNum);
          const f = e.facetInfo.raw;
          return {ids: r.items.map(x => x.idx),
                  cities: Object.fromEntries(Array.from(r.counts.city.entries()).map(([k, v]) => [f.cities[k][0], v]))};
        }""", filters)
        assert got["ids"] == ref.browse(filters), filters
        # the city facet counts ignore the city filter itself
        others = {k: v for k, v in filters.items() if k != "city"}
        base = ref.browse(others) if others else range(ref.n)
        expected = {}
        for i in base:
            for c in ref.tags["city"]:
                if i in ref.tags["city"][c]:
                    expected[c] = expected.get(c, 0) + 1
        assert got["cities"] == expected, filters


def test_spelt_out_facet_codes(page, tmp_path, monkeypatch):
    """With tables of two city sets and two masks, nearly every passage spells its codes out:
    the browser decodes them (postings, facet lists, document code files) like Python does,
    ranks alike and counts facets exactly."""
    monkeypatch.setattr(si.writer, "SET_TABLE", 2)
    monkeypatch.setattr(si.writer, "MASK_TABLE", 2)
    passages, docs, vocab = corpus_data()
    result = si.write_static_index(tmp_path, passages, docs, vocab)
    index = si.StaticIndex(tmp_path)
    ref = Reference(passages, docs, vocab)
    assert len(index.codes.sets) == 2 and len(index.codes.masks) == 2
    _index_page(page, tmp_path, result)
    first_doc = sorted(d["id"] for d in docs)[1]
    slug = {c["name"]: c["slug"] for c in vocab.cities}
    for q, filters in (("知识产权质押", {}), ("武汉 担保", {}), ("风险补偿", {"instrument": "credit"}),
                       ("", {"doc": first_doc}), ("", {"city": "wuhan"}), ("", {"instrument": "equity"})):
        got = page.evaluate("""async ([q, filters]) => {
          const meta = KB.data[Object.keys(KB.data).find(k => k.startsWith('meta.'))];
          const e = new KB.Engine('', meta);
          await e.facets();
          const docNum = filters.doc ? await e.docIndex(filters.doc) : -1;
          const run = q ? await e.run(q, {full: true}) : await e.browse(filters, docNum);
          const r = e.refine(run, filters, docNum);
          const f = e.facetInfo.raw;
          const named = (m, list) => Object.fromEntries(Array.from(m.entries()).map(([k, v]) => [list[k][0], v]));
          return {ids: r.items.map(x => x.idx), cities: named(r.counts.city, f.cities),
                  instruments: named(r.counts.instrument, f.instruments)};
        }""", [q, filters])
        want = ranked(index, q, **filters) if q else ref.browse(filters)
        assert got["ids"] == want, (q, filters)
        assert not q or want == ranked(ref, q, index.gazetteer, **filters)
        def base(facet):  # a facet's counts ignore its own filter
            others = {k: v for k, v in filters.items() if k != facet}
            return ranked(index, q, **others) if q else ref.browse(others) if others else range(ref.n)
        cities, insts = {}, {}
        for i in base("city"):
            for c in {slug[c] for c in ref.passages[i]["cities"]}:
                cities[c] = cities.get(c, 0) + 1
        for i in base("instrument"):
            for s in set(ref.passages[i]["instruments"]):
                insts[s] = insts.get(s, 0) + 1
        assert got["cities"] == cities, (q, filters)
        assert got["instruments"] == insts, (q, filters)


def test_fragments_in_several_folders(page, tmp_path, monkeypatch):
    """With folders of seven fragment files, the browser finds every passage's fragment
    (folder hash from meta's list, file number within the folder) like the Python reader."""
    monkeypatch.setattr(si.writer, "FRAG_BLOCK", 7)
    passages, docs, vocab = corpus_data()
    result = si.write_static_index(tmp_path, passages, docs, vocab)
    index = si.StaticIndex(tmp_path)
    assert len({p.name for p in (tmp_path / "search").glob("f-*")}) == -(-index.n // 7) > 2
    _index_page(page, tmp_path, result)
    got = page.evaluate("""async (n) => {
      const meta = KB.data[Object.keys(KB.data).find(k => k.startsWith('meta.'))];
      const e = new KB.Engine('', meta);
      const idxs = Array.from({length: n}, (_, i) => i);
      const frags = await e.fragments(idxs);
      return idxs.map(i => [frags.get(i).id, frags.get(i).text]);
    }""", index.n)
    assert got == [[index.passage(i)[0], index.passage(i)[4]] for i in range(index.n)]
