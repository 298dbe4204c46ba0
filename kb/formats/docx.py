"""Word (``.docx``): paragraphs and tables in document order, via python-docx.

Each paragraph is one line (headings too: their style is not needed, kb/clean.py
recognises headings by shape, as in a ``.txt``); a table is one paragraph line (see
kb.formats.table_line; a cell merged over several columns is written once).
Metadata candidates: the core properties ``title``, ``author`` and ``created``.
The older binary ``.doc`` format is not read: save it as ``.docx`` first. Word's
automatic list numbering is not text: a heading numbered by it ("一、" made by a
numbered list style) reaches the text without its number.
"""

import io

from ..errors import InputError
from . import Extracted, candidate, table_line


def _blocks(document):
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            yield Paragraph(child, document).text
        elif tag == "tbl":
            rows = []
            for row in Table(child, document).rows:
                cells, seen = [], set()
                for cell in row.cells:
                    if id(cell._tc) not in seen:  # a merged cell is listed once per column
                        seen.add(id(cell._tc))
                        cells.append(cell.text)
                rows.append(cells)
            yield table_line(rows)


def extract(path, data):
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError):
        raise InputError(path, "不是可读的 Word (.docx) 文件 (damaged, encrypted or not .docx)") from None
    props = document.core_properties
    meta = []
    if props.title:
        meta.append(candidate("title", props.title.strip(), "Word 文档属性 title"))
    if props.author:
        meta.append(candidate("author", props.author.strip(), "Word 文档属性 author"))
    if props.created:
        meta.append(candidate("date", props.created.date().isoformat(), "Word 文档属性 created"))
    lines = [line.strip() for line in _blocks(document)]
    return Extracted("\n".join(line for line in lines if line) + "\n", meta, None,
                     lines_are_paragraphs=True)
