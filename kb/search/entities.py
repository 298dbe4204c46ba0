"""What a query word can stand for: a city, a province, or a policy instrument.

The gazetteer maps normalised surface forms to entities, from the curated vocabularies
(``kb/data/cities.yaml``, ``provinces.yaml``, ``instruments.yaml``, ``institutions.yaml``):

* a city's name (when ``bare``), name+市, its plain aliases (光谷, 东湖高新区 …) and its
  nicknames (江城, 鹏城: names a researcher types, too loose to tag running text by) →
  ``["c", slug]``;
* a province's name, name+省 and aliases → ``["p", slug, slug …]`` (its cities);
* an instrument's plain cue terms (投贷联动, 天使基金 …) → ``["i", slug]``, its label (科技保险)
  → ``["i", slug, "label"]`` (the label names the whole instrument; a cue is narrower);
* institution names that contain a place (深圳证券交易所) → ``["x"]``: plain words, so the
  place inside is not read as a city.

Regular-expression aliases and cues (``re:`` entries) are left out: a query is matched by
longest surface at each position, identically in Python and in the browser (which gets
this table in the static index).
"""

from ..analysis import fold_variants, normalize
from ..vocab import REGEX_PREFIX


def _norm(term):
    return fold_variants(normalize(term))[0]


def gazetteer(vocab):
    """{surface: entity} (see module doc). Deterministic for the same vocabularies."""
    table = {}

    def put(surface, entity, override=False):
        if not surface or surface.startswith(REGEX_PREFIX):
            return
        s = _norm(surface)
        if len(s) < 2:
            return
        if override or s not in table:
            table[s] = entity

    for inst in vocab.instruments:
        put(inst["label"], ["i", inst["slug"], "label"])
        for cue in inst["cues"]:
            put(cue, ["i", inst["slug"]])
    by_province = {}
    for city in vocab.cities:
        by_province.setdefault(city["province"], []).append(city["slug"])
    for prov in vocab.provinces:
        slugs = sorted(by_province.get(prov["name"], []))
        ent = ["p", *slugs] if slugs else ["x"]
        for s in [prov["name"], prov["name"] + "省", *prov.get("aliases", [])]:
            put(s, ent, override=True)
    for city in vocab.cities:
        ent = ["c", city["slug"]]
        surfaces = ([city["name"]] if city.get("bare", True) else []) + [city["name"] + "市"]
        for s in surfaces + list(city.get("aliases", [])) + list(city.get("nicknames", [])):
            put(s, ent, override=True)
    for name in sorted(vocab.institution_names):
        put(name, ["x"], override=True)
    return dict(sorted(table.items()))


def city_names(vocab):
    """{slug: canonical name} of every city."""
    return {c["slug"]: c["name"] for c in vocab.cities}


def needle_tables(vocab, gaz):
    """What the snippet highlights for a recognised concept, beside the query's own text:
    {"names": {city slug: name}} (the name and name+市 of a city concept's cities) and
    {"cues": {instrument slug: [label and cues as in the gazetteer]}}."""
    cues = {}
    for surface, ent in gaz.items():
        if ent[0] == "i":
            cues.setdefault(ent[1], []).append(surface)
    return {"names": dict(sorted(city_names(vocab).items())),
            "cues": {k: sorted(v) for k, v in sorted(cues.items())}}
