"""Reuse of unchanged output files from the previous build: a content cache keyed by inputs.

Every file a stage may carry over gets a *key*, a hash of everything its bytes depend on
(the stage's ``salt``: code, templates, data files, settings; plus the data of that file).
The keys, with each file's size, are kept in a manifest inside the output
(``.kb/<stage>.json``), so the manifest always describes the files beside it. The next build
compares keys: a file whose key is unchanged is hard-linked from the previous output into
the staging folder (copied where links are refused) instead of being made again.

The previous output is only read: a link is a second name of the same file, and no stage
ever writes into an existing file (``kb.fsutil.write_bytes`` replaces files, ``link_or_copy``
unlinks first). A key is a pure function of the inputs, so the manifest of an incremental
build is byte-identical to a cold build's.
"""

import hashlib
import json
from pathlib import Path

from .fsutil import link_or_copy, write_text

MANIFEST_DIR = ".kb"
KB_DIR = Path(__file__).resolve().parent


def canonical(obj):
    """Canonical bytes of plain data (sorted keys); raises TypeError for mixed-type keys."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=_default).encode("utf-8")


def _default(obj):
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    return repr(obj)  # an object without a stable repr only costs a cache miss


def digest(*parts):
    """Hash of ``parts`` (plain data), or None when they have no canonical form."""
    try:
        return hashlib.sha256(canonical(parts)).hexdigest()
    except (TypeError, ValueError):
        return None


def files_digest(paths, root=None):
    """Hash of the names and bytes of ``paths`` (files only, in the order given)."""
    h = hashlib.sha256()
    for path in paths:
        path = Path(path)
        if path.is_file():
            name = path.relative_to(root) if root else path.name
            h.update(str(name).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def code_digest():
    """Hash of the code the output stages run: every module of kb/ and kb/render/."""
    return files_digest(sorted([*KB_DIR.glob("*.py"), *(KB_DIR / "render").glob("*.py")]), KB_DIR)


def package_versions(*names):
    from importlib import metadata

    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


class Carry:
    """The reusable files of one stage: keys of the previous output and of this one.

    ``out``: where this build writes; ``previous``: the previous output (None: make
    everything); ``name``: the manifest's name; ``salt``: what every key of the stage
    depends on (a different salt reuses nothing)."""

    def __init__(self, out, name, previous=None, salt=""):
        self.out = Path(out)
        self.name = name
        self.salt = salt
        self.files = {}
        self.reused = self.made = 0
        self.previous = Path(previous) if previous else None
        if self.previous is not None and self.previous.resolve() == self.out.resolve():
            self.previous = None  # writing in place: nothing to carry over
        self.old = {}
        self._saved_ns = None  # when the previous manifest was written
        if self.previous is not None:
            try:
                path = self.previous / MANIFEST_DIR / f"{name}.json"
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("salt") == salt:
                    self.old = data.get("files") or {}
                    self._saved_ns = path.stat().st_mtime_ns
            except (OSError, ValueError, AttributeError):
                self.old = {}

    def key(self, *parts):
        """The key of a file made from ``parts`` (None: no key, always made)."""
        if self.salt is None:  # the stage's inputs have no canonical form: reuse nothing
            return None
        return digest(self.salt, *parts)

    def old_entry(self, rel, key):
        """The previous build's manifest entry of ``rel`` when its key is ``key``, else None."""
        if key is None or self.previous is None:
            return None
        entry = self.old.get(rel)
        return entry if isinstance(entry, list) and entry and entry[0] == key else None

    def carry(self, rel, key):
        """Link ``rel`` from the previous output when its key is unchanged; True if done."""
        entry = self.old_entry(rel, key)
        if entry is None:
            return False
        src, dst = self.previous / rel, self.out / rel
        try:
            if not self.intact(src, entry):
                return False  # changed behind the build's back: make it again
            dst.parent.mkdir(parents=True, exist_ok=True)
            link_or_copy(src, dst)
        except OSError:
            return False
        self.files[rel] = entry
        self.reused += 1
        return True

    def intact(self, src, entry):
        """Whether the previous output's file ``src`` is as its manifest ``entry`` describes
        it: the same size, and not modified after the manifest was written (a file edited by
        hand in the published output, even to the same size, is made again)."""
        st = src.stat()
        return st.st_size == entry[1] and self._saved_ns is not None and st.st_mtime_ns <= self._saved_ns

    def record(self, rel, key, size, extra=None):
        """Note a file made by this build (``extra``: more for the next build to read)."""
        self.made += 1
        if key is not None:
            self.files[rel] = [key, size] + ([extra] if extra is not None else [])

    def save(self):
        """Write the manifest into the output; returns its path."""
        data = {"salt": self.salt, "files": dict(sorted(self.files.items()))}
        return write_text(self.out / MANIFEST_DIR / f"{self.name}.json",
                          json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
