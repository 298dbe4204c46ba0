/* kb-search-ui.js — the search page: URL state, results, facets, snippets, pagination.
 *
 * Corpus text and the query are data: every string reaches the page through textContent /
 * createTextNode / setAttribute, never innerHTML. URL state:
 *   search/index.html?q=…&city=<slug>&instrument=<slug>&year=YYYY&type=<type>&doc=<id>&page=N
 * The query model (parsing, concepts, ranking, snippets) is kb-query.js / kb-rank.js /
 * kb-snippet.js, twins of kb/search/ (the reference).
 * #results gets data-ready when a search has finished (also with zero results or an error)
 * and loses it when a new search starts.
 */
(function (global) {
  "use strict";

  var KB = global.KB = global.KB || {};
  var doc = global.document;
  var PAGE_SIZE = 20;
  var DEBOUNCE_MS = 60; // input methods fire one event per committed word: a short pause is enough
  var DOC_FACET_LIMIT = 10;
  var FILTERS = ["city", "instrument", "year", "type", "doc"];
  var FACET_TITLES = { city: "城市", instrument: "政策工具", year: "发布年份", type: "文献类型", doc: "文档" };

  /* Only relative links into the site (no scheme, no absolute path). */
  KB.safeRelative = function (url) {
    url = String(url || "");
    return url !== "" && !/^[a-z][a-z0-9+.\-]*:/i.test(url) && !/^[\/\\]/.test(url) ? url : null;
  };

  /* ------------------------------------------------------------------ URL state */

  KB.readState = function (search) {
    var params = new URLSearchParams(search || "");
    var page = parseInt(params.get("page") || "1", 10);
    var year = params.get("year") || "";
    return {
      q: params.get("q") || "",
      city: params.get("city") || "",
      instrument: params.get("instrument") || "",
      year: /^\d{4}$/.test(year) ? year : "",
      type: /^[a-z]+$/.test(params.get("type") || "") ? params.get("type") : "",
      doc: params.get("doc") || "",
      page: page > 0 ? page : 1,
    };
  };

  KB.stateQuery = function (state) {
    var params = new URLSearchParams();
    if (state.q) params.set("q", state.q);
    FILTERS.forEach(function (f) { if (state[f]) params.set(f, state[f]); });
    if (state.page > 1) params.set("page", String(state.page));
    var s = params.toString();
    return s ? "?" + s : "";
  };

  /* ------------------------------------------------------------------ the page */

  function el(tag, attrs, text) {
    var e = doc.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function findMeta() {
    var names = Object.keys(KB.data).filter(function (k) { return /^meta\.[0-9a-f]+\.js$/.test(k); });
    return names.length ? KB.data[names[0]] : null;
  }

  function SearchPage(root) {
    this.root = root;
    this.siteRoot = root.getAttribute("data-root") || "";
    this.base = root.getAttribute("data-index-base") || "";
    this.form = root.querySelector("#kb-search-form");
    this.input = root.querySelector("#kb-q");
    this.status = root.querySelector("#kb-status");
    this.note = root.querySelector("#kb-note");
    this.more = root.querySelector("#kb-more");
    this.facetsBox = root.querySelector("#kb-facets");
    this.results = root.querySelector("#results");
    this.pager = root.querySelector("#kb-pager");
    this.prev = root.querySelector("#kb-prev");
    this.next = root.querySelector("#kb-next");
    this.pageInfo = root.querySelector("#kb-page-info");
    this.clearBtn = root.querySelector("#kb-clear");
    this.chipsBox = root.querySelector("#kb-query-chips");
    // the year labels have one definition (kb/data/site.yaml), carried by the page
    this.yearLabel = root.getAttribute("data-label-doc-year") || FACET_TITLES.year;
    FACET_TITLES.year = this.yearLabel;
    this.seq = 0;
    this.timer = null;
    this.lastRun = null;
    this.baseTitle = doc.title;
    var meta = findMeta();
    this.engine = meta ? new KB.Engine(this.base, meta) : null;
    this.state = KB.readState(global.location.search);
    this.bind();
  }

  SearchPage.prototype.bind = function () {
    var self = this;
    self.input.value = self.state.q;
    var composing = false;
    var typed = function () {
      clearTimeout(self.timer);
      self.seq += 1; // a search still running for the earlier text stops (no render, no more loads)
      var text = self.input.value;
      if (self.engine && text.trim()) {
        // the search of the text starts as soon as its plan is known (it loads its terms'
        // chunks and pages with the prefetch's, not after them)
        self.engine.prefetch(text, function (plan) {
          // not while a last character may still be a prefix of a word being typed: its
          // expansions fetch many pages, which would queue before the next text's files
          var prefix = plan.concepts.some(function (c) {
            return c.slots.some(function (sl) { return sl[0] === "p"; });
          });
          if (!prefix && self.input.value === text) {
            self.speculate(text);
            self.engine.snippetTables(plan).catch(function () {}); // beside the postings
          }
        });
      }
      self.timer = setTimeout(function () {
        self.state.q = self.input.value;
        self.state.page = 1;
        // the address follows the results (replacing it costs milliseconds the results need)
        self.search().then(function () { setTimeout(function () { self.writeURL(false); }); });
      }, DEBOUNCE_MS);
    };
    // Chinese input methods: wait until a composition (pinyin -> characters) is committed
    self.input.addEventListener("compositionstart", function () { composing = true; });
    self.input.addEventListener("compositionend", function () { composing = false; typed(); });
    self.input.addEventListener("input", function (ev) {
      if (!composing && !ev.isComposing) typed();
    });
    self.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearTimeout(self.timer);
      self.state.q = self.input.value;
      self.state.page = 1;
      self.writeURL(false);
      self.search();
    });
    self.facetsBox.addEventListener("click", function (ev) {
      var b = ev.target.closest("button[data-facet]");
      if (!b) return;
      var facet = b.getAttribute("data-facet");
      var value = b.getAttribute("data-value");
      self.state[facet] = self.state[facet] === value ? "" : value;
      self.state.page = 1;
      self.writeURL(true);
      self.search({ focus: [facet, value] });
    });
    if (self.chipsBox) self.chipsBox.addEventListener("click", function (ev) {
      var b = ev.target.closest("button[data-concept]");
      if (!b) return;
      // remove the recognised word from the query (the chip's concept)
      var text = b.getAttribute("data-concept");
      var q = KB.foldVariants(KB.normalize(self.state.q)).text;
      self.state.q = q.split(text).join(" ").replace(/\s+/g, " ").trim();
      self.input.value = self.state.q;
      self.state.page = 1;
      self.writeURL(true);
      self.search();
    });
    self.clearBtn.addEventListener("click", function () {
      FILTERS.forEach(function (f) { self.state[f] = ""; });
      self.state.page = 1;
      self.writeURL(true);
      self.search();
    });
    self.prev.addEventListener("click", function () { self.goPage(self.state.page - 1); });
    self.next.addEventListener("click", function () { self.goPage(self.state.page + 1); });
    self.more.addEventListener("click", function () { self.search({ full: true }); });
    global.addEventListener("popstate", function () {
      self.state = KB.readState(global.location.search);
      self.input.value = self.state.q;
      self.search();
    });
  };

  /* During the pause before the search: run the search of the text typed so far (without
     filters: those fetch every posting page) and fetch the fragments of its first results, so
     that the search after the pause finds them ready (search() awaits this run). */
  SearchPage.prototype.speculate = function (text) {
    var self = this;
    var q = text.trim();
    var st = self.state;
    if (!q || FILTERS.some(function (f) { return st[f]; }) || (self.ahead && self.ahead.q === q)) return;
    var engine = self.engine;
    var p = engine.run(q, {}).then(function (run) {
      return run.partial && !run.ranked.length ? engine.run(q, { full: true }) : run;
    }).then(function (run) {
      if (self.input.value === text && run.ranked.length) {
        // without filters the first page is the top of the ranking
        engine.fragments(run.ranked.slice(0, PAGE_SIZE).map(function (it) { return it.idx; })).catch(function () {});
        engine.snippetTables(run.plan).catch(function () {});
      }
      return run;
    });
    self.ahead = { q: q, promise: p };
    p.catch(function () { if (self.ahead && self.ahead.promise === p) self.ahead = null; });
  };

  SearchPage.prototype.goPage = function (page) {
    this.state.page = page;
    this.writeURL(true);
    this.search({ scroll: true });
  };

  SearchPage.prototype.writeURL = function (push) {
    var url = global.location.pathname.split("/").pop() + KB.stateQuery(this.state);
    try {
      if (push) global.history.pushState(null, "", url || "?");
      else global.history.replaceState(null, "", url || "?");
    } catch (e) { /* some file:// setups refuse history changes: the search still works */ }
  };

  SearchPage.prototype.setStatus = function (text) {
    this.status.textContent = text;
  };

  SearchPage.prototype.search = async function (opts) {
    opts = opts || {};
    var self = this;
    var my = ++self.seq;
    var st = self.state;
    self.results.removeAttribute("data-ready");
    self.results.setAttribute("aria-busy", "true");
    try {
      if (!self.engine) throw new Error("检索索引未加载");
      var q = st.q.trim();
      var hasFilter = FILTERS.some(function (f) { return st[f]; });
      if (!q && !hasFilter) {
        self.render(null, null, null, null, opts);
        self.setStatus("请输入检索词，例如：投贷联动、知识产权质押、风险补偿。");
        // what every search needs first (small files), while the user types
        self.engine.rules().catch(function () {});
        self.engine.facets().catch(function () {});
        return;
      }
      await self.engine.facets();
      var docNum = st.doc ? await self.engine.docIndex(st.doc) : -1;
      var run;
      if (!q) {
        // browsing by facet values alone (links from the city and instrument pages)
        run = await self.engine.browse(st, docNum);
      } else {
        // a filter applies to the whole result set: fetch every posting page then
        var full = !!opts.full || hasFilter;
        run = self.lastRun;
        if ((!run || run.query !== q) && !full && self.ahead && self.ahead.q === q) {
          // the search of this text, started while typing
          run = await self.ahead.promise.catch(function () { return null; });
          if (my !== self.seq) return;
          if (run) self.lastRun = run;
        }
        if (!run || run.query !== q || (full && run.partial)) {
          self.setStatus("正在检索…");
          run = await self.engine.run(q, { full: full });
          if (my !== self.seq) return;
          if (run.partial && !run.ranked.length) {
            // The budgeted first pages of common parts did not meet (an AND of frequent
            // terms): fetch everything rather than show an empty first view.
            run = await self.engine.run(q, { full: true });
            if (my !== self.seq) return;
          }
          self.lastRun = run;
        }
      }
      if (my !== self.seq) return;
      var refined = self.engine.refine(run, st, docNum);
      var pages = Math.max(1, Math.ceil(refined.items.length / PAGE_SIZE));
      if (st.page > pages) st.page = pages;
      var shown = refined.items.slice((st.page - 1) * PAGE_SIZE, st.page * PAGE_SIZE);
      var docNums = new Set();
      topEntries(refined.counts.doc, DOC_FACET_LIMIT).forEach(function (kv) { docNums.add(kv[0]); });
      if (docNum >= 0) docNums.add(docNum);
      // the shown passages' fragments first; the document facet's titles, when not loaded
      // yet, follow the results (its labels are filled in when they arrive)
      docNums = Array.from(docNums);
      var titles = self.engine.docTitlesLoaded(docNums);
      var got = await Promise.all([self.engine.fragments(shown.map(function (it) { return it.idx; })),
                                   q ? self.engine.snippetTables(run.plan) : null,
                                   q ? self.engine.rules() : null]);
      var frags = got[0];
      var tables = got[1];
      var rules = got[2];
      if (my !== self.seq) return;
      var view = { shown: shown, frags: frags, titles: titles || new Map(), pages: pages, rules: rules,
                   tables: tables };
      self.render(run, refined, view, docNum, opts);
      if (!titles) {
        self.engine.docTitles(docNums, true).then(function (loaded) {
          if (my !== self.seq) return;
          view.titles = loaded;
          var old = self.facetsBox.querySelector('section[aria-labelledby="kb-facet-doc"]');
          if (old) self.facetsBox.replaceChild(self.facetBox("doc", refined, view), old);
        }).catch(function () { /* the document facet keeps its counts without labels */ });
      }
    } catch (err) {
      if (my !== self.seq) return;
      self.render(null, null, null, null, opts);
      self.setStatus("检索出错：" + (err && err.message ? err.message : String(err)));
    } finally {
      if (my === self.seq) {
        self.results.removeAttribute("aria-busy");
        self.results.setAttribute("data-ready", "");
      }
    }
  };

  function topEntries(map, limit) {
    var arr = Array.from(map.entries());
    arr.sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; });
    return limit ? arr.slice(0, limit) : arr;
  }

  /* The section of one facet: its values with counts, as buttons (view.titles: the labels of
     the document facet's documents; one without is left out until its title is loaded). */
  SearchPage.prototype.facetBox = function (facet, refined, view) {
    var self = this;
    var st = self.state;
    var f = self.engine.facetInfo.raw;
    var labels = {
      city: function (code) { return f.cities[code]; },
      instrument: function (code) { return f.instruments[code]; },
      year: function (code) { return [String(f.years[code][0]), String(f.years[code][0])]; },
      type: function (code) { return f.types[code] ? [f.types[code][0], f.types[code][1]] : null; },
      doc: function (code) {
        var t = view.titles.get(code);
        return t ? [t.id, t.title] : null;
      },
    };
    var entries = topEntries(refined.counts[facet], facet === "doc" ? DOC_FACET_LIMIT : 0);
    if (facet === "year") entries.sort(function (a, b) { return b[0] - a[0]; });
    var selected = refined.want[facet];
    if (facet === "doc" && selected === -2) selected = -1;
    if (selected >= 0 && !entries.some(function (kv) { return kv[0] === selected; })) {
      entries.push([selected, 0]);
    }
    var box = el("section", { "class": "kb-facet", "aria-labelledby": "kb-facet-" + facet });
    box.appendChild(el("h2", { id: "kb-facet-" + facet }, FACET_TITLES[facet]));
    if (!entries.length && !st[facet]) {
      box.appendChild(el("p", { "class": "muted" }, "—"));
    }
    var ul = el("ul", { "class": "kb-facet-list" });
    if (st[facet] && selected < 0) {
      // a value from the URL that is not in the index: show it so it can be removed
      var li0 = el("li");
      var b0 = el("button", { type: "button", "data-facet": facet, "data-value": st[facet],
                              "aria-pressed": "true" });
      b0.appendChild(doc.createTextNode(st[facet] + " "));
      b0.appendChild(el("span", { "class": "count" }, "(0)"));
      li0.appendChild(b0);
      ul.appendChild(li0);
    }
    entries.forEach(function (kv) {
      var lab = labels[facet](kv[0]);
      if (!lab) return;
      var pressed = st[facet] === lab[0];
      var li = el("li");
      var b = el("button", { type: "button", "data-facet": facet, "data-value": lab[0],
                             "aria-pressed": pressed ? "true" : "false" });
      b.appendChild(doc.createTextNode(lab[1] + " "));
      b.appendChild(el("span", { "class": "count" }, "(" + kv[1] + ")"));
      li.appendChild(b);
      ul.appendChild(li);
    });
    box.appendChild(ul);
    return box;
  };

  SearchPage.prototype.render = function (run, refined, view, docNum, opts) {
    var self = this;
    var st = self.state;
    var focusKey = opts && opts.focus;
    var active = doc.activeElement;
    if (!focusKey && active && active.getAttribute && active.getAttribute("data-facet")) {
      focusKey = [active.getAttribute("data-facet"), active.getAttribute("data-value")];
    }
    doc.title = st.q.trim() ? st.q.trim() + " · " + self.baseTitle : self.baseTitle;
    clear(self.results);
    clear(self.facetsBox);
    if (self.chipsBox) clear(self.chipsBox);
    self.more.hidden = true;
    self.note.textContent = "";
    var hasFilter = FILTERS.some(function (f) { return st[f]; });
    self.clearBtn.hidden = !hasFilter;
    if (!run) {
      self.pager.hidden = true;
      return;
    }
    var n = refined.items.length;
    if (n === 0 && run.partial) {
      self.setStatus("在已下载的部分索引中没有找到与“" + st.q.trim() + "”相关的结果；请加载全部结果后再看。");
    } else if (n === 0 && !st.q.trim()) {
      self.setStatus("没有找到符合筛选条件的段落。");
    } else if (n === 0) {
      self.setStatus("没有找到与“" + st.q.trim() + "”相关的结果" + (hasFilter ? "（在当前筛选条件下）" : "") + "。");
    } else if (run.partial) {
      self.setStatus("至少 " + n + " 条结果（只检索了最相关的部分索引）");
    } else {
      self.setStatus("共 " + n + " 条结果");
    }
    var notes = (run.notices || []).slice();
    if (run.partial) {
      notes.push("常见词的索引较大，目前只下载了每个词排名靠前的部分，结果数与筛选计数可能偏少。");
      self.more.hidden = false;
    }
    self.note.textContent = notes.join("；");
    var f = self.engine.facetInfo.raw;
    if (self.chipsBox) {
      (run.plan.concepts || []).forEach(function (c) {
        if (c.kind !== "city" && c.kind !== "instrument") return;
        var label;
        if (c.kind === "city") {
          var names = c.cities.map(function (slug) {
            var code = self.engine.facetInfo.cityCode.get(slug);
            return code === undefined ? slug : f.cities[code][1];
          });
          label = "城市：" + (names.length !== 1 ? c.text + "（" + names.length + " 个城市）"
            : c.text === names[0] || c.text === names[0] + "市" ? names[0] : names[0] + "（" + c.text + "）");
        } else {
          var ic = self.engine.facetInfo.instCode.get(c.instrument);
          label = "政策工具：" + (ic === undefined ? c.text : f.instruments[ic][1]);
        }
        var li = el("li", { "class": "kb-query-chip", "data-kind": c.kind });
        li.appendChild(el("span", null, label));
        li.appendChild(el("button", { type: "button", "data-concept": c.text,
                                       "aria-label": "从检索词中移除 " + label }, "×"));
        self.chipsBox.appendChild(li);
      });
    }

    // facets
    FILTERS.forEach(function (facet) { self.facetsBox.appendChild(self.facetBox(facet, refined, view)); });

    // results
    var plan = run.plan && run.plan.concepts ? run.plan : { concepts: [] };
    var tables = view.tables || {};
    var width = view.rules ? view.rules.snip : 120;
    var typeLabel = new Map(f.types.map(function (t) { return [t[0], t[1]]; }));
    self.results.setAttribute("start", String((st.page - 1) * PAGE_SIZE + 1));
    view.shown.forEach(function (it) {
      var rec = view.frags.get(it.idx);
      var li = el("li", { "class": "kb-result", "data-passage-id": rec.id });
      var url = KB.safeRelative(rec.url);
      var h = el("h3", { "class": "kb-result-title" });
      var docUrl = url ? url.split("#")[0] : null;
      var a = el("a", docUrl ? { href: self.siteRoot + docUrl } : {}, rec.title || rec.id);
      h.appendChild(a);
      li.appendChild(h);
      var metaLine = [rec.publisher, rec.date, typeLabel.get(rec.type) || rec.type].filter(Boolean).join(" · ");
      if (metaLine) li.appendChild(el("p", { "class": "kb-docmeta muted" }, metaLine));
      if (rec.section && rec.section.length) {
        li.appendChild(el("p", { "class": "kb-trail" }, rec.section.join(" › ")));
      }
      var p = el("p", { "class": "kb-snippet" });
      var segs = plan.concepts.length ? KB.snippet(rec.text, plan, tables, width)
        : [[String(rec.text).slice(0, width) + (rec.text.length > width ? "…" : ""), false]];
      segs.forEach(function (sg) {
        if (sg[1]) p.appendChild(el("mark", null, sg[0]));
        else p.appendChild(doc.createTextNode(sg[0]));
      });
      li.appendChild(p);
      var chips = el("ul", { "class": "chips kb-chips" });
      it.codes.c.forEach(function (c) {
        var x = el("li");
        x.appendChild(el("span", { "class": "chip chip-city" }, f.cities[c][1]));
        chips.appendChild(x);
      });
      it.codes.i.forEach(function (c) {
        var x = el("li");
        x.appendChild(el("span", { "class": "chip chip-inst" }, f.instruments[c][1]));
        chips.appendChild(x);
      });
      var yr = el("li");
      yr.appendChild(el("span", { "class": "chip", title: self.yearLabel }, self.yearLabel + " " + String(f.years[it.year][0])));
      chips.appendChild(yr);
      li.appendChild(chips);
      if (url) {
        var link = el("a", { "class": "kb-permalink", href: self.siteRoot + url }, "查看原文段落");
        li.appendChild(link);
      }
      self.results.appendChild(li);
    });

    // pager
    self.pager.hidden = view.pages <= 1;
    self.prev.disabled = st.page <= 1;
    self.next.disabled = st.page >= view.pages;
    self.pageInfo.textContent = "第 " + st.page + " / " + view.pages + " 页";

    if (focusKey) {
      var again = self.facetsBox.querySelector('button[data-facet="' + focusKey[0] + '"][data-value="' +
        String(focusKey[1]).replace(/["\\]/g, "\\$&") + '"]');
      if (again) again.focus();
    }
    if (opts && opts.scroll && self.results.scrollIntoView) {
      self.status.scrollIntoView({ block: "start" });
    }
  };

  KB.SearchPage = SearchPage;

  function start() {
    var root = doc.getElementById("kb-search");
    if (!root || root.getAttribute("data-started")) return;
    root.setAttribute("data-started", "");
    var page = new SearchPage(root);
    KB.page = page;
    page.search();
  }

  if (doc) {
    if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", start);
    else start();
  }
})(typeof window !== "undefined" ? window : this);
