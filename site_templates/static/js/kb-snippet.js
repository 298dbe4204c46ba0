/* kb-snippet.js — the query model, part 3 (twin of kb/search/snippet.py, the reference): the
 * window of a passage that covers the most distinct concepts of the query (or two half windows
 * when together they cover more), every occurrence highlighted. Needles: each concept's text,
 * a city concept's city names, an instrument concept's label and cues (the rules file).
 */
(function (global) {
  "use strict";

  var KB = global.KB = global.KB || {};

  function byLenThenText(a, b) { return (b.length - a.length) || (a < b ? -1 : a > b ? 1 : 0); }

  /* Twin of kb.search.snippet.needles; tables = {names: {slug: name}, cues: {slug: [..]}}. */
  KB.snippetNeedles = function (plan, tables) {
    var names = tables.names || {};
    var cues = tables.cues || {};
    var has = function (o, k) { return Object.prototype.hasOwnProperty.call(o, k); };
    return plan.concepts.map(function (c) {
      var found = [c.text];
      if (c.kind === "term" && c.words.length > 1) {
        c.words.forEach(function (w) { if (w.length > 1) found.push(w); });
      }
      c.cities.forEach(function (slug) {
        if (has(names, slug)) found.push(names[slug], names[slug] + "市");
      });
      if (c.instrument && has(cues, c.instrument)) found = found.concat(cues[c.instrument]);
      return Array.from(new Set(found)).sort(byLenThenText);
    });
  };

  function unfoldSpan(norm, offsets, start, end) {
    if (!offsets) return [start, end];
    var s = offsets[start];
    var e = offsets[end - 1] + 1;
    if (offsets[end] > e && norm.charAt(e) === ")") e += 1;
    return [s, e];
  }

  /* [[start, end, k]] sorted, in the original text's offsets. */
  KB.snippetSpans = function (text, groups) {
    var norm = KB.normalize(text);
    var f = KB.foldVariants(norm);
    var seen = new Set();
    var out = [];
    groups.forEach(function (group, k) {
      group.forEach(function (needle) {
        if (!needle) return;
        var at = f.text.indexOf(needle);
        while (at >= 0) {
          var sp = unfoldSpan(norm, f.offsets, at, at + needle.length);
          var key = sp[0] + ":" + sp[1] + ":" + k;
          if (!seen.has(key)) { seen.add(key); out.push([sp[0], sp[1], k]); }
          at = f.text.indexOf(needle, at + 1);
        }
      });
    });
    out.sort(function (a, b) { return (a[0] - b[0]) || (a[1] - b[1]) || (a[2] - b[2]); });
    return out;
  };

  function cover(found, start, width) {
    var s = new Set();
    found.forEach(function (f) { if (f[0] >= start && f[1] <= start + width) s.add(f[2]); });
    return s;
  }

  function best(found, length, width, taken, avoid) {
    var res = null;
    found.forEach(function (f) {
      var start = Math.max(0, Math.min(f[0] - Math.floor(width / 6), length - width));
      if (avoid && start < avoid[1] && start + width > avoid[0]) return;
      var c = cover(found, start, width);
      if (taken) taken.forEach(function (k) { c.add(k); });
      var score = c.size;
      if (!res || score > res[0] || (score === res[0] && start < res[1])) res = [score, start];
    });
    return res;
  }

  KB.snippetWindows = function (text, found, width) {
    var length = text.length;
    if (!found.length || length <= width) return [[0, Math.min(length, width)]];
    var one = best(found, length, width);
    var concepts = new Set(found.map(function (f) { return f[2]; }));
    if (one[0] < concepts.size) {
      var half = Math.floor(width / 2);
      var first = best(found, length, half);
      var cover1 = cover(found, first[1], half);
      var second = best(found, length, half, cover1, [first[1], first[1] + half]);
      if (second && second[0] > one[0]) {
        return [[first[1], first[1] + half], [second[1], second[1] + half]].sort(function (a, b) { return a[0] - b[0]; });
      }
    }
    return [[one[1], Math.min(length, one[1] + width)]];
  };

  /* [[text, marked]] segments ("…" as plain text where text is left out). */
  KB.snippetSegments = function (text, found, frags) {
    var merged = [];
    found.forEach(function (f) {
      var last = merged[merged.length - 1];
      if (last && f[0] <= last[1]) last[1] = Math.max(last[1], f[1]);
      else merged.push([f[0], f[1]]);
    });
    var out = [];
    frags.forEach(function (fr, i) {
      if (fr[0] > 0 && (i === 0 || fr[0] > frags[i - 1][1])) out.push(["…", false]);
      var cursor = fr[0];
      merged.forEach(function (m) {
        if (m[1] <= fr[0] || m[0] >= fr[1]) return;
        var s = Math.max(m[0], fr[0]);
        var e = Math.min(m[1], fr[1]);
        if (s > cursor) out.push([text.slice(cursor, s), false]);
        out.push([text.slice(s, e), true]);
        cursor = e;
      });
      if (fr[1] > cursor) out.push([text.slice(cursor, fr[1]), false]);
    });
    if (frags.length && frags[frags.length - 1][1] < text.length) out.push(["…", false]);
    return out;
  };

  /* Segments of the snippet of `text` for a plan (tables: the rules file's names and cues). */
  KB.snippet = function (text, plan, tables, width) {
    text = String(text || "");
    var found = KB.snippetSpans(text, KB.snippetNeedles(plan, tables));
    return KB.snippetSegments(text, found, KB.snippetWindows(text, found, width));
  };

  /* The snippet as a string with marks (tests compare it with kb.search.snippet.snippet). */
  KB.snippetText = function (text, plan, tables, width, marks) {
    marks = marks || ["【", "】"];
    return KB.snippet(text, plan, tables, width).map(function (s) {
      return s[1] ? marks[0] + s[0] + marks[1] : s[0];
    }).join("");
  };
})(typeof window !== "undefined" ? window : this);
