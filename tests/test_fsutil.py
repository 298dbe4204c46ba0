"""kb.fsutil: the helpers every stage writes output through."""

import pytest

from kb.fsutil import write_bytes, write_chunks


def test_write_chunks_streams_the_parts_in_order(tmp_path):
    target = tmp_path / "data" / "passages.jsonl"
    parts = [b"head\n", "段落".encode("utf-8"), b"", b"tail\n"]
    assert write_chunks(target, iter(parts)) == sum(map(len, parts))
    assert target.read_bytes() == b"".join(parts)
    assert [p.name for p in target.parent.iterdir()] == ["passages.jsonl"]


def test_write_chunks_leaves_nothing_behind_when_a_part_fails(tmp_path):
    target = tmp_path / "figures.csv"
    target.write_bytes(b"previous\n")

    def parts():
        yield b"new head\n"
        raise ValueError("segment failed")

    with pytest.raises(ValueError):
        write_chunks(target, parts())
    assert target.read_bytes() == b"previous\n"  # untouched, and no temporary file left
    assert [p.name for p in tmp_path.iterdir()] == ["figures.csv"]


def test_write_bytes_keeps_an_identical_file(tmp_path):
    target = tmp_path / "a.json"
    write_bytes(target, b"{}\n")
    before = target.stat().st_mtime_ns, target.stat().st_ino
    write_bytes(target, b"{}\n")
    assert (target.stat().st_mtime_ns, target.stat().st_ino) == before
