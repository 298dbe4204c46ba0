"""Stage — tag: passages -> passages with ids, cities, provinces, instruments and years.

``tag_passages(doc, passages, vocab) -> list[dict]`` returns new dicts (the input
is not modified) carrying every input field plus:

``id``
    ``f"{doc_id}-{h}"`` where ``h`` is the first 8 hex digits of the SHA-1 of the
    passage's normalised text (:func:`kb.analysis.normalize`, whitespace runs
    collapsed to one space, stripped). The n-th repeat of an identical text in
    one document gets ``-2``, ``-3``… in reading order. An id depends only on the
    document id and the passage text (and on earlier identical texts of the same
    document), so adding documents or editing other passages never changes it.
``doc``
    the document id.
``cities`` / ``city_basis``
    the subject cities — whose policy or practice the passage describes — and
    why each was chosen. Rules, in order (first that yields a city wins):

    1. **text** — cities named in the passage text as subjects: a city name,
       name+市, or an alias (``city_basis`` ``"text"`` / ``"alias"``: 光谷,
       东湖高新区, 汉口, 苏州工业园区, 在汉, 在洛…), plus the home city when the text
       says 我市/本市 (``"home"``). Every city of an enumeration is a subject
       (苏州、合肥、广州均建立了…). A city right after a mention prefix
       (借鉴广州经验, 对标上海、深圳), or an enumeration right before a
       mention suffix (与深圳、上海相比), is only a *mention*. Names inside
       institutions.yaml names (深圳证券交易所, 上交所, 广东股权交易中心) and
       city_suffixes (武汉大学, 南京路) are neither subjects nor mentions.
       Explicit subjects in the text win over the heading trail: a paragraph
       under "（三）广州市" that says "南京提出…" is about Nanjing.
       If the heading trail speaks in the first person (三、我市发展科技金融的建议)
       the home city is added to the text subjects (``"heading"``): the
       recommendations are about the author's city even when they discuss others.
    2. **provincial statement** — the text names no city but a province heads a
       clause (湖北省还积极创新…, 。湖北省…) or it says 全省 / 省级
       (``province_anaphors`` of cities.yaml): no city is inherited or defaulted;
       the passage is provincial (see ``province``).
    3. **heading** — the innermost heading of the section trail that names a
       city (or says 我市 → home city) gives its cities (``"heading"``).
    4. **default** — the document's ``home_city`` (``"default"``) when the
       document is about one city (it names, as subjects, fewer than
       ``COMPARATIVE_MIN_CITIES`` other cities, or they appear in fewer than
       ``COMPARATIVE_MIN_SHARE`` of its passages), or when the text uses an
       anaphoric reference (全市, 市级, 市政府… from cities.yaml). In comparative
       reports (002, 003) a generic sentence naming no city gets no city.
       Documents without a home city (000) have no default.
    5. **own policy** — in the home city's own policy document (``type: policy``,
       not comparative) every passage keeps the home city (``"default"``) even
       when it names another city (对接上海证券交易所, 深化与香港合作).
    A city inside a cited document title (《广州市、深圳市……实施方案》) is only a
    mention, and a province inside one is never a provincial statement.
``mentions``
    every city named in the text (subjects and mentions, not institution hits),
    then the subject cities the text does not name (from heading or default).
``province``
    provinces named in the text outside institution names (湖北省, 安徽省区域性
    股权市场…), plus 我省/本省 as the home city's province; when the text names
    none, those of the innermost heading naming one. In a provincial document
    (no home city; its publisher, else its title, names one province: 陕西省地方
    金融管理局) a passage with neither a city nor a province gets that province.
``instruments`` / ``cues``
    instrument slugs (taxonomy order) whose cue terms occur in the normalised
    text, and ``{slug: [cue terms that fired, first occurrence order]}``.
    A cue inside a longer cue of another instrument still counts
    (科技保险支公司 → institutions and insurance).
``year`` / ``years``
    ``year`` is the document's year; ``years`` the sorted years the passage's
    facts refer to: a 19xx/20xx number followed by 年 (a space may intervene:
    "2024 年末", "截至2024年6月底" → 2024, "到2027年" → 2027); a range
    "2025—2027年" / "2025年至2027年" / "（2023—2025）" gives every year of the range when it spans
    at most ``MAX_RANGE`` years, otherwise its two ends; a Chinese-numeral date
    (二〇二五年); the Five-Year-Plan periods (“十四五” → 2021…2025); 今年 → the
    document's year, 去年 → year−1, 明年 → year+1; a date printed without a year
    (截至9月末, 6月底, 上半年, 前三季度) → the document's year. Amounts (3000 亿元, 5000万元)
    are never years; 近三年 and 上年 are not resolved (their anchor is unclear).

``explain(passage, vocab, doc=None)`` tells which words produced each tag.
"""

