"""Atomic, all-or-none writes (mirctl.io.atomic)."""

from __future__ import annotations

import os

import pytest

from mirctl.io import atomic
from mirctl.io.atomic import TMP_MARK, staged


def test_temporary_files_sit_beside_their_outputs_and_are_hidden(tmp_path):
    finals = [tmp_path / "a" / "x.wav", tmp_path / "b" / "deep" / "y.mid"]
    with staged() as s:
        temps = [s.path_for(f) for f in finals]
        for t in temps:
            assert t.name.startswith(".") and TMP_MARK in t.name
            t.write_text("new")
        assert [t.parent for t in temps] == [f.parent for f in finals]  # same folder: rename, never copy
        assert [t.suffix for t in temps] == [".wav", ".mid"]
    assert [f.read_text() for f in finals] == ["new", "new"]
    assert not [p for p in tmp_path.rglob("*") if TMP_MARK in p.name]


def test_a_failed_rename_puts_every_output_back_as_it_was(tmp_path, monkeypatch):
    a, b, c = (tmp_path / n for n in ("a.txt", "b.txt", "c.txt"))
    a.write_text("old a")
    c.write_text("old c")
    real = os.replace
    calls = []

    def fail_on_b(src, dst):
        calls.append((str(src), str(dst)))
        if str(dst) == str(b):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", fail_on_b)
    with pytest.raises(OSError):
        with staged() as s:
            for f in (a, b, c):
                s.path_for(f).write_text("new")
    assert a.read_text() == "old a" and not b.exists() and c.read_text() == "old c"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "c.txt"]  # no temporary or set-aside file


def test_an_error_inside_the_block_writes_nothing(tmp_path):
    (tmp_path / "keep.txt").write_text("old")
    with pytest.raises(ZeroDivisionError):
        with staged() as s:
            s.path_for(tmp_path / "keep.txt").write_text("new")
            s.path_for(tmp_path / "other.txt").write_text("new")
            1 / 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"] and (tmp_path / "keep.txt").read_text() == "old"


def test_a_commit_is_never_split_by_a_stop_request(tmp_path):
    """A worker's SIGTERM during the renames waits until they are done, then stops it."""
    stops = []
    atomic.on_deferred_stop(lambda: stops.append("stopped"))
    real = os.replace

    def request_stop_midway(src, dst):
        assert atomic.committing()
        atomic.defer_stop()
        return real(src, dst)

    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(atomic.os, "replace", request_stop_midway)
            with staged() as s:
                for n in ("a", "b"):
                    s.path_for(tmp_path / f"{n}.txt").write_text(n)
    finally:
        atomic.on_deferred_stop(lambda: None)
    assert stops == ["stopped"] and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert not atomic.committing()
