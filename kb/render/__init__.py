"""Stage — render: documents, tagged passages, figures and vocab -> the static site.

``render_site(out_dir, documents, passages, figures, vocab, search_assets, base_url=None)``
writes every HTML page (and ``sitemap.xml`` when ``base_url`` is given) and copies
``site_templates/static/**`` to ``out_dir/static/``; returns the sorted list of files written.

Pages (all links relative, built from ``root``, the prefix back to the site root; where a
document or passage lives is defined once, in ``kb.urls``):

* ``index.html`` — what the collection holds + the city × instrument matrix (short headers,
  cities without any instrument folded below it);
* ``cities.html`` — the cities with passages, by province, with counts;
* ``city/<slug>.html`` — only for cities with passages: each passage once (under its first
  instrument, with its instrument chips), a table of contents by instrument with counts,
  documents, 所述年份, key figures labelled with what each measures;
* ``instrument/<slug>.html`` — the instrument in plain Chinese, the cities that use it, key
  passages; STIP code and Rothwell–Zegveld type explained in a collapsible note;
* ``compare.html`` — 2–4 cities side by side, instrument by instrument first (TOC + jump
  links), then key figures of the chosen cities; the cells come from one small data file per
  city, ``compare/<slug>.js``, loaded as a script by ``static/js/compare.js`` (works from
  file://), so compare.html stays small whatever the corpus size; the comparison exports as
  CSV and as a pasteable table with each cell's citation;
* ``doc/<doc-id>.html`` (+ ``doc/<doc-id>/<n>.html`` for the parts of a long document) —
  metadata, link to the original, GB/T 7714-2015 citation, full text with one anchor and one
  copy-citation button per passage;
* ``documents.html``, ``downloads.html``, ``about.html``, ``404.html``;
* ``search/index.html`` from ``site_templates/search.html`` when that template exists.

Modules: ``config`` (paths, limits, labels), ``md`` (safe Markdown), ``text`` (wording from
kb/data/site.yaml, cue sentences, figure labels, formats), ``model`` (the data grouped once),
``pages`` (one writer per page kind).

Wording shared by every page (发布年份 / 所述年份, short instrument labels, notes on STIP and
policy-tool types) is data: ``kb/data/site.yaml``.

Templates hold no logic beyond loops and conditionals: every value is computed
here into plain dicts. Jinja autoescaping is on; Markdown is rendered with raw
HTML disabled and unsafe link schemes removed (``markdown_to_html``).

Output is deterministic (sorted iteration, no timestamps) and rendering is
linear in the corpus size: passages are grouped once, and city/instrument/compare
pages show at most a fixed number of passages per group with a link to the
search page for the rest.

``404.html`` is served at arbitrary paths, so relative links cannot work there:
it links with absolute paths from the path of ``base_url`` (default
``https://example.org/kb/`` → ``/kb/index.html``). Set ``--base-url`` to where the
site is published.
"""

from pathlib import Path

from .. import reuse
from ..reuse import Carry
from .config import (CITY_PAGE_PER_INSTRUMENT, COMPARE_PER_CELL, CSP, DATA_DIR,
                     REQUIRED_DOWNLOADS, TEMPLATES_DIR)
from .md import markdown_to_html
from .model import _Site
from .pages import _Renderer
from .text import YEAR_LABELS, cue_sentence, figure_measure

__all__ = ["render_site", "markdown_to_html", "cue_sentence", "figure_measure", "YEAR_LABELS",
           "CSP", "DATA_DIR", "REQUIRED_DOWNLOADS", "CITY_PAGE_PER_INSTRUMENT", "COMPARE_PER_CELL"]


def render_site(out_dir, documents, passages, figures, vocab, search_assets,
                base_url=None, templates_dir=None, previous=None, doc_keys=None, stats=None, jobs=1):
    """Render the whole static site into ``out_dir``; returns the sorted files written.

    ``templates_dir`` defaults to ``site_templates/`` (tests may point it elsewhere).
    ``previous``: the previous build's output, whose pages are hard-linked into ``out_dir``
    when their key (see ``kb.reuse``) is unchanged; the keys are kept in
    ``out_dir/.kb/render.json``. ``doc_keys``: {document id: a content hash of its passages}
    (the pipeline's analysis cache keys), so that a document's pages are keyed without
    hashing its passages. ``stats``: a dict to receive the numbers of files rendered and reused.
    ``jobs`` > 1: the pages to render are rendered at the end by forked worker processes."""
    out_dir = Path(out_dir)
    templates_dir = Path(templates_dir) if templates_dir else TEMPLATES_DIR
    site = _Site(documents, passages, figures or [], vocab)
    carry = Carry(out_dir, "render", previous, _salt(templates_dir, base_url, vocab))
    r = _Renderer(out_dir, site, search_assets, base_url, templates_dir, carry=carry, doc_keys=doc_keys,
                  jobs=jobs)
    r.copy_static()
    r.home()
    r.cities_index()
    for c in sorted(site.active_cities, key=lambda c: c["slug"]):
        r.city(c)
    for inst in sorted(site.instruments, key=lambda i: i["slug"]):
        r.instrument(inst)
    r.compare()
    for doc in site.documents:
        r.document(doc)
    r.documents_index()
    r.downloads()
    r.about()
    r.search()
    r.not_found()
    r.sitemap()
    r.finish()
    r.written.append(carry.save())
    if stats is not None:
        stats.update(rendered=carry.made, reused=carry.reused)
    return sorted(set(r.written))


def _salt(templates_dir, base_url, vocab):
    """What every page depends on: the code (kb/ and kb/render/), kb/data (site wording,
    instrument notes), the vocabulary, the site's address, whether there is a search page and
    the versions of the libraries that render. The templates are part of each page's key
    (the template and those it extends or imports); the static files are copied anyway."""
    def get(name):
        return vocab.get(name) if isinstance(vocab, dict) else getattr(vocab, name, None)

    return reuse.digest(
        "render/1", reuse.code_digest(),
        (templates_dir / "search.html").exists(),  # the search page and every page's menu
        reuse.files_digest(sorted(DATA_DIR.rglob("*")), DATA_DIR),
        get("version"), [get(k) for k in ("cities", "provinces", "instruments", "metrics")],
        base_url, reuse.package_versions("jinja2", "markupsafe", "markdown"))