import hashlib
import re
from collections import Counter

from .analysis import normalize
from .figures import YEARLESS_DATE_RE

COMPARATIVE_MIN_CITIES = 2     # other cities named as subjects across the document …
COMPARATIVE_MIN_SHARE = 0.10   # … in at least this share of its passages
MAX_RANGE = 10                 # a year range longer than this gives only its ends
_QUOTES = " \t\u3000“”\"'‘’「」『』《》"
_CLAUSE_START = set("，。；：！？,.;:!?()（）【】[]\n")
_ENUM_GAP = re.compile(r"^[\s“”\"'‘’]*(?:、|和|及|与|以及|或)[\s“”\"'‘’]*$")


# --------------------------------------------------------------------------- ids


def id_text(text, normalized=False):
    """The text an id is computed from: normalised, whitespace collapsed."""
    return re.sub(r"\s+", " ", text if normalized else normalize(text)).strip()


def passage_hash(text, normalized=False):
    """First 8 hex digits of the SHA-1 of :func:`id_text`."""
    return hashlib.sha1(id_text(text, normalized).encode("utf-8")).hexdigest()[:8]


# --------------------------------------------------------------------------- years

_YEAR = r"(?<![0-9.])((?:19|20)[0-9]{2})"
_RANGE_RE = re.compile(_YEAR + r"\s*年?\s*(?:—+|–|-+|~|～|至|到)\s*((?:19|20)[0-9]{2})\s*年")
_SINGLE_RE = re.compile(_YEAR + r"\s*年")
# a bracketed range without 年: 行动计划（2023—2025）
_BARE_RANGE_RE = re.compile(r"[(（]\s*((?:19|20)[0-9]{2})\s*(?:—+|–|-+|~|～|至|到)\s*((?:19|20)[0-9]{2})\s*[)）]")
_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_YEAR_RE = re.compile(r"((?:一九|二[〇零○])[〇零○一二三四五六七八九]{2})\s*年")
_PLAN_RE = re.compile(r"(?<![一二三四五六七八九十百千万零〇])十\s*([二三四五])\s*五(?![年个万亿%])")
_PLAN_START = {"二": 2011, "三": 2016, "四": 2021, "五": 2026}
_RELATIVE = {"今年": 0, "去年": -1, "明年": 1}
_RELATIVE_RE = re.compile("|".join(_RELATIVE))


def extract_years(norm, doc_year=None):
    """[(surface, [years])] found in normalised text (see the module docstring)."""
    found = []
    covered = []
    for m in list(_RANGE_RE.finditer(norm)) + list(_BARE_RANGE_RE.finditer(norm)):
        a, b = int(m.group(1)), int(m.group(2))
        if a > b:
            a, b = b, a
        years = list(range(a, b + 1)) if b - a <= MAX_RANGE else [a, b]
        found.append((m.group(), years))
        covered.append((m.start(), m.end()))
    for m in _SINGLE_RE.finditer(norm):
        if any(s <= m.start() < e for s, e in covered):
            continue
        found.append((m.group(), [int(m.group(1))]))
    for m in _CN_YEAR_RE.finditer(norm):
        found.append((m.group(), [int("".join(str(_CN_DIGITS[c]) for c in m.group(1)))]))
    for m in _PLAN_RE.finditer(norm):
        start = _PLAN_START[m.group(1)]
        found.append((m.group(), list(range(start, start + 5))))
    if doc_year:
        for m in _RELATIVE_RE.finditer(norm):
            found.append((m.group(), [int(doc_year) + _RELATIVE[m.group()]]))
        for m in YEARLESS_DATE_RE.finditer(norm):  # 截至9月末, 上半年: the document's year
            found.append((m.group(), [int(doc_year)]))
    return found


