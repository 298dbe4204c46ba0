"""The page writers: one method per page kind, each computing plain dicts for its template."""

import hashlib
import json
import math
import re
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

import jinja2

from .. import charts, cite
from ..fsutil import write_bytes
from ..parallel import fork_map
from ..reuse import Carry, digest, files_digest
from ..read import DOC_TYPE_LABELS
from ..static_index import compact_css
from .config import (CITY_FIGURES_PER_METRIC, CITY_PAGE_PER_INSTRUMENT, COMPARE_DEFAULT,
                     COMPARE_MAX, COMPARE_PER_CELL, CSP, DATA_DICTIONARY, DATA_DIR,
                     DEFAULT_BASE_URL, DOWNLOADS, INSTRUMENT_PAGE_PER_CITY, KIND_LABELS,
                     MAX_ALIASES, POLICY_TOOL_LABELS, REQUIRED_DOWNLOADS, SITE_NAME)
from .md import markdown_to_html
from .text import (SITE_TEXT, YEAR_LABELS, _bucket, _figure_sort_key, _human_size, _months,
                   _plain_aliases, _q)


def _js_data(name, payload):
    """A data file loaded as a classic script (works from file://, see compare.js)."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    # "</script" cannot end anything in a .js file, but "<!--" and U+2028 are kept out anyway.
    body = body.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"KBPages.register({json.dumps(name)},{body});\n"


_TEMPLATE_REF = re.compile(r"\{%-?\+?\s*(?:extends|include|import|from)\s+(\S[^%]*?)\s*(?:-?%\}|\s(?:import|as|ignore|with|without)\b)")
_LITERAL = re.compile(r"""^(?:"([^"\\]*)"|'([^'\\]*)')$""")


def _template_refs(source):
    """Names of the templates ``source`` extends, includes or imports (string literals), or
    None when one of them is an expression (then the page depends on every template)."""
    refs = []
    for arg in _TEMPLATE_REF.findall(source):
        m = _LITERAL.match(arg.strip())
        if not m:
            return None
        refs.append(m.group(1) if m.group(1) is not None else m.group(2))
    return refs


# --------------------------------------------------------------------------- pages

NAV = (
    ("index", "index.html", "首页"),
    ("compare", "compare.html", "城市对比"),
    ("cities", "cities.html", "城市"),
    ("search", "search/index.html", "检索"),
    ("documents", "documents.html", "文献"),
    ("downloads", "downloads.html", "数据下载"),
    ("about", "about.html", "关于与方法"),
)


PARALLEL_PAGES = 16  # pages left to render: fewer are rendered in this process
PAGE_CHUNKS = 4      # slices of them per job


