"""The traditional -> simplified character map the browser needs to normalise a query
(generated with OpenCC, restricted to characters whose simplified form is indexed)."""

from .. import analysis

_CJK_RANGES = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00))


def _t2s_pairs():
    conv = analysis._opencc().convert
    pairs = []
    for lo, hi in _CJK_RANGES:
        for cp in range(lo, hi):
            c = chr(cp)
            s = conv(c)
            if s != c and len(s) == 1 and ord(s) < 0x10000:
                pairs.append((c, s))
    return pairs


_T2S = None


def t2s_map(charset):
    """"TSTS…" pairs: traditional characters (not themselves indexed) whose simplified form is
    in ``charset``."""
    global _T2S
    if _T2S is None:
        _T2S = _t2s_pairs()
    return "".join(t + s for t, s in _T2S if s in charset and t not in charset)