# --------------------------------------------------------------------------- places


class _Hits:
    """Place references found in one normalised text."""

    __slots__ = ("cities", "provinces", "home", "anaphor", "home_province", "province_anaphor", "ignored")

    def __init__(self):
        self.cities = []        # (name, start, end, surface, basis, subject)
        self.provinces = []     # (name, start, end, surface, clause_initial)
        self.home = []          # (start, surface)
        self.anaphor = []       # (start, surface)
        self.home_province = []  # (start, surface)
        self.province_anaphor = []  # (start, surface): 全省, 省级
        self.ignored = []       # (surface, why)

    def subject_cities(self):
        """Ordered {name: basis} of cities named as subjects ("text" beats "alias")."""
        out = {}
        for name, _s, _e, _surface, basis, subject in self.cities:
            if subject:
                if name not in out or (basis == "text" and out[name] == "alias"):
                    out[name] = basis
        return out

    def provincial(self):
        return any(p[4] for p in self.provinces) or bool(self.province_anaphor)


def _before(norm, start):
    return norm[max(0, start - 12):start].rstrip(_QUOTES)


def _clause_initial(norm, start):
    before = _before(norm, start)
    return not before or before[-1] in _CLAUSE_START or before.endswith("整个")


_TITLE = re.compile(r"《[^《》]{1,120}》")


def title_spans(norm):
    """(start, end) of every document title in 《》 (a cited document, not a subject)."""
    return [m.span() for m in _TITLE.finditer(norm)]


def analyse_places(norm, vocab):
    """Scan normalised text for place references (cities, provinces, 我市, 全市…)."""
    hits = _Hits()
    prev = None  # (end, subject flag, clause-initial flag, name) of the previous city/province hit
    prefixes = vocab.mention_prefixes
    titles = title_spans(norm)
    chain = []  # indexes in hits.cities of the current enumeration
    for start, end, surface, payload in vocab.places.scan(norm):
        if titles and any(a < start and end < b for a, b in titles):
            # a place inside a cited title names a document: a mention at most
            if payload[0] == "city":
                hits.cities.append((payload[1], start, end, surface, payload[2], False))
            elif payload[0] == "province":  # listed, but never a provincial statement
                hits.provinces.append((payload[1], start, end, surface, False))
            else:
                hits.ignored.append((surface, "in a document title"))
            prev = None
            continue
        kind, value, basis = payload
        if kind in ("institution", "ignore"):
            hits.ignored.append((surface, "institution" if kind == "institution" else "not a place"))
            continue
        if kind == "home":
            hits.home.append((start, surface))
            continue
        if kind == "anaphor":
            hits.anaphor.append((start, surface))
            continue
        if kind == "province-anaphor":
            hits.province_anaphor.append((start, surface))
            continue
        if kind == "home-province":
            hits.home_province.append((start, surface))
            continue
        # an enumeration goes on after 、/和/及…, and across a place named by its city
        # then its district (北京海淀区, 深圳市南山区: one place)
        in_enum = prev is not None and (_ENUM_GAP.match(norm[prev[0]:start])
                                        or (prev[0] == start and prev[3] == value))
        before = _before(norm, start)
        demoted = any(before.endswith(p) for p in prefixes)
        if in_enum:
            subject = prev[1] and not demoted
            initial = prev[2]
        else:
            subject = not demoted
            initial = _clause_initial(norm, start)
        if not in_enum:
            chain = []
        if kind == "city":
            chain.append(len(hits.cities))
            hits.cities.append((value, start, end, surface, basis, subject))
            if vocab.mention_suffixes and norm.startswith(vocab.mention_suffixes, end):
                # "与深圳、上海相比": the whole enumeration is compared with, not described
                for k in chain:
                    hits.cities[k] = hits.cities[k][:5] + (False,)
                subject = False
        else:
            hits.provinces.append((value, start, end, surface, initial))
        prev = (end, subject, initial, value)
    return hits


