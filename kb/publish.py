"""Publishing a build's output folder (the last step of :func:`kb.pipeline.build`).

* :func:`swap` puts the finished staging folder in place of the output in one atomic exchange
  (``renameat2`` with ``RENAME_EXCHANGE``; two renames where that is missing) and retires the
  previous output as ``.<out>.retired-<random>``, which :func:`discard` removes in a process of
  its own that the build does not wait for (the next build removes what an interrupted removal
  or a killed build left).
* Nothing changed: :func:`build_key` hashes all a build's inputs (every document's analysis
  key, every file of kb/ and site_templates/, Python's and the libraries' versions,
  ``base_url``); :func:`write_stamp` notes it beside the identity (inode, size, modification
  time) of every file of the output, in the build cache (``.kbcache/output-stamps/``, outside
  the output, so outputs still compare byte for byte); :func:`unchanged_output` tells the next
  build that the output it would make is already there.
"""

import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .fsutil import write_bytes
from .reuse import digest, files_digest, package_versions

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"
_REQ_RE = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==")

_STAMP_DIR = "output-stamps"  # in the build cache: what made each output, and its files' identities


def _requirements():
    """The distributions a build runs on: the names pinned in requirements.txt."""
    try:
        lines = REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [m.group(1) for m in (_REQ_RE.match(line) for line in lines) if m]


def code_digest():
    """Hash of everything besides the corpus a build's output depends on: every file of kb/
    (code and data) and of site_templates/, the Python version and the versions of the
    libraries of requirements.txt."""
    root = Path(__file__).resolve().parent
    paths = [path for base in (root, root.parent / "site_templates") for path in sorted(base.rglob("*"))
             if "__pycache__" not in path.parts and path.suffix != ".pyc"]
    return digest(sys.version, files_digest(paths, root.parent), package_versions(*_requirements()))


def build_key(docs, keys, base_url):
    """Hash of all a build's inputs: the documents (their analysis keys: bytes, sidecar, id,
    stage code), the code, templates, data and libraries, and the options that change output."""
    data = {"docs": [[d["id"], k] for d, k in zip(docs, keys)], "code": code_digest(),
            "base_url": base_url, "stamp": 1}
    return digest(data)


def stamp_path(cache_dir, out_dir):
    name = hashlib.sha256(os.fsencode(out_dir)).hexdigest()[:24]
    return Path(cache_dir) / _STAMP_DIR / f"{name}.json"


def _tree_digest(root):
    """Hash of the identity of every file and folder under ``root`` (path, type, inode, size,
    modification time): a file written, replaced, added or removed changes it. (Not the change
    time: removing the previous output, which shares most files' inodes, changes that of the
    files it shared after the build; so an edit that keeps the size and puts the modification
    time back is not noticed.)"""
    h = hashlib.sha256()
    todo = [""]
    while todo:
        rel = todo.pop()
        with os.scandir(os.path.join(root, rel) if rel else root) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            st = e.stat(follow_symlinks=False)
            name = f"{rel}/{e.name}" if rel else e.name
            h.update(f"{name}\0{st.st_mode}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}\n"
                     .encode("utf-8", "surrogateescape"))
            if e.is_dir(follow_symlinks=False):
                todo.append(name)
    st = os.stat(root)
    h.update(f"{st.st_ino}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()


def write_stamp(stamp, build_key, out_dir, summary):
    """Note what made ``out_dir`` and how its files are now (a failure only costs the next
    build its shortcut)."""
    try:
        data = {"key": build_key, "tree": _tree_digest(out_dir), "result": summary}
        write_bytes(stamp, json.dumps(data, ensure_ascii=False).encode("utf-8"))
    except OSError:
        stamp.unlink(missing_ok=True)


def unchanged_output(stamp, build_key, out_dir):
    """The summary of the build that made ``out_dir`` when it had the same inputs
    (``build_key``) and no file of ``out_dir`` was touched since; else None."""
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
        if data.get("key") != build_key or not out_dir.is_dir():
            return None
        if data.get("tree") != _tree_digest(out_dir):
            return None
        return dict(data["result"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def swap(staging, out_dir):
    """Replace ``out_dir`` by ``staging``; the old tree is renamed ``.<out>.retired-…`` and
    removed last, by a process of its own (:func:`discard`)."""
    os.chmod(staging, 0o755)  # mkdtemp made it private; the output is not
    retired = staging.with_name(staging.name.replace(".building-", ".retired-", 1))
    if out_dir.exists() and _exchange(staging, out_dir):
        staging.rename(retired)  # staging now holds the previous output
        discard([retired])
        return
    old = out_dir.with_name(f".{out_dir.name}.old")  # fallback: two renames
    if old.exists():
        shutil.rmtree(old)
    if out_dir.exists():
        out_dir.rename(old)
    staging.rename(out_dir)
    if old.exists():
        old.rename(retired)
        discard([retired])


_DISCARDING = []  # removal processes started by this process (see discard)
_DISCARD_CODE = ("import os, shutil, sys\n"
                 "if hasattr(os, 'nice'):\n    os.nice(10)  # after the build's own work\n"
                 "for path in sys.argv[1:]:\n    shutil.rmtree(path, ignore_errors=True)\n")


def discard(folders):
    """Remove ``folders`` (trees no output refers to any more: a previous output, a killed
    build's staging folder) in a separate process that may outlive this one: removing tens of
    thousands of files takes from a few tenths of a second to seconds of disk time, which the
    build need not wait for. The next build removes what an interrupted removal left. Where
    no process can be started, they are removed here."""
    folders = [os.fspath(f) for f in folders]
    for proc in list(_DISCARDING):  # collect the finished ones
        if proc.poll() is not None:
            _DISCARDING.remove(proc)
    if not folders:
        return
    try:
        if not sys.executable:
            raise OSError("no interpreter to run the removal")
        _DISCARDING.append(subprocess.Popen(
            [sys.executable, "-S", "-c", _DISCARD_CODE, *folders], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True,
            **({"start_new_session": True} if os.name == "posix" else {})))
    except OSError:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def wait_for_removals(timeout=None):
    """Wait for the removals this process started (tests; a caller that must see them done)."""
    while _DISCARDING:
        _DISCARDING.pop().wait(timeout)


_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a, b):
    """Atomically exchange two paths (Linux ``renameat2``); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # not on this file system
        return False
    raise OSError(err, os.strerror(err), str(b))
