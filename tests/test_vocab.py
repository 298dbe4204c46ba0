"""The curated vocabularies (kb/vocab.py and kb/data/*.yaml)."""

import pickle
import re
import shutil

import pytest
import yaml

from kb.errors import InputError
from kb.vocab import DATA_DIR, POLICY_TOOLS, load_vocab

TAXONOMY = ["equity", "credit", "bonds", "insurance", "guarantee", "ip-finance", "listing",
            "risk-sharing", "fiscal", "linkage", "institutions", "platforms", "ecosystem",
            "local-finance", "cross-border", "governance"]

# Every city the five reports name, with the slug a user sees in URLs.
REPORT_CITIES = {
    "武汉": "wuhan", "苏州": "suzhou", "合肥": "hefei", "广州": "guangzhou", "洛阳": "luoyang",
    "上海": "shanghai", "深圳": "shenzhen", "天津": "tianjin", "重庆": "chongqing",
    "杭州": "hangzhou", "南京": "nanjing", "长沙": "changsha", "宁波": "ningbo",
    "泉州": "quanzhou", "福州": "fuzhou", "济南": "jinan", "西安": "xian", "东莞": "dongguan",
    "北京": "beijing", "鄂州": "ezhou", "咸宁": "xianning", "黄冈": "huanggang",
    "黄石": "huangshi", "嘉兴": "jiaxing",
}


@pytest.fixture(scope="module")
def vocab():
    return load_vocab()


# --------------------------------------------------------------------------- content


def test_every_city_of_the_reports_is_known_with_its_slug_and_province(vocab):
    for name, slug in REPORT_CITIES.items():
        assert name in vocab.city_names
        assert vocab.city_by_slug[slug]["name"] == name
    assert vocab.city_by_name["武汉"]["province"] == "湖北"
    assert vocab.city_by_name["洛阳"]["province"] == "河南"
    assert vocab.city_by_name["上海"]["province"] == "上海"  # a municipality is its own province
    assert len(vocab.cities) >= 40
    assert len({c["slug"] for c in vocab.cities}) == len(vocab.cities)


def test_wuhan_aliases_cover_the_reports_names_for_it(vocab):
    aliases = set(vocab.city_by_name["武汉"]["aliases"])
    assert {"光谷", "中国光谷", "东湖高新区", "东湖新技术开发区", "汉口"} <= aliases
    assert any("江城" in a for a in aliases)  # a guarded regex: not 长江城市群
    assert "汉" not in aliases
    assert {"苏州工业园区", "苏州高新区"} <= set(vocab.city_by_name["苏州"]["aliases"])
    assert "松山湖" in vocab.city_by_name["东莞"]["aliases"]


def test_no_alias_is_a_single_character_or_shared(vocab):
    owner = {}
    for city in vocab.cities:
        for alias in city["aliases"]:
            if alias.startswith("re:"):
                continue
            assert len(alias) >= 2, alias
            assert owner.setdefault(alias, city["name"]) == city["name"], alias


def test_provinces_and_institutions(vocab):
    assert {"湖北", "广东", "安徽", "山东", "河南", "内蒙古"} <= vocab.province_names
    assert {"深圳证券交易所", "上海证券交易所", "北京证券交易所", "广东股权交易中心",
            "中国人民银行"} <= vocab.institution_names
    aliases = {a for i in vocab.institutions for a in i["aliases"]}
    assert {"上交所", "深交所", "北交所"} <= aliases
    # Wuhan's own banks are deliberately not institutions: their activity is Wuhan practice
    assert "汉口银行" not in vocab.institution_names


def test_instrument_taxonomy_is_exactly_the_agreed_one(vocab):
    assert [i["slug"] for i in vocab.instruments] == TAXONOMY
    labels = {i["slug"]: i["label"] for i in vocab.instruments}
    assert labels["equity"] == "股权投资与基金"
    assert labels["credit"] == "科技信贷"
    assert labels["listing"] == "上市与多层次资本市场"
    assert labels["governance"] == "考核、容错与统筹机制"


def test_every_instrument_is_fully_described(vocab):
    for inst in vocab.instruments:
        assert inst["definition"].endswith("。") and inst["definition"].count("。") == 1, inst["slug"]
        assert inst["policy_tool"] in POLICY_TOOLS
        assert inst["stip"] is None or re.match(r"^PI\d{3} \S", inst["stip"])
        assert len(inst["cues"]) >= 10, inst["slug"]
        page = (DATA_DIR / "instruments" / f"{inst['slug']}.md").read_text(encoding="utf-8")
        paragraphs = [p for p in page.split("\n\n") if p.strip()]
        assert 1 <= len(paragraphs) <= 3, inst["slug"]
        assert inst["page"] == page