def _heading_context(trail, vocab, home, cache):
    """What the section trail says about places.

    Returns (cities {name: "heading"}, provinces, first_person, provincial):
    the cities of the innermost heading naming a city or saying 我市 (then
    ``first_person``), the provinces of the innermost heading naming one, and
    whether the innermost place-naming heading names only provinces."""
    cities, provinces, first_person, provincial = {}, [], False, None
    for heading in reversed(trail or []):
        if heading not in cache:
            cache[heading] = analyse_places(normalize(heading), vocab)
        hits = cache[heading]
        named = list(hits.subject_cities())
        heading_provinces = _unique(p[0] for p in hits.provinces)
        if hits.home and home and home not in named:
            named.append(home)
        if provincial is None and (named or heading_provinces):
            provincial = not named
        if named and not cities:
            cities = {n: "heading" for n in named}
            first_person = bool(hits.home and home)
        if heading_provinces and not provinces:
            provinces = heading_provinces
        if cities and provinces:
            break
    return cities, provinces, first_person, bool(provincial)


def _unique(items):
    seen = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def is_comparative(home, text_hits, heading_cities):
    """True when the document describes several other cities (a comparative report)."""
    others = Counter()
    passages_with_others = 0
    for hits, heading in zip(text_hits, heading_cities):
        names = set(hits.subject_cities()) | set(heading)
        names.discard(home)
        if names:
            passages_with_others += 1
        others.update(names)
    if len(others) < COMPARATIVE_MIN_CITIES:
        return False
    return passages_with_others >= COMPARATIVE_MIN_SHARE * max(1, len(text_hits))


# --------------------------------------------------------------------------- instruments


def match_instruments(norm, vocab):
    """{slug: [cue terms that fired]} in taxonomy order."""
    return vocab.cues.scan(norm)


# --------------------------------------------------------------------------- the stage


def _resolve(hits, heading, home, home_province, comparative, own_policy=False):
    """(cities {name: basis}, province [..]) for one passage.

    ``own_policy``: the passage belongs to the home city's own policy document,
    whose every measure is the home city's even where it names another city."""
    h_cities, h_provinces, h_first_person, h_provincial = heading
    cities = dict(hits.subject_cities())
    if hits.home and home:
        # place 我市 among the text subjects in order of appearance
        first_home = hits.home[0][0]
        ordered = [(s, n, b) for n, s, _e, _sf, b, subj in hits.cities if subj and n in cities]
        ordered.append((first_home, home, "home"))
        ordered.sort()
        merged = {}
        for _s, n, b in ordered:
            if n == home and b == "home":
                merged.setdefault(n, "home")
            else:
                merged.setdefault(n, cities[n])
        cities = merged
    if cities:
        if h_first_person and home and home not in cities:
            cities[home] = "heading"
    elif hits.provincial():
        cities = {}
    elif h_cities:
        cities = dict(h_cities)
    elif home and not h_provincial and (not comparative or hits.anaphor):
        cities = {home: "default"}
    if own_policy and home not in cities:
        cities = {home: "default", **cities}

    provinces = _unique(p[0] for p in hits.provinces)
    if (hits.home_province or (hits.province_anaphor and not cities)) and home_province \
            and home_province not in provinces:
        provinces.append(home_province)
    if not provinces:
        provinces = list(h_provinces)
    return cities, provinces


def document_province(doc, vocab):
    """The province a document without a home city speaks for: the one province its
    publisher names (陕西省地方金融管理局), else the one its title names; else None."""
    for field in ("publisher", "title"):
        hits = analyse_places(normalize(doc.get(field) or ""), vocab)
        named = _unique(p[0] for p in hits.provinces)
        if len(named) == 1 and not hits.subject_cities():
            return named[0]
    return None


