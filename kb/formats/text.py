"""Plain text (``.txt``, ``.md``): decoded as UTF-8 or GB18030 (see kb.read.decode)."""


def extract(path, data):
    from ..read import decode  # kb.read imports this package
    from . import Extracted

    text, encoding = decode(path, data)
    return Extracted(text, [], encoding)