def test_stip_and_policy_tool_assignments(vocab):
    by = vocab.instrument_by_slug
    assert by["equity"]["stip"] == "PI013 Equity financing"
    assert by["credit"]["stip"] == "PI012 Loans and credits for innovation in firms"
    assert by["guarantee"]["stip"] == "PI029 Debt guarantees and risk sharing schemes"
    assert by["fiscal"]["stip"] == "PI008 Grants for business R&D and innovation"
    assert by["platforms"]["stip"] == "PI023 Information services and access to datasets"
    assert by["ecosystem"]["stip"] == "PI021 Networking and collaborative platforms"
    assert by["governance"]["stip"] == "PI024 Strategies, agendas and plans"
    assert by["bonds"]["stip"] is None
    assert by["equity"]["policy_tool"] == by["credit"]["policy_tool"] == "供给型"
    assert by["fiscal"]["policy_tool"] == by["governance"]["policy_tool"] == "环境型"
    assert by["platforms"]["policy_tool"] == "环境型"
    assert by["insurance"]["policy_tool"] == "需求型"


def test_cues_are_specific(vocab):
    generic = {"基金", "保险", "担保", "平台", "银行", "金融", "科技", "投资", "融资", "上市", "财政",
               "政府", "企业", "服务", "机构", "资金"}
    for inst in vocab.instruments:
        assert not generic & set(inst["cues"]), inst["slug"]
        assert all(len(c) >= 2 for c in inst["cues"])
    equity = vocab.instrument_by_slug["equity"]["cues"]
    assert {"政府投资基金", "引导基金", "母基金", "天使基金", "种子基金", "创投基金", "AIC", "S基金",
            "股权投资"} <= set(equity)


def test_metrics_are_exposed_as_a_list(vocab):
    assert isinstance(vocab.metrics, list)
    if (DATA_DIR / "metrics.yaml").exists():
        assert vocab.metrics


def test_vocab_is_cached_and_picklable(vocab):
    assert load_vocab() is vocab
    clone = pickle.loads(pickle.dumps(vocab))
    assert clone.version == vocab.version
    assert clone.cues.scan("设立天使基金") == {"equity": ["天使基金"]}


# --------------------------------------------------------------------------- a copy of the data


