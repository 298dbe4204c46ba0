/* kb-rank.js — the search engine over the static index: fetches only the chunks, posting pages
 * and fragments a query needs, ranks with BM25 (word matches above gram-only matches) exactly
 * like kb/static_index.py (evaluate), and counts facets.
 */
(function (global) {
  "use strict";

  var KB = global.KB = global.KB || {};

  /* ------------------------------------------------------------------ ranking (pure) */

  KB.K1 = 1.2;
  KB.B = 0.75;

  KB.idf = function (n, df) { return Math.log(1 + (n - df + 0.5) / (df + 0.5)); };

  KB.impact = function (tf, dl, avgdl) {
    return tf * (KB.K1 + 1) / (tf + KB.K1 * (1 - KB.B + KB.B * dl / avgdl));
  };

  /* Do the position lists occur at consecutive positions (list j at p + j)? */
  KB.isPhrase = function (lists) {
    var rest = [];
    for (var j = 1; j < lists.length; j++) rest.push(new Set(lists[j]));
    var first = lists[0];
    for (var i = 0; i < first.length; i++) {
      var p = first[i];
      var ok = true;
      for (var k = 0; k < rest.length; k++) {
        if (!rest[k].has(p + k + 1)) { ok = false; break; }
      }
      if (ok) return true;
    }
    return false;
  };

  function dfOf(map) { return map.df !== undefined ? map.df : map.size; }

  function mergePrefix(maps) {
    var merged = new Map();
    maps.forEach(function (m) {
      m.forEach(function (post, idx) {
        var old = merged.get(idx);
        if (old) {
          merged.set(idx, { tf: old.tf + post.tf,
                            pos: old.pos.concat(post.pos).sort(function (a, b) { return a - b; }),
                            dl: old.dl, cs: old.cs, im: old.im });
        } else {
          merged.set(idx, { tf: post.tf, pos: post.pos.slice(), dl: post.dl, cs: post.cs, im: post.im });
        }
      });
    });
    return merged;
  }

  function intersectKeys(maps) {
    var smallest = maps.reduce(function (a, b) { return b.size < a.size ? b : a; });
    var out = [];
    smallest.forEach(function (_v, idx) {
      for (var i = 0; i < maps.length; i++) if (!maps[i].has(idx)) return;
      out.push(idx);
    });
    return out;
  }

  /* The twin of kb.static_index.evaluate. get(layer, term) -> Map(idx -> {tf, pos, dl});
     expand(char) -> gram terms with that prefix. Returns [{idx, tier, score}] best first. */
  KB.evaluate = function (plan, get, expand, n, avgdl) {
    var total = null;
    plan.forEach(function (part) {
      var wp = part.words.map(function (w) { return get("w", w); });
      var sp = part.slots.map(function (slot) {
        if (slot[0] === "e") return get("g", slot[1]);
        return mergePrefix(expand(slot[1]).map(function (t) { return get("g", t); }));
      });
      var cand = new Set();
      if (wp.length) intersectKeys(wp).forEach(function (i) { cand.add(i); });
      if (sp.length) intersectKeys(sp).forEach(function (i) { cand.add(i); });
      var wterms = [];
      var wmap = new Map();
      part.words.forEach(function (w, i) {
        if (!wmap.has(w)) { wmap.set(w, wp[i]); wterms.push(w); }
      });
      var skeys = [];
      var smap = new Map();
      part.slots.forEach(function (slot, i) {
        var key = slot[0] + "\u0000" + slot[1];
        if (!smap.has(key)) { smap.set(key, sp[i]); skeys.push(key); }
      });
      var res = new Map();
      cand.forEach(function (idx) {
        var wordAll = wp.length > 0 && wp.every(function (d) { return d.has(idx); });
        var wordPhrase = wordAll && KB.isPhrase(wp.map(function (d) { return d.get(idx).pos; }));
        var gramPhrase = sp.length > 0 && sp.every(function (d) { return d.has(idx); }) &&
          KB.isPhrase(sp.map(function (d) { return d.get(idx).pos; }));
        var ok = part.phrase ? (wordPhrase || gramPhrase) : (wordAll || gramPhrase);
        if (!ok) return;
        var tier = wordPhrase ? 2 : gramPhrase ? 1 : 0;
        var score = 0;
        wterms.forEach(function (w) {
          var d = wmap.get(w);
          var post = d.get(idx);
          if (post) score += KB.idf(n, dfOf(d)) * KB.impact(post.tf, post.dl, avgdl.w);
        });
        skeys.forEach(function (key) {
          var d = smap.get(key);
          var post = d.get(idx);
          if (post) score += KB.idf(n, dfOf(d)) * KB.impact(post.tf, post.dl, avgdl.g);
        });
        res.set(idx, [tier, score]);
      });
      if (total === null) {
        total = res;
      } else {
        var next = new Map();
        total.forEach(function (ts, idx) {
          var other = res.get(idx);
          if (other) next.set(idx, [ts[0] + other[0], ts[1] + other[1]]);
        });
        total = next;
      }
    });
    var out = [];
    if (total) total.forEach(function (ts, idx) { out.push({ idx: idx, tier: ts[0], score: ts[1] }); });
    out.sort(function (a, b) {
      return (b.tier - a.tier) || (b.score - a.score) || (a.idx - b.idx);
    });
    return out;
  };

  /* ------------------------------------------------------------------ the engine */

  function Engine(base, meta) {
    this.base = base || "";
    this.meta = meta;
    this.avgdl = { w: meta.avgdl[0], g: meta.avgdl[1] };
    this.lexSets = new Map();
    this.chunkMaps = new Map();
    this.decoded = new Map(); // file or inline key -> Map
    this.t2sReady = false;
    this.facetInfo = null;
    this.bytesLoaded = 0;
  }
  KB.Engine = Engine;

  Engine.prototype.file = function (name) { return KB.load(name, this.base); };

  /* In a sorted list of [first, last, file]: the file whose range holds term, or null. */
  function locate(list, term) {
    var i = KB.floorIndex(list, term, function (c) { return c[0]; });
    return i >= 0 && term <= list[i][1] ? list[i][2] : null;
  }

  /* In a sorted list of [first, last, file]: the files whose ranges overlap [lo, hi]. */
  function overlapping(list, lo, hi) {
    var out = [];
    var i = Math.max(0, KB.floorIndex(list, lo, function (c) { return c[0]; }));
    for (; i < list.length && list[i][0] <= hi; i++) {
      if (list[i][1] >= lo) out.push(list[i][2]);
    }
    return out;
  }
  KB.locate = locate;
  KB.overlapping = overlapping;

  /* Load the chunks of a layer ("lex", "w", "g") overlapping any of the ranges [[lo, hi]]
     (through the layer's directory files); resolves with their names. */
  Engine.prototype.loadChunks = async function (layer, ranges) {
    var self = this;
    var dirs = new Set();
    ranges.forEach(function (r) {
      overlapping(self.meta[layer], r[0], r[1]).forEach(function (d) { dirs.add(d); });
    });
    await KB.loadAll(Array.from(dirs), self.base);
    var names = new Set();
    ranges.forEach(function (r) {
      overlapping(self.meta[layer], r[0], r[1]).forEach(function (d) {
        overlapping(KB.data[d], r[0], r[1]).forEach(function (n) { names.add(n); });
      });
    });
    names = Array.from(names);
    await KB.loadAll(names, self.base);
    return names;
  };

  /* The (loaded) chunk of a layer that would hold term, or null. */
  Engine.prototype.chunkOf = function (layer, term) {
    var dir = locate(this.meta[layer], term);
    return dir && KB.data[dir] ? locate(KB.data[dir], term) : null;
  };

  Engine.prototype.ensureT2S = function (text) {
    var self = this;
    if (self.t2sReady || !KB.needsT2S(text)) return Promise.resolve();
    return self.file(self.meta.t2s).then(function (pairs) {
      KB.setT2S(pairs);
      self.t2sReady = true;
    });
  };

  Engine.prototype.lexSet = function (name) {
    var s = this.lexSets.get(name);
    if (!s) { s = new Set(KB.data[name]); this.lexSets.set(name, s); }
    return s;
  };

  Engine.prototype.chunkMap = function (name) {
    var m = this.chunkMaps.get(name);
    if (!m) {
      var c = KB.data[name];
      m = new Map();
      c.t.forEach(function (t, i) { m.set(t, c.e[i]); });
      this.chunkMaps.set(name, m);
    }
    return m;
  };

  Engine.prototype.decode = function (key, text) {
    var m = this.decoded.get(key);
    if (!m) { m = KB.decodePostings(text); this.decoded.set(key, m); }
    return m;
  };

  /* Run a query: {parts, plan, ranked: [{idx, tier, score}], codes: Map(idx -> [city set, mask]),
     partial: bool (some posting pages were not fetched), pagesPending: number}.
     opts.full: fetch every posting page (no byte budget). */
  Engine.prototype.run = async function (query, opts) {
    opts = opts || {};
    var self = this;
    var meta = self.meta;
    await self.ensureT2S(query);
    var parts = KB.parseParts(query);
    var result = { query: query, parts: parts, plan: [], ranked: [], codes: new Map(),
                   partial: false, pagesPending: 0 };
    if (!parts.length) return result;

    var lexRanges = [];
    parts.forEach(function (p) { lexRanges = lexRanges.concat(KB.lexRanges(p.text, meta.maxw)); });
    var lexNames = await self.loadChunks("lex", lexRanges);
    var sets = lexNames.map(function (n) { return self.lexSet(n); });
    var hasWord = function (t) {
      for (var i = 0; i < sets.length; i++) if (sets[i].has(t)) return true;
      return false;
    };
    var plan = result.plan = KB.planQuery(parts, hasWord, meta.maxw);

    // Posting chunks of every term (and of every prefix range).
    var direct = [];
    var prefixes = [];
    plan.forEach(function (part) {
      part.words.forEach(function (w) { direct.push(["w", w]); });
      part.slots.forEach(function (s) {
        if (s[0] === "e") direct.push(["g", s[1]]); else prefixes.push(s[1]);
      });
    });
    var wRanges = [];
    var gRanges = [];
    direct.forEach(function (lt) { (lt[0] === "w" ? wRanges : gRanges).push([lt[1], lt[1]]); });
    var prefixChunks = new Map();
    var loaded = await Promise.all([
      self.loadChunks("w", wRanges),
      self.loadChunks("g", gRanges),
      Promise.all(prefixes.map(function (c) {
        return self.loadChunks("g", [[c, c + "\uffff"]]).then(function (names) { prefixChunks.set(c, names); });
      })),
    ]);
    void loaded;

    var entries = new Map(); // "layer\0term" -> {key, df, post, mandatory}
    function entryOf(layer, term, mandatory) {
      var key = layer + "\u0000" + term;
      var e = entries.get(key);
      if (e) { e.mandatory = e.mandatory || mandatory; return e; }
      var name = self.chunkOf(layer, term);
      var raw = name ? self.chunkMap(name).get(term) : undefined;
      e = { key: key, df: raw ? raw[0] : 0, post: raw ? raw[1] : "", mandatory: mandatory };
      entries.set(key, e);
      return e;
    }
    direct.forEach(function (lt) { entryOf(lt[0], lt[1], true); });
    var expansions = new Map();
    prefixChunks.forEach(function (names, c) {
      var terms = [];
      names.forEach(function (n) {
        KB.data[n].t.forEach(function (t) { if (t.charAt(0) === c) terms.push(t); });
      });
      expansions.set(c, terms);
      terms.forEach(function (t) { entryOf("g", t, false); });
    });

    // Posting pages: first pages of the query's own terms always, then the best-first
    // pages of everything else while the byte budget lasts.
    var budget = opts.full ? Infinity : meta.budget;
    var spent = 0;
    var load = [];
    var optional = [];
    entries.forEach(function (e) {
      if (typeof e.post === "string") return;
      e.post.forEach(function (ref, k) {
        var task = { e: e, k: k, name: ref[0], bytes: ref[2] };
        if (k === 0 && e.mandatory) { load.push(task); spent += ref[2]; } else optional.push(task);
      });
    });
    optional.sort(function (a, b) { return (a.k - b.k) || (a.bytes - b.bytes) || (a.name < b.name ? -1 : 1); });
    var chosen = new Set();
    load.forEach(function (t) { chosen.add(t.e.key + "#" + t.k); });
    optional.forEach(function (t) {
      var prevOk = t.k === 0 || chosen.has(t.e.key + "#" + (t.k - 1));
      if (prevOk && spent + t.bytes <= budget) {
        spent += t.bytes;
        load.push(t);
        chosen.add(t.e.key + "#" + t.k);
      }
    });
    await KB.loadAll(load.map(function (t) { return t.name; }), self.base);
    var pending = 0;
    entries.forEach(function (e) {
      if (typeof e.post === "string") return;
      e.post.forEach(function (_ref, k) { if (!chosen.has(e.key + "#" + k)) pending += 1; });
    });
    result.pagesPending = pending;
    result.partial = pending > 0;

    var maps = new Map();
    function get(layer, term) {
      var key = layer + "\u0000" + term;
      var m = maps.get(key);
      if (m) return m;
      var e = entries.get(key);
      if (!e || !e.df) {
        m = new Map();
      } else if (typeof e.post === "string") {
        m = self.decode(key, e.post);
      } else {
        m = new Map();
        e.post.forEach(function (ref, k) {
          if (chosen.has(key + "#" + k)) {
            self.decode(ref[0], KB.data[ref[0]]).forEach(function (v, idx) { m.set(idx, v); });
          }
        });
        m.df = e.df;
      }
      maps.set(key, m);
      return m;
    }
    function expand(c) { return expansions.get(c) || []; }
    result.ranked = KB.evaluate(plan, get, expand, meta.N, self.avgdl);
    var need = new Set(result.ranked.map(function (r) { return r.idx; }));
    maps.forEach(function (m) {
      m.forEach(function (v, idx) {
        if (need.has(idx) && !result.codes.has(idx)) result.codes.set(idx, [v.cs, v.im]);
      });
    });
    result.bytesBudgeted = spent;
    return result;
  };

  /* ------------------------------------------------------------------ facets */

  var FACETS = ["city", "instrument", "year", "doc"];

  Engine.prototype.facets = async function () {
    if (this.facetInfo) return this.facetInfo;
    var f = await this.file(this.meta.facets);
    var counts = KB.decodeVarints(f.docCount);
    var starts = new Array(counts.length);
    var acc = 0;
    counts.forEach(function (c, i) { starts[i] = acc; acc += c; });
    var global = { city: new Map(), instrument: new Map(), year: new Map(), doc: new Map() };
    f.cities.forEach(function (c, i) { global.city.set(i, c[2]); });
    f.instruments.forEach(function (c, i) { global.instrument.set(i, c[2]); });
    f.years.forEach(function (y, i) { global.year.set(i, y[1]); });
    counts.forEach(function (c, i) { if (c) global.doc.set(i, c); });
    this.facetInfo = {
      raw: f, starts: starts, counts: counts, docYear: KB.decodeVarints(f.docYear), global: global,
      citySets: decodeCitySets(f.citySets),
      cityCode: new Map(f.cities.map(function (c, i) { return [c[0], i]; })),
      instCode: new Map(f.instruments.map(function (c, i) { return [c[0], i]; })),
      yearCode: new Map(f.years.map(function (y, i) { return [String(y[0]), i]; })),
      decoded: new Map(),
    };
    return this.facetInfo;
  };

  function decodeCitySets(text) {
    var nums = KB.decodeVarints(text);
    var out = [];
    for (var i = 0; i < nums.length; i += 1 + nums[i]) out.push(nums.slice(i + 1, i + 1 + nums[i]));
    return out;
  }

  /* {c: [city codes], i: [instrument codes]} of a [city-set code, instrument mask] pair. */
  Engine.prototype.decodeCodes = function (pair) {
    var info = this.facetInfo;
    var key = pair[0] + ":" + pair[1];
    var got = info.decoded.get(key);
    if (got) return got;
    var insts = [];
    var m = pair[1];
    for (var k = 0; m > 0; k++) {
      if (m % 2 === 1) insts.push(k);
      m = Math.floor(m / 2);
    }
    got = { c: info.citySets[pair[0]] || [], i: insts };
    info.decoded.set(key, got);
    return got;
  };

  Engine.prototype.docOf = function (idx) {
    var starts = this.facetInfo.starts;
    var lo = 0;
    var hi = starts.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= idx) lo = mid; else hi = mid - 1;
    }
    return lo;
  };

  /* Document number of a document id (-1 if unknown): binary search over the title files
     (document ids are sorted). */
  Engine.prototype.docIndex = async function (docId) {
    var docs = this.meta.docs;
    var lo = 0;
    var hi = docs.count - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      var c = await this.file(docs.titles + "/" + mid + ".js");
      if (docId < c.ids[0]) hi = mid - 1;
      else if (docId > c.ids[c.ids.length - 1]) lo = mid + 1;
      else {
        var k = c.ids.indexOf(docId);
        return k < 0 ? -1 : mid * docs.size + k;
      }
    }
    return -1;
  };

  /* Map(doc number -> {id, title}) for the given document numbers. */
  Engine.prototype.docTitles = async function (docNums) {
    var docs = this.meta.docs;
    var names = new Set();
    docNums.forEach(function (d) { names.add(docs.titles + "/" + Math.floor(d / docs.size) + ".js"); });
    await KB.loadAll(Array.from(names), this.base);
    var out = new Map();
    docNums.forEach(function (d) {
      var c = KB.data[docs.titles + "/" + Math.floor(d / docs.size) + ".js"];
      out.set(d, { id: c.ids[d % docs.size], title: c.titles[d % docs.size] });
    });
    return out;
  };

  /* Filter values as codes: -1 = no filter, -2 = a value the index does not know. */
  Engine.prototype.wanted = function (filters, docNum) {
    var info = this.facetInfo;
    function code(map, v) { return v ? (map.has(String(v)) ? map.get(String(v)) : -2) : -1; }
    return {
      city: code(info.cityCode, filters.city),
      instrument: code(info.instCode, filters.instrument),
      year: code(info.yearCode, filters.year),
      doc: filters.doc ? (docNum >= 0 ? docNum : -2) : -1,
    };
  };

  /* Browsing without a query: the passages having every filter value, from the facet lists
     (city / instrument / year) and the document's code chunk. Returns a run for refine(). */
  Engine.prototype.browse = async function (filters, docNum) {
    var info = await this.facets();
    var f = info.raw;
    var want = this.wanted(filters, docNum);
    var lists = {};
    var loads = [];
    var self = this;
    [["city", f.cities, 3], ["instrument", f.instruments, 3], ["year", f.years, 2]].forEach(function (x) {
      var code = want[x[0]];
      if (code === -1) return;
      if (code === -2) { lists[x[0]] = new Map(); return; }
      var name = x[1][code][x[2]];
      loads.push(self.file(name).then(function (text) {
        var key = "fl:" + name;
        if (!self.decoded.has(key)) self.decoded.set(key, KB.decodeFacetList(text));
        lists[x[0]] = self.decoded.get(key);
      }));
    });
    if (want.doc === -2) lists.doc = new Map();
    else if (want.doc >= 0) {
      var size = self.meta.docs.size;
      var k = Math.floor(want.doc / size);
      loads.push(self.file(self.meta.docs.codes + "/" + k + ".js").then(function (text) {
        var nums = KB.decodeVarints(text);
        var first = info.starts[k * size];
        var m = new Map();
        for (var idx = info.starts[want.doc]; idx < info.starts[want.doc] + info.counts[want.doc]; idx++) {
          var j = 2 * (idx - first);
          m.set(idx, [nums[j], nums[j + 1]]);
        }
        lists.doc = m;
      }));
    }
    await Promise.all(loads);
    return { query: "", browse: true, lists: lists, parts: [], plan: [], ranked: [],
             codes: new Map(), partial: false, pagesPending: 0 };
  };

  /* Filter a run and count facet values: {items: [{idx, doc, year, codes}], counts: {facet:
     Map(code -> n)}, want}. Counts for one facet ignore that facet's own filter (so values
     can be switched). */
  Engine.prototype.refine = function (run, filters, docNum) {
    var self = this;
    var info = self.facetInfo;
    var want = self.wanted(filters, docNum);
    var counts = { city: new Map(), instrument: new Map(), year: new Map(), doc: new Map() };
    function describe(idx, pair) {
      var codes = self.decodeCodes(pair);
      var doc = self.docOf(idx);
      return { idx: idx, doc: doc, year: info.docYear[doc], codes: codes };
    }
    function ok(it, facet) {
      switch (facet) {
        case "city": return want.city === -1 || it.codes.c.indexOf(want.city) >= 0;
        case "instrument": return want.instrument === -1 || it.codes.i.indexOf(want.instrument) >= 0;
        case "year": return want.year === -1 || it.year === want.year;
        default: return want.doc === -1 || it.doc === want.doc;
      }
    }
    function count(facet, it) {
      if (facet === "city") it.codes.c.forEach(function (c) { bump(counts.city, c); });
      else if (facet === "instrument") it.codes.i.forEach(function (c) { bump(counts.instrument, c); });
      else if (facet === "year") bump(counts.year, it.year);
      else bump(counts.doc, it.doc);
    }
    var items = [];
    if (run.browse) {
      var active = FACETS.filter(function (x) { return run.lists[x]; });
      var inter = function (facets) {
        var maps = facets.map(function (x) { return run.lists[x]; });
        var small = maps.reduce(function (a, b) { return b.size < a.size ? b : a; });
        var out = [];
        small.forEach(function (pair, idx) {
          for (var i = 0; i < maps.length; i++) if (!maps[i].has(idx)) return;
          out.push(describe(idx, pair));
        });
        out.sort(function (a, b) { return a.idx - b.idx; });
        return out;
      };
      items = active.length ? inter(active) : [];
      FACETS.forEach(function (facet) {
        var others = active.filter(function (x) { return x !== facet; });
        if (!others.length) {
          counts[facet] = new Map(info.global[facet]);
        } else {
          inter(others).forEach(function (it) { count(facet, it); });
        }
      });
      return { items: items, counts: counts, want: want };
    }
    run.ranked.forEach(function (r) {
      var it = describe(r.idx, run.codes.get(r.idx) || [0, 0]);
      var pass = {};
      FACETS.forEach(function (x) { pass[x] = ok(it, x); });
      FACETS.forEach(function (facet) {
        if (FACETS.every(function (x) { return x === facet || pass[x]; })) count(facet, it);
      });
      if (pass.city && pass.instrument && pass.year && pass.doc) items.push(it);
    });
    return { items: items, counts: counts, want: want };
  };

  function bump(map, key) { map.set(key, (map.get(key) || 0) + 1); }

  /* Fragments (id, url, doc, section, text) of passage numbers: Map(idx -> record). */
  Engine.prototype.fragments = async function (idxs) {
    var frag = this.meta.frag;
    var names = new Set();
    idxs.forEach(function (i) { names.add(frag.dir + "/" + Math.floor(i / frag.size) + ".js"); });
    await KB.loadAll(Array.from(names), this.base);
    var out = new Map();
    idxs.forEach(function (i) {
      var rec = KB.data[frag.dir + "/" + Math.floor(i / frag.size) + ".js"][i % frag.size];
      out.set(i, { id: rec[0], url: rec[1], doc: rec[2], section: rec[3], text: rec[4], title: rec[5] });
    });
    return out;
  };
})(typeof window !== "undefined" ? window : this);
