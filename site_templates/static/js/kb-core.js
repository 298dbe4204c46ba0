/* kb-core.js — the KB namespace: registry of index files, script loader, varint decoding.
 *
 * Index files are classic scripts `KB.register("<name>", <data>);` (see kb/static_index.py).
 * They are loaded by inserting <script src> tags: this works from file:// (where fetch() of
 * local files is blocked) and over HTTP, with relative URLs only. No ES modules, no eval.
 */
(function (global) {
  "use strict";

  var KB = global.KB = global.KB || {};
  var data = KB.data = KB.data || Object.create(null);
  var pending = Object.create(null); // name -> Promise
  var waiters = Object.create(null); // name -> [resolve]

  KB.register = function (name, payload) {
    data[name] = payload;
    var list = waiters[name];
    if (list) {
      delete waiters[name];
      list.forEach(function (resolve) { resolve(payload); });
    }
  };

  /* Load one index file (relative to `base`); resolves with its payload. `low`: a load no
     search waits for yet (speculative, or filled in after the results): fetched after the
     others (a browser holds at most six requests per host at once, the rest queue by
     priority), where fetch priorities are supported. */
  KB.load = function (name, base, low) {
    if (name in data) return Promise.resolve(data[name]);
    if (pending[name]) return pending[name];
    var doc = global.document;
    var p = new Promise(function (resolve, reject) {
      (waiters[name] = waiters[name] || []).push(resolve);
      var s = doc.createElement("script");
      s.async = true;
      s.fetchPriority = low ? "low" : "high";
      s.src = (base || "") + name;
      s.onload = function () {
        s.parentNode && s.parentNode.removeChild(s);
        if (!(name in data)) {
          delete pending[name];
          reject(new Error("index file did not register: " + name));
        }
      };
      s.onerror = function () {
        s.parentNode && s.parentNode.removeChild(s);
        delete pending[name];
        delete waiters[name];
        reject(new Error("cannot load index file: " + name));
      };
      (doc.head || doc.documentElement).appendChild(s);
    });
    pending[name] = p;
    return p;
  };

  KB.loadAll = function (names, base, low) {
    return Promise.all(names.map(function (n) { return KB.load(n, base, low); }));
  };

  /* Base-32 variable-length integers: 32 terminal digits end a number, 32 continuation
     digits continue it (most significant first). Must match kb/static_index.py. */
  var TERM = "0123456789abcdefghijklmnopqrstuv";
  var CONT = "wxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
  var DIGIT = new Int8Array(128).fill(-1);
  for (var i = 0; i < 32; i++) {
    DIGIT[TERM.charCodeAt(i)] = i;
    DIGIT[CONT.charCodeAt(i)] = 32 + i;
  }

  KB.decodeVarints = function (text) {
    var out = [];
    var acc = 0;
    for (var i = 0; i < text.length; i++) {
      var d = DIGIT[text.charCodeAt(i)];
      if (d < 0 || d === undefined) throw new Error("bad varint digit");
      if (d >= 32) {
        acc = acc * 32 + d - 32;
      } else {
        out.push(acc * 32 + d);
        acc = 0;
      }
    }
    return out;
  };

  /* The facet codes of a passage (twin of kb.static_index.codec.Codes): a city-set value v
     (v < K: set v of the table of the K most frequent sets; else a set of v - K cities: the
     first city code, then the gaps - 1), then an instrument value m (m < M: mask m of the table
     of the M most frequent masks; else the bit mask m - M). Spelt-out sets are numbered on
     first sight (appended to `sets`), so a passage's city set is always one number. read()
     leaves the passage's set number in .cs and its mask in .im and returns the next index. */
  KB.Codes = function (sets, masks) {
    this.sets = sets.slice();
    this.k = sets.length;
    this.masks = masks;
    this.m = masks.length;
    this.ids = new Map();
    this.cs = 0;
    this.im = 0;
  };
  KB.Codes.prototype.read = function (nums, i) {
    var v = nums[i];
    if (v < this.k) {
      this.cs = v;
      i += 1;
    } else {
      var size = v - this.k;
      var set = new Array(size);
      var c = -1;
      for (var j = 0; j < size; j++) { c += nums[i + 1 + j] + 1; set[j] = c; }
      var key = set.join(",");
      var code = this.ids.get(key);
      if (code === undefined) {
        code = this.sets.length;
        this.sets.push(set);
        this.ids.set(key, code);
      }
      this.cs = code;
      i += 1 + size;
    }
    var m = nums[i];
    this.im = m < this.m ? this.masks[m] : m - this.m;
    return i + 1;
  };

  /* Posting string -> Map(passage number -> {tf, pos: [..], dl, cs, im}) (cs: city-set number
     in codes.sets, im: instrument bit mask; see kb.static_index.codec.decode_postings). */
  KB.decodePostings = function (text, into, codes) {
    var nums = KB.decodeVarints(text);
    var out = into || new Map();
    var i = 0;
    var idx = -1;
    while (i < nums.length) {
      idx += nums[i] + 1;
      i = codes.read(nums, i + 1);
      var tf = nums[i + 1] + 1;
      var pos = new Array(tf);
      var p = 0;
      for (var j = 0; j < tf; j++) {
        p = j === 0 ? nums[i + 2] : p + nums[i + 2 + j];
        pos[j] = p;
      }
      out.set(idx, { tf: tf, pos: pos, dl: nums[i], cs: codes.cs, im: codes.im });
      i += 2 + tf;
    }
    return out;
  };

  /* Facet list string -> Map(passage number -> [city set, instrument mask(, cue count)]); in an
     instrument's list (cueBase > 0) the gap value also holds the cue count (gap * cueBase + cues). */
  KB.decodeFacetList = function (text, codes, cueBase) {
    var nums = KB.decodeVarints(text);
    var out = new Map();
    var idx = -1;
    var i = 0;
    while (i < nums.length) {
      var v = nums[i];
      var cue = -1;
      if (cueBase) { cue = v % cueBase; v = (v - cue) / cueBase; }
      idx += v + 1;
      i = codes.read(nums, i + 1);
      out.set(idx, cue < 0 ? [codes.cs, codes.im] : [codes.cs, codes.im, cue]);
    }
    return out;
  };

  /* Document code file (the codes of its documents' passages, in order) -> [[set, mask]]. */
  KB.decodeDocCodes = function (text, codes) {
    var nums = KB.decodeVarints(text);
    var out = [];
    var i = 0;
    while (i < nums.length) {
      i = codes.read(nums, i);
      out.push([codes.cs, codes.im]);
    }
    return out;
  };

  KB.HASH_LEN = 12; // hex digits of a content hash in a file name (codec.HASH_LEN)

  /* Index of the last element of sorted `arr` that is <= x (-1 if none). */
  KB.floorIndex = function (arr, x, key) {
    var lo = 0;
    var hi = arr.length - 1;
    var ans = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      var v = key ? key(arr[mid]) : arr[mid];
      if (v <= x) { ans = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return ans;
  };
})(typeof window !== "undefined" ? window : this);