@pytest.fixture
def data(tmp_path):
    """A writable copy of kb/data; returns a helper to edit one YAML file."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)

    class Data:
        dir = target

        @staticmethod
        def edit(name, change):
            path = target / name
            content = yaml.safe_load(path.read_text(encoding="utf-8"))
            change(content)
            path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False),
                            encoding="utf-8")
            return path

    return Data


def _city(content, name):
    return next(c for c in content["cities"] if c["name"] == name)


def _inst(content, slug):
    return next(i for i in content["instruments"] if i["slug"] == slug)


def test_version_changes_when_a_data_file_changes(data):
    before = load_vocab(data.dir).version
    assert load_vocab(data.dir).version == before
    data.edit("cities.yaml", lambda c: _city(c, "武汉")["aliases"].append("大武汉"))
    after = load_vocab(data.dir)
    assert after.version != before
    assert "大武汉" in after.city_by_name["武汉"]["aliases"]


def test_missing_metrics_file_gives_an_empty_list(data):
    (data.dir / "metrics.yaml").unlink(missing_ok=True)
    assert load_vocab(data.dir).metrics == []


def _error(data_dir):
    with pytest.raises(InputError) as info:
        load_vocab(data_dir)
    return info.value


@pytest.mark.parametrize("name, change, words", [
    ("cities.yaml", lambda c: _city(c, "苏州").update(slug="wuhan"), ["duplicate slug", "wuhan"]),
    ("cities.yaml", lambda c: _city(c, "苏州")["aliases"].append("光谷"),
     ["two cities", "光谷"]),
    ("cities.yaml", lambda c: _city(c, "武汉")["aliases"].append("汉"), ["too short", "汉"]),
    ("cities.yaml", lambda c: _city(c, "武汉")["aliases"].append("re:(在汉"),
     ["bad regular expression"]),
    ("cities.yaml", lambda c: _city(c, "武汉").update(province="楚国"), ["unknown province", "楚国"]),
    ("cities.yaml", lambda c: _city(c, "武汉").pop("slug"), ["missing slug"]),
    ("cities.yaml", lambda c: _city(c, "武汉").update(slug="Wu Han"), ["bad slug"]),
    ("cities.yaml", lambda c: _city(c, "武汉")["aliases"].append("湖北"), ["province name"]),
    ("cities.yaml", lambda c: _city(c, "苏州")["nicknames"].append("江城"), ["two cities", "江城"]),
    ("cities.yaml", lambda c: _city(c, "苏州")["nicknames"].append("光谷"), ["two cities", "光谷"]),
    ("cities.yaml", lambda c: _city(c, "苏州")["nicknames"].append("苏"), ["too short"]),
    ("cities.yaml", lambda c: _city(c, "苏州")["nicknames"].append("安徽"), ["province name"]),
    ("instruments.yaml", lambda c: _inst(c, "credit").update(slug="equity"),
     ["duplicate slug", "equity"]),
    ("instruments.yaml", lambda c: _inst(c, "credit").pop("label"), ["credit", "missing label"]),
    ("instruments.yaml", lambda c: _inst(c, "credit").update(policy_tool="supply"),
     ["bad policy_tool"]),
    ("instruments.yaml", lambda c: _inst(c, "credit").update(stip="loans"), ["bad stip"]),
    ("instruments.yaml", lambda c: _inst(c, "credit")["cues"].append("首贷"), ["duplicate cue", "首贷"]),
    ("instruments.yaml", lambda c: _inst(c, "credit")["cues"].append("贷"), ["too short"]),
    ("instruments.yaml", lambda c: _inst(c, "credit").update(cues=[]), ["no cue"]),
    ("institutions.yaml", lambda c: c["institutions"].append({"name": "光谷", "aliases": []}),
     ["city alias", "光谷"]),
    ("institutions.yaml", lambda c: c.update(city_suffixes=["大学("]), ["bad regular expression"]),
])
def test_malformed_data_is_refused_with_a_clear_message(data, name, change, words):
    path = data.edit(name, change)
    err = _error(data.dir)
    assert err.path == str(path)
    for word in words:
        assert word in err.problem, (word, err.problem)


def test_unparseable_yaml_and_missing_files_are_refused(data):
    (data.dir / "provinces.yaml").write_text("provinces: [湖北\n", encoding="utf-8")
    err = _error(data.dir)
    assert err.path.endswith("provinces.yaml") and "YAML" in err.problem
    shutil.copy(DATA_DIR / "provinces.yaml", data.dir / "provinces.yaml")
    (data.dir / "instruments" / "bonds.md").unlink()
    err = _error(data.dir)
    assert err.path.endswith("bonds.md") and "missing instrument page" in err.problem
    (data.dir / "instruments.yaml").unlink()
    err = _error(data.dir)
    assert "missing vocabulary file" in err.problem


def test_the_loaded_copy_matches_the_shipped_data(data):
    copy = load_vocab(data.dir)
    assert [c["slug"] for c in copy.cities] == [c["slug"] for c in load_vocab().cities]


# --------------------------------------------------------------------------- guarded cues


def test_guarded_cues_do_not_fire_inside_their_other_sense():
    from kb.tag import match_instruments
    vocab = load_vocab()
    assert match_instruments("市政府召开新闻发布会，通报有关情况。", vocab) == {}
    assert match_instruments("打造万亿级产业生态圈。", vocab) == {}
    assert match_instruments("设立院士工作站。", vocab) == {}
    assert match_instruments("举办科技金融产品发布会。", vocab) == {"ecosystem": ["发布会"]}
    # a guard hides only its own cue: other cues inside the same words still fire
    assert "ecosystem" in match_instruments("新闻发布会上，科技金融工作站揭牌。", vocab)


def test_a_guard_must_contain_its_cue(data):
    def change(content):
        cues = _inst(content, "ecosystem")["cues"]
        guarded = next(c for c in cues if isinstance(c, dict) and c["cue"] == "发布会")
        guarded["unless"].append("新闻通气会")
    data.edit("instruments.yaml", change)
    with pytest.raises(InputError, match="unless"):
        load_vocab(data.dir)


# --------------------------------------------------------------------------- administrative divisions


def test_every_prefecture_level_city_is_known_with_a_unique_slug(vocab):
    for name in ("宝鸡", "咸阳", "绵阳", "芜湖", "齐齐哈尔", "克拉玛依"):
        assert name in vocab.city_names
    slugs = [c["slug"] for c in vocab.cities]
    assert len(slugs) == len(set(slugs))
    assert vocab.city_by_name["宝鸡"]["slug"] == "baoji"
    assert vocab.city_by_name["宝鸡"]["province"] == "陕西"
    assert len(vocab.cities) > 290


def test_curated_slugs_do_not_change(vocab):
    curated = yaml.safe_load((DATA_DIR / "cities.yaml").read_text(encoding="utf-8"))["cities"]
    for city in curated:
        assert vocab.city_by_name[city["name"]]["slug"] == city["slug"]


def test_districts_and_counties_name_their_city(vocab):
    from kb.tag import tag_passages
    def cities(text):
        return tag_passages({"id": "d", "year": 2024}, [{"section": [], "text": text, "position": 0}],
                            vocab)[0]["cities"]
    assert cities("郫都区设立科技金融服务中心。") == ["成都"]
    assert cities("南山区设立天使母基金。") == ["深圳"]
    assert cities("昆山市推出科技贷。") == ["苏州"]
    assert cities("鄠邑区和宝鸡市联合举办路演。") == ["西安", "宝鸡"]
    # a district name several cities share names none of them
    assert cities("鼓楼区推出科技贷。") == []


@pytest.mark.parametrize("text", ["确定西部地区发展方向。", "省内江苏籍企业", "确保山区企业融资",
                                  "推广元宇宙应用。", "保持长治久安。"])
def test_generated_city_names_inside_ordinary_words_are_not_cities(vocab, text):
    from kb.tag import tag_passages
    tagged = tag_passages({"id": "d", "year": 2024}, [{"section": [], "text": text, "position": 0}], vocab)
    assert tagged[0]["mentions"] == []


@pytest.mark.parametrize("text, cities", [
    ("支持前海扩大QFLP试点。", ["深圳"]),
    ("当前海外市场波动加大。", []),
    ("城西科创大走廊集聚了大批科技企业。", ["杭州"]),
])
def test_zones_and_nicknames_stay_curated_aliases(vocab, text, cities):
    from kb.tag import tag_passages
    tagged = tag_passages({"id": "d", "year": 2024}, [{"section": [], "text": text, "position": 0}], vocab)
    assert tagged[0]["cities"] == cities


@pytest.mark.parametrize("text, mentions", [
    ("湘潭大学与湘潭市合作设立科技金融研究院。", ["湘潭"]),      # a generated city's university is not the city
    ("宝鸡路上的科技支行", []),
    ("成都市郫都区", ["成都"]),                                  # city and its district: one subject
])
def test_generated_cities_follow_the_institution_suffix_rules(vocab, text, mentions):
    from kb.tag import tag_passages
    tagged = tag_passages({"id": "d", "year": 2024}, [{"section": [], "text": text, "position": 0}], vocab)
    assert tagged[0]["mentions"] == mentions


def test_a_builds_vocabulary_memo_gives_what_loading_gives(data, tmp_path, monkeypatch):
    from kb import vocab as kbvocab
    memo = tmp_path / "cache"
    fresh = load_vocab(data.dir, memo_dir=memo)
    assert len(list((memo / "vocab").glob("*.pickle"))) == 1
    monkeypatch.setattr(kbvocab, "_CACHE", {})  # a new process: only the memo is left
    monkeypatch.setattr(kbvocab, "_load", lambda _d: pytest.fail("loaded again"))
    kept = load_vocab(data.dir, memo_dir=memo)
    assert kept.version == fresh.version and kept.cities == fresh.cities
    assert kept == fresh
    # an edited data file is loaded afresh, and the stale memo is replaced
    monkeypatch.undo()
    monkeypatch.setattr(kbvocab, "_CACHE", {})
    data.edit("cities.yaml", lambda c: c["cities"][0].setdefault("nicknames", []).append("测试城"))
    edited = load_vocab(data.dir, memo_dir=memo)
    assert edited.version != fresh.version
    assert len(list((memo / "vocab").glob("*.pickle"))) == 1


def test_the_pinyin_table_is_pypinyins_and_covers_the_vocabulary():
    """kb/data/pinyin.txt holds pypinyin's slug of each name loading the vocabulary converts,
    so a build needs no import of pypinyin (a good part of its start-up)."""
    import subprocess
    import sys

    from kb import vocab

    lines = [ln for ln in vocab.PINYIN_TABLE.read_text(encoding="utf-8").splitlines()
             if ln and not ln.startswith("#")]
    assert len(lines) > 200
    for line in lines:
        name, slug = line.split(" ")
        assert vocab._pinyin(name) == slug, line
    code = ("import sys, kb.pipeline, kb.vocab; kb.vocab.load_vocab(); "
            "print('pypinyin' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=vocab.DATA_DIR.parent.parent)
    assert out.stdout.strip() == "False"
