"""Small file-system helpers shared by the stages that write output."""

import os
import pickle
import shutil
from pathlib import Path


def write_bytes(path, data):
    """Write ``data`` to ``path`` unless it already holds exactly that (keeps
    mtimes of unchanged files for incremental builds). Returns the path."""
    path = Path(path)
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return path
    except FileNotFoundError:
        pass
    write_chunks(path, (data,))
    return path


def write_chunks(path, chunks):
    """Write the byte strings of the iterable ``chunks`` one after another to ``path`` (through a
    temporary file in the same folder, replaced at the end), never holding the whole file.
    Returns the number of bytes written. The way every output file is written; files too large
    to assemble in memory (exports) call it directly, with no comparison to an existing file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    size = 0
    try:
        with open(tmp, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                size += len(chunk)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size


def read_memo(path):
    """The object pickled at ``path`` by :func:`write_memo`, or None when it is missing,
    truncated or not readable (a memo is only ever a shortcut)."""
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except Exception:  # missing, truncated or not ours: start again
        return None


def write_memo(path, obj):
    """Pickle ``obj`` at ``path``, the one memo of its folder: the folder's other ``.pickle``
    files (memos of other code or data versions) are removed. A memo that cannot be written
    only costs time: errors are ignored."""
    path = Path(path)
    try:
        for stale in path.parent.glob("*.pickle"):
            if stale != path:
                stale.unlink(missing_ok=True)
        write_bytes(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass


def write_text(path, text):
    return write_bytes(path, text.encode("utf-8"))


def link_or_copy(src, dst):
    """Put ``src``'s bytes at ``dst`` as a hard link (a copy where linking is refused).
    ``dst`` is unlinked first, so nothing is ever written through an existing link."""
    dst = Path(dst)
    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst
