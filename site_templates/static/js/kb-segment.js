/* kb-segment.js — cut a normalised query the way kb/static_index.py does (plan_query):
 * parts ("quoted" = phrase, others split on whitespace), words by longest match against the
 * index's word vocabulary, and gram-layer slots (bigrams, run-end unigrams, a trailing
 * one-character run as a prefix).
 */
(function (global) {
  "use strict";

  var KB = global.KB = global.KB || {};
  var MAX_QUERY_CHARS = 100;
  var MAX_PARTS = 8;
  var WORDCHAR = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffa-z0-9]/;
  var RUN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+(?:[.%][a-z0-9]+)*/g;
  var PART = /"([^"]*)"|\u201c([^\u201d]*)\u201d|([^\s"\u201c\u201d]+)/g;

  /* [{text, phrase}] of a query (normalised with KB.normalize). */
  KB.parseParts = function (query) {
    var q = KB.normalize(String(query || "").slice(0, MAX_QUERY_CHARS));
    var parts = [];
    var m;
    PART.lastIndex = 0;
    while ((m = PART.exec(q)) !== null) {
      var phrase = m[1] !== undefined ? m[1] : m[2];
      var text = (phrase !== undefined ? phrase : m[3]).trim();
      if (text && WORDCHAR.test(text)) parts.push({ text: text, phrase: phrase !== undefined });
    }
    return parts.slice(0, MAX_PARTS);
  };

  /* Longest match: {words, covered} (covered: every word character is inside a word). */
  KB.segmentWords = function (text, hasWord, maxChars) {
    var words = [];
    var covered = true;
    var i = 0;
    var n = text.length;
    maxChars = maxChars || 16;
    while (i < n) {
      var found = 0;
      for (var len = Math.min(maxChars, n - i); len > 0; len--) {
        if (hasWord(text.substr(i, len))) { found = len; break; }
      }
      if (found) {
        words.push(text.substr(i, found));
        i += found;
      } else {
        if (WORDCHAR.test(text.charAt(i))) covered = false;
        i += 1;
      }
    }
    return { words: words, covered: covered };
  };

  /* Gram slots of a part: [["e", term] | ["p", char]], to be matched as a phrase. */
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
      out.push([text.charAt(i), text.substr(i, maxChars || 16)]);
    }
    return out;
  };

  KB.planQuery = function (parts, hasWord, maxChars) {
    return parts.map(function (part) {
      var seg = KB.segmentWords(part.text, hasWord, maxChars);
      return { text: part.text, phrase: part.phrase, words: seg.covered ? seg.words : [],
               slots: KB.gramSlots(part.text) };
    });
  };
})(typeof window !== "undefined" ? window : this);
