/* kb-rank.js — the search engine over the static index: fetches only the chunks, posting pages
 * and fragments a query needs, ranks with BM25 (word matches above gram-only matches) exactly
 * like kb/static_index.py (evaluate), and counts facets.
 */
(function (global) {
  "use strict";

  var KB = global.KB = global.KB || {};

  /* ------------------------------------------------------------------ ranking (pure) */
  /* The twin of kb/search/rank.py (the reference: read its docstring for the model). The
     constants come from the index's rules file (C = rules.rank). */

  KB.idf = function (n, df) { return Math.log(1 + (n - df + 0.5) / (df + 0.5)); };

  KB.impact = function (tf, dl, avgdl, C) {
    return tf * (C.k1 + 1) / (tf + C.k1 * (1 - C.b + C.b * dl / avgdl));
  };

  /* Start positions p of lists[0] such that lists[j] holds p + j for every j. */
  KB.phraseStarts = function (lists) {
    var rest = [];
    for (var j = 1; j < lists.length; j++) rest.push(new Set(lists[j]));
    return lists[0].filter(function (p) {
      for (var k = 0; k < rest.length; k++) if (!rest[k].has(p + k + 1)) return false;
      return true;
    });
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

  function unique(arr, key) {
    var seen = new Set();
    return arr.filter(function (x) {
      var k = key ? key(x) : x;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  function Concept(c, src) {
    this.c = c;
    this.words = unique(c.words);
    this.wmaps = c.words.map(function (w) { return src.get("w", w); });
    this.smaps = c.slots.map(function (slot) {
      if (slot[0] === "e") return src.get("g", slot[1]);
      return mergePrefix(src.expand(slot[1]).map(function (t) { return src.get("g", t); }));
    });
    var self = this;
    this.wmap = new Map();
    c.words.forEach(function (w, i) { if (!self.wmap.has(w)) self.wmap.set(w, self.wmaps[i]); });
    this.smap = new Map();
    c.slots.forEach(function (s, i) {
      var key = s[0] + "\u0000" + s[1];
      if (!self.smap.has(key)) self.smap.set(key, self.smaps[i]);
    });
    this.exact = unique(c.slots.filter(function (s) { return s[0] === "e"; }).map(function (s) {
      return "e\u0000" + s[1];
    }));
    this.pieces = unique(c.pieces || []);
    this.pmaps = this.pieces.map(function (w) { return src.get("w", w); });
    this.tagKind = c.cities.length ? "city" : c.instrument ? "instrument" : null;
    this.tagValues = c.cities.length ? c.cities : c.instrument ? [c.instrument] : [];
  }

  /* Per concept, once per query (as in rank.py's _Concept): the idf of every term and of the
     tag, and the passages of each route: whole words as a phrase (with its start positions),
     the bigram substring (without the words), the pieces apart (without either), the tag. */
  Concept.prototype.prepare = function (src, n) {
    var self = this;
    this.widf = new Map();
    this.words.forEach(function (w) { self.widf.set(w, KB.idf(n, dfOf(self.wmap.get(w)))); });
    this.sidf = this.exact.map(function (key) { return KB.idf(n, dfOf(self.smap.get(key))); });
    this.pidf = this.pmaps.map(function (d) { return KB.idf(n, dfOf(d)); });
    this.wordPos = new Map();
    if (this.wmaps.length) {
      intersectKeys(this.wmaps).forEach(function (idx) {
        var starts = KB.phraseStarts(self.wmaps.map(function (d) { return d.get(idx).pos; }));
        if (starts.length) self.wordPos.set(idx, starts);
      });
    }
    this.gramSet = new Set();
    if (this.smaps.length) {
      intersectKeys(this.smaps).forEach(function (idx) {
        if (self.wordPos.has(idx)) return;
        if (self.smaps.length === 1 ||
            KB.phraseStarts(self.smaps.map(function (d) { return d.get(idx).pos; })).length) self.gramSet.add(idx);
      });
    }
    this.piecesSet = new Set();
    if (this.pmaps.length) {
      intersectKeys(this.pmaps).forEach(function (idx) {
        if (!self.wordPos.has(idx) && !self.gramSet.has(idx)) self.piecesSet.add(idx);
      });
    }
    this.tagSet = new Set();
    var count = 0;
    this.tagValues.forEach(function (v) {
      src.tagged(self.tagKind, v).forEach(function (i) { self.tagSet.add(i); });
      count += src.tagCount(self.tagKind, v);
    });
    this.tagIdf = this.tagKind ? KB.idf(n, count) : 0;
  };

  /* The twin of kb.search.rank.rank. src: {n, avgdl, get, expand, tagCount, tagged, tagSize,
     cueCount, order}. Returns {hits: [{idx, first, score}], matched: Map(idx -> [k]), absent,
     full}. */
  KB.rank = function (plan, src, C) {
    var n = src.n;
    var avgdl = src.avgdl;
    var concepts = plan.concepts.map(function (c) { var x = new Concept(c, src); x.prepare(src, n); return x; });
    var cand = new Set();
    concepts.forEach(function (c) {
      c.wordPos.forEach(function (_p, i) { cand.add(i); });
      [c.gramSet, c.piecesSet, c.tagSet].forEach(function (set) { set.forEach(function (i) { cand.add(i); }); });
    });
    var per = new Map();
    cand.forEach(function (idx) {
      var row = [];
      for (var k = 0; k < concepts.length; k++) {
        var c = concepts[k];
        var pos = c.wordPos.get(idx);
        var word = pos !== undefined;
        var gram = word ? false : c.gramSet.has(idx);
        var pieces = word || gram ? false : c.piecesSet.has(idx);
        var tagged = c.tagSet.has(idx);
        if (c.c.required && !(word || gram)) { row = null; break; }
        if (!(word || gram || pieces || tagged)) continue;
        var score = 0;
        var i, post;
        if (word) {
          for (i = 0; i < c.words.length; i++) {
            post = c.wmap.get(c.words[i]).get(idx);
            score += c.widf.get(c.words[i]) * KB.impact(post.tf, post.dl, avgdl.w, C);
          }
        } else if (gram && c.exact.length) {
          var part = 0;
          for (i = 0; i < c.exact.length; i++) {
            post = c.smap.get(c.exact[i]).get(idx);
            part += c.sidf[i] * KB.impact(post.tf, post.dl, avgdl.g, C);
          }
          score += C.gram * part / c.exact.length;
        } else if (pieces) {
          var pp = 0;
          for (i = 0; i < c.pmaps.length; i++) {
            post = c.pmaps[i].get(idx);
            pp += c.pidf[i] * KB.impact(post.tf, post.dl, avgdl.w, C);
          }
          score += C.pieces * pp / c.pieces.length;
        }
        if (c.tagKind === "city") {
          if (tagged) score += C.tag * c.tagIdf / src.tagSize(idx, "city");
          else score *= C.mention;
        } else if (c.tagKind === "instrument" && tagged) {
          var strength = Math.min(src.cueCount(idx, c.tagValues[0]), C.cueSat) / C.cueSat /
            Math.sqrt(src.tagSize(idx, "instrument"));
          score += C.tag * C.inst * c.tagIdf * strength;
        }
        var share = word || gram || pieces || c.tagKind !== "instrument" || c.c.label ? 1.0 : C.tagOnly;
        row.push([k, score, pos || [], word || gram || pieces, share]);
      }
      if (row && row.length) per.set(idx, row);
    });
    // a concept's weight: idf of the candidates holding it as text (tags only when no text)
    var df = concepts.map(function () { return 0; });
    var textDf = concepts.map(function () { return 0; });
    per.forEach(function (row) {
      row.forEach(function (r) { df[r[0]] += 1; if (r[3]) textDf[r[0]] += 1; });
    });
    var weight = df.map(function (d, k) { return d ? KB.idf(n, textDf[k] || d) : 0; });
    var present = [];
    df.forEach(function (d, k) { if (d) present.push(k); });
    var totalW = 0;
    present.forEach(function (k) { totalW += weight[k]; });
    var hits = [];
    var fullCount = 0;
    // the first group: minimum_should_match "3<75%" (all concepts up to C.msmAll, else a share)
    var needed = present.length <= C.msmAll ? present.length : Math.floor(C.msmShare * present.length);
    var matched = new Map();
    per.forEach(function (row, idx) {
      var full = row.length === present.length;
      if (full) fullCount += 1;
      var wsum = 0;
      row.forEach(function (r) { wsum += r[4] * weight[r[0]]; });
      var coverage = totalW ? wsum / totalW : 1.0;
      var score = 0;
      row.forEach(function (r) { score += r[1]; });
      for (var j = 0; j + 1 < row.length; j++) {
        var a = row[j];
        var b = row[j + 1];
        if (b[0] === a[0] + 1 && a[2].length && b[2].length) {
          var d = Infinity;
          a[2].forEach(function (x) { b[2].forEach(function (y) { d = Math.min(d, Math.abs(x - y)); }); });
          if (d <= C.proxWindow) score += C.prox * Math.min(weight[a[0]], weight[b[0]]) / Math.max(d, 1);
        }
      }
      score *= Math.pow(coverage, C.coord);
      hits.push({ idx: idx, first: row.length >= needed, score: score, key: Math.floor(score * C.scale + 0.5) });
      matched.set(idx, row.map(function (r) { return r[0]; }));
    });
    hits.sort(function (x, y) {
      return (y.first - x.first) || (y.key - x.key) || (src.order(x.idx) - src.order(y.idx));
    });
    var absent = [];
    df.forEach(function (d, k) { if (!d) absent.push(concepts[k].c.text); });
    return { hits: hits, matched: matched, absent: absent, full: fullCount };
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

  /* In a chunk list {k: [keys], h: "<hash><hash>..."} (file i, "<kind>.<hash i>.js", holds the
     terms from key i up to key i + 1): the files that may hold terms in [lo, hi]. */
  function chunkFiles(list, kind, lo, hi) {
    var out = [];
    var n = KB.HASH_LEN;
    for (var i = Math.max(0, KB.floorIndex(list.k, lo)); i < list.k.length && list.k[i] <= hi; i++) {
      out.push(kind + "." + list.h.slice(i * n, (i + 1) * n) + ".js");
    }
    return out;
  }
  KB.chunkFiles = chunkFiles;

  /* Load the chunks of a layer ("lex", "w", "g") overlapping any of the ranges [[lo, hi]]
     (through the layer's directory files); resolves with their names. */
  Engine.prototype.loadChunks = async function (layer, ranges) {
    var self = this;
    var dirs = new Set();
    ranges.forEach(function (r) {
      chunkFiles(self.meta[layer], layer + "d", r[0], r[1]).forEach(function (d) { dirs.add(d); });
    });
    await KB.loadAll(Array.from(dirs), self.base);
    var names = new Set();
    ranges.forEach(function (r) {
      chunkFiles(self.meta[layer], layer + "d", r[0], r[1]).forEach(function (d) {
        chunkFiles(KB.data[d], layer, r[0], r[1]).forEach(function (n) { names.add(n); });
      });
    });
    names = Array.from(names);
    await KB.loadAll(names, self.base);
    return names;
  };

  /* The (loaded) chunk of a layer that would hold term, or null. */
  Engine.prototype.chunkOf = function (layer, term) {
    var dir = chunkFiles(this.meta[layer], layer + "d", term, term)[0];
    return dir && KB.data[dir] ? chunkFiles(KB.data[dir], layer, term, term)[0] || null : null;
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
    if (!m) { m = KB.decodePostings(text, null, this.facetInfo.codes); this.decoded.set(key, m); }
    return m;
  };

  Engine.prototype.rules = function () {
    var self = this;
    if (self.rulesData) return Promise.resolve(self.rulesData);
    return self.file(self.meta.rules).then(function (r) { self.rulesData = r; return r; });
  };

  /* The snippet's needle tables of a plan (kb.search.snippet.needles): {names: {slug: name},
     cues: {slug: [..]}} with the entries of its city and instrument concepts only, loaded from
     the rules file's name chunks and cue files. */
  Engine.prototype.snippetTables = async function (plan) {
    var rules = await this.rules();
    var names = new Set();
    var cueFiles = new Set();
    plan.concepts.forEach(function (c) {
      (c.cities || []).forEach(function (slug) {
        var f = locate(rules.names, slug);
        if (f) names.add(f);
      });
      if (c.instrument && Object.prototype.hasOwnProperty.call(rules.cues, c.instrument)) {
        cueFiles.add(rules.cues[c.instrument]);
      }
    });
    await KB.loadAll(Array.from(names).concat(Array.from(cueFiles)), this.base);
    var out = { names: {}, cues: {} };
    names.forEach(function (f) { Object.assign(out.names, KB.data[f]); });
    cueFiles.forEach(function (f) { Object.assign(out.cues, KB.data[f]); });
    return out;
  };

  /* The vocabulary and gazetteer ranges a query's parts look up. */
  function lexiconRanges(parts, meta, rules) {
    var out = { lex: [], ent: [] };
    parts.forEach(function (p) {
      out.lex = out.lex.concat(KB.lexRanges(p[0], meta.maxw));
      out.ent = out.ent.concat(KB.lexRanges(p[0], rules.entMax));
    });
    return out;
  }

  function entNames(rules, ranges) {
    var names = new Set();
    ranges.forEach(function (r) { overlapping(rules.ent, r[0], r[1]).forEach(function (n) { names.add(n); }); });
    return Array.from(names);
  }

  /* The dictionary chunks of a plan's terms and prefix ranges, and the first page of the facet
     list of each of its city and instrument concepts: {direct: [[layer, term]], prefixChunks:
     Map(char -> chunk names), tagPages: Map("city\0slug" | "instrument\0slug" -> its pages
     [[file, passages, bytes]], the strongest first)}.
     opts.prefixes === false: leave the prefix ranges (a last character still being typed). */
  Engine.prototype.loadTerms = async function (plan, info, opts) {
    var self = this;
    var withPrefixes = !opts || opts.prefixes !== false;
    // Posting chunks of every term (and of every prefix range).
    var direct = [];
    var prefixes = [];
    plan.concepts.forEach(function (c) {
      c.words.forEach(function (w) { direct.push(["w", w]); });
      (c.pieces || []).forEach(function (w) { direct.push(["w", w]); });
      c.slots.forEach(function (s) {
        if (s[0] === "e") direct.push(["g", s[1]]); else if (withPrefixes) prefixes.push(s[1]);
      });
    });
    var wRanges = [];
    var gRanges = [];
    direct.forEach(function (lt) { (lt[0] === "w" ? wRanges : gRanges).push([lt[1], lt[1]]); });
    var prefixChunks = new Map();
    // the passages tagged with a concept's cities or instrument are candidates too (facet lists)
    var tagPages = new Map(); // "city\0slug" | "instrument\0slug" -> [[file, passages, bytes]]
    var listLoads = [];
    plan.concepts.forEach(function (c) {
      var kind = c.cities.length ? "city" : c.instrument ? "instrument" : null;
      if (!kind) return;
      (kind === "city" ? c.cities : [c.instrument]).forEach(function (slug) {
        var key = kind + "\u0000" + slug;
        var code = (kind === "city" ? info.cityCode : info.instCode).get(slug);
        if (code === undefined || tagPages.has(key)) return;
        var pages = self.listPages((kind === "city" ? info.raw.cities : info.raw.instruments)[code]);
        tagPages.set(key, pages);
        listLoads.push(self.file(pages[0][0]));
      });
    });
    await Promise.all([
      self.loadChunks("w", wRanges),
      self.loadChunks("g", gRanges),
      Promise.all(prefixes.map(function (c) {
        return self.loadChunks("g", [[c, c + "\uffff"]]).then(function (names) { prefixChunks.set(c, names); });
      })),
      Promise.all(listLoads),
    ]);

    return { direct: direct, prefixChunks: prefixChunks, tagPages: tagPages };
  };

  /* While the user is still typing: fetch what run() would fetch first (the vocabulary and
     gazetteer chunks, then the dictionary chunks and first facet-list pages of the plan's
     terms, then the first posting page of each paged term), so that the search after the
     pause finds them loaded. Resolves with the plan (null on errors: those are left to run());
     onPlan(plan), when given, is called as soon as the plan is known (before its terms load). */
  Engine.prototype.prefetch = function (query, onPlan) {
    var self = this;
    return Promise.all([self.rules(), self.facets(), self.ensureT2S(query)]).then(function (got) {
      var rules = got[0];
      var parts = KB.splitParts(KB.prepareQuery(query, rules).text).slice(0, rules.maxp);
      var ranges = lexiconRanges(parts, self.meta, rules);
      var ent = entNames(rules, ranges.ent);
      // beside the vocabulary, the dictionary chunks of every term the plan can name (a
      // substring of a part): they are there when the plan is known
      var terms = [];
      parts.forEach(function (p) {
        for (var i = 0; i < p[0].length; i++) {
          for (var j = i + 1; j <= p[0].length && j - i <= self.meta.maxw; j++) terms.push([p[0].slice(i, j), p[0].slice(i, j)]);
        }
      });
      self.loadChunks("w", terms).catch(function () {});
      self.loadChunks("g", terms).catch(function () {});
      return Promise.all([self.loadChunks("lex", ranges.lex), KB.loadAll(ent, self.base)])
        .then(function (loaded) {
          // the plan as run() will make it (misprints aside), then its terms' chunks and lists
          var sets = loaded[0].map(function (n) { return self.lexSet(n); });
          var gaz = Object.create(null);
          ent.forEach(function (n) { Object.keys(KB.data[n]).forEach(function (k) { gaz[k] = KB.data[n][k]; }); });
          var hasWord = function (t) { return sets.some(function (set) { return set.has(t); }); };
          var plan = KB.planQuery(query, hasWord, { ent: gaz, fw: rules.fw, maxp: rules.maxp, maxq: rules.maxq },
                                  self.meta.maxw, {});
          if (onPlan) onPlan(plan);
          return self.loadTerms(plan, got[1], { prefixes: false }).then(function (terms) {
            // and the first posting page of each of its paged terms (run() always loads those)
            var pages = [];
            terms.direct.forEach(function (lt) {
              var name = self.chunkOf(lt[0], lt[1]);
              var raw = name ? self.chunkMap(name).get(lt[1]) : undefined;
              if (raw && typeof raw[1] !== "string") pages.push(raw[1][0][0]);
            });
            return KB.loadAll(pages, self.base);
          }).then(function () { return plan; });
        });
    }).catch(function () { return null; });
  };

  /* Run a query: {plan, ranked: [{idx, first, score}], matched, absent, fullCount, notices,
     codes: Map(idx -> [city set, mask]), partial: bool (some posting pages were not fetched),
     pagesPending}. opts.full: fetch every posting page (no byte budget). */
  Engine.prototype.run = async function (query, opts) {
    opts = opts || {};
    var self = this;
    var meta = self.meta;
    var got = await Promise.all([self.ensureT2S(query), self.rules(), self.facets()]);
    var rules = got[1];
    var info = got[2];
    var result = { query: query, plan: { concepts: [], notices: [], parts: [] }, ranked: [],
                   matched: new Map(), absent: [], fullCount: 0, codes: new Map(),
                   partial: false, pagesPending: 0 };
    var parts = KB.splitParts(KB.prepareQuery(query, rules).text).slice(0, rules.maxp);
    var ranges = lexiconRanges(parts, meta, rules);
    var lexRanges = ranges.lex;
    var entRanges = ranges.ent;
    var gaz = Object.create(null);
    var loadGaz = async function (ranges) {
      var names = entNames(rules, ranges);
      await KB.loadAll(names, self.base);
      names.forEach(function (n) {
        var c = KB.data[n];
        Object.keys(c).forEach(function (k) { gaz[k] = c[k]; });
      });
    };
    var loadedLex = await Promise.all([self.loadChunks("lex", lexRanges), loadGaz(entRanges)]);
    var lexNames = loadedLex[0];
    var qrules = { ent: gaz, fw: rules.fw, maxp: rules.maxp, maxq: rules.maxq };
    var sets = lexNames.map(function (n) { return self.lexSet(n); });
    var hasWord = function (t) {
      for (var i = 0; i < sets.length; i++) if (sets[i].has(t)) return true;
      return false;
    };
    // misprints (kb.search.query.corrections): a whole part becomes the vocabulary word or
    // gazetteer surface of the same length and first character one character apart (the most
    // frequent); else a run no word covers, with its neighbour, becomes such a surface
    var fixes = {};
    var fwSet = new Set(rules.fw || []);
    var surfacesLike = async function (w) {
      await loadGaz([[w.charAt(0), w.charAt(0) + "\uffff"]]);
      return Object.keys(gaz).filter(function (g) { return g.length === w.length && g.charAt(0) === w.charAt(0); });
    };
    var typoParts = parts.filter(function (p) { return !p[1]; }).map(function (p) { return p[0]; });
    if (typoParts.length) {
      for (var t = 0; t < typoParts.length; t++) {
        var part = typoParts[t];
        if (Object.prototype.hasOwnProperty.call(fixes, part)) continue;
        if (rules.abbr && Object.prototype.hasOwnProperty.call(rules.abbr, part) && !hasWord(part)) {
          fixes[part] = rules.abbr[part]; // an abbreviation the corpus never prints
          continue;
        }
        if (KB.needsCorrection(part, hasWord, gaz, meta.maxw)) {
          var names = await self.loadChunks("lex", [[part.charAt(0), part.charAt(0) + "\uffff"]]);
          var words = [];
          names.forEach(function (n) {
            KB.data[n].forEach(function (w) { if (w.length === part.length && w.charAt(0) === part.charAt(0)) words.push(w); });
          });
          await self.loadChunks("w", words.map(function (w) { return [w, w]; }));
          var cands = words.map(function (w) {
            var name = self.chunkOf("w", w);
            var raw = name ? self.chunkMap(name).get(w) : undefined;
            return [w, raw ? raw[0] : 0];
          });
          (await surfacesLike(part)).forEach(function (g) { if (!hasWord(g)) cands.push([g, 0]); });
          var fixed = KB.pickCorrection(part, cands);
          if (fixed) { fixes[part] = fixed; continue; }
        }
        var pieces = KB.plainPieces(part, gaz);
        for (var pc = 0; pc < pieces.length; pc++) {
          var wins = KB.correctionWindows(pieces[pc], hasWord, fwSet, meta.maxw);
          for (var wi = 0; wi < wins.length; wi++) {
            var win = wins[wi];
            if (Object.prototype.hasOwnProperty.call(fixes, win[0])) break;
            var surf = (await surfacesLike(win[0])).map(function (g) { return [g, 0]; });
            var wfix = KB.pickCorrection(win[0], surf, win[1], win[2]);
            if (wfix) { fixes[win[0]] = wfix; break; }
          }
        }
      }
      var more = [];
      var moreEnt = [];
      Object.keys(fixes).forEach(function (k) {
        more = more.concat(KB.lexRanges(fixes[k], meta.maxw));
        moreEnt = moreEnt.concat(KB.lexRanges(fixes[k], rules.entMax));
      });
      if (more.length) {
        (await self.loadChunks("lex", more)).forEach(function (n) { sets.push(self.lexSet(n)); });
        await loadGaz(moreEnt);
      }
    }
    var plan = result.plan = KB.planQuery(query, hasWord, qrules, meta.maxw, fixes);
    if (!plan.concepts.length) return result;

    var loaded = await self.loadTerms(plan, info);
    var direct = loaded.direct;
    var prefixChunks = loaded.prefixChunks;
    var tagPages = loaded.tagPages;

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

    // Posting pages and facet-list pages: first pages of the query's own terms and tags
    // always, then the best-first pages of everything else while the byte budgets last (one
    // for posting pages, one for facet-list pages: a tag list does not starve the postings of
    // the query's words, nor they its tags; and one for both, which caps the query's bytes).
    var budget = opts.full ? [Infinity, Infinity] : [meta.budget, meta.tagBudget];
    var total = opts.full ? Infinity : meta.totalBudget;
    var spent = [0, 0];
    var load = [];
    var optional = [];
    var paged = Array.from(entries.values());
    tagPages.forEach(function (pages, key) {
      paged.push({ key: "t\u0000" + key, post: pages, mandatory: true, tag: key });
    });
    paged.forEach(function (e) {
      if (typeof e.post === "string") return;
      e.post.forEach(function (ref, k) {
        var task = { e: e, k: k, name: ref[0], bytes: ref[2], g: e.tag ? 1 : 0 };
        if (k === 0 && e.mandatory) { load.push(task); spent[task.g] += ref[2]; } else optional.push(task);
      });
    });
    optional.sort(function (a, b) { return (a.k - b.k) || (a.bytes - b.bytes) || (a.name < b.name ? -1 : 1); });
    var chosen = new Set();
    load.forEach(function (t) { chosen.add(t.e.key + "#" + t.k); });
    optional.forEach(function (t) {
      var prevOk = t.k === 0 || chosen.has(t.e.key + "#" + (t.k - 1));
      if (prevOk && spent[t.g] + t.bytes <= budget[t.g] && spent[0] + spent[1] + t.bytes <= total) {
        spent[t.g] += t.bytes;
        load.push(t);
        chosen.add(t.e.key + "#" + t.k);
      }
    });
    await KB.loadAll(load.map(function (t) { return t.name; }), self.base);
    var pending = 0;
    paged.forEach(function (e) {
      if (typeof e.post === "string") return;
      e.post.forEach(function (_ref, k) { if (!chosen.has(e.key + "#" + k)) pending += 1; });
    });
    // the tagged passages of each city / instrument concept: the fetched pages of its list
    var tagLists = new Map();
    paged.forEach(function (e) {
      if (!e.tag) return;
      var list = new Map();
      var instrument = e.tag.indexOf("instrument\u0000") === 0;
      e.post.forEach(function (ref, k) {
        if (!chosen.has(e.key + "#" + k)) return;
        self.facetList(ref[0], KB.data[ref[0]], instrument).forEach(function (v, idx) { list.set(idx, v); });
      });
      tagLists.set(e.tag, list);
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
    // per-passage facet codes, from the postings (and the facet lists of a city-only query)
    var codeOf = function (idx) {
      if (result.codes.has(idx)) return result.codes.get(idx);
      return null;
    };
    var src = {
      n: meta.N, avgdl: self.avgdl, get: get,
      expand: function (c) { return expansions.get(c) || []; },
      tagged: function (kind, slug) {
        return Array.from((tagLists.get(kind + "\u0000" + slug) || new Map()).keys());
      },
      tagCount: function (kind, value) {
        var code = (kind === "city" ? info.cityCode : info.instCode).get(value);
        return code === undefined ? 0 : (kind === "city" ? info.raw.cities : info.raw.instruments)[code][2];
      },
      cueCount: function (idx, slug) {
        var list = tagLists.get("instrument\u0000" + slug);
        var codes = list && list.get(idx);
        return codes ? codes[2] : 0;
      },
      tagSize: function (idx, kind) {
        var pair = codeOf(idx);
        if (!pair) return 1;
        var codes = self.decodeCodes(pair);
        return Math.max(1, (kind === "city" ? codes.c : codes.i).length);
      },
      order: function (idx) { return idx; },
    };
    // collect the codes of every passage the postings or lists mention, before ranking
    plan.concepts.forEach(function (c) {
      c.words.concat(c.pieces || []).forEach(function (w) {
        get("w", w).forEach(function (v, idx) { if (!result.codes.has(idx)) result.codes.set(idx, [v.cs, v.im]); });
      });
      c.slots.forEach(function (s) {
        var terms = s[0] === "e" ? [s[1]] : (expansions.get(s[1]) || []);
        terms.forEach(function (t) {
          get("g", t).forEach(function (v, idx) { if (!result.codes.has(idx)) result.codes.set(idx, [v.cs, v.im]); });
        });
      });
    });
    tagLists.forEach(function (list) {
      if (list) list.forEach(function (c, idx) { if (!result.codes.has(idx)) result.codes.set(idx, [c[0], c[1]]); });
    });
    var ranked = KB.rank(plan, src, rules.rank);
    result.ranked = ranked.hits;
    result.matched = ranked.matched;
    result.absent = ranked.absent;
    result.fullCount = ranked.full;
    result.notices = KB.notices(plan, ranked);
    result.bytesBudgeted = spent[0] + spent[1];
    return result;
  };

  /* The twin of kb.search.notices. */
  KB.notices = function (plan, ranked) {
    var out = plan.notices.slice();
    var q = function (t) { return "\u201c" + t + "\u201d"; };
    if (ranked.absent.length) out.push("没有找到：" + ranked.absent.map(q).join("、"));
    var present = plan.concepts.map(function (c) { return c.text; })
      .filter(function (t) { return ranked.absent.indexOf(t) < 0; });
    if (ranked.hits.length && !ranked.full && present.length > 1) {
      out.push("没有同时包含" + present.map(q).join("、") + "的段落，以下为部分匹配");
    }
    return out;
  };

  /* ------------------------------------------------------------------ facets */

  var FACETS = ["city", "instrument", "year", "type", "doc"];
  KB.FACETS = FACETS;

  Engine.prototype.facets = async function () {
    if (this.facetInfo) return this.facetInfo;
    var f = await this.file(this.meta.facets);
    var counts = KB.decodeVarints(f.docCount);
    var starts = new Array(counts.length);
    var acc = 0;
    counts.forEach(function (c, i) { starts[i] = acc; acc += c; });
    var global = { city: new Map(), instrument: new Map(), year: new Map(), type: new Map(), doc: new Map() };
    f.types.forEach(function (t, i) { if (t[2]) global.type.set(i, t[2]); });
    f.cities.forEach(function (c, i) { global.city.set(i, c[2]); });
    f.instruments.forEach(function (c, i) { global.instrument.set(i, c[2]); });
    f.years.forEach(function (y, i) { global.year.set(i, y[1]); });
    counts.forEach(function (c, i) { if (c) global.doc.set(i, c); });
    var codes = new KB.Codes(decodeCitySets(f.citySets), KB.decodeVarints(f.maskTable));
    var nTypes = f.types.length;
    var docYT = KB.decodeVarints(f.docYT);
    var docYear = docYT.map(function (v) { return Math.floor(v / nTypes); });
    var docType = docYT.map(function (v) { return v % nTypes; });
    this.facetInfo = {
      raw: f, starts: starts, counts: counts, docYear: docYear, docType: docType, global: global,
      typeCode: new Map(f.types.map(function (t, i) { return [t[0], i]; })),
      codes: codes,
      citySets: codes.sets,
      cityCode: new Map(f.cities.map(function (c, i) { return [c[0], i]; })),
      instCode: new Map(f.instruments.map(function (c, i) { return [c[0], i]; })),
      yearCode: new Map(f.years.map(function (y, i) { return [String(y[0]), i]; })),
      decoded: new Map(),
    };
    return this.facetInfo;
  };

  /* [[file, passages, bytes]] of a facet entry [..., count, [hash, bytes, hash, bytes ...]]:
     one page holds the whole list, else page k holds page0 * 2^k passages, the last the rest. */
  Engine.prototype.listPages = function (entry) {
    var count = entry[entry.length - 2];
    var refs = entry[entry.length - 1];
    if (refs.length === 2) return [["fl." + refs[0] + ".js", count, refs[1]]];
    var out = [];
    var left = count;
    var size = this.meta.page0;
    for (var k = 0; k < refs.length; k += 2) {
      var n = k + 2 < refs.length ? size : left;
      out.push(["fl." + refs[k] + ".js", n, refs[k + 1]]);
      left -= n;
      size *= 2;
    }
    return out;
  };

  /* A facet list, decoded once: Map(idx -> [city set, mask(, cue count)]). */
  Engine.prototype.facetList = function (name, text, instrument) {
    var key = (instrument ? "fli:" : "fl:") + name;
    var m = this.decoded.get(key);
    if (!m) {
      m = KB.decodeFacetList(text, this.facetInfo.codes, instrument ? this.facetInfo.raw.cueBase : 0);
      this.decoded.set(key, m);
    }
    return m;
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
    var sets = info.decoded.get(pair[0]); // set -> Map(mask -> codes)
    if (!sets) info.decoded.set(pair[0], sets = new Map());
    var got = sets.get(pair[1]);
    if (got) return got;
    var insts = [];
    var m = pair[1];
    for (var k = 0; m > 0; k++) {
      if (m % 2 === 1) insts.push(k);
      m = Math.floor(m / 2);
    }
    got = { c: info.citySets[pair[0]] || [], i: insts };
    sets.set(pair[1], got);
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

  /* docTitles() of documents whose title files are all loaded already, else null. */
  Engine.prototype.docTitlesLoaded = function (docNums) {
    var docs = this.meta.docs;
    var out = new Map();
    for (var i = 0; i < docNums.length; i++) {
      var d = docNums[i];
      var c = KB.data[docs.titles + "/" + Math.floor(d / docs.size) + ".js"];
      if (!c) return null;
      var k = d % docs.size;
      out.set(d, { id: c.ids[k], title: c.titles[k], publisher: c.publishers[k], date: c.dates[k],
                   type: c.types[k] });
    }
    return out;
  };

  /* Map(doc number -> {id, title}) for the given document numbers. */
  Engine.prototype.docTitles = async function (docNums, low) {
    var docs = this.meta.docs;
    var names = new Set();
    docNums.forEach(function (d) { names.add(docs.titles + "/" + Math.floor(d / docs.size) + ".js"); });
    await KB.loadAll(Array.from(names), this.base, low);
    var out = new Map();
    docNums.forEach(function (d) {
      var c = KB.data[docs.titles + "/" + Math.floor(d / docs.size) + ".js"];
      var k = d % docs.size;
      out.set(d, { id: c.ids[k], title: c.titles[k], publisher: c.publishers[k], date: c.dates[k],
                   type: c.types[k] });
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
      type: code(info.typeCode, filters.type),
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
    [["city", f.cities], ["instrument", f.instruments], ["year", f.years]].forEach(function (x) {
      var code = want[x[0]];
      if (code === -1) return;
      if (code === -2) { lists[x[0]] = new Map(); return; }
      var pages = self.listPages(x[1][code]);
      loads.push(KB.loadAll(pages.map(function (ref) { return ref[0]; }), self.base).then(function () {
        var list = new Map();
        pages.forEach(function (ref) {
          self.facetList(ref[0], KB.data[ref[0]], x[0] === "instrument").forEach(function (v, idx) { list.set(idx, v); });
        });
        lists[x[0]] = list;
      }));
    });
    var size = self.meta.docs.size;
    function docCodes(docNums, into) {
      var files = new Set(docNums.map(function (d) { return Math.floor(d / size); }));
      return Promise.all(Array.from(files).map(function (k) {
        var name = self.meta.docs.codes + "/" + k + ".js";
        return self.file(name).then(function (text) {
          var key = "dc:" + name;
          var pairs = self.decoded.get(key);
          if (!pairs) { pairs = KB.decodeDocCodes(text, info.codes); self.decoded.set(key, pairs); }
          var first = info.starts[k * size];
          docNums.forEach(function (d) {
            if (Math.floor(d / size) !== k) return;
            for (var idx = info.starts[d]; idx < info.starts[d] + info.counts[d]; idx++) {
              into.set(idx, pairs[idx - first]);
            }
          });
        });
      }));
    }
    if (want.doc === -2) lists.doc = new Map();
    else if (want.doc >= 0) {
      lists.doc = new Map();
      loads.push(docCodes([want.doc], lists.doc));
    }
    if (want.type === -2) lists.type = new Map();
    else if (want.type >= 0) {
      lists.type = new Map();
      var ofType = [];
      info.docType.forEach(function (t, d) { if (t === want.type && info.counts[d]) ofType.push(d); });
      loads.push(docCodes(ofType, lists.type));
    }
    await Promise.all(loads);
    return { query: "", browse: true, lists: lists, plan: { concepts: [], notices: [], parts: [] }, ranked: [],
             codes: new Map(), partial: false, pagesPending: 0 };
  };

  /* Filter a run and count facet values: {items: [{idx, doc, year, codes}], counts: {facet:
     Map(code -> n)}, want}. Counts for one facet ignore that facet's own filter (so values
     can be switched). */
  Engine.prototype.refine = function (run, filters, docNum) {
    var self = this;
    var info = self.facetInfo;
    var want = self.wanted(filters, docNum);
    var counts = { city: new Map(), instrument: new Map(), year: new Map(), type: new Map(), doc: new Map() };
    function describe(idx, pair) {
      var codes = self.decodeCodes(pair);
      var doc = self.docOf(idx);
      return { idx: idx, doc: doc, year: info.docYear[doc], type: info.docType[doc], codes: codes };
    }
    function ok(it, facet) {
      switch (facet) {
        case "city": return want.city === -1 || it.codes.c.indexOf(want.city) >= 0;
        case "instrument": return want.instrument === -1 || it.codes.i.indexOf(want.instrument) >= 0;
        case "year": return want.year === -1 || it.year === want.year;
        case "type": return want.type === -1 || it.type === want.type;
        default: return want.doc === -1 || it.doc === want.doc;
      }
    }
    function count(facet, it) {
      if (facet === "city") it.codes.c.forEach(function (c) { bump(counts.city, c); });
      else if (facet === "instrument") it.codes.i.forEach(function (c) { bump(counts.instrument, c); });
      else if (facet === "year") bump(counts.year, it.year);
      else if (facet === "type") bump(counts.type, it.type);
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
    // an item passes facet x's filter (bit x); it counts for facet f when it passes every
    // other facet's filter
    var ALL = (1 << FACETS.length) - 1;
    var ranked = run.ranked;
    for (var r = 0; r < ranked.length; r++) {
      var it = describe(ranked[r].idx, run.codes.get(ranked[r].idx) || [0, 0]);
      var mask = 0;
      for (var x = 0; x < FACETS.length; x++) if (ok(it, FACETS[x])) mask |= 1 << x;
      for (var f = 0; f < FACETS.length; f++) if ((mask | (1 << f)) === ALL) count(FACETS[f], it);
      if (mask === ALL) items.push(it);
    }
    return { items: items, counts: counts, want: want };
  };

  function bump(map, key) { map.set(key, (map.get(key) || 0) + 1); }

  /* Fragments (id, url, doc, section, text) of passage numbers: Map(idx -> record). */
  Engine.prototype.fragments = async function (idxs) {
    var frag = this.meta.frag;
    var h = KB.HASH_LEN;
    // file k of passage i lives in the folder of its block (the block's hash in frag.dirs)
    function file(i) {
      var k = Math.floor(i / frag.size), b = Math.floor(k / frag.block);
      return "f-" + frag.dirs.substr(b * h, h) + "/" + (k % frag.block) + ".js";
    }
    var names = new Set();
    idxs.forEach(function (i) { names.add(file(i)); });
    await KB.loadAll(Array.from(names), this.base);
    var out = new Map();
    idxs.forEach(function (i) {
      var rec = KB.data[file(i)][i % frag.size];
      out.set(i, { id: rec[0], url: rec[1], doc: rec[2], section: rec[3], text: rec[4], title: rec[5],
                   publisher: rec[6], date: rec[7], type: rec[8] });
    });
    return out;
  };
})(typeof window !== "undefined" ? window : this);
