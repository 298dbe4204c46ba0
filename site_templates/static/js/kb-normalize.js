/* kb-normalize.js — query/text normalisation, the browser twin of kb.analysis.normalize:
 * full-width ASCII -> ASCII (U+3000 -> space), traditional -> simplified (a character map
 * generated at build time with OpenCC, see KB.setT2S), lower case. Length-preserving (one
 * UTF-16 unit in, one out) so offsets found on the normalised text highlight the original.
 */
(function (global) {
  "use strict";

  var KB = global.KB = global.KB || {};
  var t2s = new Map();

  /* pairs: "TSTS…" — each traditional character followed by its simplified form. */
  KB.setT2S = function (pairs) {
    t2s = new Map();
    for (var i = 0; i + 1 < pairs.length; i += 2) {
      t2s.set(pairs.charCodeAt(i), pairs.charCodeAt(i + 1));
    }
  };

  KB.hasT2S = function () { return t2s.size > 0; };

  KB.normalize = function (text) {
    text = String(text == null ? "" : text);
    var out = new Array(text.length);
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      if (c >= 0xff01 && c <= 0xff5e) c -= 0xfee0;
      else if (c === 0x3000) c = 0x20;
      var s = t2s.get(c);
      if (s !== undefined) c = s;
      if (c >= 0x41 && c <= 0x5a) {
        c += 32;
      } else if (c >= 0x80 && (c < 0x3400 || c > 0x9fff)) {
        var lower = String.fromCharCode(c).toLowerCase();
        if (lower.length === 1) c = lower.charCodeAt(0);
      }
      out[i] = String.fromCharCode(c);
    }
    return out.join("");
  };

  /* Does the text need the traditional->simplified map (any CJK character)? */
  KB.needsT2S = function (text) {
    return /[\u3400-\u9fff\uf900-\ufaff]/.test(text || "");
  };
})(typeof window !== "undefined" ? window : this);