class _Renderer:
    def __init__(self, out_dir, site, search_assets, base_url, templates_dir, carry=None,
                 doc_keys=None, jobs=1):
        self.out = Path(out_dir)
        # jobs > 1: pages are rendered at the end (finish), in forked worker processes
        self.jobs = jobs
        self.pending = []
        # carry: kb.reuse.Carry — pages whose key is unchanged are linked from the previous
        # output instead of rendered; doc_keys: {document id: hash of its passages}
        self.carry = carry or Carry(out_dir, "render")
        self.doc_keys = doc_keys or {}
        self.site = site
        self.search_assets = search_assets or {}
        self.base_url = (base_url if base_url.endswith("/") else base_url + "/") if base_url else None
        self.templates_dir = templates_dir
        self.has_search = (templates_dir / "search.html").exists()
        loader = jinja2.FileSystemLoader(str(templates_dir))
        common = dict(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
        self.env = jinja2.Environment(undefined=jinja2.StrictUndefined, **common)
        # The search page is another engineer's template: render it without StrictUndefined.
        self.search_env = jinja2.Environment(**common)
        self.written = []
        self.pages = []  # site-relative paths of HTML pages (for the sitemap)
        self._template_keys = {}
        self._doc_digests = {}  # document id -> digest of its metadata and content key

    # ----------------------------------------------------------------- plumbing

    def nav(self, current):
        return [{"href": href, "label": label, "current": key == current}
                for key, href, label in NAV if key != "search" or self.has_search]

    def base_ctx(self, rel_path, page_id, title, description=""):
        depth = rel_path.count("/")
        return {
            "root": "../" * depth,
            "csp": CSP,
            "site_name": SITE_NAME,
            "page_id": page_id,
            "page_title": title,
            "description": description,
            "nav": self.nav(page_id),
            "has_search": self.has_search,
            "search_url": "search/index.html",
            "year_labels": YEAR_LABELS,
            "site_url": self.base_url,  # citations name the published address when known
            "scripts": [],
        }

    def write(self, rel_path, text, key=None):
        self._record(rel_path, key, self._write_file(rel_path, text))

    def _record(self, rel_path, key, size):
        self.written.append(self.out / rel_path)
        self.carry.record(rel_path, key, size)

    def _write_file(self, rel_path, text):
        if not text.endswith("\n"):
            text += "\n"
        data = text.encode("utf-8")
        write_bytes(self.out / rel_path, data)
        return len(data)

    def _render(self, template, rel_path, ctx, env):
        """Render and write one page; returns its size in bytes."""
        if callable(ctx):
            ctx = ctx()
        return self._write_file(rel_path, (env or self.env).get_template(template).render(**ctx))

    def finish(self):
        """Render the pages left for the end, PAGE_CHUNKS slices of them per job in forked
        worker processes (round robin: a document's parts spread over the workers)."""
        pending, self.pending = self.pending, []
        if len(pending) < PARALLEL_PAGES:
            sizes = [self._render(*job[:4]) for job in pending]
        else:
            for template, _rel, _ctx, env, _key in pending:  # compiled once, before the fork
                (env or self.env).get_template(template)
            n = self.jobs * PAGE_CHUNKS
            done = fork_map(lambda k: [self._render(*job[:4]) for job in pending[k::n]],
                            [(k,) for k in range(n)], self.jobs)
            sizes = [None] * len(pending)
            for k, chunk in enumerate(done):
                sizes[k::n] = chunk
        for (_t, rel_path, _c, _e, key), size in zip(pending, sizes):
            self._record(rel_path, key, size)

    def template_key(self, name):
        """Hash of a template and of every template it extends, includes or imports, so a
        changed template re-renders the pages that use it (and only those)."""
        if name not in self._template_keys:
            seen, todo, h = set(), [name], hashlib.sha256()
            while todo:
                current = todo.pop()
                if current in seen:
                    continue
                seen.add(current)
                try:
                    source = self.env.loader.get_source(self.env, current)[0]
                except jinja2.TemplateNotFound:  # {% include … ignore missing %}
                    h.update(current.encode() + b"\0\0missing\0")
                    continue
                h.update(current.encode() + b"\0" + source.encode("utf-8") + b"\0")
                refs = _template_refs(source)
                if refs is None:  # a name computed at render time: depend on every template
                    self._template_keys[name] = files_digest(
                        sorted(self.templates_dir.rglob("*.html")), self.templates_dir)
                    return self._template_keys[name]
                todo.extend(refs)
            self._template_keys[name] = h.hexdigest()
        return self._template_keys[name]

    def page(self, template, rel_path, ctx=None, env=None, key=None):
        """Render ``template`` with ``ctx`` (a dict, or a function making it) to ``rel_path``,
        unless the previous output holds the page with the same key: by default a hash of
        the template's name and the context (templates, code and settings are in the
        carry's salt); callers that know cheaper inputs pass ``key`` and a function."""
        if rel_path.endswith(".html") and rel_path != "404.html":
            self.pages.append(rel_path)
        if key is None:
            if callable(ctx):
                ctx = ctx()
            key = self.carry.key("page", self.template_key(template), rel_path,
                                 env is self.search_env, ctx)
        if self.carry.carry(rel_path, key):
            self.written.append(self.out / rel_path)
            return
        if self.jobs > 1:
            self.pending.append((template, rel_path, ctx, env, key))
            return
        self._record(rel_path, key, self._render(template, rel_path, ctx, env))

    # ----------------------------------------------------------------- static

    def copy_static(self):
        src = self.templates_dir / "static"
        if not src.is_dir():
            return
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            if any(part.startswith(".") for part in path.relative_to(src).parts):
                continue
            rel = Path("static") / path.relative_to(src)
            data = path.read_bytes()
            if path.suffix == ".css":  # compacted like the search page's scripts and stylesheet
                data = compact_css(data.decode("utf-8")).encode("utf-8")
            write_bytes(self.out / rel, data)
            self.written.append(self.out / rel)

    # ----------------------------------------------------------------- home

    def home(self):
        s = self.site
        ctx = self.base_ctx("index.html", "index", SITE_NAME,
                            "中国城市科技金融（科创金融）政策文本的比较知识库")
        years = sorted({d["year"] for d in s.documents if d.get("year")})
        type_counts = defaultdict(int)
        for d in s.documents:
            type_counts[d.get("type")] = type_counts[d.get("type")] + 1
        instruments = s.instruments
        short = SITE_TEXT.get("instrument_short") or {}
        maximum = max((len(v) for (c, i), v in s.by_city_inst.items() if i), default=0)
        rows, folded = [], []
        for c in s.active_cities:
            cells = []
            for inst in instruments:
                n = len(s.by_city_inst.get((c["slug"], inst["slug"]), []))
                cells.append({
                    "count": n,
                    "bucket": _bucket(n, maximum),
                    "url": s.search_url(c["slug"], inst["slug"]) if n and self.has_search else None,
                    "title": f"{c['name']} · {inst['label']}：{n} 条段落",
                })
            row = {"name": c["name"], "url": s.city_url(c["slug"]),
                   "total": len(s.by_city[c["slug"]]), "cells": cells}
            (rows if any(cell["count"] for cell in cells) else folded).append(row)
        ctx.update({
            "stats": {
                "documents": len(s.documents),
                "passages": len(s.passages),
                "cities": len(s.active_cities),
                "instruments": sum(1 for i in instruments if s.by_inst.get(i["slug"])),
                "figures": len(s.figures),
                "years": f"{years[0]}–{years[-1]}" if len(years) > 1 else (str(years[0]) if years else "—"),
            },
            "doc_types": [{"label": DOC_TYPE_LABELS.get(t, t), "count": n}
                          for t, n in sorted(type_counts.items(), key=lambda kv: str(kv[0]))],
            "matrix_instruments": [{"label": i["label"], "short": short.get(i["slug"]) or i["label"],
                                    "url": s.inst_url(i["slug"]),
                                    "count": len(s.by_inst.get(i["slug"], []))}
                                   for i in instruments],
            "matrix_rows": rows,
            "matrix_folded": folded,
            "matrix_max": maximum,
            "legend": self._legend(maximum),
            "recent_documents": [s.doc_summary(d) for d in s.docs_newest[:10]],
            "all_instruments": [{"label": i["label"], "url": s.inst_url(i["slug"]),
                                 "definition": i.get("definition") or "",
                                 "count": len(s.by_inst.get(i["slug"], []))}
                                for i in instruments],
        })
        self.page("index.html", "index.html", ctx)

    @staticmethod
    def _legend(maximum):
        if maximum <= 0:
            return []
        out = [{"bucket": 0, "label": "0"}]
        lo = 1
        for b in range(1, 5):
            hi = math.floor(b * maximum / 4)
            if hi < lo:
                continue
            out.append({"bucket": b, "label": f"{lo}" if lo == hi else f"{lo}–{hi}"})
            lo = hi + 1
        return out

    # ----------------------------------------------------------------- cities

    def cities_index(self):
        """城市: every city with passages, by province, with counts; the others named only."""
        s = self.site
        ctx = self.base_ctx("cities.html", "cities", "城市", "按省份列出有段落的城市")
        provinces = defaultdict(list)
        for c in s.active_cities:
            provinces[c.get("province") or "其他"].append(
                {"name": c["name"], "url": s.city_url(c["slug"]), "count": len(s.by_city[c["slug"]])})
        groups = [{"province": p, "cities": sorted(cs, key=lambda c: (-c["count"], c["name"])),
                   "count": sum(c["count"] for c in cs)}
                  for p, cs in provinces.items()]
        groups.sort(key=lambda g: (-g["count"], g["province"]))
        ctx.update({
            "groups": groups,
            "count": len(s.active_cities),
            "without": [c["name"] for c in s.cities if c["slug"] not in s.active_slugs],
        })
        self.page("cities.html", "cities.html", ctx)

    def _docs_inputs(self, doc_ids):
        """[[id, digest of its metadata and content key]] of ``doc_ids`` (sorted), or None when
        a document has no content key (then pages are keyed by their whole context)."""
        out = []
        memo = self._doc_digests
        for d in sorted(doc_ids):
            got = memo.get(d)
            if got is None:
                key = self.doc_keys.get(d)
                doc = self.site.docs_by_id.get(d)
                if not key or doc is None:
                    return None
                got = memo[d] = digest(doc, key)
                if got is None:
                    return None
            out.append([d, got])
        return out

    @staticmethod
    def _figure_doc(f):
        passage_id = f.get("passage")
        return f.get("doc") or (passage_id.rsplit("-", 1)[0] if passage_id else None)

    def _city_inputs(self, c, chips=True):
        """What a city's page (or compare data, ``chips`` False) is made of: the city, the
        documents of its passages, of its figures and those it is the home city of (their
        metadata and content keys: passages, figures and their order follow from them) and
        the links of the cities its passages name (a city has a page only while it has
        passages); None without content keys."""
        s = self.site
        slug = c["slug"]
        passages = s.by_city.get(slug, [])
        docs = {p["doc"] for p in passages}
        docs.update(self._figure_doc(f) for f in s.figures_by_city.get(slug, []))
        docs.update(s.docs_by_home.get(c["name"], []))
        if None in docs:
            return None
        inputs = self._docs_inputs(docs)
        if inputs is None:
            return None
        names = sorted({n for p in passages for n in p.get("cities", [])}, key=str) if chips else []
        return [c, inputs, [[n, s.city_chip(n)["url"]] for n in names]]

    def city(self, c):
        s = self.site
        rel = s.city_url(c["slug"])
        inputs = self._city_inputs(c) if self.doc_keys else None
        if inputs is None:
            self.page("city.html", rel, self._city_ctx(c))
            return
        key = self.carry.key("city", self.template_key("city.html"), rel, inputs)
        self.page("city.html", rel, lambda: self._city_ctx(c), key=key)

    def _city_ctx(self, c):
        s = self.site
        slug = c["slug"]
        rel = s.city_url(slug)
        ctx = self.base_ctx(rel, "city", f"{c['name']} · 城市", f"{c['name']}的科技金融政策段落")
        passages = s.by_city.get(slug, [])
        # Each passage once, under its first instrument (vocabulary order); the TOC counts
        # every passage carrying an instrument and links to where the first of them is.
        sections, where = {}, {}
        for p in passages:
            insts = s.insts_of(p)
            key = insts[0] if insts else None
            sections.setdefault(key, []).append(p)
            for i in insts:
                where.setdefault(i, p["id"])
        shown = defaultdict(int)
        groups = []
        keys = [(i["slug"], i["label"]) for i in s.instruments] + [(None, "未归入政策工具")]
        for inst_slug, label in keys:
            items = sections.get(inst_slug, [])
            if not items:
                continue
            groups.append({
                "id": f"inst-{inst_slug}" if inst_slug else "inst-none",
                "label": label,
                "url": s.inst_url(inst_slug) if inst_slug else None,
                "count": len(items),
                "passages": s.cards(items[:CITY_PAGE_PER_INSTRUMENT], inst_slug),
                "more_url": (s.search_url(slug, inst_slug)
                             if len(items) > CITY_PAGE_PER_INSTRUMENT and self.has_search else None),
            })
            for p in items[:CITY_PAGE_PER_INSTRUMENT]:
                shown[p["id"]] += 1
        group_ids = {g["id"] for g in groups}
        toc = []
        for inst in s.instruments:
            n = len(s.by_city_inst.get((slug, inst["slug"]), []))
            if not n:
                continue
            anchor = f"inst-{inst['slug']}"
            toc.append({"label": inst["label"], "count": n,
                        "href": "#" + (anchor if anchor in group_ids else f"c-{where[inst['slug']]}")})
        if sections.get(None):
            toc.append({"label": "未归入政策工具", "count": len(sections[None]), "href": "#inst-none"})
        doc_counts = defaultdict(int)
        for p in passages:
            doc_counts[p["doc"]] += 1
        for doc_id in s.docs_by_home.get(c["name"], []):
            doc_counts.setdefault(doc_id, 0)
        docs = [s.doc_summary(s.docs_by_id[d], n) for d, n in
                sorted(doc_counts.items(), key=lambda kv: s.doc_rank.get(kv[0], 0))
                if d in s.docs_by_id]
        year_counts = defaultdict(int)
        for p in passages:
            for y in p.get("years") or []:
                year_counts[y] += 1
        # Key figures: per (metric, kind) the newest CITY_FIGURES_PER_METRIC, metrics in
        # vocabulary order.
        metric_rank = {m: i for i, m in enumerate(s.metrics)}
        by_metric = defaultdict(list)
        for f in s.figures_by_city.get(slug, []):
            by_metric[(f.get("metric"), f.get("kind") or "actual")].append(f)
        figures, hidden_figures = [], 0
        for key in sorted(by_metric, key=lambda k: (metric_rank.get(k[0], len(metric_rank)),
                                                    str(k[0]), k[1] != "actual", k[1])):
            fs = sorted(by_metric[key], key=lambda f: (-(_months(f.get("as_of")) or 0),
                                                       _figure_sort_key(f)))
            figures.extend(fs[:CITY_FIGURES_PER_METRIC])
            hidden_figures += max(0, len(fs) - CITY_FIGURES_PER_METRIC)
        aliases = [a for a in _plain_aliases(c) if a != c["name"]]
        ctx.update({
            "city": {"name": c["name"], "slug": slug, "province": c.get("province") or "",
                     "aliases": aliases[:MAX_ALIASES],
                     "more_aliases": max(0, len(aliases) - MAX_ALIASES),
                     "nicknames": list(c.get("nicknames") or [])},
            "hidden_figures": hidden_figures,
            "count": len(passages),
            "toc": toc,
            "groups": groups,
            "documents": docs,
            "years": [{"year": y, "count": n} for y, n in sorted(year_counts.items())],
            "figures": [s.figure_view(f) for f in figures],
            "search_all": s.search_url(slug) if self.has_search else None,
            "compare_url": f"compare.html?cities={_q(slug)}",
            "scripts": ["static/js/cite.js"],
        })
        return ctx

    # ----------------------------------------------------------------- instrument

    def instrument(self, inst):
        s = self.site
        slug = inst["slug"]
        rel = s.inst_url(slug)
        ctx = self.base_ctx(rel, "instrument", f"{inst['label']} · 政策工具",
                            inst.get("definition") or "")
        md_path = DATA_DIR / "instruments" / f"{slug}.md"
        if md_path.is_file():
            definition = markdown_to_html(md_path.read_text(encoding="utf-8"))
        else:
            definition = markdown_to_html(inst.get("definition") or "")
        blocks = []
        for c in s.active_cities:
            items = s.by_city_inst.get((c["slug"], slug), [])
            if not items:
                continue
            blocks.append({
                "name": c["name"], "slug": c["slug"], "url": s.city_url(c["slug"]),
                "count": len(items),
                "passages": s.cards(items, slug, INSTRUMENT_PAGE_PER_CITY),
                "more_url": (s.search_url(c["slug"], slug)
                             if len(items) > INSTRUMENT_PAGE_PER_CITY and self.has_search else None),
            })
        blocks.sort(key=lambda b: (-b["count"], b["slug"]))
        tool = POLICY_TOOL_LABELS.get(str(inst.get("policy_tool") or "").lower(),
                                      inst.get("policy_tool") or "")
        stip = str(inst.get("stip") or "")
        code = stip.split(" ", 1)[0] if stip else ""
        ctx.update({
            "inst": {"label": inst["label"], "slug": slug, "definition": inst.get("definition") or "",
                     "stip": stip, "stip_code": code,
                     "stip_name": (SITE_TEXT.get("stip_names") or {}).get(code, ""),
                     "policy_tool": tool,
                     "policy_tool_note": (SITE_TEXT.get("policy_tool_notes") or {}).get(tool, ""),
                     "cues": list(inst.get("cues") or [])},
            "notes": {"stip": SITE_TEXT.get("stip_note", ""),
                      "policy_tool": SITE_TEXT.get("policy_tool_intro", ""),
                      "tagging": SITE_TEXT.get("tagging_note", "")},
            "definition": definition,
            "count": len(s.by_inst.get(slug, [])),
            "city_list": [{"name": b["name"], "url": b["url"], "count": b["count"],
                           "slug": b["slug"]} for b in blocks],
            "blocks": blocks,
            "search_all": s.search_url(instrument=slug) if self.has_search else None,
            "scripts": ["static/js/cite.js"],
        })
        self.page("instrument.html", rel, ctx)

    # ----------------------------------------------------------------- compare

    def _city_figures(self, city):
        """The key figures compared for one city: per (metric, kind) the one
        kb.charts.comparison_rows picks, labelled with what it measures."""
        s = self.site
        out = []
        counts = defaultdict(int)
        for f in s.figures_by_city.get(city["slug"], []):
            counts[(f.get("metric"), f.get("kind") or "actual")] += 1
        present = {f.get("metric") for f in s.figures_by_city.get(city["slug"], [])}
        metric_order = [m for m in s.metrics if m in present] + sorted(present - set(s.metrics))
        for metric in metric_order:
            info = s.metric_info(metric)
            rows = charts.comparison_rows(s.figures_by_city[city["slug"]], metric, vocab=s.vocab)
            for r in rows:
                v = s.figure_view(r)
                kind = r.get("kind") or "actual"
                out.append({
                    "key": f"{metric}-{kind}",
                    "label": f"{info['label']}（{KIND_LABELS.get(kind, kind)}）",
                    "value": v["value"], "unit": v["unit"], "as_of": v["as_of"],
                    "m": _months(r.get("as_of")),
                    "what": v["measure"], "scope": v["scope"], "qualifier": v["qualifier"],
                    "url": v["url"], "others": max(0, counts[(metric, kind)] - 1),
                })
        return out

    def compare_data(self, c):
        """compare/<slug>.js: one city's cells (sentence where the cue fired, permalink,
        citation template) and key figures; compare.js loads the chosen cities' files."""
        s = self.site
        name = f"compare/{_q(c['slug'])}.js"
        inputs = self._city_inputs(c, chips=False) if self.doc_keys else None
        key = self.carry.key("compare-data", name, inputs) if inputs is not None else None
        if key is not None and self.carry.carry(name, key):
            self.written.append(self.out / name)
            return
        cells = {}
        for inst in s.instruments:
            items = s.by_city_inst.get((c["slug"], inst["slug"]), [])
            if not items:
                continue
            cells[inst["slug"]] = {
                "n": len(items),
                "all": s.search_url(c["slug"], inst["slug"]) if self.has_search else s.city_url(c["slug"]),
                "items": [{"s": v["excerpt"], "u": v["url"], "t": v["doc_title"], "d": v["doc_date"],
                           "c": v["cite"]}
                          for v in s.cards(items, inst["slug"], COMPARE_PER_CELL)],
            }
        payload = {"slug": c["slug"], "name": c["name"], "url": s.city_url(c["slug"]),
                   "count": len(s.by_city[c["slug"]]), "cells": cells,
                   "figures": self._city_figures(c)}
        self.write(name, _js_data(name, payload), key=key)

    def compare(self):
        s = self.site
        ctx = self.base_ctx("compare.html", "compare", "城市对比",
                            "选择 2–4 个城市，按政策工具并排比较")
        cities = s.active_cities
        slugs = [c["slug"] for c in cities]
        for c in cities:
            self.compare_data(c)
        sections = [{"id": f"inst-{inst['slug']}", "slug": inst["slug"], "label": inst["label"],
                     "url": s.inst_url(inst["slug"])}
                    for inst in s.instruments if s.by_inst.get(inst["slug"])]
        ctx.update({
            "cities": [{"slug": c["slug"], "name": c["name"], "count": len(s.by_city[c["slug"]]),
                        "checked": i < COMPARE_DEFAULT} for i, c in enumerate(cities)],
            "default": ",".join(slugs[:COMPARE_DEFAULT]),
            "max": COMPARE_MAX,
            "per_cell": COMPARE_PER_CELL,
            "gap_months": charts.DATE_WARNING_MONTHS,
            "sections": sections,
            "scripts": ["static/js/cite.js", "static/js/compare.js"],
        })
        self.page("compare.html", "compare.html", ctx)

    # ----------------------------------------------------------------- documents

    def document(self, doc):
        s = self.site
        passages = s.by_doc.get(doc["id"], [])
        parts = defaultdict(list)
        for p in passages:
            parts[s.part_of.get(p["id"], 1)].append(p)
        n_parts = max(parts) if parts else 1
        home = doc.get("home_city")
        meta = [("发布者", doc.get("publisher") or "", None),
                ("发布日期", str(doc.get("date") or ""), None),
                ("类型", DOC_TYPE_LABELS.get(doc.get("type"), doc.get("type") or ""), None)]
        if doc.get("doc_number"):
            meta.append(("文号", doc["doc_number"], None))
        if home:
            meta.append(("所属城市", home, s.city_chip(home)["url"]))
        if doc.get("date_note"):
            meta.append(("日期说明", doc["date_note"], None))
        meta.append(("段落数", str(len(passages)), None))
        original = (doc.get("url") or "").strip()
        inputs = self._document_inputs(doc, passages)
        for part in range(1, n_parts + 1):
            rel = s.doc_url(doc["id"], part)
            key = (self.carry.key("document", self.template_key("document.html"), rel, part,
                                  n_parts, inputs) if inputs else None)
            ctx = self._document_ctx(doc, part, n_parts, parts, meta, original)
            self.page("document.html", rel, ctx if key else ctx(), key=key)

    def _document_inputs(self, doc, passages):
        """What a document's pages are made of: its metadata, its passages (the pipeline's
        content hash of them, else their data) and the pages of the cities they name
        (a city gets a page only while it has passages)."""
        s = self.site
        content = self.doc_keys.get(doc["id"]) or digest(passages)
        if content is None:
            return None
        names = {n for p in passages for n in p.get("cities", [])}
        if doc.get("home_city"):
            names.add(doc["home_city"])
        return [doc, content, [[n, s.city_chip(n)["url"]] for n in sorted(names, key=str)]]

    def _document_ctx(self, doc, part, n_parts, parts, meta, original):
        s = self.site

        def make():
            rel = s.doc_url(doc["id"], part)
            title = doc.get("title") or doc["id"]
            ctx = self.base_ctx(rel, "document", title if part == 1 else f"{title}（第 {part} 部分）",
                                doc.get("title") or "")
            items = []
            prev = []
            for p in parts.get(part, []):
                trail = list(p.get("section") or [])
                k = 0
                while k < min(len(prev), len(trail)) and prev[k] == trail[k]:
                    k += 1
                headings = [{"level": min(3 + i, 6), "text": trail[i]} for i in range(k, len(trail))]
                items.append({"headings": headings, "passage": s.views[p["id"]]})
                prev = trail
            root = "../" * rel.count("/")
            ctx.update({
                "doc": {"id": doc["id"], "title": title,
                        "original": original if re.match(r"https?://", original) else ""},
                "meta": [{"label": a, "value": b, "url": c} for a, b, c in meta],
                "citation": cite.online_citation(doc),
                "items": items,
                "part": part,
                "parts": [{"n": n, "url": root + s.doc_url(doc["id"], n), "current": n == part}
                          for n in range(1, n_parts + 1)] if n_parts > 1 else [],
                "scripts": ["static/js/cite.js"],
            })
            return ctx

        return make

    def documents_index(self):
        s = self.site
        ctx = self.base_ctx("documents.html", "documents", "文献列表")
        ctx["documents"] = [s.doc_summary(d) for d in s.docs_newest]
        self.page("documents.html", "documents.html", ctx)

    # ----------------------------------------------------------------- downloads / about

    def downloads(self):
        ctx = self.base_ctx("downloads.html", "downloads", "数据下载")
        files = []
        for name, fmt, desc in DOWNLOADS:
            path = self.out / "data" / name
            exists = path.is_file()
            if not exists and name not in REQUIRED_DOWNLOADS:
                continue
            size = path.stat().st_size if exists else None
            files.append({"name": name, "url": f"data/{name}" if exists else None,
                          "format": fmt, "description": desc,
                          "size": _human_size(size) if exists else "尚未生成",
                          "bytes": f"{size:,}" if exists else ""})
        ctx.update({
            "files": files,
            "dictionary": [{"title": t, "fields": [{"name": n, "meaning": m} for n, m in fs]}
                           for t, fs in DATA_DICTIONARY],
        })
        self.page("downloads.html", "downloads.html", ctx)

    def about(self):
        s = self.site
        ctx = self.base_ctx("about.html", "about", "关于与方法")
        pages = self.templates_dir / "pages"

        def md(name):
            path = pages / name
            return markdown_to_html(path.read_text(encoding="utf-8")) if path.is_file() else ""

        ctx.update({
            "intro": md("about.md"),
            "caveats": md("caveats.md"),
            "taxonomy": [{
                "label": i["label"], "slug": i["slug"], "url": s.inst_url(i["slug"]),
                "definition": i.get("definition") or "", "stip": i.get("stip") or "",
                "policy_tool": POLICY_TOOL_LABELS.get(str(i.get("policy_tool") or "").lower(),
                                                      i.get("policy_tool") or ""),
                "cues": "、".join(list(i.get("cues") or [])[:6]),
                "count": len(s.by_inst.get(i["slug"], [])),
            } for i in s.instruments],
            "metrics": [{"slug": k, "label": v.get("label") or k, "unit": v.get("unit") or ""}
                        for k, v in sorted(s.metrics.items(), key=lambda kv: str(kv[0]))],
        })
        self.page("about.html", "about.html", ctx)

    def search(self):
        if not self.has_search:
            return
        ctx = self.base_ctx("search/index.html", "search", "检索")
        scripts = list(self.search_assets.get("scripts", []))
        ctx.update({"search_scripts": scripts, "search_assets": self.search_assets,
                    "scripts": ["static/js/filters.js"],
                    "cities": [{"slug": c["slug"], "name": c["name"]} for c in self.site.cities],
                    "instruments": [{"slug": i["slug"], "label": i["label"]}
                                    for i in self.site.instruments]})
        # The key leaves out how many index files this build wrote (the rest of the static
        # index's statistics describe the index itself), so it is the same as a cold build's.
        stats = dict(self.search_assets.get("stats") or {}, files_written=None)
        key = self.carry.key("page", self.template_key("search.html"), "search/index.html", True,
                             dict(ctx, search_assets=dict(self.search_assets, stats=stats)))
        self.page("search.html", "search/index.html", ctx, env=self.search_env, key=key)

    def not_found(self):
        path = urlsplit(self.base_url or DEFAULT_BASE_URL).path or "/"
        if not path.endswith("/"):
            path += "/"
        ctx = self.base_ctx("404.html", "404", "页面未找到")
        ctx["root"] = path  # absolute path: 404 pages are served at arbitrary depths
        self.page("404.html", "404.html", ctx)

    def sitemap(self):
        """sitemap.xml lists absolute URLs, so it is written only when the site's address
        (``--base-url``) is known; it lists the pages written, nothing else."""
        if not self.base_url:
            return
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        for rel in sorted(self.pages):
            url = self.base_url + ("" if rel == "index.html" else rel)
            lines.append(f"  <url><loc>{xml_escape(url)}</loc></url>")
        lines.append("</urlset>")
        self.write("sitemap.xml", "\n".join(lines))
