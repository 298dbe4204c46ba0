"""The site model: documents, passages and figures grouped once into what pages show."""

from collections import defaultdict

from .. import cite, urls
from ..read import DOC_TYPE_LABELS
from .config import (KIND_LABELS, OTHER_METRIC, QUALIFIER_LABELS, SCOPE_LABELS)
from .text import _fmt_number, _get, _plain_aliases, _q, cue_sentence, figure_measure


class _LazyViews(dict):
    """{passage id: view}, each view computed on first use; ``in`` answers for every passage."""

    def __init__(self, passages_by_id, make):
        super().__init__()
        self._passages = passages_by_id
        self._make = make

    def __missing__(self, passage_id):
        view = self[passage_id] = self._make(self._passages[passage_id])
        return view

    def __contains__(self, passage_id):
        return passage_id in self._passages

    def passage(self, passage_id):
        return self._passages[passage_id]


class _Site:
    """Everything the templates need, computed once from the inputs."""

    def __init__(self, documents, passages, figures, vocab):
        self.documents = sorted(documents, key=lambda d: d["id"])
        self.docs_by_id = {d["id"]: d for d in self.documents}
        # Newest first, then by id: the order passages are listed in outside document pages.
        newest = sorted(self.documents, key=lambda d: (str(d.get("date") or ""), d["id"]),
                        reverse=True)
        self.doc_rank = {d["id"]: i for i, d in enumerate(newest)}
        self.docs_newest = newest
        self.docs_by_home = defaultdict(list)
        for d in self.documents:
            if d.get("home_city"):
                self.docs_by_home[d["home_city"]].append(d["id"])

        self.vocab = vocab
        cities = list(_get(vocab, "cities", []) or [])
        self.cities = cities
        self.city_by_name = {}
        for c in cities:
            self.city_by_name.setdefault(c["name"], c)
        for c in cities:
            for alias in _plain_aliases(c):
                self.city_by_name.setdefault(alias, c)
        self.instruments = list(_get(vocab, "instruments", []) or [])
        self.inst_by_slug = {i["slug"]: i for i in self.instruments}
        self.inst_rank = {i["slug"]: n for n, i in enumerate(self.instruments)}
        self.metrics = {m.get("slug") or m.get("id"): m for m in (_get(vocab, "metrics", []) or [])}

        self.passages = sorted(passages, key=lambda p: (self.doc_rank.get(p["doc"], 1 << 30),
                                                        p["doc"], p["position"]))
        self.figures = list(figures or [])

        # Groupings (one pass each).
        self.by_doc = defaultdict(list)
        self.by_city = defaultdict(list)
        self.by_city_inst = defaultdict(list)
        self.by_inst = defaultdict(list)
        for p in self.passages:
            self.by_doc[p["doc"]].append(p)
            insts = self.insts_of(p)
            for s in insts:
                self.by_inst[s].append(p)
            for name in p.get("cities", []):
                city = self.city_by_name.get(name)
                if city is None:
                    continue
                slug = city["slug"]
                self.by_city[slug].append(p)
                if insts:
                    for s in insts:
                        self.by_city_inst[(slug, s)].append(p)
                else:
                    self.by_city_inst[(slug, None)].append(p)
        # Page part of every passage (kb.urls: long documents are cut into parts).
        self.part_of = {}
        for key in self.by_doc:
            self.by_doc[key].sort(key=lambda p: p["position"])
            group = self.by_doc[key]
            self.part_of.update(zip((p["id"] for p in group),
                                    urls.part_numbers(p.get("text") for p in group)))

        # Cities that have passages, most passages first; only they get a page.
        self.active_cities = sorted(
            (c for c in cities if self.by_city.get(c["slug"])),
            key=lambda c: (-len(self.by_city[c["slug"]]), c["slug"]))
        self.active_slugs = {c["slug"] for c in self.active_cities}

        # Key figures: those that matched a metric (kb.figures files the rest under "other").
        self.figures_by_city = defaultdict(list)
        for f in self.figures:
            city = self.city_by_name.get(f.get("city"))
            if city is not None and f.get("metric") and f.get("metric") != OTHER_METRIC:
                self.figures_by_city[city["slug"]].append(f)

        # A passage's view is computed when a page first asks for it: a rebuild that reuses
        # most pages (kb.render.reuse) needs the views of the few pages it renders only.
        self.views = _LazyViews({p["id"]: p for p in self.passages}, self._passage_view)

    def insts_of(self, p):
        """A passage's known instruments, in vocabulary order."""
        return sorted((s for s in p.get("instruments", []) if s in self.inst_by_slug),
                      key=self.inst_rank.get)

    # ----------------------------------------------------------------- links

    @staticmethod
    def doc_url(doc_id, part=1):
        return urls.doc_page(doc_id, part)

    def city_url(self, slug):
        """A city's page, or None when the city has no passages (it gets no page)."""
        return f"city/{_q(slug)}.html" if slug in self.active_slugs else None

    @staticmethod
    def inst_url(slug):
        return f"instrument/{_q(slug)}.html"

    @staticmethod
    def search_url(city=None, instrument=None):
        params = []
        if city:
            params.append(f"city={_q(city)}")
        if instrument:
            params.append(f"instrument={_q(instrument)}")
        return "search/index.html" + ("?" + "&".join(params) if params else "")

    def passage_url(self, doc_id, passage_id):
        return urls.passage_url(doc_id, passage_id, self.part_of.get(passage_id, 1))

    # ----------------------------------------------------------------- views

    def city_chip(self, name):
        city = self.city_by_name.get(name)
        return {"label": name, "url": self.city_url(city["slug"]) if city else None}

    def inst_chip(self, slug):
        inst = self.inst_by_slug.get(slug)
        return {"label": inst["label"] if inst else slug, "slug": slug,
                "url": self.inst_url(slug) if inst else None}

    def _passage_view(self, p):
        doc = self.docs_by_id.get(p["doc"], {"id": p["doc"]})
        text = p.get("text", "")
        trail = list(p.get("section") or [])
        section = " › ".join(trail)
        return {
            "id": p["id"],
            "text": text,
            "excerpt": cue_sentence(text),
            "url": self.passage_url(p["doc"], p["id"]),
            "doc_url": self.doc_url(p["doc"]),
            "doc_title": doc.get("title") or p["doc"],
            "doc_date": str(doc.get("date") or p.get("year") or ""),
            "doc_year": str(doc.get("year") or p.get("year") or ""),
            "doc_type": DOC_TYPE_LABELS.get(doc.get("type"), doc.get("type") or ""),
            "section": section,
            "trail": trail,
            "cities": [self.city_chip(n) for n in p.get("cities", [])],
            "instruments": [self.inst_chip(s) for s in p.get("instruments", [])],
            "years": list(p.get("years") or []),
            "cite": cite.online_citation(doc, section or None),
        }

    def card(self, p, slug=None):
        """A passage as a card: its view plus the sentence where ``slug``'s cue fired."""
        view = dict(self.views[p["id"]])
        cues = (p.get("cues") or {}).get(slug) if slug else None
        if cues is None and not slug:
            cues = [c for cs in (p.get("cues") or {}).values() for c in cs]
        view["excerpt"] = cue_sentence(p.get("text", ""), cues or ())
        return view

    def cards(self, passages, slug=None, limit=None):
        chosen = passages if limit is None else passages[:limit]
        return [self.card(p, slug) for p in chosen]

    def doc_summary(self, doc, count=None):
        return {
            "id": doc["id"],
            "title": doc.get("title") or doc["id"],
            "publisher": doc.get("publisher") or "",
            "date": str(doc.get("date") or ""),
            "type": DOC_TYPE_LABELS.get(doc.get("type"), doc.get("type") or ""),
            "url": self.doc_url(doc["id"]),
            "count": len(self.by_doc.get(doc["id"], [])) if count is None else count,
        }

    def metric_info(self, slug):
        m = self.metrics.get(slug) or {}
        return {"slug": slug, "label": m.get("label") or slug, "unit": m.get("unit") or ""}

    def figure_view(self, f):
        value = _fmt_number(f.get("value"))
        if f.get("value_max") not in (None, ""):
            value = f"{value}–{_fmt_number(f.get('value_max'))}"
        if f.get("from_value") not in (None, ""):
            value = f"{_fmt_number(f.get('from_value'))} → {value}"
        metric = self.metric_info(f.get("metric"))
        if f.get("label") and metric["label"] == metric["slug"]:
            metric["label"] = f["label"]
        city = self.city_by_name.get(f.get("city"))
        qualifiers = []
        if f.get("qualifier"):
            qualifiers.append(QUALIFIER_LABELS.get(f["qualifier"], str(f["qualifier"])))
        if f.get("cumulative"):
            qualifiers.append("累计")
        passage_id = f.get("passage")
        doc_id = f.get("doc") or (passage_id.rsplit("-", 1)[0] if passage_id else None)
        link = None
        if passage_id and passage_id in self.views:
            passage = self.views.passage(passage_id)
            link = self.passage_url(passage["doc"], passage["id"])  # = its view's url
        elif doc_id and doc_id in self.docs_by_id:
            link = self.doc_url(doc_id)
        return {
            "city": f.get("city") or "",
            "city_slug": city["slug"] if city else "",
            "city_url": self.city_url(city["slug"]) if city else None,
            "metric": metric["label"],
            "metric_slug": metric["slug"],
            "value": value,
            "unit": f.get("unit") or metric["unit"],
            "as_of": str(f.get("as_of") or ""),
            "kind": KIND_LABELS.get(f.get("kind"), f.get("kind") or ""),
            "kind_key": f.get("kind") or "",
            "qualifier": "；".join(qualifiers),
            "measure": figure_measure(f),
            "scope": SCOPE_LABELS.get(f.get("scope") or "city", ""),
            "quote": f.get("quote") or "",
            "url": link,
            "doc_title": (self.docs_by_id.get(doc_id) or {}).get("title", ""),
        }