def passage_facts(doc, passages, vocab):
    """What tagging reads from each passage on its own, in passage order: ``(place hits,
    heading context, cues, years, id hash)``. Each passage's facts depend only on that
    passage (and the document's home city and year), so the facts of consecutive slices
    of a document, concatenated, equal the facts of the whole (a large document is
    tagged in parallel slices this way); :func:`tag_passages` then does the
    document-wide part."""
    home = doc.get("home_city") or None
    doc_year = doc.get("year")
    cache = {}
    out = []
    for p in passages:
        norm = normalize(p.get("text") or "")
        out.append((analyse_places(norm, vocab),
                    _heading_context(p.get("section") or [], vocab, home, cache),
                    match_instruments(norm, vocab),
                    sorted({y for _surface, ys in extract_years(norm, doc_year) for y in ys}),
                    passage_hash(norm, normalized=True)))
    return out


def tag_passages(doc, passages, vocab, facts=None):
    """Tag the passages of one document (see the module docstring for the rules).

    ``facts``: :func:`passage_facts` of ``passages`` when already computed (the result is
    the same)."""
    doc_id = doc["id"]
    home = doc.get("home_city") or None
    home_province = vocab.city_by_name[home]["province"] if home in vocab.city_by_name else None
    doc_year = doc.get("year")

    if facts is None:
        facts = passage_facts(doc, passages, vocab)
    comparative = is_comparative(home, [f[0] for f in facts], [f[1][0] for f in facts])
    own_province = None if home else document_province(doc, vocab)
    own_policy = bool(home) and doc.get("type") == "policy" and not comparative

    seen = Counter()
    out = []
    for passage, (hits, heading, cues, years, h) in zip(passages, facts):
        seen[h] += 1
        pid = f"{doc_id}-{h}" if seen[h] == 1 else f"{doc_id}-{h}-{seen[h]}"
        cities, provinces = _resolve(hits, heading, home, home_province, comparative, own_policy)
        if own_province and not cities and not provinces:
            provinces = [own_province]
        mentions = _unique([c[0] for c in hits.cities] + list(cities))
        tagged = dict(passage)
        tagged.update({
            "id": pid,
            "doc": doc_id,
            "cities": list(cities),
            "mentions": mentions,
            "province": provinces,
            "instruments": list(cues),
            "cues": cues,
            "city_basis": cities,
            "year": doc_year,
            "years": years,
        })
        out.append(tagged)
    return out


# --------------------------------------------------------------------------- explain


def explain(passage, vocab, doc=None):
    """Why a passage got its tags: a dict of human-readable evidence.

    ``passage`` may be tagged (its ``cities``/``city_basis`` are explained) or
    raw (the text-level evidence is still reported)."""
    norm = normalize(passage.get("text") or "")
    hits = analyse_places(norm, vocab)
    home = (doc or {}).get("home_city") or None
    basis = passage.get("city_basis") or {}
    cities = {}
    for name in passage.get("cities", list(hits.subject_cities())):
        b = basis.get(name) or hits.subject_cities().get(name)
        evidence = [c[3] for c in hits.cities if c[0] == name and c[5]]
        if b == "home":
            evidence += [s for _p, s in hits.home]
        elif b == "heading":
            evidence = [h for h in reversed(passage.get("section") or [])
                        if name in analyse_places(normalize(h), vocab).subject_cities()
                        or (name == home and analyse_places(normalize(h), vocab).home)][:1]
        elif b == "default":
            evidence = [s for _p, s in hits.anaphor] or ["document home_city"]
        cities[name] = {"basis": b, "evidence": _unique(evidence)}
    mentions_only = {}
    for name, start, _e, surface, _b, subject in hits.cities:
        if not subject and name not in cities:
            mentions_only.setdefault(name, f"{surface!r} after {_before(norm, start)[-4:]!r}")
    return {
        "cities": cities,
        "mentions_only": mentions_only,
        "ignored": hits.ignored,
        "provinces": [(p[0], p[3], "clause head" if p[4] else "named") for p in hits.provinces],
        "instruments": match_instruments(norm, vocab),
        "years": extract_years(norm, (doc or {}).get("year") or passage.get("year")),
    }
