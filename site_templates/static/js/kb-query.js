/* kb-query.js — the query model, part 1 (twin of kb/search/query.py, the reference):
 * normalise + fold bracketed variants, cap, split into parts (quotes; whitespace and any
 * punctuation), recognise cities / provinces / instruments (longest gazetteer surface), cut the
 * rest by longest match against the index vocabulary, drop function words. The rules (gazetteer,
 * function words, caps) come from the static index's rules file, written from kb/search.
 */
(function (global) {
  "use strict";

  var KB = global.KB = global.KB || {};
  var CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff";
  var WORDCHAR = new RegExp("[" + CJK + "a-z0-9]");
  var RUN = new RegExp("[" + CJK + "]+|[a-z0-9]+(?:[.%][a-z0-9]+)*", "g");
  var QUOTE = /"([^"]*)"?|\u201c([^\u201d]*)\u201d?/g;
  var SEP = new RegExp("[^" + CJK + "a-z0-9.%]+");
  var SEP_G = new RegExp("[^" + CJK + "a-z0-9.%]+", "g");

  function stripEnds(s) { return s.replace(/^[.%]+|[.%]+$/g, ""); }

  /* {text, offsets}: brackets of short CJK insertions removed (首台(套) -> 首台套);
     offsets[i] = index in `norm` of folded character i (plus the end), or null. */
  KB.foldVariants = function (norm) {
    if (norm.indexOf("(") < 0) return { text: norm, offsets: null };
    var out = [];
    var offsets = [];
    var last = 0;
    var m;
    var re = new RegExp("(?<=[" + CJK + "])\\(([" + CJK + "]{1,2})\\)", "g");
    while ((m = re.exec(norm)) !== null) {
      out.push(norm.slice(last, m.index));
      for (var i = last; i < m.index; i++) offsets.push(i);
      out.push(m[1]);
      for (var j = 0; j < m[1].length; j++) offsets.push(m.index + 1 + j);
      last = m.index + m[0].length;
    }
    if (!out.length) return { text: norm, offsets: null };
    out.push(norm.slice(last));
    for (var k = last; k <= norm.length; k++) offsets.push(k);
    return { text: out.join(""), offsets: offsets };
  };

  KB.prepareQuery = function (query, rules) {
    var notices = [];
    query = String(query == null ? "" : query);
    if (query.length > rules.maxq) {
      notices.push("查询过长，只使用了前 " + rules.maxq + " 个字符");
      query = query.slice(0, rules.maxq);
    }
    return { text: KB.foldVariants(KB.normalize(query)).text, notices: notices };
  };

  /* [[text, isPhrase]] */
  KB.splitParts = function (text) {
    var parts = [];
    var last = 0;
    function plain(chunk) {
      chunk.split(SEP).forEach(function (piece) {
        piece = stripEnds(piece);
        if (piece && WORDCHAR.test(piece)) parts.push([piece, false]);
      });
    }
    var m;
    QUOTE.lastIndex = 0;
    while ((m = QUOTE.exec(text)) !== null) {
      if (m[0] === "") { QUOTE.lastIndex++; continue; }
      plain(text.slice(last, m.index));
      var phrase = m[1] !== undefined ? m[1] : m[2];
      phrase = stripEnds(phrase.replace(SEP_G, " ").trim().split(/\s+/).join(" "));
      if (phrase && WORDCHAR.test(phrase)) parts.push([phrase, true]);
      last = m.index + m[0].length;
    }
    plain(text.slice(last));
    return parts;
  };

  var ASCII = /[a-z0-9]/;

  /* Longest match: [[word or null, start, end]]; a word never ends inside an ASCII run. */
  KB.segmentWords = function (text, hasWord, maxChars) {
    var out = [];
    var i = 0;
    var n = text.length;
    while (i < n) {
      var found = 0;
      for (var len = Math.min(maxChars, n - i); len > 0; len--) {
        var end = i + len;
        if (end < n && ASCII.test(text.charAt(end - 1)) && ASCII.test(text.charAt(end))) continue;
        if (hasWord(text.substr(i, len))) { found = len; break; }
      }
      if (found) { out.push([text.substr(i, found), i, i + found]); i += found; continue; }
      var stop = i + 1;
      if (ASCII.test(text.charAt(i))) {
        while (stop < n && ASCII.test(text.charAt(stop))) stop++;
      }
      for (var k = i; k < stop; k++) out.push([null, k, k + 1]);
      i = stop;
    }
    return out;
  };

  KB.gramSlots = function (text) {
    var runs = text.match(RUN) || [];
    var slots = [];
    runs.forEach(function (run, r) {
      var last = r === runs.length - 1;
      if (run.charCodeAt(0) >= 0x3400) {
        for (var i = 0; i + 1 < run.length; i++) slots.push(["e", run.substr(i, 2)]);
        if (!last) slots.push(["e", run.charAt(run.length - 1)]);
        else if (run.length === 1) slots.push(["p", run]);
      } else {
        slots.push(["e", run]);
      }
    });
    return slots;
  };

  /* Candidate ranges of the lexicon needed to segment `text`: [[lo, hi], …]. */
  KB.lexRanges = function (text, maxChars) {
    var out = [];
    for (var i = 0; i < text.length; i++) {
      if (!WORDCHAR.test(text.charAt(i)) && text.charAt(i).trim() === "") continue;
      out.push([text.charAt(i), text.substr(i, maxChars)]);
    }
    return out;
  };

  function wordsOf(text, hasWord, maxChars) {
    var words = [];
    var seg = KB.segmentWords(text, hasWord, maxChars);
    for (var i = 0; i < seg.length; i++) {
      if (seg[i][0] === null) {
        if (WORDCHAR.test(text.charAt(seg[i][1]))) return [];
        continue;
      }
      words.push(seg[i][0]);
    }
    return words;
  }

  /* The words a one-word concept of 4+ characters is made of (容错免责 -> 容错, 免责). */
  function pieces(text, words, hasWord) {
    if (words.length !== 1 || text.length < 4) return [];
    var ps = wordsOf(text, hasWord, text.length - 1);
    return ps.length > 1 && ps.every(function (w) { return w.length > 1; }) ? ps : [];
  }

  function concept(text, kind, hasWord, maxChars, ent, required) {
    var words = wordsOf(text, hasWord, maxChars);
    return { text: text, kind: kind, words: words,
             slots: KB.gramSlots(text), pieces: required ? [] : pieces(text, words, hasWord),
             cities: ent && (ent[0] === "c" || ent[0] === "p") ? ent.slice(1) : [],
             instrument: ent && ent[0] === "i" ? ent[1] : null,
             label: !!(ent && ent[0] === "i" && ent.length === 3 && ent[2] === "label"), required: !!required };
  }

  function entitySpans(text, gaz, maxLen) {
    var out = [];
    var i = 0;
    var plainStart = 0;
    var n = text.length;
    while (i < n) {
      var hit = null;
      for (var len = Math.min(maxLen, n - i); len > 1; len--) {
        var ent = gaz[text.substr(i, len)];
        if (ent !== undefined && Object.prototype.hasOwnProperty.call(gaz, text.substr(i, len))) {
          hit = [i, i + len, ent];
          break;
        }
      }
      if (!hit) { i += 1; continue; }
      if (plainStart < i) out.push([plainStart, i, null]);
      out.push(hit);
      i = plainStart = hit[1];
    }
    if (plainStart < n) out.push([plainStart, n, null]);
    return out;
  }

  var TYPO_MIN = 3;
  var TYPO_MAX = 8;

  /* Twin of kb.search.query.needs_correction. */
  KB.needsCorrection = function (part, hasWord, gaz, maxChars) {
    if (part.length < TYPO_MIN || part.length > TYPO_MAX || hasWord(part) ||
        Object.prototype.hasOwnProperty.call(gaz, part)) return false;
    for (var i = 0; i < part.length; i++) if (part.charCodeAt(i) < 0x3400) return false;
    return KB.segmentWords(part, hasWord, maxChars).some(function (w) {
      return w[0] === null || w[0].length === 1;
    });
  };

  function utf16Less(a, b) { return a < b; }

  /* Twin of kb.search.query.correction_windows: [[window, lo, hi]]. */
  KB.correctionWindows = function (part, hasWord, fwSet, maxChars) {
    var segs = KB.segmentWords(part, hasWord, maxChars);
    var out = [];
    var cjk = function (k) { return segs[k][0] === null && part.charCodeAt(segs[k][1]) >= 0x3400; };
    var k = 0;
    while (k < segs.length) {
      if (!cjk(k)) { k += 1; continue; }
      var j = k;
      while (j < segs.length && cjk(j)) j += 1;
      var a = segs[k][1], b = segs[j - 1][2];
      if (b - a >= 2 && !fwSet.has(part.slice(a, b))) {
        if (k > 0) {
          var s = segs[k - 1][1];
          out.push([part.slice(s, b), a - s, b - s]);
        }
        out.push([part.slice(a, b), 1, b - a]);
        if (j < segs.length) out.push([part.slice(a, segs[j][2]), 1, b - a]);
      }
      k = j;
    }
    return out.filter(function (w) { return w[0].length >= 2 && w[0].length <= TYPO_MAX; });
  };

  /* Twin of kb.search.query.pick_correction: candidates [[word, df]]. */
  KB.pickCorrection = function (part, candidates, lo, hi) {
    lo = lo === undefined ? 1 : lo;
    hi = hi === undefined ? part.length : hi;
    var best = null;
    candidates.forEach(function (wd) {
      var w = wd[0];
      if (w.length !== part.length || w.charAt(0) !== part.charAt(0)) return;
      var diff = [];
      for (var i = 0; i < w.length; i++) if (w.charAt(i) !== part.charAt(i)) diff.push(i);
      if (diff.length !== 1 || diff[0] < lo || diff[0] >= hi) return;
      if (!best || wd[1] > best[1] || (wd[1] === best[1] && utf16Less(w, best[0]))) best = wd;
    });
    return best ? best[0] : null;
  };

  /* Twin of kb.search.query.apply_fixes: [fixed part, [[misprint, correction]]]. */
  KB.applyFixes = function (part, fixes) {
    if (Object.prototype.hasOwnProperty.call(fixes, part)) return [fixes[part], [[part, fixes[part]]]];
    var done = [];
    Object.keys(fixes).forEach(function (wrong) {
      if (part.indexOf(wrong) >= 0) {
        part = part.split(wrong).join(fixes[wrong]);
        done.push([wrong, fixes[wrong]]);
      }
    });
    return [part, done];
  };

  /* Twin of the span loop of kb.search.query.corrections: the plain pieces of part. */
  KB.plainPieces = function (part, gaz) {
    var maxLen = Object.keys(gaz).reduce(function (a, s) { return Math.max(a, s.length); }, 0);
    return entitySpans(part, gaz, maxLen).filter(function (sp) { return !sp[2]; })
      .map(function (sp) { return part.slice(sp[0], sp[1]); });
  };

  /* {concepts, notices, parts}: the twin of kb.search.query.plan_query. */
  KB.planQuery = function (query, hasWord, rules, maxChars, fixes) {
    var gaz = rules.ent || {};
    var maxLen = Object.keys(gaz).reduce(function (a, s) { return Math.max(a, s.length); }, 0);
    var fwSet = new Set(rules.fw || []);
    var prep = KB.prepareQuery(query, rules);
    var notices = prep.notices;
    var parts = KB.splitParts(prep.text);
    if (parts.length > rules.maxp) {
      notices.push("查询词过多，只使用了前 " + rules.maxp + " 个");
      parts = parts.slice(0, rules.maxp);
    }
    var concepts = [];
    var dropped = [];
    parts.forEach(function (pt) {
      var part = pt[0];
      if (!pt[1] && fixes) {
        var fixed = KB.applyFixes(part, fixes);
        part = fixed[0];
        fixed[1].forEach(function (f) {
          notices.push("没有找到\u201c" + f[0] + "\u201d，已按\u201c" + f[1] + "\u201d检索");
        });
      }
      if (pt[1]) { concepts.push(concept(part, "phrase", hasWord, maxChars, null, true)); return; }
      entitySpans(part, gaz, maxLen).forEach(function (sp) {
        var piece = part.slice(sp[0], sp[1]);
        var ent = sp[2];
        if (ent && ent[0] !== "x") {
          concepts.push(concept(piece, ent[0] === "i" ? "instrument" : "city", hasWord, maxChars, ent));
          return;
        }
        var runStart = null;
        var seg = KB.segmentWords(piece, hasWord, maxChars);
        seg.push([true, piece.length, piece.length]);
        for (var k = 0; k < seg.length; k++) {
          var word = seg[k][0];
          var s = seg[k][1];
          if (typeof word === "string" && word.length === 1 && !fwSet.has(word) && word.charCodeAt(0) >= 0x3400) {
            word = null; // a lone character joins its neighbours' run (让 + 利 = 让利)
          }
          if (word === null) {
            var wc = WORDCHAR.test(piece.charAt(s));
            if (wc && runStart === null) runStart = s;
            else if (!wc && runStart !== null) {
              pushRun(piece.slice(runStart, s));
              runStart = null;
            }
            continue;
          }
          if (runStart !== null) { pushRun(piece.slice(runStart, s)); runStart = null; }
          if (word === true) break;
          if (fwSet.has(word)) { dropped.push(word); continue; }
          concepts.push(concept(word, "term", hasWord, maxChars));
        }
      });
    });
    function pushRun(text) {
      if (fwSet.has(text)) { dropped.push(text); return; }
      concepts.push(concept(text, "term", hasWord, maxChars));
    }
    if (!concepts.length && dropped.length) {
      concepts = dropped.map(function (w) { return concept(w, "term", hasWord, maxChars); });
    }
    var seen = new Set();
    var unique = concepts.filter(function (c) {
      var key = c.kind + "\u0000" + c.text;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return { concepts: unique, notices: notices, parts: parts };
  };
})(typeof window !== "undefined" ? window : this);
