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


def decode_postings(text):
    """Posting string -> {passage number: (tf, positions, field length, city set, instruments)}
    (city set: code into the facets' ``citySets``; instruments: bit mask over ``instruments``)."""
    nums = decode_varints(text)
    out = {}
    i = 0
    idx = -1
    while i < len(nums):
        idx += nums[i] + 1
        cset, imask, dl, tf = nums[i + 1], nums[i + 2], nums[i + 3], nums[i + 4] + 1
        pos = []
        p = 0
        for j in range(tf):
            p = nums[i + 5 + j] if j == 0 else p + nums[i + 5 + j]
            pos.append(p)
        out[idx] = (tf, tuple(pos), dl, cset, imask)
        i += 5 + tf
    return out


def decode_facet_list(text, width=3):
    """Facet list string -> {passage number: (city set, instrument mask[, cue count])}; an
    instrument's list (``width`` 4) also gives the distinct cues of that instrument."""
    nums = decode_varints(text)
    out = {}
    idx = -1
    for i in range(0, len(nums), width):
        idx += nums[i] + 1
        out[idx] = tuple(nums[i + 1:i + width])
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
