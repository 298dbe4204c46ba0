"""PDF (``.pdf``): the text layer of every page in reading order, via pdfplumber.

Pages are joined with a newline; page numbers, running headers and the issuing
notice's furniture are left to kb/clean.py, as for a ``.txt`` extraction. A PDF with
a password, a damaged file, or one without a text layer (a scan: every page is an
image) is refused with one line: it needs the password or OCR first.

Metadata candidates: the document-information ``Title``, ``Author`` and
``CreationDate``, when set.
"""

import re

from ..errors import InputError
from . import Extracted, candidate

_PDF_DATE_RE = re.compile(r"^D?:?(\d{4})(\d{2})?(\d{2})?")
_CID_RE = re.compile(r"\(cid:\d+\)")
UNMAPPED_SHARE = 0.2  # glyph ids "(cid:123)" above this share of the text: no usable text layer
X_TOLERANCE = 3  # points: wider gaps become spaces; letter-spaced or justified CJK lines stay whole


def _info_candidates(info):
    out = []
    for key, field in (("Title", "title"), ("Author", "author"), ("CreationDate", "date")):
        value = info.get(key)
        if isinstance(value, bytes):
            value = value.decode("utf-16" if value.startswith(b"\xfe\xff") else "latin-1", errors="ignore")
        if not isinstance(value, str) or not value.strip():
            continue
        value = value.strip()
        if field == "date":
            m = _PDF_DATE_RE.match(value)
            if not m:
                continue
            value = "-".join(g for g in m.groups() if g)
        out.append(candidate(field, value, f"PDF 文档属性 {key}"))
    return out


def extract(path, data):
    import io
    import logging

    # pdfminer logs font-descriptor quirks of ordinary PDFs as warnings: not the user's concern
    logging.getLogger("pdfminer").setLevel(logging.ERROR)

    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfplumber.utils.exceptions import PdfminerException

    pages = []
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            meta = _info_candidates(pdf.metadata or {})
            for page in pdf.pages:
                pages.append(page.extract_text(x_tolerance=X_TOLERANCE) or "")
    except (PdfminerException, PDFPasswordIncorrect, PDFEncryptionError, PDFSyntaxError) as exc:
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
        if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise InputError(path, "PDF 已加密，需要密码才能读取 (encrypted PDF)") from None
        raise InputError(path, "不是可读的 PDF 文件 (damaged or not a PDF)") from None
    if not pages:
        raise InputError(path, "PDF 没有页面 (no pages)")
    if not any(p.strip() for p in pages):
        raise InputError(path, f"PDF 没有文字层（{len(pages)} 页均为图像，可能是扫描件），请先做文字识别 (OCR) "
                               "(image-only PDF)")
    text = "\n".join(pages)
    unmapped = sum(len(m) for m in _CID_RE.findall(text))
    if unmapped > UNMAPPED_SHARE * len("".join(text.split())):
        raise InputError(path, "PDF 的文字无法还原（字体缺少 Unicode 映射，提取出的是字形编号），"
                               "请用其他工具另存或做文字识别 (OCR) (unmapped fonts)")
    return Extracted(text + "\n", meta, None)
