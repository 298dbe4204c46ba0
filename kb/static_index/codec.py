"""Encoding of the static index files: base-32 varints, posting strings, facet lists,
content hashes, and the JavaScript string order (UTF-16 code units). ``kb-core.js`` decodes the
same formats (tests hold the two to each other)."""

import hashlib
import json

from ..search.reference import utf16_key  # noqa: F401  (re-exported)

HASH_LEN = 12
TERM = "0123456789abcdefghijklmnopqrstuv"
CONT = "wxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
_TERM_B = TERM.encode()
_CONT_B = CONT.encode()
_DIGIT = {c: i for i, c in enumerate(TERM)} | {c: 32 + i for i, c in enumerate(CONT)}

_SMALL = []
for _v in range(4096):
    _digits = []
    _x = _v
    while True:
        _digits.append(_x & 31)
        _x >>= 5
        if not _x:
            break
    _SMALL.append(bytes(_CONT_B[d] for d in reversed(_digits[1:])) + bytes([_TERM_B[_digits[0]]]))


def varint(v, out):
    """Append ``v`` (int >= 0) to ``out`` (bytearray) as base-32 digits."""
    out += _vb(v)


def decode_varints(text):
    """All integers of a varint string."""
    out = []
    acc = 0
    for ch in text:
        d = _DIGIT[ch]
        if d >= 32:
            acc = acc * 32 + d - 32
        else:
            out.append(acc * 32 + d)
            acc = 0
    return out


class Codes:
    """The facet codes of a passage as they are inlined in postings, facet lists and document
    code files (format 4): a city-set value ``v`` (``v`` < K: the set ``v`` of the table of the
    K most frequent sets; else a set of ``v`` − K cities given by the next values: the first
    city code, then the gaps − 1 between sorted codes), then an instrument value ``m`` (``m`` < M:
    the mask ``m`` of the table of the M most frequent masks; else the bit mask ``m`` − M).
    ``sets``: the set table (lists of city codes); ``masks``: the mask table."""

    def __init__(self, sets, masks):
        self.sets = [tuple(s) for s in sets]
        self.masks = list(masks)

    @classmethod
    def from_facets(cls, facets):
        return cls(decode_city_sets(facets["citySets"]), decode_varints(facets["maskTable"]))

    def read(self, nums, i):
        """(cities tuple, instrument mask, next index) of the codes at ``nums[i]``."""
        v = nums[i]
        k = len(self.sets)
        if v < k:
            cities = self.sets[v]
            i += 1
        else:
            size = v - k
            out = []
            c = -1
            for j in range(size):
                c += nums[i + 1 + j] + 1
                out.append(c)
            cities = tuple(out)
            i += 1 + size
        m = nums[i]
        mask = self.masks[m] if m < len(self.masks) else m - len(self.masks)
        return cities, mask, i + 1


def encode_codes(cities, mask, set_code, mask_code, n_sets, n_masks):
    """Values of one passage's codes (see :class:`Codes`): ``set_code``/``mask_code`` map the
    table entries to their numbers."""
    cities = tuple(cities)
    if cities in set_code:
        out = [set_code[cities]]
    else:
        out = [n_sets + len(cities)]
        prev = -1
        for c in cities:
            out.append(c - prev - 1)
            prev = c
    out.append(mask_code[mask] if mask in mask_code else n_masks + mask)
    return out


def decode_postings(text, codes):
    """Posting string -> {passage number: (tf, positions, field length, cities, instruments)}
    (cities: tuple of codes into the facets' ``cities``; instruments: bit mask over
    ``instruments``); ``codes``: the :class:`Codes` tables of the index."""
    nums = decode_varints(text)
    out = {}
    i = 0
    idx = -1
    while i < len(nums):
        idx += nums[i] + 1
        cities, mask, i = codes.read(nums, i + 1)
        dl, tf = nums[i], nums[i + 1] + 1
        pos = []
        p = 0
        for j in range(tf):
            p = nums[i + 2 + j] if j == 0 else p + nums[i + 2 + j]
            pos.append(p)
        out[idx] = (tf, tuple(pos), dl, cities, mask)
        i += 2 + tf
    return out


def decode_facet_list(text, codes, cue_base=0):
    """Facet list string -> {passage number: (cities, instrument mask[, cue count])}. Per
    passage: its gap − 1 (an instrument's list, ``cue_base`` > 0: gap − 1 times ``cue_base``
    plus its distinct cues of that instrument, at most ``cue_base`` − 1), then its codes."""
    nums = decode_varints(text)
    out = {}
    idx = -1
    i = 0
    while i < len(nums):
        if cue_base:
            gap, cue = divmod(nums[i], cue_base)
        else:
            gap, cue = nums[i], None
        idx += gap + 1
        cities, mask, i = codes.read(nums, i + 1)
        out[idx] = (cities, mask) if cue is None else (cities, mask, cue)
    return out


def decode_doc_codes(text, codes):
    """A document code file (the codes of its documents' passages, in order) -> [(cities, mask)]."""
    nums = decode_varints(text)
    out = []
    i = 0
    while i < len(nums):
        cities, mask, i = codes.read(nums, i)
        out.append((cities, mask))
    return out


def decode_city_sets(text):
    """City-set table: varint string of (size, city codes…) per set -> [[codes], …]."""
    nums = decode_varints(text)
    out, i = [], 0
    while i < len(nums):
        out.append(nums[i + 1:i + 1 + nums[i]])
        i += 1 + nums[i]
    return out


def _json(obj):
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    # Data stays data even if a file were ever inlined into HTML.
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _hash(data):
    return hashlib.sha256(data).hexdigest()[:HASH_LEN]


def _big(v):
    """Base-32 varint bytes of a value too large for the _SMALL table."""
    digits = []
    while True:
        digits.append(v & 31)
        v >>= 5
        if not v:
            break
    return bytes(_CONT_B[d] for d in reversed(digits[1:])) + bytes([_TERM_B[digits[0]]])


def _vb(v):
    """Varint bytes of v."""
    return _SMALL[v] if v < 4096 else _big(v)
